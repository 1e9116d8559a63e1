//! No payload is lost to a field the tracker does not need; the statuses the API documents
//! besides the lifecycle's eight are their own cases; every wire type round-trips through
//! JSON and through a non-self-describing format (postcard). Each reproduction of a defect
//! is a test named for what it proves (feature `wire`).
#![cfg(feature = "wire")]

use hpp_status::wire::{
    Completion, FieldError, FieldProblem, Found, ObservationError, ReportedStatus, SessionResponse,
    StatusCallback, Timestamp,
};
use hpp_status::{Observation, Status};
use serde::Serialize;
use serde::de::DeserializeOwned;

const TOKEN: &str = "70850a20-a2a0-5c70-810c-096fa6f850bb";

fn session(json: &str) -> SessionResponse {
    serde_json::from_str(json).unwrap_or_else(|error| panic!("{json}: {error}"))
}

fn callback(json: &str) -> StatusCallback {
    serde_json::from_str(json).unwrap_or_else(|error| panic!("{json}: {error}"))
}

fn ts(text: &str) -> Timestamp {
    text.parse().unwrap()
}

/// A COMPLETED callback with `extra` fields in its session.
fn completed_with(extra: &str) -> String {
    format!(
        r#"{{"event_id":"e1","session":{{"status":"COMPLETED","updated_at":"2019-05-13T14:54:04.675Z",{extra}"authorization_token":"{TOKEN}"}}}}"#
    )
}

/// The observation and the token survive the payload.
fn assert_completed_with_token(payload: &SessionResponse) {
    assert_eq!(
        payload.observation(),
        Ok(Observation::new(
            Status::Completed,
            ts("2019-05-13T14:54:04.675Z")
        ))
    );
    assert_eq!(
        payload.completion(),
        Some(Completion::AuthorizationToken(TOKEN))
    );
}

/// JSON: what parses writes back and reads back equal, and writes the same bytes again.
fn json_round_trip<T: Serialize + DeserializeOwned + PartialEq + std::fmt::Debug>(value: &T) {
    let written = serde_json::to_string(value).unwrap();
    let read: T =
        serde_json::from_str(&written).unwrap_or_else(|error| panic!("{written}: {error}"));
    assert_eq!(&read, value, "{written}");
    assert_eq!(serde_json::to_string(&read).unwrap(), written);
}

/// postcard: every wire type reads back exactly.
fn postcard_round_trip<T: Serialize + DeserializeOwned + PartialEq + std::fmt::Debug>(value: &T) {
    let bytes = postcard::to_allocvec(value).unwrap();
    let read: T = postcard::from_bytes(&bytes).unwrap_or_else(|error| panic!("{value:?}: {error}"));
    assert_eq!(&read, value);
}

#[test]
fn a_completed_callback_with_a_never_expires_at_keeps_its_status_and_token() {
    let body = completed_with(r#""expires_at":"9999-12-31T23:59:59.000Z","#);
    let parsed = callback(&body);
    assert_completed_with_token(&parsed.session);
    assert!(parsed.session.problems.is_empty());
    assert_eq!(
        parsed.session.expires_at,
        Some(ts("9999-12-31T23:59:59.000Z"))
    );
    assert_eq!(serde_json::to_string(&parsed).unwrap(), body);
}

#[test]
fn a_malformed_manual_identification_expires_at_costs_nothing_else() {
    let body =
        completed_with(r#""manual_identification":{"challenge":"A78","expires_at":"tomorrow"},"#);
    let parsed = callback(&body);
    assert_completed_with_token(&parsed.session);
    let manual = parsed.session.manual_identification.as_ref().unwrap();
    assert_eq!(manual.challenge.as_deref(), Some("A78"));
    assert_eq!(manual.expires_at, None);
    let [problem] = &parsed.session.problems[..] else {
        panic!("{:?}", parsed.session.problems)
    };
    assert_eq!(problem.field(), "manual_identification.expires_at");
    assert_eq!(problem.found(), &Found::Text("tomorrow".into()));
    assert!(matches!(problem.error(), FieldError::Timestamp(e) if e.at() == 0));
    // Written back as it came.
    let written = serde_json::to_string(&parsed).unwrap();
    assert!(written.contains(r#""expires_at":"tomorrow""#), "{written}");
    json_round_trip(&parsed);
    postcard_round_trip(&parsed);
}

#[test]
fn a_non_string_in_any_optional_field_is_a_problem_not_a_refusal() {
    for field in [
        "session_id",
        "expires_at",
        "order_id",
        "klarna_reference",
        "customer",
        "manual_identification",
    ] {
        for (value, found) in [
            ("7", Found::Unsigned(7)),
            ("-7", Found::Integer(-7)),
            ("1.5", Found::Float(1.5)),
            ("true", Found::Boolean(true)),
            ("[1,2]", Found::Array),
        ] {
            let body = completed_with(&format!(r#""{field}":{value},"#));
            let parsed = callback(&body);
            assert_completed_with_token(&parsed.session);
            let problem = parsed.session.problem(field).unwrap();
            assert_eq!(problem.found(), &found, "{body}");
            let expected = if field.ends_with("customer") || field.starts_with("manual") {
                "an object"
            } else {
                "a string"
            };
            assert_eq!(
                problem.error(),
                FieldError::WrongType {
                    expected,
                    found: found.kind()
                }
            );
            // An array or a float is not kept, so JSON does not write it back (postcard
            // keeps it).
            if found.is_kept() {
                json_round_trip(&parsed);
            }
            postcard_round_trip(&parsed);
        }
    }
    // An object where text belongs, and text where an object belongs.
    let parsed = callback(&completed_with(r#""order_id":{"a":1},"customer":"Jane","#));
    assert_completed_with_token(&parsed.session);
    assert_eq!(
        parsed.session.problem("order_id").unwrap().found(),
        &Found::Object
    );
    assert_eq!(
        parsed.session.problem("customer").unwrap().to_string(),
        "`customer`: expected an object, found a string"
    );
    // Nested text fields.
    let parsed = callback(&completed_with(
        r#""customer":{"given_name":"Jane","title":0},"manual_identification":{"customer_obfuscated":{"family_name":false}},"#,
    ));
    assert_completed_with_token(&parsed.session);
    let fields: Vec<&str> = parsed
        .session
        .problems
        .iter()
        .map(FieldProblem::field)
        .collect();
    assert_eq!(
        fields,
        [
            "customer.title",
            "manual_identification.customer_obfuscated.family_name"
        ]
    );
    assert_eq!(
        parsed
            .session
            .customer
            .as_ref()
            .unwrap()
            .given_name
            .as_deref(),
        Some("Jane")
    );
    json_round_trip(&parsed);
}

#[test]
fn a_timestamp_without_offset_in_an_optional_field_is_a_problem() {
    let parsed = callback(&completed_with(
        r#""expires_at":"2019-05-15T13:51:43.507","#,
    ));
    assert_completed_with_token(&parsed.session);
    let problem = parsed.session.problem("expires_at").unwrap();
    assert_eq!(
        problem.to_string(),
        "`expires_at`: invalid RFC 3339 timestamp \"2019-05-15T13:51:43.507\": at byte 23, \
         expected an offset: 'Z', or '+' or '-' and hh:mm"
    );
}

#[test]
fn an_unusable_status_or_updated_at_is_named_in_the_observation_error() {
    let payload = session(r#"{"status":["COMPLETED"],"updated_at":"2019-05-13T14:54:04.675Z"}"#);
    let problem = payload.problem("status").unwrap().clone();
    assert_eq!(
        payload.observation(),
        Err(ObservationError::UnusableStatus(problem))
    );
    let payload = session(r#"{"status":"COMPLETED","updated_at":"2019-05-13T14:54:04.675"}"#);
    let error = payload.observation().unwrap_err();
    assert!(matches!(error, ObservationError::UnusableUpdatedAt(_)));
    assert!(
        error.to_string().starts_with(
            "the session's `updated_at` cannot be used, so it cannot be ordered: invalid RFC 3339 timestamp"
        ),
        "{error}"
    );
    // Missing ones are still missing.
    assert_eq!(
        session("{}").observation(),
        Err(ObservationError::MissingStatus)
    );
    assert_eq!(
        session(r#"{"status":"BACK","updated_at":null}"#).observation(),
        Err(ObservationError::MissingUpdatedAt)
    );
}

#[test]
fn a_ten_megabyte_bogus_updated_at_gives_a_bounded_problem() {
    let bogus = "9".repeat(10_000_000);
    let payload = session(&format!(
        r#"{{"status":"COMPLETED","updated_at":"{bogus}"}}"#
    ));
    let problem = payload.problem("updated_at").unwrap();
    let Found::LongText { head, len } = problem.found() else {
        panic!("{:?}", problem.found())
    };
    assert_eq!((head.len(), *len), (64, 10_000_000));
    let message = payload.observation().unwrap_err().to_string();
    assert!(message.len() < 300, "{} bytes: {message}", message.len());
    assert!(
        message.contains("(cut; 10000000 bytes in all)"),
        "{message}"
    );
    // The same error as the whole text's.
    let FieldError::Timestamp(error) = problem.error() else {
        panic!()
    };
    assert_eq!(error, bogus.parse::<Timestamp>().unwrap_err());
    // A long value is not kept, so it is not written back; postcard keeps the problem.
    assert_eq!(
        serde_json::to_string(&payload).unwrap(),
        r#"{"status":"COMPLETED"}"#
    );
    postcard_round_trip(&payload);
    // An unrecognized status of any length is kept whole, and quoted short.
    let long_status = "X".repeat(1_000_000);
    let payload = session(&format!(
        r#"{{"status":"{long_status}","updated_at":"2019-05-13T14:54:04.675Z"}}"#
    ));
    assert_eq!(payload.status.as_ref().unwrap().as_str(), long_status);
    assert!(payload.observation().unwrap_err().to_string().len() < 200);
}

#[test]
fn duplicate_keys_are_refused_everywhere_with_the_field_named() {
    for (body, field) in [
        (
            r#"{"status":"COMPLETED","updated_at":"2019-05-13T14:54:04.675Z","status":"CANCELLED"}"#,
            "status",
        ),
        (r#"{"status":"BACK","status":7}"#, "status"),
        (
            r#"{"customer":{"title":"Ms","title":"Mr"}}"#,
            "customer.title",
        ),
        (
            r#"{"manual_identification":{"customer":{"title":"Ms","title":"Mr"}}}"#,
            "manual_identification.customer.title",
        ),
        (
            r#"{"manual_identification":{"expires_at":"x","expires_at":"y"}}"#,
            "manual_identification.expires_at",
        ),
    ] {
        let error = serde_json::from_str::<SessionResponse>(body).unwrap_err();
        assert!(
            error
                .to_string()
                .contains(&format!("duplicate field `{field}`")),
            "{body}: {error}"
        );
        let wrapped = format!(r#"{{"session":{body}}}"#);
        assert!(serde_json::from_str::<StatusCallback>(&wrapped).is_err());
    }
    for body in [
        r#"{"event_id":"a","event_id":"b","session":{}}"#,
        r#"{"session":{},"session":{}}"#,
    ] {
        let error = serde_json::from_str::<StatusCallback>(body).unwrap_err();
        assert!(error.to_string().contains("duplicate field"), "{error}");
    }
    // An undocumented field given twice is ignored, as any undocumented field is.
    assert!(serde_json::from_str::<SessionResponse>(r#"{"x":1,"x":2}"#).is_ok());
}

#[test]
fn non_objects_are_refused() {
    for body in ["[]", r#"["s","COMPLETED"]"#, "\"s\"", "7", "null", "true"] {
        let error = serde_json::from_str::<SessionResponse>(body).unwrap_err();
        assert!(
            error.to_string().contains("expected a Read Session object"),
            "{body}: {error}"
        );
        let error = serde_json::from_str::<StatusCallback>(body).unwrap_err();
        assert!(
            error
                .to_string()
                .contains("expected a status callback object"),
            "{body}: {error}"
        );
    }
}

#[test]
fn a_callback_without_event_id_or_with_a_bad_one_still_gives_its_observation() {
    let bare = callback(r#"{"session":{"status":"BACK","updated_at":"2019-05-13T14:54:04.675Z"}}"#);
    assert_eq!(bare.event_id, None);
    assert!(bare.session.observation().is_ok());
    let numbered = callback(
        r#"{"event_id":42,"session":{"status":"BACK","updated_at":"2019-05-13T14:54:04.675Z"}}"#,
    );
    assert_eq!(numbered.event_id, None);
    assert_eq!(numbered.problems[0].field(), "event_id");
    assert_eq!(numbered.problems[0].found(), &Found::Unsigned(42));
    assert!(numbered.session.observation().is_ok());
    json_round_trip(&numbered);
    postcard_round_trip(&numbered);
    assert_eq!(
        serde_json::to_string(&numbered).unwrap(),
        r#"{"event_id":42,"session":{"status":"BACK","updated_at":"2019-05-13T14:54:04.675Z"}}"#
    );
}

#[test]
fn manual_id_check_and_timeout_are_their_own_cases_never_final() {
    for (text, reported, error) in [
        (
            "MANUAL_ID_CHECK",
            ReportedStatus::ManualIdCheck,
            ObservationError::ManualIdCheck,
        ),
        (
            "TIMEOUT",
            ReportedStatus::Timeout,
            ObservationError::Timeout,
        ),
    ] {
        let payload = session(&format!(
            r#"{{"status":"{text}","updated_at":"2019-05-13T14:54:04.675Z"}}"#
        ));
        assert_eq!(payload.status.as_ref(), Some(&reported));
        assert_eq!(reported.as_str(), text);
        assert_eq!(reported.to_string(), text);
        assert_eq!(reported.known(), None);
        assert_eq!(payload.known_status(), None);
        assert_eq!(payload.observation(), Err(error.clone()));
        assert!(error.to_string().contains(text), "{error}");
        assert!(
            error.to_string().contains("read the session again"),
            "{error}"
        );
        json_round_trip(&payload);
        postcard_round_trip(&payload);
    }
}

#[test]
fn an_unrecognized_status_never_holds_a_documented_name() {
    let names = Status::ALL
        .iter()
        .map(|status| status.as_str())
        .chain(["MANUAL_ID_CHECK", "TIMEOUT"]);
    for name in names {
        let reported = ReportedStatus::from_wire(name);
        assert!(
            !matches!(reported, ReportedStatus::Unrecognized(_)),
            "{name}"
        );
        // The same through JSON and postcard: the value does not change.
        let json = serde_json::to_string(&reported).unwrap();
        assert_eq!(
            serde_json::from_str::<ReportedStatus>(&json).unwrap(),
            reported
        );
        postcard_round_trip(&reported);
        assert_eq!(name.parse::<ReportedStatus>(), Ok(reported));
    }
    let ReportedStatus::Unrecognized(other) = ReportedStatus::from_wire("COMPLETE") else {
        panic!()
    };
    assert_eq!(other.clone().into_string(), "COMPLETE");
    assert_eq!(format!("[{other:>10}]"), "[  COMPLETE]");
    assert_eq!(
        ObservationError::UnrecognizedStatus(other).to_string(),
        "the session's `status` is \"COMPLETE\", which is none of the statuses the API \
         documents: read the session again"
    );
}

#[test]
fn completion_reports_an_order_by_its_order_id_alone() {
    let parsed = callback(
        r#"{"event_id":"e","session":{"status":"COMPLETED","updated_at":"2019-05-13T14:54:04.675Z","order_id":"93d644a2"}}"#,
    );
    let completion = parsed.session.completion().unwrap();
    assert_eq!(
        completion,
        Completion::Order {
            order_id: "93d644a2",
            klarna_reference: None
        }
    );
    assert_eq!(
        completion.to_string(),
        "order 93d644a2, no Klarna reference"
    );
    assert_eq!(completion.kind(), "order");
    assert_eq!(
        serde_json::to_string(&completion).unwrap(),
        r#"{"kind":"order","order_id":"93d644a2","klarna_reference":null}"#
    );
    // A token wins over an order.
    let both = session(&format!(
        r#"{{"order_id":"o","authorization_token":"{TOKEN}"}}"#
    ));
    assert_eq!(
        both.completion(),
        Some(Completion::AuthorizationToken(TOKEN))
    );
    assert_eq!(session("{}").completion(), None);
    assert_eq!(session(r#"{"klarna_reference":"k"}"#).completion(), None);
}

#[test]
fn every_documented_field_round_trips_through_json_and_postcard() {
    let full: SessionResponse =
        serde_json::from_str(include_str!("data/read_session_completed.json")).unwrap();
    json_round_trip(&full);
    postcard_round_trip(&full);
    let callback: StatusCallback =
        serde_json::from_str(include_str!("data/status_callback.json")).unwrap();
    json_round_trip(&callback);
    postcard_round_trip(&callback);
    postcard_round_trip(&SessionResponse::default());
    postcard_round_trip(full.customer.as_ref().unwrap());
    postcard_round_trip(full.manual_identification.as_ref().unwrap());
    // A stored tracker of wire timestamps, too.
    let tracker: hpp_status::Tracker<Timestamp> =
        hpp_status::Tracker::from(callback.session.observation().unwrap());
    postcard_round_trip(&tracker);
    json_round_trip(&tracker);
    // Out-of-range timestamps keep their offset both ways.
    let edge = session(
        r#"{"status":"BACK","updated_at":"0000-01-01T00:00:00.000+01:00","expires_at":"9999-12-31T23:59:59.999-05:00"}"#,
    );
    json_round_trip(&edge);
    postcard_round_trip(&edge);
    assert_eq!(
        serde_json::to_string(&edge).unwrap(),
        r#"{"status":"BACK","updated_at":"0000-01-01T00:00:00.000+01:00","expires_at":"9999-12-31T23:59:59.999-05:00"}"#
    );
}

#[test]
fn a_payload_with_every_kind_of_problem_round_trips() {
    let body = r#"{"session_id":-3,"status":"TIMEOUT","updated_at":"2019-05-13T14:54:04.675Z","expires_at":"soon","authorization_token":1e5,"order_id":true,"klarna_reference":[],"customer":{"title":{},"given_name":"x"},"manual_identification":"none"}"#;
    let parsed = session(body);
    assert_eq!(parsed.problems.len(), 7);
    postcard_round_trip(&parsed);
    // JSON keeps every kept value where it was; the float, the array and the object were
    // not kept.
    let written = serde_json::to_string(&parsed).unwrap();
    assert_eq!(
        written,
        r#"{"session_id":-3,"status":"TIMEOUT","updated_at":"2019-05-13T14:54:04.675Z","expires_at":"soon","order_id":true,"customer":{"given_name":"x"},"manual_identification":"none"}"#
    );
    let read = session(&written);
    let mut kept = parsed.clone();
    kept.problems.retain(|problem| problem.found().is_kept());
    assert_eq!(read, kept);
    // Each problem says what it was in words.
    let words: Vec<String> = parsed
        .problems
        .iter()
        .map(|p| p.found().to_string())
        .collect();
    assert_eq!(
        words,
        [
            "an integer -3",
            "a string \"soon\"",
            "a number 100000",
            "a boolean true",
            "an array",
            "an object",
            "a string \"none\""
        ]
    );
}

#[test]
fn a_float_is_reported_but_not_written_back() {
    // Found by the wire_json fuzz target: serde_json reads this literal to a double that
    // it writes back as text it reads to another double, so a kept float would not read
    // back as the same problem.
    let body = r#"{"status":"BACK","updated_at":15999999000000000000000000000000000000000000000000000000000000000000000000000000000000000000000012178694634274102511}"#;
    let parsed = session(body);
    let problem = parsed.problem("updated_at").unwrap();
    assert!(matches!(problem.found(), Found::Float(_)));
    assert!(!problem.found().is_kept());
    assert_eq!(
        serde_json::to_string(&parsed).unwrap(),
        r#"{"status":"BACK"}"#
    );
    postcard_round_trip(&parsed);
}

#[test]
fn field_problems_serialise_as_a_report_and_read_back() {
    let parsed = session(r#"{"expires_at":"soon","order_id":7}"#);
    let json = serde_json::to_string(&parsed.problems).unwrap();
    assert_eq!(
        json,
        r#"[{"field":"expires_at","message":"invalid RFC 3339 timestamp \"soon\": at byte 0, expected the year's four digits","found":{"text":"soon"}},{"field":"order_id","message":"expected a string, found an integer","found":{"unsigned":7}}]"#
    );
    let read: Vec<FieldProblem> = serde_json::from_str(&json).unwrap();
    assert_eq!(read, parsed.problems);
    // What is no problem, or no documented field, is refused.
    for bad in [
        r#"{"field":"order_id","found":{"text":"fine"}}"#,
        r#"{"field":"expires_at","found":{"text":"2019-05-13T14:54:04.675Z"}}"#,
        r#"{"field":"colour","found":"array"}"#,
        r#"{"field":"expires_at","found":{"long_text":{"head":"x","len":3}}}"#,
    ] {
        assert!(serde_json::from_str::<FieldProblem>(bad).is_err(), "{bad}");
    }
    // A long text read back decides the same error.
    let long = session(&format!(
        r#"{{"updated_at":"{}"}}"#,
        "2019-05-13T14:54:04.675Z".repeat(20)
    ));
    let json = serde_json::to_string(&long.problems[0]).unwrap();
    let read: FieldProblem = serde_json::from_str(&json).unwrap();
    assert_eq!(read.error(), long.problems[0].error());
    assert!(
        read.to_string()
            .contains("at byte 24, expected the end of the text"),
        "{read}"
    );
}

#[test]
fn found_values_compare_by_kind_and_value() {
    let all = [
        Found::Text("a".into()),
        Found::Text("b".into()),
        Found::LongText {
            head: "h".into(),
            len: 300,
        },
        Found::LongText {
            head: "h".into(),
            len: 301,
        },
        Found::LongText {
            head: "i".into(),
            len: 300,
        },
        Found::Boolean(true),
        Found::Boolean(false),
        Found::Integer(-1),
        Found::Integer(-2),
        Found::Unsigned(1),
        Found::Unsigned(2),
        Found::Float(1.0),
        Found::Float(-0.0),
        Found::Float(0.0),
        Found::Array,
        Found::Object,
        Found::Other,
    ];
    for (i, a) in all.iter().enumerate() {
        for (j, b) in all.iter().enumerate() {
            assert_eq!(a == b, i == j, "{a:?} == {b:?}");
        }
    }
}

#[test]
fn a_long_text_keeps_a_head_cut_at_a_character_boundary() {
    // '€' is three bytes: 64 falls inside the 22nd, so the head is 63 bytes, 21 of them.
    let long = "€".repeat(100);
    let payload = session(&format!(r#"{{"expires_at":"{long}"}}"#));
    let Found::LongText { head, len } = payload.problems[0].found() else {
        panic!("{:?}", payload.problems[0])
    };
    assert_eq!((head.as_str(), *len), ("€".repeat(21).as_str(), 300));
    let ascii = "x".repeat(300);
    let payload = session(&format!(r#"{{"expires_at":"{ascii}"}}"#));
    assert!(
        matches!(payload.problems[0].found(), Found::LongText { head, len: 300 } if head.len() == 64)
    );
    // 256 bytes are kept whole.
    let edge = "x".repeat(256);
    let payload = session(&format!(r#"{{"expires_at":"{edge}"}}"#));
    assert_eq!(payload.problems[0].found(), &Found::Text(edge));
}

#[test]
fn debug_names_the_field_by_its_path() {
    let payload = session(r#"{"customer":{"title":7}}"#);
    assert_eq!(
        format!("{:?}", payload.problems[0]),
        r#"FieldProblem { field: "customer.title", found: Unsigned(7) }"#
    );
}

#[test]
fn values_json_never_holds_are_refused_with_what_was_expected() {
    use serde::Deserialize;
    use serde::de::value::{Error, MapDeserializer};
    // An i128 (which serde_json never gives) in each shape of field.
    for (field, expected) in [
        ("session_id", "expected a string"),
        ("status", "expected a status string"),
        ("updated_at", "expected an RFC 3339 date-time string"),
        ("customer", "expected a customer object"),
        (
            "manual_identification",
            "expected a manual identification object",
        ),
    ] {
        let map = MapDeserializer::<_, Error>::new([(field, 5_i128)].into_iter());
        let error = SessionResponse::deserialize(map).unwrap_err();
        assert!(error.to_string().ends_with(expected), "{field}: {error}");
    }
    // A key that is not a string.
    let map = MapDeserializer::<_, Error>::new([(1_u64, "x")].into_iter());
    let error = SessionResponse::deserialize(map).unwrap_err();
    assert_eq!(
        error.to_string(),
        "invalid type: integer `1`, expected a field name"
    );
}
