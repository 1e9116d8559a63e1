//! The race a read-modify-write integration loses, run against the store on a SQLite file
//! and on Postgres: 16 tasks deliver the shuffled, duplicated deliveries of 2,000 sessions'
//! legal histories (the `strategy` generators), plus one hot session every task delivers
//! in full, while claimers do the effects and one claimer is killed holding leases.
//!
//! Then, for every session: the store holds what one tracker shown every delivery holds;
//! the stored key never decreased (an audit trigger logs every change); `became_final()`
//! was seen exactly once per final session, summed over all tasks; the session has exactly
//! one effect, of the right kind, completed exactly once, and the killed claimer's effects
//! were completed by others after their leases ended.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::{Backend, payload, store_with, wire};
use hpp_status::strategy::history_with_deliveries;
use hpp_status::wire::Timestamp;
use hpp_status::{Observation, Status, Tracker};
use hpp_store::{Effect, EffectKind, Store, StoreError, StoreOptions};
use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use tokio::sync::Mutex;

const SESSIONS: usize = 2_000;
const TASKS: usize = 16;
const CLAIMERS: usize = 4;
const HOT: &str = "hot";

/// A delivery: the session, and what it says.
type Delivery = (String, Observation<Timestamp>);

/// `SESSIONS` legal histories' deliveries (1 to 3 copies of each observation, some lost
/// never: the final is always delivered at least once), and the hot session's.
fn workload() -> (Vec<Delivery>, Vec<Observation<Timestamp>>) {
    let rng = TestRng::from_seed(RngAlgorithm::ChaCha, &[7; 32]);
    let mut runner = TestRunner::new_with_rng(Config::default(), rng);
    let mut draw = |max_steps| {
        history_with_deliveries(max_steps, 1..=3)
            .new_tree(&mut runner)
            .unwrap()
            .current()
            .1
    };
    let mut deliveries = Vec::new();
    for session in 0..SESSIONS {
        let id = format!("s{session:04}");
        deliveries.extend(draw(8).into_iter().map(|seen| (id.clone(), wire(seen))));
    }
    // The hot session: a long history, each observation delivered 2 to 4 times by every task.
    let rng = TestRng::from_seed(RngAlgorithm::ChaCha, &[8; 32]);
    let mut runner = TestRunner::new_with_rng(Config::default(), rng);
    let hot = history_with_deliveries(16, 2..=4)
        .prop_filter("a long history", |(history, _)| history.len() >= 8)
        .new_tree(&mut runner)
        .unwrap()
        .current()
        .1
        .into_iter()
        .map(wire)
        .collect();
    (deliveries, hot)
}

/// A deterministic shuffle, so that a run replays: rand's, seeded.
fn shuffle<T>(items: &mut [T], seed: u64) {
    use rand::SeedableRng as _;
    use rand::seq::SliceRandom as _;
    items.shuffle(&mut rand::rngs::Xoshiro256PlusPlus::seed_from_u64(seed));
}

/// Logs every session's first key and every change of it, in the test's own table.
async fn install_audit(backend: Backend, url: &str) {
    match backend {
        Backend::SqliteFile | Backend::SqliteMemory => {
            let pool = sqlx::SqlitePool::connect(url).await.unwrap();
            for sql in [
                "CREATE TABLE key_audit (session_id TEXT, old_key BLOB, new_key BLOB)",
                "CREATE TRIGGER key_audit AFTER UPDATE ON hpp_session \
                 WHEN OLD.precedence_key IS NOT NEW.precedence_key BEGIN \
                 INSERT INTO key_audit VALUES (NEW.session_id, OLD.precedence_key, NEW.precedence_key); END",
                "CREATE TRIGGER key_audit_insert AFTER INSERT ON hpp_session BEGIN \
                 INSERT INTO key_audit VALUES (NEW.session_id, NULL, NEW.precedence_key); END",
            ] {
                sqlx::query(sql).execute(&pool).await.unwrap();
            }
            pool.close().await;
        }
        #[cfg(feature = "postgres")]
        Backend::Postgres => {
            let pool = sqlx::PgPool::connect(url).await.unwrap();
            for sql in [
                "CREATE TABLE key_audit (session_id text, old_key bytea, new_key bytea)",
                "CREATE FUNCTION key_audit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
                 IF TG_OP = 'INSERT' THEN \
                 INSERT INTO key_audit VALUES (NEW.session_id, NULL, NEW.precedence_key); \
                 ELSIF OLD.precedence_key IS DISTINCT FROM NEW.precedence_key THEN \
                 INSERT INTO key_audit VALUES (NEW.session_id, OLD.precedence_key, NEW.precedence_key); \
                 END IF; RETURN NEW; END $$",
                "CREATE TRIGGER key_audit AFTER INSERT OR UPDATE ON hpp_session \
                 FOR EACH ROW EXECUTE FUNCTION key_audit()",
            ] {
                sqlx::query(sql).execute(&pool).await.unwrap();
            }
            pool.close().await;
        }
    }
}

/// (changes logged, changes that lowered the key or cleared it).
async fn audit(backend: Backend, url: &str) -> (i64, i64) {
    const COUNT: &str = "SELECT count(*), \
        coalesce(sum(CASE WHEN new_key IS NULL OR (old_key IS NOT NULL AND new_key < old_key) \
        THEN 1 ELSE 0 END), 0) FROM key_audit";
    match backend {
        Backend::SqliteFile | Backend::SqliteMemory => {
            let pool = sqlx::SqlitePool::connect(url).await.unwrap();
            let row: (i64, i64) = sqlx::query_as(COUNT).fetch_one(&pool).await.unwrap();
            pool.close().await;
            row
        }
        #[cfg(feature = "postgres")]
        Backend::Postgres => {
            let pool = sqlx::PgPool::connect(url).await.unwrap();
            let row: (i64, i64) = sqlx::query_as(COUNT).fetch_one(&pool).await.unwrap();
            pool.close().await;
            row
        }
    }
}

/// Claims and completes effects until told to stop; returns what it completed.
async fn claimer(store: Store, worker: String, stop: Arc<AtomicBool>) -> Vec<Effect> {
    let mut completed = Vec::new();
    while !stop.load(Ordering::Relaxed) {
        let claimed = store
            .claim_effects(&worker, 8, Duration::from_secs(30))
            .await
            .unwrap();
        if claimed.is_empty() {
            tokio::time::sleep(Duration::from_millis(20)).await;
            continue;
        }
        for effect in claimed {
            store.complete_effect(&effect).await.unwrap();
            completed.push(effect);
        }
    }
    completed
}

async fn race(backend: Backend) {
    let started = Instant::now();
    let connections = match backend {
        Backend::SqliteFile | Backend::SqliteMemory => 8,
        #[cfg(feature = "postgres")]
        Backend::Postgres => 24,
    };
    let options = StoreOptions {
        max_connections: connections,
        ..StoreOptions::default()
    };
    let store = store_with(backend, "race", options).await;
    install_audit(backend, &store.url).await;

    let (mut deliveries, hot) = workload();
    shuffle(&mut deliveries, 1);
    let mut per_task: Vec<Vec<Delivery>> = vec![Vec::new(); TASKS];
    for (i, delivery) in deliveries.iter().enumerate() {
        per_task[i % TASKS].push(delivery.clone());
    }
    for (task, list) in per_task.iter_mut().enumerate() {
        list.extend(hot.iter().map(|&seen| (HOT.to_owned(), seen)));
        shuffle(list, 100 + task as u64);
    }

    // Claimers work while the deliveries arrive; one is killed holding leases.
    let stop = Arc::new(AtomicBool::new(false));
    let claimers: Vec<_> = (0..CLAIMERS)
        .map(|i| {
            tokio::spawn(claimer(
                store.store.clone(),
                format!("claimer-{i}"),
                stop.clone(),
            ))
        })
        .collect();
    let killed_claims: Arc<Mutex<Vec<Effect>>> = Arc::default();
    let doomed = {
        let (store, claims) = (store.store.clone(), killed_claims.clone());
        tokio::spawn(async move {
            loop {
                let claimed = store
                    .claim_effects("doomed", 16, Duration::from_millis(500))
                    .await
                    .unwrap();
                if !claimed.is_empty() {
                    claims.lock().await.extend(claimed);
                    // Mid-effect: it never completes them.
                    std::future::pending::<()>().await;
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
    };

    let tasks: Vec<_> = per_task
        .into_iter()
        .map(|list| {
            let store = store.store.clone();
            tokio::spawn(async move {
                let mut became_final = Vec::new();
                for (session_id, seen) in list {
                    let outcome = store
                        .observe(&session_id, &payload(&session_id, seen))
                        .await
                        .unwrap_or_else(|error| panic!("{session_id} {seen}: {error}"));
                    assert!(!outcome.is_conflict(), "{session_id}: {outcome:?}");
                    if outcome.became_final() {
                        became_final.push(session_id);
                    }
                }
                became_final
            })
        })
        .collect();
    let mut became_final: BTreeMap<String, usize> = BTreeMap::new();
    for task in tasks {
        for session_id in task.await.unwrap() {
            *became_final.entry(session_id).or_default() += 1;
        }
    }
    let delivered = started.elapsed();

    // Kill the doomed claimer (if it got anything) and let the others finish the work.
    let deadline = Instant::now() + Duration::from_secs(60);
    while killed_claims.lock().await.is_empty() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    doomed.abort();
    let killed = killed_claims.lock().await.clone();
    assert!(
        !killed.is_empty(),
        "the doomed claimer never claimed anything"
    );
    while !store
        .effects()
        .await
        .unwrap()
        .iter()
        .all(Effect::is_completed)
    {
        assert!(Instant::now() < deadline, "effects left undone");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    stop.store(true, Ordering::Relaxed);
    let mut completions: BTreeMap<String, Vec<Effect>> = BTreeMap::new();
    for claimer in claimers {
        for effect in claimer.await.unwrap() {
            completions
                .entry(effect.session_id.clone())
                .or_default()
                .push(effect);
        }
    }
    for effect in &killed {
        let error = store.complete_effect(effect).await.unwrap_err();
        assert!(matches!(error, StoreError::LeaseLost { .. }), "{error}");
    }

    // Every session against the in-memory fold of its deliveries.
    let mut folds: BTreeMap<String, Tracker<Timestamp>> = BTreeMap::new();
    for (session_id, seen) in &deliveries {
        folds.entry(session_id.clone()).or_default().observe(*seen);
    }
    folds.insert(HOT.into(), hot.iter().copied().collect());
    let stored: BTreeMap<String, Tracker<Timestamp>> = store
        .sessions()
        .await
        .unwrap()
        .into_iter()
        .map(|record| (record.session_id, record.tracker))
        .collect();
    assert_eq!(stored.len(), SESSIONS + 1);
    let effects = store.effects().await.unwrap();
    let mut effect_of: BTreeMap<&str, &Effect> = BTreeMap::new();
    for effect in &effects {
        assert!(
            effect_of.insert(&effect.session_id, effect).is_none(),
            "{} has two effects",
            effect.session_id
        );
    }
    let mut finals = 0;
    for (session_id, fold) in &folds {
        assert_eq!(stored.get(session_id), Some(fold), "{session_id}");
        let status = fold.status().unwrap();
        let became = became_final.get(session_id).copied().unwrap_or(0);
        let completed = completions.get(session_id).map_or(0, Vec::len);
        if status.is_final() {
            finals += 1;
            assert_eq!(became, 1, "{session_id}: became_final seen {became} times");
            assert_eq!(completed, 1, "{session_id}: completed {completed} times");
            let expected = if status == Status::Completed {
                EffectKind::PlaceOrder {
                    authorization_token: format!("tok-{session_id}"),
                }
            } else {
                EffectKind::SessionEnded { status }
            };
            assert_eq!(
                effect_of[session_id.as_str()].kind,
                expected,
                "{session_id}"
            );
        } else {
            assert_eq!((became, completed), (0, 0), "{session_id}");
            assert!(!effect_of.contains_key(session_id.as_str()), "{session_id}");
        }
    }
    assert_eq!(
        effects.len(),
        finals,
        "one effect per final session, no conflict"
    );
    let retaken: BTreeSet<i64> = killed.iter().map(|e| e.id).collect();
    for effect in effects.iter().filter(|e| retaken.contains(&e.id)) {
        assert!(effect.attempt >= 2, "#{} was not claimed again", effect.id);
        assert_ne!(effect.claimed_by.as_deref(), Some("doomed"));
    }
    let (changes, lowered) = audit(backend, &store.url).await;
    assert_eq!(lowered, 0, "a stored key decreased");
    // Each session's insert, and at least one change for each session that saw more than
    // one observation.
    assert!(
        changes > i64::try_from(SESSIONS).unwrap(),
        "{changes} changes audited"
    );

    println!(
        "{backend:?}: {} deliveries ({} to the hot session) by {TASKS} tasks in {:.1} s; \
         {} sessions, {finals} final, became_final seen {} times in all; {} effects, \
         {} completed once each by {CLAIMERS} claimers, {} retaken from the killed claimer; \
         {changes} key changes audited, {lowered} decreases; {:.1} s in all",
        deliveries.len() + TASKS * hot.len(),
        TASKS * hot.len(),
        delivered.as_secs_f64(),
        folds.len(),
        became_final.values().sum::<usize>(),
        effects.len(),
        completions.values().map(Vec::len).sum::<usize>(),
        retaken.len(),
        started.elapsed().as_secs_f64(),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_file() {
    race(Backend::SqliteFile).await;
}

#[cfg(feature = "postgres")]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres() {
    race(Backend::Postgres).await;
}

/// Every task delivers the same first observation of the same new sessions at once: one
/// delivery per session inserts its row and advances; every other is a duplicate of it (on
/// Postgres, the ones that lost the race to insert merge again and find the row).
async fn first_deliveries_race(backend: Backend) {
    let store = store_with(
        backend,
        "first-race",
        StoreOptions {
            max_connections: 16,
            ..StoreOptions::default()
        },
    )
    .await;
    let sessions: Vec<String> = (0..200).map(|i| format!("new{i}")).collect();
    let seen = Observation::new(Status::InProgress, common::at(1_000));
    let barrier = Arc::new(tokio::sync::Barrier::new(TASKS));
    let tasks: Vec<_> = (0..TASKS)
        .map(|task| {
            let (store, sessions, barrier) =
                (store.store.clone(), sessions.clone(), barrier.clone());
            tokio::spawn(async move {
                let (mut advanced, mut wrong) = (Vec::new(), Vec::new());
                for i in 0..sessions.len() {
                    if i % 10 == 0 {
                        barrier.wait().await;
                    }
                    // Tasks take the sessions in different orders within each group of 10.
                    let group = i / 10 * 10;
                    let session_id = &sessions[group + (i - group + task) % 10];
                    // No panic here: the other tasks would wait at the barrier forever.
                    match store.observe(session_id, &payload(session_id, seen)).await {
                        Ok(hpp_status::Outcome::Advanced {
                            previous: None,
                            current,
                        }) if current == seen => {
                            advanced.push(session_id.clone());
                        }
                        Ok(hpp_status::Outcome::Duplicate { current }) if current == seen => {}
                        other => wrong.push(format!("{session_id}: {other:?}")),
                    }
                }
                (advanced, wrong)
            })
        })
        .collect();
    let mut advanced = BTreeMap::<String, usize>::new();
    for task in tasks {
        let (mine, wrong) = task.await.unwrap();
        assert!(wrong.is_empty(), "{wrong:?}");
        for session_id in mine {
            *advanced.entry(session_id).or_default() += 1;
        }
    }
    assert_eq!(advanced.len(), sessions.len());
    assert!(advanced.values().all(|&n| n == 1), "{advanced:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn first_deliveries_race_sqlite_file() {
    first_deliveries_race(Backend::SqliteFile).await;
}

#[cfg(feature = "postgres")]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn first_deliveries_race_postgres() {
    first_deliveries_race(Backend::Postgres).await;
}

/// Every task delivers the same two different finals of the same new sessions at once, each
/// several times: `COMPLETED` at 2 s (with a token) and the earlier `CANCELLED` at 1.5 s,
/// which wins whenever it comes. The rows are inserted by finals (on Postgres the statement
/// with the effect's `INSERT`), the held final is replaced when `COMPLETED` came first (on
/// Postgres in the transaction that records the conflict), and whatever the interleaving,
/// each session ends holding `CANCELLED` with exactly one first effect, for whichever final
/// came first, and exactly one conflict naming the two; `became_final()` was seen once, or
/// twice when `COMPLETED` came first (the change of final is one too).
async fn changes_of_final_race(backend: Backend) {
    let store = store_with(
        backend,
        "final-race",
        StoreOptions {
            max_connections: 16,
            ..StoreOptions::default()
        },
    )
    .await;
    let sessions: Vec<String> = (0..100).map(|i| format!("f{i}")).collect();
    let completed = Observation::new(Status::Completed, common::at(2_000));
    let cancelled = Observation::new(Status::Cancelled, common::at(1_500));
    let barrier = Arc::new(tokio::sync::Barrier::new(TASKS));
    let tasks: Vec<_> = (0..TASKS)
        .map(|task| {
            let (store, sessions, barrier) =
                (store.store.clone(), sessions.clone(), barrier.clone());
            tokio::spawn(async move {
                let (mut became_final, mut wrong) = (Vec::new(), Vec::new());
                for (i, session_id) in sessions.iter().enumerate() {
                    if i % 10 == 0 {
                        barrier.wait().await;
                    }
                    // Half the tasks deliver COMPLETED first, the other half CANCELLED.
                    let order = if (task + i) % 2 == 0 {
                        [completed, cancelled]
                    } else {
                        [cancelled, completed]
                    };
                    for seen in order {
                        // No panic here: the other tasks would wait at the barrier forever.
                        match store.observe(session_id, &payload(session_id, seen)).await {
                            Ok(outcome) => {
                                if outcome.current() != &cancelled && seen == cancelled {
                                    wrong.push(format!("{session_id}: {outcome:?}"));
                                }
                                if outcome.became_final() {
                                    became_final.push(session_id.clone());
                                }
                            }
                            Err(error) => wrong.push(format!("{session_id} {seen}: {error}")),
                        }
                    }
                }
                (became_final, wrong)
            })
        })
        .collect();
    let mut became_final = BTreeMap::<String, usize>::new();
    for task in tasks {
        let (mine, wrong) = task.await.unwrap();
        assert!(wrong.is_empty(), "{wrong:?}");
        for session_id in mine {
            *became_final.entry(session_id).or_default() += 1;
        }
    }
    let effects = store.effects().await.unwrap();
    for session_id in &sessions {
        assert_eq!(
            store.session(session_id).await.unwrap().unwrap().latest(),
            Some(&cancelled),
            "{session_id}"
        );
        let (conflicts, firsts): (Vec<&Effect>, Vec<&Effect>) = effects
            .iter()
            .filter(|e| &e.session_id == session_id)
            .partition(|e| matches!(e.kind, EffectKind::Conflict { .. }));
        let [first] = firsts[..] else {
            panic!("{session_id}: first effects {firsts:?}");
        };
        let [conflict] = conflicts[..] else {
            panic!("{session_id}: conflicts {conflicts:?}");
        };
        let EffectKind::Conflict { kept, rejected, .. } = &conflict.kind else {
            unreachable!()
        };
        assert_eq!((kept, rejected), (&cancelled, &completed), "{session_id}");
        let completed_first = match &first.kind {
            EffectKind::PlaceOrder {
                authorization_token,
            } => {
                assert_eq!(authorization_token, &format!("tok-{session_id}"));
                true
            }
            EffectKind::SessionEnded {
                status: Status::Cancelled,
            } => false,
            other => panic!("{session_id}: {other:?}"),
        };
        assert_eq!(
            became_final.get(session_id).copied(),
            Some(1 + usize::from(completed_first)),
            "{session_id}: completed first: {completed_first}"
        );
    }
    let changed = effects
        .iter()
        .filter(|e| matches!(e.kind, EffectKind::PlaceOrder { .. }))
        .count();
    println!(
        "{backend:?}: {} sessions, {changed} of them COMPLETED first then CANCELLED, {} effects",
        sessions.len(),
        effects.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn changes_of_final_race_sqlite_file() {
    changes_of_final_race(Backend::SqliteFile).await;
}

#[cfg(feature = "postgres")]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn changes_of_final_race_postgres() {
    changes_of_final_race(Backend::Postgres).await;
}
