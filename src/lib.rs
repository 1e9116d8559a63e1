//! The Hosted Payment Page (HPP) session lifecycle of Klarna Payments and Kustom Checkout.
//!
//! An HPP session moves through eight [`Status`]es. Three are final and absorbing
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
//! ```
//! use hpp_status::{Action, Status};
//!
//! let mut status = Status::Waiting;
//! for action in [Action::EnterPage, Action::Decline, Action::EnterPage, Action::Authorize] {
//!     status = status.apply(action)?;
//! }
//! assert_eq!(status, Status::Completed);
//!
//! // Final is final: the merchant's Disable is refused, as the API refuses it with a 400.
//! let refused = status.apply(Action::Disable).unwrap_err();
//! assert_eq!(refused.to_string(), "Disable is not possible from COMPLETED: COMPLETED is final");
//! # Ok::<(), hpp_status::TransitionError>(())
//! ```
//!
//! # Features
//!
//! | feature | default | what it adds |
//! |---|---|---|
//! | `serde` | no | `Serialize`/`Deserialize` for [`Status`] by wire name |
//! | `arbitrary` | no | `arbitrary::Arbitrary` for [`Status`], [`Action`], [`Actor`] and [`StatusSet`] (any byte is a set), for fuzzing; needs `std` |
//!
//! The crate is `#![no_std]` and never allocates (the `arbitrary` feature links `std`,
//! as the `arbitrary` crate needs it).

#![no_std]
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

// `arbitrary` needs `std` (its derive for structs refers to `::std`), so that feature does.
#[cfg(feature = "arbitrary")]
extern crate std;

mod action;
mod parse;
pub mod render;
#[cfg(feature = "serde")]
mod serde;
mod set;
mod status;
mod table;
mod transition;

pub use crate::action::{Action, Actor};
pub use crate::parse::ParseStatusError;
pub use crate::set::{Iter as StatusSetIter, StatusSet};
pub use crate::status::Status;
pub use crate::table::{STEPS, Step};
pub use crate::transition::TransitionError;

// The README's examples are tests too.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
