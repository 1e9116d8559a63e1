//! Reconciles a stream of HPP deliveries (status callbacks and Read Session bodies, mixed,
//! one JSON document per line) into one status per session, with every anomaly on the way:
//! the library behind the `reconcile` command.
//!
//! ```text
//! cargo run -p hpp-reconcile -- [FILE | -] [--json] [--now RFC3339]
//! ```
//!
//! With no FILE it reads the bundled sample `data/deliveries.jsonl`; `-` reads
//! standard input. `--now` sets the clock that decides expiry (default: the system clock).
//! A malformed line is reported with its number and the run goes on; the exit code is 1
//! when a line could not be parsed, 2 for a usage error, 0 otherwise.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

use std::collections::BTreeMap;
use std::fmt::Write as _;

use hpp_status::wire::{Completion, SessionResponse, StatusCallback, Timestamp};
use hpp_status::{Disposition, Expiry, Observation, Outcome, Status, Tracker};
use serde_json::{Value, json};

/// The bundled sample of deliveries (`data/deliveries.jsonl`).
pub const SAMPLE: &str = include_str!("../data/deliveries.jsonl");

/// Where a delivery came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    /// A status callback, with its `event_id`.
    Callback(String),
    /// A Read Session body (a poll or a batch re-read).
    Read,
}

/// One line of input that reported a known status.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delivery {
    /// 1-based line number.
    pub line: usize,
    /// Callback or Read Session.
    pub source: Source,
    /// What it reported.
    pub observation: Observation<Timestamp>,
}

/// Something a merchant should know about a session's deliveries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Anomaly {
    /// 1-based line number.
    pub line: usize,
    /// `duplicate`, `stale`, `conflict`, `unrecognized status`, `callback missing`, `unusable`.
    pub kind: &'static str,
    /// What happened, in words.
    pub detail: String,
}

/// Everything learnt about one session.
#[derive(Debug, Default)]
pub struct SessionReport {
    /// The session's deliveries, merged.
    pub tracker: Tracker<Timestamp>,
    /// The latest `expires_at` reported.
    pub expires_at: Option<Timestamp>,
    /// The delivery that made the session final (the last one, after a conflict).
    pub final_by: Option<Delivery>,
    /// What the merchant needs to finish the purchase, from the deliveries.
    pub completion: Option<String>,
    /// Every anomaly, in line order.
    pub anomalies: Vec<Anomaly>,
    /// Whether some callback reported the final status held.
    pub final_by_callback: bool,
}

/// The whole run.
#[derive(Debug)]
pub struct Report {
    /// Sessions by id, in order of first appearance (the `usize`).
    pub sessions: BTreeMap<String, (usize, SessionReport)>,
    /// Lines that could not be parsed: (line, message).
    pub malformed: Vec<(usize, String)>,
    /// Non-blank lines read.
    pub lines: usize,
    /// The clock expiry was decided against.
    pub now: Timestamp,
}

impl Report {
    /// Sessions in order of first appearance.
    pub fn ordered(&self) -> Vec<(&str, &SessionReport)> {
        let mut sessions: Vec<_> = self.sessions.iter().collect();
        sessions.sort_by_key(|(_, (first, _))| *first);
        sessions
            .into_iter()
            .map(|(id, (_, report))| (id.as_str(), report))
            .collect()
    }
}

/// Reads JSON Lines of deliveries and reconciles them.
pub fn reconcile(input: &str, now: Timestamp) -> Report {
    let mut report = Report {
        sessions: BTreeMap::new(),
        malformed: Vec::new(),
        lines: 0,
        now,
    };
    for (index, text) in input.lines().enumerate() {
        let line = index + 1;
        if text.trim().is_empty() {
            continue;
        }
        report.lines += 1;
        match parse_delivery(text) {
            Ok((source, session)) => take(&mut report, line, source, &session),
            Err(message) => report.malformed.push((line, message)),
        }
    }
    for (_, session) in report.sessions.values_mut() {
        flag_missing_callback(session);
    }
    report
}

/// A final status that only Read Session reported: its callback was lost (or not sent).
fn flag_missing_callback(session: &mut SessionReport) {
    let Some(by) = &session.final_by else { return };
    if by.source == Source::Read && !session.final_by_callback {
        let status = by.observation.status;
        let detail =
            format!("no callback reported {status}; Read Session did, so nothing was lost");
        session.anomalies.push(Anomaly {
            line: by.line,
            kind: "callback missing",
            detail,
        });
        session.anomalies.sort_by_key(|anomaly| anomaly.line);
    }
}

/// A line as a callback (it has `event_id` and `session`) or a Read Session body.
fn parse_delivery(text: &str) -> Result<(Source, SessionResponse), String> {
    let value: Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
    if value.get("event_id").is_some() || value.get("session").is_some() {
        let callback: StatusCallback =
            serde_json::from_value(value).map_err(|e| format!("not a status callback: {e}"))?;
        Ok((
            Source::Callback(callback.event_id.unwrap_or_default()),
            callback.session,
        ))
    } else if value.is_object() {
        let session: SessionResponse =
            serde_json::from_value(value).map_err(|e| format!("not a Read Session body: {e}"))?;
        Ok((Source::Read, session))
    } else {
        Err(format!(
            "not a delivery: expected a JSON object, found {value}"
        ))
    }
}

fn take(report: &mut Report, line: usize, source: Source, session: &SessionResponse) {
    let Some(id) = session.session_id.clone() else {
        let anomaly = Anomaly {
            line,
            kind: "unusable",
            detail: "no `session_id`: cannot be attributed".into(),
        };
        report
            .sessions
            .entry(String::new())
            .or_insert_with(|| (line, SessionReport::default()))
            .1
            .anomalies
            .push(anomaly);
        return;
    };
    let first_seen = report.sessions.len();
    let (_, entry) = report
        .sessions
        .entry(id)
        .or_insert_with(|| (first_seen, SessionReport::default()));
    entry.expires_at = entry.expires_at.max(session.expires_at);
    if let Some(completion) = session.completion() {
        entry.completion = Some(match completion {
            Completion::AuthorizationToken(token) => format!("authorization token {token}"),
            other => other.to_string(),
        });
    }
    let observation = match session.observation() {
        Ok(observation) => observation,
        Err(error) => {
            let kind = if session.status.is_some() && session.known_status().is_none() {
                "unrecognized status"
            } else {
                "unusable"
            };
            entry.anomalies.push(Anomaly {
                line,
                kind,
                detail: error.to_string(),
            });
            return;
        }
    };
    let outcome = entry.tracker.observe(observation);
    if outcome.became_final() {
        entry.final_by_callback = false;
        entry.final_by = Some(Delivery {
            line,
            source: source.clone(),
            observation,
        });
    }
    let reports_held_final =
        observation.status.is_final() && entry.tracker.status() == Some(observation.status);
    if reports_held_final && matches!(source, Source::Callback(_)) {
        entry.final_by_callback = true;
    }
    let detail = match &outcome {
        Outcome::Advanced { .. } => return,
        Outcome::Duplicate { .. } => format!("{observation} again"),
        Outcome::Stale { current, .. } => format!("{observation} arrived after {current}"),
        Outcome::Conflict { kept, rejected, .. } => {
            format!("{kept} and {rejected} cannot both come from one legal history; keeping {kept}")
        }
    };
    entry.anomalies.push(Anomaly {
        line,
        kind: outcome.kind().as_str(),
        detail,
    });
}

/// Final, open or expired. A session no delivery gave an `expires_at` cannot be known to
/// have expired, so it is judged as if it never expires.
fn disposition(session: &SessionReport, now: Timestamp) -> Disposition {
    let expiry = session.expires_at.map(|at| Expiry::new(at, at));
    session.tracker.disposition(&now, expiry.as_ref())
}

fn describe(session: &SessionReport, now: Timestamp) -> String {
    match (session.tracker.status(), disposition(session, now)) {
        (_, Disposition::Final(status)) => format!("{status} (final)"),
        (None, Disposition::Expired) => "no known status; expired (stop polling)".into(),
        (None, Disposition::Open) => "no known status yet (re-read it)".into(),
        (Some(status), Disposition::Expired) => format!("{status}, expired (stop polling)"),
        (Some(status), Disposition::Open) => format!("{status}, open (re-read it)"),
        (status, other) => format!(
            "{}, {other}",
            status.map_or("no known status", Status::as_str)
        ),
    }
}

fn source_text(source: &Source) -> String {
    match source {
        Source::Callback(event_id) => format!("callback {event_id}"),
        Source::Read => "Read Session".into(),
    }
}

/// The report for a person.
pub fn human(report: &Report) -> String {
    let mut out = String::new();
    for (id, session) in report.ordered() {
        let id = if id.is_empty() { "(no session_id)" } else { id };
        writeln!(out, "session {id}").unwrap();
        writeln!(out, "  status       {}", describe(session, report.now)).unwrap();
        if let Some(by) = &session.final_by {
            writeln!(
                out,
                "  final by     line {}, {}: {}",
                by.line,
                source_text(&by.source),
                by.observation
            )
            .unwrap();
        }
        if let Some(completion) = &session.completion {
            writeln!(out, "  completion   {completion}").unwrap();
        }
        for anomaly in &session.anomalies {
            writeln!(
                out,
                "  line {:<7} {}: {}",
                anomaly.line, anomaly.kind, anomaly.detail
            )
            .unwrap();
        }
        out.push('\n');
    }
    for (line, message) in &report.malformed {
        writeln!(out, "line {line}: malformed: {message}").unwrap();
    }
    writeln!(out, "{}", summary(report)).unwrap();
    out
}

fn summary(report: &Report) -> String {
    let sessions = report.ordered();
    let mut finals: BTreeMap<Status, usize> = BTreeMap::new();
    let (mut open, mut expired) = (0, 0);
    let mut anomalies: BTreeMap<&str, usize> = BTreeMap::new();
    for (_, session) in &sessions {
        match disposition(session, report.now) {
            Disposition::Final(status) => *finals.entry(status).or_default() += 1,
            Disposition::Expired => expired += 1,
            _ => open += 1,
        }
        for anomaly in &session.anomalies {
            *anomalies.entry(anomaly.kind).or_default() += 1;
        }
    }
    let total_final: usize = finals.values().sum();
    let finals = finals
        .iter()
        .map(|(s, n)| format!("{n} {s}"))
        .collect::<Vec<_>>()
        .join(", ");
    let anomalies = if anomalies.is_empty() {
        "none".to_string()
    } else {
        anomalies
            .iter()
            .map(|(kind, n)| format!("{n} {kind}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    format!(
        "summary: {} lines, {} sessions: {total_final} final ({finals}), {open} open, {expired} expired; \
         anomalies: {anomalies}; {} malformed lines",
        report.lines,
        sessions.len(),
        report.malformed.len()
    )
}

/// The report for a machine.
pub fn machine(report: &Report) -> Value {
    let sessions: Vec<Value> = report
        .ordered()
        .into_iter()
        .map(|(id, session)| {
            let disposition = match disposition(session, report.now) {
                Disposition::Final(_) => "final",
                Disposition::Expired => "expired",
                _ => "open",
            };
            json!({
                "session_id": id,
                "status": session.tracker.status(),
                "updated_at": session.tracker.latest().map(|seen| seen.updated_at),
                "disposition": disposition,
                "final_by": session.final_by.as_ref().map(|by| json!({
                    "line": by.line,
                    "source": match &by.source { Source::Callback(_) => "callback", Source::Read => "read_session" },
                    "event_id": match &by.source { Source::Callback(id) => Some(id), Source::Read => None },
                })),
                "completion": session.completion,
                "anomalies": session.anomalies.iter().map(|a| json!({
                    "line": a.line, "kind": a.kind, "detail": a.detail,
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    json!({
        "now": report.now,
        "lines": report.lines,
        "sessions": sessions,
        "malformed": report.malformed.iter().map(|(line, message)| json!({"line": line, "message": message})).collect::<Vec<_>>(),
        "summary": summary(report),
    })
}
