//! The transition table: the one place that says which steps a session may take.
//!
//! Every rule of the crate is derived from [`STEPS`] at compile time: the successor sets
//! behind [`Status::can_transition_to`], the closure behind [`Status::can_reach`], each
//! action's target and sources behind [`Status::apply`], and the tables and diagrams of
//! `docs/SPEC.md`.

use crate::set::StatusSet;
use crate::{Action, Actor, Status};

use Action::{Authorize, Cancel, Decline, Disable, EnterPage, Fail, GoBack};
use Status::{Back, Cancelled, Completed, Disabled, Error, Failed, InProgress, Waiting};

/// One direct step of the lifecycle: `action` moves a session from `from` to `to`.
///
/// ```
/// use hpp_status::{Action, Status, Step};
///
/// let step = Step::between(Status::InProgress, Status::Back).unwrap();
/// assert_eq!(step.action, Action::GoBack);
/// assert_eq!(step.to_string(), "IN_PROGRESS --GoBack--> BACK");
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct Step {
    /// The status the step leaves.
    pub from: Status,
    /// What causes the step.
    pub action: Action,
    /// The status the step enters.
    pub to: Status,
}

impl Step {
    /// Who causes the step.
    ///
    /// ```
    /// use hpp_status::{Actor, Status, Step};
    ///
    /// let step = Step::between(Status::Back, Status::Disabled).unwrap();
    /// assert_eq!(step.actor(), Actor::Merchant);
    /// ```
    #[must_use]
    pub const fn actor(self) -> Actor {
        self.action.actor()
    }

    /// The step from `from` to `to`, if the table has one.
    ///
    /// ```
    /// use hpp_status::{Status, Step};
    ///
    /// assert!(Step::between(Status::Waiting, Status::InProgress).is_some());
    /// assert!(Step::between(Status::Waiting, Status::Completed).is_none());
    /// ```
    #[must_use]
    pub const fn between(from: Status, to: Status) -> Option<Step> {
        let mut i = 0;
        while i < STEPS.len() {
            let step = STEPS[i];
            if step.from as u8 == from as u8 && step.to as u8 == to as u8 {
                return Some(step);
            }
            i += 1;
        }
        None
    }
}

impl core::fmt::Display for Step {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{} --{}--> {}", self.from, self.action, self.to)
    }
}

const fn step(from: Status, action: Action, to: Status) -> Step {
    Step { from, action, to }
}

/// The transition table: every direct step an HPP session may take, and nothing else.
///
/// Read top to bottom, it is the lifecycle the HPP documentation describes (SPEC §2, in the
/// [`spec`](crate::spec) module): the consumer opens the page, ends a visit in one of five
/// ways, may come back after FAILED, BACK or ERROR, and the merchant may disable any session
/// that is not final. No step leaves COMPLETED, CANCELLED or DISABLED, and no step enters
/// WAITING.
///
/// ```
/// use hpp_status::{STEPS, Status};
///
/// assert_eq!(STEPS.len(), 14);
/// assert!(STEPS.iter().all(|step| !step.from.is_final()));
/// assert!(STEPS.iter().all(|step| step.to != Status::Waiting));
/// ```
pub const STEPS: [Step; 14] = [
    step(Waiting, EnterPage, InProgress),
    step(InProgress, Authorize, Completed),
    step(InProgress, Decline, Failed),
    step(InProgress, Cancel, Cancelled),
    step(InProgress, GoBack, Back),
    step(InProgress, Fail, Error),
    step(Failed, EnterPage, InProgress),
    step(Back, EnterPage, InProgress),
    step(Error, EnterPage, InProgress),
    step(Waiting, Disable, Disabled),
    step(InProgress, Disable, Disabled),
    step(Failed, Disable, Disabled),
    step(Back, Disable, Disabled),
    step(Error, Disable, Disabled),
];

pub(crate) const STATUSES: usize = Status::ALL.len();
const ACTIONS: usize = Action::ALL.len();

/// `SUCCESSORS[s]`: the statuses one step after `s`.
pub(crate) const SUCCESSORS: [StatusSet; STATUSES] = {
    let mut sets = [StatusSet::EMPTY; STATUSES];
    let mut i = 0;
    while i < STEPS.len() {
        let step = STEPS[i];
        sets[step.from.index()] = sets[step.from.index()].with(step.to);
        i += 1;
    }
    sets
};

/// `REACHABLE[s]`: the statuses one or more steps after `s` (the transitive closure).
pub(crate) const REACHABLE: [StatusSet; STATUSES] = transitive_closure(SUCCESSORS);

/// The transitive closure of a step relation given as successor sets.
const fn transitive_closure(successors: [StatusSet; STATUSES]) -> [StatusSet; STATUSES] {
    let mut sets = successors;
    // Each round extends every path by one step; STATUSES rounds cover every simple path.
    let mut round = 0;
    while round < STATUSES {
        let mut from = 0;
        while from < STATUSES {
            let mut via = 0;
            while via < STATUSES {
                if sets[from].contains(Status::ALL[via]) {
                    sets[from] = sets[from].union(successors[via]);
                }
                via += 1;
            }
            from += 1;
        }
        round += 1;
    }
    sets
}

/// `SOURCES[a]`: the statuses action `a` may start from.
pub(crate) const SOURCES: [StatusSet; ACTIONS] = {
    let mut sets = [StatusSet::EMPTY; ACTIONS];
    let mut i = 0;
    while i < STEPS.len() {
        let step = STEPS[i];
        sets[step.action.index()] = sets[step.action.index()].with(step.from);
        i += 1;
    }
    sets
};

/// `TARGETS[a]`: the status action `a` leads to.
pub(crate) const TARGETS: [Status; ACTIONS] = {
    let mut targets = [Waiting; ACTIONS];
    let mut seen = [false; ACTIONS];
    let mut i = 0;
    while i < STEPS.len() {
        let step = STEPS[i];
        let a = step.action.index();
        // An action has one target: every row naming it must agree.
        assert!(
            !seen[a] || targets[a] as u8 == step.to as u8,
            "an action with two targets"
        );
        targets[a] = step.to;
        seen[a] = true;
        i += 1;
    }
    targets
};

/// Compile-time check: every action has a step (so `TARGETS` holds no placeholder).
const fn assert_every_action_has_a_step() {
    let mut a = 0;
    while a < ACTIONS {
        let mut i = 0;
        while i < STEPS.len() && STEPS[i].action as usize != a {
            i += 1;
        }
        assert!(i < STEPS.len(), "an action that no step uses");
        a += 1;
    }
}

/// Compile-time check of the table itself: no step twice, none out of a final status, none
/// into WAITING.
const fn assert_steps_are_well_formed() {
    let mut i = 0;
    while i < STEPS.len() {
        let a = STEPS[i];
        assert!(!a.from.is_final(), "a step out of a final status");
        assert!(a.to as u8 != Waiting as u8, "a step into WAITING");
        let mut j = i + 1;
        while j < STEPS.len() {
            let b = STEPS[j];
            assert!(
                a.from as u8 != b.from as u8 || a.to as u8 != b.to as u8,
                "two steps between the same statuses"
            );
            j += 1;
        }
        i += 1;
    }
}

const _: () = {
    assert_every_action_has_a_step();
    assert_steps_are_well_formed();
};
