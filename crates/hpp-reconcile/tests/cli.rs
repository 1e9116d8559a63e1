//! The reconcile library and command: the right answer for every case of the bundled sample,
//! each line on its own (invalid UTF-8, a byte-order mark, duplicate keys, no session id, an
//! over-long line), streaming output, a quiet end on a closed pipe, and the documented exit
//! codes and `--help`.

use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::time::Duration;

use hpp_reconcile::{
    Clock, Line, MALFORMED_KEPT, MAX_LINE, Reconciler, SAMPLE, Taken, read_lines, write_json,
    write_text,
};
use hpp_status::ledger::{AnomalyKind, SessionLedger, Source};
use hpp_status::wire::Completion;
use hpp_status::{Disposition, Status};

const NOW: &str = "2026-11-21T00:00:00.000Z";

fn clock() -> Clock {
    Clock {
        now: NOW.parse().unwrap(),
        last_read_margin: Duration::ZERO,
    }
}

fn run(input: &str) -> Reconciler {
    Reconciler::from_reader(input.as_bytes()).unwrap()
}

fn session<'a>(run: &'a Reconciler, suffix: &str) -> &'a SessionLedger {
    let id = format!("0b7e3c1a-5a1f-4c8e-9d2b-{suffix}");
    run.session(&id)
        .unwrap_or_else(|| panic!("session {id} reported"))
}

/// (line, kind) of every anomaly kept for a session.
fn anomalies(ledger: &SessionLedger) -> Vec<(u64, AnomalyKind)> {
    ledger
        .anomalies()
        .iter()
        .map(|anomaly| (anomaly.position(), anomaly.kind()))
        .collect()
}

fn text(run: &Reconciler) -> String {
    let mut out = Vec::new();
    write_text(&mut out, run, clock()).unwrap();
    String::from_utf8(out).unwrap()
}

fn json(run: &Reconciler) -> serde_json::Value {
    let mut out = Vec::new();
    write_json(&mut out, run, clock()).unwrap();
    serde_json::from_slice(&out).unwrap()
}

#[test]
fn every_case_of_the_sample_is_reconciled() {
    let run = run(SAMPLE);
    assert_eq!(run.lines(), 19);
    assert_eq!(run.malformed_count(), 0);
    let ids: Vec<&str> = run.sessions().map(|(id, _)| id).collect();
    assert_eq!(ids.len(), 6);
    assert!(
        ids.windows(2).all(|pair| pair[0] < pair[1]),
        "first appearance"
    );

    // Out of order and duplicated: COMPLETED arrives first and stays.
    let out_of_order = session(&run, "000000000001");
    assert_eq!(out_of_order.tracker().status(), Some(Status::Completed));
    let by = out_of_order.final_by().unwrap();
    assert_eq!((by.position(), by.source()), (1, Source::Callback));
    assert_eq!(
        anomalies(out_of_order),
        [
            (7, AnomalyKind::Stale),
            (13, AnomalyKind::Duplicate),
            (19, AnomalyKind::Stale)
        ]
    );
    assert_eq!(
        out_of_order.completion(),
        Some(Completion::AuthorizationToken(
            "70850a20-a2a0-5c70-810c-096fa6f850bb"
        ))
    );

    // A lost COMPLETED callback, recovered by Read Session.
    let recovered = session(&run, "000000000002");
    assert_eq!(recovered.tracker().status(), Some(Status::Completed));
    assert_eq!(
        recovered.final_by().map(|by| (by.position(), by.source())),
        Some((14, Source::ReadSession))
    );
    assert_eq!(anomalies(recovered), [(14, AnomalyKind::CallbackMissing)]);
    assert_eq!(
        recovered.completion().unwrap().to_string(),
        "order 93d644a2-43f3-11e9-b210-d663bd873d93, Klarna reference ffc25786"
    );

    // MANUAL_ID_CHECK is its own case, not final, and its payload is kept.
    let manual = session(&run, "000000000003");
    assert_eq!(manual.tracker().status(), Some(Status::Back));
    assert_eq!(anomalies(manual), [(9, AnomalyKind::ManualIdCheck)]);
    assert_eq!(manual.unusable_payloads()[0].position(), 9);
    assert!(manual.final_by().is_none());

    // A conflict: the first final is kept, the later different final rejected.
    let conflict = session(&run, "000000000004");
    assert_eq!(conflict.tracker().status(), Some(Status::Completed));
    assert_eq!(conflict.final_by().map(|by| by.position()), Some(10));
    assert_eq!(anomalies(conflict), [(16, AnomalyKind::Conflict)]);

    // Expired: past expires_at without a final status.
    let expired = session(&run, "000000000005");
    assert_eq!(expired.tracker().status(), Some(Status::Back));
    assert_eq!(anomalies(expired), [(17, AnomalyKind::Duplicate)]);
    assert_eq!(
        expired.disposition(&clock().now, Duration::ZERO),
        Disposition::Expired
    );

    // Disabled by the merchant, which Klarna does not call back: no missing callback. A
    // late IN_PROGRESS callback is stale.
    let disabled = session(&run, "000000000006");
    assert_eq!(disabled.tracker().status(), Some(Status::Disabled));
    assert_eq!(anomalies(disabled), [(18, AnomalyKind::Stale)]);

    let text = text(&run);
    assert!(
        text.contains("  status       BACK, expired at 2019-05-15T13:51:43.507Z (stop reading)\n"),
        "{text}"
    );
    assert!(
        text.contains("  status       BACK, open (read it again on your schedule)\n"),
        "{text}"
    );
    assert!(
        text.contains("  final by     line 14, Read Session: COMPLETED@2026-11-20T10:09:30.250Z\n"),
        "{text}"
    );
    assert!(
        text.contains("  final by     line 1, callback: COMPLETED@"),
        "{text}"
    );
    // Nothing went unlisted, so no line says "more".
    assert!(!text.contains(" more "), "{text}");
    assert!(text.contains("  line 7       stale: IN_PROGRESS@2026-11-20T10:00:05.120Z arrived after COMPLETED@2026-11-20T10:02:41.907Z\n"), "{text}");
    assert!(
        text.ends_with(
            "summary: 19 lines, 6 sessions: 4 final (3 COMPLETED, 1 DISABLED), 1 open, 0 to read \
             before expiry, 1 expired; anomalies: 2 duplicate, 3 stale, 1 conflict, \
             1 manual_id_check, 1 callback_missing; 0 malformed lines\n"
        ),
        "{text}"
    );
}

#[test]
fn the_last_read_before_expiry_is_announced() {
    let input = r#"{"session_id":"s","status":"BACK","updated_at":"2026-11-20T23:00:00Z","expires_at":"2026-11-21T00:05:00Z"}"#;
    let run = run(input);
    let clock = Clock {
        last_read_margin: Duration::from_secs(600),
        ..clock()
    };
    let mut out = Vec::new();
    write_text(&mut out, &run, clock).unwrap();
    let text = String::from_utf8(out).unwrap();
    assert!(
        text.contains("BACK, read it once more now: it expires at 2026-11-21T00:05:00.000Z"),
        "{text}"
    );
    assert!(text.contains("1 to read before expiry"), "{text}");
}

#[test]
fn json_output_carries_every_session_and_the_summary() {
    let value = json(&run(SAMPLE));
    assert_eq!(value["now"], NOW);
    assert_eq!(value["last_read_margin_seconds"], 0.0);
    let sessions = value["sessions"].as_array().unwrap();
    assert_eq!(sessions.len(), 6);
    let dispositions: Vec<&str> = sessions
        .iter()
        .map(|s| s["disposition"]["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        dispositions,
        ["final", "final", "open", "final", "expired", "final"]
    );
    assert_eq!(
        sessions[0]["session_id"],
        "0b7e3c1a-5a1f-4c8e-9d2b-000000000001"
    );
    assert_eq!(sessions[1]["final_by"]["source"], "read_session");
    assert_eq!(sessions[1]["completion"]["kind"], "order");
    assert_eq!(sessions[3]["anomalies"][0]["kind"], "conflict");
    assert_eq!(sessions[4]["status"], "BACK");
    assert_eq!(
        sessions[0]["counts"],
        serde_json::json!({"duplicate": 1, "stale": 2})
    );
    assert_eq!(value["malformed"], serde_json::json!([]));
    assert_eq!(value["malformed_not_listed"], 0);
    let summary = &value["summary"];
    assert_eq!(summary["lines"], 19);
    assert_eq!(summary["sessions"], 6);
    assert_eq!(
        summary["final"],
        serde_json::json!({"COMPLETED": 3, "DISABLED": 1})
    );
    assert_eq!(
        (summary["open"].clone(), summary["expired"].clone()),
        (1.into(), 1.into())
    );
    assert_eq!(summary["anomalies"]["callback_missing"], 1);
    // One session per line: the output streams.
    let mut out = Vec::new();
    write_json(&mut out, &run(SAMPLE), clock()).unwrap();
    assert_eq!(String::from_utf8(out).unwrap().lines().count(), 8);
}

#[test]
fn one_invalid_utf8_byte_spoils_only_its_line() {
    let good = r#"{"session_id":"s","status":"BACK","updated_at":"2026-11-20T10:00:00Z"}"#;
    let input = [
        good.as_bytes(),
        b"\n{\"session_id\":\"s\xff\"}\n",
        good.as_bytes(),
    ]
    .concat();
    let run = Reconciler::from_reader(&input[..]).unwrap();
    assert_eq!(run.lines(), 3);
    assert_eq!(run.malformed_count(), 1);
    assert_eq!(run.malformed()[0].line, 2);
    assert_eq!(
        run.malformed()[0].reason,
        "not UTF-8: an invalid byte at offset 16 of the line"
    );
    assert_eq!(run.session("s").unwrap().deliveries(), 2);
}

#[test]
fn a_byte_order_mark_at_the_start_is_skipped() {
    let input = "\u{feff}{\"session_id\":\"s\",\"status\":\"BACK\",\"updated_at\":\"2026-11-20T10:00:00Z\"}\n";
    let run = run(input);
    assert_eq!(run.malformed_count(), 0);
    assert_eq!(
        run.session("s").unwrap().tracker().status(),
        Some(Status::Back)
    );
    // Anywhere else it is part of its line, which is malformed alone.
    let input = format!("{input}{input}");
    let run = self::run(&input);
    assert_eq!(run.malformed()[0].line, 2);
    assert!(
        run.malformed()[0]
            .reason
            .starts_with("not a delivery: expected value"),
        "{:?}",
        run.malformed()
    );
    assert_eq!(run.session("s").unwrap().deliveries(), 1);
}

#[test]
fn duplicate_keys_are_refused_never_resolved_last_wins() {
    let input = concat!(
        r#"{"event_id":"e","session":{"session_id":"s","status":"COMPLETED","updated_at":"2026-11-20T10:00:00Z","authorization_token":"t","status":"CANCELLED"}}"#,
        "\n",
        r#"{"session_id":"s","status":"COMPLETED","updated_at":"2026-11-20T10:00:00Z","session_id":"other"}"#,
    );
    let run = run(input);
    assert_eq!(run.malformed_count(), 2);
    assert!(
        run.malformed()[0]
            .reason
            .contains("duplicate field `status`"),
        "{:?}",
        run.malformed()
    );
    assert!(
        run.malformed()[1]
            .reason
            .contains("duplicate field `session_id`"),
        "{:?}",
        run.malformed()
    );
    assert_eq!(
        run.sessions().count(),
        0,
        "no CANCELLED took the COMPLETED's place"
    );
}

#[test]
fn lines_without_a_session_id_are_malformed_not_a_phantom_session() {
    let input = concat!(
        r#"{"status":"BACK","updated_at":"2026-11-20T10:00:00Z"}"#,
        "\n",
        r#"{"event_id":"e","session":{"session_id":7,"status":"BACK"}}"#,
        "\n",
        r#"{"session_id":"","status":"BACK","updated_at":"2026-11-20T10:00:00Z"}"#,
    );
    let run = run(input);
    assert_eq!(run.malformed_count(), 2);
    assert_eq!(
        run.malformed()[0].reason,
        "no session_id: the delivery cannot be attributed to a session"
    );
    assert!(
        run.malformed()[1]
            .reason
            .starts_with("no usable session_id: `session_id`: expected a string")
    );
    // An empty id is an id, given by the delivery itself.
    assert_eq!(run.sessions().map(|(id, _)| id).collect::<Vec<_>>(), [""]);
}

#[test]
fn every_kind_of_malformed_line_is_reported_with_its_number() {
    let input = "not json\n\n[1, 2]\n{\"event_id\":\"e\"}\n{\"event_id\":\"e\",\"session\":5}\n  \r\n\
        {\"session_id\":\"s\",\"status\":\"COMPLETED\"}\r\n";
    let run = run(input);
    let lines: Vec<u64> = run.malformed().iter().map(|m| m.line).collect();
    assert_eq!(lines, [1, 3, 4, 5]);
    assert!(
        run.malformed()[0]
            .reason
            .starts_with("not a delivery: expected ident"),
        "{:?}",
        run.malformed()
    );
    assert!(
        run.malformed()[1]
            .reason
            .contains("expected a Read Session object")
    );
    assert!(
        run.malformed()[2].reason.starts_with("no session_id"),
        "{:?}",
        run.malformed()
    );
    assert!(
        run.malformed()[3]
            .reason
            .starts_with("not a status callback")
    );
    assert_eq!(run.lines(), 5, "blank lines are skipped");
    let s = run.session("s").unwrap();
    assert_eq!(anomalies(s), [(7, AnomalyKind::Unusable)]);
    let text = text(&run);
    assert!(text.contains("line 3: malformed: not a delivery"), "{text}");
    assert!(text.ends_with("; 4 malformed lines\n"), "{text}");
}

#[test]
fn a_read_session_body_holding_the_word_session_is_still_read() {
    let input = r#"{"session_id":"s","status":"BACK","updated_at":"2026-11-20T10:00:00Z","customer":{"title":"session"},"x":"\"session\""}"#;
    let run = run(input);
    assert_eq!(run.malformed_count(), 0, "{:?}", run.malformed());
    assert_eq!(
        run.session("s").unwrap().tracker().status(),
        Some(Status::Back)
    );
}

#[test]
fn malformed_lines_are_counted_past_the_ones_listed() {
    let input = "x\n".repeat(MALFORMED_KEPT + 25);
    let run = run(&input);
    assert_eq!(run.malformed().len(), MALFORMED_KEPT);
    assert_eq!(run.malformed_count(), MALFORMED_KEPT as u64 + 25);
    assert!(text(&run).contains("... 25 more malformed lines, counted, not listed\n"));
    assert_eq!(json(&run)["malformed_not_listed"], 25);
}

#[test]
fn an_over_long_line_is_skipped_without_being_held() {
    let long = "x".repeat(MAX_LINE + 10);
    let good = r#"{"session_id":"s","status":"BACK","updated_at":"2026-11-20T10:00:00Z"}"#;
    let input = format!("{long}\n{good}\n");
    let mut seen = Vec::new();
    let count = read_lines(input.as_bytes(), |number, line| {
        seen.push(match line {
            Line::Complete(bytes) => (number, bytes.len() as u64, true),
            Line::TooLong(len) => (number, len, false),
        });
    })
    .unwrap();
    assert_eq!(count, 2);
    assert_eq!(
        seen,
        [
            (1, MAX_LINE as u64 + 10, false),
            (2, good.len() as u64, true)
        ]
    );
    let run = run(&input);
    assert_eq!(
        run.malformed()[0].reason,
        format!(
            "a line of {} bytes, longer than the {MAX_LINE} read",
            MAX_LINE + 10
        )
    );
    assert_eq!(run.session("s").unwrap().deliveries(), 1);
    // A line exactly MAX_LINE long is read.
    let exact = "y".repeat(MAX_LINE);
    let mut lens = Vec::new();
    read_lines(exact.as_bytes(), |_, line| {
        lens.push(line == Line::Complete(exact.as_bytes()))
    })
    .unwrap();
    assert_eq!(lens, [true]);
}

#[test]
fn lines_are_split_on_newlines_whatever_the_buffer() {
    // A reader that gives one byte at a time.
    let input = b"a\r\nbb\n\nccc";
    let reader = std::io::BufReader::with_capacity(1, &input[..]);
    let mut seen = Vec::new();
    read_lines(reader, |n, line| {
        if let Line::Complete(bytes) = line {
            seen.push((n, String::from_utf8(bytes.to_vec()).unwrap()));
        }
    })
    .unwrap();
    assert_eq!(
        seen,
        [
            (1, "a".into()),
            (2, "bb".into()),
            (3, String::new()),
            (4, "ccc".into())
        ]
    );
    assert_eq!(read_lines(&b""[..], |_, _| panic!("no line")).unwrap(), 0);
    assert_eq!(read_lines(&b"\n"[..], |_, _| {}).unwrap(), 1);
}

#[test]
fn text_from_the_input_cannot_write_terminal_escapes() {
    let input = "{\"session_id\":\"s\\u001b[2J\",\"status\":\"COMPLETED\",\"updated_at\":\"2026-11-20T10:00:00Z\",\"authorization_token\":\"t\\u0007\"}";
    let text = text(&run(input));
    assert!(
        !text.contains('\u{1b}') && !text.contains('\u{7}'),
        "{text:?}"
    );
    assert!(text.contains("session \"s\\u{1b}[2J\""), "{text}");
}

#[test]
fn taking_lines_one_by_one_says_what_became_of_each() {
    let mut run = Reconciler::new();
    assert_eq!(run.take_line(1, b"   "), Taken::Blank);
    assert_eq!(
        run.take_line(
            2,
            br#"{"session_id":"s","status":"BACK","updated_at":"2026-11-20T10:00:00Z"}"#
        ),
        Taken::Recorded
    );
    assert!(matches!(run.take_line(3, b"{"), Taken::Malformed(_)));
    assert!(matches!(
        run.take(4, Line::TooLong(9_999_999)),
        Taken::Malformed(_)
    ));
    assert_eq!(run.lines(), 3);
    let summary = run.summary(&clock().now, Duration::ZERO);
    assert_eq!(
        (
            summary.lines,
            summary.sessions,
            summary.open,
            summary.malformed_lines
        ),
        (3, 1, 1, 2)
    );
    assert_eq!(summary.final_sessions(), 0);
}

/// The `reconcile` binary of this package.
const BINARY: &str = env!("CARGO_BIN_EXE_reconcile");

fn reconcile(args: &[&str], stdin: &[u8]) -> std::process::Output {
    let mut child = Command::new(BINARY)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    let stdin = stdin.to_vec();
    let writer = std::thread::spawn(move || {
        // The child may stop reading early; a broken pipe here is fine.
        let _ = input.write_all(&stdin);
    });
    let output = child.wait_with_output().unwrap();
    writer.join().unwrap();
    output
}

#[test]
fn the_command_line_exits_as_documented() {
    let sample = reconcile(&["--now", NOW], b"");
    assert_eq!(sample.status.code(), Some(0));
    let text = String::from_utf8_lossy(&sample.stdout);
    assert!(text.contains("6 sessions"), "{text}");
    let from_stdin = reconcile(&["-", "--now", NOW], SAMPLE.as_bytes());
    assert_eq!(from_stdin.status.code(), Some(0));
    assert_eq!(
        from_stdin.stdout, sample.stdout,
        "`-` reads the same deliveries from stdin"
    );
    let json = reconcile(&["-", "--json", "--now", NOW], SAMPLE.as_bytes());
    let value: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(value["sessions"].as_array().unwrap().len(), 6);

    let malformed = reconcile(&["-", "--now", NOW], b"{oops\n\xff\n");
    assert_eq!(malformed.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&malformed.stderr);
    assert!(
        stderr.contains("line 1: malformed: not a delivery"),
        "{stderr}"
    );
    assert!(stderr.contains("line 2: malformed: not UTF-8"), "{stderr}");
    assert!(String::from_utf8_lossy(&malformed.stdout).contains("2 malformed lines"));

    assert_eq!(reconcile(&["--frobnicate"], b"").status.code(), Some(2));
    assert_eq!(
        reconcile(&["--now", "yesterday"], b"").status.code(),
        Some(2)
    );
    assert_eq!(
        reconcile(&["--last-read-margin", "-5m"], b"").status.code(),
        Some(2)
    );
    assert_eq!(
        reconcile(&["--last-read-margin", "soon"], b"")
            .status
            .code(),
        Some(2)
    );
    let missing = reconcile(&["/nonexistent/deliveries.jsonl"], b"");
    assert_eq!(missing.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&missing.stderr)
            .contains("cannot open /nonexistent/deliveries.jsonl")
    );
    let margin = reconcile(&["--now", NOW, "--last-read-margin", "PT10M"], b"");
    assert_eq!(margin.status.code(), Some(0));
}

#[test]
fn help_documents_the_input_and_the_exit_codes() {
    let help = reconcile(&["--help"], b"");
    assert_eq!(help.status.code(), Some(0));
    let help = String::from_utf8_lossy(&help.stdout);
    for needle in [
        "{\"event_id\":\"...\",\"session\":{<a Read Session body>}}",
        "{\"session_id\":\"...\",\"status\":\"...\",\"updated_at\":\"...\",...}",
        "EXIT STATUS",
        "0  every line was a usable delivery",
        "1  some lines were malformed",
        "2  a usage error",
        "broken pipe",
        "--last-read-margin <DURATION>",
        "--json",
        "--now <RFC3339>",
    ] {
        assert!(help.contains(needle), "--help lacks {needle:?}:\n{help}");
    }
}

#[test]
fn a_closed_output_ends_the_run_quietly() {
    let line = |i: u32| {
        format!(r#"{{"session_id":"s{i}","status":"BACK","updated_at":"2026-11-20T10:00:00Z"}}"#)
    };
    let input: String = (0..20_000).map(|i| line(i) + "\n").collect();
    for args in [vec!["-", "--now", NOW], vec!["-", "--json", "--now", NOW]] {
        let mut child = Command::new(BINARY)
            .args(&args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        let bytes = input.clone().into_bytes();
        let writer = std::thread::spawn(move || stdin.write_all(&bytes));
        let mut stdout = child.stdout.take().unwrap();
        let mut first = [0; 64];
        stdout.read_exact(&mut first).unwrap();
        drop(stdout); // like `| head -c 64`
        let output = child.wait_with_output().unwrap();
        writer.join().unwrap().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(0), "{args:?}: {stderr}");
        assert!(stderr.is_empty(), "{args:?}: {stderr}");
    }
}

#[test]
fn a_non_object_line_is_not_a_delivery_whatever_its_length() {
    let run = run("[1, 2, 3, 4, 5, 6, 7, 8, 9]\n\"a string longer than nine bytes\"\n");
    for malformed in run.malformed() {
        assert!(
            malformed.reason.starts_with("not a delivery: invalid type"),
            "{malformed:?}"
        );
    }
    assert_eq!(run.malformed_count(), 2);
}

/// A reader whose first read is interrupted, then whose reads fail with `kind` once the
/// input is spent (or end, when `kind` is `None`).
struct Flaky {
    data: std::io::Cursor<Vec<u8>>,
    interrupted: bool,
    fail_at_end: Option<std::io::ErrorKind>,
}

impl Read for Flaky {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if !self.interrupted {
            self.interrupted = true;
            return Err(std::io::ErrorKind::Interrupted.into());
        }
        match self.data.read(buf)? {
            0 => match self.fail_at_end {
                Some(kind) => Err(kind.into()),
                None => Ok(0),
            },
            n => Ok(n),
        }
    }
}

#[test]
fn an_interrupted_read_is_retried_and_a_failed_one_reported() {
    let flaky = |fail_at_end| Flaky {
        data: std::io::Cursor::new(b"a\nb\n".to_vec()),
        interrupted: false,
        fail_at_end,
    };
    let mut lines = 0;
    let count = read_lines(std::io::BufReader::new(flaky(None)), |_, _| lines += 1).unwrap();
    assert_eq!((count, lines), (2, 2));
    let error = read_lines(
        std::io::BufReader::new(flaky(Some(std::io::ErrorKind::Other))),
        |_, _| {},
    )
    .unwrap_err();
    assert_eq!(error.kind(), std::io::ErrorKind::Other);
}

#[test]
fn a_line_read_in_pieces_is_whole() {
    let exact = "y".repeat(MAX_LINE);
    let input = format!("{exact}\nshort\n");
    let reader = std::io::BufReader::with_capacity(4096, input.as_bytes());
    let mut seen = Vec::new();
    read_lines(reader, |_, line| match line {
        Line::Complete(bytes) => seen.push(bytes == exact.as_bytes() || bytes == b"short"),
        Line::TooLong(_) => seen.push(false),
    })
    .unwrap();
    assert_eq!(seen, [true, true]);
}

#[test]
fn what_is_not_listed_is_counted_in_the_text() {
    let dup = r#"{"session_id":"s","status":"BACK","updated_at":"2026-11-20T10:00:00Z"}"#;
    let timeout = r#"{"session_id":"s","status":"TIMEOUT","updated_at":"2026-11-20T10:00:00Z"}"#;
    let input = [dup; 5].join("\n") + "\n" + &[timeout; 5].join("\n");
    let text = text(&run(&input));
    // 4 duplicates and 5 timeouts: 3 of each listed.
    assert!(
        text.contains("  ...          3 more anomalies, counted, not listed\n"),
        "{text}"
    );
    // 5 unusable payloads: 2 kept.
    assert!(
        text.contains("  ...          3 more unusable payloads, counted, not kept\n"),
        "{text}"
    );
    assert!(
        text.contains("  line 6       unusable payload (73 bytes): "),
        "{text}"
    );
}

#[test]
fn the_json_summary_counts_malformed_lines() {
    let value = json(&run("x\ny\n"));
    assert_eq!(value["summary"]["malformed_lines"], 2);
    assert_eq!(value["summary"]["lines"], 2);
    assert_eq!(value["malformed"][1]["line"], 2);
}

#[test]
fn a_long_reason_is_cut_at_a_character_boundary() {
    // serde_json quotes the string it did not expect, whole: the reason is cut. The 300th
    // byte falls on each of the three bytes of a `€` in turn.
    for prefix in ["", "a", "ab"] {
        let input = format!(
            r#"{{"event_id":"e","session":"{prefix}{}"}}"#,
            "€".repeat(300)
        );
        let run = run(&input);
        let reason = &run.malformed()[0].reason;
        assert!(
            reason.len() <= 300 && reason.len() >= 298,
            "{prefix:?}: {}",
            reason.len()
        );
        assert!(
            reason.starts_with("not a status callback: invalid type: string"),
            "{reason}"
        );
    }
}

#[cfg(target_os = "linux")]
#[test]
fn an_output_that_cannot_be_written_is_an_error() {
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap();
    let output = Command::new(BINARY)
        .args(["--now", NOW])
        .stdout(Stdio::from(full))
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("reconcile: writing the report failed"),
        "{output:?}"
    );
}
