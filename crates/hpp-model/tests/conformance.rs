//! The model is the code: random walks of the model (the same actions, crashes as dropped
//! in-flight calls) replayed against the real `hpp-store`, on a SQLite file and on Postgres
//! (a throwaway cluster, crates/hpp-testdb: never skipped), comparing the database's rows
//! with the model's after every step. A change to the store's statements that the model does
//! not share fails here.
//!
//! Half of the walks are uniform; the other half hunt for the steps the fencing is for (see
//! [`Strategy::Hunt`]), and the test fails unless they reach each of them: without
//! `attempts = $2` in `begin_order_attempt`, `complete_effect` or `release_effect_for`, the
//! rows then differ.
//!
//! Time: the batch's `now` and `read_at` are the model's clock (a tick is ten minutes).
//! Effect leases are on the database's clock: the store takes them for an hour, and when the
//! model's clock ends a lease, the walk moves that row's `lease_until_us` two hours back, so
//! that the store's own statements (claims, the fencing of `begin_order_attempt`, complete and
//! release) meet an ended lease where the model does. The comparison is whether an effect is
//! leased, not until when.

use hpp_model::{Action, Answer, Config, EffKind, Fleet, State};
use hpp_status::Status;
use stateright::Model as _;

/// The calls to the store, in one place.
mod adapter {
    use std::time::Duration;

    use hpp_model::{Answer, Obs};
    use hpp_status::wire::{ReportedStatus, SessionResponse, Timestamp};
    use hpp_status::{Observation, Status};
    use hpp_store::{AttemptAnswer, Effect, ReadSchedule, Store, StoreError, StoreOptions};

    /// The model's tick 0.
    const BASE: i64 = 1_893_456_000; // 2030-01-01T00:00:00Z
    /// A tick, in seconds.
    const TICK: i64 = 600;
    pub const SESSION: &str = "s1";

    pub fn at(tick: u8) -> Timestamp {
        Timestamp::from_unix(BASE + i64::from(tick) * TICK, 0).unwrap()
    }

    pub fn tick(at: Timestamp) -> u8 {
        let (second, nanosecond) = at.unix();
        assert_eq!(nanosecond, 0);
        assert_eq!((second - BASE) % TICK, 0, "{at} is not on a tick");
        u8::try_from((second - BASE) / TICK).unwrap()
    }

    pub fn obs(seen: &Observation<Timestamp>) -> Obs {
        Obs {
            status: seen.status,
            at: tick(seen.updated_at),
        }
    }

    fn ticks(n: u8) -> Duration {
        Duration::from_secs(u64::from(n) * 600)
    }

    /// The store, with the model's read schedule.
    pub async fn connect(url: &str, timing: &hpp_model::Timing) -> Store {
        let options = StoreOptions {
            read_schedule: ReadSchedule {
                interval: ticks(timing.read_interval),
                margin: ticks(timing.read_margin),
                lease: ticks(timing.read_lease),
            },
            ..StoreOptions::default()
        };
        let store = Store::connect_with(url, options).await.unwrap();
        store.migrate().await.unwrap();
        store
    }

    pub struct Instance {
        pub worker: String,
        pub effect: Option<Effect>,
        pub call: Option<u32>,
    }

    pub fn payload(seen: Obs, expires_at: u8) -> SessionResponse {
        SessionResponse {
            session_id: Some(SESSION.into()),
            status: Some(ReportedStatus::Known(seen.status)),
            updated_at: Some(at(seen.at)),
            expires_at: Some(at(expires_at)),
            authorization_token: (seen.status == Status::Completed).then(|| "tok-1".into()),
            ..SessionResponse::default()
        }
    }

    pub async fn register(store: &Store, expires_at: u8) {
        store
            .register(SESSION, at(expires_at), "secret")
            .await
            .unwrap();
    }

    /// A callback's read, merged.
    pub async fn observe(store: &Store, seen: Obs, expires_at: u8) {
        store
            .observe(SESSION, &payload(seen, expires_at))
            .await
            .unwrap();
    }

    /// `due_for_read(now)`: whether the session was claimed.
    pub async fn due(store: &Store, now: u8) -> bool {
        let due = store.due_for_read(at(now), 10).await.unwrap();
        due.iter().any(|d| d.session_id == SESSION)
    }

    /// The batch's merge and record of one read, in one write.
    pub async fn observe_read(store: &Store, seen: Obs, read_at: u8, expires_at: u8) {
        store
            .observe_read(SESSION, &payload(seen, expires_at), at(read_at))
            .await
            .unwrap();
    }

    pub async fn claim(store: &Store, instance: &mut Instance) {
        let mut claimed = store
            .claim_effects(&instance.worker, 1, Duration::from_secs(3600))
            .await
            .unwrap();
        assert_eq!(claimed.len(), 1, "the model claimed an effect");
        instance.effect = claimed.pop();
    }

    /// What `begin_order_attempt` did.
    pub struct Began {
        /// The call was recorded (to be sent).
        pub sent: bool,
        /// The claim was lost, and the release the merchant then tries went through (it
        /// must not: the claim no longer holds the effect).
        pub released: bool,
    }

    /// `begin_order_attempt`; on a lost claim, the release the merchant then tries.
    pub async fn begin(store: &Store, instance: &mut Instance) -> Began {
        let effect = instance.effect.as_ref().unwrap();
        let key = format!("hpp-merchant-effect-{}", effect.id);
        match store
            .begin_order_attempt(effect, &key, &instance.worker)
            .await
        {
            Ok(call) => {
                instance.call = Some(call);
                Began {
                    sent: true,
                    released: false,
                }
            }
            Err(StoreError::LeaseLost { .. }) => {
                let released = match store.release_effect_for(effect, Duration::ZERO).await {
                    Ok(()) => true,
                    Err(StoreError::LeaseLost { .. }) => false,
                    Err(error) => panic!("{error}"),
                };
                instance.effect = None;
                Began {
                    sent: false,
                    released,
                }
            }
            Err(error) => panic!("{error}"),
        }
    }

    pub async fn answer(store: &Store, instance: &Instance, answer: Answer) {
        let effect = instance.effect.as_ref().unwrap();
        let answer = match answer {
            Answer::Placed => AttemptAnswer::Placed {
                order_id: "order-1".into(),
            },
            Answer::Refused => AttemptAnswer::Refused {
                detail: "404".into(),
            },
            Answer::Lost => AttemptAnswer::Lost {
                detail: "timed out".into(),
            },
        };
        store
            .answer_order_attempt(effect, instance.call.unwrap(), &answer)
            .await
            .unwrap();
    }

    /// `complete_effect`: whether it completed (a lost lease is not an error here).
    pub async fn complete(store: &Store, instance: &mut Instance) -> bool {
        let effect = instance.effect.take().unwrap();
        match store.complete_effect(&effect).await {
            Ok(()) => true,
            Err(StoreError::LeaseLost { .. }) => false,
            Err(error) => panic!("{error}"),
        }
    }

    pub async fn release(store: &Store, instance: &mut Instance) {
        let effect = instance.effect.take().unwrap();
        match store.release_effect_for(&effect, Duration::ZERO).await {
            Ok(()) => {}
            Err(error @ StoreError::LeaseLost { .. }) => eprintln!("release: {error}"),
            Err(error) => panic!("{error}"),
        }
    }
}

/// The model the walks follow: two instances, one fault, the model's leases.
fn conformance_model() -> Fleet {
    let mut config = Config::new(2, 1);
    config.symmetry = false; // the adapter's instances are the model's, by position
    Fleet::new(config)
}

/// The database under the store, to end leases when the model's clock does.
enum Raw {
    Sqlite(sqlx::SqlitePool),
    Postgres(sqlx::PgPool),
}

impl Raw {
    async fn connect(url: &str) -> Raw {
        if url.starts_with("sqlite:") {
            Raw::Sqlite(sqlx::SqlitePool::connect(url).await.unwrap())
        } else {
            Raw::Postgres(sqlx::PgPool::connect(url).await.unwrap())
        }
    }

    /// Ends the lease of the `index`th effect (by id): two hours back, past the store's hour.
    async fn end_lease(&self, index: usize) {
        const SQL: &str = "UPDATE hpp_effect SET lease_until_us = lease_until_us - 7200000000 \
            WHERE id = (SELECT id FROM hpp_effect ORDER BY id LIMIT 1 OFFSET $1)";
        let offset = i64::try_from(index).unwrap();
        match self {
            Raw::Sqlite(pool) => sqlx::query(SQL).bind(offset).execute(pool).await.map(drop),
            Raw::Postgres(pool) => sqlx::query(SQL).bind(offset).execute(pool).await.map(drop),
        }
        .unwrap();
    }
}

/// The late step of an instance whose claim was taken over, taken while the new claim holds
/// the lease and has not completed the effect: the only moment where the claim's number
/// (`attempts = $2` in the store's statements) is all that refuses it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Stale {
    /// `begin_order_attempt`.
    Begin,
    /// `complete_effect`.
    Complete,
    /// `release_effect_for`.
    Release,
}

impl Stale {
    /// The stale step `action` is in `state`, if it is one.
    fn of(state: &State, action: &Action) -> Option<Stale> {
        let (i, stale) = match *action {
            Action::Begin(i) => (i, Stale::Begin),
            Action::Complete(i) => (i, Stale::Complete),
            Action::Release(i) => (i, Stale::Release),
            _ => return None,
        };
        let (effect, claim, _) = state.instances[usize::from(i)].effect.holding()?;
        let row = &state.effects[usize::from(effect)];
        (row.attempts != claim && row.held_by(row.attempts, state.now)).then_some(stale)
    }
}

/// How many stale steps of each kind a walk took.
#[derive(Clone, Copy, Default, Debug)]
struct StaleSteps {
    begin: usize,
    complete: usize,
    release: usize,
}

impl StaleSteps {
    fn count(&mut self, stale: Stale) {
        match stale {
            Stale::Begin => self.begin += 1,
            Stale::Complete => self.complete += 1,
            Stale::Release => self.release += 1,
        }
    }

    fn add(&mut self, other: StaleSteps) {
        self.begin += other.begin;
        self.complete += other.complete;
        self.release += other.release;
    }
}

/// How a walk chooses among the enabled actions.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Strategy {
    /// The clock, faults and losses less often than the rest.
    Uniform,
    /// After a takeover, the frozen holder's late step first: the walk freezes an instance
    /// holding an effect at the step `aim` names (`Claimed`: before `begin_order_attempt`;
    /// `Completing`: before `complete_effect`; `Releasing`, after a lost answer: before
    /// `release_effect_for`), lets its lease end, has the other instance claim the effect,
    /// and then prefers the frozen instance's steps while the new claim holds it. Every
    /// choice is among the model's enabled actions, by the walk's seed; what the store
    /// answers is left to the comparison.
    Hunt(Stage),
}

/// Where a hunting walk freezes the holder.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Stage {
    Claimed,
    Completing,
    Releasing,
}

impl Strategy {
    /// The strategy of walk `n` of `walks`: the first half uniform, the rest hunting, aims
    /// in turn.
    fn of(n: u64, walks: u64) -> Strategy {
        if n <= walks / 2 {
            return Strategy::Uniform;
        }
        match n % 3 {
            0 => Strategy::Hunt(Stage::Claimed),
            1 => Strategy::Hunt(Stage::Completing),
            _ => Strategy::Hunt(Stage::Releasing),
        }
    }
}

/// A small deterministic generator (xorshift), so that a failing walk can be replayed by seed.
struct Walk {
    state: u64,
    strategy: Strategy,
}

impl Walk {
    fn new(seed: u64, strategy: Strategy) -> Walk {
        Walk {
            state: seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1,
            strategy,
        }
    }

    /// An action of `actions`, by the walk's strategy.
    fn choose(&mut self, state: &State, actions: &[Action]) -> Action {
        if let Strategy::Hunt(aim) = self.strategy
            && let Some(action) = self.hunt(aim, state, actions)
        {
            return action;
        }
        self.uniform(state, actions)
    }

    /// The hunting walk's preference, if it has one here (three times in four).
    fn hunt(&mut self, aim: Stage, state: &State, actions: &[Action]) -> Option<Action> {
        let prefer = |walk: &mut Walk, wanted: &[&Action]| -> Option<Action> {
            (!wanted.is_empty() && walk.pick(4) != 0)
                .then(|| wanted[walk.pick(wanted.len())].clone())
        };
        let frozen = state
            .instances
            .iter()
            .enumerate()
            .find_map(|(n, i)| Some((n, i.effect.holding()?)).filter(|_| i.frozen));
        if let Some((n, (effect, claim, _))) = frozen {
            let n = u8::try_from(n).unwrap();
            let row = &state.effects[usize::from(effect)];
            let mine = |a: &&Action| actor(a) == Some(n) && !a.is_fault();
            let wanted: Vec<&Action> = if row.attempts != claim {
                if !row.held_by(row.attempts, state.now) {
                    return None; // the new claim is over: nothing left to hunt
                }
                // Taken over, the new claim holding it: the frozen holder's late steps.
                actions.iter().filter(mine).collect()
            } else if row.claimable(state.now) {
                // Its lease ended: the other instance claims it.
                actions
                    .iter()
                    .filter(|a| matches!(a, Action::Claim(j) if *j != n))
                    .collect()
            } else {
                // Not yet: the clock, or anything but the frozen holder's steps.
                let tick: Vec<&Action> = actions.iter().filter(|a| **a == Action::Tick).collect();
                if tick.is_empty() {
                    actions.iter().filter(|a| !mine(a)).collect()
                } else {
                    tick
                }
            };
            return prefer(self, &wanted);
        }
        // Reach the aimed step (a lost answer first, for a release), then freeze there.
        let at_aim = |i: &hpp_model::Instance| {
            !i.frozen
                && matches!(
                    (aim, i.effect),
                    (Stage::Claimed, hpp_model::EffectPc::Claimed { .. })
                        | (Stage::Completing, hpp_model::EffectPc::Completing { .. })
                        | (Stage::Releasing, hpp_model::EffectPc::Releasing { .. })
                )
        };
        // A create order call is what a begin or a release needs: Klarna's session completes.
        let order = aim != Stage::Completing;
        let wanted: Vec<&Action> = actions
            .iter()
            .filter(|a| match a {
                Action::Freeze(i) => at_aim(&state.instances[usize::from(*i)]),
                Action::Call(_, lost) => *lost && aim == Stage::Releasing,
                Action::Klarna(to) => order && matches!(to, Status::InProgress | Status::Completed),
                _ => false,
            })
            .collect();
        if !wanted.is_empty() {
            return prefer(self, &wanted);
        }
        // Keep the one fault for the aimed freeze.
        let spare: Vec<Action> = actions
            .iter()
            .filter(|a| !matches!(a, Action::Crash(_) | Action::Freeze(_)))
            .cloned()
            .collect();
        (!spare.is_empty() && spare.len() < actions.len()).then(|| self.uniform(state, &spare))
    }

    /// An action of `actions`: the clock, faults and losses less often than the rest, so
    /// that walks reach completions and orders before the clock runs out.
    fn uniform(&mut self, state: &State, actions: &[Action]) -> Action {
        // A frozen instance stalls: the clock runs and the other instance works (its lease
        // ends, the effect is claimed again) before the frozen one takes its late step.
        if let Some(frozen) = state.instances.iter().position(|i| i.frozen) {
            let frozen = u8::try_from(frozen).unwrap();
            if actions.contains(&Action::Tick) && self.pick(2) == 0 {
                return Action::Tick;
            }
            let others: Vec<&Action> = actions
                .iter()
                .filter(|a| actor(a) != Some(frozen))
                .collect();
            if !others.is_empty() && self.pick(4) != 0 {
                return others[self.pick(others.len())].clone();
            }
        }
        let rare = |a: &Action| {
            matches!(
                a,
                Action::Tick | Action::Lose(_) | Action::Crash(_) | Action::Freeze(_)
            )
        };
        // Klarna's session completes more often than a uniform choice of its steps would.
        if actions.contains(&Action::Klarna(Status::Completed)) && self.pick(2) == 0 {
            return Action::Klarna(Status::Completed);
        }
        // An instance frozen past its lease is what the fencing is for: freeze one often
        // enough that walks reach takeovers and a frozen holder's late calls.
        if let Some(freeze) = actions.iter().find(|a| matches!(a, Action::Freeze(_)))
            && self.pick(4) == 0
        {
            return freeze.clone();
        }
        let common: Vec<&Action> = actions.iter().filter(|a| !rare(a)).collect();
        if common.is_empty() || self.pick(6) == 0 {
            actions[self.pick(actions.len())].clone()
        } else {
            common[self.pick(common.len())].clone()
        }
    }

    fn pick(&mut self, n: usize) -> usize {
        self.state ^= self.state << 13;
        self.state ^= self.state >> 7;
        self.state ^= self.state << 17;
        usize::try_from(self.state % u64::try_from(n).unwrap()).unwrap()
    }
}

/// The instance whose step `action` is, if it is one's.
fn actor(action: &Action) -> Option<u8> {
    match *action {
        Action::BatchClaim(i, _)
        | Action::BatchMerge(i)
        | Action::BatchEffects(i)
        | Action::WebEffects(i)
        | Action::Claim(i)
        | Action::Begin(i)
        | Action::Call(i, _)
        | Action::RecordAnswer(i)
        | Action::Complete(i)
        | Action::Release(i)
        | Action::Crash(i)
        | Action::Freeze(i)
        | Action::Restart(i) => Some(i),
        Action::Tick
        | Action::Klarna(_)
        | Action::Deliver(_)
        | Action::Duplicate(_)
        | Action::Lose(_) => None,
    }
}

fn kind(kind: &hpp_store::EffectKind) -> EffKind {
    match kind {
        hpp_store::EffectKind::PlaceOrder { .. } => EffKind::PlaceOrder,
        hpp_store::EffectKind::SessionEnded { status } => EffKind::SessionEnded(*status),
        hpp_store::EffectKind::Conflict { kept, rejected, .. } => EffKind::Conflict {
            kept: adapter::obs(kept),
            rejected: adapter::obs(rejected),
        },
        other => panic!("the model records no {other:?}"),
    }
}

/// The database's rows, as the model writes them.
async fn compare(store: &hpp_store::Store, s: &State, context: &str) {
    let sessions = store.sessions().await.unwrap();
    assert_eq!(sessions.len(), 1, "{context}");
    let row = &sessions[0];
    assert_eq!(
        row.tracker.latest().map(adapter::obs),
        s.session.held,
        "held, {context}"
    );
    assert_eq!(
        row.last_read_at.map(adapter::tick),
        s.session.last_read_at,
        "last_read_at, {context}"
    );
    assert_eq!(
        row.next_read_at.map(adapter::tick),
        s.session.next_read_at,
        "next_read_at, {context}"
    );
    let effects = store.effects().await.unwrap();
    // Leases are an hour or none (a release sets the database's now, to the microsecond):
    // a minute ahead tells them apart whatever the clocks' resolutions.
    let now = hpp_status::wire::Timestamp::now()
        .checked_add(std::time::Duration::from_secs(60))
        .unwrap();
    let stored: Vec<_> = effects
        .iter()
        .map(|e| {
            (
                kind(&e.kind),
                u8::try_from(e.attempt).unwrap(),
                e.is_completed(),
                e.lease_until.is_some_and(|until| until > now),
            )
        })
        .collect();
    let modelled: Vec<_> = s
        .effects
        .iter()
        .map(|e| {
            (
                e.kind,
                e.attempts,
                e.completed,
                e.lease_until.is_some_and(|until| until > s.now),
            )
        })
        .collect();
    assert_eq!(stored, modelled, "effects, {context}");
    let first_id = effects.first().map_or(0, |e| e.id);
    let calls: Vec<_> = store
        .order_attempts(None)
        .await
        .unwrap()
        .iter()
        .map(|a| {
            (
                u8::try_from(a.effect_id - first_id).unwrap(),
                u8::try_from(a.claim).unwrap(),
                a.answer.as_ref().map(|answer| match answer {
                    hpp_store::AttemptAnswer::Placed { .. } => Answer::Placed,
                    hpp_store::AttemptAnswer::Refused { .. } => Answer::Refused,
                    hpp_store::AttemptAnswer::Lost { .. } => Answer::Lost,
                    other => panic!("the model answers no {other:?}"),
                }),
            )
        })
        .collect();
    let modelled: Vec<_> = s
        .attempts
        .iter()
        .map(|a| (a.effect, a.claim, a.answer))
        .collect();
    assert_eq!(calls, modelled, "order attempts, {context}");
}

/// What a walk reached.
#[derive(Default)]
struct Reached {
    /// Steps compared.
    steps: usize,
    /// Whether an effect was claimed again after its lease ended.
    took_over: bool,
    /// The stale steps taken (each compared).
    stale: StaleSteps,
}

/// One walk of up to `steps` steps from seed `seed`, by `strategy`, on the store at `url`.
async fn walk(url: &str, seed: u64, strategy: Strategy, steps: usize) -> Reached {
    let model = conformance_model();
    let timing = model.config.timing;
    let store = adapter::connect(url, &timing).await;
    let raw = Raw::connect(url).await;
    adapter::register(&store, timing.expires_at).await;
    let mut instances: Vec<adapter::Instance> = (0..model.config.instances)
        .map(|i| adapter::Instance {
            worker: format!("w{seed}-{i}"),
            effect: None,
            call: None,
        })
        .collect();
    let mut state = model.initial();
    let mut rng = Walk::new(seed, strategy);
    let mut reached = Reached::default();
    for step in 0..steps {
        let mut actions = Vec::new();
        model.actions(&state, &mut actions);
        if actions.is_empty() {
            break;
        }
        let action = rng.choose(&state, &actions);
        let stale = Stale::of(&state, &action);
        let next = model.next_state(&state, action.clone()).unwrap();
        let late = stale.map_or(String::new(), |stale| {
            format!(" (late {stale:?} of a claim taken over)")
        });
        let context = format!("walk {seed} ({strategy:?}), step {step}: {action:?}{late}");
        // What `begin_order_attempt` did, checked against the model after the rows.
        let mut began = None;
        let e = timing.expires_at;
        match action {
            Action::Tick
            | Action::Klarna(_)
            | Action::Duplicate(_)
            | Action::Lose(_)
            | Action::Call(..)
            | Action::Freeze(_)
            | Action::Restart(_) => {}
            Action::Deliver(seen) => adapter::observe(&store, seen, e).await,
            Action::BatchClaim(_, _) => {
                assert!(adapter::due(&store, state.now).await, "{context}");
            }
            Action::BatchMerge(i) => {
                let hpp_model::BatchPc::Merge { read, at } =
                    state.instances[usize::from(i)].batch.clone()
                else {
                    unreachable!()
                };
                adapter::observe_read(&store, read, at, e).await;
            }
            Action::Claim(i) => adapter::claim(&store, &mut instances[usize::from(i)]).await,
            Action::Begin(i) => {
                let did = adapter::begin(&store, &mut instances[usize::from(i)]).await;
                let modelled = matches!(
                    next.instances[usize::from(i)].effect,
                    hpp_model::EffectPc::Calling { .. }
                );
                began = Some((did, modelled));
            }
            Action::RecordAnswer(i) => {
                let hpp_model::EffectPc::Answered { answer, .. } =
                    state.instances[usize::from(i)].effect
                else {
                    unreachable!()
                };
                adapter::answer(&store, &instances[usize::from(i)], answer).await;
            }
            Action::Complete(i) => {
                adapter::complete(&store, &mut instances[usize::from(i)]).await;
            }
            Action::Release(i) => adapter::release(&store, &mut instances[usize::from(i)]).await,
            Action::Crash(i) => {
                // Whatever it held is dropped with it.
                let instance = &mut instances[usize::from(i)];
                instance.effect = None;
                instance.call = None;
            }
            Action::BatchEffects(_) | Action::WebEffects(_) => {
                unreachable!("only the planted defect takes it")
            }
        }
        // The model's clock ended leases: end them on the database's.
        for (index, (before, after)) in state.effects.iter().zip(&next.effects).enumerate() {
            let ended = |e: &hpp_model::EffectRow, now: u8| e.lease_until.is_some_and(|l| l <= now);
            if !ended(before, state.now) && ended(after, next.now) {
                raw.end_lease(index).await;
            }
        }
        // Non-order effects: the model claims and completes; the adapter claimed above.
        state = next;
        compare(&store, &state, &context).await;
        if let Some((did, modelled)) = began {
            assert_eq!(did.sent, modelled, "create order call sent, {context}");
            assert!(
                !did.released,
                "the release of a lost claim went through, {context}"
            );
        }
        reached.steps += 1;
        if let Some(stale) = stale {
            reached.stale.count(stale);
        }
    }
    reached.took_over = state.effects.iter().any(|e| e.attempts >= 2);
    store.close().await;
    reached
}

/// Walks: the first half uniform, the second hunting (see [`Strategy::of`]).
const WALKS: u64 = 64;
const STEPS: usize = 150;

/// Every walk on the store, each on a database of its own (`url_for(walk)`); then whether
/// they reached what they must compare.
async fn walks(url_for: impl Fn(u64) -> String) {
    let mut steps = 0;
    let mut takeovers = 0;
    let mut stale = StaleSteps::default();
    for seed in 1..=WALKS {
        let reached = walk(&url_for(seed), seed, Strategy::of(seed, WALKS), STEPS).await;
        steps += reached.steps;
        takeovers += usize::from(reached.took_over);
        stale.add(reached.stale);
    }
    println!(
        "{WALKS} walks, {steps} steps compared, {takeovers} with a takeover, late steps of a \
         claim taken over while the new claim held the effect: {stale:?}"
    );
    assert!(steps > usize::try_from(WALKS).unwrap() * 10);
    // Leases end on the database's clock where the model's end them: some walks see an
    // effect claimed again.
    assert!(takeovers > 0, "no walk reached a takeover");
    // And the hunting walks take the steps that only the claim's number refuses: without
    // `attempts = $2` in a statement, the store would take them and the rows would differ.
    assert!(
        stale.begin > 0 && stale.complete > 0 && stale.release > 0,
        "the walks did not reach every late step of a claim taken over: {stale:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_store_on_sqlite_follows_the_model() {
    let dir = tempfile::tempdir().unwrap();
    walks(|seed| {
        format!(
            "sqlite://{}?mode=rwc",
            dir.path().join(format!("walk-{seed}.db")).display()
        )
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_store_on_postgres_follows_the_model() {
    let cluster = hpp_testdb::Cluster::shared().unwrap_or_else(|error| panic!("{error}"));
    walks(|seed| {
        cluster
            .create_database(&format!("model_walk_{seed}"))
            .unwrap()
    })
    .await;
}

/// The walks reach what they must compare: an order placed, a call lost, a conflict.
#[test]
fn the_walks_reach_orders_and_conflicts() {
    let model = conformance_model();
    let (mut placed, mut lost, mut conflict) = (false, false, false);
    for seed in 1..=WALKS {
        let mut state = model.initial();
        let mut rng = Walk::new(seed, Strategy::of(seed, WALKS));
        for _ in 0..STEPS {
            let mut actions = Vec::new();
            model.actions(&state, &mut actions);
            if actions.is_empty() {
                break;
            }
            let action = rng.choose(&state, &actions);
            state = model.next_state(&state, action).unwrap();
        }
        placed |= state
            .attempts
            .iter()
            .any(|a| a.answer == Some(Answer::Placed));
        lost |= state
            .attempts
            .iter()
            .any(|a| a.answer == Some(Answer::Lost));
        conflict |= state
            .effects
            .iter()
            .any(|e| matches!(e.kind, EffKind::Conflict { .. }));
    }
    assert!(
        placed && lost && conflict,
        "placed {placed}, lost {lost}, conflict {conflict}"
    );
}
