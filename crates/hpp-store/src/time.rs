//! Times in the database: whole microseconds since the Unix epoch, in a 64-bit integer
//! column, on both backends (so that the database's clock and the merchant's compare in SQL).
//!
//! Observation times are not stored this way: they are in the precedence key, to the
//! nanosecond. `expires_at` and the read and lease times are kept to the microsecond (the
//! API writes milliseconds), rounded down.

use std::time::Duration;

use hpp_status::wire::Timestamp;

/// `at` in microseconds since the Unix epoch, rounded down. Every timestamp fits: years
/// 0000 to 9999 are about ±2.5e17 µs, well inside i64.
pub(crate) fn micros(at: Timestamp) -> i64 {
    let (second, nanosecond) = at.unix();
    second * 1_000_000 + i64::from(nanosecond / 1_000)
}

/// The instant `us` microseconds after the Unix epoch, or why it is none.
pub(crate) fn from_micros(us: i64) -> Result<Timestamp, String> {
    let nanosecond = u32::try_from(us.rem_euclid(1_000_000) * 1_000).unwrap_or(u32::MAX);
    Timestamp::from_unix(us.div_euclid(1_000_000), nanosecond).ok_or_else(|| {
        format!("{us} µs since the Unix epoch is not a time RFC 3339 can write (years 0000-9999)")
    })
}

/// `duration` in whole microseconds, saturating (a lease of centuries is still a lease).
pub(crate) fn duration_micros(duration: Duration) -> i64 {
    i64::try_from(duration.as_micros()).unwrap_or(i64::MAX)
}
