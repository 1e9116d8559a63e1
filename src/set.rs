//! [`StatusSet`]: a set of statuses in one byte.

use core::fmt;
use core::iter::FusedIterator;

use crate::Status;

/// A set of [`Status`]es, one bit per status; `Copy`, one byte, iterates in
/// [`Status::ALL`] order.
///
/// `Ord` compares the bit masks ([`bits`](StatusSet::bits)), so that sets can be map keys;
/// it is not inclusion (use [`union`](StatusSet::union) and `==` for that).
///
/// ```
/// use hpp_status::{Status, StatusSet};
///
/// let open = StatusSet::EMPTY
///     .with(Status::Failed)
///     .with(Status::Back)
///     .with(Status::Error);
/// assert!(open.contains(Status::Back));
/// assert_eq!(open.len(), 3);
/// assert_eq!(open.to_string(), "FAILED | BACK | ERROR");
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct StatusSet(u8);

impl StatusSet {
    /// The set with no status.
    pub const EMPTY: StatusSet = StatusSet(0);

    /// The set of all eight statuses.
    ///
    /// ```
    /// use hpp_status::StatusSet;
    ///
    /// assert_eq!(StatusSet::ALL.len(), 8);
    /// ```
    pub const ALL: StatusSet = StatusSet(u8::MAX);

    /// The set holding only `status`.
    ///
    /// ```
    /// use hpp_status::{Status, StatusSet};
    ///
    /// assert_eq!(StatusSet::only(Status::Back).len(), 1);
    /// ```
    #[must_use]
    pub const fn only(status: Status) -> StatusSet {
        StatusSet(1 << status as u8)
    }

    /// This set with `status` added.
    ///
    /// ```
    /// use hpp_status::{Status, StatusSet};
    ///
    /// assert!(StatusSet::EMPTY.with(Status::Error).contains(Status::Error));
    /// ```
    #[must_use]
    pub const fn with(self, status: Status) -> StatusSet {
        StatusSet(self.0 | StatusSet::only(status).0)
    }

    /// This set with `status` removed.
    ///
    /// ```
    /// use hpp_status::{Status, StatusSet};
    ///
    /// assert_eq!(StatusSet::ALL.without(Status::Waiting).len(), 7);
    /// ```
    #[must_use]
    pub const fn without(self, status: Status) -> StatusSet {
        StatusSet(self.0 & !StatusSet::only(status).0)
    }

    /// The statuses in either set.
    ///
    /// ```
    /// use hpp_status::{Status, StatusSet};
    ///
    /// let both = StatusSet::only(Status::Back).union(StatusSet::only(Status::Error));
    /// assert_eq!(both.len(), 2);
    /// ```
    #[must_use]
    pub const fn union(self, other: StatusSet) -> StatusSet {
        StatusSet(self.0 | other.0)
    }

    /// Whether `status` is in the set.
    ///
    /// ```
    /// use hpp_status::{Status, StatusSet};
    ///
    /// assert!(!StatusSet::EMPTY.contains(Status::Waiting));
    /// assert!(StatusSet::ALL.contains(Status::Waiting));
    /// ```
    #[must_use]
    pub const fn contains(self, status: Status) -> bool {
        self.0 & StatusSet::only(status).0 != 0
    }

    /// How many statuses the set holds.
    ///
    /// ```
    /// use hpp_status::{Status, StatusSet};
    ///
    /// assert_eq!(StatusSet::only(Status::Back).len(), 1);
    /// ```
    #[must_use]
    pub const fn len(self) -> usize {
        self.0.count_ones() as usize
    }

    /// Whether the set holds no status.
    ///
    /// ```
    /// use hpp_status::{Status, StatusSet};
    ///
    /// assert!(StatusSet::EMPTY.is_empty());
    /// assert!(!StatusSet::only(Status::Back).is_empty());
    /// ```
    #[must_use]
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The set as a bit mask: bit `i` stands for `Status::ALL[i]`.
    ///
    /// ```
    /// use hpp_status::{Status, StatusSet};
    ///
    /// assert_eq!(StatusSet::only(Status::InProgress).bits(), 0b10);
    /// ```
    #[must_use]
    pub const fn bits(self) -> u8 {
        self.0
    }

    /// The statuses of the set, in [`Status::ALL`] order.
    ///
    /// ```
    /// use hpp_status::Status;
    ///
    /// let mut next = Status::InProgress.successors().iter();
    /// assert_eq!(next.next(), Some(Status::Completed));
    /// assert_eq!(next.len(), 5);
    /// ```
    #[must_use]
    pub const fn iter(self) -> Iter {
        Iter(self.0)
    }
}

impl FromIterator<Status> for StatusSet {
    fn from_iter<I: IntoIterator<Item = Status>>(statuses: I) -> StatusSet {
        statuses.into_iter().fold(StatusSet::EMPTY, StatusSet::with)
    }
}

impl IntoIterator for StatusSet {
    type Item = Status;
    type IntoIter = Iter;

    fn into_iter(self) -> Iter {
        self.iter()
    }
}

impl fmt::Debug for StatusSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}

impl fmt::Display for StatusSet {
    /// The wire names joined by ` | `, or `∅` for the empty set.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_empty() {
            return f.write_str("∅");
        }
        for (i, status) in self.iter().enumerate() {
            if i > 0 {
                f.write_str(" | ")?;
            }
            f.write_str(status.as_str())?;
        }
        Ok(())
    }
}

/// The iterator of [`StatusSet::iter`], in [`Status::ALL`] order.
#[derive(Clone, Debug)]
pub struct Iter(u8);

impl Iterator for Iter {
    type Item = Status;

    fn next(&mut self) -> Option<Status> {
        if self.0 == 0 {
            return None;
        }
        let index = self.0.trailing_zeros() as usize;
        self.0 &= self.0 - 1; // clear the lowest set bit
        Some(Status::ALL[index])
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let len = self.0.count_ones() as usize;
        (len, Some(len))
    }
}

impl ExactSizeIterator for Iter {}
impl FusedIterator for Iter {}
