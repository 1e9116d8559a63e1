//! The properties of the `wire_json` fuzz target, in one function with two callers: the
//! fuzz target (`fuzz/fuzz_targets/wire_json.rs`) and the corpus replay
//! (`tests/corpus_replay.rs` of this crate), which feeds it every file of `fuzz/corpus/wire_json/`.
//!
//! The input is read as a whole JSON document twice, as a `StatusCallback` and as a
//! `SessionResponse`, and, when it is UTF-8, as the text of a `ReportedStatus`. Whatever
//! parses must round-trip (JSON: equal but for the problems whose values are not kept;
//! postcard: exactly), give the observation SPEC §5 says, and agree with a schema-driven
//! reading of the same document as a generic `serde_json::Value`: the tolerant reading keeps
//! every well-formed documented field, turns every malformed one into a problem (with the
//! value it held, kept when small and scalar) and never loses the observation to it; it
//! refuses only non-objects, documented fields given twice and a callback without `session`.

use std::collections::BTreeSet;
use std::fmt;

use hpp_status::wire::{
    Completion, FieldError, FieldProblem, Found, ObservationError, ReportedStatus, SessionResponse,
    StatusCallback, Timestamp,
};
use hpp_status::{Observation, Status};
use serde::Serialize;
use serde::de::{self, Deserialize, DeserializeOwned, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

/// Checks every property on one input; panics (a fuzz finding) when one fails.
pub fn check(data: &[u8]) {
    let callback = serde_json::from_slice::<StatusCallback>(data);
    if let Ok(callback) = &callback {
        let kept = StatusCallback {
            problems: kept_problems(&callback.problems),
            session: without_lost_problems(&callback.session),
            ..callback.clone()
        };
        round_trip(callback, &kept);
        check_problems(&callback.problems);
        check_session(&callback.session);
    }
    let session = serde_json::from_slice::<SessionResponse>(data);
    if let Ok(session) = &session {
        round_trip(session, &without_lost_problems(session));
        check_session(session);
    }
    // The generic reading fails on what the typed one may skip (numbers out of range and
    // nesting deeper than 128 in ignored fields): then there is nothing to compare with.
    if let Ok(value) = serde_json::from_slice::<Value>(data) {
        let duplicates = serde_json::from_slice::<HasDuplicateKeys>(data).is_ok_and(|d| d.0);
        compare(
            data,
            "callback",
            expect_callback(&value),
            &callback,
            duplicates,
        );
        compare(
            data,
            "session",
            expect_session(&value),
            &session,
            duplicates,
        );
    }
    if let Ok(text) = std::str::from_utf8(data) {
        check_status_text(text);
    }
}

/// The problems whose values are kept, which JSON writes back.
fn kept_problems(problems: &[FieldProblem]) -> Vec<FieldProblem> {
    problems
        .iter()
        .filter(|problem| problem.found().is_kept())
        .cloned()
        .collect()
}

/// `session` as JSON gives it back: without the problems whose values are not kept.
fn without_lost_problems(session: &SessionResponse) -> SessionResponse {
    SessionResponse {
        problems: kept_problems(&session.problems),
        ..session.clone()
    }
}

/// JSON writes what reads back as `json_expected` and writes the same bytes again; postcard
/// reads back `parsed` exactly.
fn round_trip<T>(parsed: &T, json_expected: &T)
where
    T: Serialize + DeserializeOwned + PartialEq + fmt::Debug,
{
    let written = serde_json::to_vec(parsed).expect("a parsed payload serialises");
    let read: T = serde_json::from_slice(&written).unwrap_or_else(|error| {
        panic!(
            "{parsed:?} written as {:?} does not read back: {error}",
            String::from_utf8_lossy(&written)
        )
    });
    assert_eq!(&read, json_expected, "JSON round trip");
    assert_eq!(
        serde_json::to_vec(&read).unwrap(),
        written,
        "writing is stable"
    );
    let compact = postcard::to_allocvec(parsed).expect("postcard writes every payload");
    let back: T = postcard::from_bytes(&compact)
        .unwrap_or_else(|error| panic!("{parsed:?} through postcard: {error}"));
    assert_eq!(&back, parsed, "postcard round trip");
}

/// Every problem's field is documented, its value really is a problem there, its message
/// names the field, and it reads back from its report.
fn check_problems(problems: &[FieldProblem]) {
    let mut fields = BTreeSet::new();
    for problem in problems {
        assert!(fields.insert(problem.field()), "{} twice", problem.field());
        let message = problem.to_string();
        assert!(
            message.starts_with(&format!("`{}`: ", problem.field())),
            "{message}"
        );
        assert!(message.len() < 600, "{message}");
        let report = serde_json::to_string(problem).unwrap();
        let read: FieldProblem = serde_json::from_str(&report).unwrap();
        match (read.found(), problem.found()) {
            // serde_json (without `float_roundtrip`) may read the shortest text of a double
            // back to a neighbouring double: the same problem, not the same bits.
            (Found::Float(read_back), Found::Float(written)) => {
                assert_eq!(read.field(), problem.field());
                assert!(
                    (read_back - written).abs() <= written.abs() * 1e-15,
                    "{report}"
                );
            }
            _ => assert_eq!(&read, problem),
        }
        match problem.error() {
            FieldError::Timestamp(error) => {
                let text = match problem.found() {
                    Found::Text(text) => text.clone(),
                    Found::LongText { head, len } => {
                        assert!(*len > 256 && head.len() <= 64 && head.len() > 60);
                        head.clone()
                    }
                    other => panic!("a timestamp error for {other:?}"),
                };
                assert!(text.starts_with(error.input()));
            }
            FieldError::WrongType { expected, found } => {
                assert_eq!(found, problem.found().kind());
                assert!(["a string", "an object"].contains(&expected));
            }
            other => panic!("an error the check does not know: {other:?}"),
        }
    }
}

/// What `observation()`, `known_status()` and `completion()` say, against the fields.
fn check_session(session: &SessionResponse) {
    check_problems(&session.problems);
    let problem = |path: &str| session.problem(path).cloned();
    let expected = match (&session.status, session.updated_at) {
        (None, _) => Err(problem("status").map_or(
            ObservationError::MissingStatus,
            ObservationError::UnusableStatus,
        )),
        (Some(ReportedStatus::ManualIdCheck), _) => Err(ObservationError::ManualIdCheck),
        (Some(ReportedStatus::Timeout), _) => Err(ObservationError::Timeout),
        (Some(ReportedStatus::Unrecognized(text)), _) => {
            Err(ObservationError::UnrecognizedStatus(text.clone()))
        }
        (Some(ReportedStatus::Known(_)), None) => Err(problem("updated_at").map_or(
            ObservationError::MissingUpdatedAt,
            ObservationError::UnusableUpdatedAt,
        )),
        (Some(ReportedStatus::Known(status)), Some(at)) => Ok(Observation::new(*status, at)),
        (Some(other), _) => panic!("a status the check does not know: {other:?}"),
    };
    let observation = session.observation();
    assert_eq!(observation, expected, "{session:?}");
    let known = session.status.as_ref().and_then(ReportedStatus::known);
    assert_eq!(session.known_status(), known);
    if let Err(error) = &observation {
        let message = error.to_string();
        assert!(message.contains("`status`") || message.contains("`updated_at`"));
        assert!(message.len() < 600, "{message}");
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
        (None, Some(order_id), reference) => Some(Completion::Order {
            order_id,
            klarna_reference: reference.as_deref(),
        }),
        _ => None,
    };
    assert_eq!(session.completion(), completion);
    // A field with a problem has no value.
    for problem in &session.problems {
        let value_is_absent = match problem.field() {
            "status" => session.status.is_none(),
            "updated_at" => session.updated_at.is_none(),
            "expires_at" => session.expires_at.is_none(),
            "order_id" => session.order_id.is_none(),
            "authorization_token" => session.authorization_token.is_none(),
            "customer" => session.customer.is_none(),
            "manual_identification" => session.manual_identification.is_none(),
            _ => true,
        };
        assert!(value_is_absent, "{problem} with a value");
    }
}

/// A reported status keeps its text, and an unrecognized one is none of the documented names.
fn check_reported(reported: &ReportedStatus) {
    match reported {
        ReportedStatus::Known(status) => assert_eq!(reported.as_str(), status.as_str()),
        ReportedStatus::ManualIdCheck => assert_eq!(reported.as_str(), "MANUAL_ID_CHECK"),
        ReportedStatus::Timeout => assert_eq!(reported.as_str(), "TIMEOUT"),
        ReportedStatus::Unrecognized(text) => {
            let text = text.as_str();
            assert_eq!(reported.as_str(), text);
            assert_eq!(
                Status::from_name(text),
                None,
                "{text:?} kept as unrecognized"
            );
            assert!(!["MANUAL_ID_CHECK", "TIMEOUT"].contains(&text));
        }
        other => panic!("a status the check does not know: {other:?}"),
    }
    assert_eq!(&ReportedStatus::from_wire(reported.as_str()), reported);
}

/// `text` as a reported status: kept exactly, known exactly when it is a status name, and
/// the same through JSON and postcard.
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
    let compact = postcard::to_allocvec(&reported).unwrap();
    assert_eq!(
        postcard::from_bytes::<ReportedStatus>(&compact).unwrap(),
        reported
    );
}

/// What a documented field holds when well formed.
#[derive(Clone, Copy)]
enum Shape {
    /// Any JSON string, kept as it is.
    Text,
    /// An RFC 3339 string, written back in the API's form.
    Time,
    /// An object with these fields.
    Object(&'static [(&'static str, Shape)]),
}

const CUSTOMER: &[(&str, Shape)] = &[
    ("date_of_birth", Shape::Text),
    ("family_name", Shape::Text),
    ("given_name", Shape::Text),
    ("national_identification_number", Shape::Text),
    ("title", Shape::Text),
];

const MANUAL_IDENTIFICATION: &[(&str, Shape)] = &[
    ("challenge", Shape::Text),
    ("customer", Shape::Object(CUSTOMER)),
    ("customer_obfuscated", Shape::Object(CUSTOMER)),
    ("expires_at", Shape::Time),
];

const SESSION: &[(&str, Shape)] = &[
    ("session_id", Shape::Text),
    // A status is any string: the ten names and everything else, kept as text.
    ("status", Shape::Text),
    ("updated_at", Shape::Time),
    ("expires_at", Shape::Time),
    ("authorization_token", Shape::Text),
    ("order_id", Shape::Text),
    ("klarna_reference", Shape::Text),
    ("customer", Shape::Object(CUSTOMER)),
    (
        "manual_identification",
        Shape::Object(MANUAL_IDENTIFICATION),
    ),
];

/// What the typed reading of a document must do, by the schema.
#[derive(Debug)]
enum Expect {
    /// Parse, write this value back, and report these (field, found) problems.
    Accept(Value, BTreeSet<(String, FoundKey)>),
    /// Refuse.
    Reject,
}

/// A [`Found`], comparable (floats by their bits).
type FoundKey = String;

fn found_key(found: &Found) -> FoundKey {
    match found {
        Found::Float(value) => format!("float {:x}", value.to_bits()),
        other => format!("{other:?}"),
    }
}

/// What the tolerant reading makes of a malformed value: the value itself when scalar (kept,
/// and written back, when a short string, a boolean or an integer).
fn found_of(value: &Value) -> Found {
    match value {
        Value::String(text) if text.len() <= 256 => Found::Text(text.clone()),
        Value::String(text) => {
            let mut head = 64;
            while !text.is_char_boundary(head) {
                head -= 1;
            }
            Found::LongText {
                head: text[..head].to_owned(),
                len: text.len(),
            }
        }
        Value::Bool(value) => Found::Boolean(*value),
        Value::Number(number) => match (number.as_u64(), number.as_i64(), number.as_f64()) {
            (Some(unsigned), _, _) => Found::Unsigned(unsigned),
            (None, Some(signed), _) => Found::Integer(signed),
            (_, _, Some(float)) => Found::Float(float),
            _ => Found::Other,
        },
        Value::Array(_) => Found::Array,
        Value::Object(_) => Found::Object,
        Value::Null => Found::Other,
    }
}

/// The kept value as JSON writes it back.
fn kept_value(found: &Found) -> Option<Value> {
    found.is_kept().then(|| {
        serde_json::from_str(&match found {
            Found::Text(text) => serde_json::to_string(text).unwrap(),
            Found::Boolean(value) => value.to_string(),
            Found::Integer(value) => value.to_string(),
            Found::Unsigned(value) => value.to_string(),
            _ => unreachable!("only kept values"),
        })
        .unwrap()
    })
}

/// The documented fields of `given`, read as `fields`, paths prefixed with `prefix`: each
/// well-formed one written back, each malformed one a problem (its kept value written back).
fn expect_fields(
    fields: &[(&str, Shape)],
    given: &Map<String, Value>,
    prefix: &str,
    problems: &mut BTreeSet<(String, FoundKey)>,
) -> Value {
    let mut written = Map::new();
    for &(name, shape) in fields {
        let path = format!("{prefix}{name}");
        let Some(value) = given.get(name).filter(|value| !value.is_null()) else {
            continue;
        };
        let well_formed = match (shape, value) {
            (Shape::Text, Value::String(text)) => Some(Value::String(text.clone())),
            (Shape::Time, Value::String(text)) => text
                .parse::<Timestamp>()
                .ok()
                .map(|at| Value::String(at.to_string())),
            (Shape::Object(inner), Value::Object(object)) => {
                Some(expect_fields(inner, object, &format!("{path}."), problems))
            }
            _ => None,
        };
        match well_formed {
            Some(value) => {
                written.insert(name.to_owned(), value);
            }
            None => {
                let found = found_of(value);
                if let Some(kept) = kept_value(&found) {
                    written.insert(name.to_owned(), kept);
                }
                problems.insert((path, found_key(&found)));
            }
        }
    }
    Value::Object(written)
}

fn expect_session(value: &Value) -> Expect {
    let Value::Object(given) = value else {
        return Expect::Reject;
    };
    let mut problems = BTreeSet::new();
    let written = expect_fields(SESSION, given, "", &mut problems);
    Expect::Accept(written, problems)
}

fn expect_callback(value: &Value) -> Expect {
    let Value::Object(given) = value else {
        return Expect::Reject;
    };
    let Expect::Accept(session, session_problems) =
        given.get("session").map_or(Expect::Reject, expect_session)
    else {
        return Expect::Reject;
    };
    let mut problems = BTreeSet::new();
    let mut written = expect_fields(&[("event_id", Shape::Text)], given, "", &mut problems);
    written
        .as_object_mut()
        .unwrap()
        .insert("session".to_owned(), session);
    // The session's problems are the session's; here the callback's own, marked apart.
    problems.extend(
        session_problems
            .into_iter()
            .map(|(path, found)| (format!("session/{path}"), found)),
    );
    Expect::Accept(written, problems)
}

/// The (field, found) problems a parsed payload reports.
trait Problems {
    fn problems(&self) -> BTreeSet<(String, FoundKey)>;
}

impl Problems for SessionResponse {
    fn problems(&self) -> BTreeSet<(String, FoundKey)> {
        self.problems
            .iter()
            .map(|p| (p.field().to_owned(), found_key(p.found())))
            .collect()
    }
}

impl Problems for StatusCallback {
    fn problems(&self) -> BTreeSet<(String, FoundKey)> {
        let own = self
            .problems
            .iter()
            .map(|p| (p.field().to_owned(), found_key(p.found())));
        let session = self
            .session
            .problems()
            .into_iter()
            .map(|(path, found)| (format!("session/{path}"), found));
        own.chain(session).collect()
    }
}

/// The typed reading `parsed` of `data` against the schema's verdict.
fn compare<T: Serialize + Problems + fmt::Debug>(
    data: &[u8],
    what: &str,
    expected: Expect,
    parsed: &Result<T, serde_json::Error>,
    duplicate_keys: bool,
) {
    let document = String::from_utf8_lossy(data);
    match (expected, parsed) {
        (Expect::Accept(value, problems), Ok(parsed)) => {
            let written = serde_json::to_value(parsed).unwrap();
            assert_eq!(written, value, "{what} from {document:?}");
            assert_eq!(parsed.problems(), problems, "{what} from {document:?}");
        }
        // A documented field given twice is refused; the generic reading keeps the last one.
        (Expect::Accept(value, _), Err(error)) => assert!(
            duplicate_keys,
            "{what} {value} refused from {document:?}: {error}"
        ),
        (Expect::Reject, Ok(parsed)) => {
            panic!("{what} {parsed:?} accepted from {document:?}, against the schema")
        }
        (Expect::Reject, Err(_)) => {}
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
