//! The reconcile tool gives the right answer for every case of its bundled sample, reports
//! malformed lines and goes on, and exits as documented.

use std::process::Command;

use hpp_reconcile::{self as reconcile, Report, SAMPLE, Source};
use hpp_status::Status;
use hpp_status::wire::Timestamp;

const NOW: &str = "2026-11-21T00:00:00.000Z";

fn now() -> Timestamp {
    NOW.parse().unwrap()
}

fn session<'a>(report: &'a Report, suffix: &str) -> &'a reconcile::SessionReport {
    let id = format!("0b7e3c1a-5a1f-4c8e-9d2b-{suffix}");
    &report
        .sessions
        .get(&id)
        .unwrap_or_else(|| panic!("session {id} reported"))
        .1
}

/// (line, kind) of every anomaly of a session.
fn anomalies(session: &reconcile::SessionReport) -> Vec<(usize, &str)> {
    session.anomalies.iter().map(|a| (a.line, a.kind)).collect()
}

#[test]
fn every_case_of_the_sample_is_reconciled() {
    let report = reconcile::reconcile(SAMPLE, now());
    assert_eq!(report.lines, 19);
    assert!(report.malformed.is_empty());
    assert_eq!(report.sessions.len(), 6);

    // Out of order and duplicated: COMPLETED arrives first and stays.
    let out_of_order = session(&report, "000000000001");
    assert_eq!(out_of_order.tracker.status(), Some(Status::Completed));
    let by = out_of_order.final_by.as_ref().unwrap();
    assert_eq!(
        (by.line, &by.source),
        (
            1,
            &Source::Callback("c0ffee00-0000-4000-8000-000000000002".into())
        )
    );
    assert_eq!(
        anomalies(out_of_order),
        [(7, "stale"), (13, "duplicate"), (19, "stale")]
    );
    assert_eq!(
        out_of_order.completion.as_deref(),
        Some("authorization token 70850a20-a2a0-5c70-810c-096fa6f850bb")
    );

    // A lost COMPLETED callback, recovered by Read Session.
    let recovered = session(&report, "000000000002");
    assert_eq!(recovered.tracker.status(), Some(Status::Completed));
    assert_eq!(
        recovered.final_by.as_ref().map(|by| (by.line, &by.source)),
        Some((14, &Source::Read))
    );
    assert_eq!(anomalies(recovered), [(14, "callback missing")]);
    assert!(
        recovered
            .completion
            .as_deref()
            .unwrap()
            .contains("Klarna reference ffc25786")
    );

    // An unrecognized status is reported, not lost, not guessed; the session stays open.
    let unknown = session(&report, "000000000003");
    assert_eq!(unknown.tracker.status(), Some(Status::Back));
    assert_eq!(anomalies(unknown), [(9, "unrecognized status")]);
    assert!(unknown.anomalies[0].detail.contains("MANUAL_ID_CHECK"));
    assert!(unknown.final_by.is_none());

    // A conflict: the first final is kept, the later different final rejected.
    let conflict = session(&report, "000000000004");
    assert_eq!(conflict.tracker.status(), Some(Status::Completed));
    assert_eq!(conflict.final_by.as_ref().map(|by| by.line), Some(10));
    assert_eq!(anomalies(conflict), [(16, "conflict")]);

    // Expired: past expires_at without a final status.
    let expired = session(&report, "000000000005");
    assert_eq!(expired.tracker.status(), Some(Status::Back));
    assert_eq!(anomalies(expired), [(17, "duplicate")]);

    // Disabled by the merchant; a late IN_PROGRESS callback is stale.
    let disabled = session(&report, "000000000006");
    assert_eq!(disabled.tracker.status(), Some(Status::Disabled));
    assert_eq!(
        anomalies(disabled),
        [(12, "callback missing"), (18, "stale")]
    );

    let text = reconcile::human(&report);
    assert!(
        text.contains("  status       BACK, expired (stop polling)\n"),
        "{text}"
    );
    assert!(
        text.contains("  status       BACK, open (re-read it)\n"),
        "{text}"
    );
    assert!(
        text.ends_with(
            "summary: 19 lines, 6 sessions: 4 final (3 COMPLETED, 1 DISABLED), 1 open, 1 expired; \
         anomalies: 2 callback missing, 1 conflict, 2 duplicate, 3 stale, 1 unrecognized status; \
         0 malformed lines\n"
        ),
        "{text}"
    );
}

#[test]
fn malformed_lines_are_reported_with_their_number_and_the_run_goes_on() {
    let input = "not json\n\n[1, 2]\n{\"event_id\": 5, \"session\": {}}\n\
        {\"session_id\":\"s\",\"status\":\"BACK\",\"updated_at\":\"2026-01-01T00:00:00.000Z\"}\n\
        {\"status\":\"BACK\",\"updated_at\":\"2026-01-01T00:00:00.000Z\"}\n\
        {\"session_id\":\"s\",\"status\":\"COMPLETED\"}\n";
    let report = reconcile::reconcile(input, now());
    let lines: Vec<usize> = report.malformed.iter().map(|(line, _)| *line).collect();
    assert_eq!(lines, [1, 3]);
    assert!(report.malformed[0].1.starts_with("not JSON"));
    assert!(report.malformed[1].1.contains("expected a JSON object"));
    assert_eq!(report.lines, 6, "blank lines are skipped");
    let s = &report.sessions["s"].1;
    assert_eq!(s.tracker.status(), Some(Status::Back));
    assert_eq!(anomalies(s), [(7, "unusable")]);
    assert_eq!(
        anomalies(&report.sessions[""].1),
        [(4, "unusable"), (6, "unusable")]
    );
    let text = reconcile::human(&report);
    assert!(text.contains("line 3: malformed: not a delivery"), "{text}");
    assert!(text.contains("session (no session_id)"), "{text}");
}

#[test]
fn json_output_carries_every_session() {
    let value = reconcile::machine(&reconcile::reconcile(SAMPLE, now()));
    assert_eq!(value["now"], NOW);
    let sessions = value["sessions"].as_array().unwrap();
    assert_eq!(sessions.len(), 6);
    let dispositions: Vec<&str> = sessions
        .iter()
        .map(|s| s["disposition"].as_str().unwrap())
        .collect();
    assert_eq!(
        dispositions,
        ["final", "final", "open", "final", "expired", "final"]
    );
    assert_eq!(sessions[1]["final_by"]["source"], "read_session");
    assert_eq!(
        sessions[0]["final_by"]["event_id"],
        "c0ffee00-0000-4000-8000-000000000002"
    );
    assert_eq!(sessions[3]["anomalies"][0]["kind"], "conflict");
    assert_eq!(sessions[4]["status"], "BACK");
}

/// The `reconcile` binary of this package.
const BINARY: &str = env!("CARGO_BIN_EXE_reconcile");

#[test]
fn the_command_line_exits_as_documented() {
    let run = |args: &[&str]| Command::new(BINARY).args(args).output().unwrap();
    let sample = run(&["--now", NOW]);
    assert_eq!(sample.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&sample.stdout).contains("6 sessions"));
    let json = run(&["--json", "--now", NOW]);
    let value: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(value["sessions"].as_array().unwrap().len(), 6);

    let dir = std::env::temp_dir().join(format!("hpp-status-reconcile-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("bad.jsonl");
    std::fs::write(&bad, "{oops\n").unwrap();
    let malformed = run(&[bad.to_str().unwrap(), "--now", NOW]);
    assert_eq!(malformed.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&malformed.stderr).contains("line 1: not JSON"));
    std::fs::remove_dir_all(&dir).unwrap();

    let mut piped = Command::new(BINARY)
        .args(["-", "--now", NOW])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write as _;
    piped
        .stdin
        .take()
        .unwrap()
        .write_all(SAMPLE.as_bytes())
        .unwrap();
    let from_stdin = piped.wait_with_output().unwrap();
    assert_eq!(from_stdin.status.code(), Some(0));
    assert_eq!(
        from_stdin.stdout, sample.stdout,
        "`-` reads the same deliveries from stdin"
    );

    assert_eq!(run(&["--frobnicate"]).status.code(), Some(2));
    assert_eq!(run(&["--now", "yesterday"]).status.code(), Some(2));
    assert_eq!(
        run(&["/nonexistent/deliveries.jsonl"]).status.code(),
        Some(2)
    );
}
