//! The session ledger (feature `ledger`): who made a session final, its completion, typed
//! anomalies, unusable payloads, all in bounded memory whatever the number of deliveries.
#![cfg(feature = "ledger")]

use std::time::Duration;

use hpp_status::ledger::{
    AnomalyKind, DETAIL_KEPT, Delivery, EXAMPLES_PER_KIND, RAW_KEPT, SessionLedger, Source,
    UNUSABLE_KEPT,
};
use hpp_status::wire::{Completion, ObservationError, SessionResponse, StatusCallback, Timestamp};
use hpp_status::{Disposition, Status};

fn read(json: &str) -> SessionResponse {
    serde_json::from_str(json).unwrap_or_else(|error| panic!("{json}: {error}"))
}

fn callback(json: &str) -> StatusCallback {
    serde_json::from_str(json).unwrap_or_else(|error| panic!("{json}: {error}"))
}

/// A Read Session body of `status` at `time` (`2026-11-20T10:00:0{time}.000Z`).
fn body(status: &str, second: u32, extra: &str) -> String {
    format!(
        r#"{{"session_id":"s","status":"{status}","updated_at":"2026-11-20T10:00:{second:02}.000Z","expires_at":"2026-11-20T11:00:00.000Z"{extra}}}"#
    )
}

fn as_callback(body: &str) -> String {
    format!(r#"{{"event_id":"e","session":{body}}}"#)
}

fn kinds(ledger: &SessionLedger) -> Vec<(u64, AnomalyKind)> {
    ledger
        .anomalies()
        .iter()
        .map(|anomaly| (anomaly.position(), anomaly.kind()))
        .collect()
}

#[test]
fn a_session_delivered_out_of_order_is_reconciled() {
    let mut ledger = SessionLedger::new();
    let token = r#","authorization_token":"70850a20""#;
    let completed = callback(&as_callback(&body("COMPLETED", 30, token)));
    let in_progress = callback(&as_callback(&body("IN_PROGRESS", 10, "")));
    assert!(
        ledger
            .record(Delivery::callback(1, &completed))
            .unwrap()
            .became_final()
    );
    ledger.record(Delivery::callback(2, &in_progress)).unwrap();
    ledger.record(Delivery::callback(3, &completed)).unwrap();
    assert_eq!(ledger.tracker().status(), Some(Status::Completed));
    assert_eq!(ledger.deliveries(), 3);
    let by = ledger.final_by().unwrap();
    assert_eq!((by.position(), by.source()), (1, Source::Callback));
    assert_eq!(
        ledger.completion(),
        Some(Completion::AuthorizationToken("70850a20"))
    );
    assert_eq!(
        kinds(&ledger),
        [(2, AnomalyKind::Stale), (3, AnomalyKind::Duplicate)]
    );
    let stale = &ledger.anomalies()[0];
    assert_eq!(
        stale.detail(),
        "IN_PROGRESS@2026-11-20T10:00:10.000Z arrived after COMPLETED@2026-11-20T10:00:30.000Z"
    );
    assert_eq!(stale.to_string(), format!("stale at 2: {}", stale.detail()));
    assert_eq!(ledger.count(AnomalyKind::Stale), 1);
    assert_eq!(ledger.count(AnomalyKind::Conflict), 0);
    assert_eq!(ledger.anomalies_not_kept(), 0);
    assert_eq!(
        ledger.expires_at(),
        Some("2026-11-20T11:00:00.000Z".parse().unwrap())
    );
}

#[test]
fn a_final_status_only_read_session_reported_is_a_missing_callback_but_disabled_is_not() {
    for status in ["COMPLETED", "CANCELLED"] {
        let mut ledger = SessionLedger::new();
        ledger
            .record(Delivery::read_session(
                4,
                &read(&body(status, 5, r#","order_id":"o""#)),
            ))
            .unwrap();
        assert_eq!(ledger.count(AnomalyKind::CallbackMissing), 1, "{status}");
        let anomaly = &ledger.anomalies()[0];
        assert_eq!(
            (anomaly.position(), anomaly.kind()),
            (4, AnomalyKind::CallbackMissing)
        );
        assert!(
            anomaly
                .detail()
                .contains(&format!("no callback reported {status}"))
        );
        // A callback of the same final, even later, clears it.
        ledger
            .record(Delivery::callback(
                9,
                &callback(&as_callback(&body(status, 5, ""))),
            ))
            .unwrap();
        assert_eq!(ledger.count(AnomalyKind::CallbackMissing), 0, "{status}");
        assert_eq!(ledger.final_by().unwrap().position(), 4);
    }
    // The merchant's own Disable is not called back: nothing is missing.
    let mut ledger = SessionLedger::new();
    ledger
        .record(Delivery::read_session(1, &read(&body("DISABLED", 5, ""))))
        .unwrap();
    assert_eq!(ledger.count(AnomalyKind::CallbackMissing), 0);
    assert!(ledger.anomalies().is_empty());
    // An open session misses nothing; a callback-made final misses nothing.
    let mut open = SessionLedger::new();
    open.record(Delivery::read_session(1, &read(&body("BACK", 5, ""))))
        .unwrap();
    assert_eq!(open.count(AnomalyKind::CallbackMissing), 0);
    let mut called_back = SessionLedger::new();
    called_back
        .record(Delivery::callback(
            1,
            &callback(&as_callback(&body("CANCELLED", 5, ""))),
        ))
        .unwrap();
    assert_eq!(called_back.count(AnomalyKind::CallbackMissing), 0);
}

#[test]
fn a_conflict_that_replaces_the_final_moves_final_by() {
    let mut ledger = SessionLedger::new();
    // A later CANCELLED first, then the earlier COMPLETED, read: the first final wins.
    ledger
        .record(Delivery::callback(
            1,
            &callback(&as_callback(&body("CANCELLED", 9, ""))),
        ))
        .unwrap();
    let outcome = ledger
        .record(Delivery::read_session(
            2,
            &read(&body("COMPLETED", 5, r#","order_id":"o""#)),
        ))
        .unwrap();
    assert!(outcome.is_conflict() && outcome.became_final());
    let by = ledger.final_by().unwrap();
    assert_eq!((by.position(), by.source()), (2, Source::ReadSession));
    assert_eq!(ledger.tracker().status(), Some(Status::Completed));
    // The callback reported CANCELLED, not the COMPLETED held: that callback is missing.
    assert_eq!(
        kinds(&ledger),
        [
            (2, AnomalyKind::Conflict),
            (2, AnomalyKind::CallbackMissing)
        ]
    );
}

#[test]
fn completion_is_the_first_a_completed_payload_carried() {
    let mut ledger = SessionLedger::new();
    // A token on a non-COMPLETED payload is not a completion.
    ledger
        .record(Delivery::read_session(
            1,
            &read(&body("IN_PROGRESS", 1, r#","authorization_token":"early""#)),
        ))
        .unwrap();
    assert_eq!(ledger.completion(), None);
    let completed = read(&body("COMPLETED", 2, ""));
    ledger
        .record(Delivery::read_session(2, &completed))
        .unwrap();
    assert_eq!(ledger.count(AnomalyKind::CompletionMissing), 1);
    assert_eq!(
        kinds(&ledger),
        [
            (2, AnomalyKind::CallbackMissing),
            (2, AnomalyKind::CompletionMissing)
        ]
    );
    ledger
        .record(Delivery::read_session(
            3,
            &read(&body("COMPLETED", 2, r#","order_id":"o1""#)),
        ))
        .unwrap();
    assert_eq!(ledger.count(AnomalyKind::CompletionMissing), 0);
    assert_eq!(
        ledger.completion(),
        Some(Completion::Order {
            order_id: "o1",
            klarna_reference: None
        })
    );
    ledger
        .record(Delivery::read_session(
            4,
            &read(&body("COMPLETED", 2, r#","order_id":"o1""#)),
        ))
        .unwrap();
    assert_eq!(ledger.count(AnomalyKind::CompletionDiffers), 0);
    ledger
        .record(Delivery::read_session(
            5,
            &read(&body(
                "COMPLETED",
                2,
                r#","order_id":"o2","klarna_reference":"k""#,
            )),
        ))
        .unwrap();
    assert_eq!(ledger.count(AnomalyKind::CompletionDiffers), 1);
    let differs = ledger
        .anomalies()
        .into_iter()
        .find(|a| a.kind() == AnomalyKind::CompletionDiffers)
        .unwrap();
    assert_eq!(
        differs.detail(),
        "kept order o1, no Klarna reference; this delivery has order o2, Klarna reference k"
    );
    assert_eq!(differs.position(), 5);
    // A COMPLETED token session never misses its completion.
    let mut token = SessionLedger::new();
    token
        .record(Delivery::read_session(
            1,
            &read(&body("COMPLETED", 2, r#","authorization_token":"t""#)),
        ))
        .unwrap();
    assert_eq!(token.count(AnomalyKind::CompletionMissing), 0);
    assert_eq!(
        token.completion(),
        Some(Completion::AuthorizationToken("t"))
    );
}

#[test]
fn payloads_without_an_observation_are_counted_by_kind_and_kept_raw() {
    let cases = [
        (body("MANUAL_ID_CHECK", 1, ""), AnomalyKind::ManualIdCheck),
        (body("TIMEOUT", 1, ""), AnomalyKind::Timeout),
        (body("EXPIRED", 1, ""), AnomalyKind::UnrecognizedStatus),
        (
            r#"{"session_id":"s","updated_at":"2026-11-20T10:00:01.000Z"}"#.to_owned(),
            AnomalyKind::Unusable,
        ),
        (
            r#"{"session_id":"s","status":"BACK","updated_at":"soon"}"#.to_owned(),
            AnomalyKind::Unusable,
        ),
    ];
    for (text, kind) in cases {
        let mut ledger = SessionLedger::new();
        let payload = read(&text);
        let result = ledger.record(Delivery::read_session(7, &payload).with_raw(&text));
        assert_eq!(result, Err(payload.observation().unwrap_err()));
        assert_eq!(ledger.count(kind), 1, "{text}");
        assert_eq!(ledger.tracker().latest(), None);
        let [kept] = ledger.unusable_payloads() else {
            panic!()
        };
        assert_eq!(
            (kept.position(), kept.raw(), kept.raw_len()),
            (7, Some(text.as_str()), text.len())
        );
        assert_eq!(kept.reason(), ledger.anomalies().last().unwrap().detail());
    }
    // Without its text, the payload is still listed, with no raw text.
    let mut ledger = SessionLedger::new();
    let timeout = read(&body("TIMEOUT", 1, ""));
    assert_eq!(
        ledger.record(Delivery::read_session(1, &timeout)),
        Err(ObservationError::Timeout)
    );
    assert_eq!(
        (
            ledger.unusable_payloads()[0].raw(),
            ledger.unusable_payloads()[0].raw_len()
        ),
        (None, 0)
    );
}

#[test]
fn malformed_fields_are_counted_and_the_observation_is_used() {
    let mut ledger = SessionLedger::new();
    let text = r#"{"event_id":7,"session":{"session_id":"s","status":"BACK","updated_at":"2026-11-20T10:00:01.000Z","expires_at":"soon","customer":{"title":false}}}"#;
    let delivered = callback(text);
    assert!(ledger.record(Delivery::callback(3, &delivered)).is_ok());
    assert_eq!(ledger.tracker().status(), Some(Status::Back));
    assert_eq!(ledger.count(AnomalyKind::MalformedField), 3);
    let details: Vec<String> = ledger
        .anomalies()
        .iter()
        .map(|a| a.detail().to_owned())
        .collect();
    assert!(
        details[0].starts_with("`event_id`: expected a string, found an integer"),
        "{details:?}"
    );
    assert!(
        details[1].starts_with("`expires_at`: invalid RFC 3339 timestamp \"soon\""),
        "{details:?}"
    );
    assert!(
        details[2].starts_with("`customer.title`: expected a string"),
        "{details:?}"
    );
    assert!(ledger.unusable_payloads().is_empty());
}

#[test]
fn memory_is_bounded_whatever_the_number_of_deliveries() {
    let mut ledger = SessionLedger::new();
    let back = read(&body("BACK", 1, ""));
    let timeout_text = body("TIMEOUT", 1, &format!(r#","x":"{}""#, "y".repeat(5_000)));
    let timeout = read(&timeout_text);
    for position in 1..=10_000 {
        ledger.record(Delivery::read_session(position, &back)).ok();
        ledger
            .record(Delivery::read_session(position, &timeout).with_raw(&timeout_text))
            .ok();
    }
    assert_eq!(ledger.deliveries(), 20_000);
    assert_eq!(ledger.count(AnomalyKind::Duplicate), 9_999);
    assert_eq!(ledger.count(AnomalyKind::Timeout), 10_000);
    let anomalies = ledger.anomalies();
    assert_eq!(anomalies.len(), 2 * EXAMPLES_PER_KIND);
    assert_eq!(
        kinds(&ledger),
        [
            (1, AnomalyKind::Timeout),
            (2, AnomalyKind::Duplicate),
            (2, AnomalyKind::Timeout),
            (3, AnomalyKind::Duplicate),
            (3, AnomalyKind::Timeout),
            (4, AnomalyKind::Duplicate),
        ]
    );
    assert_eq!(
        ledger.anomalies_not_kept(),
        9_999 + 10_000 - 2 * EXAMPLES_PER_KIND as u64
    );
    assert_eq!(ledger.unusable_payloads().len(), UNUSABLE_KEPT);
    assert_eq!(ledger.unusable_not_kept(), 10_000 - UNUSABLE_KEPT as u64);
    let kept = &ledger.unusable_payloads()[0];
    assert_eq!(kept.raw().unwrap().len(), RAW_KEPT);
    assert_eq!(kept.raw_len(), timeout_text.len());
    // Long details are cut, on a character boundary, and marked.
    let long = "é".repeat(400);
    let mut ledger = SessionLedger::new();
    let first = read(&body(
        "COMPLETED",
        1,
        &format!(r#","authorization_token":"{long}""#),
    ));
    let second = read(&body("COMPLETED", 1, r#","authorization_token":"other""#));
    ledger.record(Delivery::read_session(1, &first)).unwrap();
    ledger.record(Delivery::read_session(2, &second)).unwrap();
    let differs = ledger
        .anomalies()
        .into_iter()
        .find(|a| a.kind() == AnomalyKind::CompletionDiffers)
        .unwrap();
    assert!(
        differs.detail().len() <= DETAIL_KEPT,
        "{}",
        differs.detail().len()
    );
    assert!(differs.detail().len() > DETAIL_KEPT - 6);
    assert!(differs.detail().ends_with('…'));
    // A session without anomalies stays small.
    assert!(
        std::mem::size_of::<SessionLedger>() <= 144,
        "{}",
        std::mem::size_of::<SessionLedger>()
    );
}

#[test]
fn an_unreadable_delivery_of_a_known_session_is_kept() {
    let mut ledger = SessionLedger::new();
    ledger.record_unreadable(5, Source::Callback, "{oops", "not JSON");
    ledger.record_unreadable(6, Source::ReadSession, "", "an empty body");
    ledger.record_unreadable(7, Source::ReadSession, "x", "again");
    assert_eq!(ledger.deliveries(), 3);
    assert_eq!(ledger.count(AnomalyKind::Unusable), 3);
    let kept = ledger.unusable_payloads();
    assert_eq!(kept[0].reason(), "the callback could not be read: not JSON");
    assert_eq!(
        kept[1].reason(),
        "the read_session could not be read: an empty body"
    );
    assert_eq!((kept[0].raw(), kept[0].raw_len()), (Some("{oops"), 5));
    assert_eq!(ledger.unusable_not_kept(), 1);
}

#[test]
fn disposition_uses_the_latest_expiry_and_the_margin() {
    let mut ledger = SessionLedger::new();
    let at = |text: &str| -> Timestamp { text.parse().unwrap() };
    assert_eq!(
        ledger.disposition(&at("2030-01-01T00:00:00Z"), Duration::ZERO),
        Disposition::Open
    );
    let early = read(
        r#"{"session_id":"s","status":"BACK","updated_at":"2026-11-20T10:00:00Z","expires_at":"2026-11-20T11:00:00Z"}"#,
    );
    let later = read(
        r#"{"session_id":"s","status":"BACK","updated_at":"2026-11-20T10:00:00Z","expires_at":"2026-11-20T12:00:00Z"}"#,
    );
    ledger.record(Delivery::read_session(1, &later)).unwrap();
    ledger.record(Delivery::read_session(2, &early)).unwrap();
    assert_eq!(ledger.expires_at(), Some(at("2026-11-20T12:00:00Z")));
    let margin = Duration::from_secs(600);
    assert_eq!(
        ledger.disposition(&at("2026-11-20T11:30:00Z"), margin),
        Disposition::Open
    );
    assert_eq!(
        ledger.disposition(&at("2026-11-20T11:50:00Z"), margin),
        Disposition::ReadBeforeExpiry
    );
    assert_eq!(
        ledger.disposition(&at("2026-11-20T12:00:00Z"), margin),
        Disposition::Expired
    );
    ledger
        .record(Delivery::read_session(3, &read(&body("CANCELLED", 9, ""))))
        .unwrap();
    assert_eq!(
        ledger.disposition(&at("2026-11-20T12:00:00Z"), margin),
        Disposition::Final(Status::Cancelled)
    );
}

#[test]
fn the_report_form_names_everything() {
    let mut ledger = SessionLedger::new();
    let text = body("COMPLETED", 3, r#","order_id":"o","expires_at_extra":1"#);
    ledger
        .record(Delivery::read_session(2, &read(&text)))
        .unwrap();
    ledger
        .record(Delivery::read_session(3, &read(&body("TIMEOUT", 4, ""))).with_raw("{}"))
        .unwrap_err();
    let json = serde_json::to_value(&ledger).unwrap();
    assert_eq!(json["status"], "COMPLETED");
    assert_eq!(json["updated_at"], "2026-11-20T10:00:03.000Z");
    assert_eq!(json["expires_at"], "2026-11-20T11:00:00.000Z");
    assert_eq!(json["deliveries"], 2);
    assert_eq!(
        json["final_by"],
        serde_json::json!({"position": 2, "source": "read_session"})
    );
    assert_eq!(
        json["completion"],
        serde_json::json!({"kind": "order", "order_id": "o", "klarna_reference": null})
    );
    assert_eq!(
        json["counts"],
        serde_json::json!({"timeout": 1, "callback_missing": 1})
    );
    assert_eq!(json["anomalies"][0]["kind"], "callback_missing");
    assert_eq!(json["anomalies"][1]["kind"], "timeout");
    assert_eq!(json["anomalies_not_kept"], 0);
    assert_eq!(json["unusable"][0]["raw"], "{}");
    assert_eq!(json["unusable"][0]["raw_len"], 2);
    assert_eq!(json["unusable_not_kept"], 0);
    let empty = serde_json::to_value(SessionLedger::new()).unwrap();
    assert_eq!(empty["status"], serde_json::Value::Null);
    assert_eq!(empty["counts"], serde_json::json!({}));
}

#[test]
fn names_are_snake_case_and_match_serde() {
    for kind in AnomalyKind::ALL {
        assert_eq!(
            serde_json::to_string(&kind).unwrap(),
            format!("\"{}\"", kind.as_str())
        );
        assert_eq!(kind.to_string(), kind.as_str());
        assert!(
            kind.as_str()
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b == b'_')
        );
    }
    for source in Source::ALL {
        assert_eq!(
            serde_json::to_string(&source).unwrap(),
            format!("\"{source}\"")
        );
    }
    let empty = SessionResponse::default();
    let delivery = Delivery::read_session(9, &empty);
    assert_eq!(
        (delivery.position(), delivery.source()),
        (9, Source::ReadSession)
    );
}

#[test]
fn a_callback_of_another_final_does_not_count_as_the_held_final_s_callback() {
    let mut ledger = SessionLedger::new();
    ledger
        .record(Delivery::read_session(
            1,
            &read(&body("COMPLETED", 5, r#","order_id":"o""#)),
        ))
        .unwrap();
    // A conflicting CANCELLED callback, dated later: COMPLETED stays, and no callback said so.
    let outcome = ledger
        .record(Delivery::callback(
            2,
            &callback(&as_callback(&body("CANCELLED", 9, ""))),
        ))
        .unwrap();
    assert!(outcome.is_conflict() && !outcome.became_final());
    assert_eq!(ledger.count(AnomalyKind::CallbackMissing), 1);
    // Nor does a callback of an open status.
    let mut open_first = SessionLedger::new();
    open_first
        .record(Delivery::callback(
            1,
            &callback(&as_callback(&body("BACK", 1, ""))),
        ))
        .unwrap();
    open_first
        .record(Delivery::read_session(2, &read(&body("CANCELLED", 5, ""))))
        .unwrap();
    assert_eq!(open_first.count(AnomalyKind::CallbackMissing), 1);
}

#[test]
fn raw_payloads_are_cut_at_a_character_boundary() {
    // 2 + 3k bytes: byte 1,024 is inside a three-byte character, which starts at 1,022.
    let raw = format!("xx{}", "€".repeat(400));
    let mut ledger = SessionLedger::new();
    ledger.record_unreadable(1, Source::ReadSession, &raw, "not JSON");
    let kept = ledger.unusable_payloads()[0].raw().unwrap();
    assert_eq!(kept.len(), 1_022);
    assert!(raw.starts_with(kept));
}
