//! What the benches measure `hpp-status` against, and the workloads they share.
//!
//! Used by the core's benches, `benches/transitions.rs` and `benches/observer.rs` (criterion)
//! and `benches/instructions.rs` (gungraun): the alternatives (a hand-written `match` and
//! tracker, rust-fsm, a strum derive), the delivery stream of `Tracker::observe`
//! ([`deliveries`]) and the status callbacks ([`CALLBACK_IN_PROGRESS`],
//! [`CALLBACK_COMPLETED`]). This crate's own test, `tests/alternatives.rs`, checks that every
//! alternative is the same machine as the crate: a benchmark against a different machine
//! would compare nothing.
//!
//! To add a comparison, put the alternative and its workload in a new module here, test it
//! in `tests/alternatives.rs`, and add a group to each bench file.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

use hpp_status::{Action, Observation, Outcome, Status, Tracker};

/// The bad inputs of the parse benches: a wrong case, an unknown name, nothing, and a long
/// string (longer than the 32 bytes a `ParseStatusError` quotes).
pub const BAD_NAMES: [&str; 4] = [
    "in_progress",
    "TIMEOUT",
    "",
    "IN_PROGRESS IN_PROGRESS IN_PROGRESS IN_PROGRESS IN_PROGRESS",
];

/// The eight wire names, in `Status::ALL` order.
pub const GOOD_NAMES: [&str; 8] = [
    "WAITING",
    "IN_PROGRESS",
    "COMPLETED",
    "FAILED",
    "CANCELLED",
    "BACK",
    "ERROR",
    "DISABLED",
];

/// How many actions the `apply` workloads take.
pub const ACTIONS: usize = 10_000;

/// splitmix64: a few lines, good enough statistics for a workload, and the same numbers on
/// every machine.
fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The 64 (from, to) pairs in an order shuffled from `seed`: a check whose statuses the
/// compiler and the branch predictor cannot guess from the one before, as when statuses
/// arrive from callbacks.
pub fn shuffled_pairs(seed: u64) -> Vec<(Status, Status)> {
    let mut pairs: Vec<_> = Status::ALL
        .into_iter()
        .flat_map(|from| Status::ALL.map(|to| (from, to)))
        .collect();
    let mut state = seed;
    // Fisher-Yates.
    for i in (1..pairs.len()).rev() {
        let j = (splitmix64(&mut state) % (i as u64 + 1)) as usize;
        pairs.swap(i, j);
    }
    pairs
}

/// `len` actions drawn uniformly from `Action::ALL`, from `seed`: the same sequence on every
/// machine, every run.
pub fn random_actions(len: usize, seed: u64) -> Vec<Action> {
    let mut state = seed;
    (0..len)
        // The modulo bias over 2^64 is negligible for 7 actions.
        .map(|_| Action::ALL[(splitmix64(&mut state) % Action::ALL.len() as u64) as usize])
        .collect()
}

/// What a walk over an action sequence ends with: the last status, how many actions were
/// refused, and how many sessions reached a final status (each is followed by a new one).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Walk {
    /// The status of the session under way when the actions ran out.
    pub last: Status,
    /// How many actions were refused.
    pub refused: u32,
    /// How many sessions reached a final status.
    pub finished: u32,
}

/// The `apply` workload with the crate: a stream of sessions, each taking actions until it
/// is final; a refused action leaves the status as it was.
pub fn walk(actions: &[Action]) -> Walk {
    let mut status = Status::Waiting;
    let (mut refused, mut finished) = (0, 0);
    for &action in actions {
        match status.apply(action) {
            Ok(next) => status = next,
            Err(_) => refused += 1,
        }
        if status.is_final() {
            finished += 1;
            status = Status::Waiting;
        }
    }
    Walk {
        last: status,
        refused,
        finished,
    }
}

/// How many observations the `observe` workloads deliver.
pub const OBSERVATIONS: usize = 1_000_000;

/// One delivery of the `observe` workloads: an observation of session number `session`
/// (sessions are numbered from 0 in the order they start).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Delivery {
    /// The session's number.
    pub session: u32,
    /// What the delivery reports.
    pub seen: Observation<u64>,
}

/// How many sessions are under way at once in [`deliveries`]: their deliveries interleave.
pub const LIVE_SESSIONS: usize = 1_000;

/// A legal history of one session that starts at `start` (milliseconds): `WAITING`, then up
/// to 12 steps of the transition table, each 1 ms to 1 minute after the previous one,
/// staying open three times in four when it can (as `hpp_status::strategy::legal_history`
/// does), so that histories are long and full of retries; about one in five never reaches
/// a final status (the consumer left, the session expired).
fn legal_history(start: u64, state: &mut u64) -> Vec<Observation<u64>> {
    let mut now = Observation::new(Status::Waiting, start);
    let mut history = vec![now];
    for _ in 0..12 {
        let all = now.status.successors();
        let open: hpp_status::StatusSet = all.iter().filter(|s| !s.is_final()).collect();
        let choice = splitmix64(state);
        let next = if choice.is_multiple_of(4) || open.is_empty() {
            all
        } else {
            open
        };
        let Some(status) = next.iter().nth((choice >> 8) as usize % next.len().max(1)) else {
            break; // final: nothing follows
        };
        now = Observation::new(status, now.updated_at + 1 + (choice >> 32) % 60_000);
        history.push(now);
    }
    history
}

/// What a merchant receives of one session's `history`, in the order it arrives: every
/// observation once, a copy of it right after for one in three (a retried callback, a poll
/// that saw the same thing), then each neighbouring pair swapped one time in ten (a late
/// delivery).
fn session_deliveries(history: &[Observation<u64>], state: &mut u64) -> Vec<Observation<u64>> {
    let mut arrived = Vec::with_capacity(2 * history.len());
    for &seen in history {
        arrived.push(seen);
        if splitmix64(state).is_multiple_of(3) {
            arrived.push(seen);
        }
    }
    for i in 1..arrived.len() {
        if splitmix64(state).is_multiple_of(10) {
            arrived.swap(i - 1, i);
        }
    }
    arrived
}

/// The `observe` workload: `len` deliveries of many sessions' legal histories, from `seed`.
/// [`LIVE_SESSIONS`] sessions are under way at once; each delivery comes from one of them
/// drawn at random, and a session whose deliveries are all made is followed by a new one.
/// Within a session, deliveries come mostly in order, some late, about a quarter of them
/// copies (see `session_deliveries`). Returns the stream and the number of sessions in it.
pub fn deliveries(len: usize, seed: u64) -> (Vec<Delivery>, usize) {
    let mut state = seed;
    let mut sessions = 0u32;
    let mut start = 1_700_000_000_000_u64;
    let mut new_session = |state: &mut u64| {
        let session = sessions;
        sessions += 1;
        start += 1 + splitmix64(state) % 1_000;
        let history = legal_history(start, state);
        let mut arrived = session_deliveries(&history, state);
        arrived.reverse(); // popped from the back
        (session, arrived)
    };
    let mut live: Vec<_> = (0..LIVE_SESSIONS)
        .map(|_| new_session(&mut state))
        .collect();
    let mut stream = Vec::with_capacity(len);
    while stream.len() < len {
        let slot = (splitmix64(&mut state) % LIVE_SESSIONS as u64) as usize;
        let (session, arrived) = &mut live[slot];
        match arrived.pop() {
            Some(seen) => stream.push(Delivery {
                session: *session,
                seen,
            }),
            None => live[slot] = new_session(&mut state),
        }
    }
    let sessions = stream
        .iter()
        .map(|d| d.session)
        .max()
        .map_or(0, |s| s as usize + 1);
    (stream, sessions)
}

/// What a pass of trackers over a delivery stream ends with: how many deliveries moved a
/// tracker on, and how many made one final (each an order to place).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Replay {
    /// Deliveries that moved a tracker on.
    pub advanced: u32,
    /// Deliveries that made a tracker final.
    pub finished: u32,
}

/// The `observe` workload with the crate: one tracker per session, each delivery observed by
/// its session's tracker, the outcome used as an integrator would.
pub fn replay(trackers: &mut [Tracker<u64>], stream: &[Delivery]) -> Replay {
    let (mut advanced, mut finished) = (0, 0);
    for delivery in stream {
        let outcome = trackers[delivery.session as usize].observe(delivery.seen);
        advanced += u32::from(matches!(outcome, Outcome::Advanced { .. }));
        finished += u32::from(outcome.became_final());
    }
    Replay { advanced, finished }
}

/// Two status callbacks, as Klarna POSTs them to the merchant. `IN_PROGRESS`: the documented
/// example (the core's `tests/data/status_callback.json`).
pub const CALLBACK_IN_PROGRESS: &[u8] = include_bytes!("../../../tests/data/status_callback.json");

/// The same session's `COMPLETED` callback, with its authorization token.
pub const CALLBACK_COMPLETED: &[u8] = br#"{"event_id":"0c7f3a3e-9b5d-4f0e-8a51-3b1f2d7c9e42","session":{"session_id":"a15b228c-02ad-11e9-8eb2-f2801f1b9fd1","status":"COMPLETED","updated_at":"2019-05-13T14:53:02.115Z","expires_at":"2019-05-15T13:51:43.507Z","authorization_token":"70850a20-a2a0-5c70-810c-096fa6f850bb"}}"#;

/// The same machine, written by hand the way an integrator would: a `match` on the pair.
pub mod handwritten {
    use hpp_status::Action::{self, Authorize, Cancel, Decline, Disable, EnterPage, Fail, GoBack};
    use hpp_status::Status::{
        self, Back, Cancelled, Completed, Disabled, Error, Failed, InProgress, Waiting,
    };

    use hpp_status::Observation;

    use super::{Delivery, Replay, Walk};

    /// The 14 legal steps, copied from the spec's table.
    pub fn can_transition_to(from: Status, to: Status) -> bool {
        matches!(
            (from, to),
            (Waiting, InProgress)
                | (InProgress, Completed)
                | (InProgress, Failed)
                | (InProgress, Cancelled)
                | (InProgress, Back)
                | (InProgress, Error)
                | (Failed, InProgress)
                | (Back, InProgress)
                | (Error, InProgress)
                | (Waiting, Disabled)
                | (InProgress, Disabled)
                | (Failed, Disabled)
                | (Back, Disabled)
                | (Error, Disabled)
        )
    }

    /// A refused action, with what an integrator would keep to report it.
    #[derive(Clone, Copy, PartialEq, Eq, Debug)]
    pub struct Refused {
        /// The status the action was refused from.
        pub from: Status,
        /// The refused action.
        pub action: Action,
    }

    /// The status after `action`, or the refusal.
    pub fn apply(from: Status, action: Action) -> Result<Status, Refused> {
        match (from, action) {
            (Waiting | Failed | Back | Error, EnterPage) => Ok(InProgress),
            (InProgress, Authorize) => Ok(Completed),
            (InProgress, Decline) => Ok(Failed),
            (InProgress, Cancel) => Ok(Cancelled),
            (InProgress, GoBack) => Ok(Back),
            (InProgress, Fail) => Ok(Error),
            (Waiting | InProgress | Failed | Back | Error, Disable) => Ok(Disabled),
            _ => Err(Refused { from, action }),
        }
    }

    /// Whether `status` is final.
    pub fn is_final(status: Status) -> bool {
        matches!(status, Completed | Cancelled | Disabled)
    }

    /// [`super::walk`] with [`apply`] and [`is_final`].
    pub fn walk(actions: &[Action]) -> Walk {
        let mut status = Waiting;
        let (mut refused, mut finished) = (0, 0);
        for &action in actions {
            match apply(status, action) {
                Ok(next) => status = next,
                Err(_) => refused += 1,
            }
            if is_final(status) {
                finished += 1;
                status = Waiting;
            }
        }
        Walk {
            last: status,
            refused,
            finished,
        }
    }

    /// The tracker an integrator writes by hand: keep the newest `updated_at`, never leave a
    /// final status, classify nothing.
    ///
    /// It asks the crate's `Status::is_final`, as an integrator holding the crate's `Status`
    /// would. With this module's `is_final` (a `matches!`) the compiler merges the check with
    /// the `Option`'s niche into a jump table, and the tracker takes 1.1 million branch
    /// misses over the bench's million deliveries instead of 0.6 million: slower, so not the
    /// fair comparison.
    #[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
    pub struct Tracker {
        latest: Option<(Status, u64)>,
    }

    impl Tracker {
        /// Takes in one delivery; true when it replaced what the tracker held.
        pub fn observe(&mut self, status: Status, updated_at: u64) -> bool {
            if let Some((held, at)) = self.latest
                && (held.is_final() || updated_at <= at)
            {
                return false;
            }
            self.latest = Some((status, updated_at));
            true
        }

        /// What the tracker holds.
        pub fn latest(&self) -> Option<(Status, u64)> {
            self.latest
        }
    }

    /// [`super::replay`] with [`Tracker`].
    pub fn replay(trackers: &mut [Tracker], stream: &[Delivery]) -> Replay {
        let (mut advanced, mut finished) = (0, 0);
        for delivery in stream {
            let Observation { status, updated_at } = delivery.seen;
            let moved = trackers[delivery.session as usize].observe(status, updated_at);
            advanced += u32::from(moved);
            finished += u32::from(moved && status.is_final());
        }
        Replay { advanced, finished }
    }
}

/// The same machine in `rust-fsm`: its DSL, its generated `State` and `Input` enums.
pub mod fsm {
    // rust-fsm's macro generates a module, enums and an alias without documentation.
    #![allow(missing_docs)]

    use rust_fsm::StateMachineImpl;

    rust_fsm::state_machine! {
        #[derive(Clone, Copy, PartialEq, Eq, Debug)]
        pub hpp(Waiting)

        Waiting => {
            EnterPage => InProgress,
            Disable => Disabled,
        },
        InProgress => {
            Authorize => Completed,
            Decline => Failed,
            Cancel => Cancelled,
            GoBack => Back,
            Fail => Error,
            Disable => Disabled,
        },
        Failed => {
            EnterPage => InProgress,
            Disable => Disabled,
        },
        Back => {
            EnterPage => InProgress,
            Disable => Disabled,
        },
        Error => {
            EnterPage => InProgress,
            Disable => Disabled,
        },
    }

    pub use hpp::{Impl, Input, State, StateMachine};

    /// The eight states, in `Status::ALL` order.
    pub const STATES: [State; 8] = [
        State::Waiting,
        State::InProgress,
        State::Completed,
        State::Failed,
        State::Cancelled,
        State::Back,
        State::Error,
        State::Disabled,
    ];

    /// The seven inputs, in `Action::ALL` order.
    pub const INPUTS: [Input; 7] = [
        Input::EnterPage,
        Input::Authorize,
        Input::Decline,
        Input::Cancel,
        Input::GoBack,
        Input::Fail,
        Input::Disable,
    ];

    /// rust-fsm is driven by inputs and has no "may `from` go to `to`": the check is whether
    /// one of the inputs takes `from` there.
    pub fn can_transition_to(from: State, to: State) -> bool {
        INPUTS
            .iter()
            .any(|input| Impl::transition(&from, input) == Some(to))
    }

    /// Whether `state` is final.
    pub fn is_final(state: State) -> bool {
        matches!(state, State::Completed | State::Cancelled | State::Disabled)
    }

    /// The crate's status as a rust-fsm state.
    pub fn state(status: hpp_status::Status) -> State {
        STATES[status as usize]
    }

    /// The crate's action as a rust-fsm input.
    pub fn input(action: hpp_status::Action) -> Input {
        INPUTS[action as usize]
    }

    /// [`super::walk`] with `StateMachine::consume`, the way rust-fsm is meant to be used.
    pub fn walk(inputs: &[Input]) -> (State, u32, u32) {
        let mut machine = StateMachine::new();
        let (mut refused, mut finished) = (0, 0);
        for input in inputs {
            if machine.consume(input).is_err() {
                refused += 1;
            }
            if is_final(*machine.state()) {
                finished += 1;
                machine = StateMachine::new();
            }
        }
        (*machine.state(), refused, finished)
    }
}

/// The same status names, parsed by `strum::EnumString`, as a crate without a hand-written
/// parser would.
pub mod strum_derive {
    /// A copy of `Status` whose `FromStr` is derived.
    #[derive(Clone, Copy, PartialEq, Eq, Debug, strum::EnumString)]
    #[strum(serialize_all = "SCREAMING_SNAKE_CASE")]
    pub enum Status {
        /// `WAITING`.
        Waiting,
        /// `IN_PROGRESS`.
        InProgress,
        /// `COMPLETED`.
        Completed,
        /// `FAILED`.
        Failed,
        /// `CANCELLED`.
        Cancelled,
        /// `BACK`.
        Back,
        /// `ERROR`.
        Error,
        /// `DISABLED`.
        Disabled,
    }

    /// The eight statuses, in `hpp_status::Status::ALL` order.
    pub const ALL: [Status; 8] = [
        Status::Waiting,
        Status::InProgress,
        Status::Completed,
        Status::Failed,
        Status::Cancelled,
        Status::Back,
        Status::Error,
        Status::Disabled,
    ];
}
