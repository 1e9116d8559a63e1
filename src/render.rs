//! The lifecycle as text: Mermaid and Graphviz diagrams and Markdown tables, written
//! through [`core::fmt`] straight from [`STEPS`] and the [`Status`] helpers, without
//! allocation. `docs/SPEC.md` is made of these.
//!
//! ```
//! use hpp_status::render;
//!
//! let diagram = render::Mermaid.to_string();
//! assert!(diagram.starts_with("stateDiagram-v2\n"));
//! assert!(diagram.contains("    BACK --> IN_PROGRESS: EnterPage\n"));
//! ```

use core::fmt::{self, Display, Formatter};

use crate::{Phase, STEPS, Status};

/// The lifecycle as a Mermaid `stateDiagram-v2`: one edge per step, labelled with its
/// action; final statuses lead to `[*]`.
#[derive(Clone, Copy, Debug)]
pub struct Mermaid;

impl Display for Mermaid {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        writeln!(f, "stateDiagram-v2")?;
        writeln!(f, "    [*] --> {}", Status::Waiting)?;
        for step in STEPS {
            writeln!(f, "    {} --> {}: {}", step.from, step.to, step.action)?;
        }
        for status in Status::ALL.into_iter().filter(|s| s.is_final()) {
            writeln!(f, "    {status} --> [*]")?;
        }
        Ok(())
    }
}

/// The lifecycle as a Graphviz DOT digraph: final statuses drawn as double circles,
/// merchant steps dashed.
///
/// ```
/// use hpp_status::render;
///
/// let dot = render::Dot.to_string();
/// assert!(dot.contains("COMPLETED [peripheries=2]"));
/// assert!(dot.contains("BACK -> DISABLED [label=\"Disable\", style=dashed]"));
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Dot;

impl Display for Dot {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        writeln!(f, "digraph hpp_session {{")?;
        writeln!(f, "    rankdir=LR;")?;
        writeln!(
            f,
            "    node [shape=box, style=rounded, fontname=\"Helvetica\", fontsize=11];"
        )?;
        writeln!(f, "    edge [fontname=\"Helvetica\", fontsize=10];")?;
        for status in Status::ALL {
            // Final statuses get a double border, as in a state diagram's accepting states.
            let border = if status.is_final() { 2 } else { 1 };
            writeln!(f, "    {status} [peripheries={border}];")?;
        }
        for step in STEPS {
            let style = match step.actor() {
                crate::Actor::Consumer => "solid",
                crate::Actor::Merchant => "dashed",
            };
            writeln!(
                f,
                "    {} -> {} [label=\"{}\", style={style}];",
                step.from, step.to, step.action
            )?;
        }
        writeln!(f, "}}")
    }
}

/// The status table in Markdown: wire name, whether final, meaning.
///
/// ```
/// use hpp_status::render;
///
/// let table = render::StatusTable.to_string();
/// assert!(table.contains("| `CANCELLED` | yes |"));
/// assert_eq!(table.lines().count(), 2 + 8);
/// ```
#[derive(Clone, Copy, Debug)]
pub struct StatusTable;

impl Display for StatusTable {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        writeln!(f, "| status | final | meaning |")?;
        writeln!(f, "|---|---|---|")?;
        for status in Status::ALL {
            let is_final = if status.is_final() { "yes" } else { "no" };
            writeln!(f, "| `{status}` | {is_final} | {} |", status.meaning())?;
        }
        Ok(())
    }
}

/// The transition table in Markdown: one row per step, with its action and actor.
///
/// ```
/// use hpp_status::render;
///
/// let table = render::StepTable.to_string();
/// assert!(table.contains("| `IN_PROGRESS` | `Authorize` | consumer | `COMPLETED` |"));
/// assert_eq!(table.lines().count(), 2 + hpp_status::STEPS.len());
/// ```
#[derive(Clone, Copy, Debug)]
pub struct StepTable;

impl Display for StepTable {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        writeln!(f, "| from | action | actor | to | what happens |")?;
        writeln!(f, "|---|---|---|---|---|")?;
        for step in STEPS {
            writeln!(
                f,
                "| `{}` | `{}` | {} | `{}` | {} |",
                step.from,
                step.action,
                step.actor(),
                step.to,
                step.action.description()
            )?;
        }
        Ok(())
    }
}

/// A relation between statuses as a Markdown matrix: a row per earlier status, a column
/// per later one, `✓` where the relation holds.
///
/// ```
/// use hpp_status::render;
///
/// let matrix = render::Matrix::CAN_REACH.to_string();
/// assert!(matrix.starts_with("| from \\ to | `WAITING` |"));
/// assert!(matrix.contains("| **`COMPLETED`** | · | · | · | · | · | · | · | · |"));
/// ```
#[derive(Clone, Copy)]
pub struct Matrix {
    relation: fn(Status, Status) -> bool,
}

impl Matrix {
    /// [`Status::can_transition_to`]: one direct step.
    pub const CAN_TRANSITION_TO: Matrix = Matrix {
        relation: Status::can_transition_to,
    };
    /// [`Status::can_reach`]: one or more steps, what an observer may see next.
    pub const CAN_REACH: Matrix = Matrix {
        relation: Status::can_reach,
    };
}

impl fmt::Debug for Matrix {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.debug_struct("Matrix").finish_non_exhaustive()
    }
}

impl Display for Matrix {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str("| from \\ to |")?;
        for to in Status::ALL {
            write!(f, " `{to}` |")?;
        }
        f.write_str("\n|---|")?;
        for _ in Status::ALL {
            f.write_str("---|")?;
        }
        f.write_str("\n")?;
        for from in Status::ALL {
            write!(f, "| **`{from}`** |")?;
            for to in Status::ALL {
                f.write_str(if (self.relation)(from, to) {
                    " ✓ |"
                } else {
                    " · |"
                })?;
            }
            f.write_str("\n")?;
        }
        Ok(())
    }
}

/// The precedence rules of observations in Markdown: each status with its phase, which
/// `updated_at` wins within the phase, and its tie rank.
///
/// ```
/// use hpp_status::render;
///
/// let table = render::PrecedenceTable.to_string();
/// assert!(table.contains("| `COMPLETED` | 3 final | the earlier | 7 |"));
/// ```
#[derive(Clone, Copy, Debug)]
pub struct PrecedenceTable;

impl Display for PrecedenceTable {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        writeln!(f, "| status | phase | in the same phase, wins | tie rank |")?;
        writeln!(f, "|---|---|---|---|")?;
        let mut by_precedence = Status::ALL;
        by_precedence.sort_unstable_by_key(|s| (s.phase(), s.tie_rank()));
        for status in by_precedence {
            let phase = status.phase();
            let order = phase as u8 + 1;
            let winner = match phase {
                Phase::Waiting | Phase::Open => "the later",
                Phase::Final => "the earlier",
            };
            writeln!(
                f,
                "| `{status}` | {order} {phase} | {winner} | {} |",
                status.tie_rank()
            )?;
        }
        Ok(())
    }
}
