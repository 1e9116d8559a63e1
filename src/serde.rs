//! Serde support (feature `serde`): a [`Status`] is its wire name, a JSON string.

use core::fmt;
use core::marker::PhantomData;
use core::str::FromStr;

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
        deserialize_from_str(deserializer, "an HPP status name such as \"IN_PROGRESS\"")
    }
}

/// Deserializes a `T` from a string through its [`FromStr`], whose error becomes the
/// deserializer's; anything but a string is refused with `expecting`.
pub(crate) fn deserialize_from_str<'de, D, T>(
    deserializer: D,
    expecting: &'static str,
) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: FromStr,
    T::Err: fmt::Display,
{
    deserializer.deserialize_str(FromStrVisitor {
        expecting,
        parsed: PhantomData,
    })
}

struct FromStrVisitor<T> {
    expecting: &'static str,
    parsed: PhantomData<T>,
}

impl<T> Visitor<'_> for FromStrVisitor<T>
where
    T: FromStr,
    T::Err: fmt::Display,
{
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.expecting)
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<T, E> {
        text.parse().map_err(E::custom)
    }
}
