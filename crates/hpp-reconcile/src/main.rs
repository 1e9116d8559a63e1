//! `reconcile`: merges a file of HPP deliveries into one status per session (see the
//! library's documentation for the input and the report).

#![forbid(unsafe_code)]
#![deny(missing_docs)]

use std::io::Read as _;
use std::process::ExitCode;

use hpp_reconcile::{SAMPLE, human, machine, reconcile};
use hpp_status::wire::Timestamp;

const USAGE: &str = "usage: reconcile [FILE | -] [--json] [--now RFC3339]";

fn main() -> ExitCode {
    let (mut file, mut as_json, mut now) = (None, false, None);
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--json" => as_json = true,
            "--now" => match args.next().map(|text| text.parse::<Timestamp>()) {
                Some(Ok(at)) => now = Some(at),
                Some(Err(error)) => return usage(&format!("--now: {error}")),
                None => return usage("--now needs a value"),
            },
            "-h" | "--help" => {
                println!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            flag if flag.starts_with("--") => return usage(&format!("unknown option {flag}")),
            path if file.is_none() => file = Some(path.to_string()),
            extra => return usage(&format!("unexpected argument {extra}")),
        }
    }
    let input = match file.as_deref() {
        None => Ok(SAMPLE.to_string()),
        Some("-") => {
            let mut input = String::new();
            std::io::stdin().read_to_string(&mut input).map(|_| input)
        }
        Some(path) => std::fs::read_to_string(path),
    };
    let input = match input {
        Ok(input) => input,
        Err(error) => {
            eprintln!(
                "reconcile: cannot read {}: {error}",
                file.as_deref().unwrap_or("the sample")
            );
            return ExitCode::from(2);
        }
    };
    let report = reconcile(&input, now.unwrap_or_else(Timestamp::now));
    if as_json {
        println!("{:#}", machine(&report));
    } else {
        print!("{}", human(&report));
    }
    for (line, message) in &report.malformed {
        eprintln!("reconcile: line {line}: {message}");
    }
    if report.malformed.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

fn usage(problem: &str) -> ExitCode {
    eprintln!("reconcile: {problem}\n{USAGE}");
    ExitCode::from(2)
}
