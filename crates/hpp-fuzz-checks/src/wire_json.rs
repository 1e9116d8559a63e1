//! The properties of the `wire_json` fuzz target, in one function with two callers: the
//! fuzz target (`fuzz/fuzz_targets/wire_json.rs`) and the corpus replay
//! (`tests/corpus_replay.rs` of this crate), which feeds it every file of `fuzz/corpus/wire_json/`.
//!
//! The input is read as a whole JSON document twice, as a `StatusCallback` and as a
//! `SessionResponse`, and, when it is UTF-8, as the text of a `Timestamp` and of a
//! `ReportedStatus`. Whatever parses must serialise and parse back equal, give the
//! observation SPEC §5 says, and agree with a schema-driven reading of the same document as
//! a generic `serde_json::Value`: what is accepted is exactly the documented shape (every
//! field optional, `null` as absent, unknown fields ignored), text is kept exactly and
//! timestamps come back in UTC with milliseconds.

use std::collections::BTreeSet;
use std::fmt;

use hpp_status::wire::{
    Completion, ObservationError, ReportedStatus, SessionResponse, StatusCallback, Timestamp,
};
use hpp_status::{Observation, Status};
use serde::Serialize;
use serde::de::{self, Deserialize, DeserializeOwned, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

/// Checks every property on one input; panics (a fuzz finding) when one fails.
pub fn check(data: &[u8]) {
    let callback = serde_json::from_slice::<StatusCallback>(data);
    if let Ok(callback) = &callback {
        round_trip(callback);
        check_session(&callback.session);
    }
    let session = serde_json::from_slice::<SessionResponse>(data);
    if let Ok(session) = &session {
        round_trip(session);
        check_session(session);
    }
    // The generic reading fails on what the typed one may skip (numbers out of range and
    // nesting deeper than 128 in ignored fields): then there is nothing to compare with.
    if let Ok(value) = serde_json::from_slice::<Value>(data) {
        let duplicates = serde_json::from_slice::<HasDuplicateKeys>(data).is_ok_and(|d| d.0);
        compare(
            data,
            "callback",
            expect(&value, Shape::Object(CALLBACK)),
            &callback,
            duplicates,
        );
        compare(
            data,
            "session",
            expect(&value, Shape::Object(SESSION)),
            &session,
            duplicates,
        );
    }
    if let Ok(text) = std::str::from_utf8(data) {
        check_timestamp_text(text);
        check_status_text(text);
    }
}

/// Serialises `parsed`, reads it back and serialises it again: equal, and the same bytes.
fn round_trip<T: Serialize + DeserializeOwned + PartialEq + fmt::Debug>(parsed: &T) {
    let written = serde_json::to_vec(parsed).expect("a parsed payload serialises");
    let read: T = serde_json::from_slice(&written).unwrap_or_else(|error| {
        panic!(
            "{parsed:?} written as {:?} does not read back: {error}",
            String::from_utf8_lossy(&written)
        )
    });
    assert_eq!(&read, parsed, "round trip");
    assert_eq!(
        serde_json::to_vec(&read).unwrap(),
        written,
        "writing is stable"
    );
}

/// What `observation()`, `known_status()` and `completion()` say, against the fields.
fn check_session(session: &SessionResponse) {
    let expected = match (&session.status, session.updated_at) {
        (None, _) => Err(ObservationError::MissingStatus),
        (Some(ReportedStatus::Unrecognized(text)), _) => {
            Err(ObservationError::UnrecognizedStatus(text.clone()))
        }
        (Some(ReportedStatus::Known(_)), None) => Err(ObservationError::MissingUpdatedAt),
        (Some(ReportedStatus::Known(status)), Some(at)) => Ok(Observation::new(*status, at)),
    };
    let observation = session.observation();
    assert_eq!(observation, expected, "{session:?}");
    let known = session.status.as_ref().and_then(ReportedStatus::known);
    assert_eq!(session.known_status(), known);
    assert_eq!(
        observation.is_ok(),
        known.is_some() && session.updated_at.is_some()
    );
    match &observation {
        Ok(seen) => assert_eq!(Some(seen.status), known),
        Err(error) => {
            let message = error.to_string();
            let names = match error {
                ObservationError::MissingStatus => "`status`".to_owned(),
                ObservationError::MissingUpdatedAt => "`updated_at`".to_owned(),
                ObservationError::UnrecognizedStatus(text) => format!("{text:?}"),
                other => panic!("an error the check does not know: {other:?}"),
            };
            assert!(
                message.contains(&names),
                "{message:?} does not name {names}"
            );
        }
    }
    if let Some(reported) = &session.status {
        check_reported(reported);
    }
    let completion = match (
        &session.authorization_token,
        &session.order_id,
        &session.klarna_reference,
    ) {
        (Some(token), _, _) => Some(Completion::AuthorizationToken(token)),
        (None, Some(order_id), Some(klarna_reference)) => Some(Completion::Order {
            order_id,
            klarna_reference,
        }),
        _ => None,
    };
    assert_eq!(session.completion(), completion);
    let identification = session.manual_identification.as_ref();
    for at in [
        session.updated_at,
        session.expires_at,
        identification.and_then(|id| id.expires_at),
    ]
    .into_iter()
    .flatten()
    {
        check_timestamp(at);
    }
}

/// A reported status keeps its text, and an unrecognized one is never a known name.
fn check_reported(reported: &ReportedStatus) {
    match reported {
        ReportedStatus::Known(status) => assert_eq!(reported.as_str(), status.as_str()),
        ReportedStatus::Unrecognized(text) => {
            assert_eq!(reported.as_str(), text);
            assert_eq!(
                Status::from_name(text),
                None,
                "{text:?} kept as unrecognized"
            );
        }
    }
    assert_eq!(&ReportedStatus::from_wire(reported.as_str()), reported);
}

/// `text` as a reported status: kept exactly, known exactly when it is a status name, and
/// the same through JSON.
fn check_status_text(text: &str) {
    let reported = ReportedStatus::from_wire(text);
    assert_eq!(reported.as_str(), text);
    assert_eq!(reported.to_string(), text);
    assert_eq!(reported.known(), Status::from_name(text), "{text:?}");
    assert_eq!(text.parse::<ReportedStatus>(), Ok(reported.clone()));
    check_reported(&reported);
    let json = serde_json::to_string(&reported).unwrap();
    assert_eq!(
        json,
        serde_json::to_string(text).unwrap(),
        "{text:?} as JSON"
    );
    assert_eq!(
        serde_json::from_str::<ReportedStatus>(&json).unwrap(),
        reported
    );
}

/// `text` as a timestamp: what parses round-trips, through `Display` and through JSON;
/// what does not is refused with the text quoted, by `FromStr` and serde alike.
fn check_timestamp_text(text: &str) {
    let json = serde_json::to_string(text).unwrap();
    match text.parse::<Timestamp>() {
        Ok(at) => {
            check_timestamp(at);
            assert_eq!(serde_json::from_str::<Timestamp>(&json).unwrap(), at);
        }
        Err(error) => {
            assert!(text.starts_with(error.input()) && error.input().len() <= 32);
            assert_eq!(error.input_len(), text.len());
            let message = error.to_string();
            let head = format!("invalid RFC 3339 timestamp {:?}", error.input());
            assert!(message.starts_with(&head), "{message:?}");
            let serde_error = serde_json::from_str::<Timestamp>(&json)
                .expect_err("serde accepts what FromStr refuses")
                .to_string();
            assert!(serde_error.starts_with(&message), "{serde_error:?}");
        }
    }
}

/// A timestamp is written in UTC with milliseconds, or with every sub-millisecond digit it
/// has and no more (with its own offset instead of `Z` when UTC cannot write it in years
/// 0000-9999), and reads back equal.
fn check_timestamp(at: Timestamp) {
    let text = at.to_string();
    let read: Timestamp = text
        .parse()
        .unwrap_or_else(|error| panic!("{at:?} written as {text:?}: {error}"));
    assert_eq!(read, at, "{text:?}");
    assert_eq!(read.to_string(), text);
    let utc = text.strip_suffix('Z');
    let in_utc_range = (-62_167_219_200..253_402_300_800).contains(&at.unix().0);
    assert_eq!(utc.is_some(), in_utc_range, "{text:?}");
    let rest = utc.unwrap_or(&text[..text.len() - 6]);
    let fraction = rest
        .rsplit_once('.')
        .map(|(_, fraction)| fraction)
        .unwrap_or_else(|| panic!("{text:?} has no fraction"));
    assert!(fraction.bytes().all(|b| b.is_ascii_digit()), "{text:?}");
    let whole_milliseconds = at.unix().1.is_multiple_of(1_000_000);
    if whole_milliseconds {
        assert_eq!(fraction.len(), 3, "{text:?}: milliseconds");
    } else {
        assert!(
            (4..=9).contains(&fraction.len()) && !fraction.ends_with('0'),
            "{text:?}: every sub-millisecond digit, and no more"
        );
    }
    assert_eq!(serde_json::to_string(&at).unwrap(), format!("\"{text}\""));
}

/// The documented shape of a payload, for the schema-driven reading.
#[derive(Clone, Copy)]
enum Shape {
    /// Any JSON string, kept as it is.
    Text,
    /// An RFC 3339 string, written back in the API's form.
    Time,
    /// An object with these fields: (name, shape, required).
    Object(&'static [(&'static str, Shape, bool)]),
}

const CUSTOMER: &[(&str, Shape, bool)] = &[
    ("date_of_birth", Shape::Text, false),
    ("family_name", Shape::Text, false),
    ("given_name", Shape::Text, false),
    ("national_identification_number", Shape::Text, false),
    ("title", Shape::Text, false),
];

const MANUAL_IDENTIFICATION: &[(&str, Shape, bool)] = &[
    ("challenge", Shape::Text, false),
    ("customer", Shape::Object(CUSTOMER), false),
    ("customer_obfuscated", Shape::Object(CUSTOMER), false),
    ("expires_at", Shape::Time, false),
];

const SESSION: &[(&str, Shape, bool)] = &[
    ("session_id", Shape::Text, false),
    // A status is any string: the eight names and everything else, kept as text.
    ("status", Shape::Text, false),
    ("updated_at", Shape::Time, false),
    ("expires_at", Shape::Time, false),
    ("authorization_token", Shape::Text, false),
    ("order_id", Shape::Text, false),
    ("klarna_reference", Shape::Text, false),
    ("customer", Shape::Object(CUSTOMER), false),
    (
        "manual_identification",
        Shape::Object(MANUAL_IDENTIFICATION),
        false,
    ),
];

const CALLBACK: &[(&str, Shape, bool)] = &[
    ("event_id", Shape::Text, true),
    ("session", Shape::Object(SESSION), true),
];

/// What the typed reading of a document must do, by the schema.
#[derive(Debug)]
enum Expect {
    /// Parse, and serialise to this value.
    Accept(Value),
    /// Refuse.
    Reject,
    /// Not decided by the schema: serde also reads a JSON array as a struct, field by
    /// field in declaration order; the check leaves that reading alone.
    Either,
}

/// The typed reading of `value` as `shape`, by the schema.
fn expect(value: &Value, shape: Shape) -> Expect {
    match (shape, value) {
        (Shape::Text, Value::String(text)) => Expect::Accept(Value::String(text.clone())),
        (Shape::Time, Value::String(text)) => match text.parse::<Timestamp>() {
            Ok(at) => Expect::Accept(Value::String(at.to_string())),
            Err(_) => Expect::Reject,
        },
        (Shape::Object(fields), Value::Object(given)) => expect_fields(fields, given),
        (Shape::Object(_), Value::Array(_)) => Expect::Either,
        _ => Expect::Reject,
    }
}

/// The known fields of `given`: any refused refuses the whole; absent and `null` are left
/// out (and refused when required); unknown fields are ignored.
fn expect_fields(fields: &[(&str, Shape, bool)], given: &Map<String, Value>) -> Expect {
    let mut written = Map::new();
    let mut decided = true;
    for &(name, shape, required) in fields {
        match given.get(name) {
            None | Some(Value::Null) if required => return Expect::Reject,
            None | Some(Value::Null) => {}
            Some(value) => match expect(value, shape) {
                Expect::Accept(value) => {
                    written.insert(name.to_owned(), value);
                }
                Expect::Reject => return Expect::Reject,
                Expect::Either => decided = false,
            },
        }
    }
    if decided {
        Expect::Accept(Value::Object(written))
    } else {
        Expect::Either
    }
}

/// The typed reading `parsed` of `data` against the schema's verdict.
fn compare<T: Serialize + fmt::Debug>(
    data: &[u8],
    what: &str,
    expected: Expect,
    parsed: &Result<T, serde_json::Error>,
    duplicate_keys: bool,
) {
    let document = String::from_utf8_lossy(data);
    match (expected, parsed) {
        (Expect::Accept(value), Ok(parsed)) => {
            let written = serde_json::to_value(parsed).unwrap();
            assert_eq!(written, value, "{what} from {document:?}");
        }
        // A known field given twice is refused; the generic reading keeps the last one.
        (Expect::Accept(value), Err(error)) => assert!(
            duplicate_keys,
            "{what} {value} refused from {document:?}: {error}"
        ),
        (Expect::Reject, Ok(parsed)) => {
            panic!("{what} {parsed:?} accepted from {document:?}, against the schema")
        }
        (Expect::Reject, Err(_)) | (Expect::Either, _) => {}
    }
}

/// Whether some object of a JSON document has a key twice (at any depth).
struct HasDuplicateKeys(bool);

impl<'de> Deserialize<'de> for HasDuplicateKeys {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(DuplicateKeys)
    }
}

struct DuplicateKeys;

impl<'de> Visitor<'de> for DuplicateKeys {
    type Value = HasDuplicateKeys;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<HasDuplicateKeys, E> {
        Ok(HasDuplicateKeys(false))
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<HasDuplicateKeys, E> {
        Ok(HasDuplicateKeys(false))
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<HasDuplicateKeys, E> {
        Ok(HasDuplicateKeys(false))
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<HasDuplicateKeys, E> {
        Ok(HasDuplicateKeys(false))
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<HasDuplicateKeys, E> {
        Ok(HasDuplicateKeys(false))
    }

    fn visit_unit<E: de::Error>(self) -> Result<HasDuplicateKeys, E> {
        Ok(HasDuplicateKeys(false))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<HasDuplicateKeys, A::Error> {
        let mut found = false;
        while let Some(HasDuplicateKeys(inside)) = seq.next_element()? {
            found |= inside;
        }
        Ok(HasDuplicateKeys(found))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<HasDuplicateKeys, A::Error> {
        let mut keys = BTreeSet::new();
        let mut found = false;
        while let Some(key) = map.next_key::<String>()? {
            found |= !keys.insert(key);
            let HasDuplicateKeys(inside) = map.next_value()?;
            found |= inside;
        }
        Ok(HasDuplicateKeys(found))
    }
}
