//! [`Action`] and [`Actor`]: what moves a session from one status to the next, and who.

use crate::names::named_enum;
use crate::set::StatusSet;
use crate::{Status, table};

/// Who performs an [`Action`].
///
/// ```
/// use hpp_status::{Action, Actor};
///
/// assert_eq!(Action::Disable.actor(), Actor::Merchant);
/// assert_eq!(Actor::Merchant.to_string(), "merchant");
/// ```
#[derive(
    Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, strum::EnumCount, strum::VariantNames,
)]
// The names come from the variant names, here and nowhere else (see `as_str`).
#[strum(serialize_all = "lowercase")]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum Actor {
    /// The consumer paying on the Hosted Payment Page.
    Consumer,
    /// The merchant, through the HPP API.
    Merchant,
}

impl Actor {
    /// Both actors, in declaration order.
    pub const ALL: [Actor; 2] = [Actor::Consumer, Actor::Merchant];

    /// The actor's name in lower case: `"consumer"` or `"merchant"`.
    ///
    /// ```
    /// use hpp_status::Actor;
    ///
    /// assert_eq!(Actor::Consumer.as_str(), "consumer");
    /// ```
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        <Actor as strum::VariantNames>::VARIANTS[self as usize]
    }
}

/// An event that moves a session along one step of the transition table
/// ([`STEPS`](crate::STEPS)).
///
/// Each action has one target status; where it may start from is the table's business.
///
/// ```
/// use hpp_status::{Action, Status};
///
/// let status = Status::Waiting.apply(Action::EnterPage)?.apply(Action::GoBack)?;
/// assert_eq!(status, Status::Back);
/// assert_eq!(status.apply(Action::EnterPage)?, Status::InProgress); // a retry
/// assert!(status.apply(Action::Authorize).is_err()); // not without the page
/// # Ok::<(), hpp_status::TransitionError>(())
/// ```
#[derive(
    Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, strum::EnumCount, strum::VariantNames,
)]
#[repr(u8)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum Action {
    /// The consumer opens the payment page, or returns to it to retry.
    EnterPage,
    /// The consumer gets an authorization.
    Authorize,
    /// The consumer is declined.
    Decline,
    /// The consumer cancels.
    Cancel,
    /// The consumer presses Back.
    GoBack,
    /// The consumer hits an error while paying.
    Fail,
    /// The merchant disables the session through the API (`DELETE {session_url}`).
    Disable,
}

impl Action {
    /// Every action, in declaration order.
    ///
    /// ```
    /// use hpp_status::Action;
    ///
    /// assert_eq!(Action::ALL.len(), 7);
    /// assert_eq!(Action::ALL[0], Action::EnterPage);
    /// ```
    pub const ALL: [Action; 7] = [
        Action::EnterPage,
        Action::Authorize,
        Action::Decline,
        Action::Cancel,
        Action::GoBack,
        Action::Fail,
        Action::Disable,
    ];

    /// The action's name, as written in the spec: `"EnterPage"`, `"Disable"`, ...
    ///
    /// ```
    /// use hpp_status::Action;
    ///
    /// assert_eq!(Action::GoBack.as_str(), "GoBack");
    /// ```
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        <Action as strum::VariantNames>::VARIANTS[self.index()]
    }

    /// Who performs the action.
    ///
    /// ```
    /// use hpp_status::{Action, Actor};
    ///
    /// assert_eq!(Action::Cancel.actor(), Actor::Consumer);
    /// assert_eq!(Action::Disable.actor(), Actor::Merchant);
    /// ```
    #[must_use]
    pub const fn actor(self) -> Actor {
        // No `_` arm: a new action must say who performs it.
        match self {
            Action::EnterPage
            | Action::Authorize
            | Action::Decline
            | Action::Cancel
            | Action::GoBack
            | Action::Fail => Actor::Consumer,
            Action::Disable => Actor::Merchant,
        }
    }

    /// What happens, in words (the text of the spec's transition table).
    ///
    /// ```
    /// use hpp_status::Action;
    ///
    /// assert!(Action::Disable.description().contains("disables"));
    /// ```
    #[must_use]
    pub const fn description(self) -> &'static str {
        match self {
            Action::EnterPage => "the consumer opens the payment page, or returns to it to retry",
            Action::Authorize => "the consumer gets an authorization",
            Action::Decline => "the consumer is declined",
            Action::Cancel => "the consumer cancels",
            Action::GoBack => "the consumer presses Back",
            Action::Fail => "the consumer hits an error while paying",
            Action::Disable => "the merchant disables the session through the API",
        }
    }

    /// The action as a prerequisite of a later step, for messages such as "BACK cannot go
    /// to COMPLETED without *the consumer returning to the page* first". `from` is where the
    /// session is: opening the page for the first time reads differently from coming back.
    pub(crate) const fn as_requirement(self, from: Status) -> &'static str {
        match self {
            Action::EnterPage if matches!(from, Status::Waiting) => "the consumer opening the page",
            Action::EnterPage => "the consumer returning to the page",
            Action::Authorize => "an authorization",
            Action::Decline => "a decline",
            Action::Cancel => "a cancellation",
            Action::GoBack => "the consumer pressing Back",
            Action::Fail => "an error on the page",
            Action::Disable => "the merchant disabling the session",
        }
    }

    /// The status the action leads to, read from the transition table.
    ///
    /// ```
    /// use hpp_status::{Action, Status};
    ///
    /// assert_eq!(Action::EnterPage.target(), Status::InProgress);
    /// assert_eq!(Action::Disable.target(), Status::Disabled);
    /// ```
    #[must_use]
    pub const fn target(self) -> Status {
        table::TARGETS[self.index()]
    }

    /// The statuses the action may start from, read from the transition table.
    ///
    /// ```
    /// use hpp_status::{Action, Status};
    ///
    /// let from: Vec<_> = Action::EnterPage.sources().iter().collect();
    /// assert_eq!(from, [Status::Waiting, Status::Failed, Status::Back, Status::Error]);
    /// ```
    #[must_use]
    pub const fn sources(self) -> StatusSet {
        table::SOURCES[self.index()]
    }

    /// The position of the action in [`Action::ALL`] (its discriminant): the row of the
    /// crate's tables.
    pub(crate) const fn index(self) -> usize {
        self as usize
    }
}

named_enum!(Actor);
named_enum!(Action);

#[cfg(test)]
mod tests {
    extern crate std;

    use std::collections::BTreeSet;
    use std::vec::Vec;

    use super::*;

    /// Today's table only ever asks for `EnterPage` first, so the other wordings are checked
    /// here rather than through a `TransitionError` message.
    #[test]
    fn every_action_has_its_own_requirement_wording() {
        for from in [Status::Waiting, Status::Back] {
            let wordings: BTreeSet<&str> =
                Action::ALL.iter().map(|a| a.as_requirement(from)).collect();
            assert_eq!(wordings.len(), Action::ALL.len(), "from {from}");
            assert!(wordings.iter().all(|w| !w.is_empty()));
        }
        let entering: Vec<&str> = Status::ALL
            .iter()
            .map(|s| Action::EnterPage.as_requirement(*s))
            .collect();
        assert_eq!(
            entering.iter().filter(|w| w.contains("opening")).count(),
            1,
            "only from WAITING"
        );
    }
}
