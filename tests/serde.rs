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
