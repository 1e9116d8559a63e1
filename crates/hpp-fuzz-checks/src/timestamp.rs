//! The properties of the `timestamp` fuzz target: `wire::Timestamp`'s strict RFC 3339 parser
//! against a reference reading of the grammar written here independently (fixed byte
//! positions, jiff's civil calendar for the instant).
//!
//! The input is split at its first newline into two texts (the second may be empty). Each is
//! read by the crate and by the reference: both accept or both refuse; an accepted text is
//! the reference's instant, writes back text that reads back equal, and writes back UTC
//! exactly when UTC can write it in years 0000-9999 (else its own offset); a refused one is
//! refused by serde too, with a message that quotes at most 32 bytes of it and points inside
//! it. Two accepted texts compare as their instants do, hash alike when equal, and compare
//! with a few fixed instants (the ends of the range, the epoch) as their instants do.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};

use hpp_status::wire::Timestamp;

/// Checks every property on one input; panics (a fuzz finding) when one fails.
pub fn check(data: &[u8]) {
    let (first, second) = match data.iter().position(|&b| b == b'\n') {
        Some(at) => (&data[..at], &data[at + 1..]),
        None => (data, &[][..]),
    };
    let first = check_text(first);
    let second = check_text(second);
    if let (Some((a, nanos_a)), Some((b, nanos_b))) = (first, second) {
        assert_eq!(a.cmp(&b), nanos_a.cmp(&nanos_b), "{a} vs {b}");
        assert_eq!(a == b, nanos_a == nanos_b);
        if a == b {
            assert_eq!(hash_of(a), hash_of(b));
        }
    }
}

/// The crate's reading of `bytes` (when UTF-8) against the reference's; the timestamp and
/// its instant in nanoseconds when accepted.
fn check_text(bytes: &[u8]) -> Option<(Timestamp, i128)> {
    let text = std::str::from_utf8(bytes).ok()?;
    let reference = reference(text);
    let json = serde_json::to_string(text).unwrap();
    match text.parse::<Timestamp>() {
        Ok(at) => {
            let (nanos, offset) =
                reference.unwrap_or_else(|| panic!("{text:?} accepted, against the grammar"));
            assert_eq!(nanos_of(at), nanos, "{text:?}");
            check_written(at, offset);
            assert_eq!(serde_json::from_str::<Timestamp>(&json).unwrap(), at);
            for anchor in anchors() {
                assert_eq!(at.cmp(&anchor), nanos.cmp(&nanos_of(anchor)), "{text:?}");
            }
            Some((at, nanos))
        }
        Err(error) => {
            assert!(reference.is_none(), "{text:?} refused: {error}");
            assert!(text.starts_with(error.input()), "{error:?}");
            assert!(error.input().len() <= 32);
            assert!(error.input().len() == text.len() || error.input().len() > 28);
            assert_eq!(error.input_len(), text.len());
            assert!(error.at() <= text.len(), "{error:?}");
            let message = error.to_string();
            let head = format!("invalid RFC 3339 timestamp {:?}", error.input());
            assert!(message.starts_with(&head), "{message:?}");
            assert!(message.len() < 400, "{message:?}");
            let serde_error = serde_json::from_str::<Timestamp>(&json)
                .expect_err("serde accepts what FromStr refuses")
                .to_string();
            assert!(serde_error.starts_with(&message), "{serde_error:?}");
            None
        }
    }
}

/// A timestamp writes back what reads back equal: UTC when UTC can write it (else the offset
/// `read_offset` it was read with), milliseconds, or every sub-millisecond digit and no more.
fn check_written(at: Timestamp, read_offset: i16) {
    let text = at.to_string();
    let read: Timestamp = text
        .parse()
        .unwrap_or_else(|error| panic!("{at:?} written as {text:?}: {error}"));
    assert_eq!(read, at, "{text:?}");
    assert_eq!(read.to_string(), text);
    let in_utc_range = (-62_167_219_200..253_402_300_800).contains(&at.unix().0);
    let rest = if in_utc_range {
        text.strip_suffix('Z')
            .unwrap_or_else(|| panic!("{text:?} not in UTC"))
    } else {
        let sign = if read_offset > 0 { '+' } else { '-' };
        let minutes = read_offset.unsigned_abs();
        let offset = format!("{sign}{:02}:{:02}", minutes / 60, minutes % 60);
        text.strip_suffix(offset.as_str())
            .unwrap_or_else(|| panic!("{text:?} does not keep the offset {offset}"))
    };
    let (_, fraction) = rest
        .rsplit_once('.')
        .unwrap_or_else(|| panic!("{text:?} has no fraction"));
    assert!(fraction.bytes().all(|b| b.is_ascii_digit()), "{text:?}");
    if at.unix().1.is_multiple_of(1_000_000) {
        assert_eq!(fraction.len(), 3, "{text:?}: milliseconds");
    } else {
        assert!(
            (4..=9).contains(&fraction.len()) && !fraction.ends_with('0'),
            "{text:?}: every sub-millisecond digit, and no more"
        );
    }
    assert_eq!(serde_json::to_string(&at).unwrap(), format!("\"{text}\""));
    let compact = postcard::to_allocvec(&at).unwrap();
    let back: Timestamp = postcard::from_bytes(&compact).unwrap();
    assert_eq!(back.to_string(), text);
}

/// The reference reading of RFC 3339 `date-time` (§5.6, with the crate's two documented
/// narrowings: no second 60, at most nine fraction digits): the instant in nanoseconds since
/// the epoch and the offset in minutes, or `None`.
fn reference(text: &str) -> Option<(i128, i16)> {
    let b = text.as_bytes();
    let digit = |i: usize| b.get(i).filter(|c| c.is_ascii_digit()).map(|c| c - b'0');
    let number = |from: usize, count: usize| -> Option<i64> {
        (from..from + count).try_fold(0i64, |n, i| Some(n * 10 + i64::from(digit(i)?)))
    };
    let is = |i: usize, accepted: &[u8]| b.get(i).is_some_and(|c| accepted.contains(c));
    if !(is(4, b"-") && is(7, b"-") && is(10, b"Tt") && is(13, b":") && is(16, b":")) {
        return None;
    }
    let (year, month, day) = (number(0, 4)?, number(5, 2)?, number(8, 2)?);
    let (hour, minute, second) = (number(11, 2)?, number(14, 2)?, number(17, 2)?);
    if hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    let date = jiff::civil::Date::new(year as i16, month as i8, day as i8).ok()?;
    let mut at = 19;
    let mut nanos = 0i128;
    if is(at, b".") {
        let digits = b[at + 1..]
            .iter()
            .take_while(|c| c.is_ascii_digit())
            .count();
        if !(1..=9).contains(&digits) {
            return None;
        }
        let fraction = number(at + 1, digits)?;
        nanos = i128::from(fraction) * 10i128.pow(9 - digits as u32);
        at += 1 + digits;
    }
    let offset = match b.get(at..)? {
        [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), _, _, b':', _, _] => {
            let (hours, minutes) = (number(at + 1, 2)?, number(at + 4, 2)?);
            if hours > 23 || minutes > 59 {
                return None;
            }
            let minutes = (hours * 60 + minutes) as i16;
            if *sign == b'+' { minutes } else { -minutes }
        }
        _ => return None,
    };
    let local = date.at(hour as i8, minute as i8, second as i8, 0);
    let epoch = jiff::civil::date(1970, 1, 1).at(0, 0, 0, 0);
    let seconds = i128::from(local.duration_since(epoch).as_secs()) - i128::from(offset) * 60;
    Some((seconds * 1_000_000_000 + nanos, offset))
}

fn nanos_of(at: Timestamp) -> i128 {
    let (second, nanos) = at.unix();
    i128::from(second) * 1_000_000_000 + i128::from(nanos)
}

fn hash_of(at: Timestamp) -> u64 {
    let mut hasher = DefaultHasher::new();
    at.hash(&mut hasher);
    hasher.finish()
}

/// Fixed instants every accepted text is compared with.
fn anchors() -> [Timestamp; 4] {
    [
        Timestamp::MIN,
        Timestamp::MAX,
        Timestamp::from_unix(0, 0).unwrap(),
        Timestamp::from_unix(1_557_759_106, 288_000_000).unwrap(),
    ]
}
