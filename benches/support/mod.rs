//! What the benches measure `hpp-status` against, and the workloads they share.
//!
//! Used by `benches/transitions.rs` (criterion), `benches/instructions.rs` (gungraun) and
//! `tests/bench_alternatives.rs`, which checks that every alternative is the same machine as
//! the crate: a benchmark against a different machine would compare nothing.
//!
//! To add a comparison (say, a later `Tracker::observe` against its alternatives), put the
//! alternative and its workload in a new module here, test it in
//! `tests/bench_alternatives.rs`, and add a group to each bench file.

// Each target that includes this module uses a different part of it.
#![allow(dead_code)]

use hpp_status::{Action, Status};

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
    pub last: Status,
    pub refused: u32,
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

/// The same machine, written by hand the way an integrator would: a `match` on the pair.
pub mod handwritten {
    use hpp_status::Action::{self, Authorize, Cancel, Decline, Disable, EnterPage, Fail, GoBack};
    use hpp_status::Status::{
        self, Back, Cancelled, Completed, Disabled, Error, Failed, InProgress, Waiting,
    };

    use super::Walk;

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
        pub from: Status,
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
}

/// The same machine in `rust-fsm`: its DSL, its generated `State` and `Input` enums.
pub mod fsm {
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
        STATES[status.index()]
    }

    /// The crate's action as a rust-fsm input.
    pub fn input(action: hpp_status::Action) -> Input {
        INPUTS[action.index()]
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
        Waiting,
        InProgress,
        Completed,
        Failed,
        Cancelled,
        Back,
        Error,
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
