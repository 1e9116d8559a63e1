//! The fleet protocol of `hpp-store` and `hpp-merchant`, model-checked with
//! [stateright](https://docs.rs/stateright): every interleaving of a few instances sharing
//! the database, with crashes, freezes, lost and duplicated callbacks, lost create order
//! answers and a clock that lets leases, tokens and the session expire.
//!
//! The state is the database's rows ([`SessionRow`], [`EffectRow`], [`AttemptRow`]),
//! Klarna's truth ([`Klarna`]: a walk of the core's [`STEPS`](hpp_status::STEPS), a token
//! valid for a while that places one order), the callbacks in flight, each instance's
//! program counters ([`BatchPc`], [`EffectPc`]) and the clock. The merge calls the real
//! core: the statement compares [`precedence_key`](hpp_status::Observation::precedence_key)s
//! byte-wise and the outcome comes from a [`Tracker`](hpp_status::Tracker). The properties
//! are in [`properties`]; [`Bug`] plants one defect each, which the checker must catch.
//!
//! ```
//! use hpp_model::{Config, Fleet};
//! use stateright::{Checker as _, Model as _};
//!
//! let mut config = Config::new(1, 0);
//! config.klarna_steps = 2;
//! config.anomaly = false;
//! let checker = Fleet::new(config).checker().spawn_bfs().join();
//! assert!(checker.unique_state_count() > 10);
//! for name in hpp_model::properties::SAFETY {
//!     assert!(checker.discovery(name).is_none(), "{name}");
//! }
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod config;
mod model;
pub mod properties;
pub mod render;
mod state;

pub use crate::config::{Bug, Config, Timing};
pub use crate::model::{Action, Fleet};
pub use crate::state::{
    Answer, AttemptRow, BatchPc, EffKind, EffectPc, EffectRow, Ghost, Instance, Klarna, Obs,
    SessionRow, State, Token,
};
