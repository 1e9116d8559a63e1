//! `PrecedenceKey`: its bytes sort exactly as `cmp_precedence`, equal bytes mean equal
//! observations, and `from_precedence_key` decodes every key it made and rejects, without
//! panicking, every byte string it did not make.
//!
//! Exhaustive over all statuses and edge times (negative, zero, the extremes of `i64`, `u64`
//! and `jiff`, sub-millisecond, far past and future), then proptest for random times and
//! arbitrary bytes.

use core::cmp::Ordering;
use core::fmt::Debug;

use hpp_status::{Observation, Phase, PrecedenceKey, PrecedenceKeyError, SortableTime, Status};
use proptest::prelude::*;

const MILLI: u32 = 1_000_000;

/// Every pair of observations over `times`: the key order is the precedence order, equal keys
/// are equal observations, and every key decodes to its observation.
fn check_exhaustively<T: SortableTime + Copy + Debug>(times: &[T]) {
    let observations: Vec<Observation<T>> = Status::ALL
        .into_iter()
        .flat_map(|status| times.iter().map(move |&at| Observation::new(status, at)))
        .collect();
    for a in &observations {
        let key = a.precedence_key();
        assert_eq!(
            Observation::<T>::from_precedence_key(key.as_bytes()),
            Ok(*a),
            "{a:?} does not decode from {key:?}"
        );
        for b in &observations {
            let other = b.precedence_key();
            assert_eq!(
                key.as_bytes().cmp(other.as_bytes()),
                a.cmp_precedence(b),
                "{a:?} against {b:?}: {key:?} and {other:?}"
            );
            assert_eq!(key.cmp(&other), a.cmp_precedence(b), "Ord of {key:?}");
            assert_eq!(key == other, a == b, "{a:?} and {b:?}");
        }
    }
}

#[test]
fn i64_milliseconds_at_edge_times() {
    check_exhaustively(&[
        i64::MIN,
        i64::MIN + 1,
        i64::MIN + 999,
        -62_135_596_800_000, // 0001-01-01
        -1_000_000_000_001,
        -1001,
        -1000,
        -999,
        -1,
        0,
        1,
        999,
        1000,
        1001,
        1_700_000_000_000,
        253_402_300_799_999, // 9999-12-31T23:59:59.999
        i64::MAX - 1000,
        i64::MAX - 1,
        i64::MAX,
    ]);
}

#[test]
fn u64_milliseconds_at_edge_times() {
    check_exhaustively(&[
        0,
        1,
        999,
        1000,
        1001,
        1_700_000_000_000,
        i64::MAX as u64,
        i64::MAX as u64 + 1,
        u64::MAX - 1,
        u64::MAX,
    ]);
}

#[cfg(feature = "wire")]
fn jiff_edge_times() -> Vec<jiff::Timestamp> {
    let at = |seconds, nanoseconds| jiff::Timestamp::new(seconds, nanoseconds).unwrap();
    vec![
        jiff::Timestamp::MIN,
        at(jiff::Timestamp::MIN.as_second(), 1),
        at(-62_135_596_800, 0), // 0001-01-01
        at(-1, -999_999_999),
        at(-1, 0),
        at(0, -999_999_999),
        at(0, -1_000_000),
        at(0, -1),
        jiff::Timestamp::UNIX_EPOCH,
        at(0, 1),
        at(0, 999_999),
        at(0, 1_000_000),
        at(0, 999_999_999),
        at(1, 0),
        at(1_557_759_106, 288_000_000),
        at(1_557_759_106, 288_000_001),
        at(2_147_483_647, 0),
        at(jiff::Timestamp::MAX.as_second(), 0),
        jiff::Timestamp::MAX,
    ]
}

#[cfg(feature = "wire")]
#[test]
fn jiff_timestamps_at_edge_times() {
    check_exhaustively(&jiff_edge_times());
}

#[cfg(feature = "wire")]
#[test]
fn wire_timestamps_at_edge_times() {
    use hpp_status::wire::Timestamp;
    // RFC 3339 writes years 0000-9999 only: jiff's earlier edges have no wire timestamp.
    let mut times: Vec<Timestamp> = jiff_edge_times()
        .into_iter()
        .filter_map(|t| Timestamp::try_from(t).ok())
        .collect();
    times.extend([Timestamp::MIN, Timestamp::MAX]);
    assert!(times.len() >= 17, "the edges lost: {times:?}");
    check_exhaustively(&times);
}

/// The layout, byte for byte, as the module documentation and the store's SQL rely on it.
#[test]
fn layout_is_as_documented() {
    let key = |status, at: i64| Observation::new(status, at).precedence_key();
    assert_eq!(
        key(Status::Waiting, 0).as_bytes(),
        &[1, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]
    );
    // -1 ms: second -1 (0x7fff...ff once the sign bit is flipped) and 999 ms.
    assert_eq!(
        key(Status::Back, -1).as_bytes(),
        &[
            2, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x3b, 0x8b, 0x87, 0xc0, 3
        ]
    );
    // 1.5 s, final: the 12 time bytes inverted.
    let time = [0x80, 0, 0, 0, 0, 0, 0, 1, 0x1d, 0xcd, 0x65, 0x00].map(|b: u8| !b);
    let mut expected = vec![3];
    expected.extend(time);
    expected.push(7);
    assert_eq!(key(Status::Completed, 1500).as_bytes(), expected.as_slice());
    assert_eq!(key(Status::Completed, 1500).as_ref(), expected.as_slice());
    assert_eq!(
        key(Status::Cancelled, 0).as_bytes(),
        &[
            3, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 5
        ]
    );
    assert_eq!(PrecedenceKey::LEN, 14);
    assert_eq!(
        format!("{:?}", key(Status::Disabled, 0)),
        "PrecedenceKey(\\x037fffffffffffffffffffffff06)"
    );
}

#[test]
fn time_conversions_at_their_limits() {
    assert_eq!(
        i64::MIN.to_seconds_nanos(),
        (-9_223_372_036_854_776, 192 * MILLI)
    );
    assert_eq!(
        i64::MAX.to_seconds_nanos(),
        (9_223_372_036_854_775, 807 * MILLI)
    );
    assert_eq!((-1_i64).to_seconds_nanos(), (-1, 999 * MILLI));
    assert_eq!((-1000_i64).to_seconds_nanos(), (-1, 0));
    assert_eq!(
        i64::from_seconds_nanos(9_223_372_036_854_775, 807 * MILLI),
        Some(i64::MAX)
    );
    assert_eq!(
        i64::from_seconds_nanos(9_223_372_036_854_775, 808 * MILLI),
        None
    );
    assert_eq!(
        i64::from_seconds_nanos(-9_223_372_036_854_776, 191 * MILLI),
        None
    );
    assert_eq!(i64::from_seconds_nanos(i64::MAX, 0), None);
    assert_eq!(i64::from_seconds_nanos(i64::MIN, 0), None);
    // A whole number of milliseconds, but a second or more, is not a valid pair.
    assert_eq!(i64::from_seconds_nanos(0, 1_000_000_000), None);
    assert_eq!(i64::from_seconds_nanos(0, 999 * MILLI), Some(999));
    assert_eq!(i64::from_seconds_nanos(0, 999 * MILLI + 1), None);
    assert_eq!(i64::from_seconds_nanos(-1, 1), None);

    assert_eq!(
        u64::MAX.to_seconds_nanos(),
        (18_446_744_073_709_551, 615 * MILLI)
    );
    assert_eq!(u64::from_seconds_nanos(-1, 999 * MILLI), None);
    assert_eq!(u64::from_seconds_nanos(0, 1_000_000_000), None);
    assert_eq!(u64::from_seconds_nanos(0, 1), None);
    assert_eq!(u64::from_seconds_nanos(i64::MAX, 0), None);
    assert_eq!(u64::from_seconds_nanos(3, 7 * MILLI), Some(3007));
}

#[cfg(feature = "wire")]
#[test]
fn jiff_time_conversions_at_their_limits() {
    let min = jiff::Timestamp::MIN;
    let (seconds, nanoseconds) = min.to_seconds_nanos();
    assert_eq!((seconds, nanoseconds), (min.as_second(), 0));
    assert_eq!(jiff::Timestamp::from_seconds_nanos(seconds, 0), Some(min));
    assert_eq!(
        jiff::Timestamp::from_seconds_nanos(seconds - 1, 999_999_999),
        None
    );
    let max = jiff::Timestamp::MAX;
    let (seconds, nanoseconds) = max.to_seconds_nanos();
    assert_eq!(nanoseconds, 999_999_999);
    assert_eq!(jiff::Timestamp::from_seconds_nanos(seconds + 1, 0), None);
    assert_eq!(jiff::Timestamp::from_seconds_nanos(0, 1_000_000_000), None);
    assert_eq!(jiff::Timestamp::from_seconds_nanos(0, u32::MAX), None);
    assert_eq!(
        jiff::Timestamp::from_seconds_nanos(-1, 1),
        Some(jiff::Timestamp::new(0, -999_999_999).unwrap())
    );
    assert_eq!(
        jiff::Timestamp::new(-5, -1).unwrap().to_seconds_nanos(),
        (-6, 999_999_999)
    );
    let wire: hpp_status::wire::Timestamp = "1969-12-31T23:59:59.999999999Z".parse().unwrap();
    assert_eq!(wire.to_seconds_nanos(), (-1, 999_999_999));
    assert_eq!(
        hpp_status::wire::Timestamp::from_seconds_nanos(-1, 999_999_999),
        Some(wire)
    );
    assert_eq!(
        hpp_status::wire::Timestamp::from_seconds_nanos(i64::MIN, 0),
        None
    );
}

/// A valid key's bytes for `status` at `seconds` + `nanoseconds`, built by hand so that the
/// decoder can be shown inputs no observation makes (nanoseconds of a second or more).
fn raw_key(phase: u8, seconds: i64, nanoseconds: u32, rank: u8) -> Vec<u8> {
    let mut time = Vec::with_capacity(12);
    time.extend((seconds ^ i64::MIN).to_be_bytes());
    time.extend(nanoseconds.to_be_bytes());
    if phase == 3 {
        time.iter_mut().for_each(|b| *b = !*b);
    }
    let mut key = vec![phase];
    key.extend(time);
    key.push(rank);
    key
}

#[test]
fn raw_key_builds_what_precedence_key_builds() {
    for status in Status::ALL {
        for at in [-1_i64, 0, 1_557_759_106_288] {
            let (seconds, nanoseconds) = at.to_seconds_nanos();
            let phase = Observation::new(status, at).precedence_key().as_bytes()[0];
            assert_eq!(
                raw_key(phase, seconds, nanoseconds, status.tie_rank()),
                Observation::new(status, at).precedence_key().as_bytes()
            );
        }
    }
}

#[test]
fn rejects_what_no_observation_makes() {
    type Key = Observation<i64>;
    let good = raw_key(2, 5, 0, 3);
    assert_eq!(
        Key::from_precedence_key(&good),
        Ok(Observation::new(Status::Back, 5000))
    );

    for length in [0, 1, 13, 15, 28] {
        let bytes = vec![2; length];
        assert_eq!(
            Key::from_precedence_key(&bytes),
            Err(PrecedenceKeyError::Length(length))
        );
    }
    for phase in [0, 4, 0x80, 0xff] {
        let mut bytes = good.clone();
        bytes[0] = phase;
        assert_eq!(
            Key::from_precedence_key(&bytes),
            Err(PrecedenceKeyError::Phase(phase))
        );
    }
    // Each phase accepts exactly the ranks of its statuses.
    for (phase_byte, phase) in [(1, Phase::Waiting), (2, Phase::Open), (3, Phase::Final)] {
        for rank in 0..=u8::MAX {
            let bytes = raw_key(phase_byte, 5, 0, rank);
            let expected = Status::ALL
                .into_iter()
                .find(|s| s.tie_rank() == rank && s.phase() == phase);
            match expected {
                Some(status) => assert_eq!(
                    Key::from_precedence_key(&bytes),
                    Ok(Observation::new(status, 5000))
                ),
                None => assert_eq!(
                    Key::from_precedence_key(&bytes),
                    Err(PrecedenceKeyError::TieRank { phase, rank })
                ),
            }
        }
    }
    for nanoseconds in [1_000_000_000, 1_000_000_001, u32::MAX] {
        for (phase, rank) in [(2, 1), (3, 7)] {
            assert_eq!(
                Key::from_precedence_key(&raw_key(phase, 0, nanoseconds, rank)),
                Err(PrecedenceKeyError::Nanoseconds(nanoseconds))
            );
        }
    }
    assert_eq!(
        Key::from_precedence_key(&raw_key(3, 0, 999_999_999, 7)),
        Err(PrecedenceKeyError::OutOfRange {
            seconds: 0,
            nanoseconds: 999_999_999
        })
    );
    assert_eq!(
        Key::from_precedence_key(&raw_key(2, i64::MAX, 0, 1)),
        Err(PrecedenceKeyError::OutOfRange {
            seconds: i64::MAX,
            nanoseconds: 0
        })
    );
    assert_eq!(
        Observation::<u64>::from_precedence_key(&raw_key(1, -1, 0, 0)),
        Err(PrecedenceKeyError::OutOfRange {
            seconds: -1,
            nanoseconds: 0
        })
    );
}

#[cfg(feature = "wire")]
#[test]
fn rejects_times_jiff_cannot_hold() {
    assert_eq!(
        Observation::<jiff::Timestamp>::from_precedence_key(&raw_key(3, i64::MIN, 0, 6)),
        Err(PrecedenceKeyError::OutOfRange {
            seconds: i64::MIN,
            nanoseconds: 0
        })
    );
    // The largest nanosecond count is fine for a type that has nanoseconds.
    assert_eq!(
        Observation::<jiff::Timestamp>::from_precedence_key(&raw_key(3, 0, 999_999_999, 6)),
        Ok(Observation::new(
            Status::Disabled,
            jiff::Timestamp::new(0, 999_999_999).unwrap()
        ))
    );
}

#[test]
fn errors_say_why() {
    let cases = [
        (
            PrecedenceKeyError::Length(3),
            "a precedence key is 14 bytes long, not 3",
        ),
        (
            PrecedenceKeyError::Phase(9),
            "byte 0 of a precedence key is a phase (1, 2 or 3), not 9",
        ),
        (
            PrecedenceKeyError::TieRank {
                phase: Phase::Open,
                rank: 7,
            },
            "tie rank 7 is not the rank of a status of phase open",
        ),
        (
            PrecedenceKeyError::Nanoseconds(1_000_000_000),
            "the nanoseconds of a precedence key are below 1000000000, not 1000000000",
        ),
        (
            PrecedenceKeyError::OutOfRange {
                seconds: -1,
                nanoseconds: 5,
            },
            "-1 s 5 ns after the Unix epoch is not a time this key's type can hold",
        ),
    ];
    for (error, message) in cases {
        assert_eq!(error.to_string(), message);
    }
}

fn any_status() -> impl Strategy<Value = Status> {
    proptest::sample::select(Status::ALL.to_vec())
}

#[cfg(feature = "wire")]
fn any_jiff() -> impl Strategy<Value = jiff::Timestamp> {
    let nanos = (
        jiff::Timestamp::MIN.as_nanosecond(),
        jiff::Timestamp::MAX.as_nanosecond(),
    );
    (nanos.0..=nanos.1).prop_map(|n| jiff::Timestamp::from_nanosecond(n).unwrap())
}

/// Times near each other, so that equal times and equal seconds come up often.
fn close_i64() -> impl Strategy<Value = i64> {
    prop_oneof![any::<i64>(), -3000_i64..3000]
}

fn check_pair<T: SortableTime + Copy + Debug>(
    a: Observation<T>,
    b: Observation<T>,
) -> Result<(), TestCaseError> {
    let (ka, kb) = (a.precedence_key(), b.precedence_key());
    prop_assert_eq!(ka.as_bytes().cmp(kb.as_bytes()), a.cmp_precedence(&b));
    prop_assert_eq!(ka == kb, a == b);
    prop_assert_eq!(Observation::<T>::from_precedence_key(ka.as_bytes()), Ok(a));
    prop_assert_eq!(Observation::<T>::from_precedence_key(kb.as_bytes()), Ok(b));
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(10_000))]

    #[test]
    fn i64_keys_sort_as_precedence(a in (any_status(), close_i64()), b in (any_status(), close_i64())) {
        check_pair(Observation::new(a.0, a.1), Observation::new(b.0, b.1))?;
    }

    #[test]
    fn u64_keys_sort_as_precedence(a in (any_status(), any::<u64>()), b in (any_status(), any::<u64>())) {
        check_pair(Observation::new(a.0, a.1), Observation::new(b.0, b.1))?;
    }

    #[cfg(feature = "wire")]
    #[test]
    fn jiff_keys_sort_as_precedence(a in (any_status(), any_jiff()), b in (any_status(), any_jiff())) {
        check_pair(Observation::new(a.0, a.1), Observation::new(b.0, b.1))?;
        let wire = |(s, t): (Status, jiff::Timestamp)| {
            hpp_status::wire::Timestamp::try_from(t).ok().map(|t| Observation::new(s, t))
        };
        // Before year 0000 there is no wire timestamp.
        if let (Some(a), Some(b)) = (wire(a), wire(b)) {
            check_pair(a, b)?;
        }
    }

    /// Any bytes at all: never a panic, and whatever decodes is a key that encodes back to
    /// exactly those bytes (the decoder accepts only what the encoder makes).
    #[test]
    fn arbitrary_bytes_decode_only_to_their_own_key(
        bytes in prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..32),
            proptest::collection::vec(any::<u8>(), 14..=14),
            // Plausible keys: a good phase and rank, random time bytes.
            (1_u8..=3, proptest::collection::vec(any::<u8>(), 12..=12), 0_u8..=7)
                .prop_map(|(p, t, r)| { let mut k = vec![p]; k.extend(t); k.push(r); k }),
        ]
    ) {
        fn round_trips<T: SortableTime + Copy + Debug>(bytes: &[u8]) -> Result<bool, TestCaseError> {
            match Observation::<T>::from_precedence_key(bytes) {
                Ok(seen) => {
                    let key = seen.precedence_key();
                    prop_assert_eq!(key.as_bytes(), bytes);
                    Ok(true)
                }
                Err(PrecedenceKeyError::Length(n)) => {
                    prop_assert_eq!(n, bytes.len());
                    prop_assert_ne!(n, PrecedenceKey::LEN);
                    Ok(false)
                }
                Err(_) => Ok(false),
            }
        }
        let as_i64 = round_trips::<i64>(&bytes)?;
        let as_u64 = round_trips::<u64>(&bytes)?;
        #[cfg(feature = "wire")]
        {
            let as_jiff = round_trips::<jiff::Timestamp>(&bytes)?;
            let as_wire = round_trips::<hpp_status::wire::Timestamp>(&bytes)?;
            prop_assert_eq!(as_jiff, as_wire);
            // A millisecond key within jiff's range is a jiff key too.
            if as_i64 {
                let ms = Observation::<i64>::from_precedence_key(&bytes).unwrap().updated_at;
                prop_assert_eq!(as_jiff, jiff::Timestamp::from_millisecond(ms).is_ok());
            }
        }
        if as_u64 {
            prop_assert!(as_i64 || Observation::<u64>::from_precedence_key(&bytes).unwrap().updated_at > i64::MAX as u64);
        }
    }
}

/// Sorting keys sorts observations by precedence, as a database index would.
#[test]
fn sorting_keys_sorts_by_precedence() {
    let mut observations: Vec<Observation<i64>> = Status::ALL
        .into_iter()
        .flat_map(|s| [-2000, -1, 0, 1, 5000].map(|t| Observation::new(s, t)))
        .collect();
    let mut by_key = observations.clone();
    by_key.sort_by_key(Observation::precedence_key);
    observations.sort_by(Observation::cmp_precedence);
    assert_eq!(by_key, observations);
    assert_eq!(
        by_key.last(),
        Some(&Observation::new(Status::Completed, -2000))
    );
    assert_eq!(
        by_key.first(),
        Some(&Observation::new(Status::Waiting, -2000))
    );
    assert_eq!(
        by_key
            .iter()
            .filter(|o| o.status.phase() == Phase::Final)
            .count(),
        15
    );
    assert!(
        by_key
            .windows(2)
            .all(|w| w[0].cmp_precedence(&w[1]) == Ordering::Less)
    );
}

/// Stored keys outlive the code that wrote them: the phase bytes and tie ranks are a storage
/// format. Changing one changes what every stored key means (this test says so first).
#[test]
fn phases_and_tie_ranks_are_a_storage_format() {
    let layout: std::collections::BTreeMap<&str, (u8, u8)> = Status::ALL
        .into_iter()
        .map(|status| {
            let key = Observation::new(status, 0_i64).precedence_key();
            (status.as_str(), (key.as_bytes()[0], key.as_bytes()[13]))
        })
        .collect();
    let expected: std::collections::BTreeMap<&str, (u8, u8)> = [
        ("WAITING", (1, 0)),
        ("IN_PROGRESS", (2, 1)),
        ("ERROR", (2, 2)),
        ("BACK", (2, 3)),
        ("FAILED", (2, 4)),
        ("CANCELLED", (3, 5)),
        ("DISABLED", (3, 6)),
        ("COMPLETED", (3, 7)),
    ]
    .into_iter()
    .collect();
    assert_eq!(layout, expected);
}
