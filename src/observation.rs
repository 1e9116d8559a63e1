//! [`Observation`], [`Phase`] and precedence: which of two reports of a session to believe.

use core::cmp::Ordering;
use core::fmt;

use crate::Status;
use crate::names::named_enum;

/// A status as somebody saw it (a callback, a poll, a batch re-read), with the session's
/// `updated_at` at that moment.
///
/// `T` is any totally ordered timestamp: a `jiff::Timestamp`, the `wire::Timestamp` of
/// feature `wire`, milliseconds as `i64`... The core forces no date-time type on you.
///
/// ```
/// use hpp_status::{Observation, Status};
///
/// let seen = Observation::new(Status::Back, 1_700_000_000_000_i64);
/// assert_eq!(seen.status, Status::Back);
/// ```
///
/// With `serde` it is `{"status":"BACK","updated_at":...}`, both fields required and no
/// other field allowed (it is part of a stored [`Tracker`](crate::Tracker)).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(deny_unknown_fields))]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct Observation<T> {
    /// The status reported.
    pub status: Status,
    /// When the session last changed status, as reported with it.
    pub updated_at: T,
}

impl<T> Observation<T> {
    /// An observation of `status`, last changed at `updated_at`.
    ///
    /// ```
    /// use hpp_status::{Observation, Status};
    ///
    /// assert_eq!(Observation::new(Status::Waiting, 0).updated_at, 0);
    /// ```
    pub const fn new(status: Status, updated_at: T) -> Observation<T> {
        Observation { status, updated_at }
    }
}

impl<T: Ord> Observation<T> {
    /// Compares by **precedence**: `Greater` means `self` is the observation to believe.
    ///
    /// 1. The later [`Phase`] wins: `WAITING` < open < final.
    /// 2. In the same phase, `WAITING` and open statuses: the later `updated_at` wins;
    ///    final statuses: the *earlier* `updated_at` wins (the first final is the real one).
    /// 3. Same phase and time: the higher [`Status::tie_rank`] wins.
    ///
    /// This is a total order whose equality is `==`: the observation a tracker keeps is the
    /// maximum of what it was shown, whatever the order it was shown in.
    ///
    /// ```
    /// use std::cmp::Ordering;
    /// use hpp_status::{Observation, Status};
    ///
    /// let open = Observation::new(Status::Back, 20);
    /// let earlier_open = Observation::new(Status::InProgress, 10);
    /// assert_eq!(open.cmp_precedence(&earlier_open), Ordering::Greater);
    ///
    /// let completed = Observation::new(Status::Completed, 30);
    /// let later_final = Observation::new(Status::Disabled, 40);
    /// assert_eq!(completed.cmp_precedence(&later_final), Ordering::Greater); // first final wins
    /// assert_eq!(completed.cmp_precedence(&open), Ordering::Greater); // finals beat open
    /// ```
    pub fn cmp_precedence(&self, other: &Observation<T>) -> Ordering {
        precedence(
            self.status,
            other.status,
            self.updated_at.cmp(&other.updated_at),
        )
    }

    /// Whether `self` and `other` can both come from one legal history: the one dated
    /// earlier [`can_reach`](Status::can_reach) the one dated later (either way when they
    /// share a time), or they are the same observation, or the same final status.
    ///
    /// ```
    /// use hpp_status::{Observation, Status};
    ///
    /// let back = Observation::new(Status::Back, 2);
    /// assert!(back.is_consistent_with(&Observation::new(Status::Completed, 3)));
    /// assert!(!back.is_consistent_with(&Observation::new(Status::Waiting, 3)));
    /// assert!(!back.is_consistent_with(&Observation::new(Status::Cancelled, 1)));
    /// ```
    pub fn is_consistent_with(&self, other: &Observation<T>) -> bool {
        consistency(
            self.status,
            other.status,
            self.updated_at.cmp(&other.updated_at),
        )
    }
}

// The rules of precedence and consistency over the two statuses and `by_time`, how the first
// observation's `updated_at` compares with the second's: they depend on nothing else, so the
// tracker works out every case of them at compile time (`VERDICTS` in `tracker.rs`).

/// [`Observation::cmp_precedence`] of an observation of `status` over one of `other`.
pub(crate) const fn precedence(status: Status, other: Status, by_time: Ordering) -> Ordering {
    let phase = status.phase();
    let by_time = match phase {
        Phase::Waiting | Phase::Open => by_time,
        Phase::Final => by_time.reverse(), // the first final is the real one
    };
    compare(phase as u8, other.phase() as u8)
        .then(by_time)
        .then(compare(status.tie_rank(), other.tie_rank()))
}

/// Whether observations of `status` and `other` report the same thing: the same status at
/// the same time, or the same final status at any time.
pub(crate) const fn repeats(status: Status, other: Status, by_time: Ordering) -> bool {
    status.index() == other.index() && (status.is_final() || by_time.is_eq())
}

/// [`Observation::is_consistent_with`] for observations of `status` and `other`.
pub(crate) const fn consistency(status: Status, other: Status, by_time: Ordering) -> bool {
    if repeats(status, other, by_time) {
        return true;
    }
    match by_time {
        Ordering::Less => status.can_reach(other),
        Ordering::Greater => other.can_reach(status),
        Ordering::Equal => status.can_reach(other) || other.can_reach(status),
    }
}

/// `Ord::cmp` for `u8`, which is not `const`.
const fn compare(a: u8, b: u8) -> Ordering {
    if a < b {
        Ordering::Less
    } else if a > b {
        Ordering::Greater
    } else {
        Ordering::Equal
    }
}

impl<T: fmt::Display> fmt::Display for Observation<T> {
    /// `STATUS@updated_at`, such as `BACK@2019-05-13T14:51:46.288Z`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.status, self.updated_at)
    }
}

/// How far along its lifecycle a session is; the first key of precedence.
///
/// ```
/// use hpp_status::{Phase, Status};
///
/// assert_eq!(Status::Failed.phase(), Phase::Open);
/// assert!(Phase::Waiting < Phase::Open && Phase::Open < Phase::Final);
/// ```
#[derive(
    Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, strum::EnumCount, strum::VariantNames,
)]
// The names come from the variant names, here and nowhere else (see `as_str`).
#[strum(serialize_all = "lowercase")]
pub enum Phase {
    /// `WAITING`: nobody has opened the page yet.
    Waiting,
    /// `IN_PROGRESS`, `FAILED`, `BACK`, `ERROR`: the consumer has been on the page and the
    /// session is still open.
    Open,
    /// `COMPLETED`, `CANCELLED`, `DISABLED`: the session will never change again.
    Final,
}

impl Phase {
    /// The three phases, in order.
    pub const ALL: [Phase; 3] = [Phase::Waiting, Phase::Open, Phase::Final];

    /// The phase's name in lower case: `"waiting"`, `"open"` or `"final"`.
    ///
    /// ```
    /// use hpp_status::Phase;
    ///
    /// assert_eq!(Phase::Final.as_str(), "final");
    /// ```
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        <Phase as strum::VariantNames>::VARIANTS[self as usize]
    }
}

named_enum!(Phase);

impl Status {
    /// The status's [`Phase`].
    ///
    /// ```
    /// use hpp_status::{Phase, Status};
    ///
    /// assert_eq!(Status::Waiting.phase(), Phase::Waiting);
    /// assert_eq!(Status::InProgress.phase(), Phase::Open);
    /// assert_eq!(Status::Cancelled.phase(), Phase::Final);
    /// ```
    #[must_use]
    pub const fn phase(self) -> Phase {
        match self {
            Status::Waiting => Phase::Waiting,
            Status::InProgress | Status::Failed | Status::Back | Status::Error => Phase::Open,
            Status::Completed | Status::Cancelled | Status::Disabled => Phase::Final,
        }
    }

    /// The last key of precedence: which of two observations of the same phase and time to
    /// believe. Higher wins. Part of the precedence contract (SPEC §4.1): the ranks are
    /// distinct, so phase and rank together name the status, and they change only with a
    /// breaking release, because stored precedence keys depend on them.
    ///
    /// Open statuses that end a visit (`FAILED`, `BACK`, `ERROR`) outrank `IN_PROGRESS`,
    /// which starts one. Among finals, `COMPLETED` ranks highest because it is the only one
    /// with an authorization attached: a tie must never lose an order. Same-time ties
    /// between different finals are conflicts and are reported as such anyway.
    ///
    /// ```
    /// use hpp_status::Status;
    ///
    /// assert!(Status::Failed.tie_rank() > Status::InProgress.tie_rank());
    /// assert!(Status::Completed.tie_rank() > Status::Disabled.tie_rank());
    /// ```
    #[must_use]
    pub const fn tie_rank(self) -> u8 {
        match self {
            Status::Waiting => 0,
            Status::InProgress => 1,
            Status::Error => 2,
            Status::Back => 3,
            Status::Failed => 4,
            Status::Cancelled => 5,
            Status::Disabled => 6,
            Status::Completed => 7,
        }
    }
}
