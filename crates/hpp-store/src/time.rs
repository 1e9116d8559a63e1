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

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn ts(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    #[test]
    fn micros_round_down_and_read_back() {
        for (text, us, back) in [
            ("1970-01-01T00:00:00Z", 0, "1970-01-01T00:00:00.000Z"),
            (
                "2019-05-13T14:51:46.288123Z",
                1_557_759_106_288_123,
                "2019-05-13T14:51:46.288123Z",
            ),
            // Nanoseconds are cut to the microsecond, down (later than 0, earlier than 1 µs).
            (
                "2019-05-13T14:51:46.288123999Z",
                1_557_759_106_288_123,
                "2019-05-13T14:51:46.288123Z",
            ),
            // Before the epoch, "down" is further from zero.
            (
                "1969-12-31T23:59:59.999999Z",
                -1,
                "1969-12-31T23:59:59.999999Z",
            ),
            (
                "1969-12-31T23:59:58.5Z",
                -1_500_000,
                "1969-12-31T23:59:58.500Z",
            ),
        ] {
            assert_eq!(micros(ts(text)), us, "{text}");
            assert_eq!(from_micros(us).unwrap(), ts(back), "{us}");
        }
        // The ends of RFC 3339's range (year 9999 at -23:59, year 0000 at +23:59) are times.
        for end in [Timestamp::MAX, Timestamp::MIN] {
            assert_eq!(
                micros(from_micros(micros(end)).unwrap()),
                micros(end),
                "{end}"
            );
        }
    }

    #[test]
    fn micros_beyond_rfc_3339_are_refused_with_the_number() {
        let error = from_micros(i64::MAX).unwrap_err();
        assert!(
            error.starts_with(&format!("{} µs since the Unix epoch", i64::MAX)),
            "{error}"
        );
        assert!(from_micros(micros(Timestamp::MAX) + 1).is_err());
        assert!(from_micros(micros(Timestamp::MIN) - 1).is_err());
    }

    #[test]
    fn durations_saturate() {
        assert_eq!(duration_micros(Duration::from_millis(1_500)), 1_500_000);
        assert_eq!(duration_micros(Duration::MAX), i64::MAX);
    }
}
