//! The store's contract, on SQLite (memory and file) and on a Postgres this test starts:
//! outcomes are the tracker's, effects are what the payload calls for (once), unusable
//! payloads are kept, registrations are idempotent, reads are scheduled before expiry,
//! and effect leases are fenced.

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use common::{Backend, at, payload, store, store_with, wire};
use hpp_status::strategy::any_observation;
use hpp_status::wire::{ReportedStatus, SessionResponse, Timestamp};
use hpp_status::{Observation, Outcome, Status, Tracker};
use hpp_store::{
    AttemptAnswer, EffectKind, OrderState, ReadSchedule, Store, StoreError, StoreOptions,
};
use proptest::prelude::*;

fn obs(status: Status, ms: u64) -> Observation<Timestamp> {
    Observation::new(status, at(ms))
}

/// Non-conflict effects and conflict effects of `session_id`.
async fn effects_of(store: &Store, session_id: &str) -> (Vec<EffectKind>, Vec<EffectKind>) {
    store
        .effects()
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.session_id == session_id)
        .map(|e| e.kind)
        .partition(|kind| !matches!(kind, EffectKind::Conflict { .. }))
}

/// Every sequence of arbitrary observations (legal or not, many sharing a time) gets, one
/// delivery at a time, the outcome an in-memory tracker gets; the store then holds what the
/// tracker holds; the session has one effect exactly when it is final, for the first final
/// delivered; and each distinct conflict is recorded once.
fn outcomes_match_the_tracker(backend: Backend, cases: u32) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let store = runtime.block_on(store(backend, "outcomes"));
    let case = std::cell::Cell::new(0);
    let config = ProptestConfig::with_cases(cases);
    proptest!(config, |(deliveries in proptest::collection::vec(any_observation(6), 1..10))| {
        case.set(case.get() + 1);
        let session_id = format!("case-{}", case.get());
        let mut tracker = Tracker::new();
        let mut first_final = None;
        let mut conflicts = BTreeSet::new();
        for seen in deliveries.iter().copied().map(wire) {
            let expected = tracker.observe(seen);
            let outcome = runtime.block_on(store.observe(&session_id, &payload(&session_id, seen))).unwrap();
            prop_assert_eq!(outcome, expected, "delivery {} of {:?}", seen, deliveries);
            if expected.became_final() && first_final.is_none() {
                first_final = Some(seen.status);
            }
            if let Outcome::Conflict { kept, rejected, .. } = expected {
                conflicts.insert((kept.precedence_key(), rejected.precedence_key()));
            }
        }
        let stored = runtime.block_on(store.session(&session_id)).unwrap();
        prop_assert_eq!(stored, Some(tracker));
        let (effects, recorded_conflicts) = runtime.block_on(effects_of(&store, &session_id));
        prop_assert_eq!(effects.iter().map(EffectKind::status).collect::<Vec<_>>(), first_final.into_iter().collect::<Vec<_>>());
        let recorded: BTreeSet<_> = recorded_conflicts.iter().map(|kind| match kind {
            EffectKind::Conflict { kept, rejected, .. } => (kept.precedence_key(), rejected.precedence_key()),
            other => unreachable!("{other:?}"),
        }).collect();
        prop_assert_eq!(recorded.len(), recorded_conflicts.len(), "a conflict recorded twice");
        prop_assert_eq!(recorded, conflicts);
    });
}

#[test]
fn outcomes_match_the_tracker_sqlite() {
    outcomes_match_the_tracker(Backend::SqliteMemory, 400);
}

#[cfg(feature = "postgres")]
#[test]
fn outcomes_match_the_tracker_postgres() {
    outcomes_match_the_tracker(Backend::Postgres, 300);
}

on_every_backend! {
    final_at_an_earlier_time_is_a_duplicate_that_replaces_the_time => final_at_an_earlier_time;
    effects_follow_the_payload => effects_follow_the_payload_body;
    a_different_final_records_a_conflict_never_a_second_order => different_final;
    a_final_dated_before_an_open_status_places_the_order_and_records_the_conflict => final_before_open;
    unusable_payloads_are_kept_whole => unusable_payloads;
    registration_is_idempotent => registration;
    reads_are_due_nearest_expiry_first => reads_due;
    the_last_read_happens_before_expiry => last_read_before_expiry;
    effect_leases_are_fenced => effect_leases;
    create_order_calls_are_recorded_before_and_answered_after => order_attempts;
    a_released_effect_waits_out_its_backoff => released_for;
    batch_workers_share_the_due_sessions => batch_workers_share;
}

async fn final_at_an_earlier_time(backend: Backend) {
    let store = store(backend, "earlier").await;
    let later = obs(Status::Completed, 5_000);
    let earlier = obs(Status::Completed, 3_000);
    assert!(
        store
            .observe("s", &payload("s", later))
            .await
            .unwrap()
            .became_final()
    );
    let outcome = store.observe("s", &payload("s", earlier)).await.unwrap();
    assert_eq!(outcome, Outcome::Duplicate { current: earlier });
    assert!(!outcome.became_final());
    let stored = store.session("s").await.unwrap().unwrap();
    assert_eq!(
        stored.latest(),
        Some(&earlier),
        "the stored time is replaced"
    );
    // The later one again is a duplicate too, and does not move the time back.
    assert_eq!(
        store.observe("s", &payload("s", later)).await.unwrap(),
        Outcome::Duplicate { current: earlier }
    );
    let (effects, conflicts) = effects_of(&store, "s").await;
    assert_eq!(
        effects,
        [EffectKind::PlaceOrder {
            authorization_token: "tok-s".into()
        }]
    );
    assert!(conflicts.is_empty());
}

async fn effects_follow_the_payload_body(backend: Backend) {
    let store = store(backend, "effects").await;
    let completed =
        |token: Option<&str>, order: Option<&str>, reference: Option<&str>| SessionResponse {
            status: Some(ReportedStatus::Known(Status::Completed)),
            updated_at: Some(at(1_000)),
            authorization_token: token.map(Into::into),
            order_id: order.map(Into::into),
            klarna_reference: reference.map(Into::into),
            ..SessionResponse::default()
        };
    let cases = [
        (
            "token",
            completed(Some("t-1"), None, None),
            EffectKind::PlaceOrder {
                authorization_token: "t-1".into(),
            },
        ),
        (
            "order",
            completed(None, Some("o-1"), Some("r-1")),
            EffectKind::OrderPlacedByKlarna {
                order_id: "o-1".into(),
                klarna_reference: Some("r-1".into()),
            },
        ),
        (
            "order-no-reference",
            completed(None, Some("o-2"), None),
            EffectKind::OrderPlacedByKlarna {
                order_id: "o-2".into(),
                klarna_reference: None,
            },
        ),
        (
            "both",
            completed(Some("t-3"), Some("o-3"), None),
            EffectKind::OrderPlacedByKlarna {
                order_id: "o-3".into(),
                klarna_reference: None,
            },
        ),
        (
            "neither",
            completed(None, None, Some("r-4")),
            EffectKind::CompletedWithoutReference,
        ),
        (
            "cancelled",
            payload("cancelled", obs(Status::Cancelled, 1_000)),
            EffectKind::SessionEnded {
                status: Status::Cancelled,
            },
        ),
        (
            "disabled",
            payload("disabled", obs(Status::Disabled, 1_000)),
            EffectKind::SessionEnded {
                status: Status::Disabled,
            },
        ),
    ];
    for (session_id, body, expected) in &cases {
        assert!(
            store
                .observe(session_id, body)
                .await
                .unwrap()
                .became_final()
        );
        // Open deliveries before and after record nothing.
        store
            .observe(
                session_id,
                &payload(session_id, obs(Status::InProgress, 500)),
            )
            .await
            .unwrap();
        let (effects, conflicts) = effects_of(&store, session_id).await;
        assert_eq!(&effects, std::slice::from_ref(expected), "{session_id}");
        assert!(conflicts.is_empty());
    }
    let effects = store.effects().await.unwrap();
    assert_eq!(effects.len(), cases.len());
    for effect in &effects {
        assert_eq!((effect.attempt, effect.claimed_by.as_deref()), (0, None));
        assert!(!effect.is_completed());
    }
    // Open statuses record nothing at all.
    store
        .observe("open", &payload("open", obs(Status::Back, 1)))
        .await
        .unwrap();
    assert_eq!(store.effects().await.unwrap().len(), cases.len());
}

async fn different_final(backend: Backend) {
    let store = store(backend, "conflict").await;
    let cancelled = obs(Status::Cancelled, 20_000);
    let completed = obs(Status::Completed, 10_000);
    assert!(
        store
            .observe("s", &payload("s", cancelled))
            .await
            .unwrap()
            .became_final()
    );
    let outcome = store.observe("s", &payload("s", completed)).await.unwrap();
    assert_eq!(
        outcome,
        Outcome::Conflict {
            kept: completed,
            rejected: cancelled,
            replaced: true
        }
    );
    assert!(
        outcome.became_final(),
        "the tracker's word, for the handler"
    );
    let conflict = EffectKind::Conflict {
        kept: completed,
        rejected: cancelled,
        authorization_token: Some("tok-s".into()),
        order_id: None,
        klarna_reference: None,
    };
    let expected_effects = [EffectKind::SessionEnded {
        status: Status::Cancelled,
    }];
    assert_eq!(
        effects_of(&store, "s").await,
        (expected_effects.to_vec(), vec![conflict.clone()])
    );
    // Retries of both deliveries: a duplicate, and the same conflict again (recorded once).
    assert_eq!(
        store.observe("s", &payload("s", completed)).await.unwrap(),
        Outcome::Duplicate { current: completed }
    );
    assert_eq!(
        store.observe("s", &payload("s", cancelled)).await.unwrap(),
        Outcome::Conflict {
            kept: completed,
            rejected: cancelled,
            replaced: false
        }
    );
    assert_eq!(
        effects_of(&store, "s").await,
        (expected_effects.to_vec(), vec![conflict])
    );
    // A third final, later: refused, recorded as its own conflict; still one effect.
    let disabled = obs(Status::Disabled, 30_000);
    store.observe("s", &payload("s", disabled)).await.unwrap();
    let (effects, conflicts) = effects_of(&store, "s").await;
    assert_eq!(effects, expected_effects);
    assert_eq!(conflicts.len(), 2);
    assert!(conflicts.contains(&EffectKind::Conflict {
        kept: completed,
        rejected: disabled,
        authorization_token: None,
        order_id: None,
        klarna_reference: None,
    }));
    assert_eq!(
        store.session("s").await.unwrap().unwrap().latest(),
        Some(&completed)
    );
}

async fn final_before_open(backend: Backend) {
    let store = store(backend, "final-before-open").await;
    let open = obs(Status::InProgress, 10_000);
    let completed = obs(Status::Completed, 5_000);
    store.observe("s", &payload("s", open)).await.unwrap();
    let outcome = store.observe("s", &payload("s", completed)).await.unwrap();
    assert!(outcome.is_conflict() && outcome.became_final());
    let (effects, conflicts) = effects_of(&store, "s").await;
    assert_eq!(
        effects,
        [EffectKind::PlaceOrder {
            authorization_token: "tok-s".into()
        }]
    );
    assert_eq!(
        conflicts,
        [EffectKind::Conflict {
            kept: completed,
            rejected: open,
            authorization_token: Some("tok-s".into()),
            order_id: None,
            klarna_reference: None,
        }]
    );
}

async fn unusable_payloads(backend: Backend) {
    let store = store(backend, "unusable").await;
    let good = payload("s", obs(Status::Back, 1_000));
    let cases = [
        (
            SessionResponse {
                status: Some(ReportedStatus::from_wire("SUSPENDED")),
                ..good.clone()
            },
            "the session's `status` is \"SUSPENDED\", which is none of the statuses the API documents: \
             read the session again",
            "\"status\":\"SUSPENDED\"",
        ),
        (
            SessionResponse {
                status: Some(ReportedStatus::from_wire("TIMEOUT")),
                ..good.clone()
            },
            "the session's `status` is TIMEOUT, which the API documents without saying whether \
             it is final: not final here; read the session again",
            "\"status\":\"TIMEOUT\"",
        ),
        (
            SessionResponse {
                status: None,
                ..good.clone()
            },
            "the session has no `status` field",
            "\"updated_at\":\"1970-01-01T00:00:01.000Z\"",
        ),
        (
            SessionResponse {
                updated_at: None,
                ..good.clone()
            },
            "the session has no `updated_at` field, so it cannot be ordered",
            "\"status\":\"BACK\"",
        ),
        (
            SessionResponse {
                session_id: Some("other".into()),
                ..good.clone()
            },
            "the payload is session \"other\"'s",
            "\"session_id\":\"other\"",
        ),
    ];
    for (number, (body, reason, kept)) in cases.iter().enumerate() {
        let error = store.observe("s", body).await.unwrap_err();
        let StoreError::Unusable {
            session_id,
            reason: said,
            delivery_id,
        } = &error
        else {
            panic!("{error}");
        };
        assert_eq!((session_id.as_str(), said.as_str()), ("s", *reason));
        assert!(error.to_string().contains(reason));
        assert!(
            error
                .to_string()
                .contains(&format!("unusable delivery #{delivery_id}"))
        );
        let unusable = store.unusable_deliveries().await.unwrap();
        assert_eq!(unusable.len(), number + 1);
        let last = unusable.last().unwrap();
        assert_eq!((last.id, last.reason.as_str()), (*delivery_id, *reason));
        assert!(last.payload.contains(kept), "{} lacks {kept}", last.payload);
        let back: SessionResponse = serde_json::from_str(&last.payload).unwrap();
        assert_eq!(&back, body, "the payload is kept whole");
    }
    assert_eq!(store.session("s").await.unwrap(), None, "nothing merged");
    assert!(store.effects().await.unwrap().is_empty());
}

async fn registration(backend: Backend) {
    let store = store(backend, "registration").await;
    let expires_at = at(4_000_000_000_000);
    store.register("s", expires_at, "secret").await.unwrap();
    store.register("s", expires_at, "secret").await.unwrap();
    for (other_expiry, other_secret) in [(at(4_000_000_000_001), "secret"), (expires_at, "other")] {
        let error = store
            .register("s", other_expiry, other_secret)
            .await
            .unwrap_err();
        assert_eq!(
            error.to_string(),
            "session s is already registered with other data (expires_at 2096-10-02T07:06:40.000Z); \
             a registration cannot change"
        );
    }
    assert_eq!(
        store.callback_secret("s").await.unwrap().as_deref(),
        Some("secret")
    );
    assert_eq!(store.callback_secret("unknown").await.unwrap(), None);
    assert_eq!(store.session("s").await.unwrap(), Some(Tracker::new()));

    // A session observed first (its payload's expiry), registered afterwards: the
    // registration fills in, and wins.
    let seen = obs(Status::InProgress, 1_000);
    store.observe("late", &payload("late", seen)).await.unwrap();
    assert_eq!(store.callback_secret("late").await.unwrap(), None);
    store
        .register("late", at(3_000_000_000_000), "s2")
        .await
        .unwrap();
    store
        .register("late", at(3_000_000_000_000), "s2")
        .await
        .unwrap();
    let sessions = store.sessions().await.unwrap();
    let late = sessions.iter().find(|s| s.session_id == "late").unwrap();
    assert_eq!(late.expires_at, Some(at(3_000_000_000_000)));
    assert!(late.registered && late.registered_at.is_some());
    assert_eq!(late.status(), Some(Status::InProgress));
    // A delivery after registration keeps the registered expiry.
    store
        .observe("late", &payload("late", obs(Status::Back, 2_000)))
        .await
        .unwrap();
    let sessions = store.sessions().await.unwrap();
    let late = sessions.iter().find(|s| s.session_id == "late").unwrap();
    assert_eq!(late.expires_at, Some(at(3_000_000_000_000)));
    assert_eq!(late.status(), Some(Status::Back));
    let s = sessions.iter().find(|s| s.session_id == "s").unwrap();
    assert_eq!(
        (s.status(), s.last_read_at, s.next_read_at),
        (None, None, None)
    );
}

const MINUTE: u64 = 60_000;

fn schedule() -> StoreOptions {
    StoreOptions {
        read_schedule: ReadSchedule {
            interval: Duration::from_secs(10 * 60),
            margin: Duration::from_secs(5 * 60),
            lease: Duration::from_secs(60),
        },
        ..StoreOptions::default()
    }
}

async fn due_ids(store: &Store, now: u64) -> Vec<String> {
    store
        .due_for_read(at(now), 100)
        .await
        .unwrap()
        .into_iter()
        .map(|due| due.session_id)
        .collect()
}

async fn reads_due(backend: Backend) {
    let store = store_with(backend, "reads", schedule()).await;
    let t0 = 1_000 * MINUTE;
    store
        .register("far", at(t0 + 120 * MINUTE), "s")
        .await
        .unwrap();
    store
        .register("near", at(t0 + 30 * MINUTE), "s")
        .await
        .unwrap();
    store.register("expired", at(t0), "s").await.unwrap();
    store
        .register("final", at(t0 + 60 * MINUTE), "s")
        .await
        .unwrap();
    store
        .observe(
            "final",
            &payload("final", obs(Status::Cancelled, t0 - MINUTE)),
        )
        .await
        .unwrap();
    // An observed session with its payload's expiry is due too; one without is never.
    store
        .observe(
            "observed",
            &payload("observed", obs(Status::Back, t0 - MINUTE)),
        )
        .await
        .unwrap();
    let no_expiry = SessionResponse {
        expires_at: None,
        ..payload("no-expiry", obs(Status::Back, t0))
    };
    store.observe("no-expiry", &no_expiry).await.unwrap();
    // A session that became final after an open status is not due.
    for seen in [
        obs(Status::InProgress, t0 - 2 * MINUTE),
        obs(Status::Cancelled, t0 - MINUTE),
    ] {
        let became_final = payload("became-final", seen);
        store.observe("became-final", &became_final).await.unwrap();
    }
    // A session seen first without an expiry takes the first one a later payload has, and
    // keeps it.
    for (seen, expires_at) in [
        (obs(Status::InProgress, t0 - 3 * MINUTE), None),
        (
            obs(Status::Back, t0 - 2 * MINUTE),
            Some(at(t0 + 90 * MINUTE)),
        ),
        (obs(Status::Back, t0 - MINUTE), Some(at(t0 + 200 * MINUTE))),
    ] {
        let late_expiry = SessionResponse {
            expires_at,
            ..payload("late-expiry", seen)
        };
        store.observe("late-expiry", &late_expiry).await.unwrap();
    }

    let due = store.due_for_read(at(t0), 100).await.unwrap();
    let ids: Vec<&str> = due.iter().map(|d| d.session_id.as_str()).collect();
    assert_eq!(ids, ["near", "late-expiry", "far", "observed"]);
    assert_eq!(due[0].expires_at, at(t0 + 30 * MINUTE));
    assert_eq!(due[1].expires_at, at(t0 + 90 * MINUTE));
    assert_eq!(due[0].tracker, Tracker::new());
    assert_eq!(due[3].tracker.status(), Some(Status::Back));
    assert_eq!(due[0].last_read_at, None);
    // Claimed: nobody else gets them until the lease (1 minute) ends.
    assert!(due_ids(&store, t0).await.is_empty());
    assert!(due_ids(&store, t0 + MINUTE - 1).await.is_empty());
    assert_eq!(
        due_ids(&store, t0 + MINUTE).await,
        ["near", "late-expiry", "far", "observed"]
    );
    // The limit takes the nearest first.
    let next = store.due_for_read(at(t0 + 2 * MINUTE), 1).await.unwrap();
    assert_eq!(next.len(), 1);
    assert_eq!(next[0].session_id, "near");

    // A read schedules the next one an interval later.
    store.record_read("far", at(t0 + 3 * MINUTE)).await.unwrap();
    let record = |sessions: &[hpp_store::SessionRecord], id: &str| {
        sessions
            .iter()
            .find(|s| s.session_id == id)
            .cloned()
            .unwrap()
    };
    let far = record(&store.sessions().await.unwrap(), "far");
    assert_eq!(far.last_read_at, Some(at(t0 + 3 * MINUTE)));
    assert_eq!(far.next_read_at, Some(at(t0 + 13 * MINUTE)));
    // ...but no later than the margin before expiry.
    store
        .record_read("near", at(t0 + 20 * MINUTE))
        .await
        .unwrap();
    let near = record(&store.sessions().await.unwrap(), "near");
    assert_eq!(near.next_read_at, Some(at(t0 + 25 * MINUTE)));
    // A read within the margin is the last: never due again.
    store
        .record_read("near", at(t0 + 26 * MINUTE))
        .await
        .unwrap();
    let near = record(&store.sessions().await.unwrap(), "near");
    assert_eq!(near.next_read_at, Some(at(t0 + 30 * MINUTE)));
    assert_eq!(near.last_read_at, Some(at(t0 + 26 * MINUTE)));
    // An older read recorded late does not move the last read back.
    store
        .record_read("near", at(t0 + 21 * MINUTE))
        .await
        .unwrap();
    let near = record(&store.sessions().await.unwrap(), "near");
    assert_eq!(near.last_read_at, Some(at(t0 + 26 * MINUTE)));
    for minute in [27, 29, 30, 31] {
        assert!(
            !due_ids(&store, t0 + minute * MINUTE)
                .await
                .contains(&"near".to_owned())
        );
    }
    let error = store.record_read("unknown", at(t0)).await.unwrap_err();
    assert_eq!(error.to_string(), "session unknown is not in the store");
}

/// A batch run every 2 minutes over sessions of assorted lifetimes: each is read last
/// within the margin and before it expires, and never after.
async fn last_read_before_expiry(backend: Backend) {
    let store = store_with(backend, "last-read", schedule()).await;
    let t0 = 1_000 * MINUTE;
    let lifetimes = [3, 7, 12, 29, 60, 61, 95];
    for (i, minutes) in lifetimes.iter().enumerate() {
        store
            .register(&format!("s{i}"), at(t0 + minutes * MINUTE + 17), "s")
            .await
            .unwrap();
    }
    let mut now = t0;
    while now <= t0 + 100 * MINUTE {
        for due in store.due_for_read(at(now), 3).await.unwrap() {
            assert!(at(now) < due.expires_at);
            store.record_read(&due.session_id, at(now)).await.unwrap();
        }
        now += 2 * MINUTE;
    }
    for session in store.sessions().await.unwrap() {
        let expires_at = session.expires_at.unwrap();
        let last = session.last_read_at.unwrap();
        assert!(
            last < expires_at,
            "{}: read at {last}, after {expires_at}",
            session.session_id
        );
        let margin = jiff::SignedDuration::from_mins(5);
        assert!(
            last >= Timestamp::try_from(
                jiff::Timestamp::try_from(expires_at)
                    .unwrap()
                    .checked_sub(margin)
                    .unwrap()
            )
            .unwrap(),
            "{}: last read at {last}, not within the margin before {expires_at}",
            session.session_id
        );
    }
}

/// Batch workers asking at once get different sessions, and between them all of them; twenty
/// rounds, each a lease later (when every session not yet expired is due again).
async fn batch_workers_share(backend: Backend) {
    const WORKERS: usize = 8;
    let options = StoreOptions {
        max_connections: 8,
        ..schedule()
    };
    let store = store_with(backend, "batch-share", options).await;
    let t0 = 1_000 * MINUTE;
    for i in 0..100 {
        store
            .register(&format!("s{i:03}"), at(t0 + (10 + i) * MINUTE), "s")
            .await
            .unwrap();
    }
    for round in 0..20 {
        let now = t0 + round * MINUTE;
        let open = (0..100).filter(|i| t0 + (10 + i) * MINUTE > now).count();
        let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(WORKERS));
        let workers: Vec<_> = (0..WORKERS)
            .map(|_| {
                let (store, barrier) = (store.store.clone(), barrier.clone());
                tokio::spawn(async move {
                    barrier.wait().await;
                    store.due_for_read(at(now), 15).await.unwrap()
                })
            })
            .collect();
        let mut claimed = Vec::new();
        for worker in workers {
            let due = worker.await.unwrap();
            assert!(due.len() <= 15);
            // Each worker's sessions come nearest expiry first.
            assert!(due.windows(2).all(|w| w[0].expires_at <= w[1].expires_at));
            claimed.extend(due.into_iter().map(|d| d.session_id));
        }
        claimed.extend(due_ids(&store, now).await);
        let distinct: BTreeSet<&String> = claimed.iter().collect();
        assert_eq!(
            distinct.len(),
            claimed.len(),
            "round {round}: a session claimed twice: {claimed:?}"
        );
        assert_eq!(claimed.len(), open, "round {round}");
    }
}

async fn effect_leases(backend: Backend) {
    let store = store(backend, "leases").await;
    for (i, status) in [Status::Completed, Status::Cancelled, Status::Disabled]
        .into_iter()
        .enumerate()
    {
        let id = format!("s{i}");
        store
            .observe(&id, &payload(&id, obs(status, 1_000)))
            .await
            .unwrap();
    }
    let short = Duration::from_millis(400);
    let first = store.claim_effects("w1", 2, short).await.unwrap();
    assert_eq!(first.len(), 2, "the limit holds");
    assert!(first[0].id < first[1].id, "oldest first");
    assert_eq!(first[0].kind.status(), Status::Completed);
    for effect in &first {
        assert_eq!(
            (effect.attempt, effect.claimed_by.as_deref()),
            (1, Some("w1"))
        );
        assert!(effect.lease_until.is_some() && !effect.is_completed());
    }
    let second = store.claim_effects("w2", 10, short).await.unwrap();
    assert_eq!(second.len(), 1, "only the unclaimed one");
    assert_eq!(second[0].kind.status(), Status::Disabled);
    assert!(
        store
            .claim_effects("w3", 10, short)
            .await
            .unwrap()
            .is_empty()
    );

    // w1 completes its first in time; its second lapses and w3 takes it over.
    store.complete_effect(&first[0]).await.unwrap();
    tokio::time::sleep(short + Duration::from_millis(200)).await;
    let error = store.complete_effect(&first[1]).await.unwrap_err();
    assert!(
        error.to_string().starts_with(&format!(
            "effect #{} (attempt 1): the lease was lost: the lease ended at ",
            first[1].id
        )),
        "{error}"
    );
    let taken = store
        .claim_effects("w3", 10, Duration::from_secs(60))
        .await
        .unwrap();
    let ids: Vec<i64> = taken.iter().map(|e| e.id).collect();
    assert_eq!(ids, [first[1].id, second[0].id]);
    assert!(
        taken
            .iter()
            .all(|e| e.attempt == 2 && e.claimed_by.as_deref() == Some("w3"))
    );
    let error = store.complete_effect(&first[1]).await.unwrap_err();
    assert_eq!(
        error.to_string(),
        format!(
            "effect #{} (attempt 1): the lease was lost: claimed again by w3 (attempt 2)",
            first[1].id
        )
    );
    assert!(matches!(error, StoreError::LeaseLost { attempt: 1, .. }));
    // A release makes it claimable at once.
    store.release_effect(&taken[1]).await.unwrap();
    assert!(store.release_effect(&taken[1]).await.is_err());
    let again = store
        .claim_effects("w4", 10, Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!((again[0].id, again[0].attempt), (taken[1].id, 3));
    store.complete_effect(&taken[0]).await.unwrap();
    store.complete_effect(&again[0]).await.unwrap();
    let error = store.complete_effect(&again[0]).await.unwrap_err();
    assert!(
        error
            .to_string()
            .contains("the lease was lost: already completed at "),
        "{error}"
    );
    assert!(
        store
            .claim_effects("w5", 10, short)
            .await
            .unwrap()
            .is_empty()
    );
    let all = store.effects().await.unwrap();
    assert_eq!(all.len(), 3);
    assert!(all.iter().all(|e| e.is_completed()));
    let attempts: Vec<u32> = all.iter().map(|e| e.attempt).collect();
    assert_eq!(attempts, [1, 2, 3]);
}

async fn order_attempts(backend: Backend) {
    let store = store(backend, "orders").await;
    let mut paid = payload("s1", obs(Status::Completed, 1_000));
    paid.authorization_token = Some("token-1".into());
    store.observe("s1", &paid).await.unwrap();
    let lease = Duration::from_secs(60);
    let [effect] = &store.claim_effects("w1", 10, lease).await.unwrap()[..] else {
        panic!("one effect")
    };
    let first = store
        .begin_order_attempt(effect, "key", "w1")
        .await
        .unwrap();
    let throttled = AttemptAnswer::NotSent {
        detail: "429".into(),
    };
    store
        .answer_order_attempt(effect, first, &throttled)
        .await
        .unwrap();
    // One answer per call: the first stays.
    let again = store
        .answer_order_attempt(
            effect,
            first,
            &AttemptAnswer::Refused { detail: "x".into() },
        )
        .await
        .unwrap_err();
    assert!(matches!(again, StoreError::Corrupt { .. }), "{again}");
    let second = store
        .begin_order_attempt(effect, "key", "w1")
        .await
        .unwrap();
    assert_eq!((first, second), (1, 2));
    store
        .answer_order_attempt(
            effect,
            second,
            &AttemptAnswer::Lost {
                detail: "timed out".into(),
            },
        )
        .await
        .unwrap();

    // Another worker takes the effect over: the old claim may no longer send.
    store.release_effect(effect).await.unwrap();
    let [taken] = &store.claim_effects("w2", 10, lease).await.unwrap()[..] else {
        panic!("taken over")
    };
    let refused = store
        .begin_order_attempt(effect, "key", "w1")
        .await
        .unwrap_err();
    assert!(
        matches!(refused, StoreError::LeaseLost { attempt: 1, .. }),
        "{refused}"
    );
    let third = store.begin_order_attempt(taken, "key", "w2").await.unwrap();
    assert_eq!(third, 3);
    // Unanswered (as if w2 died mid-call), then a fourth call is refused.
    let fourth = store.begin_order_attempt(taken, "key", "w2").await.unwrap();
    store
        .answer_order_attempt(
            taken,
            fourth,
            &AttemptAnswer::Refused {
                detail: "404".into(),
            },
        )
        .await
        .unwrap();
    store.complete_effect(taken).await.unwrap();

    let calls = store.order_attempts(Some(taken.id)).await.unwrap();
    let summary: Vec<(u32, u32, &str, Option<&str>)> = calls
        .iter()
        .map(|call| {
            (
                call.attempt,
                call.claim,
                call.worker.as_str(),
                call.answer.as_ref().map(AttemptAnswer::name),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            (1, 1, "w1", Some("not_sent")),
            (2, 1, "w1", Some("lost")),
            (3, 2, "w2", None),
            (4, 2, "w2", Some("refused")),
        ]
    );
    assert!(calls.iter().all(|call| call.idempotency_key == "key"));
    assert!(calls[1].answered_at.is_some() && calls[2].answered_at.is_none());
    assert_eq!(store.order_attempts(None).await.unwrap(), calls);
    assert_eq!(
        OrderState::of(Some(&taken.kind), true, &calls),
        OrderState::Unknown
    );
}

async fn released_for(backend: Backend) {
    let store = store(backend, "backoff").await;
    store
        .observe("s1", &payload("s1", obs(Status::Cancelled, 1_000)))
        .await
        .unwrap();
    let lease = Duration::from_secs(60);
    let first = store.claim_effects("w", 10, lease).await.unwrap();
    store
        .release_effect_for(&first[0], Duration::from_millis(300))
        .await
        .unwrap();
    assert!(
        store
            .claim_effects("w", 10, lease)
            .await
            .unwrap()
            .is_empty()
    );
    tokio::time::sleep(Duration::from_millis(400)).await;
    let again = store.claim_effects("w", 10, lease).await.unwrap();
    assert_eq!((again[0].id, again[0].attempt), (first[0].id, 2));
}

#[tokio::test]
async fn urls_it_cannot_use_are_refused() {
    for url in ["mysql://localhost/db", "", "sqlite"] {
        let error = Store::connect(url).await.unwrap_err();
        assert!(
            matches!(error, StoreError::UnsupportedUrl(_)),
            "{url}: {error}"
        );
    }
    #[cfg(not(feature = "postgres"))]
    {
        let error = Store::connect("postgres://localhost/db").await.unwrap_err();
        assert!(
            error.to_string().contains("enable feature `postgres`"),
            "{error}"
        );
    }
    let error = Store::connect("sqlite:///nonexistent/dir/db.sqlite")
        .await
        .unwrap_err();
    assert!(
        error.to_string().starts_with("connecting to SQLite: "),
        "{error}"
    );
}

/// An in-memory SQLite database named by `mode=memory` lives in its connection, like
/// `sqlite::memory:`: the pool keeps exactly one, so that concurrent work all sees the one
/// migrated database (a second connection would open an empty database of its own).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mode_memory_url_is_one_database_however_many_ask_at_once() {
    let store = Store::connect("sqlite://named-in-memory?mode=memory")
        .await
        .unwrap();
    store.migrate().await.unwrap();
    let deliveries = (0..16).map(|i| {
        let store = store.clone();
        tokio::spawn(async move {
            let session_id = format!("s{i}");
            let seen = obs(Status::InProgress, 1_000 + i);
            store
                .observe(&session_id, &payload(&session_id, seen))
                .await
        })
    });
    for delivery in deliveries.collect::<Vec<_>>() {
        delivery.await.unwrap().unwrap();
    }
    assert_eq!(store.sessions().await.unwrap().len(), 16);
}

on_every_backend! {
    without_create_a_database_without_the_tables_is_refused => uncreated;
    the_backlog_counts_pending_effects_and_dates_the_oldest => backlog;
    a_write_probe_tells_a_writable_database_from_a_read_only_one => writable;
}

/// A database of `backend` nobody migrated: its URL, and what keeps it alive.
fn fresh_database(backend: Backend, name: &str) -> (String, Option<tempfile::TempDir>) {
    match backend {
        Backend::SqliteMemory => ("sqlite::memory:".to_owned(), None),
        Backend::SqliteFile => {
            // An empty file: what `touch`, a truncation or a wrong path to a new file leave.
            let dir = tempfile::tempdir().unwrap();
            let file = dir.path().join(format!("{name}.db"));
            std::fs::write(&file, b"").unwrap();
            (format!("sqlite://{}?mode=rwc", file.display()), Some(dir))
        }
        #[cfg(feature = "postgres")]
        Backend::Postgres => {
            let cluster = hpp_testdb::Cluster::shared().unwrap_or_else(|error| panic!("{error}"));
            (cluster.create_database(name).unwrap(), None)
        }
    }
}

async fn uncreated(backend: Backend) {
    let (url, _dir) = fresh_database(backend, "uncreated");
    let no_create = StoreOptions {
        create: false,
        ..StoreOptions::default()
    };
    let store = Store::connect_with(&url, no_create.clone()).await.unwrap();
    let error = store.migrate().await.unwrap_err();
    assert!(
        matches!(error, StoreError::NotInitialized { .. }),
        "{error}"
    );
    assert!(
        error.to_string().contains("none of the store's tables"),
        "{error}"
    );
    assert!(store.check_writable().await.is_err(), "no tables, no write");
    if backend == Backend::SqliteMemory {
        return; // a memory database is new on every connection
    }
    store.close().await;
    // Created on purpose, then opened without `create`: the tables are there.
    let created = Store::connect(&url).await.unwrap();
    created.migrate().await.unwrap();
    created.close().await;
    let store = Store::connect_with(&url, no_create).await.unwrap();
    store.migrate().await.unwrap();
    store.check_writable().await.unwrap();
}

#[tokio::test]
async fn without_create_a_missing_sqlite_file_is_not_created() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("missing.db");
    let url = format!("sqlite://{}?mode=rwc", file.display());
    let no_create = StoreOptions {
        create: false,
        ..StoreOptions::default()
    };
    let error = Store::connect_with(&url, no_create).await.unwrap_err();
    assert!(
        error.to_string().starts_with("connecting to SQLite: "),
        "{error}"
    );
    assert!(!file.exists(), "the file was created");
    // With `create` (the default) the URL's mode=rwc creates it.
    Store::connect(&url).await.unwrap().migrate().await.unwrap();
    assert!(file.exists());
}

async fn backlog(backend: Backend) {
    let store = store(backend, "backlog").await;
    let empty = store.effect_backlog().await.unwrap();
    assert_eq!((empty.pending, empty.oldest_created_at), (0, None));
    for (id, ms) in [("a", 1_000), ("b", 2_000), ("c", 3_000)] {
        store
            .observe(id, &payload(id, obs(Status::Cancelled, ms)))
            .await
            .unwrap();
    }
    let lease = std::time::Duration::from_secs(60);
    let first = store.claim_effects("w", 1, lease).await.unwrap();
    store.complete_effect(&first[0]).await.unwrap();
    let effects = store.effects().await.unwrap();
    let pending: Vec<_> = effects.iter().filter(|e| !e.is_completed()).collect();
    assert_eq!(pending.len(), 2);
    let backlog = store.effect_backlog().await.unwrap();
    assert_eq!(backlog.pending, 2);
    let oldest = pending.iter().map(|e| e.created_at).min().unwrap();
    assert_eq!(backlog.oldest_created_at, Some(oldest));
    // A claimed effect is still pending until it is completed.
    store.claim_effects("w", 10, lease).await.unwrap();
    assert_eq!(store.effect_backlog().await.unwrap().pending, 2);
}

async fn writable(backend: Backend) {
    let store = store(backend, "writable").await;
    store.check_writable().await.unwrap();
    // The probe leaves nothing behind.
    assert!(store.unusable_deliveries().await.unwrap().is_empty());
    assert!(store.sessions().await.unwrap().is_empty());
    let read_only = match backend {
        Backend::SqliteMemory => return,
        Backend::SqliteFile => store.url.replace("mode=rwc", "mode=ro"),
        #[cfg(feature = "postgres")]
        Backend::Postgres => format!(
            "{}{}options=-c%20default_transaction_read_only%3Don",
            store.url,
            if store.url.contains('?') { '&' } else { '?' }
        ),
    };
    let read_only = Store::connect(&read_only).await.unwrap();
    assert!(
        read_only.callback_secret("x").await.unwrap().is_none(),
        "reads work"
    );
    let error = read_only.check_writable().await.unwrap_err();
    assert!(error.to_string().contains("read"), "{error}");
}
