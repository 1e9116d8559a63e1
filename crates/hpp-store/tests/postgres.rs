//! Postgres under READ COMMITTED: a delivery that waits for another instance's merge of the
//! same session is classified against the row version that instance committed, not against
//! the older snapshot its statement started with. The interleaving is forced: a second
//! connection holds the row, changed and uncommitted, until the store's merge is seen waiting
//! for it. And the schema keeps no rule of its own: no trigger, no function.
#![cfg(feature = "postgres")]

mod common;

use std::time::{Duration, Instant};

use common::{Backend, at, payload, store};
use hpp_status::wire::Timestamp;
use hpp_status::{Observation, Outcome, Status};
use hpp_store::EffectKind;
use sqlx::Connection as _;

fn obs(status: Status, ms: u64) -> Observation<Timestamp> {
    Observation::new(status, at(ms))
}

/// Holds `session_id`'s row changed to the final `held` by an uncommitted transaction
/// (another instance's merge, with the effect it records), runs the store's merge of
/// `delivery` (which must wait), commits, and returns the merge's outcome and the session's
/// effects.
async fn behind_a_concurrent_merge(
    name: &str,
    before: Observation<Timestamp>,
    held: Observation<Timestamp>,
    delivery: Observation<Timestamp>,
) -> (Outcome<Timestamp>, Vec<EffectKind>) {
    let store = store(Backend::Postgres, name).await;
    store.observe("s", &payload("s", before)).await.unwrap();

    let mut other = sqlx::PgConnection::connect(&store.url).await.unwrap();
    sqlx::query("BEGIN").execute(&mut other).await.unwrap();
    sqlx::query(
        "UPDATE hpp_session SET held_before = precedence_key, precedence_key = $1, \
         status = $2, is_final = true WHERE session_id = 's'",
    )
    .bind(held.precedence_key().as_bytes())
    .bind(held.status.as_str())
    .execute(&mut other)
    .await
    .unwrap();
    assert_eq!(held.status, Status::Completed);
    sqlx::query(
        "INSERT INTO hpp_effect (session_id, kind, status, authorization_token, created_at_us) \
         VALUES ('s', 'place_order', 'COMPLETED', 'tok-s', 0)",
    )
    .execute(&mut other)
    .await
    .unwrap();
    let merging = {
        let store = store.store.clone();
        tokio::spawn(async move { store.observe("s", &payload("s", delivery)).await })
    };
    // Wait until the merge is blocked on the row lock, then let the other instance commit.
    // Only this test's database counts: the other tests of this file run at the same time.
    let mut watcher = sqlx::PgConnection::connect(&store.url).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let waiting: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM pg_stat_activity \
             WHERE wait_event_type = 'Lock' AND query LIKE '%UPDATE hpp_session AS s SET%' \
             AND datname = current_database()",
        )
        .fetch_one(&mut watcher)
        .await
        .unwrap();
        if waiting == 1 {
            break;
        }
        assert!(!merging.is_finished(), "the merge did not wait for the row");
        assert!(
            Instant::now() < deadline,
            "the merge never waited for the row"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    sqlx::query("COMMIT").execute(&mut other).await.unwrap();
    let outcome = merging.await.unwrap().unwrap();
    assert_eq!(
        store.session("s").await.unwrap().unwrap().latest(),
        Some(outcome.current())
    );
    let effects = store.effects().await.unwrap();
    (outcome, effects.into_iter().map(|e| e.kind).collect())
}

/// The trap: the statement's snapshot still shows IN_PROGRESS; classified against it, the
/// retried COMPLETED would be a second `became_final()`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retried_final_behind_a_concurrent_merge_is_a_duplicate() {
    let completed = obs(Status::Completed, 2_000);
    let (outcome, effects) = behind_a_concurrent_merge(
        "snapshot-duplicate",
        obs(Status::InProgress, 1_000),
        completed,
        completed,
    )
    .await;
    assert_eq!(outcome, Outcome::Duplicate { current: completed });
    assert!(!outcome.became_final());
    assert_eq!(
        effects,
        [EffectKind::PlaceOrder {
            authorization_token: "tok-s".into()
        }]
    );
}

/// Against the snapshot this would be a duplicate of IN_PROGRESS; against the version that
/// refused it, it is stale.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retried_open_status_behind_a_concurrent_final_is_stale() {
    let in_progress = obs(Status::InProgress, 1_000);
    let completed = obs(Status::Completed, 2_000);
    let (outcome, effects) =
        behind_a_concurrent_merge("snapshot-stale", in_progress, completed, in_progress).await;
    assert_eq!(
        outcome,
        Outcome::Stale {
            current: completed,
            stale: in_progress
        }
    );
    assert_eq!(effects.len(), 1);
}

/// An earlier COMPLETED behind the concurrent one: a duplicate that replaces the time, not a
/// first final.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_earlier_final_behind_a_concurrent_final_replaces_the_time_only() {
    let earlier = obs(Status::Completed, 1_500);
    let (outcome, effects) = behind_a_concurrent_merge(
        "snapshot-earlier",
        obs(Status::InProgress, 1_000),
        obs(Status::Completed, 2_000),
        earlier,
    )
    .await;
    assert_eq!(outcome, Outcome::Duplicate { current: earlier });
    assert_eq!(effects.len(), 1);
}

/// A different, earlier final behind the concurrent one: it changes which final is held,
/// and its conflict is recorded with it; the first effect stands.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_different_earlier_final_behind_a_concurrent_final_records_its_conflict() {
    let completed = obs(Status::Completed, 2_000);
    let cancelled = obs(Status::Cancelled, 1_500);
    let (outcome, effects) = behind_a_concurrent_merge(
        "snapshot-change-of-final",
        obs(Status::InProgress, 1_000),
        completed,
        cancelled,
    )
    .await;
    assert_eq!(
        outcome,
        Outcome::Conflict {
            kept: cancelled,
            rejected: completed,
            replaced: true
        }
    );
    assert_eq!(
        effects,
        [
            EffectKind::PlaceOrder {
                authorization_token: "tok-s".into()
            },
            EffectKind::Conflict {
                kept: cancelled,
                rejected: completed,
                authorization_token: None,
                order_id: None,
                klarna_reference: None,
            }
        ]
    );
}

/// The triggers (but the ones Postgres makes for foreign keys) and the functions of the
/// database's own schemas.
async fn triggers_and_functions(conn: &mut sqlx::PgConnection) -> (Vec<String>, Vec<String>) {
    let triggers = sqlx::query_scalar(
        "SELECT tgrelid::regclass::text || '.' || tgname FROM pg_trigger \
         WHERE NOT tgisinternal ORDER BY 1",
    )
    .fetch_all(&mut *conn)
    .await
    .unwrap();
    let functions = sqlx::query_scalar(
        "SELECT p.proname || ' (' || l.lanname || ')' FROM pg_proc p \
         JOIN pg_namespace n ON n.oid = p.pronamespace JOIN pg_language l ON l.oid = p.prolang \
         WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1",
    )
    .fetch_all(&mut *conn)
    .await
    .unwrap();
    (triggers, functions)
}

/// No business rule lives in the database: once migrated, the schema has no trigger and no
/// function of its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_schema_has_no_trigger_and_no_function() {
    let store = store(Backend::Postgres, "no-triggers").await;
    let mut admin = sqlx::PgConnection::connect(&store.url).await.unwrap();
    assert_eq!(
        triggers_and_functions(&mut admin).await,
        (Vec::new(), Vec::new())
    );
    // The check sees what it looks for.
    sqlx::raw_sql(
        "CREATE FUNCTION probe() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$; \
         CREATE TRIGGER probe AFTER UPDATE ON hpp_session FOR EACH ROW EXECUTE FUNCTION probe();",
    )
    .execute(&mut admin)
    .await
    .unwrap();
    assert_eq!(
        triggers_and_functions(&mut admin).await,
        (
            vec!["hpp_session.probe".to_owned()],
            vec!["probe (plpgsql)".to_owned()]
        )
    );
}

/// A row that the merge can neither update nor insert (here a trigger skips every update of
/// it; in life, a session being deleted and re-created by someone else) is not retried for
/// ever: after the insert race's retries the delivery is refused as corrupt, naming the
/// session and how often it went round, and nothing is recorded.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_row_that_can_neither_be_merged_nor_inserted_is_refused_after_four_rounds() {
    let store = store(Backend::Postgres, "never-merged").await;
    store
        .observe("s", &payload("s", obs(Status::InProgress, 1_000)))
        .await
        .unwrap();
    let mut admin = sqlx::PgConnection::connect(&store.url).await.unwrap();
    sqlx::raw_sql(
        "CREATE FUNCTION skip_update() RETURNS trigger LANGUAGE plpgsql AS $$ \
         BEGIN RETURN NULL; END $$; \
         CREATE TRIGGER skip_every_update BEFORE UPDATE ON hpp_session \
         FOR EACH ROW EXECUTE FUNCTION skip_update();",
    )
    .execute(&mut admin)
    .await
    .unwrap();

    let error = store
        .observe("s", &payload("s", obs(Status::Completed, 2_000)))
        .await
        .unwrap_err();
    let hpp_store::StoreError::Corrupt { session_id, detail } = &error else {
        panic!("expected Corrupt, got {error:?}");
    };
    assert_eq!(session_id, "s");
    assert_eq!(
        detail,
        "the merge neither found nor inserted the row, 4 times (is it being deleted?)"
    );
    assert_eq!(
        store.session("s").await.unwrap().unwrap().latest(),
        Some(&obs(Status::InProgress, 1_000))
    );
    assert!(store.effects().await.unwrap().is_empty());
}
