//! [`Tracker`]: one trustworthy status from deliveries in any order, and its [`Outcome`]s.

use core::cmp::Ordering;
use core::fmt;

use crate::names::named_enum;
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
///
/// # Storing a tracker
///
/// A tracker is safe to persist between deliveries (feature `serde`): its stored form is
/// `{"latest":null}` before the first observation and
/// `{"latest":{"status":"COMPLETED","updated_at":...}}` after, and it is strict: a missing
/// field, an unknown field or an unknown status is an error, never a silently reset
/// tracker (which would make [`became_final`](Outcome::became_final) fire again). This
/// form is stable: a change to it is a breaking change of the crate.
///
/// ```
/// # #[cfg(feature = "wire")] {
/// use hpp_status::{Observation, Status, Tracker};
///
/// let tracker: Tracker<i64> = Tracker::from(Observation::new(Status::Back, 1_557_759_106_288));
/// let stored = serde_json::to_string(&tracker).unwrap();
/// assert_eq!(stored, r#"{"latest":{"status":"BACK","updated_at":1557759106288}}"#);
/// assert_eq!(serde_json::from_str::<Tracker<i64>>(&stored).unwrap(), tracker);
/// assert!(serde_json::from_str::<Tracker<i64>>("{}").is_err());
/// assert!(serde_json::from_str::<Tracker<i64>>(r#"{"v":2,"latest":null}"#).is_err());
/// # }
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(deny_unknown_fields))]
pub struct Tracker<T> {
    // `deserialize_with` makes the field required: serde would read a missing `Option`
    // field as `None`, and a renamed field would silently reset the tracker.
    #[cfg_attr(
        feature = "serde",
        serde(
            deserialize_with = "serde::Deserialize::deserialize",
            bound(deserialize = "T: serde::Deserialize<'de>")
        )
    )]
    latest: Option<Observation<T>>,
}

impl<T> From<Observation<T>> for Tracker<T> {
    /// A tracker that has seen `seen` and nothing else, such as one rebuilt from storage.
    ///
    /// ```
    /// use hpp_status::{Observation, Status, Tracker};
    ///
    /// let tracker = Tracker::from(Observation::new(Status::Failed, 4));
    /// assert_eq!(tracker.status(), Some(Status::Failed));
    /// ```
    fn from(seen: Observation<T>) -> Tracker<T> {
        Tracker { latest: Some(seen) }
    }
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
    /// Returns what `other`'s observation meant to `self` (as [`observe`](Tracker::observe)
    /// would say), or `None` when `other` has seen nothing: a compare-and-swap loop can tell
    /// whether anything changed, and whether the merge made the session final.
    ///
    /// ```
    /// use hpp_status::{Observation, OutcomeKind, Status, Tracker};
    ///
    /// let (mut web, mut batch) = (Tracker::new(), Tracker::new());
    /// web.observe(Observation::new(Status::Back, 2));
    /// batch.observe(Observation::new(Status::Completed, 3));
    /// let outcome = web.merge(&batch).unwrap();
    /// assert!(outcome.became_final());
    /// assert_eq!(web.status(), Some(Status::Completed));
    /// assert_eq!(web.merge(&batch).map(|o| o.kind()), Some(OutcomeKind::Duplicate));
    /// assert_eq!(web.merge(&Tracker::new()), None);
    /// ```
    pub fn merge(&mut self, other: &Tracker<T>) -> Option<Outcome<T>> {
        let seen = other.latest.as_ref()?;
        Some(self.observe(seen.clone()))
    }

    /// What to do with the session next, at `now`, given its [`Expiry`] (`None` when it is
    /// not known: the session is then treated as never expiring). `now` and the expiry are
    /// on the same clock as the observations.
    ///
    /// After `expires_at`, Read Session answers 404 and a status that no callback brought is
    /// lost to the merchant: the last read must come before it. The expiry's last-read
    /// window says when that read is due ([`Disposition::ReadBeforeExpiry`]).
    ///
    /// ```
    /// use hpp_status::{Disposition, Expiry, Observation, Status, Tracker};
    ///
    /// let mut tracker = Tracker::new();
    /// tracker.observe(Observation::new(Status::Back, 10));
    /// let expiry = Expiry::new(100, 90); // expires at 100, read once more from 90 on
    /// assert_eq!(tracker.disposition(&50, Some(&expiry)), Disposition::Open);
    /// assert_eq!(tracker.disposition(&95, Some(&expiry)), Disposition::ReadBeforeExpiry);
    /// assert_eq!(tracker.disposition(&100, Some(&expiry)), Disposition::Expired);
    /// assert_eq!(tracker.disposition(&100, None), Disposition::Open); // expiry unknown
    /// tracker.observe(Observation::new(Status::Disabled, 60));
    /// assert_eq!(tracker.disposition(&100, Some(&expiry)), Disposition::Final(Status::Disabled));
    /// ```
    pub fn disposition(&self, now: &T, expiry: Option<&Expiry<T>>) -> Disposition {
        if let Some(status) = self.status().filter(|status| status.is_final()) {
            return Disposition::Final(status);
        }
        match expiry {
            Some(expiry) if *now >= expiry.expires_at => Disposition::Expired,
            Some(expiry) if *now >= expiry.last_read_from => Disposition::ReadBeforeExpiry,
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
/// `current` / `kept` is always what the tracker holds after the delivery. The four
/// outcomes partition every case (SPEC §4.3), so the enum is exhaustive: match it whole.
///
/// `Display` starts with the [`kind`](Outcome::kind); with `serde`, the outcome is an object
/// tagged with the same name:
///
/// ```
/// # #[cfg(feature = "wire")] {
/// use hpp_status::{Observation, Status, Tracker};
///
/// let mut tracker = Tracker::new();
/// tracker.observe(Observation::new(Status::Completed, 30));
/// let late = tracker.observe(Observation::new(Status::InProgress, 10));
/// assert_eq!(late.to_string(), "stale: IN_PROGRESS@10 arrived after COMPLETED@30");
/// assert_eq!(
///     serde_json::to_string(&late).unwrap(),
///     r#"{"kind":"stale","current":{"status":"COMPLETED","updated_at":30},"stale":{"status":"IN_PROGRESS","updated_at":10}}"#
/// );
/// # }
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
// Reading a tagged enum back buffers its fields, which needs `alloc`: `wire` or `std` bring it.
#[cfg_attr(
    all(feature = "serde", any(feature = "wire", feature = "std")),
    derive(serde::Deserialize)
)]
#[cfg_attr(feature = "serde", serde(tag = "kind", rename_all = "snake_case"))]
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

    /// Which of the four outcomes this is.
    ///
    /// ```
    /// use hpp_status::{Observation, OutcomeKind, Status, Tracker};
    ///
    /// let mut tracker = Tracker::new();
    /// assert_eq!(tracker.observe(Observation::new(Status::Back, 1)).kind(), OutcomeKind::Advanced);
    /// ```
    pub const fn kind(&self) -> OutcomeKind {
        match self {
            Outcome::Advanced { .. } => OutcomeKind::Advanced,
            Outcome::Duplicate { .. } => OutcomeKind::Duplicate,
            Outcome::Stale { .. } => OutcomeKind::Stale,
            Outcome::Conflict { .. } => OutcomeKind::Conflict,
        }
    }
}

impl<T: fmt::Display> fmt::Display for Outcome<T> {
    /// The kind, then what happened, such as
    /// `advanced: IN_PROGRESS@... -> COMPLETED@...` or
    /// `conflict: COMPLETED@... and CANCELLED@... cannot both come from one legal history; keeping COMPLETED@...`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: ", self.kind())?;
        match self {
            Outcome::Advanced {
                previous: None,
                current,
            } => write!(f, "{current}, the first observation"),
            Outcome::Advanced {
                previous: Some(previous),
                current,
            } => write!(f, "{previous} -> {current}"),
            Outcome::Duplicate { current } => write!(f, "{current} again"),
            Outcome::Stale { current, stale } => write!(f, "{stale} arrived after {current}"),
            Outcome::Conflict { kept, rejected, .. } => write!(
                f,
                "{kept} and {rejected} cannot both come from one legal history; keeping {kept}"
            ),
        }
    }
}

/// The kind of an [`Outcome`], without its observations: see [`Outcome::kind`].
///
/// `Display` and serde write the same lower-case name.
///
/// ```
/// use hpp_status::OutcomeKind;
///
/// assert_eq!(OutcomeKind::Duplicate.to_string(), "duplicate");
/// assert_eq!(OutcomeKind::ALL.len(), 4);
/// ```
#[derive(
    Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, strum::EnumCount, strum::VariantNames,
)]
// The names come from the variant names, here and nowhere else (see `as_str`).
#[strum(serialize_all = "snake_case")]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum OutcomeKind {
    /// See [`Outcome::Advanced`].
    Advanced,
    /// See [`Outcome::Duplicate`].
    Duplicate,
    /// See [`Outcome::Stale`].
    Stale,
    /// See [`Outcome::Conflict`].
    Conflict,
}

named_enum!(OutcomeKind);

impl OutcomeKind {
    /// The four kinds, in declaration order.
    pub const ALL: [OutcomeKind; 4] = [
        OutcomeKind::Advanced,
        OutcomeKind::Duplicate,
        OutcomeKind::Stale,
        OutcomeKind::Conflict,
    ];

    /// The kind's name in lower case: `"advanced"`, `"duplicate"`, `"stale"` or `"conflict"`.
    ///
    /// ```
    /// use hpp_status::OutcomeKind;
    ///
    /// assert_eq!(OutcomeKind::Conflict.as_str(), "conflict");
    /// ```
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        <OutcomeKind as strum::VariantNames>::VARIANTS[self as usize]
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

/// When a session expires, and from when its last read is due: see
/// [`Tracker::disposition`].
///
/// After `expires_at` Read Session answers 404, so a status no callback brought (a
/// completion in the last minutes, its callback lost) is found only by a read before it.
/// `last_read_from` opens the window for that read; it is never after `expires_at`.
///
/// ```
/// use hpp_status::Expiry;
///
/// let expiry = Expiry::new(100, 90);
/// assert_eq!((*expiry.expires_at(), *expiry.last_read_from()), (100, 90));
/// assert_eq!(*Expiry::new(100, 120).last_read_from(), 100); // never after expiry
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct Expiry<T> {
    expires_at: T,
    last_read_from: T,
}

impl<T: Ord + Clone> Expiry<T> {
    /// A session that expires at `expires_at`, whose last read is due from
    /// `last_read_from` on (moved back to `expires_at` when it is later).
    pub fn new(expires_at: T, last_read_from: T) -> Expiry<T> {
        let last_read_from = if last_read_from > expires_at {
            expires_at.clone()
        } else {
            last_read_from
        };
        Expiry {
            expires_at,
            last_read_from,
        }
    }
}

impl<T> Expiry<T> {
    /// When Read Session starts answering 404.
    pub const fn expires_at(&self) -> &T {
        &self.expires_at
    }

    /// From when the last read before expiry is due.
    pub const fn last_read_from(&self) -> &T {
        &self.last_read_from
    }
}

/// What a batch should do with a session: see [`Tracker::disposition`].
///
/// `Display` writes the same snake-case name serde uses as the tag, followed, for
/// [`Final`](Disposition::Final), by the status:
///
/// ```
/// # #[cfg(feature = "wire")] {
/// use hpp_status::{Disposition, Status};
///
/// assert_eq!(Disposition::ReadBeforeExpiry.to_string(), "read_before_expiry");
/// assert_eq!(Disposition::Final(Status::Completed).to_string(), "final COMPLETED");
/// assert_eq!(
///     serde_json::to_string(&Disposition::Final(Status::Completed)).unwrap(),
///     r#"{"kind":"final","status":"COMPLETED"}"#
/// );
/// # }
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
// Reading a tagged enum back buffers its fields, which needs `alloc`: `wire` or `std` bring it.
#[cfg_attr(
    all(feature = "serde", any(feature = "wire", feature = "std")),
    derive(serde::Deserialize)
)]
#[cfg_attr(
    feature = "serde",
    serde(tag = "kind", content = "status", rename_all = "snake_case")
)]
#[non_exhaustive]
pub enum Disposition {
    /// The session is final: done, never re-read it.
    Final(Status),
    /// Not final, and its last read is not due yet (or its expiry is unknown): re-read it on
    /// your schedule.
    Open,
    /// Not final, and expiry is near: read it once more now, before `expires_at`, or a
    /// status no callback brought is lost.
    ReadBeforeExpiry,
    /// Past `expires_at` and not final: Read Session answers 404 now, so stop reading. The
    /// last read before expiry had the last word; a late callback may still bring a final
    /// status.
    Expired,
}

impl Disposition {
    /// The name serde uses as the tag: `"final"`, `"open"`, `"read_before_expiry"` or
    /// `"expired"`.
    ///
    /// ```
    /// use hpp_status::Disposition;
    ///
    /// assert_eq!(Disposition::Expired.as_str(), "expired");
    /// ```
    #[must_use]
    pub const fn as_str(&self) -> &'static str {
        match self {
            Disposition::Final(_) => "final",
            Disposition::Open => "open",
            Disposition::ReadBeforeExpiry => "read_before_expiry",
            Disposition::Expired => "expired",
        }
    }
}

impl fmt::Display for Disposition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Disposition::Final(status) => write!(f, "{} {status}", self.as_str()),
            _ => f.write_str(self.as_str()),
        }
    }
}
