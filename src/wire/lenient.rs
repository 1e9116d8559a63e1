//! The tolerant reading of payloads in a human-readable format (JSON): every documented field
//! is read on its own, and one whose value cannot be used becomes a [`FieldProblem`] instead
//! of an error for the whole payload. Still refused: anything but an object where a payload
//! (or a callback's `session`) belongs, a documented field given twice, and a callback
//! without `session`.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::problem::{Field, FieldProblem, Found};
use super::{
    Customer, ManualIdentification, ReportedStatus, SessionResponse, StatusCallback, Timestamp,
};

/// A field's value: absent (missing or `null`), usable, or not (with what it was).
enum Slot<T> {
    Absent,
    Value(T),
    Unusable(Found),
}

/// What a field of one shape makes of a string and of an object; every other value is
/// unusable in every shape.
trait Shape<'de>: Sized {
    type Value;

    /// What the visitor expects, for serde's messages.
    const EXPECTING: &'static str;

    fn text(self, text: &str) -> Slot<Self::Value>;

    /// An object: unusable (skipped) unless the shape is an object.
    fn map<A: MapAccess<'de>>(self, mut map: A) -> Result<Slot<Self::Value>, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Slot::Unusable(Found::Object))
    }
}

/// A text field.
struct Text;

impl Shape<'_> for Text {
    type Value = String;
    const EXPECTING: &'static str = "a string";

    fn text(self, text: &str) -> Slot<String> {
        Slot::Value(text.into())
    }
}

/// The `status` field: any string, as a [`ReportedStatus`].
struct Status;

impl Shape<'_> for Status {
    type Value = ReportedStatus;
    const EXPECTING: &'static str = "a status string";

    fn text(self, text: &str) -> Slot<ReportedStatus> {
        Slot::Value(ReportedStatus::from_wire(text))
    }
}

/// A timestamp field.
struct Time;

impl Shape<'_> for Time {
    type Value = Timestamp;
    const EXPECTING: &'static str = "an RFC 3339 date-time string";

    fn text(self, text: &str) -> Slot<Timestamp> {
        match text.parse() {
            Ok(at) => Slot::Value(at),
            Err(_) => Slot::Unusable(Found::text(text)),
        }
    }
}

/// A customer object whose own entry is `field`; its fields' problems go to `problems`.
struct CustomerShape<'p> {
    field: Field,
    problems: &'p mut Vec<FieldProblem>,
}

const CUSTOMER_KEYS: &[&str] = &[
    "date_of_birth",
    "family_name",
    "given_name",
    "national_identification_number",
    "title",
];

impl<'de> Shape<'de> for CustomerShape<'_> {
    type Value = Customer;
    const EXPECTING: &'static str = "a customer object";

    fn text(self, text: &str) -> Slot<Customer> {
        Slot::Unusable(Found::text(text))
    }

    fn map<A: MapAccess<'de>>(self, mut map: A) -> Result<Slot<Customer>, A::Error> {
        let mut customer = Customer::default();
        let mut keys = Keys::new(CUSTOMER_KEYS, |index| self.field.customer_field(index));
        while let Some(key) = keys.next(&mut map)? {
            let Some((index, field)) = key else { continue };
            let value = value(&mut map, Text, field, self.problems)?;
            match index {
                0 => customer.date_of_birth = value,
                1 => customer.family_name = value,
                2 => customer.given_name = value,
                3 => customer.national_identification_number = value,
                _ => customer.title = value,
            }
        }
        Ok(Slot::Value(customer))
    }
}

/// The `manual_identification` object; its fields' problems go to `problems`.
struct ManualShape<'p> {
    problems: &'p mut Vec<FieldProblem>,
}

const MANUAL_KEYS: &[&str] = &["challenge", "customer", "customer_obfuscated", "expires_at"];

impl<'de> Shape<'de> for ManualShape<'_> {
    type Value = ManualIdentification;
    const EXPECTING: &'static str = "a manual identification object";

    fn text(self, text: &str) -> Slot<ManualIdentification> {
        Slot::Unusable(Found::text(text))
    }

    fn map<A: MapAccess<'de>>(self, mut map: A) -> Result<Slot<ManualIdentification>, A::Error> {
        let mut manual = ManualIdentification::default();
        let fields = [
            Field::MANUAL_CHALLENGE,
            Field::MANUAL_CUSTOMER,
            Field::MANUAL_CUSTOMER_OBFUSCATED,
            Field::MANUAL_EXPIRES_AT,
        ];
        let mut keys = Keys::new(MANUAL_KEYS, |index| fields[usize::from(index)]);
        while let Some(key) = keys.next(&mut map)? {
            let Some((index, field)) = key else { continue };
            let problems = &mut *self.problems;
            match index {
                0 => manual.challenge = value(&mut map, Text, field, problems)?,
                1 | 2 => {
                    let shape = CustomerShape { field, problems };
                    let slot = map.next_value_seed(Lenient(shape))?;
                    let customer = take(slot, field, self.problems);
                    if index == 1 {
                        manual.customer = customer;
                    } else {
                        manual.customer_obfuscated = customer;
                    }
                }
                _ => manual.expires_at = value(&mut map, Time, field, problems)?,
            }
        }
        Ok(Slot::Value(manual))
    }
}

/// The slot's value, or `None`, with an unusable value's problem added to `problems`.
fn take<T>(slot: Slot<T>, field: Field, problems: &mut Vec<FieldProblem>) -> Option<T> {
    match slot {
        Slot::Absent => None,
        Slot::Value(value) => Some(value),
        Slot::Unusable(found) => {
            problems.extend(FieldProblem::new(field, found));
            None
        }
    }
}

/// The next value of `map`, read as `shape`, for `field`.
fn value<'de, A: MapAccess<'de>, S: Shape<'de>>(
    map: &mut A,
    shape: S,
    field: Field,
    problems: &mut Vec<FieldProblem>,
) -> Result<Option<S::Value>, A::Error> {
    let slot = map.next_value_seed(Lenient(shape))?;
    Ok(take(slot, field, problems))
}

/// Reads any value as a [`Slot`] of `S`.
struct Lenient<S>(S);

impl<'de, S: Shape<'de>> DeserializeSeed<'de> for Lenient<S> {
    type Value = Slot<S::Value>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de, S: Shape<'de>> Visitor<'de> for Lenient<S> {
    type Value = Slot<S::Value>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(S::EXPECTING)
    }

    fn visit_bool<E: de::Error>(self, value: bool) -> Result<Self::Value, E> {
        Ok(Slot::Unusable(Found::Boolean(value)))
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<Self::Value, E> {
        // A non-negative integer reads back as unsigned: keep it that way, so that the
        // value written back reads back equal.
        Ok(Slot::Unusable(match u64::try_from(value) {
            Ok(unsigned) => Found::Unsigned(unsigned),
            Err(_) => Found::Integer(value),
        }))
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<Self::Value, E> {
        Ok(Slot::Unusable(Found::Unsigned(value)))
    }

    fn visit_f64<E: de::Error>(self, value: f64) -> Result<Self::Value, E> {
        Ok(Slot::Unusable(Found::Float(value)))
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<Self::Value, E> {
        Ok(self.0.text(text))
    }

    fn visit_bytes<E: de::Error>(self, _: &[u8]) -> Result<Self::Value, E> {
        Ok(Slot::Unusable(Found::Other))
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Slot::Absent)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Slot::Absent)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(self)
    }

    fn visit_newtype_struct<D: Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(self)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Slot::Unusable(Found::Array))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        self.0.map(map)
    }
}

/// The keys of one object: each documented one once (a second time is an error), with its
/// index in `names` and its [`Field`]; `None` for an undocumented key, whose value is
/// skipped. A second time is named by the field's path (`customer.title`, so that the error
/// says which object), or by the key when `field` gives a place holder of another name (a
/// callback's `session`, which is no [`Field`]).
struct Keys<F> {
    names: &'static [&'static str],
    field: F,
    seen: u32,
}

impl<F: Fn(u8) -> Field> Keys<F> {
    fn new(names: &'static [&'static str], field: F) -> Keys<F> {
        Keys {
            names,
            field,
            seen: 0,
        }
    }

    /// The next key: `Some(None)` for an undocumented one (its value already skipped).
    #[allow(clippy::type_complexity)]
    fn next<'de, A: MapAccess<'de>>(
        &mut self,
        map: &mut A,
    ) -> Result<Option<Option<(u8, Field)>>, A::Error> {
        let Some(key) = map.next_key_seed(Key(self.names))? else {
            return Ok(None);
        };
        let Some(index) = key else {
            map.next_value::<IgnoredAny>()?;
            return Ok(Some(None));
        };
        let field = (self.field)(index);
        if self.seen & (1 << index) != 0 {
            let name = self.names[usize::from(index)];
            // Nested fields are named by their path, so that the error says which object.
            let path = if field.path().ends_with(name) {
                field.path()
            } else {
                name
            };
            return Err(de::Error::duplicate_field(path));
        }
        self.seen |= 1 << index;
        Ok(Some(Some((index, field))))
    }
}

/// A key, as its index in the names of its object.
struct Key(&'static [&'static str]);

impl<'de> DeserializeSeed<'de> for Key {
    type Value = Option<u8>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Option<u8>, D::Error> {
        deserializer.deserialize_identifier(self)
    }
}

impl Visitor<'_> for Key {
    type Value = Option<u8>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a field name")
    }

    fn visit_str<E: de::Error>(self, name: &str) -> Result<Option<u8>, E> {
        // At most nine names: the index fits.
        Ok(self
            .0
            .iter()
            .position(|known| *known == name)
            .map(|i| i as u8))
    }
}

const SESSION_KEYS: &[&str] = &[
    "session_id",
    "status",
    "updated_at",
    "expires_at",
    "authorization_token",
    "order_id",
    "klarna_reference",
    "customer",
    "manual_identification",
];

/// The fields of [`SESSION_KEYS`], in the same order.
const SESSION_FIELDS: [Field; 9] = [
    Field::SESSION_ID,
    Field::STATUS,
    Field::UPDATED_AT,
    Field::EXPIRES_AT,
    Field::AUTHORIZATION_TOKEN,
    Field::ORDER_ID,
    Field::KLARNA_REFERENCE,
    Field::CUSTOMER,
    Field::MANUAL_IDENTIFICATION,
];

/// A Read Session body, read tolerantly.
pub(crate) fn session<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<SessionResponse, D::Error> {
    deserializer.deserialize_map(SessionVisitor)
}

struct SessionVisitor;

impl<'de> Visitor<'de> for SessionVisitor {
    type Value = SessionResponse;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a Read Session object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<SessionResponse, A::Error> {
        let mut session = SessionResponse::default();
        let mut keys = Keys::new(SESSION_KEYS, |index| SESSION_FIELDS[usize::from(index)]);
        while let Some(key) = keys.next(&mut map)? {
            let Some((index, field)) = key else { continue };
            let problems = &mut session.problems;
            match index {
                0 => session.session_id = value(&mut map, Text, field, problems)?,
                1 => session.status = value(&mut map, Status, field, problems)?,
                2 => session.updated_at = value(&mut map, Time, field, problems)?,
                3 => session.expires_at = value(&mut map, Time, field, problems)?,
                4 => session.authorization_token = value(&mut map, Text, field, problems)?,
                5 => session.order_id = value(&mut map, Text, field, problems)?,
                6 => session.klarna_reference = value(&mut map, Text, field, problems)?,
                7 => {
                    let slot = map.next_value_seed(Lenient(CustomerShape { field, problems }))?;
                    session.customer = take(slot, field, &mut session.problems);
                }
                _ => {
                    let slot = map.next_value_seed(Lenient(ManualShape { problems }))?;
                    session.manual_identification = take(slot, field, &mut session.problems);
                }
            }
        }
        // In the order the fields are written, whatever order they came in, so that a
        // payload written and read back is equal.
        session.problems.sort_by_key(FieldProblem::field_id);
        Ok(session)
    }
}

/// A status callback, read tolerantly.
pub(crate) fn callback<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<StatusCallback, D::Error> {
    deserializer.deserialize_map(CallbackVisitor)
}

struct CallbackVisitor;

impl<'de> Visitor<'de> for CallbackVisitor {
    type Value = StatusCallback;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a status callback object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<StatusCallback, A::Error> {
        let mut event_id = None;
        let mut session = None;
        let mut problems = Vec::new();
        let fields = [Field::EVENT_ID, Field::EVENT_ID];
        let mut keys = Keys::new(&["event_id", "session"], |index| fields[usize::from(index)]);
        while let Some(key) = keys.next(&mut map)? {
            match key {
                Some((0, field)) => event_id = value(&mut map, Text, field, &mut problems)?,
                Some(_) => session = Some(map.next_value::<SessionResponse>()?),
                None => {}
            }
        }
        let session = session.ok_or_else(|| de::Error::missing_field("session"))?;
        Ok(StatusCallback {
            event_id,
            session,
            problems,
        })
    }
}
