//! [`ReportedStatus`]: a status as the wire wrote it, known or not.

use alloc::string::String;
use core::convert::Infallible;
use core::fmt;
use core::str::FromStr;

use serde::de::{Deserialize, Deserializer};
use serde::ser::{Serialize, Serializer};

use crate::Status;
use crate::parse::Quote;

/// The `status` field of a payload: one of the eight statuses of the lifecycle, one of the
/// two other statuses the API documents, or any other string, kept with its text.
///
/// `MANUAL_ID_CHECK` (in the status enum of the API's OpenAPI description) and `TIMEOUT`
/// (documented by the status-callback page) are not in the lifecycle table and have no
/// documented semantics (SPEC §1 and §7): the crate never takes them as final and never maps
/// them onto a lifecycle status. [`SessionResponse::observation`] refuses them with an error
/// that names which one it was, so that the caller reads the session again.
///
/// The text round-trips exactly: [`from_wire`](ReportedStatus::from_wire) gives
/// [`Known`](ReportedStatus::Known), [`ManualIdCheck`](ReportedStatus::ManualIdCheck) or
/// [`Timeout`](ReportedStatus::Timeout) for exactly their names, and an
/// [`UnrecognizedStatus`] can hold no other name.
///
/// ```
/// use hpp_status::Status;
/// use hpp_status::wire::ReportedStatus;
///
/// let known: ReportedStatus = "BACK".parse().unwrap();
/// assert_eq!(known.known(), Some(Status::Back));
/// assert_eq!(ReportedStatus::from_wire("MANUAL_ID_CHECK"), ReportedStatus::ManualIdCheck);
/// assert_eq!(ReportedStatus::from_wire("TIMEOUT"), ReportedStatus::Timeout);
/// let other = ReportedStatus::from_wire("EXPIRED");
/// assert_eq!(other.known(), None);
/// assert_eq!(other.as_str(), "EXPIRED");
/// ```
///
/// [`SessionResponse::observation`]: crate::wire::SessionResponse::observation
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
#[non_exhaustive]
pub enum ReportedStatus {
    /// One of the eight statuses of the lifecycle.
    Known(Status),
    /// `MANUAL_ID_CHECK`: listed by the API's status enum (an in-store manual identification
    /// of the consumer), with no documented semantics. Never final: read the session again.
    ManualIdCheck,
    /// `TIMEOUT`: documented by the status-callback page (a per-session timer, when the
    /// consumer leaves the page without Back or Cancel); whether it is final is not
    /// documented. Never final here: read the session again.
    Timeout,
    /// Any other string, exactly as received (`in_progress`, `COMPLETE`, a future status...).
    Unrecognized(UnrecognizedStatus),
}

impl ReportedStatus {
    /// The wire name of [`ReportedStatus::ManualIdCheck`].
    ///
    /// ```
    /// use hpp_status::wire::ReportedStatus;
    ///
    /// assert_eq!(ReportedStatus::ManualIdCheck.as_str(), ReportedStatus::MANUAL_ID_CHECK);
    /// ```
    pub const MANUAL_ID_CHECK: &'static str = "MANUAL_ID_CHECK";
    /// The wire name of [`ReportedStatus::Timeout`].
    ///
    /// ```
    /// use hpp_status::wire::ReportedStatus;
    ///
    /// assert_eq!(ReportedStatus::from_wire(ReportedStatus::TIMEOUT), ReportedStatus::Timeout);
    /// ```
    pub const TIMEOUT: &'static str = "TIMEOUT";

    /// The status, when it is one of the eight of the lifecycle.
    ///
    /// ```
    /// use hpp_status::Status;
    /// use hpp_status::wire::ReportedStatus;
    ///
    /// assert_eq!(ReportedStatus::from(Status::Error).known(), Some(Status::Error));
    /// assert_eq!(ReportedStatus::Timeout.known(), None);
    /// ```
    #[must_use]
    pub fn known(&self) -> Option<Status> {
        match self {
            ReportedStatus::Known(status) => Some(*status),
            ReportedStatus::ManualIdCheck
            | ReportedStatus::Timeout
            | ReportedStatus::Unrecognized(_) => None,
        }
    }

    /// The text as it travels on the wire.
    ///
    /// ```
    /// use hpp_status::wire::ReportedStatus;
    ///
    /// assert_eq!(ReportedStatus::Timeout.as_str(), "TIMEOUT");
    /// assert_eq!(ReportedStatus::from_wire("in_progress").as_str(), "in_progress");
    /// ```
    #[must_use]
    pub fn as_str(&self) -> &str {
        match self {
            ReportedStatus::Known(status) => status.as_str(),
            ReportedStatus::ManualIdCheck => ReportedStatus::MANUAL_ID_CHECK,
            ReportedStatus::Timeout => ReportedStatus::TIMEOUT,
            ReportedStatus::Unrecognized(text) => text.as_str(),
        }
    }

    /// The reported status for a wire string: its own case when it is exactly one of the ten
    /// documented names, else [`Unrecognized`](ReportedStatus::Unrecognized) with the text.
    ///
    /// ```
    /// use hpp_status::Status;
    /// use hpp_status::wire::ReportedStatus;
    ///
    /// assert_eq!(ReportedStatus::from_wire("COMPLETED"), ReportedStatus::Known(Status::Completed));
    /// assert_eq!(ReportedStatus::from_wire("COMPLETE").known(), None); // never guessed
    /// assert_eq!(ReportedStatus::from_wire("timeout").as_str(), "timeout"); // names are exact
    /// ```
    #[must_use]
    pub fn from_wire(text: &str) -> ReportedStatus {
        match Status::find_name(text) {
            Some(status) => ReportedStatus::Known(status),
            None => match text {
                ReportedStatus::MANUAL_ID_CHECK => ReportedStatus::ManualIdCheck,
                ReportedStatus::TIMEOUT => ReportedStatus::Timeout,
                _ => ReportedStatus::Unrecognized(UnrecognizedStatus(text.into())),
            },
        }
    }
}

impl From<Status> for ReportedStatus {
    fn from(status: Status) -> ReportedStatus {
        ReportedStatus::Known(status)
    }
}

impl FromStr for ReportedStatus {
    type Err = Infallible;

    /// Never fails: see [`ReportedStatus::from_wire`].
    fn from_str(text: &str) -> Result<ReportedStatus, Infallible> {
        Ok(ReportedStatus::from_wire(text))
    }
}

impl fmt::Display for ReportedStatus {
    /// The wire text, whole; padding and alignment flags are honoured.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

impl Serialize for ReportedStatus {
    /// The wire text, in every format.
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for ReportedStatus {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<ReportedStatus, D::Error> {
        crate::serde::deserialize_from_str(deserializer, "a status string")
    }
}

/// A status string that is none of the ten names the API documents (the eight of the
/// lifecycle, `MANUAL_ID_CHECK` and `TIMEOUT`), exactly as received. Only
/// [`ReportedStatus::from_wire`] makes one, so it never holds one of those names.
///
/// `Display` writes the text whole; [`quoted`](UnrecognizedStatus::quoted) gives a bounded
/// quote for messages.
///
/// ```
/// use hpp_status::wire::ReportedStatus;
///
/// let ReportedStatus::Unrecognized(other) = ReportedStatus::from_wire("EXPIRED") else {
///     unreachable!()
/// };
/// assert_eq!(other.as_str(), "EXPIRED");
/// assert_eq!(other.to_string(), "EXPIRED");
/// ```
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct UnrecognizedStatus(String);

impl UnrecognizedStatus {
    /// The text, exactly as received.
    ///
    /// ```
    /// use hpp_status::wire::ReportedStatus;
    ///
    /// assert!(matches!(ReportedStatus::from_wire(""), ReportedStatus::Unrecognized(text) if text.as_str().is_empty()));
    /// ```
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The text, escaped and in quotes, cut after 32 bytes (with its length) when longer:
    /// what a message shows of it, whatever its size.
    ///
    /// ```
    /// use hpp_status::wire::ReportedStatus;
    ///
    /// let ReportedStatus::Unrecognized(long) = ReportedStatus::from_wire(&"X".repeat(100)) else {
    ///     unreachable!()
    /// };
    /// assert_eq!(long.quoted().to_string(), format!("{:?} (cut; 100 bytes in all)", "X".repeat(32)));
    /// ```
    #[must_use]
    pub fn quoted(&self) -> impl fmt::Display + use<> {
        Quote::new(&self.0)
    }

    /// The text, owned.
    ///
    /// ```
    /// use hpp_status::wire::ReportedStatus;
    ///
    /// let ReportedStatus::Unrecognized(other) = ReportedStatus::from_wire("x") else { unreachable!() };
    /// assert_eq!(other.into_string(), "x");
    /// ```
    #[must_use]
    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Display for UnrecognizedStatus {
    /// The text, whole; padding and alignment flags are honoured.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(&self.0)
    }
}
