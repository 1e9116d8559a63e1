//! The properties of the `parse_status` fuzz target, in one function with two callers: the
//! fuzz target (`fuzz/fuzz_targets/parse_status.rs`) and the corpus replay
//! (`tests/corpus_replay.rs` of this crate), which feeds it every file of `fuzz/corpus/parse_status/`.
//!
//! The input is read three ways: as a status name (`FromStr`, when it is UTF-8), as a whole
//! JSON document, and as the raw content of a JSON string (`"` + input + `"`). Whatever
//! parses must round-trip to the input, `FromStr` and serde must agree, and a refusal must
//! quote a prefix of the input and know its length.

use hpp_status::{ParseStatusError, Status};
use serde_json::Value;

/// The longest prefix a `ParseStatusError` quotes, in bytes.
const QUOTED: usize = 32;

/// Checks every property on one input; panics (a fuzz finding) when one fails.
pub fn check(data: &[u8]) {
    if let Ok(text) = core::str::from_utf8(data) {
        check_name(text);
    }
    check_json_document(data);
    let mut document = Vec::with_capacity(data.len() + 2);
    document.push(b'"');
    document.extend_from_slice(data);
    document.push(b'"');
    check_json_document(&document);
}

/// `FromStr` and `Status::from_name` on `text`.
fn check_name(text: &str) {
    let exact = Status::ALL.into_iter().find(|s| s.as_str() == text);
    assert_eq!(Status::from_name(text), exact, "from_name({text:?})");
    match text.parse::<Status>() {
        Ok(status) => {
            assert_eq!(Some(status), exact, "{text:?} parsed");
            assert_eq!(status.as_str(), text, "round trip of {text:?}");
            assert_eq!(status.to_string(), text, "Display of {text:?}");
        }
        Err(error) => {
            assert_eq!(exact, None, "{text:?} refused");
            check_error(text, &error);
        }
    }
}

/// What a `ParseStatusError` for `text` must say.
fn check_error(text: &str, error: &ParseStatusError) {
    let quoted = error.input();
    assert!(
        text.starts_with(quoted),
        "{quoted:?} is not a prefix of {text:?}"
    );
    assert_eq!(error.input_len(), text.len(), "input_len of {text:?}");
    // The longest prefix of at most 32 bytes that ends on a character boundary.
    let mut expected_len = text.len().min(QUOTED);
    while !text.is_char_boundary(expected_len) {
        expected_len -= 1;
    }
    assert_eq!(quoted.len(), expected_len, "quoted length for {text:?}");
    let case_of = Status::ALL
        .into_iter()
        .find(|s| s.as_str().eq_ignore_ascii_case(text));
    assert_eq!(error.case_of(), case_of, "case_of for {text:?}");
    let message = error.to_string();
    let head = format!("unknown HPP status {quoted:?}");
    assert!(message.starts_with(&head), "{message:?} for {text:?}");
    assert_eq!(
        message.contains(" bytes in all)"),
        text.len() > quoted.len(),
        "{message:?} says whether it cut {text:?}"
    );
    assert!(
        message.ends_with(
            "; expected one of WAITING, IN_PROGRESS, COMPLETED, FAILED, CANCELLED, BACK, \
             ERROR, DISABLED"
        ),
        "{message:?}"
    );
}

/// `serde_json::from_slice::<Status>` on a JSON document, against the generic JSON reading
/// of the same bytes and against `FromStr` on the string it holds.
fn check_json_document(document: &[u8]) {
    let as_status = serde_json::from_slice::<Status>(document);
    let Ok(Value::String(text)) = serde_json::from_slice::<Value>(document) else {
        // Not JSON, or JSON but not a string: never a status.
        assert!(
            as_status.is_err(),
            "{document:?} is no JSON string, yet read as {as_status:?}"
        );
        return;
    };
    match (as_status, text.parse::<Status>()) {
        (Ok(status), Ok(parsed)) => {
            assert_eq!(status, parsed, "serde and FromStr on {text:?}");
            assert_eq!(status.as_str(), text, "serde round trip of {document:?}");
            let written = serde_json::to_string(&status).unwrap();
            // The canonical writing of the document: no white space, no needless escapes.
            let canonical = serde_json::to_string(&Value::String(text)).unwrap();
            assert_eq!(written, canonical, "{document:?}");
            if !document.contains(&b'\\') {
                assert_eq!(written.as_bytes(), document.trim_ascii(), "{document:?}");
            }
        }
        (Err(serde_error), Err(parse_error)) => {
            let message = serde_error.to_string();
            assert!(
                message.starts_with(&parse_error.to_string()),
                "serde's error {message:?} does not carry {parse_error}"
            );
            check_error(&text, &parse_error);
        }
        (as_status, parsed) => {
            panic!("{document:?}: serde says {as_status:?}, FromStr says {parsed:?}")
        }
    }
}
