//! The Hosted Payment Page (HPP) session lifecycle of Klarna Payments and Kustom Checkout.
//!
//! An HPP session moves through eight statuses ([`Status`]). Three are final and absorbing
//! (`COMPLETED`, `CANCELLED`, `DISABLED`); `FAILED`, `BACK` and `ERROR` leave the session
//! open for the consumer to retry. One table, [`STEPS`], lists every legal direct step with
//! the [`Action`] that causes it and its [`Actor`]; every rule of the crate is derived from
//! it at compile time:
//!
//! - [`Status::can_transition_to`] and [`Status::transition_to`]: one direct step;
//! - [`Status::apply`]: what an [`Action`] does, or a [`TransitionError`] that says why not;
//! - [`Status::can_reach`]: one or more steps, what an observer that may miss updates
//!   (lost callbacks, sparse polling) can legally see next;
//! - [`render`]: the spec's tables and diagrams (`docs/SPEC.md` is generated from them).
//!
//! A merchant learns statuses from callbacks and polls that can be lost, duplicated or late.
//! A [`Tracker`] merges them into the one [`Observation`] to believe, by a precedence that
//! makes the result independent of delivery order, and classifies each delivery as an
//! [`Outcome`]; `wire` parses the real payloads.
//!
//! ```
//! use hpp_status::{Action, Status};
//!
//! let mut status = Status::Waiting;
//! let visits = [Action::EnterPage, Action::Decline, Action::EnterPage, Action::Authorize];
//! for action in visits {
//!     status = status.apply(action)?;
//! }
//! assert_eq!(status, Status::Completed);
//!
//! // Final is final: the merchant's Disable is refused,
//! // as the API refuses it with a 400.
//! let refused = status.apply(Action::Disable).unwrap_err();
//! assert_eq!(
//!     refused.to_string(),
//!     "Disable is not possible from COMPLETED: COMPLETED is final"
//! );
//! # Ok::<(), hpp_status::TransitionError>(())
//! ```
//!
//! # Features
//!
//! | feature | default | what it adds |
//! |---|---|---|
//! | `wire` | yes | `wire`: typed Read Session and status callback payloads; needs `alloc` |
//! | `serde` | with `wire` | `Serialize`/`Deserialize` for [`Status`] (by wire name), [`Observation`], [`Tracker`] (a strict, stable stored form), [`OutcomeKind`]; `Serialize` for [`Outcome`] and [`Disposition`], `Deserialize` too with `wire` or `std` (a tagged enum is buffered, which needs `alloc`) |
//! | `ledger` | no | `ledger`: a session's ledger (tracker, who made it final, completion, anomalies, unusable payloads) in bounded memory; needs `wire`, `alloc` only |
//! | `std` | no | `wire::Timestamp::now()`, the system clock |
//! | `proptest` | no | `strategy`: legal histories and their deliveries, for property tests; needs `std` |
//! | `arbitrary` | no | `arbitrary::Arbitrary` for [`Status`], [`Action`], [`Actor`], [`StatusSet`] (any byte is a set) and [`Observation`], for fuzzing; needs `std` |
//!
//! The crate is `#![no_std]`; without default features it never allocates.
//!
//! The [specification](spec) is part of this documentation.
//!
//! # Which enums may grow
//!
//! The enums that *are* the model, [`Status`], [`Action`], [`Actor`], [`Phase`], and the four
//! outcomes ([`Outcome`], with [`OutcomeKind`]) that partition every delivery, are
//! exhaustive: match them whole, and the compiler tells you when the model changes. The enums
//! that report on the outside world ([`Disposition`], the `wire` module's completions and
//! errors) are `#[non_exhaustive]`: the API may learn new cases without a breaking release.

#![no_std]
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(any(feature = "wire", feature = "proptest"))]
extern crate alloc;
// `arbitrary` needs `std` (its derive for structs refers to `::std`), so that feature does.
#[cfg(feature = "arbitrary")]
extern crate std;

mod action;
#[cfg(feature = "ledger")]
pub mod ledger;
mod names;
mod observation;
mod parse;
mod precedence;
pub mod render;
#[cfg(feature = "serde")]
mod serde;
mod set;
pub mod spec;
mod status;
#[cfg(feature = "proptest")]
pub mod strategy;
mod table;
mod tracker;
mod transition;
#[cfg(feature = "wire")]
pub mod wire;

pub use crate::action::{Action, Actor};
pub use crate::observation::{Observation, Phase};
pub use crate::parse::ParseStatusError;
pub use crate::precedence::{PrecedenceKey, PrecedenceKeyError, SortableTime};
pub use crate::set::{Iter as StatusSetIter, StatusSet};
pub use crate::status::Status;
pub use crate::table::{STEPS, Step};
pub use crate::tracker::{Disposition, Expiry, Outcome, OutcomeKind, Tracker};
pub use crate::transition::TransitionError;

// The README's examples are tests too (they use the default `wire` feature).
#[cfg(all(doctest, feature = "wire"))]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
