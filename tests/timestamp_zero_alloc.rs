//! Reading and writing timestamps never allocates, refusals and their messages included, nor
//! does reading one of the ten documented status names (feature `wire`). Checked under
//! `allocation-counter`'s counting allocator, as `tests/zero_alloc.rs` checks the core.
#![cfg(feature = "wire")]

use std::fmt::{self, Write};
use std::hint::black_box;
use std::time::Duration;

use allocation_counter::{AllocationInfo, measure};
use hpp_status::Status;
use hpp_status::wire::{ReportedStatus, Timestamp};

/// A `fmt::Write` into a fixed array: writing to it never allocates.
struct StackBuf {
    bytes: [u8; 512],
    len: usize,
}

impl StackBuf {
    fn new() -> StackBuf {
        StackBuf {
            bytes: [0; 512],
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
    let info = measure(|| drop(black_box("2019-05-13T14:51:46.288Z".to_owned())));
    assert_eq!(info.count_total, 1);
}

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
