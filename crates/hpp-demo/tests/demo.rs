//! The demo, run small: its table agrees with its exit code.

use std::collections::BTreeMap;
use std::process::Command;

/// The `name  value` rows of the table.
fn rows(stdout: &str) -> BTreeMap<String, f64> {
    stdout
        .lines()
        .filter_map(|line| {
            let (name, value) = line.trim_end().rsplit_once(' ')?;
            Some((name.trim().to_owned(), value.parse().ok()?))
        })
        .collect()
}

#[test]
fn a_small_demo_prints_a_table_that_agrees_with_its_exit_code() {
    let output = Command::new(env!("CARGO_BIN_EXE_hpp-demo"))
        .args([
            "--sessions",
            "30",
            "--seed",
            "7",
            "--compression",
            "2000",
            "--quiet",
            "--metrics",
        ])
        .output()
        .expect("run hpp-demo");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let table = rows(&stdout);
    let get = |name: &str| {
        *table
            .get(name)
            .unwrap_or_else(|| panic!("no {name:?} in the table:\n{stdout}\n{stderr}"))
    };
    assert_eq!(get("sessions"), 30.0, "{stdout}");
    assert!(get("callbacks sent") > 0.0, "{stdout}");
    assert!(get("reads") > 0.0, "{stdout}");
    let problems = get("double orders")
        + get("second order attempts")
        + get("missed orders")
        + get("forged tokens acted on");
    let code = output.status.code();
    if problems == 0.0 {
        assert_eq!(
            code,
            Some(0),
            "no problem in the table, yet:\n{stdout}\n{stderr}"
        );
        assert_eq!(get("orders placed"), get("orders owed"), "{stdout}");
        assert!(
            stdout.contains("every order owed placed exactly once"),
            "{stdout}"
        );
    } else {
        assert_eq!(
            code,
            Some(1),
            "problems in the table, yet:\n{stdout}\n{stderr}"
        );
        assert!(stdout.contains("PROBLEM"), "{stdout}");
    }
    // The merchant's scrape: every checkout created, with the shop's token.
    assert!(
        stdout.contains("hpp_merchant_checkouts_total{result=\"created\"} 30"),
        "{stdout}"
    );
    assert!(stdout.contains("hpp_merchant_effects_pending "), "{stdout}");
    // The reference merchant gets it right: the run above must be a clean one.
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
}

#[test]
fn help_lists_the_flags() {
    let output = Command::new(env!("CARGO_BIN_EXE_hpp-demo"))
        .arg("--help")
        .output()
        .expect("run hpp-demo --help");
    assert!(output.status.success());
    let help = String::from_utf8_lossy(&output.stdout);
    for flag in [
        "--sessions",
        "--seed",
        "--compression",
        "--quiet",
        "--metrics",
    ] {
        assert!(help.contains(flag), "{flag} missing:\n{help}");
    }
}
