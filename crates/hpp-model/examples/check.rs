//! Model-checks the fleet protocol and prints the states explored, the depth reached and
//! the time taken; with `--bug NAME`, the planted defect's counterexample in a merchant's
//! words.
//!
//! ```text
//! cargo run --release -p hpp-model --example check -- --instances 3 --crashes 2
//! cargo run --release -p hpp-model --example check -- --instances 2 --crashes 1 --bug no-fencing
//! ```
//!
//! `--search dfs` explores depth first: it keeps only a fingerprint of each state seen (8
//! bytes, where breadth first also keeps each state's parent and the whole frontier), so
//! larger configurations fit in memory; the counts are the same, a counterexample's trace
//! is not the shortest.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

use std::collections::BTreeSet;
use std::process::ExitCode;
use std::time::Instant;

use hpp_model::{Bug, Config, Fleet, properties, render};
use stateright::{Checker, HasDiscoveries, Model as _};

fn usage() -> ExitCode {
    eprintln!(
        "usage: check [--instances N] [--crashes N] [--klarna-steps N] [--duplicates N] [--lost-answers N] [--anomaly true|false] [--threads N] [--search bfs|dfs] [--bug {}]",
        Bug::ALL.map(Bug::name).join("|")
    );
    ExitCode::from(2)
}

fn main() -> ExitCode {
    let (mut instances, mut crashes, mut threads, mut bug) = (2_u8, 1_u8, 2_usize, None);
    let (mut klarna_steps, mut duplicates, mut lost, mut anomaly) = (None, None, None, None);
    let mut depth_first = false;
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let Some(value) = args.next() else {
            return usage();
        };
        let ok = match flag.as_str() {
            "--instances" => value.parse().map(|v| instances = v).is_ok(),
            "--crashes" => value.parse().map(|v| crashes = v).is_ok(),
            "--threads" => value.parse().map(|v| threads = v).is_ok(),
            "--klarna-steps" => value.parse().map(|v| klarna_steps = Some(v)).is_ok(),
            "--duplicates" => value.parse().map(|v| duplicates = Some(v)).is_ok(),
            "--lost-answers" => value.parse().map(|v| lost = Some(v)).is_ok(),
            "--anomaly" => value.parse().map(|v| anomaly = Some(v)).is_ok(),
            "--bug" => Bug::from_name(&value).map(|b| bug = Some(b)).is_some(),
            "--search" => match value.as_str() {
                "bfs" | "dfs" => {
                    depth_first = value == "dfs";
                    true
                }
                _ => false,
            },
            _ => false,
        };
        if !ok {
            eprintln!("bad argument: {flag} {value}");
            return usage();
        }
    }
    let mut config = Config::new(instances, crashes);
    if let Some(bug) = bug {
        config = config.with_bug(bug);
        config.symmetry = false; // the trace keeps each instance's name
    }
    config.klarna_steps = klarna_steps.unwrap_or(config.klarna_steps);
    config.duplicates = duplicates.unwrap_or(config.duplicates);
    config.lost_answers = lost.unwrap_or(config.lost_answers);
    config.anomaly = anomaly.unwrap_or(config.anomaly);
    let model = Fleet::new(config);
    println!("{config:?}");
    let started = Instant::now();
    let mut builder = model.clone().checker().threads(threads);
    if let Some(bug) = bug {
        // The counterexample is all that is wanted: without symmetry the whole space is
        // far larger (2 instances and 1 fault: past 19 GB and 5 minutes, unfinished).
        builder = builder.finish_when(HasDiscoveries::AnyOf(BTreeSet::from([bug.caught_by()])));
    }
    let checker: Box<dyn Checker<Fleet>> = if depth_first {
        Box::new(builder.spawn_dfs().join())
    } else {
        Box::new(builder.spawn_bfs().join())
    };
    let elapsed = started.elapsed();
    println!(
        "instances {instances}, faults {crashes}: {} states ({} unique), max depth {}, {:.1} s",
        checker.state_count(),
        checker.unique_state_count(),
        checker.max_depth(),
        elapsed.as_secs_f64()
    );
    if let Some(bug) = bug {
        // The search stopped at the counterexample: the other properties were not checked.
        let name = bug.caught_by();
        return match checker.discovery(name) {
            Some(path) => {
                println!("  VIOLATED: {name}\n{}", render::trace(&model, &path));
                ExitCode::SUCCESS
            }
            None => {
                println!("  not caught: {name}");
                ExitCode::FAILURE
            }
        };
    }
    let mut failed = false;
    for name in properties::SAFETY {
        match checker.discovery(name) {
            None => println!("  holds:   {name}"),
            Some(path) => {
                failed = true;
                println!("  VIOLATED: {name}\n{}", render::trace(&model, &path));
            }
        }
    }
    for name in properties::REACHED {
        let reached = checker.discovery(name).is_some();
        println!(
            "  {}  {name}",
            if reached { "reached:" } else { "NOT reached:" }
        );
        failed |= !reached;
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
