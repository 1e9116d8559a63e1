//! A session's ledger (feature `ledger`): everything the deliveries of one HPP session said,
//! in bounded memory, for a reconciliation report, a store or a service.
//!
//! A [`SessionLedger`] takes in each delivery of one session (a status callback or a Read
//! Session body, with its position in its stream and, when the caller has it, its raw text)
//! and keeps:
//!
//! - the session's [`Tracker`], and the latest `expires_at` reported;
//! - who made the session final: the position and the kind of the delivery;
//! - what the merchant needs to finish the purchase ([`Completion`]);
//! - the anomalies ([`AnomalyKind`]): a count per kind, the first few of each kind with
//!   their positions, and how many were not kept;
//! - the payloads it could not use (no observation), their first bytes, the first few only.
//!
//! Its memory is bounded whatever the number of deliveries: counts are numbers, examples and
//! raw payloads are capped ([`EXAMPLES_PER_KIND`], [`UNUSABLE_KEPT`], [`RAW_KEPT`]), and a
//! session without anomalies allocates nothing for them. It does no I/O and needs `alloc`
//! only.
//!
//! ```
//! use hpp_status::ledger::{AnomalyKind, Delivery, SessionLedger};
//! use hpp_status::wire::StatusCallback;
//! use hpp_status::Status;
//!
//! let completed: StatusCallback = serde_json::from_str(r#"{"event_id":"e2","session":{
//!     "session_id":"s","status":"COMPLETED","updated_at":"2019-05-13T14:53:00.000Z",
//!     "authorization_token":"70850a20"}}"#)?;
//! let mut ledger = SessionLedger::new();
//! let outcome = ledger.record(Delivery::callback(1, &completed))?;
//! assert!(outcome.became_final());
//! ledger.record(Delivery::callback(2, &completed))?; // a retry
//! assert_eq!(ledger.tracker().status(), Some(Status::Completed));
//! assert_eq!(ledger.final_by().map(|by| by.position()), Some(1));
//! assert_eq!(ledger.completion().unwrap().to_string(), "authorization token 70850a20");
//! assert_eq!(ledger.count(AnomalyKind::Duplicate), 1);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::{self, Write as _};
use core::time::Duration;

use serde::ser::{Serialize, SerializeStruct, Serializer};

use crate::names::named_enum;
use crate::wire::{
    Completion, FieldProblem, ObservationError, SessionResponse, StatusCallback, Timestamp,
};
use crate::{Disposition, Outcome, Status, Tracker};

/// How many anomalies of each kind a ledger keeps as examples (the first ones); the others
/// are counted.
pub const EXAMPLES_PER_KIND: usize = 3;

/// How many unusable payloads a ledger keeps (the first ones); the others are counted.
pub const UNUSABLE_KEPT: usize = 2;

/// How many bytes of an unusable payload's raw text a ledger keeps (cut at a character
/// boundary); its whole length is kept too.
pub const RAW_KEPT: usize = 1024;

/// How many bytes of an anomaly's detail are kept (cut at a character boundary, marked `…`).
pub const DETAIL_KEPT: usize = 256;

/// Where a delivery came from.
///
/// ```
/// use hpp_status::ledger::Source;
///
/// assert_eq!(Source::Callback.to_string(), "callback");
/// assert_eq!(Source::ReadSession.as_str(), "read_session");
/// ```
#[derive(
    Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, strum::EnumCount, strum::VariantNames,
)]
#[strum(serialize_all = "snake_case")]
#[derive(serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// A status callback (a hint: unsigned, and possibly forged).
    Callback,
    /// A Read Session body: a poll, a batch re-read, or the read a callback prompted.
    ReadSession,
}

impl Source {
    /// The two sources, in declaration order.
    pub const ALL: [Source; 2] = [Source::Callback, Source::ReadSession];

    /// The name serde and `Display` use: `"callback"` or `"read_session"`.
    ///
    /// ```
    /// use hpp_status::ledger::Source;
    ///
    /// assert_eq!(Source::Callback.as_str(), "callback");
    /// ```
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        <Source as strum::VariantNames>::VARIANTS[self as usize]
    }
}

named_enum!(Source);

/// One delivery of a session, as [`SessionLedger::record`] takes it.
///
/// ```
/// use hpp_status::ledger::{Delivery, Source};
/// use hpp_status::wire::SessionResponse;
///
/// let read = SessionResponse::default();
/// let delivery = Delivery::read_session(7, &read).with_raw("{}");
/// assert_eq!((delivery.position(), delivery.source()), (7, Source::ReadSession));
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Delivery<'a> {
    position: u64,
    source: Source,
    session: &'a SessionResponse,
    own_problems: &'a [FieldProblem],
    raw: Option<&'a str>,
}

impl<'a> Delivery<'a> {
    /// A status callback, at `position` in its stream (a line number, a sequence number...).
    ///
    /// ```
    /// use hpp_status::ledger::{Delivery, Source};
    /// use hpp_status::wire::StatusCallback;
    ///
    /// let callback = StatusCallback::default();
    /// assert_eq!(Delivery::callback(3, &callback).source(), Source::Callback);
    /// ```
    #[must_use]
    pub fn callback(position: u64, callback: &'a StatusCallback) -> Delivery<'a> {
        Delivery {
            position,
            source: Source::Callback,
            session: &callback.session,
            own_problems: &callback.problems,
            raw: None,
        }
    }

    /// A Read Session body, at `position` in its stream.
    ///
    /// ```
    /// use hpp_status::ledger::{Delivery, Source};
    /// use hpp_status::wire::SessionResponse;
    ///
    /// let read = SessionResponse::default();
    /// assert_eq!(Delivery::read_session(3, &read).position(), 3);
    /// ```
    #[must_use]
    pub fn read_session(position: u64, session: &'a SessionResponse) -> Delivery<'a> {
        Delivery {
            position,
            source: Source::ReadSession,
            session,
            own_problems: &[],
            raw: None,
        }
    }

    /// The same delivery with its raw text, kept (its first [`RAW_KEPT`] bytes) when the
    /// payload cannot be used.
    #[must_use]
    pub fn with_raw(self, raw: &'a str) -> Delivery<'a> {
        Delivery {
            raw: Some(raw),
            ..self
        }
    }

    /// Its position in its stream.
    #[must_use]
    pub const fn position(&self) -> u64 {
        self.position
    }

    /// Where it came from.
    #[must_use]
    pub const fn source(&self) -> Source {
        self.source
    }
}

/// The kind of an [`Anomaly`]: something a merchant should know about a session's
/// deliveries. `Display` and serde write the snake-case name.
///
/// ```
/// use hpp_status::ledger::AnomalyKind;
///
/// assert_eq!(AnomalyKind::CallbackMissing.to_string(), "callback_missing");
/// assert_eq!(AnomalyKind::ALL.len(), 11);
/// ```
#[derive(
    Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, strum::EnumCount, strum::VariantNames,
)]
#[strum(serialize_all = "snake_case")]
#[derive(serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum AnomalyKind {
    /// The same observation again ([`Outcome::Duplicate`]): a retried callback, a poll of a
    /// session that did not change.
    Duplicate,
    /// An observation older than the one held ([`Outcome::Stale`]): a late delivery.
    Stale,
    /// Two observations no legal history has both ([`Outcome::Conflict`]): a person must look.
    Conflict,
    /// A `MANUAL_ID_CHECK` status (SPEC §1.1): not final; the session must be read again.
    ManualIdCheck,
    /// A `TIMEOUT` status (SPEC §1.1): not final here; the session must be read again.
    Timeout,
    /// A status string the API does not document, kept with its text.
    UnrecognizedStatus,
    /// A payload with no usable `status` or `updated_at`: it cannot be ordered. Its raw text
    /// is kept among the unusable payloads when the caller gave it.
    Unusable,
    /// A documented field whose value could not be used ([`FieldProblem`]); the rest of the
    /// payload was used. (A malformed `status` or `updated_at` makes the payload
    /// [`Unusable`](AnomalyKind::Unusable) instead.)
    MalformedField,
    /// The session is final, but only Read Session reported its final status: that callback
    /// was lost or never sent, and nothing was lost because the session was read. Never
    /// flagged for `DISABLED`: Klarna calls back on the consumer's actions, and the
    /// merchant's own Disable is not called back, so no callback is expected for it.
    CallbackMissing,
    /// The session is `COMPLETED`, but no `COMPLETED` payload carried an authorization token
    /// or an order id: read the session to get it.
    CompletionMissing,
    /// Two `COMPLETED` payloads carried different completions: the first is kept.
    CompletionDiffers,
}

named_enum!(AnomalyKind);

impl AnomalyKind {
    /// Every kind, in declaration order.
    pub const ALL: [AnomalyKind; 11] = [
        AnomalyKind::Duplicate,
        AnomalyKind::Stale,
        AnomalyKind::Conflict,
        AnomalyKind::ManualIdCheck,
        AnomalyKind::Timeout,
        AnomalyKind::UnrecognizedStatus,
        AnomalyKind::Unusable,
        AnomalyKind::MalformedField,
        AnomalyKind::CallbackMissing,
        AnomalyKind::CompletionMissing,
        AnomalyKind::CompletionDiffers,
    ];

    /// The kind's snake-case name, such as `"malformed_field"`.
    ///
    /// ```
    /// use hpp_status::ledger::AnomalyKind;
    ///
    /// assert_eq!(AnomalyKind::MalformedField.as_str(), "malformed_field");
    /// ```
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        <AnomalyKind as strum::VariantNames>::VARIANTS[self as usize]
    }

    /// The kind of anomaly an [`ObservationError`] is.
    fn of_error(error: &ObservationError) -> AnomalyKind {
        match error {
            ObservationError::ManualIdCheck => AnomalyKind::ManualIdCheck,
            ObservationError::Timeout => AnomalyKind::Timeout,
            ObservationError::UnrecognizedStatus(_) => AnomalyKind::UnrecognizedStatus,
            _ => AnomalyKind::Unusable,
        }
    }
}

/// One anomaly: its kind, the position of the delivery that showed it, and what happened
/// in words (at most [`DETAIL_KEPT`] bytes).
///
/// With serde it is `{"kind":"stale","position":7,"detail":"..."}`.
#[derive(Clone, PartialEq, Eq, Debug, serde::Serialize)]
pub struct Anomaly {
    kind: AnomalyKind,
    position: u64,
    detail: Box<str>,
}

impl Anomaly {
    fn new(kind: AnomalyKind, position: u64, detail: fmt::Arguments<'_>) -> Anomaly {
        Anomaly {
            kind,
            position,
            detail: bounded(detail, DETAIL_KEPT),
        }
    }

    /// Its kind.
    #[must_use]
    pub const fn kind(&self) -> AnomalyKind {
        self.kind
    }

    /// The position of the delivery that showed it.
    #[must_use]
    pub const fn position(&self) -> u64 {
        self.position
    }

    /// What happened, in words.
    #[must_use]
    pub fn detail(&self) -> &str {
        &self.detail
    }
}

impl fmt::Display for Anomaly {
    /// `kind at position: detail`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at {}: {}", self.kind, self.position, self.detail)
    }
}

/// A payload that gave no observation: where it was, why, and its first [`RAW_KEPT`] bytes
/// when the caller gave its text.
///
/// With serde it is `{"position":..,"reason":..,"raw":..,"raw_len":..}`.
#[derive(Clone, PartialEq, Eq, Debug, serde::Serialize)]
pub struct UnusablePayload {
    position: u64,
    reason: Box<str>,
    raw: Option<Box<str>>,
    raw_len: usize,
}

impl UnusablePayload {
    /// The position of the delivery.
    #[must_use]
    pub const fn position(&self) -> u64 {
        self.position
    }

    /// Why it gave no observation.
    #[must_use]
    pub fn reason(&self) -> &str {
        &self.reason
    }

    /// Its first [`RAW_KEPT`] bytes, when the caller gave its text.
    #[must_use]
    pub fn raw(&self) -> Option<&str> {
        self.raw.as_deref()
    }

    /// The length in bytes of its whole raw text (0 when not given).
    #[must_use]
    pub const fn raw_len(&self) -> usize {
        self.raw_len
    }
}

/// The delivery that made a session final (the last such, after a conflict replaced a
/// final): see [`SessionLedger::final_by`].
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, serde::Serialize)]
pub struct FinalBy {
    position: u64,
    source: Source,
}

impl FinalBy {
    /// Its position in its stream.
    #[must_use]
    pub const fn position(&self) -> u64 {
        self.position
    }

    /// Where it came from.
    #[must_use]
    pub const fn source(&self) -> Source {
        self.source
    }
}

/// A [`Completion`], owned.
#[derive(Clone, PartialEq, Eq, Debug)]
enum StoredCompletion {
    Token(Box<str>),
    Order {
        order_id: Box<str>,
        klarna_reference: Option<Box<str>>,
    },
}

impl StoredCompletion {
    fn of(completion: Completion<'_>) -> StoredCompletion {
        match completion {
            Completion::Order {
                order_id,
                klarna_reference,
            } => StoredCompletion::Order {
                order_id: order_id.into(),
                klarna_reference: klarna_reference.map(Into::into),
            },
            // A token, or a kind a later version adds: kept as what the merchant acts on.
            Completion::AuthorizationToken(token) => StoredCompletion::Token(token.into()),
        }
    }

    fn as_completion(&self) -> Completion<'_> {
        match self {
            StoredCompletion::Token(token) => Completion::AuthorizationToken(token),
            StoredCompletion::Order {
                order_id,
                klarna_reference,
            } => Completion::Order {
                order_id,
                klarna_reference: klarna_reference.as_deref(),
            },
        }
    }
}

/// The anomalies of a session that has some: allocated on the first one.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
struct Log {
    counts: [u64; AnomalyKind::ALL.len()],
    examples: Vec<Anomaly>,
    unusable: Vec<UnusablePayload>,
    unusable_not_kept: u64,
}

/// Everything the deliveries of one session said, in bounded memory: see the
/// [module documentation](self). Serde writes it as a report (see its `Serialize`).
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct SessionLedger {
    tracker: Tracker<Timestamp>,
    expires_at: Option<Timestamp>,
    deliveries: u64,
    final_by: Option<FinalBy>,
    completion: Option<StoredCompletion>,
    /// Whether a callback reported the final status the tracker holds.
    final_by_callback: bool,
    log: Option<Box<Log>>,
}

impl SessionLedger {
    /// A ledger that has seen nothing.
    ///
    /// ```
    /// use hpp_status::ledger::SessionLedger;
    ///
    /// assert_eq!(SessionLedger::new().deliveries(), 0);
    /// ```
    #[must_use]
    pub fn new() -> SessionLedger {
        SessionLedger::default()
    }

    /// Takes in one delivery of the session: what the tracker made of its observation, or
    /// why it had none (the payload is then kept among the unusable ones, and the caller
    /// should read the session again).
    ///
    /// ```
    /// use hpp_status::ledger::{AnomalyKind, Delivery, SessionLedger};
    /// use hpp_status::wire::{ObservationError, SessionResponse};
    ///
    /// let text = r#"{"status":"TIMEOUT","updated_at":"2019-05-13T14:53:00.000Z"}"#;
    /// let read: SessionResponse = serde_json::from_str(text)?;
    /// let mut ledger = SessionLedger::new();
    /// let result = ledger.record(Delivery::read_session(1, &read).with_raw(text));
    /// assert_eq!(result, Err(ObservationError::Timeout));
    /// assert_eq!(ledger.count(AnomalyKind::Timeout), 1);
    /// assert_eq!(ledger.unusable_payloads()[0].raw(), Some(text));
    /// # Ok::<(), serde_json::Error>(())
    /// ```
    pub fn record(
        &mut self,
        delivery: Delivery<'_>,
    ) -> Result<Outcome<Timestamp>, ObservationError> {
        let session = delivery.session;
        let position = delivery.position;
        self.deliveries = self.deliveries.saturating_add(1);
        self.expires_at = self.expires_at.max(session.expires_at);
        // A malformed `status` or `updated_at` leaves no observation: the payload is
        // `Unusable`, and that anomaly says why.
        let side_fields = session
            .problems
            .iter()
            .filter(|problem| !matches!(problem.field(), "status" | "updated_at"));
        for problem in delivery.own_problems.iter().chain(side_fields) {
            let kind = AnomalyKind::MalformedField;
            self.note(Anomaly::new(kind, position, format_args!("{problem}")));
        }
        if session.known_status() == Some(Status::Completed) {
            self.take_completion(position, session.completion());
        }
        let observation = match session.observation() {
            Ok(observation) => observation,
            Err(error) => {
                self.unusable(position, &error, delivery.raw);
                return Err(error);
            }
        };
        let outcome = self.tracker.observe(observation);
        if outcome.became_final() {
            self.final_by = Some(FinalBy {
                position,
                source: delivery.source,
            });
            self.final_by_callback = false;
        }
        let reports_final =
            observation.status.is_final() && self.tracker.status() == Some(observation.status);
        if reports_final && delivery.source == Source::Callback {
            self.final_by_callback = true;
        }
        let anomaly = match &outcome {
            Outcome::Advanced { .. } => None,
            Outcome::Duplicate { current } => Some(Anomaly::new(
                AnomalyKind::Duplicate,
                position,
                format_args!("{current} again"),
            )),
            Outcome::Stale { current, stale } => Some(Anomaly::new(
                AnomalyKind::Stale,
                position,
                format_args!("{stale} arrived after {current}"),
            )),
            Outcome::Conflict { kept, rejected, .. } => Some(Anomaly::new(
                AnomalyKind::Conflict,
                position,
                format_args!(
                    "{kept} and {rejected} cannot both come from one legal history; \
                     keeping {kept}"
                ),
            )),
        };
        if let Some(anomaly) = anomaly {
            self.note(anomaly);
        }
        Ok(outcome)
    }

    /// Takes in a delivery of this session whose body could not be read at all (not JSON, a
    /// duplicate key...), such as a callback whose URL names the session: counted as
    /// [`Unusable`](AnomalyKind::Unusable), its text kept among the unusable payloads.
    ///
    /// ```
    /// use hpp_status::ledger::{AnomalyKind, SessionLedger, Source};
    ///
    /// let mut ledger = SessionLedger::new();
    /// ledger.record_unreadable(3, Source::Callback, "", "an empty body");
    /// assert_eq!(ledger.count(AnomalyKind::Unusable), 1);
    /// assert_eq!(ledger.unusable_payloads()[0].reason(), "the callback could not be read: an empty body");
    /// ```
    pub fn record_unreadable(
        &mut self,
        position: u64,
        source: Source,
        raw: &str,
        reason: impl fmt::Display,
    ) {
        self.deliveries = self.deliveries.saturating_add(1);
        let detail = format_args!("the {source} could not be read: {reason}");
        let anomaly = Anomaly::new(AnomalyKind::Unusable, position, detail);
        self.keep_unusable(position, &anomaly.detail, Some(raw));
        self.note(anomaly);
    }

    /// A payload without an observation: its anomaly and its raw text.
    fn unusable(&mut self, position: u64, error: &ObservationError, raw: Option<&str>) {
        let kind = AnomalyKind::of_error(error);
        let anomaly = Anomaly::new(kind, position, format_args!("{error}"));
        self.keep_unusable(position, &anomaly.detail, raw);
        self.note(anomaly);
    }

    fn keep_unusable(&mut self, position: u64, reason: &str, raw: Option<&str>) {
        let log = self.log.get_or_insert_with(Box::default);
        if log.unusable.len() >= UNUSABLE_KEPT {
            log.unusable_not_kept = log.unusable_not_kept.saturating_add(1);
            return;
        }
        log.unusable.push(UnusablePayload {
            position,
            reason: reason.into(),
            raw: raw.map(|raw| cut(raw, RAW_KEPT).into()),
            raw_len: raw.map_or(0, str::len),
        });
    }

    /// A `COMPLETED` payload's completion: the first is kept; a different one later is an
    /// anomaly.
    fn take_completion(&mut self, position: u64, completion: Option<Completion<'_>>) {
        let Some(completion) = completion else { return };
        match &self.completion {
            None => self.completion = Some(StoredCompletion::of(completion)),
            Some(kept) if kept.as_completion() == completion => {}
            Some(kept) => {
                let detail = format_args!(
                    "kept {}; this delivery has {completion}",
                    kept.as_completion()
                );
                self.note(Anomaly::new(
                    AnomalyKind::CompletionDiffers,
                    position,
                    detail,
                ));
            }
        }
    }

    /// Counts an anomaly, and keeps it when its kind has fewer than [`EXAMPLES_PER_KIND`]
    /// examples.
    fn note(&mut self, anomaly: Anomaly) {
        let log = self.log.get_or_insert_with(Box::default);
        let count = &mut log.counts[anomaly.kind as usize];
        *count = count.saturating_add(1);
        if *count <= EXAMPLES_PER_KIND as u64 {
            log.examples.push(anomaly);
        }
    }

    /// The session's tracker: every observation merged.
    #[must_use]
    pub const fn tracker(&self) -> &Tracker<Timestamp> {
        &self.tracker
    }

    /// The latest `expires_at` any delivery reported.
    #[must_use]
    pub const fn expires_at(&self) -> Option<Timestamp> {
        self.expires_at
    }

    /// How many deliveries were recorded (usable or not; saturating).
    #[must_use]
    pub const fn deliveries(&self) -> u64 {
        self.deliveries
    }

    /// The delivery that made the session final, while it is final.
    #[must_use]
    pub const fn final_by(&self) -> Option<&FinalBy> {
        self.final_by.as_ref()
    }

    /// What the merchant needs to finish the purchase: the first completion a `COMPLETED`
    /// payload carried.
    #[must_use]
    pub fn completion(&self) -> Option<Completion<'_>> {
        self.completion
            .as_ref()
            .map(StoredCompletion::as_completion)
    }

    /// How many anomalies of `kind` the session had (0 or 1 for
    /// [`CallbackMissing`](AnomalyKind::CallbackMissing) and
    /// [`CompletionMissing`](AnomalyKind::CompletionMissing), which describe its state).
    #[must_use]
    pub fn count(&self, kind: AnomalyKind) -> u64 {
        match kind {
            AnomalyKind::CallbackMissing => u64::from(self.callback_missing().is_some()),
            AnomalyKind::CompletionMissing => u64::from(self.completion_missing().is_some()),
            _ => self.log.as_ref().map_or(0, |log| log.counts[kind as usize]),
        }
    }

    /// The anomalies kept (the first [`EXAMPLES_PER_KIND`] of each kind, and the state
    /// ones), in position order.
    ///
    /// ```
    /// use hpp_status::ledger::{AnomalyKind, Delivery, SessionLedger};
    /// use hpp_status::wire::SessionResponse;
    ///
    /// let read: SessionResponse =
    ///     serde_json::from_str(r#"{"status":"CANCELLED","updated_at":"2019-05-13T14:53:00.000Z"}"#)?;
    /// let mut ledger = SessionLedger::new();
    /// ledger.record(Delivery::read_session(4, &read))?;
    /// let kinds: Vec<_> = ledger.anomalies().iter().map(|a| (a.position(), a.kind())).collect();
    /// assert_eq!(kinds, [(4, AnomalyKind::CallbackMissing)]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn anomalies(&self) -> Vec<Anomaly> {
        let mut anomalies: Vec<Anomaly> = self
            .log
            .iter()
            .flat_map(|log| log.examples.iter().cloned())
            .chain(self.callback_missing())
            .chain(self.completion_missing())
            .collect();
        anomalies.sort_by_key(|anomaly| (anomaly.position, anomaly.kind));
        anomalies
    }

    /// How many anomalies were counted but not kept as examples.
    #[must_use]
    pub fn anomalies_not_kept(&self) -> u64 {
        self.log.as_ref().map_or(0, |log| {
            log.counts
                .iter()
                .map(|&count| count.saturating_sub(EXAMPLES_PER_KIND as u64))
                .fold(0, u64::saturating_add)
        })
    }

    /// The payloads that gave no observation (the first [`UNUSABLE_KEPT`]).
    #[must_use]
    pub fn unusable_payloads(&self) -> &[UnusablePayload] {
        self.log.as_ref().map_or(&[], |log| &log.unusable)
    }

    /// How many unusable payloads were not kept.
    #[must_use]
    pub fn unusable_not_kept(&self) -> u64 {
        self.log.as_ref().map_or(0, |log| log.unusable_not_kept)
    }

    /// What to do with the session at `now`: its tracker's
    /// [`disposition`](Tracker::disposition) with the expiry of the latest `expires_at`
    /// reported, its last read due `last_read_margin` before it. Without an `expires_at`
    /// the session cannot be known to expire.
    ///
    /// ```
    /// use std::time::Duration;
    /// use hpp_status::ledger::{Delivery, SessionLedger};
    /// use hpp_status::wire::{SessionResponse, Timestamp};
    /// use hpp_status::Disposition;
    ///
    /// let read: SessionResponse = serde_json::from_str(
    ///     r#"{"status":"BACK","updated_at":"2019-05-13T14:53:00.000Z","expires_at":"2019-05-15T13:51:43.507Z"}"#,
    /// )?;
    /// let mut ledger = SessionLedger::new();
    /// ledger.record(Delivery::read_session(1, &read))?;
    /// let now: Timestamp = "2019-05-15T13:50:00.000Z".parse()?;
    /// assert_eq!(ledger.disposition(&now, Duration::from_secs(600)), Disposition::ReadBeforeExpiry);
    /// assert_eq!(ledger.disposition(&now, Duration::ZERO), Disposition::Open);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn disposition(&self, now: &Timestamp, last_read_margin: Duration) -> Disposition {
        let expiry = self.expires_at.map(|at| at.expiry(last_read_margin));
        self.tracker.disposition(now, expiry.as_ref())
    }

    /// The [`CallbackMissing`](AnomalyKind::CallbackMissing) anomaly, when the session is in
    /// that state.
    fn callback_missing(&self) -> Option<Anomaly> {
        let status = self.tracker.status()?;
        let by = self.final_by.as_ref()?;
        let missing = status.is_final()
            && status != Status::Disabled
            && by.source == Source::ReadSession
            && !self.final_by_callback;
        missing.then(|| {
            let detail = format_args!(
                "no callback reported {status}; Read Session did, so nothing was lost"
            );
            Anomaly::new(AnomalyKind::CallbackMissing, by.position, detail)
        })
    }

    /// The [`CompletionMissing`](AnomalyKind::CompletionMissing) anomaly, when the session
    /// is in that state.
    fn completion_missing(&self) -> Option<Anomaly> {
        let by = self.final_by.as_ref()?;
        let missing = self.tracker.status() == Some(Status::Completed) && self.completion.is_none();
        missing.then(|| {
            let detail = format_args!(
                "COMPLETED, but no delivery carried an authorization token or an order id: \
                 read the session to get it"
            );
            Anomaly::new(AnomalyKind::CompletionMissing, by.position, detail)
        })
    }
}

/// `text` cut to at most `limit` bytes at a character boundary.
fn cut(text: &str, limit: usize) -> &str {
    let mut end = text.len().min(limit);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// The text of `arguments`, at most `limit` bytes (cut at a character boundary and marked
/// with `…` when longer), written without holding more than that.
fn bounded(arguments: fmt::Arguments<'_>, limit: usize) -> Box<str> {
    struct Bounded {
        text: String,
        limit: usize,
        cut: bool,
    }
    impl fmt::Write for Bounded {
        fn write_str(&mut self, piece: &str) -> fmt::Result {
            let room = self.limit - self.text.len();
            if piece.len() <= room {
                self.text.push_str(piece);
                return Ok(());
            }
            self.text.push_str(cut(piece, room));
            self.cut = true;
            // Stop formatting: nothing more is kept.
            Err(fmt::Error)
        }
    }
    let ellipsis = '…';
    let mut out = Bounded {
        text: String::new(),
        limit: limit - ellipsis.len_utf8(),
        cut: false,
    };
    // An error only means the text was cut.
    let _ = out.write_fmt(arguments);
    if out.cut {
        out.text.push(ellipsis);
    }
    out.text.into_boxed_str()
}

impl Serialize for SessionLedger {
    /// `{"status":..,"updated_at":..,"expires_at":..,"deliveries":..,"final_by":..,
    /// "completion":..,"counts":{kind: n, ...},"anomalies":[..],"anomalies_not_kept":..,
    /// "unusable":[..],"unusable_not_kept":..}`; `counts` lists the kinds that occurred.
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let latest = self.tracker.latest();
        let mut state = serializer.serialize_struct("SessionLedger", 11)?;
        state.serialize_field("status", &latest.map(|seen| seen.status))?;
        state.serialize_field("updated_at", &latest.map(|seen| seen.updated_at))?;
        state.serialize_field("expires_at", &self.expires_at)?;
        state.serialize_field("deliveries", &self.deliveries)?;
        state.serialize_field("final_by", &self.final_by)?;
        state.serialize_field("completion", &self.completion())?;
        state.serialize_field("counts", &Counts(self))?;
        state.serialize_field("anomalies", &self.anomalies())?;
        state.serialize_field("anomalies_not_kept", &self.anomalies_not_kept())?;
        state.serialize_field("unusable", self.unusable_payloads())?;
        state.serialize_field("unusable_not_kept", &self.unusable_not_kept())?;
        state.end()
    }
}

/// A ledger's non-zero counts, as a map from kind to count.
struct Counts<'a>(&'a SessionLedger);

impl Serialize for Counts<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(
            AnomalyKind::ALL
                .into_iter()
                .map(|kind| (kind, self.0.count(kind)))
                .filter(|&(_, count)| count > 0),
        )
    }
}
