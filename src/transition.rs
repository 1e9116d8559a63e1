//! Taking steps: [`Status::apply`], [`Status::transition_to`] and [`TransitionError`].

use core::fmt;

use crate::{Action, Status, Step};

impl Status {
    /// The status after `action`, or why `action` is not possible from `self`.
    ///
    /// A refused action changes nothing: `self` is `Copy`, and the error carries it.
    ///
    /// ```
    /// use hpp_status::{Action, Status};
    ///
    /// assert_eq!(Status::Waiting.apply(Action::EnterPage), Ok(Status::InProgress));
    ///
    /// let refused = Status::Completed.apply(Action::Disable).unwrap_err();
    /// assert_eq!(refused.from(), Status::Completed);
    /// assert_eq!(refused.to_string(), "Disable is not possible from COMPLETED: COMPLETED is final");
    /// ```
    pub const fn apply(self, action: Action) -> Result<Status, TransitionError> {
        if action.sources().contains(self) {
            Ok(action.target())
        } else {
            Err(TransitionError {
                from: self,
                to: action.target(),
                action: Some(action),
            })
        }
    }

    /// `next`, if it is one direct step away from `self`; otherwise why not.
    ///
    /// ```
    /// use hpp_status::Status;
    ///
    /// assert_eq!(Status::InProgress.transition_to(Status::Failed), Ok(Status::Failed));
    ///
    /// let refused = Status::Back.transition_to(Status::Completed).unwrap_err();
    /// assert_eq!(
    ///     refused.to_string(),
    ///     "BACK cannot go to COMPLETED without the consumer returning to the page first"
    /// );
    /// ```
    pub const fn transition_to(self, next: Status) -> Result<Status, TransitionError> {
        if self.can_transition_to(next) {
            Ok(next)
        } else {
            Err(TransitionError {
                from: self,
                to: next,
                action: None,
            })
        }
    }
}

/// A step the transition table does not allow, from [`Status::apply`] or
/// [`Status::transition_to`].
///
/// Its message says why, in a merchant's words: the status is final, WAITING is never
/// re-entered, the session is already there, or the step needs another one first.
///
/// ```
/// use hpp_status::{Action, Status};
///
/// let refused = Status::InProgress.transition_to(Status::Waiting).unwrap_err();
/// assert_eq!(refused.to(), Status::Waiting);
/// assert_eq!(refused.action(), None);
/// assert_eq!(refused.to_string(), "IN_PROGRESS cannot go to WAITING: WAITING is never re-entered");
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, thiserror::Error)]
#[error("{}", Explanation(self))]
pub struct TransitionError {
    from: Status,
    to: Status,
    action: Option<Action>,
}

impl TransitionError {
    /// The status the refused step would have left (and which is still current).
    ///
    /// ```
    /// use hpp_status::{Action, Status};
    ///
    /// let refused = Status::Cancelled.apply(Action::EnterPage).unwrap_err();
    /// assert_eq!(refused.from(), Status::Cancelled);
    /// ```
    #[must_use]
    pub const fn from(&self) -> Status {
        self.from
    }

    /// The status the refused step would have entered.
    ///
    /// ```
    /// use hpp_status::{Action, Status};
    ///
    /// let refused = Status::Cancelled.apply(Action::EnterPage).unwrap_err();
    /// assert_eq!(refused.to(), Status::InProgress);
    /// ```
    #[must_use]
    pub const fn to(&self) -> Status {
        self.to
    }

    /// The refused action, when the step was asked for by [`Status::apply`].
    ///
    /// ```
    /// use hpp_status::{Action, Status};
    ///
    /// let refused = Status::Cancelled.apply(Action::EnterPage).unwrap_err();
    /// assert_eq!(refused.action(), Some(Action::EnterPage));
    /// ```
    #[must_use]
    pub const fn action(&self) -> Option<Action> {
        self.action
    }

    /// A step the session would need first, when there is one: `from` can still reach `to`,
    /// just not directly.
    ///
    /// ```
    /// use hpp_status::{Action, Status};
    ///
    /// let refused = Status::Back.transition_to(Status::Completed).unwrap_err();
    /// assert_eq!(refused.needs_first().map(|step| step.action), Some(Action::EnterPage));
    /// assert_eq!(Status::Completed.transition_to(Status::Back).unwrap_err().needs_first(), None);
    /// ```
    #[must_use]
    pub fn needs_first(&self) -> Option<Step> {
        if self.from == self.to {
            return None;
        }
        self.from
            .successors()
            .iter()
            .find(|via| via.can_reach(self.to))
            .and_then(|via| Step::between(self.from, via))
    }
}

/// The words of a [`TransitionError`], chosen from the most basic reason that applies.
struct Explanation<'a>(&'a TransitionError);

impl fmt::Display for Explanation<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let TransitionError { from, to, action } = *self.0;
        if let Some(action) = action {
            write!(f, "{action} is not possible from {from}: ")?;
        }
        if from.is_final() {
            write!(f, "{from} is final")
        } else if from == to {
            write!(f, "the session is already {from}")
        } else if to == Status::Waiting {
            write!(f, "{from} cannot go to {to}: WAITING is never re-entered")
        } else if let Some(via) = self.0.needs_first() {
            let needed = via.action.as_requirement(from);
            write!(f, "{from} cannot go to {to} without {needed} first")
        } else {
            // Unreachable with today's table (every open status reaches every status but
            // WAITING); kept so that a new table still explains itself.
            write!(f, "{from} cannot go to {to}")
        }
    }
}
