//! The HPP API's JSON payloads (feature `wire`): the Read Session response and the status
//! callback, typed, with nothing lost.
//!
//! - Every documented field is kept; every field is optional, as the API documents it;
//!   unknown fields are ignored.
//! - No payload is lost to a field the tracker does not need: a malformed field is left
//!   absent and reported as a [`FieldProblem`] (with its value when it is small), and the
//!   observation needs only `status` and `updated_at`. Refused whole: non-objects, a
//!   documented field given twice, a callback without `session`.
//! - `MANUAL_ID_CHECK` and `TIMEOUT`, which the API documents outside the lifecycle, are
//!   their own [`ReportedStatus`] cases; any other status string is
//!   [`ReportedStatus::Unrecognized`], with its text. None is ever final or mapped onto a
//!   lifecycle status.
//! - Timestamps are RFC 3339, read strictly over years 0000-9999 ([`Timestamp`] has the
//!   grammar), and written back in the API's own form (UTC with milliseconds).
//! - Every type round-trips: through JSON (a problem's value written back where it was, when
//!   it is kept) and exactly through non-self-describing formats such as postcard.
//!
//! This module needs `alloc` (not `std`); the rest of the crate stays allocation-free.
//!
//! ```
//! use hpp_status::wire::StatusCallback;
//! use hpp_status::{Status, Tracker};
//!
//! let body = r#"{"event_id":"6ee4ab4c-8f1a-4b7b-9f8e-1a8ff1e0e0a1","session":{
//!     "session_id":"a15b228c-02ad-11e9-8eb2-f2801f1b9fd1","status":"IN_PROGRESS",
//!     "updated_at":"2019-05-13T14:51:46.288Z","expires_at":"2019-05-15T13:51:43.507Z"}}"#;
//! let callback: StatusCallback = serde_json::from_str(body)?;
//! let mut tracker = Tracker::new();
//! tracker.observe(callback.session.observation()?);
//! assert_eq!(tracker.status(), Some(Status::InProgress));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod lenient;
mod place_order_mode;
mod problem;
mod reported;
mod session;
mod timestamp;

pub use self::place_order_mode::PlaceOrderMode;
pub use self::problem::{FieldError, FieldProblem, Found};
pub use self::reported::{ReportedStatus, UnrecognizedStatus};
pub use self::session::{
    Completion, Customer, ManualIdentification, ObservationError, SessionResponse, StatusCallback,
};
pub use self::timestamp::{ParseTimestampError, Timestamp, TimestampRangeError};
