//! Reconciles a stream of HPP deliveries (status callbacks and Read Session bodies, mixed,
//! one JSON document per line) into one report per session, streaming: the library behind
//! the `reconcile` command. What is learnt about each session is a
//! `SessionLedger` of the core (`hpp_status::ledger`); this crate reads the
//! lines, keys the ledgers by session id and writes the report.
//!
//! ```text
//! cargo run -p hpp-reconcile -- [FILE | -] [--json] [--now RFC3339] [--last-read-margin DURATION]
//! ```
//!
//! # Input
//!
//! JSON Lines: each line is a status callback (`{"event_id":..,"session":{..}}`) or a Read
//! Session body (`{"session_id":..,"status":..,..}`), read with the tolerant typed parse of
//! `hpp_status::wire` (a duplicate key is refused, never resolved last-wins). The input is
//! read as bytes, line by line: invalid UTF-8, a line that is not a delivery, a delivery
//! without a `session_id` or a line longer than [`MAX_LINE`] is reported as malformed with its
//! number, and only that line is lost. A byte-order mark at the start of the input is skipped.
//! Blank lines are skipped.
//!
//! # Memory
//!
//! Memory grows with the number of sessions, never with the size of the input: one line is
//! held at a time (at most [`MAX_LINE`] bytes), each session is a bounded ledger, and at most
//! [`MALFORMED_KEPT`] malformed lines are kept for the report (all are counted). Sessions are
//! reported in the order of their first line, kept by an insertion-ordered map.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

use std::fmt;
use std::io::{self, BufRead, Write};
use std::time::Duration;

use hpp_status::ledger::{AnomalyKind, Delivery, SessionLedger};
use hpp_status::wire::{SessionResponse, StatusCallback, Timestamp};
use hpp_status::{Disposition, Status};
use indexmap::IndexMap;
use serde::Serialize;
use serde::ser::SerializeMap;

/// The bundled sample of deliveries (`data/deliveries.jsonl`).
pub const SAMPLE: &str = include_str!("../data/deliveries.jsonl");

/// The longest line read, in bytes; a longer line is malformed, and skipped without being
/// held.
pub const MAX_LINE: usize = 1 << 20;

/// How many malformed lines the report lists (the first ones); the others are counted.
pub const MALFORMED_KEPT: usize = 100;

/// How many bytes of a malformed line's reason are kept.
const REASON_KEPT: usize = 300;

/// A line that could not be used, with its number and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MalformedLine {
    /// 1-based line number.
    pub line: u64,
    /// Why, in words.
    pub reason: String,
}

/// What became of one line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Taken {
    /// A blank line, skipped.
    Blank,
    /// A delivery, recorded in the ledger of its session.
    Recorded,
    /// Not usable: why.
    Malformed(String),
}

/// The state of a run: one ledger per session, in order of first appearance, and the
/// malformed lines.
#[derive(Debug, Default)]
pub struct Reconciler {
    sessions: IndexMap<Box<str>, SessionLedger>,
    malformed: Vec<MalformedLine>,
    malformed_count: u64,
    lines: u64,
}

impl Reconciler {
    /// A run that has read nothing.
    #[must_use]
    pub fn new() -> Reconciler {
        Reconciler::default()
    }

    /// Reads every line of `input` (see [`read_lines`]); stops at the first I/O error, with
    /// what was read so far taken in.
    ///
    /// ```
    /// use hpp_reconcile::Reconciler;
    ///
    /// let run = Reconciler::from_reader(hpp_reconcile::SAMPLE.as_bytes())?;
    /// assert_eq!(run.sessions().count(), 6);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn from_reader<R: BufRead>(input: R) -> io::Result<Reconciler> {
        let mut run = Reconciler::new();
        read_lines(input, |number, line| {
            run.take(number, line);
        })?;
        Ok(run)
    }

    /// Takes in line `number` as [`read_lines`] gives it.
    pub fn take(&mut self, number: u64, line: Line<'_>) -> Taken {
        match line {
            Line::Complete(bytes) => self.take_line(number, bytes),
            Line::TooLong(len) => self.take_too_long(number, len),
        }
    }

    /// Takes in line `number` (its bytes, without the line break).
    ///
    /// ```
    /// use hpp_reconcile::{Reconciler, Taken};
    ///
    /// let mut run = Reconciler::new();
    /// let line = br#"{"session_id":"s","status":"BACK","updated_at":"2019-05-13T14:51:46.288Z"}"#;
    /// assert_eq!(run.take_line(1, line), Taken::Recorded);
    /// assert_eq!(run.take_line(2, b"  "), Taken::Blank);
    /// assert!(matches!(run.take_line(3, b"\xff"), Taken::Malformed(_)));
    /// assert_eq!(run.malformed()[0].line, 3);
    /// ```
    pub fn take_line(&mut self, number: u64, bytes: &[u8]) -> Taken {
        let bytes = match bytes {
            // A byte-order mark at the start of the input.
            [0xEF, 0xBB, 0xBF, rest @ ..] if number == 1 => rest,
            _ => bytes,
        };
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Taken::Blank;
        }
        self.lines += 1;
        match self.record(number, bytes) {
            Ok(()) => Taken::Recorded,
            Err(reason) => {
                self.malformed_line(number, &reason);
                Taken::Malformed(reason)
            }
        }
    }

    /// Takes in line `number`, which was `len` bytes long, more than [`MAX_LINE`]: malformed.
    ///
    /// ```
    /// use hpp_reconcile::{Reconciler, Taken};
    ///
    /// let mut run = Reconciler::new();
    /// let Taken::Malformed(reason) = run.take_too_long(4, 5_000_000) else { unreachable!() };
    /// assert_eq!(reason, "a line of 5000000 bytes, longer than the 1048576 read");
    /// ```
    pub fn take_too_long(&mut self, number: u64, len: u64) -> Taken {
        self.lines += 1;
        let reason = format!("a line of {len} bytes, longer than the {MAX_LINE} read");
        self.malformed_line(number, &reason);
        Taken::Malformed(reason)
    }

    fn malformed_line(&mut self, number: u64, reason: &str) {
        self.malformed_count += 1;
        if self.malformed.len() < MALFORMED_KEPT {
            self.malformed.push(MalformedLine {
                line: number,
                reason: cut(reason, REASON_KEPT).to_owned(),
            });
        }
    }

    /// Parses a line and records it in its session's ledger, or says why not.
    fn record(&mut self, number: u64, bytes: &[u8]) -> Result<(), String> {
        let text = std::str::from_utf8(bytes).map_err(|error| {
            format!(
                "not UTF-8: an invalid byte at offset {} of the line",
                error.valid_up_to()
            )
        })?;
        if looks_like_callback(bytes) {
            match serde_json::from_str::<StatusCallback>(text) {
                Ok(callback) => {
                    let ledger =
                        self.ledger(callback.session.session_id.as_deref(), &callback.session)?;
                    let _ = ledger.record(Delivery::callback(number, &callback).with_raw(text));
                    return Ok(());
                }
                // A Read Session body that merely holds the text "session".
                Err(error) if error.to_string().starts_with("missing field `session`") => {}
                Err(error) => return Err(format!("not a status callback: {error}")),
            }
        }
        let session = serde_json::from_str::<SessionResponse>(text)
            .map_err(|error| format!("not a delivery: {error}"))?;
        let ledger = self.ledger(session.session_id.as_deref(), &session)?;
        let _ = ledger.record(Delivery::read_session(number, &session).with_raw(text));
        Ok(())
    }

    /// The ledger of the session `id` names, made on its first line.
    fn ledger(
        &mut self,
        id: Option<&str>,
        session: &SessionResponse,
    ) -> Result<&mut SessionLedger, String> {
        let Some(id) = id else {
            return Err(match session.problem("session_id") {
                Some(problem) => format!("no usable session_id: {problem}"),
                None => "no session_id: the delivery cannot be attributed to a session".into(),
            });
        };
        // The id is copied once, on the session's first line.
        let index = match self.sessions.get_index_of(id) {
            Some(index) => index,
            None => self.sessions.insert_full(id.into(), SessionLedger::new()).0,
        };
        Ok(&mut self.sessions[index])
    }

    /// The sessions, in the order of their first line.
    pub fn sessions(&self) -> impl Iterator<Item = (&str, &SessionLedger)> {
        self.sessions.iter().map(|(id, ledger)| (&**id, ledger))
    }

    /// The ledger of session `id`.
    #[must_use]
    pub fn session(&self, id: &str) -> Option<&SessionLedger> {
        self.sessions.get(id)
    }

    /// The malformed lines kept (the first [`MALFORMED_KEPT`]).
    #[must_use]
    pub fn malformed(&self) -> &[MalformedLine] {
        &self.malformed
    }

    /// How many lines were malformed.
    #[must_use]
    pub const fn malformed_count(&self) -> u64 {
        self.malformed_count
    }

    /// How many non-blank lines were read.
    #[must_use]
    pub const fn lines(&self) -> u64 {
        self.lines
    }

    /// What the run found, counted, at `now` with the last read due `last_read_margin`
    /// before each session's expiry.
    #[must_use]
    pub fn summary(&self, now: &Timestamp, last_read_margin: Duration) -> Summary {
        let mut summary = self.summary_before_sessions();
        for ledger in self.sessions.values() {
            summary.count(ledger, ledger.disposition(now, last_read_margin));
        }
        summary
    }

    /// The counts of the run itself; the reports add each session's as they write it.
    fn summary_before_sessions(&self) -> Summary {
        Summary {
            lines: self.lines,
            sessions: self.sessions.len() as u64,
            malformed_lines: self.malformed_count,
            ..Summary::default()
        }
    }
}

/// Whether a line may be a status callback: it has a `"session"` key (a Read Session body
/// never does, unless some value holds that text; then the callback parse says so and the
/// line is read as a Read Session body).
fn looks_like_callback(bytes: &[u8]) -> bool {
    const KEY: &[u8] = b"\"session\"";
    bytes.windows(KEY.len()).any(|window| window == KEY)
}

/// A line as [`read_lines`] gives it.
#[derive(Debug, PartialEq, Eq)]
pub enum Line<'a> {
    /// The line's bytes, without its line break (`\n` or `\r\n`).
    Complete(&'a [u8]),
    /// A line longer than [`MAX_LINE`], skipped: its length in bytes.
    TooLong(u64),
}

/// Calls `each` with every line of `input` and its 1-based number, holding one line at a time
/// and at most [`MAX_LINE`] bytes of it; returns how many lines there were.
///
/// ```
/// use hpp_reconcile::{Line, read_lines};
///
/// let mut seen = Vec::new();
/// read_lines(&b"a\r\nb\n\nc"[..], |n, line| {
///     if let Line::Complete(bytes) = line {
///         seen.push((n, bytes.to_vec()));
///     }
/// })?;
/// assert_eq!(seen, [(1, b"a".to_vec()), (2, b"b".to_vec()), (3, vec![]), (4, b"c".to_vec())]);
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn read_lines<R: BufRead>(
    mut input: R,
    mut each: impl FnMut(u64, Line<'_>),
) -> io::Result<u64> {
    let mut line = Vec::new();
    let mut number = 0;
    loop {
        line.clear();
        let mut len: u64 = 0;
        let mut ended = false;
        loop {
            let available = match input.fill_buf() {
                Ok(available) => available,
                Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
                Err(error) => return Err(error),
            };
            if available.is_empty() {
                break;
            }
            let (piece, found) = match available.iter().position(|&b| b == b'\n') {
                Some(at) => (&available[..at], true),
                None => (available, false),
            };
            len += piece.len() as u64;
            if line.len() + piece.len() <= MAX_LINE {
                line.extend_from_slice(piece);
            } else {
                // Too long: stop holding it, keep counting it.
                line.clear();
            }
            let used = piece.len() + usize::from(found);
            input.consume(used);
            if found {
                ended = true;
                break;
            }
        }
        if !ended && len == 0 {
            return Ok(number);
        }
        number += 1;
        if len > MAX_LINE as u64 {
            each(number, Line::TooLong(len));
        } else {
            let bytes = line.strip_suffix(b"\r").unwrap_or(&line);
            each(number, Line::Complete(bytes));
        }
        if !ended {
            return Ok(number);
        }
    }
}

/// The counts of a run: lines, sessions by disposition, anomalies by kind, malformed lines.
///
/// `Display` writes one `summary: ...` line; serde writes an object.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    /// Non-blank lines read.
    pub lines: u64,
    /// Sessions seen.
    pub sessions: u64,
    /// Final sessions, by status.
    pub finals: [u64; Status::ALL.len()],
    /// Open sessions (read them again on your schedule).
    pub open: u64,
    /// Sessions to read once more, now, before they expire.
    pub read_before_expiry: u64,
    /// Sessions past their expiry without a final status.
    pub expired: u64,
    /// Anomalies of every session, by kind.
    pub anomalies: [u64; AnomalyKind::ALL.len()],
    /// Malformed lines.
    pub malformed_lines: u64,
}

impl Summary {
    fn count(&mut self, ledger: &SessionLedger, disposition: Disposition) {
        match disposition {
            Disposition::Final(status) => self.finals[status as usize] += 1,
            Disposition::ReadBeforeExpiry => self.read_before_expiry += 1,
            Disposition::Expired => self.expired += 1,
            _ => self.open += 1,
        }
        for (count, kind) in self.anomalies.iter_mut().zip(AnomalyKind::ALL) {
            *count = count.saturating_add(ledger.count(kind));
        }
    }

    /// How many sessions are final.
    #[must_use]
    pub fn final_sessions(&self) -> u64 {
        self.finals.iter().sum()
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "summary: {} lines, {} sessions: {} final (",
            self.lines,
            self.sessions,
            self.final_sessions()
        )?;
        let finals: Vec<String> = Status::ALL
            .iter()
            .zip(self.finals)
            .filter(|(_, n)| *n > 0)
            .map(|(status, n)| format!("{n} {status}"))
            .collect();
        write!(
            f,
            "{}), {} open, {} to read before expiry, {} expired; anomalies: ",
            finals.join(", "),
            self.open,
            self.read_before_expiry,
            self.expired
        )?;
        let anomalies: Vec<String> = AnomalyKind::ALL
            .iter()
            .zip(self.anomalies)
            .filter(|(_, n)| *n > 0)
            .map(|(kind, n)| format!("{n} {kind}"))
            .collect();
        if anomalies.is_empty() {
            f.write_str("none")?;
        } else {
            f.write_str(&anomalies.join(", "))?;
        }
        write!(f, "; {} malformed lines", self.malformed_lines)
    }
}

impl Serialize for Summary {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        struct Counts<'a, K: 'static>(&'a [K], &'a [u64]);
        impl<K: Serialize> Serialize for Counts<'_, K> {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.collect_map(self.0.iter().zip(self.1).filter(|(_, n)| **n > 0))
            }
        }
        let mut map = serializer.serialize_map(Some(8))?;
        map.serialize_entry("lines", &self.lines)?;
        map.serialize_entry("sessions", &self.sessions)?;
        map.serialize_entry("final", &Counts(&Status::ALL, &self.finals))?;
        map.serialize_entry("open", &self.open)?;
        map.serialize_entry("read_before_expiry", &self.read_before_expiry)?;
        map.serialize_entry("expired", &self.expired)?;
        map.serialize_entry("anomalies", &Counts(&AnomalyKind::ALL, &self.anomalies))?;
        map.serialize_entry("malformed_lines", &self.malformed_lines)?;
        map.end()
    }
}

/// How a report is written: the clock that decides expiry and the last-read margin.
#[derive(Clone, Copy, Debug)]
pub struct Clock {
    /// Now.
    pub now: Timestamp,
    /// How long before a session's `expires_at` its last read is due.
    pub last_read_margin: Duration,
}

/// Writes the report for a person: a block per session, in order of first appearance, then
/// the malformed lines, then the summary.
///
/// ```
/// use std::time::Duration;
/// use hpp_reconcile::{Clock, Reconciler, write_text};
///
/// let run = Reconciler::from_reader(hpp_reconcile::SAMPLE.as_bytes())?;
/// let clock = Clock { now: "2026-11-21T00:00:00Z".parse().unwrap(), last_read_margin: Duration::ZERO };
/// let mut out = Vec::new();
/// write_text(&mut out, &run, clock)?;
/// assert!(String::from_utf8(out).unwrap().contains("COMPLETED (final)"));
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn write_text<W: Write>(out: &mut W, run: &Reconciler, clock: Clock) -> io::Result<()> {
    let mut summary = run.summary_before_sessions();
    for (id, ledger) in run.sessions() {
        let disposition = ledger.disposition(&clock.now, clock.last_read_margin);
        summary.count(ledger, disposition);
        write_session(out, id, ledger, disposition)?;
    }
    for malformed in &run.malformed {
        writeln!(
            out,
            "line {}: malformed: {}",
            malformed.line,
            Printable(&malformed.reason)
        )?;
    }
    let not_kept = run.malformed_count - run.malformed.len() as u64;
    if not_kept > 0 {
        writeln!(
            out,
            "... {not_kept} more malformed lines, counted, not listed"
        )?;
    }
    writeln!(out, "{summary}")
}

/// One session's block of the text report.
fn write_session<W: Write>(
    out: &mut W,
    id: &str,
    ledger: &SessionLedger,
    disposition: Disposition,
) -> io::Result<()> {
    writeln!(out, "session {}", Printable(id))?;
    writeln!(out, "  status       {}", Describe(ledger, disposition))?;
    writeln!(out, "  deliveries   {}", ledger.deliveries())?;
    if let (Some(by), Some(seen)) = (ledger.final_by(), ledger.tracker().latest()) {
        let source = match by.source() {
            hpp_status::ledger::Source::Callback => "callback",
            _ => "Read Session",
        };
        writeln!(
            out,
            "  final by     line {}, {source}: {seen}",
            by.position()
        )?;
    }
    if let Some(completion) = ledger.completion() {
        writeln!(out, "  completion   {}", Printable(&completion.to_string()))?;
    }
    for anomaly in ledger.anomalies() {
        let line = format!("line {}", anomaly.position());
        writeln!(
            out,
            "  {line:<12} {}: {}",
            anomaly.kind(),
            Printable(anomaly.detail())
        )?;
    }
    let not_kept = ledger.anomalies_not_kept();
    if not_kept > 0 {
        writeln!(
            out,
            "  {:<12} {not_kept} more anomalies, counted, not listed",
            "..."
        )?;
    }
    for payload in ledger.unusable_payloads() {
        let line = format!("line {}", payload.position());
        writeln!(
            out,
            "  {line:<12} unusable payload ({} bytes): {:?}",
            payload.raw_len(),
            payload.raw().unwrap_or_default()
        )?;
    }
    let not_kept = ledger.unusable_not_kept();
    if not_kept > 0 {
        writeln!(
            out,
            "  {:<12} {not_kept} more unusable payloads, counted, not kept",
            "..."
        )?;
    }
    writeln!(out)
}

/// A session's status and disposition, in words.
struct Describe<'a>(&'a SessionLedger, Disposition);

impl fmt::Display for Describe<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Describe(ledger, disposition) = self;
        let status = ledger
            .tracker()
            .status()
            .map_or("no known status", Status::as_str);
        let expires_at = ledger
            .expires_at()
            .map(|at| at.to_string())
            .unwrap_or_default();
        match disposition {
            Disposition::Final(status) => write!(f, "{status} (final)"),
            Disposition::Open => write!(f, "{status}, open (read it again on your schedule)"),
            Disposition::ReadBeforeExpiry => {
                write!(
                    f,
                    "{status}, read it once more now: it expires at {expires_at}"
                )
            }
            Disposition::Expired => {
                write!(f, "{status}, expired at {expires_at} (stop reading)")
            }
            other => write!(f, "{status}, {other}"),
        }
    }
}

/// Text from the input, written as it is when it holds no control character, else escaped
/// and quoted, so that a hostile input cannot write terminal escapes into a report.
struct Printable<'a>(&'a str);

impl fmt::Display for Printable<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.chars().any(char::is_control) {
            write!(f, "{:?}", self.0)
        } else {
            f.write_str(self.0)
        }
    }
}

/// One session of the JSON report.
#[derive(Serialize)]
struct SessionOut<'a> {
    session_id: &'a str,
    disposition: Disposition,
    #[serde(flatten)]
    ledger: &'a SessionLedger,
}

/// Writes the report for a machine: one JSON document,
/// `{"now":..,"last_read_margin_seconds":..,"sessions":[..],"malformed":[..],
/// "malformed_not_listed":..,"summary":{..}}`, each session written as soon as it is
/// serialised (one per line), never the whole report at once.
///
/// ```
/// use std::time::Duration;
/// use hpp_reconcile::{Clock, Reconciler, write_json};
///
/// let run = Reconciler::from_reader(hpp_reconcile::SAMPLE.as_bytes())?;
/// let clock = Clock { now: "2026-11-21T00:00:00Z".parse().unwrap(), last_read_margin: Duration::ZERO };
/// let mut out = Vec::new();
/// write_json(&mut out, &run, clock)?;
/// let report: serde_json::Value = serde_json::from_slice(&out)?;
/// assert_eq!(report["sessions"].as_array().unwrap().len(), 6);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn write_json<W: Write>(out: &mut W, run: &Reconciler, clock: Clock) -> io::Result<()> {
    let mut summary = run.summary_before_sessions();
    write!(out, "{{\"now\":")?;
    serde_json::to_writer(&mut *out, &clock.now)?;
    write!(
        out,
        ",\"last_read_margin_seconds\":{},\"sessions\":[",
        clock.last_read_margin.as_secs_f64()
    )?;
    for (index, (id, ledger)) in run.sessions().enumerate() {
        let disposition = ledger.disposition(&clock.now, clock.last_read_margin);
        summary.count(ledger, disposition);
        out.write_all(if index == 0 { b"\n" } else { b",\n" })?;
        let session = SessionOut {
            session_id: id,
            disposition,
            ledger,
        };
        serde_json::to_writer(&mut *out, &session)?;
    }
    write!(out, "\n],\"malformed\":")?;
    serde_json::to_writer(&mut *out, &run.malformed)?;
    let not_kept = run.malformed_count - run.malformed.len() as u64;
    write!(out, ",\"malformed_not_listed\":{not_kept},\"summary\":")?;
    serde_json::to_writer(&mut *out, &summary)?;
    writeln!(out, "}}")
}

/// `text` cut to at most `limit` bytes at a character boundary.
fn cut(text: &str, limit: usize) -> &str {
    let mut end = text.len().min(limit);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}
