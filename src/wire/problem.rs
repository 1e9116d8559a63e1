//! [`FieldProblem`]: a field of a payload that could not be used, why, and what it held.

use alloc::string::String;
use core::fmt;

use serde::de::{self, Deserialize, Deserializer};
use serde::ser::{Serialize, SerializeMap, SerializeStruct, Serializer};

use super::ParseTimestampError;
use super::timestamp::cut_text_error;

/// What a field holds when it is well formed.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Shape {
    /// A string, kept as it is.
    Text,
    /// An RFC 3339 string.
    Time,
    /// An object of documented fields.
    Object,
}

/// A documented field of a payload, by its place in [`FIELDS`].
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct Field(u8);

impl fmt::Debug for Field {
    /// The path, such as `"customer.title"`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.path())
    }
}

/// Every documented field: its path from the payload's top (`customer.title`) and its shape.
/// The fields of a customer follow the customer's own entry, in this order.
const FIELDS: [(&str, Shape); 29] = [
    ("session_id", Shape::Text),
    ("status", Shape::Text),
    ("updated_at", Shape::Time),
    ("expires_at", Shape::Time),
    ("authorization_token", Shape::Text),
    ("order_id", Shape::Text),
    ("klarna_reference", Shape::Text),
    ("customer", Shape::Object),
    ("customer.date_of_birth", Shape::Text),
    ("customer.family_name", Shape::Text),
    ("customer.given_name", Shape::Text),
    ("customer.national_identification_number", Shape::Text),
    ("customer.title", Shape::Text),
    ("manual_identification", Shape::Object),
    ("manual_identification.challenge", Shape::Text),
    ("manual_identification.customer", Shape::Object),
    ("manual_identification.customer.date_of_birth", Shape::Text),
    ("manual_identification.customer.family_name", Shape::Text),
    ("manual_identification.customer.given_name", Shape::Text),
    (
        "manual_identification.customer.national_identification_number",
        Shape::Text,
    ),
    ("manual_identification.customer.title", Shape::Text),
    ("manual_identification.customer_obfuscated", Shape::Object),
    (
        "manual_identification.customer_obfuscated.date_of_birth",
        Shape::Text,
    ),
    (
        "manual_identification.customer_obfuscated.family_name",
        Shape::Text,
    ),
    (
        "manual_identification.customer_obfuscated.given_name",
        Shape::Text,
    ),
    (
        "manual_identification.customer_obfuscated.national_identification_number",
        Shape::Text,
    ),
    (
        "manual_identification.customer_obfuscated.title",
        Shape::Text,
    ),
    ("manual_identification.expires_at", Shape::Time),
    ("event_id", Shape::Text),
];

impl Field {
    pub(crate) const SESSION_ID: Field = Field(0);
    pub(crate) const STATUS: Field = Field(1);
    pub(crate) const UPDATED_AT: Field = Field(2);
    pub(crate) const EXPIRES_AT: Field = Field(3);
    pub(crate) const AUTHORIZATION_TOKEN: Field = Field(4);
    pub(crate) const ORDER_ID: Field = Field(5);
    pub(crate) const KLARNA_REFERENCE: Field = Field(6);
    pub(crate) const CUSTOMER: Field = Field(7);
    pub(crate) const MANUAL_IDENTIFICATION: Field = Field(13);
    pub(crate) const MANUAL_CHALLENGE: Field = Field(14);
    pub(crate) const MANUAL_CUSTOMER: Field = Field(15);
    pub(crate) const MANUAL_CUSTOMER_OBFUSCATED: Field = Field(21);
    pub(crate) const MANUAL_EXPIRES_AT: Field = Field(27);
    pub(crate) const EVENT_ID: Field = Field(28);

    /// The `index`th field of the customer object whose own entry is `self` (0 is
    /// `date_of_birth`, ... 4 is `title`).
    pub(crate) const fn customer_field(self, index: u8) -> Field {
        Field(self.0 + 1 + index)
    }

    /// The path from the payload's top, such as `manual_identification.expires_at`.
    pub(crate) const fn path(self) -> &'static str {
        FIELDS[self.0 as usize].0
    }

    /// What the field holds when it is well formed.
    pub(crate) const fn shape(self) -> Shape {
        FIELDS[self.0 as usize].1
    }

    /// The field at `path`, if it is one.
    fn at_path(path: &str) -> Option<Field> {
        (0..FIELDS.len())
            .find(|&i| FIELDS[i].0 == path)
            .map(|i| Field(i as u8))
    }
}

/// How many bytes of text a [`Found::Text`] keeps whole; longer text is
/// [`Found::LongText`].
pub(crate) const KEPT_TEXT: usize = 256;
/// How many bytes of a longer text a [`Found::LongText`] keeps: more than a timestamp's
/// longest text (35 bytes) and the byte after it, so that its parse error is the whole
/// text's.
const KEPT_HEAD: usize = 64;

/// What a malformed field held: the value itself when it is a short string, a boolean or a
/// number, else what kind of value it was (and, for a long text, its first 64 bytes and its
/// length). Only strings, booleans and integers are written back ([`is_kept`](Found::is_kept)).
///
/// ```
/// use hpp_status::wire::{Found, SessionResponse};
///
/// let session: SessionResponse =
///     serde_json::from_str(r#"{"order_id":93,"customer":[1,2],"expires_at":"soon"}"#)?;
/// let found: Vec<_> = session.problems.iter().map(|p| (p.field(), p.found().clone())).collect();
/// assert_eq!(found, [
///     ("expires_at", Found::Text("soon".into())),
///     ("order_id", Found::Unsigned(93)),
///     ("customer", Found::Array),
/// ]);
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Found {
    /// A string of at most 256 bytes, whole.
    Text(String),
    /// A longer string: its first 64 bytes (cut at a character boundary) and its length.
    LongText {
        /// The first 64 bytes.
        head: String,
        /// The length in bytes of the whole string.
        len: usize,
    },
    /// `true` or `false`.
    Boolean(bool),
    /// A negative integer.
    Integer(i64),
    /// A non-negative integer.
    Unsigned(u64),
    /// A number with a fraction or an exponent. Reported, but not written back: a JSON
    /// reader need not read the text it is written as back to the same `f64` (`serde_json`
    /// without `float_roundtrip` does not, for some), so it could not read back the same
    /// problem.
    Float(f64),
    /// An array (not kept).
    Array,
    /// An object where a string was expected (not kept).
    Object,
    /// Any other value a non-JSON format can hold (bytes, an enum...; not kept).
    Other,
}

impl PartialEq for Found {
    /// Floats compare by their bits, so that `==` is an equivalence (JSON has no NaN anyway).
    fn eq(&self, other: &Found) -> bool {
        match (self, other) {
            (Found::Text(a), Found::Text(b)) => a == b,
            (
                Found::LongText { head, len },
                Found::LongText {
                    head: other_head,
                    len: other_len,
                },
            ) => head == other_head && len == other_len,
            (Found::Boolean(a), Found::Boolean(b)) => a == b,
            (Found::Integer(a), Found::Integer(b)) => a == b,
            (Found::Unsigned(a), Found::Unsigned(b)) => a == b,
            (Found::Float(a), Found::Float(b)) => a.to_bits() == b.to_bits(),
            (Found::Array, Found::Array)
            | (Found::Object, Found::Object)
            | (Found::Other, Found::Other) => true,
            _ => false,
        }
    }
}

impl Eq for Found {}

impl Found {
    /// A string, whole when it is at most 256 bytes, else its head and length.
    pub(crate) fn text(text: &str) -> Found {
        if text.len() <= KEPT_TEXT {
            return Found::Text(text.into());
        }
        let mut head = KEPT_HEAD;
        while !text.is_char_boundary(head) {
            head -= 1;
        }
        Found::LongText {
            head: text[..head].into(),
            len: text.len(),
        }
    }

    /// What kind of value it is, in words: `"a string"`, `"a boolean"`, `"an integer"`,
    /// `"a number"`, `"an array"`, `"an object"` or `"another value"`.
    ///
    /// ```
    /// use hpp_status::wire::Found;
    ///
    /// assert_eq!(Found::Unsigned(7).kind(), "an integer");
    /// ```
    #[must_use]
    pub const fn kind(&self) -> &'static str {
        match self {
            Found::Text(_) | Found::LongText { .. } => "a string",
            Found::Boolean(_) => "a boolean",
            Found::Integer(_) | Found::Unsigned(_) => "an integer",
            Found::Float(_) => "a number",
            Found::Array => "an array",
            Found::Object => "an object",
            Found::Other => "another value",
        }
    }

    /// Whether the value itself is kept (a string of at most 256 bytes, a boolean or an
    /// integer): then it is written back where it was, and reads back as the same problem.
    ///
    /// ```
    /// use hpp_status::wire::Found;
    ///
    /// assert!(Found::Boolean(true).is_kept());
    /// assert!(!Found::Array.is_kept());
    /// ```
    #[must_use]
    pub fn is_kept(&self) -> bool {
        self.kept().is_some()
    }

    /// The value to write back where it was, when it is kept.
    pub(crate) fn kept(&self) -> Option<Kept<'_>> {
        match self {
            Found::Text(text) => Some(Kept::Text(text)),
            Found::Boolean(value) => Some(Kept::Boolean(*value)),
            Found::Integer(value) => Some(Kept::Integer(*value)),
            Found::Unsigned(value) => Some(Kept::Unsigned(*value)),
            Found::LongText { .. }
            | Found::Float(_)
            | Found::Array
            | Found::Object
            | Found::Other => None,
        }
    }
}

/// A kept [`Found`] value, written back as it came.
pub(crate) enum Kept<'a> {
    Text(&'a str),
    Boolean(bool),
    Integer(i64),
    Unsigned(u64),
}

impl Serialize for Kept<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match *self {
            Kept::Text(text) => serializer.serialize_str(text),
            Kept::Boolean(value) => serializer.serialize_bool(value),
            Kept::Integer(value) => serializer.serialize_i64(value),
            Kept::Unsigned(value) => serializer.serialize_u64(value),
        }
    }
}

impl fmt::Display for Found {
    /// The kind, and the value when it is kept: `an integer 93`, `a string "soon"`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.kind())?;
        match self {
            Found::Text(text) => write!(f, " {text:?}"),
            Found::LongText { len, .. } => write!(f, " of {len} bytes"),
            Found::Boolean(value) => write!(f, " {value}"),
            Found::Integer(value) => write!(f, " {value}"),
            Found::Unsigned(value) => write!(f, " {value}"),
            Found::Float(value) => write!(f, " {value}"),
            Found::Array | Found::Object | Found::Other => Ok(()),
        }
    }
}

/// A documented field of a payload whose value could not be used, with what it held. The
/// rest of the payload was read: a malformed `expires_at` or `customer` never costs the
/// status, the `updated_at` or the authorization.
///
/// [`error`](FieldProblem::error) says why, computed from the field and what it held.
/// `Display` writes `` `field`: `` and the error.
///
/// With serde it is `{"field":"expires_at","message":"...","found":{"text":"soon"}}`
/// (`message` is written for people and ignored when read); it reads back equal (a
/// [`Found::Float`] only as exactly as the format's reader reads numbers back).
///
/// ```
/// use hpp_status::wire::SessionResponse;
///
/// let session: SessionResponse = serde_json::from_str(
///     r#"{"status":"COMPLETED","updated_at":"2019-05-13T14:51:46.288Z","expires_at":"soon"}"#,
/// )?;
/// assert!(session.observation().is_ok());
/// let problem = &session.problems[0];
/// assert_eq!(problem.field(), "expires_at");
/// assert_eq!(
///     problem.to_string(),
///     "`expires_at`: invalid RFC 3339 timestamp \"soon\": at byte 0, expected the year's four digits"
/// );
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct FieldProblem {
    field: Field,
    found: Found,
}

impl FieldProblem {
    /// The problem of `field` holding `found`, or `None` when that is no problem (a string
    /// in a text field, a valid timestamp in a time field).
    pub(crate) fn new(field: Field, found: Found) -> Option<FieldProblem> {
        let problem = FieldProblem { field, found };
        let is_problem = match (field.shape(), &problem.found) {
            // A long text only as `Found::text` makes one.
            (_, Found::LongText { head, len })
                if head.len() > KEPT_HEAD || *len <= KEPT_TEXT || head.len() > *len =>
            {
                false
            }
            (Shape::Text, Found::Text(_) | Found::LongText { .. }) => false,
            (Shape::Time, Found::Text(text)) => text.parse::<super::Timestamp>().is_err(),
            _ => true,
        };
        is_problem.then_some(problem)
    }

    /// The field, as its path from the top of the payload: `expires_at`, `customer.title`,
    /// `manual_identification.expires_at`, or `event_id` for a callback's own field.
    ///
    /// ```
    /// use hpp_status::wire::SessionResponse;
    ///
    /// let session: SessionResponse = serde_json::from_str(r#"{"customer":{"title":7}}"#)?;
    /// assert_eq!(session.problems[0].field(), "customer.title");
    /// # Ok::<(), serde_json::Error>(())
    /// ```
    #[must_use]
    pub const fn field(&self) -> &'static str {
        self.field.path()
    }

    pub(crate) const fn field_id(&self) -> Field {
        self.field
    }

    /// What the field held.
    ///
    /// ```
    /// use hpp_status::wire::{Found, SessionResponse};
    ///
    /// let session: SessionResponse = serde_json::from_str(r#"{"order_id":false}"#)?;
    /// assert_eq!(session.problems[0].found(), &Found::Boolean(false));
    /// # Ok::<(), serde_json::Error>(())
    /// ```
    #[must_use]
    pub const fn found(&self) -> &Found {
        &self.found
    }

    /// Why the value could not be used.
    ///
    /// ```
    /// use hpp_status::wire::{FieldError, SessionResponse};
    ///
    /// let session: SessionResponse = serde_json::from_str(r#"{"session_id":["a"]}"#)?;
    /// assert_eq!(
    ///     session.problems[0].error(),
    ///     FieldError::WrongType { expected: "a string", found: "an array" }
    /// );
    /// # Ok::<(), serde_json::Error>(())
    /// ```
    #[must_use]
    pub fn error(&self) -> FieldError {
        let expected = match self.field.shape() {
            Shape::Object => "an object",
            Shape::Text | Shape::Time => "a string",
        };
        let wrong_type = FieldError::WrongType {
            expected,
            found: self.found.kind(),
        };
        if self.field.shape() != Shape::Time {
            return wrong_type;
        }
        match &self.found {
            Found::Text(text) => text.parse::<super::Timestamp>().err(),
            Found::LongText { head, len } => Some(cut_text_error(head, *len)),
            _ => None,
        }
        .map_or(wrong_type, FieldError::Timestamp)
    }
}

impl fmt::Display for FieldProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}`: {}", self.field(), self.error())
    }
}

impl Serialize for FieldProblem {
    /// `{"field":..,"message":..,"found":..}` in a human-readable format; without the
    /// message, which is computed, in another.
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if serializer.is_human_readable() {
            let mut map = serializer.serialize_map(Some(3))?;
            map.serialize_entry("field", self.field())?;
            map.serialize_entry("message", &Message(self.error()))?;
            map.serialize_entry("found", &self.found)?;
            return map.end();
        }
        let mut state = serializer.serialize_struct("FieldProblem", 2)?;
        state.serialize_field("field", self.field())?;
        state.serialize_field("found", &self.found)?;
        state.end()
    }
}

impl<'de> Deserialize<'de> for FieldProblem {
    /// Reads `field` and `found` (the `message` is not read: it is computed), and refuses a
    /// field that is not documented or a value that is no problem there.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<FieldProblem, D::Error> {
        #[derive(serde::Deserialize)]
        #[serde(rename = "FieldProblem")]
        struct Stored {
            field: String,
            found: Found,
        }
        let stored = Stored::deserialize(deserializer)?;
        let field = Field::at_path(&stored.field).ok_or_else(|| {
            de::Error::custom(alloc::format!(
                "no documented field is named {:?}",
                stored.field
            ))
        })?;
        FieldProblem::new(field, stored.found).ok_or_else(|| {
            de::Error::custom(alloc::format!(
                "the value given for `{}` is no problem there",
                field.path()
            ))
        })
    }
}

/// A [`FieldError`] as its message, written without an intermediate `String`.
struct Message(FieldError);

impl Serialize for Message {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&self.0)
    }
}

/// Why a [`FieldProblem`]'s value could not be used.
///
/// ```
/// use hpp_status::wire::{FieldError, SessionResponse};
///
/// let session: SessionResponse = serde_json::from_str(r#"{"updated_at":"2019-05-13"}"#)?;
/// let FieldError::Timestamp(error) = session.problems[0].error() else { unreachable!() };
/// assert_eq!(error.at(), 10);
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FieldError {
    /// The value is not of the field's type.
    #[error("expected {expected}, found {found}")]
    WrongType {
        /// `"a string"` or `"an object"`.
        expected: &'static str,
        /// What kind of value it was: see [`Found::kind`].
        found: &'static str,
    },
    /// A string that is not an RFC 3339 timestamp.
    #[error("{0}")]
    Timestamp(ParseTimestampError),
}
