//! `reconcile`: merges a file of HPP deliveries into one report per session, streaming (see
//! `--help`, and the library's documentation for the input and the report).

#![forbid(unsafe_code)]
#![deny(missing_docs)]

use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Write};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::Parser;
use hpp_reconcile::{Clock, Reconciler, SAMPLE, Taken, read_lines, write_json, write_text};
use hpp_status::wire::Timestamp;
use tracing::{info, warn};

/// Reconciles a stream of HPP deliveries into one report per session: its status and what to
/// do with it, who made it final, what the merchant needs to finish the purchase, and every
/// anomaly (duplicates, late and conflicting deliveries, statuses outside the lifecycle,
/// malformed fields, a final status no callback reported...).
#[derive(Parser, Debug)]
#[command(
    name = "reconcile",
    version,
    after_help = "\
INPUT
  JSON Lines, read as bytes, one delivery per line, in any order:
    a status callback:      {\"event_id\":\"...\",\"session\":{<a Read Session body>}}
    a Read Session body:    {\"session_id\":\"...\",\"status\":\"...\",\"updated_at\":\"...\",...}
  Every field is optional but session_id, which says whose delivery it is. A field that
  cannot be used is reported and the rest of the line is used. A line that is not UTF-8,
  not a JSON object, has a documented field twice, has no session_id, or is longer than
  1 MiB is malformed: it is reported with its number and only that line is lost. A
  byte-order mark at the start and blank lines are skipped.

OUTPUT
  Sessions in the order of their first line, then the malformed lines (the first 100; all
  are counted), then a summary. With --json, one JSON document with the same content.
  Malformed lines are also logged to standard error as they are read.

EXIT STATUS
  0  every line was a usable delivery
  1  some lines were malformed (the report is complete all the same)
  2  a usage error, or the input could not be opened or read (the report of what was read
     is written first)
  A closed output (a broken pipe, as with `| head`) ends the run quietly, with the status
  the input decides (0 or 1)."
)]
struct Args {
    /// The deliveries to read: a file, or `-` for standard input. Without it, the bundled
    /// sample of the `hpp-reconcile` crate.
    file: Option<String>,

    /// Write the report as JSON instead of text.
    #[arg(long)]
    json: bool,

    /// The clock that decides expiry, as RFC 3339 (default: the system clock).
    #[arg(long, value_name = "RFC3339")]
    now: Option<Timestamp>,

    /// How long before a session's expires_at its last read is due, such as `5m`, `90s` or
    /// `PT10M`.
    #[arg(long, value_name = "DURATION", default_value = "5m", value_parser = parse_duration)]
    last_read_margin: Duration,

    /// Also log progress and timings to standard error.
    #[arg(short, long)]
    verbose: bool,
}

/// A non-negative duration in jiff's friendly (`5m`, `1h 30m`) or ISO 8601 (`PT5M`) format.
fn parse_duration(text: &str) -> Result<Duration, String> {
    let duration: jiff::SignedDuration = text.parse().map_err(|error| format!("{error}"))?;
    Duration::try_from(duration).map_err(|_| format!("{text:?} is negative"))
}

fn main() -> ExitCode {
    let args = Args::parse();
    let level = if args.verbose {
        tracing::Level::INFO
    } else {
        tracing::Level::WARN
    };
    tracing_subscriber::fmt()
        .with_writer(io::stderr)
        .with_max_level(level)
        .with_target(false)
        .without_time()
        .init();
    let clock = Clock {
        now: args.now.unwrap_or_else(Timestamp::now),
        last_read_margin: args.last_read_margin,
    };
    let input: Box<dyn BufRead> = match args.file.as_deref() {
        None => Box::new(SAMPLE.as_bytes()),
        Some("-") => Box::new(io::stdin().lock()),
        Some(path) => match File::open(path) {
            Ok(file) => Box::new(BufReader::with_capacity(1 << 16, file)),
            Err(error) => {
                eprintln!("reconcile: cannot open {path}: {error}");
                return ExitCode::from(2);
            }
        },
    };
    let started = Instant::now();
    let mut run = Reconciler::new();
    let read = read_lines(input, |number, line| {
        if let Taken::Malformed(reason) = run.take(number, line) {
            warn!("line {number}: malformed: {reason}");
        }
    });
    info!(
        lines = run.lines(),
        sessions = run.sessions().count(),
        seconds = started.elapsed().as_secs_f64(),
        "read the input"
    );
    let read_failed = match read {
        Ok(_) => false,
        Err(error) => {
            eprintln!(
                "reconcile: reading the input failed after line {}: {error}",
                run.lines()
            );
            true
        }
    };
    let mut out = BufWriter::with_capacity(1 << 16, io::stdout().lock());
    let written = if args.json {
        write_json(&mut out, &run, clock)
    } else {
        write_text(&mut out, &run, clock)
    }
    .and_then(|()| out.flush());
    match written {
        Ok(()) => info!(
            seconds = started.elapsed().as_secs_f64(),
            "wrote the report"
        ),
        // The reader of the output stopped reading: not an error of this run.
        Err(error) if error.kind() == io::ErrorKind::BrokenPipe => {}
        Err(error) => {
            eprintln!("reconcile: writing the report failed: {error}");
            return ExitCode::from(2);
        }
    }
    if read_failed {
        ExitCode::from(2)
    } else if run.malformed_count() > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
