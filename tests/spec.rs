//! `docs/SPEC.md`, `docs/lifecycle.dot` and the README's step table come from the crate's tables.
//!
//! The hand-written prose stays as it is; each region between
//! `<!-- generated: NAME -->` and `<!-- end generated -->` is replaced by the rendering
//! NAME names. The tests fail when a file is stale; regenerate with
//! `UPDATE_SPEC=1 cargo test --test spec`.

use std::fmt::Write as _;
use std::path::Path;

use hpp_status::render::{Dot, Matrix, Mermaid, PrecedenceTable, StatusTable, StepTable};

const BEGIN: &str = "<!-- generated: ";
const END: &str = "<!-- end generated -->";

/// What a generated region named `name` holds, or `None` for a name nobody renders.
fn region(name: &str) -> Option<String> {
    Some(match name {
        "statuses" => StatusTable.to_string(),
        "steps" => StepTable.to_string(),
        "mermaid" => format!("```mermaid\n{Mermaid}```\n"),
        "dot" => format!("```dot\n{Dot}```\n"),
        "can_transition_to" => Matrix::CAN_TRANSITION_TO.to_string(),
        "can_reach" => Matrix::CAN_REACH.to_string(),
        "precedence" => PrecedenceTable.to_string(),
        _ => return None,
    })
}

/// `doc` with every generated region rendered afresh.
fn regenerate(doc: &str) -> Result<String, String> {
    let mut out = String::with_capacity(doc.len());
    let mut rest = doc;
    while let Some(start) = rest.find(BEGIN) {
        let after_marker = &rest[start + BEGIN.len()..];
        let close = after_marker
            .find(" -->\n")
            .ok_or("a `<!-- generated:` marker without ` -->`")?;
        let name = &after_marker[..close];
        let body = &after_marker[close + " -->\n".len()..];
        let end = body
            .find(END)
            .ok_or_else(|| format!("region `{name}` has no `{END}`"))?;
        let rendered = region(name).ok_or_else(|| format!("no rendering is named `{name}`"))?;
        out.push_str(&rest[..start]);
        write!(out, "{BEGIN}{name} -->\n{rendered}").unwrap();
        rest = &body[end..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Fails when `path` differs from `expected`; with `UPDATE_SPEC` set, writes it instead.
fn check_fresh(path: &str, expected: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
    let current = std::fs::read_to_string(&path).unwrap_or_default();
    if std::env::var_os("UPDATE_SPEC").is_some() {
        if current != expected {
            std::fs::write(&path, expected).unwrap();
        }
        return;
    }
    assert!(
        current == expected,
        "{} is out of date with the crate's tables: run `UPDATE_SPEC=1 cargo test --test spec`",
        path.display()
    );
}

#[test]
fn spec_md_is_rendered_from_the_tables() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/SPEC.md");
    let doc = std::fs::read_to_string(path).expect("docs/SPEC.md exists");
    let expected = regenerate(&doc).unwrap();
    for name in [
        "statuses",
        "steps",
        "mermaid",
        "dot",
        "can_transition_to",
        "can_reach",
    ] {
        assert!(
            doc.contains(&format!("{BEGIN}{name} -->")),
            "SPEC.md lacks region {name}"
        );
    }
    check_fresh("docs/SPEC.md", &expected);
}

/// The README is the crate's page on crates.io, which draws no Mermaid (it shows the source
/// as text): the lifecycle is there as the step table, which every Markdown renderer shows.
#[test]
fn readme_steps_are_rendered_from_the_tables() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md");
    let readme = std::fs::read_to_string(path).expect("README.md exists");
    assert!(
        readme.contains(&format!("{BEGIN}steps -->")),
        "README.md lacks the step table's region"
    );
    assert!(
        !readme.contains("```mermaid"),
        "README.md has a Mermaid block, which crates.io shows as raw text"
    );
    check_fresh("README.md", &regenerate(&readme).unwrap());
}

/// The source of the picture in the rustdoc (`docs/lifecycle.svg`, which
/// `bash scripts/diagram.sh` renders from it with Graphviz; CI checks that it is current).
#[test]
fn lifecycle_diagram_source_is_rendered_from_the_tables() {
    check_fresh("docs/lifecycle.dot", &Dot.to_string());
}

#[test]
fn regenerate_replaces_regions_and_keeps_prose() {
    let doc = format!("intro\n{BEGIN}steps -->\nstale\n{END}\noutro\n");
    let fresh = regenerate(&doc).unwrap();
    assert_eq!(
        fresh,
        format!("intro\n{BEGIN}steps -->\n{StepTable}{END}\noutro\n")
    );
    assert_eq!(
        regenerate(&fresh).unwrap(),
        fresh,
        "regeneration is idempotent"
    );
}

#[test]
fn regenerate_names_what_is_wrong() {
    let unknown = format!("{BEGIN}nonsense -->\n{END}\n");
    assert_eq!(
        regenerate(&unknown).unwrap_err(),
        "no rendering is named `nonsense`"
    );
    let unclosed = format!("{BEGIN}steps -->\ntable\n");
    assert!(regenerate(&unclosed).unwrap_err().contains("has no"));
}
