//! `wire::Timestamp` reads RFC 3339 strictly, covers years 0000-9999 in every offset, and
//! writes back what reads back the same (feature `wire`). Each reproduction of a defect of
//! the former jiff-based parser is a test named for what it proves.
#![cfg(feature = "wire")]

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::time::Duration;

use hpp_status::wire::{ParseTimestampError, Timestamp};
use proptest::prelude::*;

fn ts(text: &str) -> Timestamp {
    text.parse()
        .unwrap_or_else(|error| panic!("{text:?}: {error}"))
}

fn refused(text: &str) -> ParseTimestampError {
    text.parse::<Timestamp>()
        .expect_err(&format!("{text:?} must be refused"))
}

fn hash_of(t: Timestamp) -> u64 {
    let mut hasher = DefaultHasher::new();
    t.hash(&mut hasher);
    hasher.finish()
}

#[test]
fn the_never_sentinel_9999_12_31_is_accepted_and_written_back() {
    let never = ts("9999-12-31T23:59:59.000Z");
    assert_eq!(never.to_string(), "9999-12-31T23:59:59.000Z");
    assert!(never > ts("9999-12-30T22:00:00.000Z"));
    assert_eq!(
        ts("9999-12-31T23:59:59.999999999Z").to_string(),
        "9999-12-31T23:59:59.999999999Z"
    );
    // jiff's own range stops before it: the conversion says so instead of clamping.
    assert!(jiff::Timestamp::try_from(never).is_err());
    assert!(jiff::Timestamp::try_from(ts("9999-12-30T22:00:00.999999999Z")).is_ok());
}

#[test]
fn texts_that_are_not_rfc_3339_are_refused() {
    for (text, at) in [
        ("20190513T145146Z", 4),                    // the basic format
        ("2019-05-13T14Z", 13),                     // no minutes and seconds
        ("2019-05-13T14:51:46,288Z", 19),           // a comma before the fraction
        ("2019-05-13T14:51:46+02", 22),             // offset without minutes
        ("2019-05-13T14:51:46+0200", 22),           // offset without its colon
        ("2019-05-13T14:51:46+02:00:30", 25),       // offset with seconds
        ("2019-05-13T14:51:46+24:00", 20),          // offset past 23:59
        ("+002019-05-13T14:51:46Z", 0),             // six-digit year
        ("2019-05-13T14:51:46Z[Europe/Paris]", 20), // a time-zone annotation
        ("2019-05-13 14:51:46Z", 10),               // a space for the T
        ("2019-05-13T14:51:46.288", 23),            // no offset
        ("2019-05-13T14:51:46.Z", 20),              // a dot without digits
        ("2019-5-13T14:51:46Z", 6),                 // a one-digit month
        ("2019-05-13T14:51:46.2881234567Z", 29),    // finer than a nanosecond
        ("2019-13-01T00:00:00Z", 5),                // month 13
        ("2019-00-01T00:00:00Z", 5),                // month 00
        ("2019-02-29T00:00:00Z", 8),                // not a leap year
        ("2019-04-31T00:00:00Z", 8),                // April has 30 days
        ("2019-05-00T00:00:00Z", 8),                // day 00
        ("2019-05-13T24:00:00Z", 11),               // hour 24
        ("2019-05-13T23:60:00Z", 14),               // minute 60
        ("2019-05-13T23:59:61Z", 17),               // second 61
        ("2019-05-13T14:51:46+05:60", 23),          // offset minute 60
        ("2019-05-13T14:51:46Zgarbage", 20),        // text after the offset
        ("", 0),
        ("2019-05-13T14:51:46\u{2212}02:00", 19), // a Unicode minus
    ] {
        let error = refused(text);
        assert_eq!(error.at(), at, "{text:?}: {error}");
        assert!(
            error.to_string().contains(&format!("at byte {at}, ")),
            "{error}"
        );
    }
}

#[test]
fn refusals_say_what_was_wrong() {
    let cases = [
        (
            "2019-05-13 14:51:46Z",
            "expected 'T' between the date and the time",
        ),
        ("2019-13-01T00:00:00Z", "month 13 is not in 01..=12"),
        ("2019-00-01T00:00:00Z", "month 00 is not in 01..=12"),
        ("2019-05-13T24:00:00Z", "hour 24 is not in 00..=23"),
        ("2019-05-13T23:60:00Z", "minute 60 is not in 00..=59"),
        ("2019-05-13T23:59:61Z", "second 61 is not in 00..=59"),
        (
            "2019-05-13T14:51:46+24:00",
            "offset hour 24 is not in 00..=23",
        ),
        (
            "2019-05-13T14:51:46+05:60",
            "offset minute 60 is not in 00..=59",
        ),
        ("2019-02-29T00:00:00Z", "day 29 does not exist in 2019-02"),
        (
            "2019-05-13T14:51:46.2881234567Z",
            "more than 9 fraction digits: finer than a nanosecond, which would have to be rounded",
        ),
        ("2019-05-13T14:51:46.Z", "expected a digit after '.'"),
        (
            "2019-05-13T14:51:46",
            "expected an offset: 'Z', or '+' or '-' and hh:mm",
        ),
        (
            "2019-05-13T14:51:46Zx",
            "expected the end of the text after the offset",
        ),
        (
            "2019-05-13T14:51:46+02",
            "expected ':' between the offset's hours and minutes",
        ),
        (
            "2019-05-13T14:51:46+0",
            "expected the offset's two hour digits",
        ),
        (
            "2019-05-13T14:51:46+02:0",
            "expected the offset's two minute digits",
        ),
        ("2019-05-13T14", "expected ':' after the hour"),
        ("2019-05-13T14:5", "expected the minute's two digits"),
        ("2019-05-13T14:51", "expected ':' after the minute"),
        ("2019-05-13T14:51:4", "expected the second's two digits"),
        ("2019-05-13T1", "expected the hour's two digits"),
        ("2019-05-1", "expected the day's two digits"),
        ("2019-05", "expected '-' after the month"),
        ("2019-0", "expected the month's two digits"),
        ("2019", "expected '-' after the year"),
        ("201", "expected the year's four digits"),
    ];
    for (text, problem) in cases {
        let message = refused(text).to_string();
        let head = format!("invalid RFC 3339 timestamp {text:?}: at byte ");
        assert!(message.starts_with(&head), "{message}");
        assert!(message.ends_with(problem), "{text:?}: {message}");
    }
}

#[test]
fn a_leap_second_is_refused_never_clamped_or_reordered() {
    let error = refused("2016-12-31T23:59:60.000Z");
    assert_eq!(error.at(), 17);
    assert!(
        error
            .to_string()
            .contains("second 60 (a leap second) is refused"),
        "{error}"
    );
    // In every offset and with every fraction.
    refused("2016-12-31T15:59:60-08:00");
    refused("2016-12-31T23:59:60.5z");
}

#[test]
fn year_0000_in_a_positive_offset_is_written_back_as_rfc_3339() {
    let first = ts("0000-01-01T00:00:00+01:00");
    assert_eq!(first.to_string(), "0000-01-01T00:00:00.000+01:00");
    assert_eq!(ts(&first.to_string()), first);
    assert!(first < ts("0000-01-01T00:00:00Z"));
    // The same instant in another offset is `==` (and hashes alike), and each text is
    // written back with its own offset.
    let other = ts("0000-01-01T01:00:00+02:00");
    assert_eq!(other, first);
    assert_eq!(hash_of(other), hash_of(first));
    assert_eq!(other.to_string(), "0000-01-01T01:00:00.000+02:00");
    // At the other end, a negative offset past 9999-12-31 UTC.
    let last = ts("9999-12-31T23:00:00-01:00");
    assert_eq!(last.to_string(), "9999-12-31T23:00:00.000-01:00");
    assert!(last > ts("9999-12-31T23:59:59.999999999Z"));
    assert_eq!(Timestamp::MIN, ts("0000-01-01T00:00:00+23:59"));
    assert_eq!(Timestamp::MAX, ts("9999-12-31T23:59:59.999999999-23:59"));
    assert_eq!(Timestamp::MIN.to_string(), "0000-01-01T00:00:00.000+23:59");
    assert_eq!(
        Timestamp::MAX.to_string(),
        "9999-12-31T23:59:59.999999999-23:59"
    );
}

#[test]
fn instants_utc_can_write_are_written_in_utc_whatever_the_offset() {
    assert_eq!(
        ts("2019-05-13T16:51:46.288+02:00").to_string(),
        "2019-05-13T14:51:46.288Z"
    );
    assert_eq!(
        ts("2019-05-13T09:21:46.288-05:30").to_string(),
        "2019-05-13T14:51:46.288Z"
    );
    // -00:00 is RFC 3339's "offset unknown": the same instant as Z.
    assert_eq!(
        ts("2019-05-13T14:51:46.288-00:00"),
        ts("2019-05-13T14:51:46.288Z")
    );
    // Lower-case t and z are RFC 3339 too.
    assert_eq!(
        ts("2019-05-13t14:51:46.288z"),
        ts("2019-05-13T14:51:46.288Z")
    );
    // An offset that moves a year-0000 local time into UTC's range is written in UTC.
    assert_eq!(
        ts("0000-01-01T01:00:00+01:00").to_string(),
        "0000-01-01T00:00:00.000Z"
    );
    assert_eq!(
        ts("9999-12-31T22:00:00-01:00").to_string(),
        "9999-12-31T23:00:00.000Z"
    );
}

#[test]
fn fractions_are_kept_to_the_nanosecond_and_written_with_every_digit() {
    assert_eq!(
        ts("2038-01-19T03:14:07Z").to_string(),
        "2038-01-19T03:14:07.000Z"
    );
    assert_eq!(
        ts("2038-01-19T03:14:07.5Z").to_string(),
        "2038-01-19T03:14:07.500Z"
    );
    assert_eq!(
        ts("2019-05-13T14:51:46.0005Z").to_string(),
        "2019-05-13T14:51:46.0005Z"
    );
    assert_eq!(
        ts("2019-05-13T14:51:46.288123Z").to_string(),
        "2019-05-13T14:51:46.288123Z"
    );
    assert_eq!(
        ts("2019-05-13T14:51:46.000000001Z").to_string(),
        "2019-05-13T14:51:46.000000001Z"
    );
    assert_eq!(
        ts("2019-05-13T14:51:46.120000000Z").to_string(),
        "2019-05-13T14:51:46.120Z"
    );
    assert!(ts("2019-05-13T14:51:46.288Z") < ts("2019-05-13T14:51:46.289Z"));
    assert!(ts("1969-12-31T23:59:59.999Z") < ts("1970-01-01T00:00:00Z"));
}

#[test]
fn a_ten_megabyte_bogus_text_gives_a_short_message() {
    let bogus = "2".repeat(10_000_000);
    let error = refused(&bogus);
    assert_eq!(error.input(), &bogus[..32]);
    assert_eq!(error.input_len(), 10_000_000);
    let message = error.to_string();
    assert!(message.len() < 200, "{} bytes", message.len());
    assert!(
        message.contains("(cut; 10000000 bytes in all)"),
        "{message}"
    );
    // Through serde, too.
    let json = serde_json::to_string(&bogus).unwrap();
    let serde_error = serde_json::from_str::<Timestamp>(&json).unwrap_err();
    assert!(serde_error.to_string().len() < 250);
    // A cut inside a multi-byte character stays on a character boundary.
    let accented = format!("{}é{}", "2".repeat(31), "x".repeat(5));
    assert_eq!(refused(&accented).input(), "2".repeat(31));
}

#[test]
fn conversions_keep_the_instant_or_say_why_not() {
    let t = ts("2019-05-13T14:51:46.288123456Z");
    let instant = jiff::Timestamp::try_from(t).unwrap();
    assert_eq!(instant.to_string(), "2019-05-13T14:51:46.288123456Z");
    assert_eq!(Timestamp::try_from(instant).unwrap(), t);
    let before_epoch = jiff::Timestamp::new(-1, -1).unwrap();
    assert_eq!(
        Timestamp::try_from(before_epoch).unwrap().unix(),
        (-2, 999_999_999)
    );
    let error = Timestamp::try_from(jiff::Timestamp::MIN).unwrap_err();
    assert_eq!(
        error.to_string(),
        "-009999-01-02T01:59:59Z is outside the range of an RFC 3339 timestamp"
    );
    let error = jiff::Timestamp::try_from(Timestamp::MAX).unwrap_err();
    assert_eq!(
        error.to_string(),
        "9999-12-31T23:59:59.999999999-23:59 is outside the range of jiff::Timestamp"
    );
    assert_eq!(
        Timestamp::from_unix(Timestamp::MIN.unix().0 - 1, 999_999_999),
        None
    );
    assert_eq!(Timestamp::from_unix(Timestamp::MAX.unix().0 + 1, 0), None);
    assert_eq!(
        Timestamp::from_unix(Timestamp::MIN.unix().0, 0)
            .unwrap()
            .to_string(),
        "0000-01-01T00:00:00.000+23:59"
    );
    assert_eq!(
        Timestamp::from_unix(Timestamp::MAX.unix().0, 0)
            .unwrap()
            .to_string(),
        "9999-12-31T23:59:59.000-23:59"
    );
    assert_eq!(
        Timestamp::from_unix(0, 999_999_999).unwrap().to_string(),
        "1970-01-01T00:00:00.999999999Z"
    );
    // UTC writes every instant of its years, the first and the last second included.
    let first = Timestamp::from_unix(-62_167_219_200, 0).unwrap();
    assert_eq!(first.to_string(), "0000-01-01T00:00:00.000Z");
    let last = Timestamp::from_unix(253_402_300_799, 999_999_999).unwrap();
    assert_eq!(last.to_string(), "9999-12-31T23:59:59.999999999Z");
    let past = Timestamp::from_unix(253_402_300_800, 0).unwrap();
    assert_eq!(past.to_string(), "9999-12-31T00:01:00.000-23:59");
}

#[test]
fn arithmetic_and_expiry_stay_in_range() {
    let t = ts("2019-05-15T13:51:43.507Z");
    assert_eq!(t.checked_add(Duration::ZERO), Some(t));
    assert_eq!(
        t.checked_sub(Duration::from_millis(507))
            .unwrap()
            .to_string(),
        "2019-05-15T13:51:43.000Z"
    );
    assert_eq!(Timestamp::MAX.checked_add(Duration::from_nanos(1)), None);
    assert_eq!(Timestamp::MIN.checked_sub(Duration::from_nanos(1)), None);
    assert_eq!(t.checked_add(Duration::MAX), None);
    assert_eq!(t.checked_sub(Duration::MAX), None);
    let early = ts("0000-01-01T00:00:30Z")
        .checked_sub(Duration::from_secs(60))
        .unwrap();
    assert_eq!(early.to_string(), "0000-01-01T23:58:30.000+23:59");
    let expiry = t.expiry(Duration::from_secs(600));
    assert_eq!(
        (
            *expiry.expires_at(),
            expiry.last_read_from().to_string().as_str()
        ),
        (t, "2019-05-15T13:41:43.507Z")
    );
    // A margin past the beginning of time opens the window at MIN.
    assert_eq!(*t.expiry(Duration::MAX).last_read_from(), Timestamp::MIN);
}

#[cfg(feature = "std")]
#[test]
fn now_is_the_clock_to_the_millisecond() {
    let before = jiff::Timestamp::now().as_millisecond();
    let now = Timestamp::now();
    let after = jiff::Timestamp::now().as_millisecond();
    let (second, nanos) = now.unix();
    assert_eq!(nanos % 1_000_000, 0, "{now}");
    let millisecond = second * 1000 + i64::from(nanos / 1_000_000);
    assert!(
        (before..=after).contains(&millisecond),
        "{before} <= {millisecond} <= {after}"
    );
}

#[test]
fn hashes_follow_the_instant() {
    use std::collections::HashSet;
    let same: HashSet<Timestamp> = [
        ts("0000-01-01T00:00:00+01:00"),
        ts("0000-01-01T01:00:00+02:00"),
        ts("2019-05-13T16:51:46.288+02:00"),
        ts("2019-05-13T14:51:46.288Z"),
    ]
    .into_iter()
    .collect();
    assert_eq!(same.len(), 2);
    let distinct: HashSet<u64> = (0..100)
        .map(|ms| hash_of(Timestamp::from_unix(1_557_759_106, ms * 1_000_000).unwrap()))
        .collect();
    assert_eq!(distinct.len(), 100, "different instants hash differently");
}

#[test]
fn debug_shows_the_text() {
    assert_eq!(
        format!("{:?}", ts("2019-05-13T14:51:46.288Z")),
        "Timestamp(2019-05-13T14:51:46.288Z)"
    );
    let debug = format!("{:?}", refused("2019-05-13T24:00:00Z"));
    assert!(
        debug.starts_with(
            "ParseTimestampError { input: \"2019-05-13T24:00:00Z\", input_len: 20, at: 11,"
        ),
        "{debug}"
    );
}

#[test]
fn an_option_of_a_timestamp_takes_no_more_room() {
    assert_eq!(
        std::mem::size_of::<Option<Timestamp>>(),
        std::mem::size_of::<Timestamp>()
    );
    assert_eq!(std::mem::size_of::<Timestamp>(), 16);
}

/// The RFC 3339 text of civil fields, written independently of the crate.
fn text_of(fields: &Fields) -> String {
    let (year, month, day, hour, minute, second, nanos, digits, offset) = *fields;
    let mut text = format!("{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}");
    if digits > 0 {
        let fraction = format!("{nanos:09}");
        text.push('.');
        text.push_str(&fraction[..digits]);
    }
    if offset == 0 {
        text.push('Z');
    } else {
        let sign = if offset > 0 { '+' } else { '-' };
        let minutes = offset.unsigned_abs();
        text.push_str(&format!("{sign}{:02}:{:02}", minutes / 60, minutes % 60));
    }
    text
}

/// (year, month, day, hour, minute, second, nanoseconds, fraction digits, offset minutes).
type Fields = (i16, i8, i8, i8, i8, i8, u32, usize, i16);

fn fields() -> impl Strategy<Value = Fields> {
    (
        prop_oneof![0i16..=9999, Just(0), Just(9999), 1969i16..=2040],
        1i8..=12,
        1i8..=31,
        0i8..=23,
        0i8..=59,
        0i8..=59,
        0u32..1_000_000_000,
        0usize..=9,
        prop_oneof![Just(0i16), -1439i16..=1439, Just(1439), Just(-1439)],
    )
        .prop_filter("a real day", |f| {
            jiff::civil::Date::new(f.0, f.1, f.2).is_ok()
        })
        .prop_map(|(y, mo, d, h, mi, s, nanos, digits, offset)| {
            // Keep only the digits the text will have.
            let scale = 10u32.pow(9 - digits as u32);
            (y, mo, d, h, mi, s, nanos / scale * scale, digits, offset)
        })
}

/// The instant of the fields, in nanoseconds since the epoch, by jiff's civil arithmetic.
fn reference_nanos(fields: &Fields) -> i128 {
    let (year, month, day, hour, minute, second, nanos, _, offset) = *fields;
    let local = jiff::civil::date(year, month, day).at(hour, minute, second, 0);
    let epoch = jiff::civil::date(1970, 1, 1).at(0, 0, 0, 0);
    let since = local.duration_since(epoch);
    (i128::from(since.as_secs()) - i128::from(offset) * 60) * 1_000_000_000 + i128::from(nanos)
}

fn nanos_of(t: Timestamp) -> i128 {
    let (second, nanos) = t.unix();
    i128::from(second) * 1_000_000_000 + i128::from(nanos)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4_000))]

    /// Every text RFC 3339 can write parses to the instant jiff's calendar gives, writes back
    /// text that reads back equal, and orders as the instants do.
    #[test]
    fn every_rfc_3339_text_reads_and_writes_back(a in fields(), b in fields()) {
        let (text_a, text_b) = (text_of(&a), text_of(&b));
        let (ta, tb) = (ts(&text_a), ts(&text_b));
        prop_assert_eq!(nanos_of(ta), reference_nanos(&a), "{}", text_a);
        prop_assert_eq!(ta.cmp(&tb), reference_nanos(&a).cmp(&reference_nanos(&b)));
        prop_assert_eq!(ta == tb, hash_of(ta) == hash_of(tb) && ta.unix() == tb.unix());
        let written = ta.to_string();
        prop_assert_eq!(ts(&written), ta);
        prop_assert_eq!(ts(&written).to_string(), written.clone());
        let json = serde_json::to_string(&ta).unwrap();
        prop_assert_eq!(serde_json::from_str::<Timestamp>(&json).unwrap(), ta);
        let compact = postcard::to_allocvec(&ta).unwrap();
        let back: Timestamp = postcard::from_bytes(&compact).unwrap();
        prop_assert_eq!(back.to_string(), written);
        // Within jiff's range, jiff agrees on the instant.
        if let Ok(instant) = text_a.parse::<jiff::Timestamp>() {
            prop_assert_eq!(instant.as_nanosecond(), nanos_of(ta));
        }
        prop_assert_eq!(Timestamp::from_unix(ta.unix().0, ta.unix().1), Some(ta));
    }

    /// Any text at all: parsed or refused, never a panic; the refusal quotes a bounded
    /// prefix and points inside the text.
    #[test]
    fn any_text_is_read_or_refused_with_a_bounded_message(text in "\\PC{0,64}|[0-9T:.Zz+-]{0,40}") {
        match text.parse::<Timestamp>() {
            Ok(t) => prop_assert_eq!(ts(&t.to_string()), t),
            Err(error) => {
                prop_assert!(error.at() <= text.len());
                prop_assert!(text.starts_with(error.input()));
                prop_assert!(error.input().len() <= 32);
                prop_assert_eq!(error.input_len(), text.len());
            }
        }
    }
}
