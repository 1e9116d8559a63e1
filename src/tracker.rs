//! [`Tracker`]: one trustworthy status from deliveries in any order, and its [`Outcome`]s.

use core::cmp::Ordering;

use crate::observation::{consistency, precedence, repeats};
use crate::table::STATUSES;
use crate::{Observation, Status};

/// Merges every report of one session (callbacks, polls, batch re-reads) into the one
/// observation to believe: the maximum by
/// [precedence](Observation::cmp_precedence) of all it was shown.
///
/// Because it keeps a maximum, the result never depends on the order, duplication or
/// split of deliveries: trackers on several workers that saw the same reports in different
/// orders hold the same observation, and [`merge`](Tracker::merge) combines them. Each
/// [`observe`](Tracker::observe) says what the delivery meant, as an [`Outcome`].
///
/// ```
/// use hpp_status::{Observation, Outcome, Status, Tracker};
///
/// let mut tracker = Tracker::new();
/// // The COMPLETED callback arrives before the IN_PROGRESS one, which was retried.
/// let done = tracker.observe(Observation::new(Status::Completed, 30));
/// assert!(done.became_final()); // place the order, once
/// let late = tracker.observe(Observation::new(Status::InProgress, 10));
/// assert!(matches!(late, Outcome::Stale { .. }));
/// let again = tracker.observe(Observation::new(Status::Completed, 30));
/// assert!(matches!(again, Outcome::Duplicate { .. }) && !again.became_final());
/// assert_eq!(tracker.status(), Some(Status::Completed));
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Tracker<T> {
    latest: Option<Observation<T>>,
}

impl<T> Default for Tracker<T> {
    fn default() -> Tracker<T> {
        Tracker::new()
    }
}

impl<T> Tracker<T> {
    /// A tracker that has seen nothing.
    ///
    /// ```
    /// use hpp_status::Tracker;
    ///
    /// assert_eq!(Tracker::<i64>::new().status(), None);
    /// ```
    #[must_use]
    pub const fn new() -> Tracker<T> {
        Tracker { latest: None }
    }

    /// The status to believe, or `None` before the first observation.
    ///
    /// ```
    /// use hpp_status::{Observation, Status, Tracker};
    ///
    /// let mut tracker = Tracker::new();
    /// tracker.observe(Observation::new(Status::Waiting, 1));
    /// assert_eq!(tracker.status(), Some(Status::Waiting));
    /// ```
    #[must_use]
    pub fn status(&self) -> Option<Status> {
        self.latest.as_ref().map(|seen| seen.status)
    }

    /// The observation to believe, or `None` before the first observation.
    ///
    /// ```
    /// use hpp_status::{Observation, Status, Tracker};
    ///
    /// let mut tracker = Tracker::new();
    /// tracker.observe(Observation::new(Status::Back, 7));
    /// assert_eq!(tracker.latest(), Some(&Observation::new(Status::Back, 7)));
    /// ```
    #[must_use]
    pub const fn latest(&self) -> Option<&Observation<T>> {
        self.latest.as_ref()
    }
}

impl<T: Ord + Clone> Tracker<T> {
    /// Takes in one delivery and says what it meant. The tracker keeps whichever of its
    /// current observation and `seen` has precedence.
    ///
    /// ```
    /// use hpp_status::{Observation, Outcome, Status, Tracker};
    ///
    /// let mut tracker = Tracker::new();
    /// tracker.observe(Observation::new(Status::Completed, 5));
    /// // A different final after a final cannot come from one legal history.
    /// let outcome = tracker.observe(Observation::new(Status::Cancelled, 9));
    /// assert!(matches!(outcome, Outcome::Conflict { replaced: false, .. }));
    /// assert_eq!(tracker.status(), Some(Status::Completed));
    /// ```
    pub fn observe(&mut self, seen: Observation<T>) -> Outcome<T> {
        let Some(held) = self.latest.take() else {
            self.latest = Some(seen.clone());
            return Outcome::Advanced {
                previous: None,
                current: seen,
            };
        };
        // One comparison of timestamps; the rest was worked out at compile time.
        let Verdict { kind, replaced } = Verdict::of(
            held.status,
            seen.status,
            seen.updated_at.cmp(&held.updated_at),
        );
        let (kept, other) = if replaced { (seen, held) } else { (held, seen) };
        self.latest = Some(kept.clone());
        match kind {
            Kind::Advanced => Outcome::Advanced {
                previous: Some(other),
                current: kept,
            },
            Kind::Duplicate => Outcome::Duplicate { current: kept },
            Kind::Stale => Outcome::Stale {
                current: kept,
                stale: other,
            },
            Kind::Conflict => Outcome::Conflict {
                kept,
                rejected: other,
                replaced,
            },
        }
    }

    /// Takes in everything `other` has seen: afterwards `self` holds what one tracker shown
    /// both trackers' deliveries would hold. Merging is commutative, associative and
    /// idempotent.
    ///
    /// ```
    /// use hpp_status::{Observation, Status, Tracker};
    ///
    /// let (mut web, mut batch) = (Tracker::new(), Tracker::new());
    /// web.observe(Observation::new(Status::Back, 2));
    /// batch.observe(Observation::new(Status::Completed, 3));
    /// web.merge(&batch);
    /// assert_eq!(web.status(), Some(Status::Completed));
    /// ```
    pub fn merge(&mut self, other: &Tracker<T>) {
        if let Some(seen) = &other.latest {
            self.observe(seen.clone());
        }
    }

    /// What to do with the session next, at `now`, given that it expires at `expires_at`
    /// (both on the same clock as the observations).
    ///
    /// ```
    /// use hpp_status::{Disposition, Observation, Status, Tracker};
    ///
    /// let mut tracker = Tracker::new();
    /// tracker.observe(Observation::new(Status::Back, 10));
    /// assert_eq!(tracker.disposition(&100, &50), Disposition::Open);
    /// assert_eq!(tracker.disposition(&100, &100), Disposition::Expired);
    /// tracker.observe(Observation::new(Status::Disabled, 60));
    /// assert_eq!(tracker.disposition(&100, &100), Disposition::Final(Status::Disabled));
    /// ```
    pub fn disposition(&self, expires_at: &T, now: &T) -> Disposition {
        match self.status() {
            Some(status) if status.is_final() => Disposition::Final(status),
            _ if now >= expires_at => Disposition::Expired,
            _ => Disposition::Open,
        }
    }
}

impl<T: Ord + Clone> Extend<Observation<T>> for Tracker<T> {
    fn extend<I: IntoIterator<Item = Observation<T>>>(&mut self, deliveries: I) {
        for seen in deliveries {
            self.observe(seen);
        }
    }
}

impl<T: Ord + Clone> FromIterator<Observation<T>> for Tracker<T> {
    /// A tracker shown every observation of `deliveries`.
    ///
    /// ```
    /// use hpp_status::{Observation, Status, Tracker};
    ///
    /// let tracker: Tracker<u32> =
    ///     [(Status::Failed, 3), (Status::InProgress, 2)].map(|(s, t)| Observation::new(s, t)).into_iter().collect();
    /// assert_eq!(tracker.status(), Some(Status::Failed));
    /// ```
    fn from_iter<I: IntoIterator<Item = Observation<T>>>(deliveries: I) -> Tracker<T> {
        let mut tracker = Tracker::new();
        tracker.extend(deliveries);
        tracker
    }
}

/// What one delivery meant to a [`Tracker`].
///
/// `current` / `kept` is always what the tracker holds after the delivery.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Outcome<T> {
    /// The first observation, or a newer one consistent with what the tracker held: the
    /// tracker moved on.
    Advanced {
        /// What the tracker held before, if anything.
        previous: Option<Observation<T>>,
        /// The delivery, now held.
        current: Observation<T>,
    },
    /// The same status and `updated_at` as what the tracker holds, or the same final status:
    /// nothing new (a retried callback, a poll of a finished session).
    Duplicate {
        /// What the tracker holds.
        current: Observation<T>,
    },
    /// Older than what the tracker holds and consistent with it: a late delivery.
    Stale {
        /// What the tracker holds.
        current: Observation<T>,
        /// The late delivery, not held.
        stale: Observation<T>,
    },
    /// The delivery and what the tracker held cannot both come from one legal history
    /// (see [`Observation::is_consistent_with`]). The one with precedence is kept anyway.
    Conflict {
        /// The observation the tracker holds now.
        kept: Observation<T>,
        /// The other one.
        rejected: Observation<T>,
        /// Whether the delivery replaced what the tracker held (`kept` is the delivery).
        replaced: bool,
    },
}

impl<T> Outcome<T> {
    /// What the tracker holds after the delivery.
    ///
    /// ```
    /// use hpp_status::{Observation, Status, Tracker};
    ///
    /// let mut tracker = Tracker::new();
    /// let outcome = tracker.observe(Observation::new(Status::Back, 1));
    /// assert_eq!(outcome.current().status, Status::Back);
    /// ```
    pub const fn current(&self) -> &Observation<T> {
        match self {
            Outcome::Advanced { current, .. }
            | Outcome::Duplicate { current }
            | Outcome::Stale { current, .. }
            | Outcome::Conflict { kept: current, .. } => current,
        }
    }

    /// True exactly when this delivery made the tracker final for the first time, or
    /// changed which final it holds (only possible in a [`Conflict`](Outcome::Conflict)):
    /// the moment to place the order or release the cart.
    ///
    /// ```
    /// use hpp_status::{Observation, Status, Tracker};
    ///
    /// let mut tracker = Tracker::new();
    /// assert!(!tracker.observe(Observation::new(Status::InProgress, 1)).became_final());
    /// assert!(tracker.observe(Observation::new(Status::Cancelled, 2)).became_final());
    /// assert!(!tracker.observe(Observation::new(Status::Cancelled, 2)).became_final());
    /// ```
    pub const fn became_final(&self) -> bool {
        match self {
            // An advance never leaves a final status: nothing is consistent after one.
            Outcome::Advanced { current, .. } => current.status.is_final(),
            Outcome::Conflict { kept, replaced, .. } => *replaced && kept.status.is_final(),
            Outcome::Duplicate { .. } | Outcome::Stale { .. } => false,
        }
    }

    /// Whether the delivery is evidence of something wrong (a [`Conflict`](Outcome::Conflict)).
    ///
    /// ```
    /// use hpp_status::{Observation, Status, Tracker};
    ///
    /// let mut tracker = Tracker::new();
    /// tracker.observe(Observation::new(Status::InProgress, 5));
    /// assert!(tracker.observe(Observation::new(Status::Waiting, 9)).is_conflict());
    /// ```
    pub const fn is_conflict(&self) -> bool {
        matches!(self, Outcome::Conflict { .. })
    }

    /// The outcome's name in lower case: `"advanced"`, `"duplicate"`, `"stale"` or
    /// `"conflict"`.
    ///
    /// ```
    /// use hpp_status::{Observation, Status, Tracker};
    ///
    /// let mut tracker = Tracker::new();
    /// assert_eq!(tracker.observe(Observation::new(Status::Back, 1)).kind(), "advanced");
    /// ```
    pub const fn kind(&self) -> &'static str {
        match self {
            Outcome::Advanced { .. } => "advanced",
            Outcome::Duplicate { .. } => "duplicate",
            Outcome::Stale { .. } => "stale",
            Outcome::Conflict { .. } => "conflict",
        }
    }
}

/// What a delivery means to a tracker that holds an observation: the kind of [`Outcome`],
/// and whether the delivery replaces what the tracker held.
#[derive(Clone, Copy)]
struct Verdict {
    kind: Kind,
    replaced: bool,
}

/// The kind of an [`Outcome`].
#[derive(Clone, Copy)]
enum Kind {
    Advanced,
    Duplicate,
    Stale,
    Conflict,
}

impl Verdict {
    /// The verdict on a delivery of `seen` to a tracker holding `held`, `by_time` being how
    /// the delivery's `updated_at` compares with the held one's: from [`VERDICTS`].
    fn of(held: Status, seen: Status, by_time: Ordering) -> Verdict {
        let time = match by_time {
            Ordering::Less => 0,
            Ordering::Equal => 1,
            Ordering::Greater => 2,
        };
        VERDICTS[held.index()][seen.index()][time]
    }

    /// The verdict worked out from the rules: the delivery replaces what is held when it has
    /// precedence; it is a duplicate when it repeats what is held, else a conflict when the
    /// two are not consistent, else an advance when it replaces and stale when it does not.
    const fn new(held: Status, seen: Status, by_time: Ordering) -> Verdict {
        let replaced = precedence(seen, held, by_time).is_gt();
        let kind = if repeats(seen, held, by_time) {
            Kind::Duplicate
        } else if !consistency(seen, held, by_time) {
            Kind::Conflict
        } else if replaced {
            Kind::Advanced
        } else {
            Kind::Stale
        };
        Verdict { kind, replaced }
    }
}

/// [`Verdict::new`] for every held status, delivered status and order of their timestamps
/// (`Less`, `Equal`, `Greater`): all a delivery's outcome depends on besides the
/// observations themselves, so that [`Tracker::observe`] is one comparison and one lookup.
const VERDICTS: [[[Verdict; 3]; STATUSES]; STATUSES] = {
    let by_times = [Ordering::Less, Ordering::Equal, Ordering::Greater];
    // Every entry is overwritten below.
    let unset = Verdict {
        kind: Kind::Duplicate,
        replaced: false,
    };
    let mut verdicts = [[[unset; 3]; STATUSES]; STATUSES];
    let mut held = 0;
    while held < STATUSES {
        let mut seen = 0;
        while seen < STATUSES {
            let mut time = 0;
            while time < by_times.len() {
                verdicts[held][seen][time] =
                    Verdict::new(Status::ALL[held], Status::ALL[seen], by_times[time]);
                time += 1;
            }
            seen += 1;
        }
        held += 1;
    }
    verdicts
};

/// What a batch should do with a session: see [`Tracker::disposition`].
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Disposition {
    /// The session is final: done, never re-read it.
    Final(Status),
    /// Not final and not expired (or never observed and not expired): re-read it.
    Open,
    /// Past `expires_at` and not final: Read Session answers 404 now; stop polling. The
    /// session ended without a final status (the consumer never finished).
    Expired,
}
