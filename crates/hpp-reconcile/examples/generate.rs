//! Writes a deterministic stream of deliveries for measuring `reconcile` (docs/PERFORMANCE.md):
//!
//! ```sh
//! # a million sessions, one delivery each (about 200 MB)
//! cargo run --release -p hpp-reconcile --example generate -- --sessions 1000000 > many.jsonl
//! # one session, a million deliveries
//! cargo run --release -p hpp-reconcile --example generate -- --sessions 1 --lines-per-session 1000000 > one.jsonl
//! ```
//!
//! With one line per session, the deliveries are a mix: 40% `IN_PROGRESS` callbacks, 30%
//! `COMPLETED` callbacks with an authorization token, 15% `COMPLETED` Read Session bodies
//! with an order id and a Klarna reference, 10% `BACK` reads, 5% `DISABLED` reads. With more
//! lines per session, each session walks `IN_PROGRESS`, `BACK`, `IN_PROGRESS`, ... one
//! millisecond apart, each delivery sent twice (a retried callback), and ends `COMPLETED`.

use std::io::{self, BufWriter, Write};

use clap::Parser;

/// Writes JSON Lines of HPP deliveries to standard output.
#[derive(Parser)]
struct Args {
    /// How many sessions.
    #[arg(long)]
    sessions: u64,
    /// How many lines each session gets (1: one delivery of the mix each).
    #[arg(long, default_value_t = 1)]
    lines_per_session: u64,
    /// The seed of the mix.
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

/// splitmix64: a small, well-mixed deterministic generator.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A UUID-shaped text.
    fn uuid(&mut self) -> String {
        let (a, b) = (self.next(), self.next());
        format!(
            "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xffff,
            a & 0xfff,
            b >> 52,
            b & 0xffff_ffff_ffff
        )
    }
}

/// `2026-11-20T10:00:00.000Z` plus `millis`.
fn stamp(millis: u64) -> String {
    let base = jiff::Timestamp::from_second(1_795_168_800).expect("in range");
    let at = base
        .checked_add(jiff::SignedDuration::from_millis(millis as i64))
        .expect("in range");
    format!("{at:.3}")
}

const EXPIRES_AT: &str = "2038-01-19T03:14:07.000Z";

fn callback(
    out: &mut impl Write,
    random: &mut SplitMix,
    session: &str,
    status: &str,
    at: u64,
    extra: &str,
) -> io::Result<()> {
    writeln!(
        out,
        r#"{{"event_id":"{}","session":{{"session_id":"{session}","status":"{status}","updated_at":"{}","expires_at":"{EXPIRES_AT}"{extra}}}}}"#,
        random.uuid(),
        stamp(at)
    )
}

fn read(out: &mut impl Write, session: &str, status: &str, at: u64, extra: &str) -> io::Result<()> {
    writeln!(
        out,
        r#"{{"session_id":"{session}","status":"{status}","updated_at":"{}","expires_at":"{EXPIRES_AT}"{extra}}}"#,
        stamp(at)
    )
}

fn main() -> io::Result<()> {
    let args = Args::parse();
    let mut random = SplitMix(args.seed);
    let mut out = BufWriter::with_capacity(1 << 16, io::stdout().lock());
    for index in 0..args.sessions {
        let session = random.uuid();
        let at = index * 7;
        if args.lines_per_session <= 1 {
            match random.next() % 20 {
                0..=7 => callback(&mut out, &mut random, &session, "IN_PROGRESS", at, "")?,
                8..=13 => {
                    let token = format!(r#","authorization_token":"{}""#, random.uuid());
                    callback(&mut out, &mut random, &session, "COMPLETED", at, &token)?;
                }
                14..=16 => {
                    let order = format!(
                        r#","order_id":"{}","klarna_reference":"{:08X}""#,
                        random.uuid(),
                        random.next() >> 32
                    );
                    read(&mut out, &session, "COMPLETED", at, &order)?;
                }
                17 | 18 => read(&mut out, &session, "BACK", at, "")?,
                _ => read(&mut out, &session, "DISABLED", at, "")?,
            }
            continue;
        }
        let steps = args.lines_per_session / 2;
        for step in 0..steps {
            let last = step + 1 == steps;
            let status = match (last, step % 2) {
                (true, _) => "COMPLETED",
                (false, 0) => "IN_PROGRESS",
                _ => "BACK",
            };
            let token = if last {
                r#","authorization_token":"70850a20-a2a0-5c70-810c-096fa6f850bb""#
            } else {
                ""
            };
            for _ in 0..2 {
                callback(&mut out, &mut random, &session, status, at + step, token)?;
            }
        }
    }
    out.flush()
}
