//! [`ReportedStatus`]: a status as the wire wrote it, known or not.

use alloc::string::String;
use core::convert::Infallible;
use core::fmt;
use core::str::FromStr;

use serde::de::{Deserialize, Deserializer};
use serde::ser::{Serialize, Serializer};

use crate::Status;

/// The `status` field of a payload: one of the eight statuses, or a string the crate does
/// not know, kept with its text.
///
/// ```
/// use hpp_status::Status;
/// use hpp_status::wire::ReportedStatus;
///
/// let known: ReportedStatus = "BACK".parse().unwrap();
/// assert_eq!(known.known(), Some(Status::Back));
/// let other: ReportedStatus = "MANUAL_ID_CHECK".parse().unwrap();
/// assert_eq!(other.known(), None);
/// assert_eq!(other.as_str(), "MANUAL_ID_CHECK");
/// ```
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub enum ReportedStatus {
    /// One of the eight statuses of the lifecycle.
    Known(Status),
    /// Any other string, exactly as received (`MANUAL_ID_CHECK`, `TIMEOUT`, `in_progress`...).
    Unrecognized(String),
}

impl ReportedStatus {
    /// The status, when it is one of the eight.
    ///
    /// ```
    /// use hpp_status::Status;
    /// use hpp_status::wire::ReportedStatus;
    ///
    /// assert_eq!(ReportedStatus::from(Status::Error).known(), Some(Status::Error));
    /// ```
    #[must_use]
    pub fn known(&self) -> Option<Status> {
        match self {
            ReportedStatus::Known(status) => Some(*status),
            ReportedStatus::Unrecognized(_) => None,
        }
    }

    /// The text as it travels on the wire.
    ///
    /// ```
    /// use hpp_status::wire::ReportedStatus;
    ///
    /// assert_eq!(ReportedStatus::from_wire("TIMEOUT").as_str(), "TIMEOUT");
    /// ```
    #[must_use]
    pub fn as_str(&self) -> &str {
        match self {
            ReportedStatus::Known(status) => status.as_str(),
            ReportedStatus::Unrecognized(text) => text,
        }
    }

    /// The reported status for a wire string: known when it is exactly a status name.
    ///
    /// ```
    /// use hpp_status::Status;
    /// use hpp_status::wire::ReportedStatus;
    ///
    /// assert_eq!(ReportedStatus::from_wire("COMPLETED"), ReportedStatus::Known(Status::Completed));
    /// assert_eq!(ReportedStatus::from_wire("COMPLETE").known(), None); // never guessed
    /// ```
    #[must_use]
    pub fn from_wire(text: &str) -> ReportedStatus {
        match Status::find_name(text) {
            Some(status) => ReportedStatus::Known(status),
            None => ReportedStatus::Unrecognized(text.into()),
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
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

impl Serialize for ReportedStatus {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for ReportedStatus {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<ReportedStatus, D::Error> {
        crate::serde::deserialize_from_str(deserializer, "a status string")
    }
}
