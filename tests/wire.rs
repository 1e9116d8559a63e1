//! Golden tests of the wire payloads on the documented examples (feature `wire`).
//!
//! `tests/data/status_callback.json` has the shape of the callback example of the HPP
//! documentation; `tests/data/read_session_completed.json` fills every documented field of
//! Read Session with the example values of the OpenAPI description.
#![cfg(feature = "wire")]

use hpp_status::wire::{
    Completion, ObservationError, ReportedStatus, SessionResponse, StatusCallback, Timestamp,
};
use hpp_status::{Observation, Status};
use serde_json::Value;

const CALLBACK: &str = include_str!("data/status_callback.json");
const READ_SESSION: &str = include_str!("data/read_session_completed.json");

fn ts(text: &str) -> Timestamp {
    text.parse().unwrap()
}

#[test]
fn the_documented_callback_parses_and_serialises_back() {
    let callback: StatusCallback = serde_json::from_str(CALLBACK).unwrap();
    assert_eq!(
        callback.event_id.as_deref(),
        Some("25ab2b58-5e7c-4bdd-9c12-5a3e0b0d2b0c")
    );
    assert!(callback.problems.is_empty() && callback.session.problems.is_empty());
    let session = &callback.session;
    assert_eq!(
        session.session_id.as_deref(),
        Some("a15b228c-02ad-11e9-8eb2-f2801f1b9fd1")
    );
    assert_eq!(
        session.status,
        Some(ReportedStatus::Known(Status::InProgress))
    );
    assert_eq!(session.expires_at, Some(ts("2019-05-15T13:51:43.507Z")));
    assert_eq!(
        session.observation(),
        Ok(Observation::new(
            Status::InProgress,
            ts("2019-05-13T14:51:46.288Z")
        ))
    );
    assert_eq!(session.completion(), None);
    let written = serde_json::to_string(&callback).unwrap();
    assert_eq!(
        written,
        CALLBACK.trim_end(),
        "byte-for-byte, field order included"
    );
}

#[test]
fn the_documented_read_session_parses_every_field_and_serialises_back() {
    let session: SessionResponse = serde_json::from_str(READ_SESSION).unwrap();
    assert_eq!(session.known_status(), Some(Status::Completed));
    assert_eq!(session.klarna_reference.as_deref(), Some("ffc25786"));
    let customer = session.customer.as_ref().unwrap();
    assert_eq!(customer.date_of_birth.as_deref(), Some("1970-01-01"));
    assert_eq!(
        customer.national_identification_number.as_deref(),
        Some("19700101-0000")
    );
    assert_eq!(customer.title.as_deref(), Some("Ms"));
    let manual = session.manual_identification.as_ref().unwrap();
    assert_eq!(manual.challenge.as_deref(), Some("A78"));
    assert_eq!(
        manual
            .customer_obfuscated
            .as_ref()
            .unwrap()
            .given_name
            .as_deref(),
        Some("J***")
    );
    assert_eq!(manual.expires_at, Some(ts("2038-01-19T03:14:07.000Z")));
    // The token wins: a Klarna Payments session is finished with it.
    assert_eq!(
        session.completion(),
        Some(Completion::AuthorizationToken(
            "70850a20-a2a0-5c70-810c-096fa6f850bb"
        ))
    );
    let original: Value = serde_json::from_str(READ_SESSION).unwrap();
    assert_eq!(serde_json::to_value(&session).unwrap(), original);
}

#[test]
fn unknown_statuses_are_kept_never_rejected_never_guessed() {
    for text in [
        "EXPIRED",
        "COMPLETE",
        "in_progress",
        "timeout",
        "Manual_Id_Check",
        "",
    ] {
        let body = format!(
            r#"{{"event_id":"e","session":{{"status":{text:?},"updated_at":"2019-05-13T14:51:46.288Z"}}}}"#
        );
        let callback: StatusCallback = serde_json::from_str(&body).unwrap();
        let status = callback.session.status.as_ref().unwrap();
        let ReportedStatus::Unrecognized(unrecognized) = status else {
            panic!("{text:?} read as {status:?}");
        };
        assert_eq!(unrecognized.as_str(), text);
        assert_eq!(status.known(), None);
        assert_eq!(
            callback.session.observation(),
            Err(ObservationError::UnrecognizedStatus(unrecognized.clone()))
        );
        assert_eq!(
            serde_json::to_string(&callback).unwrap(),
            body,
            "the text survives"
        );
    }
}

#[test]
fn every_field_is_optional_and_unknown_fields_are_ignored() {
    let empty: SessionResponse = serde_json::from_str("{}").unwrap();
    assert_eq!(empty, SessionResponse::default());
    assert_eq!(serde_json::to_string(&empty).unwrap(), "{}");
    assert_eq!(empty.observation(), Err(ObservationError::MissingStatus));
    let extra: SessionResponse = serde_json::from_str(
        r#"{"status":"BACK","future_field":{"x":[1,2]},"updated_at":"2019-05-13T14:51:46.288Z"}"#,
    )
    .unwrap();
    assert_eq!(extra.known_status(), Some(Status::Back));
    let undated: SessionResponse = serde_json::from_str(r#"{"status":"BACK"}"#).unwrap();
    assert_eq!(
        undated.observation(),
        Err(ObservationError::MissingUpdatedAt)
    );
    assert_eq!(
        ObservationError::MissingUpdatedAt.to_string(),
        "the session has no `updated_at` field, so it cannot be ordered"
    );
    assert_eq!(
        ObservationError::MissingStatus.to_string(),
        "the session has no `status` field"
    );
}

#[test]
fn a_callback_needs_its_session_but_not_its_event_id() {
    let callback: StatusCallback = serde_json::from_str(r#"{"session":{}}"#).unwrap();
    assert_eq!(callback.event_id, None);
    assert_eq!(
        serde_json::to_string(&callback).unwrap(),
        r#"{"session":{}}"#
    );
    let error = serde_json::from_str::<StatusCallback>(r#"{"event_id":"e"}"#).unwrap_err();
    assert!(
        error.to_string().contains("missing field `session`"),
        "{error}"
    );
    for session in ["null", "[]", "\"s\"", "7"] {
        let body = format!(r#"{{"event_id":"e","session":{session}}}"#);
        let error = serde_json::from_str::<StatusCallback>(&body).unwrap_err();
        assert!(
            error.to_string().contains("expected a Read Session object"),
            "{body}: {error}"
        );
    }
}

#[test]
fn bad_values_are_named_in_their_problem() {
    let session: SessionResponse = serde_json::from_str(r#"{"updated_at":"13/05/2019"}"#).unwrap();
    assert_eq!(session.updated_at, None);
    let problem = session.problem("updated_at").unwrap().to_string();
    assert!(
        problem.starts_with("`updated_at`: invalid RFC 3339 timestamp \"13/05/2019\": "),
        "{problem}"
    );
    let session: SessionResponse = serde_json::from_str(r#"{"status":7}"#).unwrap();
    assert_eq!(
        session.observation().unwrap_err().to_string(),
        "the session's `status` cannot be used: expected a string, found an integer"
    );
    let error = "2019-05-13T14:51:46.288".parse::<Timestamp>().unwrap_err();
    assert_eq!(error.input(), "2019-05-13T14:51:46.288");
    assert_eq!(error.at(), 23);
}

#[test]
fn timestamps_are_written_in_the_api_form_and_read_back_exactly() {
    assert_eq!(
        ts("2038-01-19T03:14:07Z").to_string(),
        "2038-01-19T03:14:07.000Z"
    );
    assert_eq!(
        ts("2019-05-13T16:51:46.288+02:00").to_string(),
        "2019-05-13T14:51:46.288Z"
    );
    let below_a_millisecond = ts("2019-05-13T14:51:46.0005Z");
    assert_eq!(below_a_millisecond.to_string(), "2019-05-13T14:51:46.0005Z");
    let fine = ts("2019-05-13T14:51:46.288123Z");
    assert_eq!(
        fine.to_string(),
        "2019-05-13T14:51:46.288123Z",
        "sub-millisecond digits kept"
    );
    assert_eq!(ts(&fine.to_string()), fine);
    assert!(ts("2019-05-13T14:51:46.288Z") < ts("2019-05-13T14:51:46.289Z"));
    let instant = jiff::Timestamp::from_millisecond(1_500).unwrap();
    let converted = Timestamp::try_from(instant).unwrap();
    assert_eq!(converted.unix(), (1, 500_000_000));
    assert_eq!(jiff::Timestamp::try_from(converted).unwrap(), instant);
}

#[test]
fn completion_needs_a_token_or_an_order_id() {
    let order_only = SessionResponse {
        order_id: Some("o".into()),
        ..SessionResponse::default()
    };
    assert_eq!(
        order_only.completion(),
        Some(Completion::Order {
            order_id: "o",
            klarna_reference: None
        })
    );
    let reference_only = SessionResponse {
        klarna_reference: Some("k".into()),
        ..SessionResponse::default()
    };
    assert_eq!(reference_only.completion(), None);
    let order = SessionResponse {
        order_id: Some("o".into()),
        klarna_reference: Some("k".into()),
        ..SessionResponse::default()
    };
    assert_eq!(
        order.completion(),
        Some(Completion::Order {
            order_id: "o",
            klarna_reference: Some("k")
        })
    );
}

#[test]
fn reported_statuses_read_and_write_their_text() {
    for status in Status::ALL {
        let reported = ReportedStatus::from(status);
        assert_eq!(reported.as_str(), status.as_str());
        assert_eq!(reported.to_string(), status.as_str());
        assert_eq!(status.as_str().parse::<ReportedStatus>(), Ok(reported));
    }
    assert_eq!(
        format!("{:>9}", ReportedStatus::from_wire("TIMEOUT")),
        "  TIMEOUT"
    );
    assert_eq!(
        format!("{:<6}|", ReportedStatus::from_wire("odd")),
        "odd   |"
    );
}
