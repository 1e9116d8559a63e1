//! The SQLite writer's batches: writes handed over together are committed together, and a
//! write that fails inside a batch fails alone (the batch is rolled back and runs again
//! without it: nothing it wrote stays, the others of its batch are committed).

mod common;

use std::time::Duration;

use common::{at, payload};
use hpp_status::wire::SessionResponse;
use hpp_status::{Observation, Status};
use hpp_store::{Store, StoreError};

fn completed(session_id: &str) -> SessionResponse {
    payload(
        session_id,
        Observation::new(Status::Completed, at(1_557_759_106_288)),
    )
}

/// A migrated store on a file in `dir`, and its URL.
async fn file_store(dir: &tempfile::TempDir) -> (Store, String) {
    let url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("store.db").display()
    );
    let store = Store::connect(&url).await.unwrap();
    store.migrate().await.unwrap();
    (store, url)
}

/// 64 merges at once, one of them into a row whose stored key the tracker cannot read (a
/// corrupt row): that one fails with `Corrupt` and leaves its row as it was; the 63 others,
/// batched with it, are stored with their effects.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_write_fails_alone_in_its_batch() {
    let dir = tempfile::tempdir().unwrap();
    let (store, url) = file_store(&dir).await;
    store
        .register("bad", "2038-01-19T03:14:07Z".parse().unwrap(), "s")
        .await
        .unwrap();
    let raw = sqlx::SqlitePool::connect(&url).await.unwrap();
    sqlx::query("UPDATE hpp_session SET precedence_key = x'010203' WHERE session_id = 'bad'")
        .execute(&raw)
        .await
        .unwrap();

    let mut tasks = tokio::task::JoinSet::new();
    for n in 0..64 {
        let store = store.clone();
        let session_id = if n == 32 {
            "bad".to_owned()
        } else {
            format!("good-{n}")
        };
        tasks.spawn(async move {
            let result = store.observe(&session_id, &completed(&session_id)).await;
            (session_id, result)
        });
    }
    let mut stored = 0;
    while let Some(joined) = tasks.join_next().await {
        let (session_id, result) = joined.unwrap();
        if session_id == "bad" {
            assert!(
                matches!(result, Err(StoreError::Corrupt { .. })),
                "the corrupt row's merge: {result:?}"
            );
        } else {
            assert!(result.unwrap().became_final(), "{session_id}");
            stored += 1;
        }
    }
    assert_eq!(stored, 63);

    // (`Store::sessions` refuses the corrupt row: count in SQL.)
    let final_sessions: i64 =
        sqlx::query_scalar("SELECT count(*) FROM hpp_session WHERE status = 'COMPLETED'")
            .fetch_one(&raw)
            .await
            .unwrap();
    assert_eq!(final_sessions, 63, "every good merge committed");
    let effects = store.effects().await.unwrap();
    assert_eq!(
        effects.len(),
        63,
        "one effect per good merge, none for the bad one"
    );
    assert!(effects.iter().all(|e| e.session_id != "bad"));
    let key: Option<Vec<u8>> =
        sqlx::query_scalar("SELECT precedence_key FROM hpp_session WHERE session_id = 'bad'")
            .fetch_one(&raw)
            .await
            .unwrap();
    assert_eq!(
        key.as_deref(),
        Some(&[1_u8, 2, 3][..]),
        "the failed merge was rolled back"
    );
}

/// A store closed while writes wait: the writes handed over before are answered, later ones
/// fail with an error that says the store is closed, and nothing hangs.
#[tokio::test]
async fn writes_after_close_fail_and_never_hang() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = file_store(&dir).await;
    store.observe("s1", &completed("s1")).await.unwrap();
    store.close().await;
    let late = tokio::time::timeout(
        Duration::from_secs(10),
        store.observe("s2", &completed("s2")),
    )
    .await
    .expect("a write after close is answered");
    let error = late.unwrap_err();
    assert!(error.to_string().contains("closed"), "{error}");
}
