//! [`Timestamp`]: an RFC 3339 instant as the HPP API writes it.

use alloc::string::String;
use core::fmt;
use core::str::FromStr;

use serde::de::{Deserialize, Deserializer};
use serde::ser::{Serialize, Serializer};

/// An instant, read from RFC 3339 text (`2019-05-13T14:51:46.288Z`, or with a numeric
/// offset) and written back in the API's form: UTC with milliseconds, or with every digit
/// it has when it is finer than a millisecond, so that writing and reading back is exact.
///
/// Ordered by the instant, so it serves as the `T` of an
/// [`Observation`](crate::Observation).
///
/// ```
/// use hpp_status::wire::Timestamp;
///
/// let t: Timestamp = "2019-05-13T16:51:46.288+02:00".parse()?;
/// assert_eq!(t.to_string(), "2019-05-13T14:51:46.288Z");
/// assert!(t < "2019-05-13T14:51:46.289Z".parse()?);
/// # Ok::<(), hpp_status::wire::ParseTimestampError>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct Timestamp(jiff::Timestamp);

impl Timestamp {
    /// The system clock's current instant (feature `std`), to the millisecond, as the API
    /// writes it.
    ///
    /// ```
    /// use hpp_status::wire::Timestamp;
    ///
    /// let now = Timestamp::now();
    /// assert!(now > "2026-01-01T00:00:00Z".parse()?);
    /// assert_eq!(now.as_jiff().subsec_nanosecond() % 1_000_000, 0);
    /// # Ok::<(), hpp_status::wire::ParseTimestampError>(())
    /// ```
    #[cfg(feature = "std")]
    #[must_use]
    pub fn now() -> Timestamp {
        let now = jiff::Timestamp::now();
        // Whole milliseconds: what the API writes, so that a stamp written and read back
        // compares equal.
        let millisecond = now.as_millisecond();
        Timestamp(jiff::Timestamp::from_millisecond(millisecond).unwrap_or(now))
    }

    /// The instant as a [`jiff::Timestamp`], for arithmetic and time zones.
    ///
    /// ```
    /// use hpp_status::wire::Timestamp;
    ///
    /// let t: Timestamp = "1970-01-01T00:00:01.500Z".parse()?;
    /// assert_eq!(t.as_jiff().as_millisecond(), 1_500);
    /// # Ok::<(), hpp_status::wire::ParseTimestampError>(())
    /// ```
    #[must_use]
    pub const fn as_jiff(self) -> jiff::Timestamp {
        self.0
    }
}

impl From<jiff::Timestamp> for Timestamp {
    fn from(instant: jiff::Timestamp) -> Timestamp {
        Timestamp(instant)
    }
}

impl From<Timestamp> for jiff::Timestamp {
    fn from(instant: Timestamp) -> jiff::Timestamp {
        instant.0
    }
}

impl FromStr for Timestamp {
    type Err = ParseTimestampError;

    fn from_str(text: &str) -> Result<Timestamp, ParseTimestampError> {
        text.parse::<jiff::Timestamp>()
            .map(Timestamp)
            .map_err(|error| ParseTimestampError {
                input: text.into(),
                reason: alloc::format!("{error}"),
            })
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.subsec_nanosecond() % 1_000_000 == 0 {
            write!(f, "{:.3}", self.0)
        } else {
            write!(f, "{}", self.0)
        }
    }
}

impl Serialize for Timestamp {
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

/// Text that is not an RFC 3339 date-time with an offset.
///
/// ```
/// use hpp_status::wire::Timestamp;
///
/// let error = "2019-05-13 14:51".parse::<Timestamp>().unwrap_err();
/// assert!(error.to_string().starts_with("invalid RFC 3339 timestamp \"2019-05-13 14:51\": "));
/// ```
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
#[error("invalid RFC 3339 timestamp {input:?}: {reason}")]
pub struct ParseTimestampError {
    input: String,
    reason: String,
}

impl ParseTimestampError {
    /// The rejected text.
    ///
    /// ```
    /// use hpp_status::wire::Timestamp;
    ///
    /// assert_eq!("yesterday".parse::<Timestamp>().unwrap_err().input(), "yesterday");
    /// ```
    #[must_use]
    pub fn input(&self) -> &str {
        &self.input
    }
}
