//! Serde support (feature `serde`): a status is its wire name as a string.
#![cfg(feature = "serde")]

use hpp_status::Status;
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    /// Serde writes the wire name as a JSON string and reads it back.
    #[test]
    fn serde_round_trips(status in proptest::sample::select(Status::ALL.to_vec())) {
        let json = serde_json::to_string(&status).unwrap();
        prop_assert_eq!(&json, &format!("\"{}\"", status.as_str()));
        prop_assert_eq!(serde_json::from_str::<Status>(&json).unwrap(), status);
    }

    /// Deserializing any string never panics and accepts what `FromStr` accepts.
    #[test]
    fn serde_accepts_what_from_str_accepts(input in any::<String>()) {
        let via_serde = serde_json::from_value::<Status>(serde_json::Value::String(input.clone()));
        prop_assert_eq!(via_serde.ok(), input.parse::<Status>().ok());
    }
}

#[test]
fn serde_errors_carry_the_parse_message() {
    let error = serde_json::from_str::<Status>("\"Completed\"").unwrap_err();
    assert!(
        error.to_string().contains("did you mean \"COMPLETED\""),
        "{error}"
    );
    let error = serde_json::from_str::<Status>("7").unwrap_err();
    assert!(error.to_string().contains("an HPP status name"), "{error}");
}

#[test]
fn statuses_deserialize_inside_structures() {
    let statuses: Vec<Status> = serde_json::from_str(r#"["WAITING", "DISABLED"]"#).unwrap();
    assert_eq!(statuses, [Status::Waiting, Status::Disabled]);
    let error = serde_json::from_str::<Vec<Status>>(r#"["WAITING", "EXPIRED"]"#).unwrap_err();
    assert!(
        error.to_string().contains("unknown HPP status \"EXPIRED\""),
        "{error}"
    );
}

#[cfg(feature = "wire")]
mod stored_tracker {
    use hpp_status::wire::Timestamp;
    use hpp_status::{Disposition, Observation, Outcome, OutcomeKind, Status, Tracker};

    fn at(status: Status, text: &str) -> Observation<Timestamp> {
        Observation::new(status, text.parse().unwrap())
    }

    /// The stored form is a contract: this JSON is what a store holds today and must still
    /// load tomorrow.
    #[test]
    fn the_stored_form_is_pinned() {
        let empty = Tracker::<Timestamp>::new();
        assert_eq!(serde_json::to_string(&empty).unwrap(), r#"{"latest":null}"#);
        let tracker = Tracker::from(at(Status::Completed, "2019-05-13T14:53:00.000Z"));
        let stored = r#"{"latest":{"status":"COMPLETED","updated_at":"2019-05-13T14:53:00.000Z"}}"#;
        assert_eq!(serde_json::to_string(&tracker).unwrap(), stored);
        assert_eq!(
            serde_json::from_str::<Tracker<Timestamp>>(stored).unwrap(),
            tracker
        );
        assert_eq!(
            serde_json::from_str::<Tracker<Timestamp>>(r#"{"latest":null}"#).unwrap(),
            empty
        );
    }

    #[test]
    fn a_stored_tracker_that_is_not_exactly_the_form_is_refused() {
        let refused = [
            ("{}", "missing field `latest`"),
            (r#"{"v":2,"latest":null}"#, "unknown field `v`"),
            (r#"{"last":null}"#, "unknown field `last`"),
            (
                r#"{"latest":{"status":"COMPLETED"}}"#,
                "missing field `updated_at`",
            ),
            (
                r#"{"latest":{"status":"COMPLETED","updated_at":"2019-05-13T14:53:00.000Z","x":1}}"#,
                "unknown field `x`",
            ),
            (
                r#"{"latest":{"status":"COMPLETE","updated_at":"2019-05-13T14:53:00.000Z"}}"#,
                "unknown HPP status \"COMPLETE\"",
            ),
        ];
        for (json, reason) in refused {
            let error = serde_json::from_str::<Tracker<Timestamp>>(json).unwrap_err();
            assert!(error.to_string().contains(reason), "{json}: {error}");
        }
    }

    #[test]
    fn outcomes_are_tagged_with_their_kind() {
        let mut tracker = Tracker::new();
        let advanced = tracker.observe(Observation::new(Status::InProgress, 1_i64));
        let duplicate = tracker.observe(Observation::new(Status::InProgress, 1));
        let _ = tracker.observe(Observation::new(Status::Completed, 5));
        let stale = tracker.observe(Observation::new(Status::Back, 2));
        let conflict = tracker.observe(Observation::new(Status::Cancelled, 9));
        let expected = [
            (
                advanced,
                r#"{"kind":"advanced","previous":null,"current":{"status":"IN_PROGRESS","updated_at":1}}"#,
            ),
            (
                duplicate,
                r#"{"kind":"duplicate","current":{"status":"IN_PROGRESS","updated_at":1}}"#,
            ),
            (
                stale,
                r#"{"kind":"stale","current":{"status":"COMPLETED","updated_at":5},"stale":{"status":"BACK","updated_at":2}}"#,
            ),
            (
                conflict,
                r#"{"kind":"conflict","kept":{"status":"COMPLETED","updated_at":5},"rejected":{"status":"CANCELLED","updated_at":9},"replaced":false}"#,
            ),
        ];
        for (outcome, json) in expected {
            assert_eq!(serde_json::to_string(&outcome).unwrap(), json);
            assert_eq!(serde_json::from_str::<Outcome<i64>>(json).unwrap(), outcome);
            let value: serde_json::Value = serde_json::from_str(json).unwrap();
            assert_eq!(value["kind"], outcome.kind().to_string());
            assert_eq!(
                serde_json::to_value(outcome.kind()).unwrap(),
                outcome.kind().as_str()
            );
        }
        for kind in OutcomeKind::ALL {
            let json = serde_json::to_string(&kind).unwrap();
            assert_eq!(json, format!("\"{kind}\""));
            assert_eq!(serde_json::from_str::<OutcomeKind>(&json).unwrap(), kind);
        }
    }

    #[test]
    fn dispositions_are_tagged_with_their_display_name() {
        for disposition in [
            Disposition::Final(Status::Cancelled),
            Disposition::Open,
            Disposition::ReadBeforeExpiry,
            Disposition::Expired,
        ] {
            let value = serde_json::to_value(disposition).unwrap();
            assert_eq!(value["kind"], disposition.as_str());
            assert!(disposition.to_string().starts_with(disposition.as_str()));
            assert_eq!(
                serde_json::from_value::<Disposition>(value).unwrap(),
                disposition
            );
        }
        assert_eq!(
            serde_json::to_string(&Disposition::Final(Status::Cancelled)).unwrap(),
            r#"{"kind":"final","status":"CANCELLED"}"#
        );
        assert_eq!(
            serde_json::to_string(&Disposition::Open).unwrap(),
            r#"{"kind":"open"}"#
        );
    }
}
