//! The specification of the lifecycle, the observer and the payloads: `docs/SPEC.md` of the
//! repository, shown here so that it is read where the crate is. Its tables are rendered from
//! the crate's own data (`hpp_status::render`), and a test fails when they fall behind.
//!
//! The lifecycle, drawn by Graphviz from [`STEPS`](crate::STEPS) (merchant steps dashed,
//! final statuses with a double border):
//!
#![doc = include_str!("../docs/lifecycle.svg")]
//!
#![doc = include_str!("../docs/SPEC.md")]
