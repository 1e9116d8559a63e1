//! [`Status`]: the eight statuses of an HPP session.

use crate::names::named_enum;
use crate::set::StatusSet;
use crate::table;

/// The status of a Hosted Payment Page session, as the HPP API reports it.
///
/// Three statuses are **final** and absorbing ([`Completed`](Status::Completed),
/// [`Cancelled`](Status::Cancelled), [`Disabled`](Status::Disabled)); the other five leave
/// the session open. The lifecycle, drawn by Graphviz from the crate's own transition table
/// ([`STEPS`](crate::STEPS)); merchant steps are dashed, final statuses have a double border:
///
#[doc = include_str!("../docs/lifecycle.svg")]
///
/// The discriminants follow declaration order (`Waiting` is 0), which is also the
/// [`Ord`] order; the order carries no lifecycle meaning beyond that.
///
/// ```
/// use hpp_status::Status;
///
/// let status: Status = "IN_PROGRESS".parse()?;
/// assert_eq!(status, Status::InProgress);
/// assert_eq!(status.to_string(), "IN_PROGRESS");
/// assert!(!status.is_final());
/// assert!(status.can_transition_to(Status::Completed));
/// # Ok::<(), hpp_status::ParseStatusError>(())
/// ```
///
/// The set of statuses is the lifecycle itself, so `Status` is deliberately exhaustive: a
/// `match` over it is checked by the compiler. A status the API sends that is not one of
/// these is not a `Status`; the `wire` payloads keep it with its text.
#[derive(
    Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, strum::EnumCount, strum::VariantNames,
)]
// The wire names come from the variant names, here and nowhere else (see `as_str`).
#[strum(serialize_all = "SCREAMING_SNAKE_CASE")]
#[repr(u8)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum Status {
    /// `WAITING`: the session is created; the consumer has not opened the payment page yet.
    Waiting = 0,
    /// `IN_PROGRESS`: the consumer has opened the payment page.
    InProgress = 1,
    /// `COMPLETED` (final): the consumer got an authorization (an `authorization_token`,
    /// or an `order_id` with a `klarna_reference`).
    Completed = 2,
    /// `FAILED`: the consumer was declined; the session stays open for a retry.
    Failed = 3,
    /// `CANCELLED` (final): the consumer cancelled.
    Cancelled = 4,
    /// `BACK`: the consumer pressed Back; the session stays open for a retry.
    Back = 5,
    /// `ERROR`: the consumer hit an error while paying; the session stays open for a retry.
    Error = 6,
    /// `DISABLED` (final): the merchant disabled the session through the API.
    Disabled = 7,
}

impl Status {
    /// Every status, in declaration order (the order of the discriminants).
    ///
    /// ```
    /// use hpp_status::Status;
    ///
    /// assert_eq!(Status::ALL.len(), 8);
    /// assert_eq!(Status::ALL[0], Status::Waiting);
    /// assert!(Status::ALL.windows(2).all(|pair| pair[0] < pair[1]));
    /// ```
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

    /// The name the HPP API writes on the wire, such as `"IN_PROGRESS"`: the variant's name
    /// in upper snake case (strum's `VariantNames` derives the list from the declaration).
    ///
    /// ```
    /// use hpp_status::Status;
    ///
    /// assert_eq!(Status::InProgress.as_str(), "IN_PROGRESS");
    /// assert_eq!(Status::Disabled.as_str(), "DISABLED");
    /// ```
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        <Status as strum::VariantNames>::VARIANTS[self.index()]
    }

    /// What the status means, in one sentence (the text of the spec's status table).
    ///
    /// ```
    /// use hpp_status::Status;
    ///
    /// assert!(Status::Back.meaning().contains("Back"));
    /// ```
    #[must_use]
    pub const fn meaning(self) -> &'static str {
        match self {
            Status::Waiting => "session created; the consumer has not opened the payment page yet",
            Status::InProgress => "the consumer has opened the payment page",
            Status::Completed => {
                "the consumer got an authorization (KP: `authorization_token`; \
                 KCO or `place_order_mode`: `order_id` + `klarna_reference`)"
            }
            Status::Failed => "the consumer was declined; the session stays open to retry",
            Status::Cancelled => "the consumer cancelled; definitive",
            Status::Back => "the consumer pressed Back; the session stays open to retry",
            Status::Error => {
                "the consumer hit an error while paying; the session stays open to retry"
            }
            Status::Disabled => "the merchant disabled the session through the API; definitive",
        }
    }

    /// Whether the status is final: once reached, the session never changes again.
    ///
    /// ```
    /// use hpp_status::Status;
    ///
    /// assert!(Status::Completed.is_final());
    /// assert!(!Status::Failed.is_final()); // the consumer may retry
    /// ```
    #[must_use]
    pub const fn is_final(self) -> bool {
        // No `_` arm: a new status must decide whether it is final.
        match self {
            Status::Completed | Status::Cancelled | Status::Disabled => true,
            Status::Waiting
            | Status::InProgress
            | Status::Failed
            | Status::Back
            | Status::Error => false,
        }
    }

    /// The position of the status in [`Status::ALL`] (its discriminant): the row of the
    /// crate's tables.
    pub(crate) const fn index(self) -> usize {
        self as usize
    }

    /// The statuses one direct step away, as the transition table ([`STEPS`](crate::STEPS))
    /// defines them.
    ///
    /// ```
    /// use hpp_status::Status;
    ///
    /// let next: Vec<_> = Status::Waiting.successors().iter().collect();
    /// assert_eq!(next, [Status::InProgress, Status::Disabled]);
    /// assert!(Status::Completed.successors().is_empty());
    /// ```
    #[must_use]
    pub const fn successors(self) -> StatusSet {
        table::SUCCESSORS[self.index()]
    }

    /// Whether `next` is one direct step away from `self`.
    ///
    /// ```
    /// use hpp_status::Status;
    ///
    /// assert!(Status::InProgress.can_transition_to(Status::Back));
    /// assert!(!Status::Back.can_transition_to(Status::Completed)); // back to the page first
    /// ```
    #[must_use]
    pub const fn can_transition_to(self, next: Status) -> bool {
        self.successors().contains(next)
    }

    /// The statuses reachable from `self` in one or more steps: what an observer that may
    /// miss intermediate updates can legally see after `self`.
    ///
    /// ```
    /// use hpp_status::Status;
    ///
    /// assert_eq!(Status::Back.reachable().len(), 7); // everything but WAITING
    /// assert!(Status::Cancelled.reachable().is_empty());
    /// ```
    #[must_use]
    pub const fn reachable(self) -> StatusSet {
        table::REACHABLE[self.index()]
    }

    /// Whether `later` can follow `self` after one or more steps (the transitive closure of
    /// [`can_transition_to`](Status::can_transition_to)).
    ///
    /// ```
    /// use hpp_status::Status;
    ///
    /// assert!(Status::Back.can_reach(Status::Completed)); // via IN_PROGRESS
    /// assert!(Status::Failed.can_reach(Status::Failed)); // a second decline
    /// assert!(!Status::InProgress.can_reach(Status::Waiting));
    /// assert!(!Status::Completed.can_reach(Status::Completed)); // finals have no steps
    /// ```
    #[must_use]
    pub const fn can_reach(self, later: Status) -> bool {
        self.reachable().contains(later)
    }
}

named_enum!(Status);
