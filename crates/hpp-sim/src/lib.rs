//! A hostile simulator of Klarna's Hosted Payment Page (HPP) API, to test a merchant's
//! integration against what really goes wrong.
//!
//! The simulator serves the HPP endpoints at their real paths (`POST /hpp/v1/sessions`,
//! `GET` and `DELETE /hpp/v1/sessions/{id}`) and Klarna Payments' create order
//! (`POST /payments/v1/authorizations/{token}/order`), behind Basic auth. Each session the
//! merchant creates gets a simulated consumer that walks it through the lifecycle of
//! [`hpp_status::STEPS`], with time compressed; each status change is called back to the
//! merchant's `status_update` URL by the documented rules (no wait for the answer, a
//! timeout, up to 3 retries with the same `event_id`), and with faults injected on purpose:
//! lost, duplicated, delayed and so reordered, retried with an empty body, delivered with
//! the answer ignored, forged with a wrong secret; Read Session fails or answers slowly now
//! and then. Everything that really happened is recorded: the [`SessionTruth`] of every
//! session and a [`Summary`], in memory, at `GET /_sim/summary`, and as JSON Lines in a
//! truth file, so that a test can check the merchant placed exactly one order per session
//! that really completed with a token, and acted on no forgery.
//!
//! ```
//! use std::time::Duration;
//! use hpp_sim::{FaultConfig, SimConfig, Simulator};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let mut config = SimConfig::default();
//! config.faults = FaultConfig::none();
//! config.time.compression = 1_000_000.0; // 47 h of session lifetime in 0.17 s
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! let sim = Simulator::new(config)?.serve(listener).await?;
//!
//! // A merchant creates a session (here without a status_update URL: no callbacks).
//! let created: serde_json::Value = reqwest::Client::new()
//!     .post(format!("{}/hpp/v1/sessions", sim.base_url()))
//!     .basic_auth("merchant", Some("hpp-sim"))
//!     .json(&serde_json::json!({
//!         "payment_session_url": "https://api.klarna.com/payments/v1/sessions/kp-1",
//!         "options": {"place_order_mode": "NONE"}
//!     }))
//!     .send()
//!     .await?
//!     .json()
//!     .await?;
//! let session_id = created["session_id"].as_str().unwrap();
//!
//! // Its consumer finishes, or gives up and the session expires.
//! let summary = sim.wait_until_settled(Duration::from_secs(5)).await?;
//! assert_eq!(summary.sessions, 1);
//! let truth = sim.session(session_id).unwrap();
//! assert!(truth.final_status().is_some() || truth.expired);
//! sim.shutdown().await?;
//! # Ok(())
//! # }
//! ```
//!
//! # Time
//!
//! Timestamps on the wire are real wall-clock UTC with milliseconds, as the API writes
//! them. "Compressed time" means every *duration* of the simulated world is divided by
//! [`TimeConfig::compression`]: the 47-hour session lifetime, the 60-minute token lifetime,
//! the consumer's pauses, the pause between callback retries. A merchant using its own
//! clock therefore sees a consistent `expires_at`. `updated_at` strictly increases per
//! session (by at least 1 ms per change).
//!
//! # The lifecycle
//!
//! Statuses change only by [`hpp_status::Status::apply`]: the consumer's actions, and the
//! merchant's Disable, which is never called back. `TIMEOUT` (the consumer left the page
//! without Back or Cancel; still payable) and `MANUAL_ID_CHECK` (an identification check
//! during a visit) are shown on top of `IN_PROGRESS` and are never final: see [`walk`].
//! `COMPLETED` carries an `authorization_token` (Klarna Payments with `place_order_mode`
//! `NONE`: the merchant places the order with it) or an `order_id` and `klarna_reference`
//! (`PLACE_ORDER`, `CAPTURE_ORDER`, Kustom Checkout: Klarna placed the order). After
//! `expires_at`, Read Session and Disable answer 404 and the consumer stops.
//!
//! # Answers the public documentation does not give
//!
//! - Create order with a token that already placed an order: 404 `NOT_FOUND`
//!   "Invalid authorization token", the documented answer for an expired token (the first
//!   order closes the Klarna Payments session, so the token no longer resolves), whatever
//!   the call's `Klarna-Idempotency-Key`: Klarna documents idempotency keys for the Order
//!   Management API, not for create order, so a merchant cannot count on getting the first
//!   answer back. The key only tells the truth a retry of the placing call (same key: the
//!   merchant lost its answer, not a bug) from a second placement (a bug).
//! - Disable of a `CANCELLED` or `DISABLED` session: 400 `NOT_ALLOWED`, like `COMPLETED`
//!   (`Status::apply` refuses Disable from every final status); a merchant that lost the
//!   answer to its own Disable must read the session.
//! - Injected Read Session failures: 500, 502 or 503 with Klarna's error body.
//! - A `status_update` URL outside loopback is refused with 400 unless the simulator runs
//!   with `allow_remote`.
//!
//! # Determinism
//!
//! Given the seed and the order in which sessions are created, each session's ids, walk,
//! pauses and callback faults are fixed: every session draws from its own generators, one
//! per purpose. Not fixed: the wall-clock timestamps, which retries happen (they depend on
//! the merchant's answers and timing), the Read Session faults (drawn in order of arrival),
//! what a merchant's Disable interrupts, and the order in which concurrent merchants create
//! sessions.
//!
//! # Faults
//!
//! See [`FaultConfig`] for the rates and [`faults`] for how each fault is injected.
//!
//! # Against your own service
//!
//! The `hpp-sim` binary serves the same simulator, and with `--merchant-url` drives a run
//! against a merchant service through its `POST /checkouts` ([`Driver`]); the crate's
//! README shows how, with every flag.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod api;
mod clock;
mod config;
mod deliver;
mod driver;
pub mod faults;
mod limits;
mod log;
mod pages;
mod registry;
mod seed;
mod sim;
pub mod tls;
mod truth;
pub mod walk;
mod world;

pub use crate::api::IDEMPOTENCY_KEY;
pub use crate::config::{
    ConfigError, ConsumerConfig, Credentials, DeliveryConfig, FaultConfig,
    MIN_DEFAULT_CALLBACK_TIMEOUT, OutcomeWeights, SimConfig, TimeConfig, Timing,
    WORLD_CALLBACK_TIMEOUT, is_loopback_url,
};
pub use crate::driver::{Checkout, CheckoutError, Driver};
pub use crate::limits::{CallTally, Operation, RateLimits, Storm};
pub use crate::sim::{NotSettled, Progress, SimError, SimHandle, Simulator};
pub use crate::tls::ServeTls;
pub use crate::truth::{
    Answer, CallbackAttempt, CallbackEvent, CallbackSummary, DeliveryKind, DisableAttempt,
    DisableResult, DisableSummary, EventOutcome, Fault, OrderAttempt, OrderResult, OrderSummary,
    PaymentKind, PlaceOrderMode, Problem, ReadSummary, ReadTally, Redirect, SessionTruth,
    StatusChange, Summary,
};
pub use crate::walk::{Interlude, Move, MoveError, PlannedMove, SessionState, Walk};

// The README's example is a test too.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
