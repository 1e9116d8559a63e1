//! The crate never allocates: every hot path runs under a counting global allocator
//! (`allocation-counter`, which counts per thread, so the harness's other test threads do not
//! interfere) and must leave the count at zero, errors and their messages included.
//!
//! Messages are formatted into [`StackBuf`], a fixed buffer on the stack: `to_string()` would
//! allocate the `String` itself and prove nothing about the crate.
//!
//! The observer is checked with `Observation<u64>` timestamps: `Tracker::observe` for every
//! kind of outcome, `merge`, `disposition` and collecting into a tracker. With feature `wire`,
//! reading and writing timestamps, refusals included, and reading the documented status
//! names ([`wire_timestamps`]); parsing a whole wire payload allocates its strings and is not
//! checked here.
//!
//! One test per entry point; an entry point added to the crate gets its own
//! `..._allocates_nothing` test here.

use std::fmt::{self, Write};
use std::hint::black_box;

use allocation_counter::{AllocationInfo, measure};
use hpp_status::{Action, Disposition, Expiry, Observation, Status, Tracker};

/// A `fmt::Write` into a fixed array: writing to it never allocates, and a message too long
/// for it is an error, not a silent cut.
struct StackBuf {
    bytes: [u8; 2048],
    len: usize,
}

impl StackBuf {
    fn new() -> StackBuf {
        StackBuf {
            bytes: [0; 2048],
            len: 0,
        }
    }

    fn as_str(&self) -> &str {
        std::str::from_utf8(&self.bytes[..self.len]).expect("only whole str were written")
    }
}

impl Write for StackBuf {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let end = self.len + s.len();
        self.bytes
            .get_mut(self.len..end)
            .ok_or(fmt::Error)?
            .copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

/// Runs `f` under the counter and fails if it allocated, saying what did.
fn assert_allocates_nothing(what: &str, f: impl FnOnce()) {
    let info = measure(f);
    assert_eq!(
        info,
        AllocationInfo::default(),
        "{what} allocated: {info:?}"
    );
}

#[test]
fn the_counter_sees_allocations() {
    // Without this, a counter that counts nothing would pass every test below.
    let info = measure(|| {
        black_box(String::from("IN_PROGRESS"));
    });
    assert_eq!(info.count_total, 1);
    assert_eq!(info.bytes_total, 11);

    // And formatting an error into a `String` does allocate: hence `StackBuf`.
    let error = black_box("TIMEOUT").parse::<Status>().unwrap_err();
    assert!(measure(|| drop(black_box(error.to_string()))).count_total > 0);

    // The buffer refuses what does not fit instead of cutting it.
    let mut small = StackBuf::new();
    assert!(small.write_str(&"x".repeat(2049)).is_err());
}

#[test]
fn parse_allocates_nothing() {
    for status in Status::ALL {
        let name = status.as_str();
        let mut parsed = None;
        assert_allocates_nothing(name, || {
            parsed = black_box(name).parse::<Status>().ok();
            black_box(Status::from_name(black_box(name)));
        });
        assert_eq!(parsed, Some(status));
    }

    let long = "IN_PROGRESS ".repeat(10);
    let cut_inside_a_char = format!("{}é", "x".repeat(31));
    for bad in [
        "in_progress",
        "TIMEOUT",
        "",
        " BACK",
        &long,
        &cut_inside_a_char,
    ] {
        let mut message = StackBuf::new();
        let mut debug = StackBuf::new();
        let mut error = None;
        assert_allocates_nothing(bad, || {
            let e = black_box(bad).parse::<Status>().unwrap_err();
            write!(message, "{e}").unwrap();
            write!(debug, "{e:?}").unwrap();
            black_box((e.input(), e.input_len(), e.case_of()));
            error = Some(e);
        });
        // The buffers got the whole messages (checked outside the counter: these allocate).
        let error = error.unwrap();
        assert_eq!(message.as_str(), error.to_string());
        assert_eq!(debug.as_str(), format!("{error:?}"));
        assert!(message.as_str().starts_with("unknown HPP status"));
    }
}

#[test]
fn apply_allocates_nothing() {
    let mut refusals = 0;
    for from in Status::ALL {
        for action in Action::ALL {
            let mut message = StackBuf::new();
            let mut result = None;
            assert_allocates_nothing(&format!("{from} {action}"), || {
                let r = black_box(from).apply(black_box(action));
                if let Err(refused) = r {
                    write!(message, "{refused}").unwrap();
                    black_box(refused.needs_first());
                }
                result = Some(r);
            });
            match result.unwrap() {
                Ok(to) => assert!(from.can_transition_to(to)),
                Err(refused) => {
                    refusals += 1;
                    assert_eq!(message.as_str(), refused.to_string());
                }
            }
        }
    }
    // 56 pairs, 14 steps: every refusal was formatted.
    assert_eq!(refusals, 56 - 14);
}

#[test]
fn transition_to_allocates_nothing() {
    for from in Status::ALL {
        for to in Status::ALL {
            let mut message = StackBuf::new();
            assert_allocates_nothing(&format!("{from} -> {to}"), || {
                if let Err(refused) = black_box(from).transition_to(black_box(to)) {
                    write!(message, "{refused}").unwrap();
                }
            });
            assert_eq!(message.len == 0, from.can_transition_to(to));
        }
    }
}

#[test]
fn can_reach_allocates_nothing() {
    let mut reachable = 0;
    assert_allocates_nothing("can_reach", || {
        for from in Status::ALL {
            for later in Status::ALL {
                reachable += u32::from(black_box(from).can_reach(black_box(later)));
            }
        }
    });
    // Five open statuses reach the seven others but WAITING; the three finals reach nothing.
    assert_eq!(reachable, 5 * 7);
}

#[test]
fn successors_iteration_allocates_nothing() {
    let mut steps = 0;
    let mut sets = StackBuf::new();
    assert_allocates_nothing("successors", || {
        for from in Status::ALL {
            for to in black_box(from).successors() {
                steps += 1;
                black_box(to);
            }
            black_box(from.reachable().iter().count());
            write!(sets, "{} / {:?}; ", from.successors(), from.reachable()).unwrap();
        }
    });
    assert_eq!(steps, hpp_status::STEPS.len());
    assert!(sets.as_str().starts_with("IN_PROGRESS | DISABLED / {"));
}

/// A tracker holding `status` at `at` (built outside the counter).
fn held(status: Status, at: u64) -> Tracker<u64> {
    let mut tracker = Tracker::new();
    tracker.observe(Observation::new(status, at));
    tracker
}

#[test]
fn observe_allocates_nothing() {
    // What the tracker holds, the delivery, and the outcome it must have. The conflicts keep
    // what was held, replace a final, and replace an open status.
    let cases = [
        (Tracker::new(), (Status::Waiting, 1), "advanced"),
        (held(Status::InProgress, 10), (Status::Back, 20), "advanced"),
        (held(Status::Back, 20), (Status::Back, 20), "duplicate"),
        (
            held(Status::Completed, 30),
            (Status::Completed, 40),
            "duplicate",
        ),
        (held(Status::Back, 20), (Status::InProgress, 10), "stale"),
        (
            held(Status::Completed, 30),
            (Status::Cancelled, 40),
            "conflict",
        ),
        (
            held(Status::Cancelled, 40),
            (Status::Completed, 30),
            "conflict",
        ),
        (
            held(Status::Waiting, 40),
            (Status::InProgress, 30),
            "conflict",
        ),
    ];
    for (mut tracker, (status, at), kind) in cases {
        let seen = Observation::new(status, at);
        let mut text = StackBuf::new();
        let mut outcome = None;
        assert_allocates_nothing(&format!("observe {seen}"), || {
            let o = black_box(&mut tracker).observe(black_box(seen));
            write!(text, "{o:?} {} {o}", o.current()).unwrap();
            black_box((o.became_final(), o.is_conflict(), o.kind()));
            outcome = Some(o);
        });
        let outcome = outcome.unwrap();
        assert_eq!(outcome.kind().as_str(), kind, "{outcome:?}");
        assert_eq!(Some(outcome.current()), tracker.latest());
        assert_eq!(
            text.as_str(),
            format!("{outcome:?} {} {outcome}", outcome.current())
        );
    }
}

#[test]
fn merge_disposition_and_collect_allocate_nothing() {
    let deliveries = [
        (Status::Back, 20),
        (Status::InProgress, 10),
        (Status::Completed, 30),
    ]
    .map(|(status, at)| Observation::new(status, at));
    let mut web = held(Status::Failed, 15);
    let mut batch = Tracker::new();
    let mut dispositions = None;
    let mut merged = None;
    let expiry = Expiry::new(100, 90);
    assert_allocates_nothing("merge", || {
        batch = black_box(deliveries).into_iter().collect();
        let open = black_box(web).disposition(&50, Some(&expiry));
        let due = black_box(web).disposition(&95, Some(&expiry));
        merged = Some((
            web.merge(black_box(&batch)),
            web.merge(black_box(&Tracker::new())),
        ));
        dispositions = Some((open, due, web.disposition(&200, Some(&expiry))));
    });
    assert_eq!(batch.status(), Some(Status::Completed));
    assert_eq!(web, batch);
    let (into_web, from_empty) = merged.unwrap();
    assert!(into_web.is_some_and(|outcome| outcome.became_final()));
    assert_eq!(from_empty, None);
    assert_eq!(
        dispositions,
        Some((
            Disposition::Open,
            Disposition::ReadBeforeExpiry,
            Disposition::Final(Status::Completed)
        ))
    );
}

/// Reading and writing `wire::Timestamp`s never allocates, refusals and their messages
/// included, nor does reading one of the ten documented status names.
#[cfg(feature = "wire")]
mod wire_timestamps {
    use std::fmt::Write as _;
    use std::hint::black_box;
    use std::time::Duration;

    use allocation_counter::measure;
    use hpp_status::Status;
    use hpp_status::wire::{ReportedStatus, Timestamp};

    use super::{StackBuf, assert_allocates_nothing};

    #[test]
    fn timestamps_read_and_write_without_allocating() {
        for text in [
            "2019-05-13T14:51:46.288Z",
            "2019-05-13T16:51:46.123456789+02:00",
            "0000-01-01T00:00:00+01:00",
            "9999-12-31T23:59:59.999-23:59",
        ] {
            let mut written = StackBuf::new();
            let mut parsed = None;
            assert_allocates_nothing(text, || {
                let at: Timestamp = black_box(text).parse().unwrap();
                write!(written, "{at}").unwrap();
                black_box(at.checked_add(Duration::from_millis(5)));
                black_box(at.expiry(Duration::from_secs(600)));
                black_box(Timestamp::from_unix(at.unix().0, at.unix().1));
                parsed = Some(at);
            });
            assert_eq!(written.as_str(), parsed.unwrap().to_string());
        }
    }

    #[test]
    fn refusals_and_their_messages_allocate_nothing() {
        let long = "9".repeat(10_000);
        for text in [
            "2019-05-13 14:51:46Z",
            "2016-12-31T23:59:60Z",
            "",
            long.as_str(),
        ] {
            let mut message = StackBuf::new();
            let mut refused = None;
            assert_allocates_nothing(text, || {
                let error = black_box(text).parse::<Timestamp>().unwrap_err();
                write!(message, "{error}").unwrap();
                refused = Some(error);
            });
            assert_eq!(message.as_str(), refused.unwrap().to_string());
        }
    }

    #[test]
    fn documented_status_names_are_read_without_allocating() {
        let names = Status::ALL
            .iter()
            .map(|status| status.as_str())
            .chain(["MANUAL_ID_CHECK", "TIMEOUT"]);
        for name in names {
            let mut reported = None;
            assert_allocates_nothing(name, || {
                reported = Some(ReportedStatus::from_wire(black_box(name)))
            });
            assert_eq!(reported.unwrap().as_str(), name);
        }
        // Another name is kept with its text, which allocates it.
        assert!(measure(|| drop(black_box(ReportedStatus::from_wire("EXPIRED")))).count_total > 0);
    }
}
