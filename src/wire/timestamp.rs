//! [`Timestamp`]: an RFC 3339 instant as the HPP API writes it, read by a strict parser.

use core::cmp::Ordering;
use core::fmt;
use core::hash::{Hash, Hasher};
use core::num::NonZeroU32;
use core::str::FromStr;
use core::time::Duration;

use jiff::SignedDuration;
use jiff::civil::Date;
use serde::de::{Deserialize, Deserializer};
use serde::ser::{Serialize, Serializer};

use crate::Expiry;
use crate::parse::Quote;

/// Seconds in a day (UTC has no leap seconds here: see the module's grammar).
const SECONDS_PER_DAY: i64 = 86_400;
/// Nanoseconds in a second.
const NANOS_PER_SECOND: u32 = 1_000_000_000;
/// Nanoseconds in a millisecond.
const NANOS_PER_MILLI: u32 = 1_000_000;
/// `0000-01-01T00:00:00Z`, in seconds since the Unix epoch: the first second RFC 3339 can
/// write in UTC.
const UTC_FIRST_SECOND: i64 = -62_167_219_200;
/// `10000-01-01T00:00:00Z`: the first second RFC 3339 cannot write in UTC.
const UTC_END_SECOND: i64 = 253_402_300_800;
/// The widest offset RFC 3339 can write, `23:59`, in minutes.
const WIDEST_OFFSET: i16 = 23 * 60 + 59;
/// The civil date of the Unix epoch, from which `jiff` counts days.
const EPOCH: Date = Date::constant(1970, 1, 1);

/// An instant, read from RFC 3339 text (`2019-05-13T14:51:46.288Z`, or with a numeric
/// offset) by a strict parser (see [the grammar](#the-grammar) below), and
/// written back in the API's form: UTC with milliseconds, or with every digit it has when it
/// is finer than a millisecond, so that writing and reading back is exact.
///
/// Every text RFC 3339 can write is accepted, years 0000 to 9999 in every offset. An
/// instant whose UTC form would leave those years (`0000-01-01T00:00:00+01:00` is an hour
/// before year 0000 in UTC) is written back with the offset it was read with, so that the
/// text stays RFC 3339 and reads back the same.
///
/// Ordered, compared and hashed by the instant alone, so it serves as the `T` of an
/// [`Observation`](crate::Observation): two texts that name the same instant with different
/// offsets are `==`. In UTC's range, they are also written back the same (in UTC); outside
/// it, each is written back with its own offset (and each reads back `==` to itself).
///
/// ```
/// use hpp_status::wire::Timestamp;
///
/// let t: Timestamp = "2019-05-13T16:51:46.288+02:00".parse()?;
/// assert_eq!(t.to_string(), "2019-05-13T14:51:46.288Z");
/// assert!(t < "2019-05-13T14:51:46.289Z".parse()?);
/// assert_eq!(t, "2019-05-13T14:51:46.288Z".parse()?);
///
/// // The last day of year 9999, often a "never" sentinel, and the first of year 0000.
/// let never: Timestamp = "9999-12-31T23:59:59.000Z".parse()?;
/// assert_eq!(never.to_string(), "9999-12-31T23:59:59.000Z");
/// let first: Timestamp = "0000-01-01T00:00:00+01:00".parse()?;
/// assert_eq!(first.to_string(), "0000-01-01T00:00:00.000+01:00");
/// # Ok::<(), hpp_status::wire::ParseTimestampError>(())
/// ```
///
/// # The grammar
///
/// What is accepted is RFC 3339 §5.6 `date-time` exactly, and nothing else:
///
/// ```text
/// date-time   = date ("T" / "t") time offset
/// date        = YYYY "-" MM "-" DD              ; year 0000-9999, a day of that month
/// time        = hh ":" mm ":" ss ["." 1*9DIGIT] ; hh 00-23, mm 00-59, ss 00-59
/// offset      = "Z" / "z" / ("+" / "-") hh ":" mm
/// ```
///
/// Every field has exactly its number of digits. Refused, among others: the basic format
/// (`20190513T145146Z`), a missing seconds field (`2019-05-13T14Z`), a comma before the
/// fraction, offsets without their colon or minutes (`+0200`, `+02`), with seconds
/// (`+02:00:30`) or past 23:59 (`+24:00`), six-digit years (`+002019-...`), a time-zone
/// annotation (`...Z[Europe/Paris]`), a space for the `T`, and a missing offset.
///
/// Two choices narrow RFC 3339 and say why:
///
/// - **A leap second** (`23:59:60`) is refused. Neither the instants of this crate nor
///   `jiff`'s have leap seconds: keeping one would mean changing it (to `:59`, or to the next
///   minute) and so ordering it wrongly against the stamps around it. The HPP API writes UTC
///   from clocks that never show `:60`, so a refusal loses nothing real, and says so.
/// - **More than nine fraction digits** are refused: the crate keeps nanoseconds, and
///   rounding would change the instant (and could reorder two stamps).
#[derive(Clone, Copy)]
pub struct Timestamp {
    /// Whole seconds since the Unix epoch, rounded down.
    second: i64,
    /// One more than the nanoseconds after `second` (`1..=1_000_000_000`): never zero, so
    /// that an `Option<Timestamp>` is no larger than a `Timestamp` (a ledger holds several
    /// per session).
    nanosecond_plus_one: NonZeroU32,
    /// The offset to write the instant with, in minutes: 0 (UTC) whenever UTC can write it,
    /// else the offset of the text it was read from (or ±23:59 for an instant computed).
    offset: i16,
}

/// Why a [`Timestamp`] cannot be converted: the instant is outside the range of the other
/// type (`jiff::Timestamp` ends at `9999-12-30T22:00:00.999999999Z`; RFC 3339 text cannot
/// write years before 0000).
///
/// ```
/// use hpp_status::wire::Timestamp;
///
/// let never: Timestamp = "9999-12-31T23:59:59.000Z".parse()?;
/// let error = jiff::Timestamp::try_from(never).unwrap_err();
/// assert_eq!(error.to_string(), "9999-12-31T23:59:59.000Z is outside the range of jiff::Timestamp");
/// # Ok::<(), hpp_status::wire::ParseTimestampError>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, thiserror::Error)]
#[error("{instant} is outside the range of {target}")]
pub struct TimestampRangeError {
    /// The instant, as text (a `jiff::Timestamp` or a `wire::Timestamp`).
    instant: RangeInstant,
    /// The type it does not fit.
    target: &'static str,
}

/// The instant of a [`TimestampRangeError`], whichever type it came from.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
enum RangeInstant {
    Jiff(jiff::Timestamp),
    Wire(Timestamp),
}

impl fmt::Display for RangeInstant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RangeInstant::Jiff(instant) => write!(f, "{instant}"),
            RangeInstant::Wire(instant) => write!(f, "{instant}"),
        }
    }
}

impl Timestamp {
    /// The earliest instant RFC 3339 can write: `0000-01-01T00:00:00+23:59`.
    ///
    /// ```
    /// use hpp_status::wire::Timestamp;
    ///
    /// assert_eq!(Timestamp::MIN.to_string(), "0000-01-01T00:00:00.000+23:59");
    /// assert_eq!(Timestamp::MIN, "0000-01-01T00:00:00+23:59".parse()?);
    /// # Ok::<(), hpp_status::wire::ParseTimestampError>(())
    /// ```
    pub const MIN: Timestamp = Timestamp::raw(
        UTC_FIRST_SECOND - WIDEST_OFFSET as i64 * 60,
        0,
        WIDEST_OFFSET,
    );

    /// The latest instant RFC 3339 can write: `9999-12-31T23:59:59.999999999-23:59`.
    ///
    /// ```
    /// use hpp_status::wire::Timestamp;
    ///
    /// assert_eq!(Timestamp::MAX.to_string(), "9999-12-31T23:59:59.999999999-23:59");
    /// # Ok::<(), hpp_status::wire::ParseTimestampError>(())
    /// ```
    pub const MAX: Timestamp = Timestamp::raw(
        UTC_END_SECOND - 1 + WIDEST_OFFSET as i64 * 60,
        NANOS_PER_SECOND - 1,
        -WIDEST_OFFSET,
    );

    /// The fields as they are; the caller keeps the invariants (`nanosecond` below 1e9, and
    /// `offset` 0 exactly when UTC can write the instant).
    const fn raw(second: i64, nanosecond: u32, offset: i16) -> Timestamp {
        Timestamp {
            second,
            nanosecond_plus_one: NonZeroU32::MIN.saturating_add(nanosecond),
            offset,
        }
    }

    /// The instant `second` + `nanosecond` after the Unix epoch, read with `offset`: written
    /// back in UTC when UTC can write it, else with `offset`. The caller knows that RFC 3339
    /// can write it with `offset`.
    fn read_with(second: i64, nanosecond: u32, offset: i16) -> Timestamp {
        if (UTC_FIRST_SECOND..UTC_END_SECOND).contains(&second) {
            Timestamp::raw(second, nanosecond, 0)
        } else {
            Timestamp::raw(second, nanosecond, offset)
        }
    }

    /// The instant `second` + `nanosecond` after the Unix epoch (`second` rounded down, also
    /// before the epoch; `nanosecond` below 1,000,000,000), or `None` outside
    /// [`MIN`](Timestamp::MIN)..=[`MAX`](Timestamp::MAX). Outside UTC's years 0000-9999 it is
    /// written with the offset ±23:59.
    ///
    /// ```
    /// use hpp_status::wire::Timestamp;
    ///
    /// let t = Timestamp::from_unix(1_557_759_106, 288_000_000).unwrap();
    /// assert_eq!(t.to_string(), "2019-05-13T14:51:46.288Z");
    /// assert_eq!(Timestamp::from_unix(-1, 999_999_999).unwrap().to_string(), "1969-12-31T23:59:59.999999999Z");
    /// assert_eq!(Timestamp::from_unix(0, 1_000_000_000), None);
    /// assert_eq!(Timestamp::from_unix(i64::MAX, 0), None);
    /// ```
    #[must_use]
    pub fn from_unix(second: i64, nanosecond: u32) -> Option<Timestamp> {
        let in_range = (Timestamp::MIN.second..=Timestamp::MAX.second).contains(&second);
        if !in_range || nanosecond >= NANOS_PER_SECOND {
            return None;
        }
        let offset = if second < UTC_FIRST_SECOND {
            WIDEST_OFFSET
        } else if second >= UTC_END_SECOND {
            -WIDEST_OFFSET
        } else {
            0
        };
        Some(Timestamp::raw(second, nanosecond, offset))
    }

    /// The instant as whole seconds since the Unix epoch (rounded down, also before the
    /// epoch) and the nanoseconds after them, below 1,000,000,000: the inverse of
    /// [`from_unix`](Timestamp::from_unix), and the order of timestamps is the order of these
    /// pairs.
    ///
    /// ```
    /// use hpp_status::wire::Timestamp;
    ///
    /// let t: Timestamp = "1969-12-31T23:59:59.5Z".parse()?;
    /// assert_eq!(t.unix(), (-1, 500_000_000));
    /// # Ok::<(), hpp_status::wire::ParseTimestampError>(())
    /// ```
    #[must_use]
    pub const fn unix(self) -> (i64, u32) {
        (self.second, self.nanosecond())
    }

    /// The nanoseconds after the whole second.
    const fn nanosecond(self) -> u32 {
        self.nanosecond_plus_one.get() - 1
    }

    /// The system clock's current instant (feature `std`), to the millisecond, as the API
    /// writes it.
    ///
    /// ```
    /// use hpp_status::wire::Timestamp;
    ///
    /// let now = Timestamp::now();
    /// assert!(now > "2026-01-01T00:00:00Z".parse()?);
    /// assert_eq!(now.unix().1 % 1_000_000, 0);
    /// # Ok::<(), hpp_status::wire::ParseTimestampError>(())
    /// ```
    #[cfg(feature = "std")]
    #[must_use]
    pub fn now() -> Timestamp {
        // Whole milliseconds: what the API writes, so that a stamp written and read back
        // compares equal.
        let millisecond = jiff::Timestamp::now().as_millisecond();
        // The remainder is in 0..1000. jiff's range ends before `MAX`, so only a clock set
        // before year 0000 is out of range: it reads as `MIN`.
        let nanosecond = millisecond.rem_euclid(1000) as u32 * NANOS_PER_MILLI;
        Timestamp::from_unix(millisecond.div_euclid(1000), nanosecond).unwrap_or(Timestamp::MIN)
    }

    /// The instant `duration` later, or `None` past [`MAX`](Timestamp::MAX). Written with
    /// ±23:59 outside UTC's years, like [`from_unix`](Timestamp::from_unix).
    ///
    /// ```
    /// use std::time::Duration;
    /// use hpp_status::wire::Timestamp;
    ///
    /// let t: Timestamp = "2019-05-13T14:51:46.288Z".parse()?;
    /// assert_eq!(t.checked_add(Duration::from_millis(1_712)).unwrap().to_string(), "2019-05-13T14:51:48.000Z");
    /// assert_eq!(Timestamp::MAX.checked_add(Duration::from_nanos(1)), None);
    /// # Ok::<(), hpp_status::wire::ParseTimestampError>(())
    /// ```
    #[must_use]
    pub fn checked_add(self, duration: Duration) -> Option<Timestamp> {
        self.shifted(i128::try_from(duration.as_nanos()).ok()?)
    }

    /// The instant `duration` earlier, or `None` before [`MIN`](Timestamp::MIN).
    ///
    /// ```
    /// use std::time::Duration;
    /// use hpp_status::wire::Timestamp;
    ///
    /// let t: Timestamp = "2019-05-13T14:51:46.288Z".parse()?;
    /// assert_eq!(t.checked_sub(Duration::from_secs(3_600)).unwrap().to_string(), "2019-05-13T13:51:46.288Z");
    /// assert_eq!(Timestamp::MIN.checked_sub(Duration::from_nanos(1)), None);
    /// # Ok::<(), hpp_status::wire::ParseTimestampError>(())
    /// ```
    #[must_use]
    pub fn checked_sub(self, duration: Duration) -> Option<Timestamp> {
        self.shifted(-i128::try_from(duration.as_nanos()).ok()?)
    }

    /// The instant `nanoseconds` later (earlier when negative), if RFC 3339 can write it.
    fn shifted(self, nanoseconds: i128) -> Option<Timestamp> {
        let per_second = i128::from(NANOS_PER_SECOND);
        let total = i128::from(self.second) * per_second + i128::from(self.nanosecond());
        let total = total.checked_add(nanoseconds)?;
        let second = i64::try_from(total.div_euclid(per_second)).ok()?;
        // The remainder is in 0..1e9: it fits.
        Timestamp::from_unix(second, total.rem_euclid(per_second) as u32)
    }

    /// This instant as a session's `expires_at`, with its last read due `last_read_margin`
    /// before it (from [`MIN`](Timestamp::MIN) when the margin reaches past it): the
    /// [`Expiry`] for [`Tracker::disposition`](crate::Tracker::disposition).
    ///
    /// ```
    /// use std::time::Duration;
    /// use hpp_status::wire::Timestamp;
    /// use hpp_status::{Disposition, Tracker};
    ///
    /// let expires_at: Timestamp = "2019-05-15T13:51:43.507Z".parse()?;
    /// let expiry = expires_at.expiry(Duration::from_secs(300));
    /// assert_eq!(expiry.last_read_from().to_string(), "2019-05-15T13:46:43.507Z");
    /// let now: Timestamp = "2019-05-15T13:50:00.000Z".parse()?;
    /// let tracker = Tracker::<Timestamp>::new();
    /// assert_eq!(tracker.disposition(&now, Some(&expiry)), Disposition::ReadBeforeExpiry);
    /// # Ok::<(), hpp_status::wire::ParseTimestampError>(())
    /// ```
    #[must_use]
    pub fn expiry(self, last_read_margin: Duration) -> Expiry<Timestamp> {
        let last_read_from = self.checked_sub(last_read_margin).unwrap_or(Timestamp::MIN);
        Expiry::new(self, last_read_from)
    }
}

impl PartialEq for Timestamp {
    /// Equal when they are the same instant, whatever offset each was read with.
    fn eq(&self, other: &Timestamp) -> bool {
        self.unix() == other.unix()
    }
}

impl Eq for Timestamp {}

impl PartialOrd for Timestamp {
    fn partial_cmp(&self, other: &Timestamp) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Timestamp {
    /// By the instant.
    fn cmp(&self, other: &Timestamp) -> Ordering {
        self.unix().cmp(&other.unix())
    }
}

impl Hash for Timestamp {
    /// The instant, consistent with `==`.
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.unix().hash(state);
    }
}

impl fmt::Debug for Timestamp {
    /// `Timestamp(2019-05-13T14:51:46.288Z)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Timestamp({self})")
    }
}

impl TryFrom<jiff::Timestamp> for Timestamp {
    type Error = TimestampRangeError;

    /// The same instant, unless it is before `0000-01-01T00:00:00+23:59` (jiff goes back to
    /// year -9999, which RFC 3339 cannot write).
    ///
    /// ```
    /// use hpp_status::wire::Timestamp;
    ///
    /// let instant = jiff::Timestamp::from_millisecond(1_500).unwrap();
    /// assert_eq!(Timestamp::try_from(instant).unwrap().to_string(), "1970-01-01T00:00:01.500Z");
    /// assert!(Timestamp::try_from(jiff::Timestamp::MIN).is_err());
    /// ```
    fn try_from(instant: jiff::Timestamp) -> Result<Timestamp, TimestampRangeError> {
        let nanoseconds = instant.as_nanosecond();
        let per_second = i128::from(NANOS_PER_SECOND);
        let error = TimestampRangeError {
            instant: RangeInstant::Jiff(instant),
            target: "an RFC 3339 timestamp",
        };
        let second = i64::try_from(nanoseconds.div_euclid(per_second)).map_err(|_| error)?;
        // The remainder is in 0..1e9: it fits.
        Timestamp::from_unix(second, nanoseconds.rem_euclid(per_second) as u32).ok_or(error)
    }
}

impl TryFrom<Timestamp> for jiff::Timestamp {
    type Error = TimestampRangeError;

    /// The same instant, for arithmetic and time zones, unless it is after
    /// `9999-12-30T22:00:00.999999999Z`, where jiff's range ends.
    ///
    /// ```
    /// use hpp_status::wire::Timestamp;
    ///
    /// let t: Timestamp = "1970-01-01T00:00:01.500Z".parse()?;
    /// assert_eq!(jiff::Timestamp::try_from(t).unwrap().as_millisecond(), 1_500);
    /// # Ok::<(), hpp_status::wire::ParseTimestampError>(())
    /// ```
    fn try_from(instant: Timestamp) -> Result<jiff::Timestamp, TimestampRangeError> {
        let nanoseconds = i128::from(instant.second) * i128::from(NANOS_PER_SECOND)
            + i128::from(instant.nanosecond());
        jiff::Timestamp::from_nanosecond(nanoseconds).map_err(|_| TimestampRangeError {
            instant: RangeInstant::Wire(instant),
            target: "jiff::Timestamp",
        })
    }
}

impl FromStr for Timestamp {
    type Err = ParseTimestampError;

    /// Reads RFC 3339 `date-time` text strictly: see [the grammar](Timestamp#the-grammar).
    fn from_str(text: &str) -> Result<Timestamp, ParseTimestampError> {
        read(text.as_bytes()).map_err(|(at, problem)| ParseTimestampError {
            quote: Quote::new(text),
            at,
            problem,
        })
    }
}

impl fmt::Display for Timestamp {
    /// `YYYY-MM-DDThh:mm:ss.fffZ`: UTC with milliseconds, or with every sub-millisecond digit
    /// the instant has (no trailing zero); outside UTC's years, the offset it was read with
    /// instead of `Z`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let local = self.second + i64::from(self.offset) * 60;
        let days = local.div_euclid(SECONDS_PER_DAY);
        let second_of_day = local.rem_euclid(SECONDS_PER_DAY);
        // `local` is within years 0000-9999 (the type's invariant), so this cannot fail.
        let date = EPOCH
            .checked_add(SignedDuration::from_hours(days * 24))
            .map_err(|_| fmt::Error)?;
        write!(
            f,
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
            date.year(),
            date.month(),
            date.day(),
            second_of_day / 3600,
            second_of_day / 60 % 60,
            second_of_day % 60,
        )?;
        let nanosecond = self.nanosecond();
        if nanosecond.is_multiple_of(NANOS_PER_MILLI) {
            write!(f, ".{:03}", nanosecond / NANOS_PER_MILLI)?;
        } else {
            let mut digits = 9;
            let mut fraction = nanosecond;
            while fraction.is_multiple_of(10) {
                fraction /= 10;
                digits -= 1;
            }
            write!(f, ".{fraction:0digits$}")?;
        }
        match self.offset.cmp(&0) {
            Ordering::Equal => f.write_str("Z"),
            Ordering::Greater => write!(f, "+{:02}:{:02}", self.offset / 60, self.offset % 60),
            Ordering::Less => write!(f, "-{:02}:{:02}", -self.offset / 60, -self.offset % 60),
        }
    }
}

impl Serialize for Timestamp {
    /// The text [`Display`](fmt::Display) writes, in every format: it reads back exactly.
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Timestamp, D::Error> {
        crate::serde::deserialize_from_str(
            deserializer,
            "an RFC 3339 date-time string such as \"2019-05-13T14:51:46.288Z\"",
        )
    }
}

/// What was wrong with a timestamp's text; the message of a [`ParseTimestampError`].
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
enum Problem {
    /// The grammar wanted this here.
    Expected(&'static str),
    /// A field's digits are out of its range.
    OutOfRange {
        field: &'static str,
        value: u32,
        min: u32,
        max: u32,
    },
    /// The month has no such day.
    NoSuchDay { year: u32, month: u32, day: u32 },
    /// Second 60.
    LeapSecond,
    /// A tenth fraction digit.
    FinerThanNanoseconds,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Problem::Expected(what) => write!(f, "expected {what}"),
            Problem::OutOfRange {
                field,
                value,
                min,
                max,
            } => write!(f, "{field} {value:02} is not in {min:02}..={max:02}"),
            Problem::NoSuchDay { year, month, day } => {
                write!(f, "day {day:02} does not exist in {year:04}-{month:02}")
            }
            Problem::LeapSecond => f.write_str(
                "second 60 (a leap second) is refused: this crate's instants have no leap \
                 seconds, so it cannot be kept without changing its order",
            ),
            Problem::FinerThanNanoseconds => f.write_str(
                "more than 9 fraction digits: finer than a nanosecond, which would have to be \
                 rounded",
            ),
        }
    }
}

/// The bytes of a timestamp's text, read left to right.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

// The reader's steps (and `fraction`) are inlined into `read`: as calls, each returned its
// `Result` through memory, which cost the WebAssembly build (the npm package's tracker) about a
// tenth of an observation on Node.js 20.
impl Reader<'_> {
    /// The next byte, if any.
    #[inline(always)]
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    /// Exactly `count` ASCII digits, as a number.
    #[inline(always)]
    fn digits(&mut self, count: usize, what: &'static str) -> Result<u32, (usize, Problem)> {
        let mut value = 0;
        for _ in 0..count {
            match self.peek() {
                Some(digit @ b'0'..=b'9') => {
                    value = value * 10 + u32::from(digit - b'0');
                    self.at += 1;
                }
                _ => return Err((self.at, Problem::Expected(what))),
            }
        }
        Ok(value)
    }

    /// One of `accepted` (one or two spellings of a separator), or `what` was expected.
    #[inline(always)]
    fn separator(&mut self, accepted: &[u8], what: &'static str) -> Result<u8, (usize, Problem)> {
        match self.peek() {
            Some(byte) if accepted.contains(&byte) => {
                self.at += 1;
                Ok(byte)
            }
            _ => Err((self.at, Problem::Expected(what))),
        }
    }

    /// A two-digit field in `0..=max`.
    #[inline(always)]
    fn field(
        &mut self,
        field: &'static str,
        what: &'static str,
        max: u32,
    ) -> Result<u32, (usize, Problem)> {
        let at = self.at;
        let value = self.digits(2, what)?;
        if value > max {
            let problem = Problem::OutOfRange {
                field,
                value,
                min: 0,
                max,
            };
            return Err((at, problem));
        }
        Ok(value)
    }
}

/// The strict reading of RFC 3339 `date-time` text: the instant, or where and what was wrong.
fn read(bytes: &[u8]) -> Result<Timestamp, (usize, Problem)> {
    let mut reader = Reader { bytes, at: 0 };
    let year = reader.digits(4, "the year's four digits")?;
    reader.separator(b"-", "'-' after the year")?;
    let month_at = reader.at;
    let month = reader.digits(2, "the month's two digits")?;
    if !(1..=12).contains(&month) {
        let problem = Problem::OutOfRange {
            field: "month",
            value: month,
            min: 1,
            max: 12,
        };
        return Err((month_at, problem));
    }
    reader.separator(b"-", "'-' after the month")?;
    let day_at = reader.at;
    let day = reader.digits(2, "the day's two digits")?;
    // Four and two digits: the casts cannot truncate.
    let date = Date::new(year as i16, month as i8, day as i8)
        .map_err(|_| (day_at, Problem::NoSuchDay { year, month, day }))?;
    reader.separator(b"Tt", "'T' between the date and the time")?;
    let hour = reader.field("hour", "the hour's two digits", 23)?;
    reader.separator(b":", "':' after the hour")?;
    let minute = reader.field("minute", "the minute's two digits", 59)?;
    reader.separator(b":", "':' after the minute")?;
    let second_at = reader.at;
    let second = reader.digits(2, "the second's two digits")?;
    match second {
        0..=59 => {}
        60 => return Err((second_at, Problem::LeapSecond)),
        value => {
            let problem = Problem::OutOfRange {
                field: "second",
                value,
                min: 0,
                max: 59,
            };
            return Err((second_at, problem));
        }
    }
    let nanosecond = fraction(&mut reader)?;
    let sign = match reader.separator(b"Zz+-", "an offset: 'Z', or '+' or '-' and hh:mm")? {
        b'+' => 1,
        b'-' => -1,
        _ => 0,
    };
    let offset = match sign {
        0 => 0,
        _ => {
            let hours = reader.field("offset hour", "the offset's two hour digits", 23)?;
            reader.separator(b":", "':' between the offset's hours and minutes")?;
            let minutes = reader.field("offset minute", "the offset's two minute digits", 59)?;
            // At most 23:59, 1439 minutes: it fits.
            sign * (hours * 60 + minutes) as i16
        }
    };
    if reader.at != bytes.len() {
        return Err((
            reader.at,
            Problem::Expected("the end of the text after the offset"),
        ));
    }
    let days = date.duration_since(EPOCH).as_hours() / 24;
    let local = days * SECONDS_PER_DAY + i64::from(hour * 3600 + minute * 60 + second);
    let utc = local - i64::from(offset) * 60;
    // The local time is within years 0000-9999: RFC 3339 can write the instant with this
    // offset.
    Ok(Timestamp::read_with(utc, nanosecond, offset))
}

/// The parse error of a text of `len` bytes that begins with `head`, a head long enough
/// (more than 35 bytes) to decide the error; for a head that parses (a text that goes on past
/// a whole timestamp), the error is the text after it.
pub(crate) fn cut_text_error(head: &str, len: usize) -> ParseTimestampError {
    let (at, problem) = match read(head.as_bytes()) {
        Err(found) => found,
        Ok(_) => (
            head.len(),
            Problem::Expected("the end of the text after the offset"),
        ),
    };
    let mut quote = Quote::new(head);
    quote.set_input_len(len);
    ParseTimestampError { quote, at, problem }
}

/// The optional fraction of a second, `.` and one to nine digits, as nanoseconds.
#[inline(always)]
fn fraction(reader: &mut Reader<'_>) -> Result<u32, (usize, Problem)> {
    if reader.peek() != Some(b'.') {
        return Ok(0);
    }
    reader.at += 1;
    let start = reader.at;
    let mut nanosecond = 0;
    while let Some(digit @ b'0'..=b'9') = reader.peek() {
        if reader.at - start == 9 {
            return Err((reader.at, Problem::FinerThanNanoseconds));
        }
        nanosecond = nanosecond * 10 + u32::from(digit - b'0');
        reader.at += 1;
    }
    let digits = reader.at - start;
    if digits == 0 {
        return Err((reader.at, Problem::Expected("a digit after '.'")));
    }
    // Scale to nanoseconds: 9 - digits more decimal places.
    Ok(nanosecond * 10u32.pow((9 - digits) as u32))
}

/// Text that is not an RFC 3339 `date-time` (see [the grammar](Timestamp#the-grammar)): the message quotes the text (its first 32 bytes, escaped)
/// and says what was wrong at which byte. The error owns what it quotes and needs no
/// allocation, whatever the length of the text.
///
/// ```
/// use hpp_status::wire::Timestamp;
///
/// let error = "2019-05-13 14:51:46Z".parse::<Timestamp>().unwrap_err();
/// assert_eq!(
///     error.to_string(),
///     "invalid RFC 3339 timestamp \"2019-05-13 14:51:46Z\": at byte 10, expected 'T' between the date and the time"
/// );
/// assert_eq!(error.at(), 10);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[error("invalid RFC 3339 timestamp {quote}: at byte {at}, {problem}")]
pub struct ParseTimestampError {
    quote: Quote,
    at: usize,
    problem: Problem,
}

impl ParseTimestampError {
    /// The rejected text, or its first 32 bytes (cut at a character boundary) when it was
    /// longer; see [`input_len`](ParseTimestampError::input_len).
    ///
    /// ```
    /// use hpp_status::wire::Timestamp;
    ///
    /// assert_eq!("yesterday".parse::<Timestamp>().unwrap_err().input(), "yesterday");
    /// let long = "9".repeat(10_000_000);
    /// let error = long.parse::<Timestamp>().unwrap_err();
    /// assert_eq!(error.input(), &long[..32]);
    /// assert!(error.to_string().len() < 150);
    /// ```
    #[must_use]
    pub fn input(&self) -> &str {
        self.quote.as_str()
    }

    /// The length in bytes of the whole rejected text.
    ///
    /// ```
    /// use hpp_status::wire::Timestamp;
    ///
    /// assert_eq!("2019-05-13".parse::<Timestamp>().unwrap_err().input_len(), 10);
    /// ```
    #[must_use]
    pub const fn input_len(&self) -> usize {
        self.quote.input_len()
    }

    /// The byte of the text where the problem is (its length when the text ends too early).
    ///
    /// ```
    /// use hpp_status::wire::Timestamp;
    ///
    /// assert_eq!("2019-05-13T14:51:46".parse::<Timestamp>().unwrap_err().at(), 19);
    /// ```
    #[must_use]
    pub const fn at(&self) -> usize {
        self.at
    }
}

impl fmt::Debug for ParseTimestampError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ParseTimestampError")
            .field("input", &self.input())
            .field("input_len", &self.input_len())
            .field("at", &self.at)
            .field("problem", &self.problem)
            .finish()
    }
}
