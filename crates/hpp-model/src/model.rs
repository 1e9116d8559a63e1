//! The actions and how each changes the state: the store's statements as the SQL writes
//! them, the merchant's steps as `hpp-merchant`'s `work.rs` takes them, Klarna, the
//! callbacks, the clock and the faults.

use hpp_status::{Outcome, STEPS, Status, Tracker};
use stateright::{Model, Property};

use crate::config::{Bug, Config};
use crate::state::{
    Answer, AttemptRow, BatchPc, EffKind, EffectPc, EffectRow, Ghost, Instance, Klarna, Obs,
    SessionRow, State, Token,
};

/// One step of the system.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub enum Action {
    /// The clock moves on one tick.
    Tick,
    /// Klarna's session takes a step (a row of `STEPS`) to this status; its callback leaves.
    Klarna(Status),
    /// A callback arrives: the read it caused is merged (`observe`) by an instance.
    Deliver(Obs),
    /// A callback is delivered twice.
    Duplicate(Obs),
    /// A callback is lost.
    Lose(Obs),
    /// The batch of instance `i` claims the session (`due_for_read`) and reads it; `true`:
    /// the read answers the anomaly (a WAITING dated at the end of time, from no legal
    /// history), once.
    BatchClaim(u8, bool),
    /// It merges what it read and records the read: one step, as `observe_read` does it in
    /// one write.
    BatchMerge(u8),
    /// (Bug `EffectSecondTx`) it records the merge's effects, and the read.
    BatchEffects(u8),
    /// (Bug `EffectSecondTx`) a callback's effects are recorded by instance `i`.
    WebEffects(u8),
    /// The effect loop of instance `i` claims the first claimable effect (`claim_effects`).
    Claim(u8),
    /// It records the create order call before sending it (`begin_order_attempt`).
    Begin(u8),
    /// Its call reaches Klarna; `lost`: the answer never comes back.
    Call(u8, bool),
    /// It records the answer (`answer_order_attempt`).
    RecordAnswer(u8),
    /// It completes the effect (`complete_effect`).
    Complete(u8),
    /// It gives the effect back for a retry (`release_effect_for`).
    Release(u8),
    /// Instance `i` dies: whatever it was doing is dropped.
    Crash(u8),
    /// Instance `i` freezes: its work under way takes as long as it takes.
    Freeze(u8),
    /// A supervisor restarts instance `i`.
    Restart(u8),
}

impl Action {
    /// Whether it is a fault or a callback's mishap: what a quiescent state may still allow.
    #[must_use]
    pub fn is_fault(&self) -> bool {
        matches!(
            self,
            Action::Crash(_) | Action::Freeze(_) | Action::Duplicate(_) | Action::Lose(_)
        )
    }
}

/// The fleet protocol under one [`Config`].
#[derive(Clone, Debug)]
pub struct Fleet {
    /// The configuration.
    pub config: Config,
}

impl Fleet {
    /// The model of `config`.
    #[must_use]
    pub fn new(config: Config) -> Fleet {
        Fleet { config }
    }

    /// The one initial state: the session registered and WAITING, nothing merged yet.
    #[must_use]
    pub fn initial(&self) -> State {
        State {
            now: 0,
            klarna: Klarna {
                history: vec![Obs {
                    status: Status::Waiting,
                    at: 0,
                }],
                token: None,
                orders: 0,
            },
            in_flight: Vec::new(),
            session: SessionRow::default(),
            effects: Vec::new(),
            attempts: Vec::new(),
            instances: (0..self.config.instances)
                .map(|_| Instance {
                    up: true,
                    frozen: false,
                    batch: BatchPc::Idle,
                    effect: EffectPc::Idle,
                    web: None,
                    faulted_since_learned: false,
                })
                .collect(),
            ghost: Ghost::default(),
        }
    }

    /// Whether the batch may claim the session now (`due_for_read`'s condition).
    #[must_use]
    pub fn due(&self, s: &State) -> bool {
        !s.session.is_final
            && self.config.timing.expires_at > s.now
            && s.session.next_read_at.is_none_or(|n| n <= s.now)
    }

    /// The first effect `claim_effects` would claim now.
    #[must_use]
    pub fn claimable(&self, s: &State) -> Option<usize> {
        s.effects.iter().position(|e| e.claimable(s.now))
    }

    /// Whether the clock may move on: nobody running has work that must happen first (a
    /// due session, a claimable effect, a restart), and no running instance would overrun
    /// the time its work takes (a create order call, a read within its lease).
    #[must_use]
    pub fn may_tick(&self, s: &State) -> bool {
        let t = &self.config.timing;
        if s.now >= t.end {
            return false;
        }
        let next = s.now + 1;
        for instance in &s.instances {
            if !instance.up {
                return false; // restarted within the tick
            }
            if instance.frozen {
                continue;
            }
            if instance.web.is_some() {
                return false;
            }
            match &instance.batch {
                BatchPc::Idle => {
                    if self.due(s) {
                        return false;
                    }
                }
                BatchPc::Merge { at, .. } | BatchPc::Effects { at, .. } => {
                    if next > at + t.read_lease - 1 {
                        return false;
                    }
                }
            }
            match instance.effect.holding() {
                None => {
                    if self.claimable(s).is_some() {
                        return false;
                    }
                }
                Some((effect, _, at)) => {
                    // A create order call takes up to `call`; releasing a cart or logging a
                    // conflict, no time (the real loop runs effects side by side).
                    let takes = match s.effects[usize::from(effect)].kind {
                        EffKind::PlaceOrder => t.call,
                        EffKind::SessionEnded(_) | EffKind::Conflict { .. } => 0,
                    };
                    if next > at + takes {
                        return false;
                    }
                }
            }
        }
        true
    }

    /// The first running instance free to handle a callback.
    fn web_instance(&self, s: &State) -> Option<usize> {
        s.instances.iter().position(|i| i.up && i.web.is_none())
    }

    /// The store's merge of `seen` (`observe`): the upsert by precedence key, then the
    /// outcome and effects as the real core's `Tracker` classifies them against the row
    /// version the statement compared with. Returns the effects to record.
    fn merge(&self, s: &mut State, seen: Obs) -> Vec<EffKind> {
        let before = s.session.held;
        // The statement: `excluded.precedence_key > precedence_key`, byte-wise.
        let replace = match before {
            None => true,
            Some(held) => {
                self.config.has(Bug::ArrivalOrder) || seen.key().as_bytes() > held.key().as_bytes()
            }
        };
        if replace {
            s.session.held = Some(seen);
        }
        s.session.is_final |= seen.status.is_final();
        // settle(): a tracker holding exactly the row version compared against.
        let mut tracker = Tracker::new();
        if let Some(held) = before {
            tracker.observe(held.core());
        }
        let outcome = tracker.observe(seen.core());
        let conflict = match outcome {
            Outcome::Conflict { kept, rejected, .. } => Some(EffKind::Conflict {
                kept: Obs::from_core(kept),
                rejected: Obs::from_core(rejected),
            }),
            _ => None,
        };
        let was_final = before.is_some_and(|held| held.status.is_final());
        let effects: Vec<EffKind> = match (outcome.became_final(), was_final) {
            (true, false) => {
                let first = if seen.status == Status::Completed {
                    EffKind::PlaceOrder
                } else {
                    EffKind::SessionEnded(seen.status)
                };
                std::iter::once(first).chain(conflict).collect()
            }
            _ => conflict.into_iter().collect(),
        };
        // The ghost fold of everything merged, by the core.
        let mut fold = Tracker::new();
        if let Some(delivered) = s.ghost.delivered {
            fold.observe(delivered.core());
        }
        fold.observe(seen.core());
        s.ghost.delivered = fold.latest().copied().map(Obs::from_core);
        if s.ghost.learned_at.is_none()
            && s.session
                .held
                .is_some_and(|h| h.status == Status::Completed)
        {
            s.ghost.learned_at = Some(s.now);
            // An instance frozen or down when the store learns cannot be counted on.
            for instance in &mut s.instances {
                instance.faulted_since_learned = instance.frozen || !instance.up;
            }
        }
        effects
    }

    /// `INSERT INTO hpp_effect ... ON CONFLICT DO NOTHING`: one effect per session that is
    /// not a conflict, each conflict once.
    fn record_effects(s: &mut State, effects: &[EffKind]) {
        for &kind in effects {
            let exists = s.effects.iter().any(|e| match (e.kind, kind) {
                (EffKind::Conflict { .. }, EffKind::Conflict { .. }) => e.kind == kind,
                (EffKind::Conflict { .. }, _) | (_, EffKind::Conflict { .. }) => false,
                _ => true,
            });
            if !exists {
                s.effects.push(EffectRow {
                    kind,
                    attempts: 0,
                    lease_until: None,
                    completed: false,
                    abandoned: false,
                });
            }
        }
    }

    /// A merge and its effects: in one transaction, or (bug) the effects left for later.
    fn merge_and_record(&self, s: &mut State, seen: Obs) -> Option<Vec<EffKind>> {
        let effects = self.merge(s, seen);
        if self.config.has(Bug::EffectSecondTx) && !effects.is_empty() {
            Some(effects)
        } else {
            Fleet::record_effects(s, &effects);
            None
        }
    }

    /// `record_read(read_at)`: the schedule follows the latest read; the last read is due
    /// `read_margin` before expiry.
    fn record_read(&self, s: &mut State, read_at: u8) {
        let t = &self.config.timing;
        let last = s.session.last_read_at.map_or(read_at, |l| l.max(read_at));
        s.session.last_read_at = Some(last);
        let last_due = t.expires_at - t.read_margin;
        s.session.next_read_at = Some(if last < last_due {
            (last + t.read_interval).min(last_due)
        } else {
            t.expires_at
        });
    }

    fn fault(s: &mut State, i: usize) {
        s.ghost.faults += 1;
        if s.ghost.learned_at.is_some() {
            s.ghost.faults_since_learned += 1;
            s.instances[i].faulted_since_learned = true;
        }
        if let Some((effect, claim, _)) = s.instances[i].effect.holding() {
            let row = &mut s.effects[usize::from(effect)];
            if row.kind == EffKind::PlaceOrder {
                s.ghost.retry_forced = true;
            }
            if row.attempts == claim {
                row.abandoned = true;
            }
        }
    }

    /// After a step of instance `i`: a frozen instance with nothing left to do runs again.
    fn settle(s: &mut State, i: usize) {
        if !s.instances[i].busy() {
            s.instances[i].frozen = false;
        }
    }
}

fn remove_one(v: &mut Vec<Obs>, o: Obs) -> bool {
    match v.iter().position(|x| *x == o) {
        Some(p) => {
            v.remove(p);
            true
        }
        None => false,
    }
}

impl Model for Fleet {
    type State = State;
    type Action = Action;

    fn init_states(&self) -> Vec<State> {
        vec![self.initial()]
    }

    fn actions(&self, s: &State, actions: &mut Vec<Action>) {
        let c = &self.config;
        if self.may_tick(s) {
            actions.push(Action::Tick);
        }
        let current = s.klarna.current();
        let steps = u8::try_from(s.klarna.history.len() - 1).unwrap_or(u8::MAX);
        if s.now < c.timing.expires_at && current.at < s.now && steps < c.klarna_steps {
            for step in STEPS.iter().filter(|step| step.from == current.status) {
                actions.push(Action::Klarna(step.to));
            }
        }
        let mut seen_in_flight: Vec<Obs> = Vec::new();
        for &o in &s.in_flight {
            if seen_in_flight.contains(&o) {
                continue;
            }
            seen_in_flight.push(o);
            if self.web_instance(s).is_some() {
                actions.push(Action::Deliver(o));
            }
            if s.ghost.duplicates < c.duplicates {
                actions.push(Action::Duplicate(o));
            }
            actions.push(Action::Lose(o));
        }
        for (n, instance) in s.instances.iter().enumerate() {
            let i = u8::try_from(n).unwrap_or(u8::MAX);
            if !instance.up {
                actions.push(Action::Restart(i));
                continue;
            }
            match &instance.batch {
                BatchPc::Idle => {
                    if !instance.frozen && self.due(s) {
                        actions.push(Action::BatchClaim(i, false));
                        if c.anomaly && !s.ghost.anomaly {
                            actions.push(Action::BatchClaim(i, true));
                        }
                    }
                }
                BatchPc::Merge { .. } => actions.push(Action::BatchMerge(i)),
                BatchPc::Effects { .. } => actions.push(Action::BatchEffects(i)),
            }
            if instance.web.is_some() {
                actions.push(Action::WebEffects(i));
            }
            match instance.effect {
                EffectPc::Idle => {
                    if !instance.frozen && self.claimable(s).is_some() {
                        actions.push(Action::Claim(i));
                    }
                }
                EffectPc::Claimed { .. } => actions.push(Action::Begin(i)),
                EffectPc::Calling { .. } => {
                    actions.push(Action::Call(i, false));
                    if s.ghost.lost < c.lost_answers {
                        actions.push(Action::Call(i, true));
                    }
                }
                EffectPc::Answered { .. } => actions.push(Action::RecordAnswer(i)),
                EffectPc::Completing { .. } => actions.push(Action::Complete(i)),
                EffectPc::Releasing { .. } => actions.push(Action::Release(i)),
            }
            if s.ghost.faults < c.faults {
                actions.push(Action::Crash(i));
                if instance.busy() && !instance.frozen {
                    actions.push(Action::Freeze(i));
                }
            }
        }
    }

    #[allow(clippy::too_many_lines)] // one match: every action in one place
    fn next_state(&self, last: &State, action: Action) -> Option<State> {
        let c = &self.config;
        let t = &c.timing;
        let mut s = last.clone();
        let now = s.now;
        match action {
            Action::Tick => s.now += 1,
            Action::Klarna(status) => {
                let seen = Obs { status, at: now };
                s.klarna.history.push(seen);
                if status == Status::Completed {
                    s.klarna.token = Some(Token {
                        expires: now + t.token_ttl,
                        used: false,
                        calls: 0,
                    });
                }
                s.in_flight.push(seen);
                s.in_flight.sort();
            }
            Action::Deliver(o) => {
                remove_one(&mut s.in_flight, o);
                let i = self.web_instance(&s)?;
                if let Some(pending) = self.merge_and_record(&mut s, o) {
                    s.instances[i].web = Some(pending);
                }
            }
            Action::Duplicate(o) => {
                s.ghost.duplicates += 1;
                s.in_flight.push(o);
                s.in_flight.sort();
            }
            Action::Lose(o) => {
                remove_one(&mut s.in_flight, o);
            }
            Action::BatchClaim(i, anomalous) => {
                let i = usize::from(i);
                // Another instance reading the session under a claim that has not ended.
                if s.instances.iter().enumerate().any(|(j, other)| {
                    j != i
                        && match &other.batch {
                            BatchPc::Idle => false,
                            BatchPc::Merge { at, .. } | BatchPc::Effects { at, .. } => {
                                at + t.read_lease > now
                            }
                        }
                }) && s.ghost.faults == 0
                {
                    // (After a freeze, a late `record_read` of the frozen reader reschedules
                    // the session under another's claim: one extra read, found by this
                    // model; see docs/FLEET.md.)
                    s.ghost.double_read = true;
                }
                if !c.has(Bug::BatchWithoutClaim) {
                    s.session.next_read_at = Some(now + t.read_lease);
                }
                let read = if anomalous {
                    s.ghost.anomaly = true;
                    Obs {
                        status: Status::Waiting,
                        at: t.end,
                    }
                } else {
                    s.klarna.current()
                };
                s.instances[i].batch = BatchPc::Merge { read, at: now };
            }
            Action::BatchMerge(i) => {
                let i = usize::from(i);
                let BatchPc::Merge { read, at } = s.instances[i].batch else {
                    return None;
                };
                match self.merge_and_record(&mut s, read) {
                    // (bug) the effects wait for a second transaction; the read is recorded
                    // with them.
                    Some(effects) => s.instances[i].batch = BatchPc::Effects { effects, at },
                    None => {
                        self.record_read(&mut s, at);
                        s.instances[i].batch = BatchPc::Idle;
                        Fleet::settle(&mut s, i);
                    }
                }
            }
            Action::BatchEffects(i) => {
                let i = usize::from(i);
                let BatchPc::Effects { effects, at } = s.instances[i].batch.clone() else {
                    return None;
                };
                Fleet::record_effects(&mut s, &effects);
                self.record_read(&mut s, at);
                s.instances[i].batch = BatchPc::Idle;
                Fleet::settle(&mut s, i);
            }
            Action::WebEffects(i) => {
                let i = usize::from(i);
                let effects = s.instances[i].web.take()?;
                Fleet::record_effects(&mut s, &effects);
                Fleet::settle(&mut s, i);
            }
            Action::Claim(i) => {
                let i = usize::from(i);
                let e = self.claimable(&s)?;
                let row = &mut s.effects[e];
                if row.abandoned {
                    s.ghost.takeover = true;
                }
                row.abandoned = false;
                row.attempts += 1;
                row.lease_until = Some(now + t.lease);
                let (effect, claim) = (u8::try_from(e).ok()?, row.attempts);
                s.instances[i].effect = if row.kind == EffKind::PlaceOrder {
                    EffectPc::Claimed {
                        effect,
                        claim,
                        at: now,
                    }
                } else {
                    // Releasing a cart, a conflict for a person: logged, then completed.
                    EffectPc::Completing {
                        effect,
                        claim,
                        at: now,
                    }
                };
            }
            Action::Begin(i) => {
                let i = usize::from(i);
                let EffectPc::Claimed { effect, claim, at } = s.instances[i].effect else {
                    return None;
                };
                if s.effects[usize::from(effect)].held_by(claim, now) {
                    s.attempts.push(AttemptRow {
                        effect,
                        claim,
                        answer: None,
                    });
                    let call =
                        u8::try_from(s.attempts.iter().filter(|a| a.effect == effect).count())
                            .ok()?;
                    s.instances[i].effect = EffectPc::Calling {
                        effect,
                        claim,
                        call,
                        at,
                    };
                } else {
                    // LeaseLost: not sent; the release that follows fails the same way.
                    s.instances[i].effect = EffectPc::Idle;
                    Fleet::settle(&mut s, i);
                }
            }
            Action::Call(i, lost) => {
                let i = usize::from(i);
                let EffectPc::Calling {
                    effect,
                    claim,
                    call,
                    at,
                } = s.instances[i].effect
                else {
                    return None;
                };
                let token = s.klarna.token.as_mut()?;
                if token.calls > 0 && !s.ghost.retry_forced {
                    s.ghost.unforced_call = true;
                }
                token.calls += 1;
                let answer = if now < token.expires && !token.used {
                    token.used = true;
                    s.klarna.orders += 1;
                    Answer::Placed
                } else {
                    Answer::Refused
                };
                let answer = if lost {
                    s.ghost.lost += 1;
                    s.ghost.retry_forced = true;
                    Answer::Lost
                } else {
                    answer
                };
                s.instances[i].effect = EffectPc::Answered {
                    effect,
                    claim,
                    call,
                    answer,
                    at,
                };
            }
            Action::RecordAnswer(i) => {
                let i = usize::from(i);
                let EffectPc::Answered {
                    effect,
                    claim,
                    call,
                    answer,
                    at,
                } = s.instances[i].effect
                else {
                    return None;
                };
                if let Some(row) = s
                    .attempts
                    .iter_mut()
                    .filter(|a| a.effect == effect)
                    .nth(usize::from(call) - 1)
                    && row.answer.is_none()
                {
                    row.answer = Some(answer);
                }
                s.instances[i].effect = match answer {
                    Answer::Placed | Answer::Refused => EffectPc::Completing { effect, claim, at },
                    Answer::Lost => EffectPc::Releasing { effect, claim, at },
                };
            }
            Action::Complete(i) => {
                let i = usize::from(i);
                let EffectPc::Completing { effect, claim, .. } = s.instances[i].effect else {
                    return None;
                };
                let row = &mut s.effects[usize::from(effect)];
                let holds = row.held_by(claim, now);
                if holds || (c.has(Bug::NoFencing) && !row.completed) {
                    if !holds {
                        s.ghost.unfenced_completion = true;
                    }
                    row.completed = true;
                }
                s.instances[i].effect = EffectPc::Idle;
                Fleet::settle(&mut s, i);
            }
            Action::Release(i) => {
                let i = usize::from(i);
                let EffectPc::Releasing { effect, claim, .. } = s.instances[i].effect else {
                    return None;
                };
                let row = &mut s.effects[usize::from(effect)];
                if row.held_by(claim, now) {
                    row.lease_until = Some(now); // claimable again at once
                }
                s.instances[i].effect = EffectPc::Idle;
                Fleet::settle(&mut s, i);
            }
            Action::Crash(i) => {
                let i = usize::from(i);
                Fleet::fault(&mut s, i);
                let instance = &mut s.instances[i];
                instance.up = false;
                instance.frozen = false;
                instance.batch = BatchPc::Idle;
                instance.effect = EffectPc::Idle;
                instance.web = None;
            }
            Action::Freeze(i) => {
                let i = usize::from(i);
                Fleet::fault(&mut s, i);
                s.instances[i].frozen = true;
            }
            Action::Restart(i) => s.instances[usize::from(i)].up = true,
        }
        if c.symmetry {
            // Instances are interchangeable: nothing refers to one by its position.
            s.instances.sort();
        }
        Some(s)
    }

    fn format_step(&self, last: &State, action: Action) -> Option<String> {
        Some(crate::render::describe(self, last, &action))
    }

    fn properties(&self) -> Vec<Property<Self>> {
        crate::properties::all()
    }
}
