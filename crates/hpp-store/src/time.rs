//! Times in the database: whole microseconds since the Unix epoch, in a 64-bit integer
//! column, on both backends (so that the database's clock and the merchant's compare in SQL).
//!
//! Observation times are not stored this way: they are in the precedence key, to the
//! nanosecond. `expires_at` and the read and lease times are kept to the microsecond (the
//! API writes milliseconds), rounded down.

use std::time::Duration;

use hpp_status::wire::Timestamp;

/// `at` in microseconds since the Unix epoch, rounded down. Every `jiff` instant fits.
pub(crate) fn micros(at: Timestamp) -> i64 {
    // jiff's range is about ±3.8e17 µs, well inside i64.
    at.as_jiff().as_nanosecond().div_euclid(1000) as i64
}

/// The instant `us` microseconds after the Unix epoch, or why it is none.
pub(crate) fn from_micros(us: i64) -> Result<Timestamp, String> {
    jiff::Timestamp::from_microsecond(us)
        .map(Timestamp::from)
        .map_err(|error| format!("{us} µs since the Unix epoch is not a time: {error}"))
}

/// `duration` in whole microseconds, saturating (a lease of centuries is still a lease).
pub(crate) fn duration_micros(duration: Duration) -> i64 {
    i64::try_from(duration.as_micros()).unwrap_or(i64::MAX)
}
