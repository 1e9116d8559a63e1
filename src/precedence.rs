//! [`PrecedenceKey`]: precedence as bytes a database can sort, and [`SortableTime`], the
//! timestamps it can encode.
//!
//! A database cannot run [`Observation::cmp_precedence`], but it can compare byte strings
//! (Postgres `bytea`, SQLite BLOBs, any sorted key-value store). An observation's key compares,
//! byte by byte, exactly as the observation compares by precedence, and equal keys mean equal
//! observations; so a session store can keep the maximum of every delivery in the database,
//! and read the observation back from the key alone. The layout is on [`PrecedenceKey`].
//!
//! ```
//! use hpp_status::{Observation, Status};
//!
//! let back = Observation::new(Status::Back, 1_700_000_000_123_i64);
//! let completed = Observation::new(Status::Completed, 1_700_000_000_456_i64);
//! let later_disabled = Observation::new(Status::Disabled, 1_700_000_000_789_i64);
//! assert!(back.precedence_key() < completed.precedence_key());
//! assert!(later_disabled.precedence_key() < completed.precedence_key()); // the first final wins
//! assert_eq!(Observation::<i64>::from_precedence_key(completed.precedence_key().as_bytes()), Ok(completed));
//! ```

use core::fmt;

use crate::{Observation, Phase, Status};

/// A timestamp type whose instants a [`PrecedenceKey`] can encode: its instants map to whole
/// seconds since the Unix epoch and nanoseconds, in a way that keeps their order.
///
/// Implemented for `i64` and `u64` (milliseconds since the Unix epoch), and with feature
/// `wire` for `jiff::Timestamp` and `wire::Timestamp`.
///
/// An implementation must be **strictly monotone** (`a < b` exactly when
/// `a.to_seconds_nanos() < b.to_seconds_nanos()`, compared as tuples) and
/// [`from_seconds_nanos`](SortableTime::from_seconds_nanos) must invert it, returning `None`
/// for every pair it does not produce; then keys sort as precedence and decode back exactly.
///
/// ```
/// use hpp_status::SortableTime;
///
/// // Milliseconds before the epoch floor to the previous second, as a sort needs.
/// assert_eq!((-1_i64).to_seconds_nanos(), (-1, 999_000_000));
/// assert_eq!(i64::from_seconds_nanos(-1, 999_000_000), Some(-1));
/// assert_eq!(i64::from_seconds_nanos(0, 1), None); // finer than a millisecond
/// ```
pub trait SortableTime: Ord + Sized {
    /// The instant as whole seconds since the Unix epoch (rounded down, also before the
    /// epoch) and the nanoseconds after them, in `0..1_000_000_000`.
    ///
    /// ```
    /// use hpp_status::SortableTime;
    ///
    /// assert_eq!(1_500_i64.to_seconds_nanos(), (1, 500_000_000));
    /// ```
    fn to_seconds_nanos(&self) -> (i64, u32);

    /// The instant `seconds` + `nanoseconds` after the Unix epoch, or `None` when this type
    /// cannot hold it exactly (out of its range, finer than its resolution, or
    /// `nanoseconds >= 1_000_000_000`).
    ///
    /// ```
    /// use hpp_status::SortableTime;
    ///
    /// assert_eq!(u64::from_seconds_nanos(2, 5_000_000), Some(2_005));
    /// assert_eq!(u64::from_seconds_nanos(-1, 0), None); // before the epoch
    /// ```
    fn from_seconds_nanos(seconds: i64, nanoseconds: u32) -> Option<Self>;
}

/// Nanoseconds in a second.
const NANOS_PER_SECOND: u32 = 1_000_000_000;
/// Nanoseconds in a millisecond.
const NANOS_PER_MILLI: u32 = 1_000_000;

/// `i128` milliseconds for a `(seconds, nanoseconds)` pair that is a whole number of them.
fn milliseconds(seconds: i64, nanoseconds: u32) -> Option<i128> {
    if nanoseconds >= NANOS_PER_SECOND || !nanoseconds.is_multiple_of(NANOS_PER_MILLI) {
        return None;
    }
    Some(i128::from(seconds) * 1000 + i128::from(nanoseconds / NANOS_PER_MILLI))
}

impl SortableTime for i64 {
    /// Milliseconds since the Unix epoch.
    ///
    /// ```
    /// use hpp_status::SortableTime;
    ///
    /// assert_eq!(i64::MIN.to_seconds_nanos(), (-9_223_372_036_854_776, 192_000_000));
    /// ```
    fn to_seconds_nanos(&self) -> (i64, u32) {
        // The remainder is in 0..1000, so the casts cannot truncate.
        (
            self.div_euclid(1000),
            self.rem_euclid(1000) as u32 * NANOS_PER_MILLI,
        )
    }

    /// Milliseconds since the Unix epoch.
    ///
    /// ```
    /// use hpp_status::SortableTime;
    ///
    /// assert_eq!(i64::from_seconds_nanos(-9_223_372_036_854_776, 192_000_000), Some(i64::MIN));
    /// assert_eq!(i64::from_seconds_nanos(-9_223_372_036_854_776, 191_000_000), None);
    /// ```
    fn from_seconds_nanos(seconds: i64, nanoseconds: u32) -> Option<i64> {
        i64::try_from(milliseconds(seconds, nanoseconds)?).ok()
    }
}

impl SortableTime for u64 {
    /// Milliseconds since the Unix epoch (the timestamps of [`strategy`](crate::strategy)
    /// when feature `proptest` is on).
    ///
    /// ```
    /// use hpp_status::SortableTime;
    ///
    /// assert_eq!(u64::MAX.to_seconds_nanos(), (18_446_744_073_709_551, 615_000_000));
    /// ```
    fn to_seconds_nanos(&self) -> (i64, u32) {
        // u64::MAX / 1000 < i64::MAX and the remainder is below 1000: no cast truncates.
        ((self / 1000) as i64, (self % 1000) as u32 * NANOS_PER_MILLI)
    }

    /// Milliseconds since the Unix epoch.
    ///
    /// ```
    /// use hpp_status::SortableTime;
    ///
    /// assert_eq!(u64::from_seconds_nanos(18_446_744_073_709_551, 615_000_000), Some(u64::MAX));
    /// assert_eq!(u64::from_seconds_nanos(18_446_744_073_709_551, 616_000_000), None);
    /// ```
    fn from_seconds_nanos(seconds: i64, nanoseconds: u32) -> Option<u64> {
        u64::try_from(milliseconds(seconds, nanoseconds)?).ok()
    }
}

#[cfg(feature = "wire")]
impl SortableTime for jiff::Timestamp {
    /// ```
    /// use hpp_status::SortableTime;
    ///
    /// let before_epoch = jiff::Timestamp::new(-1, -1).unwrap(); // 1 s and 1 ns before
    /// assert_eq!(before_epoch.to_seconds_nanos(), (-2, 999_999_999));
    /// ```
    fn to_seconds_nanos(&self) -> (i64, u32) {
        let nanoseconds = self.as_nanosecond();
        let per_second = i128::from(NANOS_PER_SECOND);
        // jiff's range is about ±3.8e11 seconds, and the remainder is below 1e9: no cast
        // truncates.
        (
            nanoseconds.div_euclid(per_second) as i64,
            nanoseconds.rem_euclid(per_second) as u32,
        )
    }

    /// ```
    /// use hpp_status::SortableTime;
    ///
    /// assert_eq!(jiff::Timestamp::from_seconds_nanos(-2, 999_999_999), jiff::Timestamp::new(-1, -1).ok());
    /// assert_eq!(jiff::Timestamp::from_seconds_nanos(i64::MAX, 0), None); // past year 9999
    /// ```
    fn from_seconds_nanos(seconds: i64, nanoseconds: u32) -> Option<jiff::Timestamp> {
        if nanoseconds >= NANOS_PER_SECOND {
            return None;
        }
        let total = i128::from(seconds) * i128::from(NANOS_PER_SECOND) + i128::from(nanoseconds);
        jiff::Timestamp::from_nanosecond(total).ok()
    }
}

#[cfg(feature = "wire")]
impl SortableTime for crate::wire::Timestamp {
    /// ```
    /// use hpp_status::SortableTime;
    /// use hpp_status::wire::Timestamp;
    ///
    /// let t: Timestamp = "1970-01-01T00:00:01.5Z".parse()?;
    /// assert_eq!(t.to_seconds_nanos(), (1, 500_000_000));
    /// # Ok::<(), hpp_status::wire::ParseTimestampError>(())
    /// ```
    fn to_seconds_nanos(&self) -> (i64, u32) {
        self.unix()
    }

    /// ```
    /// use hpp_status::SortableTime;
    /// use hpp_status::wire::Timestamp;
    ///
    /// let t = Timestamp::from_seconds_nanos(1, 500_000_000).unwrap();
    /// assert_eq!(t.to_string(), "1970-01-01T00:00:01.500Z");
    /// ```
    fn from_seconds_nanos(seconds: i64, nanoseconds: u32) -> Option<crate::wire::Timestamp> {
        crate::wire::Timestamp::from_unix(seconds, nanoseconds)
    }
}

/// An [`Observation`]'s precedence as [`LEN`](PrecedenceKey::LEN) bytes: comparing two keys'
/// bytes lexicographically gives exactly [`Observation::cmp_precedence`], and equal keys
/// mean equal observations. `Ord` on keys is that byte order.
///
/// A database cannot run `cmp_precedence`, but it can compare byte strings (Postgres
/// `bytea`, SQLite BLOBs, a sorted key-value store), so a session store can keep the maximum
/// of every delivery in one conditional write, and read the observation back from the key
/// alone ([`Observation::from_precedence_key`]).
///
/// # Layout
///
/// [`PrecedenceKey::LEN`] = 14 bytes, every field big-endian so that byte order is numeric
/// order:
///
/// | bytes | field | value |
/// |---|---|---|
/// | 0 | phase | 1 `WAITING`, 2 open, 3 final |
/// | 1..9 | seconds | `updated_at`'s whole seconds since the Unix epoch (floor), an `i64` with its sign bit flipped so that negative sorts before positive |
/// | 9..13 | nanoseconds | the rest, `0..1_000_000_000`, a `u32` |
/// | 13 | tie rank | [`Status::tie_rank`] (0 to 7, one per status) |
///
/// For a final status, bytes 1..13 (the time) are bitwise inverted, so that the *earlier*
/// final sorts greater, as precedence wants. The status is recovered from the phase and the
/// tie rank.
///
/// ```
/// use hpp_status::{Observation, Status};
///
/// let key = Observation::new(Status::InProgress, 1_000_i64).precedence_key();
/// assert_eq!(key.as_bytes().len(), 14);
/// assert_eq!(key.as_bytes()[0], 2); // open
/// assert_eq!(key.as_bytes()[13], Status::InProgress.tie_rank());
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PrecedenceKey([u8; PrecedenceKey::LEN]);

impl PrecedenceKey {
    /// The length of every key, in bytes.
    ///
    /// ```
    /// use hpp_status::{Observation, PrecedenceKey, Status};
    ///
    /// let key = Observation::new(Status::Waiting, 0_i64).precedence_key();
    /// assert_eq!(key.as_bytes().len(), PrecedenceKey::LEN);
    /// ```
    pub const LEN: usize = 14;

    /// The bound between final and other keys: a key is a final observation's
    /// (`COMPLETED`, `CANCELLED`, `DISABLED`) exactly when it is at least this, because
    /// byte 0 is the phase and final is the greatest phase. It lets a database tell a final
    /// key by comparing whole keys (`held >= $bound`), without reading bytes of it.
    ///
    /// A bound, not the key of any observation (its time field is past every time a key
    /// can hold): [`Observation::from_precedence_key`] refuses it.
    ///
    /// ```
    /// use hpp_status::{Observation, PrecedenceKey, Status};
    ///
    /// for status in Status::ALL {
    ///     for at in [i64::MIN, -1, 0, 1_700_000_000_000, i64::MAX] {
    ///         let key = Observation::new(status, at).precedence_key();
    ///         assert_eq!(key >= PrecedenceKey::MIN_FINAL, status.is_final(), "{status} at {at}");
    ///     }
    /// }
    /// assert!(Observation::<i64>::from_precedence_key(PrecedenceKey::MIN_FINAL.as_bytes()).is_err());
    /// ```
    pub const MIN_FINAL: PrecedenceKey = {
        let mut key = [0; PrecedenceKey::LEN];
        key[PHASE] = phase_byte(Phase::Final);
        PrecedenceKey(key)
    };

    /// The key's bytes, to store in a `bytea` or BLOB column.
    ///
    /// ```
    /// use hpp_status::{Observation, Status};
    ///
    /// let key = Observation::new(Status::Waiting, 0_i64).precedence_key();
    /// // Phase 1, then zero seconds with the sign bit flipped, zero nanoseconds, rank 0.
    /// assert_eq!(key.as_bytes(), &[1, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    /// ```
    #[must_use]
    pub const fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl AsRef<[u8]> for PrecedenceKey {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for PrecedenceKey {
    /// The bytes in hexadecimal, as Postgres writes a `bytea`: `PrecedenceKey(\x0180...)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PrecedenceKey(\\x")?;
        for byte in self.0 {
            write!(f, "{byte:02x}")?;
        }
        f.write_str(")")
    }
}

/// Why bytes are not a [`PrecedenceKey`] of an observation of the wanted time type.
///
/// ```
/// use hpp_status::{Observation, PrecedenceKeyError};
///
/// let error = Observation::<i64>::from_precedence_key(&[3; 13]).unwrap_err();
/// assert_eq!(error, PrecedenceKeyError::Length(13));
/// assert_eq!(error.to_string(), "a precedence key is 14 bytes long, not 13");
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PrecedenceKeyError {
    /// The bytes are not [`PrecedenceKey::LEN`] long.
    #[error("a precedence key is 14 bytes long, not {0}")]
    Length(usize),
    /// Byte 0 is not a phase (1, 2 or 3).
    #[error("byte 0 of a precedence key is a phase (1, 2 or 3), not {0}")]
    Phase(u8),
    /// The last byte is not the tie rank of a status of the phase of byte 0.
    #[error("tie rank {rank} is not the rank of a status of phase {phase}")]
    TieRank {
        /// The phase of byte 0.
        phase: Phase,
        /// The last byte.
        rank: u8,
    },
    /// The nanoseconds field is a second or more.
    #[error("the nanoseconds of a precedence key are below 1000000000, not {0}")]
    Nanoseconds(u32),
    /// The time is not one the observation's time type can hold exactly.
    #[error(
        "{seconds} s {nanoseconds} ns after the Unix epoch is not a time this key's type can hold"
    )]
    OutOfRange {
        /// Whole seconds since the Unix epoch.
        seconds: i64,
        /// Nanoseconds after them.
        nanoseconds: u32,
    },
}

/// Where the fields are in a key.
const PHASE: usize = 0;
const TIME: core::ops::Range<usize> = 1..13;
const NANOS_AT: usize = 9;
const RANK: usize = 13;

/// The byte that stands for `phase` in byte 0 of a key.
const fn phase_byte(phase: Phase) -> u8 {
    match phase {
        Phase::Waiting => 1,
        Phase::Open => 2,
        Phase::Final => 3,
    }
}

impl<T: SortableTime> Observation<T> {
    /// This observation's precedence as bytes a database can sort: see [`PrecedenceKey`].
    ///
    /// ```
    /// use hpp_status::{Observation, Status};
    ///
    /// let a = Observation::new(Status::Failed, 10_i64);
    /// let b = Observation::new(Status::InProgress, 10_i64);
    /// assert_eq!(a.precedence_key().cmp(&b.precedence_key()), a.cmp_precedence(&b));
    /// ```
    #[must_use]
    pub fn precedence_key(&self) -> PrecedenceKey {
        let mut key = [0; PrecedenceKey::LEN];
        let phase = self.status.phase();
        key[PHASE] = phase_byte(phase);
        let (seconds, nanoseconds) = self.updated_at.to_seconds_nanos();
        // Flipping the sign bit makes two's complement sort as unsigned bytes do.
        key[TIME.start..NANOS_AT].copy_from_slice(&(seconds ^ i64::MIN).to_be_bytes());
        key[NANOS_AT..TIME.end].copy_from_slice(&nanoseconds.to_be_bytes());
        if phase == Phase::Final {
            // The first final is the real one: earlier must sort greater.
            for byte in &mut key[TIME] {
                *byte = !*byte;
            }
        }
        key[RANK] = self.status.tie_rank();
        PrecedenceKey(key)
    }

    /// The observation a key was made from, or why `bytes` are not a key
    /// [`precedence_key`](Observation::precedence_key) makes for this time type. Never
    /// panics, whatever the bytes.
    ///
    /// ```
    /// use hpp_status::{Observation, PrecedenceKeyError, Status};
    /// use hpp_status::wire::Timestamp;
    ///
    /// let seen = Observation::new(Status::Completed, "2019-05-13T14:51:46.288123456Z".parse::<Timestamp>()?);
    /// let key = seen.precedence_key();
    /// assert_eq!(Observation::from_precedence_key(key.as_bytes()), Ok(seen));
    ///
    /// // A nanosecond time is not a millisecond one.
    /// assert!(matches!(
    ///     Observation::<i64>::from_precedence_key(key.as_bytes()),
    ///     Err(PrecedenceKeyError::OutOfRange { .. })
    /// ));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn from_precedence_key(bytes: &[u8]) -> Result<Observation<T>, PrecedenceKeyError> {
        let Ok(&key) = <&[u8; PrecedenceKey::LEN]>::try_from(bytes) else {
            return Err(PrecedenceKeyError::Length(bytes.len()));
        };
        let phase = match key[PHASE] {
            1 => Phase::Waiting,
            2 => Phase::Open,
            3 => Phase::Final,
            other => return Err(PrecedenceKeyError::Phase(other)),
        };
        let rank = key[RANK];
        let status = Status::ALL
            .into_iter()
            .find(|status| status.tie_rank() == rank && status.phase() == phase)
            .ok_or(PrecedenceKeyError::TieRank { phase, rank })?;
        let mut time = [0; 12];
        time.copy_from_slice(&key[TIME]);
        if phase == Phase::Final {
            for byte in &mut time {
                *byte = !*byte;
            }
        }
        let (mut seconds, mut nanoseconds) = ([0; 8], [0; 4]);
        seconds.copy_from_slice(&time[..8]);
        nanoseconds.copy_from_slice(&time[8..]);
        let seconds = i64::from_be_bytes(seconds) ^ i64::MIN;
        let nanoseconds = u32::from_be_bytes(nanoseconds);
        if nanoseconds >= NANOS_PER_SECOND {
            return Err(PrecedenceKeyError::Nanoseconds(nanoseconds));
        }
        let updated_at =
            T::from_seconds_nanos(seconds, nanoseconds).ok_or(PrecedenceKeyError::OutOfRange {
                seconds,
                nanoseconds,
            })?;
        Ok(Observation::new(status, updated_at))
    }
}
