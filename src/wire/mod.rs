//! The HPP API's JSON payloads (feature `wire`): the Read Session response and the status
//! callback, typed, with nothing lost.
//!
//! - Every documented field is kept; every field is optional, as the API documents it;
//!   unknown fields are ignored.
//! - A status the crate does not know (`MANUAL_ID_CHECK`, `TIMEOUT`, a future one) is kept
//!   as [`ReportedStatus::Unrecognized`] with its text: the payload is never rejected whole
//!   for it, and it is never mapped onto a known status.
//! - Timestamps are RFC 3339, parsed by [`jiff`], and written back in the API's own form
//!   (UTC with milliseconds).
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
mod problem;
mod reported;
mod session;
mod timestamp;

pub use self::problem::{FieldError, FieldProblem, Found};
pub use self::reported::{ReportedStatus, UnrecognizedStatus};
pub use self::session::{
    Completion, Customer, ManualIdentification, ObservationError, SessionResponse, StatusCallback,
};
pub use self::timestamp::{ParseTimestampError, Timestamp, TimestampRangeError};
