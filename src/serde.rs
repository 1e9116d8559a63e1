//! Serde support (feature `serde`): a [`Status`] is its wire name, a JSON string.

use core::fmt;

use serde::de::{self, Deserialize, Deserializer, Visitor};
use serde::ser::{Serialize, Serializer};

use crate::Status;

impl Serialize for Status {
    /// Writes the wire name, such as `"IN_PROGRESS"`.
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Status {
    /// Reads a wire name exactly; the error is the [`ParseStatusError`](crate::ParseStatusError)
    /// message. To keep statuses the crate does not know, deserialize a
    /// `ReportedStatus` (feature `wire`) instead.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Status, D::Error> {
        deserializer.deserialize_str(StatusVisitor)
    }
}

struct StatusVisitor;

impl Visitor<'_> for StatusVisitor {
    type Value = Status;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an HPP status name such as \"IN_PROGRESS\"")
    }

    fn visit_str<E: de::Error>(self, name: &str) -> Result<Status, E> {
        name.parse().map_err(E::custom)
    }
}
