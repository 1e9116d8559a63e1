//! What the merchant's tests share: a simulated world with its time compressed, the
//! merchant's timing scaled to it, and the checks of a run against the simulator's truth
//! and the merchant's database.
#![allow(dead_code, unreachable_pub)] // each test file uses part of it

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use hpp_merchant::{BatchConfig, EffectConfig, MerchantConfig};
use hpp_sim::{
    FaultConfig, OrderResult, RateLimits, SessionTruth, SimConfig, SimHandle, Simulator, Summary,
};
use hpp_status::Status;
use hpp_status::wire::ReportedStatus;
use hpp_store::{EffectKind, OrderState, ReadSchedule, Store};

/// The checkout token the tests' merchants require.
pub const CHECKOUT_TOKEN: &str = "test-checkout-token-0123456789";

/// Checkouts per second the tests' merchants take: the simulator is not Klarna, and its
/// time runs compressed.
pub const CHECKOUT_RATE: u32 = 1000;

/// A world: how fast time runs, and how long sessions and tokens live (world time).
#[derive(Clone, Copy, Debug)]
pub struct World {
    pub compression: f64,
    pub session_lifetime: Duration,
    pub token_lifetime: Duration,
}

impl World {
    /// Wall time of a world duration.
    pub fn wall(&self, world: Duration) -> Duration {
        world.div_f64(self.compression)
    }

    /// The simulator's configuration: hostile by default.
    pub fn sim_config(&self, faults: FaultConfig) -> SimConfig {
        let mut config = SimConfig {
            faults,
            // The reference merchant does not shape its traffic to Klarna's budgets yet.
            rate_limits: RateLimits::OFF,
            ..SimConfig::default()
        };
        config.time.compression = self.compression;
        config.time.session_lifetime = self.session_lifetime;
        config.time.token_lifetime = self.token_lifetime;
        config
    }

    /// The merchant's read schedule in wall time: a read every 20 world minutes (three
    /// per token lifetime of an hour), the last within 10 world minutes of expiry.
    pub fn read_schedule(&self) -> ReadSchedule {
        ReadSchedule {
            interval: self.wall(Duration::from_secs(20 * 60)),
            margin: self.wall(Duration::from_secs(10 * 60)),
            lease: self.wall(Duration::from_secs(2 * 60)),
        }
    }

    /// The batch: looks for due sessions four times per margin minus lease, so the last read
    /// falls inside the margin.
    pub fn batch(&self) -> BatchConfig {
        let schedule = self.read_schedule();
        BatchConfig {
            interval: (schedule.margin - schedule.lease) / 4,
            // The default: full claims (the batch claims again at once) happen in every run.
            limit: BatchConfig::default().limit,
            read_schedule: schedule,
        }
    }

    /// The effect worker: looks often; a lease of 5 world minutes (a crashed worker's
    /// order is placed by another well within the token's hour).
    pub fn effects(&self) -> EffectConfig {
        EffectConfig {
            interval: Duration::from_millis(20),
            // Small: full rounds (the worker goes on at once) happen in every run.
            batch_size: 4,
            lease: self
                .wall(Duration::from_secs(5 * 60))
                .max(Duration::from_millis(300)),
            // Retries from 10 world seconds, at most 2 world minutes apart.
            retry_min: self
                .wall(Duration::from_secs(10))
                .max(Duration::from_millis(10)),
            retry_max: self
                .wall(Duration::from_secs(120))
                .max(Duration::from_millis(100)),
        }
    }

    /// How long a call to Klarna may take: half the effect lease, so that no worker takes
    /// an order over while its call is under way; at most 10 s.
    pub fn klarna_timeout(&self) -> Duration {
        (self.effects().lease / 2).min(Duration::from_secs(10))
    }

    pub fn merchant_config(&self, database_url: String, klarna_url: &str) -> MerchantConfig {
        MerchantConfig {
            database_url,
            klarna_url: klarna_url.to_owned(),
            klarna_timeout: self.klarna_timeout(),
            batch: Some(self.batch()),
            effects: self.effects(),
            init_database: true,
            checkout_token: CHECKOUT_TOKEN.into(),
            checkout_rate: std::num::NonZeroU32::new(CHECKOUT_RATE).unwrap(),
            ..MerchantConfig::default()
        }
    }

    /// The same as flags of the `hpp-merchant` binary.
    pub fn merchant_args(&self, batch: bool) -> Vec<String> {
        let ms = |d: Duration| format!("{}ms", d.as_millis().max(1));
        let b = self.batch();
        let e = self.effects();
        let mut args = vec![
            "--init-database".into(),
            "--checkout-token".into(),
            CHECKOUT_TOKEN.into(),
            "--checkout-rate".into(),
            CHECKOUT_RATE.to_string(),
            "--effect-interval".into(),
            ms(e.interval),
            "--effect-batch".into(),
            e.batch_size.to_string(),
            "--effect-lease".into(),
            ms(e.lease),
            "--effect-retry-min".into(),
            ms(e.retry_min),
            "--effect-retry-max".into(),
            ms(e.retry_max),
            "--klarna-timeout".into(),
            ms(self.klarna_timeout()),
        ];
        if batch {
            args.extend([
                "--batch-interval".into(),
                ms(b.interval),
                "--batch-limit".into(),
                b.limit.to_string(),
                "--read-interval".into(),
                ms(b.read_schedule.interval),
                "--read-margin".into(),
                ms(b.read_schedule.margin),
                "--read-lease".into(),
                ms(b.read_schedule.lease),
            ]);
        } else {
            args.push("--no-batch".into());
        }
        args
    }
}

/// A small fast world for the service tests: sessions live 1.44 s, tokens 3.6 s.
pub const FAST: World = World {
    compression: 10_000.0,
    session_lifetime: Duration::from_secs(4 * 3600),
    token_lifetime: Duration::from_secs(10 * 3600),
};

pub async fn start_sim(config: SimConfig) -> SimHandle {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1:0 for the simulator");
    Simulator::new(config)
        .expect("a valid simulator configuration")
        .serve(listener)
        .await
        .expect("the simulator starts")
}

/// A SQLite file in a fresh temporary directory.
pub fn sqlite_url(dir: &tempfile::TempDir, name: &str) -> String {
    format!(
        "sqlite://{}?mode=rwc",
        dir.path().join(format!("{name}.db")).display()
    )
}

/// What a run came to, by the truth and by the database.
#[derive(Debug, Default)]
pub struct Checked {
    pub sessions: usize,
    pub completed_with_token: usize,
    pub completed_by_klarna: usize,
    pub orders_placed: u64,
    pub place_order_effects: usize,
    pub conflicts: usize,
    pub expired: usize,
    pub final_sessions: usize,
    /// The longest wall time from a session's `COMPLETED` to its order.
    pub slowest_order: Duration,
}

/// What the truth says of each session that owes an order and has none: when it completed,
/// until when its token was valid, its callbacks and reads.
fn owing(truth: &[SessionTruth]) -> Vec<String> {
    truth
        .iter()
        .filter(|session| session.owes_order() && session.orders_placed() == 0)
        .map(|session| {
            format!(
                "{}: history {:?}; token valid until {:?}; callbacks {:?}; reads {:?}; \
                 order attempts {:?}",
                session.session_id,
                session
                    .history
                    .iter()
                    .map(|change| format!("{} {}", change.status, change.updated_at))
                    .collect::<Vec<_>>(),
                session.token_valid_until.map(|t| t.to_string()),
                session
                    .events
                    .iter()
                    .map(|event| format!("{} {:?} {:?}", event.status, event.faults, event.outcome))
                    .collect::<Vec<_>>(),
                session.reads,
                session.orders,
            )
        })
        .collect()
}

/// The wall time from `COMPLETED` to the order placed with the token.
fn order_delay(session: &SessionTruth) -> Option<Duration> {
    let completed = session
        .history
        .iter()
        .rev()
        .find(|change| change.status == ReportedStatus::Known(Status::Completed))?;
    let placed = session
        .orders
        .iter()
        .find(|order| matches!(order.result, OrderResult::Placed { .. }))?;
    let from = jiff::Timestamp::try_from(completed.updated_at).ok()?;
    let to = jiff::Timestamp::try_from(placed.at).ok()?;
    Duration::try_from(to.duration_since(from)).ok()
}

/// Checks a settled run: the simulator's problems (double orders, second attempts, missed
/// orders, forged tokens acted on), and the database: one completed `PlaceOrder` effect for
/// each session that truly completed with a token and none for any other, every final
/// status stored as it truly is, every expired session last read before it expired (when
/// the batch ran), no conflict. `handed_out` are the sessions the merchant answered a
/// checkout for; the database may also hold sessions a killed instance registered without
/// answering.
pub async fn check_run(
    summary: &Summary,
    truth: &[SessionTruth],
    store: &Store,
    batch: bool,
) -> Checked {
    assert!(
        summary.problems().is_empty(),
        "problems: {:?}\n{summary}\nsessions owing an order: {:#?}",
        summary.problems(),
        owing(truth)
    );
    assert_eq!(summary.orders.forged_token, 0, "{summary}");
    assert_eq!(
        summary.callbacks.forged_acknowledged, 0,
        "a forged callback got a 2xx"
    );
    let effects = store.effects().await.expect("the effects");
    let sessions = store.sessions().await.expect("the sessions");
    let stored: BTreeMap<&str, &hpp_store::SessionRecord> = sessions
        .iter()
        .map(|record| (record.session_id.as_str(), record))
        .collect();
    let mut place_orders: BTreeMap<&str, usize> = BTreeMap::new();
    let mut by_klarna: BTreeSet<&str> = BTreeSet::new();
    let mut conflicts = 0;
    for effect in &effects {
        match &effect.kind {
            EffectKind::PlaceOrder { .. } => {
                assert!(effect.completed_at.is_some(), "effect not done: {effect:?}");
                *place_orders.entry(effect.session_id.as_str()).or_default() += 1;
            }
            EffectKind::OrderPlacedByKlarna { .. } => {
                assert!(effect.completed_at.is_some(), "effect not done: {effect:?}");
                by_klarna.insert(effect.session_id.as_str());
            }
            EffectKind::Conflict { .. } => conflicts += 1,
            EffectKind::CompletedWithoutReference | EffectKind::SessionEnded { .. } => {
                assert!(effect.completed_at.is_some(), "effect not done: {effect:?}");
            }
        }
    }
    let mut checked = Checked {
        sessions: truth.len(),
        orders_placed: summary.orders.placed,
        place_order_effects: place_orders.len(),
        conflicts,
        ..Checked::default()
    };
    for session in truth {
        let id = session.session_id.as_str();
        let record = stored.get(id);
        let orders = place_orders.get(id).copied().unwrap_or(0);
        if session.owes_order() {
            checked.completed_with_token += 1;
            checked.slowest_order = checked
                .slowest_order
                .max(order_delay(session).unwrap_or_default());
            assert_eq!(
                orders, 1,
                "session {id} completed with a token: {orders} PlaceOrder effects"
            );
            assert_eq!(
                session.orders_placed(),
                1,
                "session {id}: {:?}",
                session.orders
            );
        } else {
            assert_eq!(
                orders, 0,
                "session {id} ({}) has a PlaceOrder effect",
                session.lifecycle
            );
            assert_eq!(
                session.orders_placed(),
                0,
                "session {id}: {:?}",
                session.orders
            );
        }
        if session.lifecycle == Status::Completed && session.order_id.is_some() {
            checked.completed_by_klarna += 1;
            assert!(
                by_klarna.contains(id),
                "session {id}: Klarna's order not recorded"
            );
        }
        if session.lifecycle.is_final() {
            checked.final_sessions += 1;
            let record = record.unwrap_or_else(|| panic!("final session {id} not in the store"));
            assert_eq!(
                record.status(),
                Some(session.lifecycle),
                "session {id}: stored status"
            );
        } else {
            assert!(session.expired, "session {id} neither final nor expired");
            checked.expired += 1;
            if let Some(record) = record {
                assert!(
                    !record.status().is_some_and(Status::is_final),
                    "session {id} expired at {} but is stored as {:?}",
                    session.lifecycle,
                    record.status()
                );
                if batch {
                    let last = record.last_read_at.unwrap_or_else(|| {
                        panic!("expired session {id} was never read by the batch")
                    });
                    assert!(
                        last < session.expires_at,
                        "session {id} last read {last}, after it expired"
                    );
                }
            }
        }
    }
    assert_eq!(conflicts, 0, "conflicts surfaced: {conflicts}");
    checked
}

/// The counts per fault kind, for the report.
pub fn fault_counts(label: &str, summary: &Summary, wall: Duration) -> String {
    let c = &summary.callbacks;
    let r = &summary.reads;
    let o = &summary.orders;
    format!(
        "{label}: {} sessions in {:.1} s | callbacks: events {} sent {} retries {} lost {} \
         duplicated {} delayed {} empty_retry {} (empty bodies {}) answer_dropped {} \
         timeouts {} failed {} not_2xx {} forged {} (acknowledged {}) | reads: served {} \
         injected_errors {} slowed {} after_expiry {} | orders: tokens {} placed {} \
         retries_refused {} repeat {} double {} missed {} klarna_placed {} forged_token {} | \
         expired {} abandoned {}",
        summary.sessions,
        wall.as_secs_f64(),
        c.events,
        c.sent,
        c.retries,
        c.lost,
        c.duplicated,
        c.delayed,
        c.empty_retry,
        c.empty_bodies,
        c.answer_dropped,
        c.timeouts,
        c.failed,
        c.not_2xx,
        c.forged,
        c.forged_acknowledged,
        r.served,
        r.injected_errors,
        r.slowed,
        r.after_expiry,
        o.tokens_issued,
        o.placed,
        o.retries_refused,
        o.repeat_attempts,
        o.double_orders,
        o.missed,
        o.klarna_placed,
        o.forged_token,
        summary.expired,
        summary.abandoned,
    )
}

/// What the merchant's order record says, by state.
#[derive(Debug, Default)]
pub struct OrderRecord {
    pub placed: usize,
    pub refused: usize,
    pub unknown: usize,
    pub pending: usize,
}

/// Checks the merchant's order record (`hpp-merchant sessions`) against the truth: an order
/// recorded as placed is one Klarna placed, with that id; one recorded as refused is one
/// Klarna never placed; one recorded as unknown really is ambiguous (a call whose answer the
/// merchant never got).
pub async fn check_order_record(truth: &[SessionTruth], store: &Store) -> OrderRecord {
    let listed = hpp_merchant::report::session_orders(store)
        .await
        .expect("the order record");
    let mut record = OrderRecord::default();
    for session in &listed {
        let Some(truth) = truth.iter().find(|t| t.session_id == session.session_id) else {
            panic!(
                "{} is in the store, not in the simulator",
                session.session_id
            )
        };
        match &session.order {
            OrderState::Placed { order_id } => {
                record.placed += 1;
                let placed_by_merchant = truth.orders.iter().any(|order| {
                    matches!(&order.result, OrderResult::Placed { order_id: id } if id == order_id)
                });
                assert!(
                    placed_by_merchant || truth.order_id.as_deref() == Some(order_id),
                    "{}: recorded as placed ({order_id}), Klarna's truth: {:?}",
                    session.session_id,
                    truth.orders
                );
            }
            OrderState::Refused => {
                record.refused += 1;
                assert_eq!(
                    truth.orders_placed(),
                    0,
                    "{}: recorded as refused, but Klarna placed {:?}",
                    session.session_id,
                    truth.orders
                );
            }
            OrderState::Unknown => {
                record.unknown += 1;
                assert!(
                    truth.orders.iter().any(|order| order.answer_lost)
                        || truth
                            .orders
                            .iter()
                            .any(|order| matches!(order.result, OrderResult::Placed { .. })),
                    "{}: recorded as unknown, but no call of it lost an answer: {:?}",
                    session.session_id,
                    truth.orders
                );
            }
            OrderState::Pending => record.pending += 1,
            OrderState::None => {}
        }
    }
    record
}

/// The API calls and 429s by operation, and the order record, on one line.
pub fn call_counts(label: &str, summary: &Summary, orders: &OrderRecord) -> String {
    let calls: Vec<String> = summary
        .calls
        .iter()
        .map(|(operation, tally)| {
            format!(
                "{operation} {} (429: limit {}, storm {})",
                tally.calls, tally.rate_limited, tally.storm_refused
            )
        })
        .collect();
    format!(
        "{label}: calls: {} | orders: answers lost {}, double {}, missed {} | merchant's record: {orders:?}",
        calls.join(", "),
        summary.orders.answers_lost,
        summary.orders.double_orders,
        summary.orders.missed,
    )
}
