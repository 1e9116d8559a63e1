//! The background work: the batch that reads open sessions, and the effect worker that
//! places orders and releases carts.

use std::sync::Arc;
use std::time::Duration;

use hpp_status::wire::Timestamp;
use hpp_store::{Effect, EffectKind, StoreError};
use tokio::task::JoinSet;

use crate::Shared;
use backon::{BackoffBuilder as _, ExponentialBuilder};
use hpp_store::{AttemptAnswer, OrderState};

use crate::klarna::{Category, Read};
use crate::metrics::name;

/// What one read of a session came to.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum ReadResult {
    /// Read and merged.
    Merged,
    /// Read, but the payload could not be used (kept by the store for a person).
    Unusable,
    /// 404: the session expired (or Klarna does not know it).
    Expired,
    /// Not read, or not stored: to be read again.
    Failed,
}

/// Reads `session_id`, merges what Klarna said and records the read (so the batch
/// schedules the next one) in one write. `expires_at`, when known, tells an expired
/// session's 404 from an unexpected one.
pub(crate) async fn read_and_observe(
    shared: &Shared,
    session_id: &str,
    expires_at: Option<Timestamp>,
    read_at: Timestamp,
    source: &'static str,
) -> ReadResult {
    let result = read_and_merge(shared, session_id, expires_at, read_at, source).await;
    let outcome = match result {
        ReadResult::Merged => "merged",
        ReadResult::Unusable => "unusable",
        ReadResult::Expired => "expired",
        ReadResult::Failed => "failed",
    };
    shared.metrics.count(
        name::READS,
        &[("source", source.into()), ("outcome", outcome.into())],
    );
    result
}

async fn read_and_merge(
    shared: &Shared,
    session_id: &str,
    expires_at: Option<Timestamp>,
    read_at: Timestamp,
    source: &'static str,
) -> ReadResult {
    // The reads' share of the budget: orders keep the rest, and never wait behind reads.
    if let Some(budget) = &shared.read_budget {
        budget.until_ready().await;
    }
    // Reads wait their turn here, not in the database's queue, where the effect worker
    // (orders, within the token's lifetime) would wait behind them.
    let Ok(_permit) = shared.reads.acquire().await else {
        return ReadResult::Failed; // closed: shutting down
    };
    match shared.klarna.read_session(session_id).await {
        // The merge and the read's bookkeeping are one write (an unusable payload is kept
        // and the read recorded all the same).
        Ok(Read::Session(session)) => match shared
            .store
            .observe_read(session_id, &session, read_at)
            .await
        {
            Ok(outcome) => {
                tracing::info!(session_id, source, outcome = %outcome.kind(),
                    status = %outcome.current(), "session read");
                ReadResult::Merged
            }
            Err(error @ StoreError::Unusable { .. }) => {
                tracing::warn!(%error, session_id, source, "unusable session read, kept");
                ReadResult::Unusable
            }
            Err(error) => {
                tracing::error!(%error, session_id, source, "merging a session read");
                ReadResult::Failed
            }
        },
        Ok(Read::NotFound) => {
            // After expires_at: the session expired. Before it (a clock ahead of Klarna's,
            // or a session Klarna lost): the same for the merchant; the times say which.
            tracing::info!(session_id, source, %read_at, expires_at = ?expires_at.map(|t| t.to_string()),
                "Read Session answered 404: the session expired");
            if let Err(error) = shared.store.record_read(session_id, read_at).await {
                tracing::error!(%error, session_id, "recording a read");
            }
            ReadResult::Expired
        }
        Err(error) => {
            // The batch reads it again when its claim ends, before it expires.
            tracing::warn!(%error, session_id, source, "reading the session failed");
            ReadResult::Failed
        }
    }
}

/// How often the read after a callback is tried, and the pause before the first retry
/// (doubled each time, with jitter, and never shorter than a 429's `Retry-After`): a failure
/// is then left to the batch.
const CALLBACK_READ_ATTEMPTS: u32 = 4;
const CALLBACK_READ_RETRY: Duration = Duration::from_millis(200);

/// The read a callback asks for, retried a few times when it fails (Read Session errors,
/// the database busy); after that the batch reads the session before it expires.
/// `expires_at` is the registration's. (A callback for a final session asks for no read:
/// the handler sees that in the registration it checks the secret against.)
pub(crate) async fn read_after_callback(
    shared: &Shared,
    session_id: &str,
    expires_at: Option<Timestamp>,
) -> ReadResult {
    let mut pauses = ExponentialBuilder::default()
        .with_min_delay(CALLBACK_READ_RETRY)
        .with_factor(2.0)
        .with_jitter()
        .with_max_times(CALLBACK_READ_ATTEMPTS as usize - 1)
        .build();
    loop {
        let result =
            read_and_observe(shared, session_id, expires_at, Timestamp::now(), "callback").await;
        if result != ReadResult::Failed {
            return result;
        }
        let Some(pause) = pauses.next() else {
            break;
        };
        let pause = pause.max(shared.klarna.paused_for(Category::Other));
        tokio::select! {
            () = shared.cancel.cancelled() => return result,
            () = tokio::time::sleep(pause) => {}
        }
    }
    tracing::warn!(
        session_id,
        attempts = CALLBACK_READ_ATTEMPTS,
        "reading the session after a callback failed; left to the batch"
    );
    ReadResult::Failed
}

/// Whether a round claimed all it could: then there may be more, and the next round starts
/// at once instead of after the interval.
pub(crate) fn round_was_full(claimed: usize, limit: usize) -> bool {
    claimed >= limit
}

/// The fewest sessions the batch claims at once when `limit` reads may be under way: a
/// quarter of them (at least one). Claims are writes: made for a quarter of the room, not for
/// each read that finishes.
pub(crate) fn claim_chunk(limit: usize) -> usize {
    (limit / 4).max(1)
}

/// When the batch claims sessions to read: the loop's decisions, without its I/O.
#[derive(Debug)]
pub(crate) struct ClaimPace {
    limit: usize,
    chunk: usize,
    interval: Duration,
    next_claim: tokio::time::Instant,
}

impl ClaimPace {
    /// Up to `limit` reads under way; a look for due sessions every `interval` while fewer
    /// are due than there is room for. The first claim may be made at once.
    pub(crate) fn new(limit: usize, interval: Duration, now: tokio::time::Instant) -> ClaimPace {
        ClaimPace {
            limit,
            chunk: claim_chunk(limit),
            interval,
            next_claim: now,
        }
    }

    /// The room for reads beside `under_way` ones, if it holds a chunk at least.
    fn room_for_a_chunk(&self, under_way: usize) -> Option<usize> {
        let room = self.limit.saturating_sub(under_way);
        (room >= self.chunk).then_some(room)
    }

    /// How many sessions to claim now, with `under_way` reads under way: none before the
    /// next claim is due or while there is room for less than a chunk.
    pub(crate) fn room(&self, under_way: usize, now: tokio::time::Instant) -> Option<usize> {
        self.room_for_a_chunk(under_way)
            .filter(|_| now >= self.next_claim)
    }

    /// A claim for `room` was made at `now` and took `claimed` (`None`: it failed): as many
    /// as there was room for means there may be more due now; fewer, or a failure, means
    /// looking again after the interval.
    pub(crate) fn claimed(
        &mut self,
        room: usize,
        claimed: Option<usize>,
        now: tokio::time::Instant,
    ) {
        self.next_claim = match claimed {
            Some(claimed) if round_was_full(claimed, room) => now,
            _ => now + self.interval,
        };
    }

    /// When the loop should wake up to claim, with `under_way` reads under way: never while
    /// there is room for less than a chunk (a read finishing wakes it instead).
    pub(crate) fn wake_at(&self, under_way: usize) -> Option<tokio::time::Instant> {
        self.room_for_a_chunk(under_way).map(|_| self.next_claim)
    }
}

/// Claims up to `room` sessions due for reading and starts their reads in `reads`; how
/// many it claimed.
pub(crate) async fn claim_reads(
    shared: &Arc<Shared>,
    room: usize,
    reads: &mut JoinSet<ReadResult>,
) -> Result<usize, StoreError> {
    let due = shared.store.due_for_read(Timestamp::now(), room).await?;
    let claimed = due.len();
    for session in due {
        let shared = Arc::clone(shared);
        reads.spawn(async move {
            let read_at = Timestamp::now();
            read_and_observe(
                &shared,
                &session.session_id,
                Some(session.expires_at),
                read_at,
                "batch",
            )
            .await
        });
    }
    Ok(claimed)
}

/// The batch loop: keeps up to `limit` reads of due sessions under way, claiming more as
/// reads finish (a slow read never holds up the others), and looking again every
/// `interval` while fewer are due than there is room for. On shutdown, the reads under way
/// finish (each within the Klarna timeout).
pub(crate) async fn batch_loop(shared: Arc<Shared>, interval: Duration, limit: usize) {
    let mut writable = true;
    let mut reads = JoinSet::new();
    let mut pace = ClaimPace::new(limit, interval, tokio::time::Instant::now());
    loop {
        let now = tokio::time::Instant::now();
        if let Some(room) = pace.room(reads.len(), now) {
            let claimed = if can_write(&shared, &mut writable, "batch").await {
                claim_reads(&shared, room, &mut reads)
                    .await
                    .inspect_err(
                        |error| tracing::error!(%error, "claiming sessions to read failed"),
                    )
                    .ok()
            } else {
                None
            };
            pace.claimed(room, claimed, now);
        }
        let wake_at = pace.wake_at(reads.len());
        tokio::select! {
            () = shared.cancel.cancelled() => break,
            Some(done) = reads.join_next(), if !reads.is_empty() => {
                if let Err(join) = done {
                    tracing::error!(%join, "a batch read task failed");
                }
            }
            // Without a time to wake up at, the arm is off (its `now` is never waited for).
            () = tokio::time::sleep_until(wake_at.unwrap_or(now)), if wake_at.is_some() => {}
        }
    }
    while let Some(done) = reads.join_next().await {
        if let Err(join) = done {
            tracing::error!(%join, "a batch read task failed");
        }
    }
}

/// Whether the database takes writes (the probe, reused for a second): an instance that
/// cannot write claims no work, which it could not record. Logs when it changes.
async fn can_write(shared: &Shared, was: &mut bool, who: &'static str) -> bool {
    let now = shared.writable().await;
    match (&now, *was) {
        (Err(error), true) => {
            tracing::error!(%error, who, "the database takes no writes: claiming no work until it does");
        }
        (Ok(()), false) => tracing::info!(who, "the database takes writes again: claiming work"),
        _ => {}
    }
    *was = now.is_ok();
    *was
}

/// The idempotency key of an effect's order placement: the same on every attempt, so that
/// a retry after a crash is recognised as one.
#[must_use]
pub(crate) fn idempotency_key(effect: &Effect) -> String {
    format!("hpp-merchant-effect-{}", effect.id)
}

/// Why an effect could not be done now, and the least time to wait before its next try.
#[derive(Debug)]
pub(crate) struct Retry {
    reason: String,
    at_least: Duration,
}

/// The pause before try `tries + 1` of an effect: exponential from the configured minimum,
/// with jitter, capped; never shorter than what a 429 asked the calls to wait.
pub(crate) fn backoff(shared: &Shared, tries: u32) -> Duration {
    let (min, max) = shared.effect_retry;
    let delay = ExponentialBuilder::default()
        .with_min_delay(min)
        .with_max_delay(max)
        .with_factor(2.0)
        .with_jitter()
        .without_max_times()
        .build()
        .nth(tries.saturating_sub(1) as usize)
        .unwrap_or(max);
    delay.max(shared.klarna.paused_for(Category::Other))
}

/// Places the order for `effect` with `token`: the call is recorded before it is sent and its
/// answer after; the effect is done when Klarna answered placed or refused, and tried again
/// later (with a backoff) when the call did not reach Klarna or its answer was lost.
async fn place_order(shared: &Shared, effect: &Effect, token: &str) -> Result<(), Retry> {
    let key = idempotency_key(effect);
    let session_id = effect.session_id.as_str();
    let call = shared
        .store
        .begin_order_attempt(effect, &key, &shared.worker)
        .await
        .map_err(|error| Retry {
            reason: format!("the call was not sent: {error}"),
            at_least: Duration::ZERO,
        })?;
    // The session id is the order's merchant_reference1: what a person searches it by.
    let answer = shared.klarna.create_order(token, &key, session_id).await;
    if let Err(error) = shared
        .store
        .answer_order_attempt(effect, call, &answer)
        .await
    {
        // Unrecorded, the call reads as perhaps placed: never as placed or refused.
        tracing::error!(%error, session_id, effect = effect.id, call, answer = answer.name(),
            "recording a create order answer");
    }
    match &answer {
        AttemptAnswer::Placed { order_id } => {
            tracing::info!(
                session_id,
                effect = effect.id,
                order_id,
                call,
                "order placed"
            );
            shared
                .metrics
                .count(name::ORDERS, &[("state", "placed".into())]);
            Ok(())
        }
        AttemptAnswer::Refused { detail } => {
            let calls = shared
                .store
                .order_attempts(Some(effect.id))
                .await
                .map_err(|error| Retry {
                    reason: format!("reading the order's calls: {error}"),
                    at_least: backoff(shared, call),
                })?;
            let state = OrderState::of(Some(&effect.kind), true, &calls);
            if state == OrderState::Unknown {
                let lost_at = calls
                    .iter()
                    .filter(|earlier| earlier.may_have_placed())
                    .map(|earlier| earlier.started_at.to_string())
                    .collect::<Vec<_>>()
                    .join(", ");
                tracing::error!(
                    session_id,
                    effect = effect.id,
                    idempotency_key = key,
                    merchant_reference1 = session_id,
                    lost_at,
                    detail,
                    "order UNKNOWN: a create order call's answer was lost and the token is now refused; a person must look the order up (merchant_reference1 = the session id)"
                );
            } else {
                tracing::error!(
                    session_id,
                    effect = effect.id,
                    detail,
                    "order NOT placed: the authorization token was refused (expired or invalid) and no earlier call reached Klarna"
                );
            }
            shared
                .metrics
                .count(name::ORDERS, &[("state", state.name().into())]);
            Ok(())
        }
        AttemptAnswer::NotSent { detail } | AttemptAnswer::Lost { detail } => Err(Retry {
            reason: format!("{}: {detail}", answer.name()),
            at_least: backoff(shared, call),
        }),
    }
}

async fn perform(shared: &Shared, effect: &Effect) -> Result<(), Retry> {
    let session_id = effect.session_id.as_str();
    match &effect.kind {
        EffectKind::PlaceOrder {
            authorization_token,
        } => place_order(shared, effect, authorization_token).await,
        EffectKind::OrderPlacedByKlarna {
            order_id,
            klarna_reference,
        } => {
            tracing::info!(
                session_id,
                effect = effect.id,
                order_id,
                klarna_reference,
                "order placed by Klarna recorded"
            );
            Ok(())
        }
        EffectKind::CompletedWithoutReference => {
            match shared.klarna.read_session(session_id).await {
                // What the read yields is the store's rule for a completion.
                Ok(Read::Session(session)) => {
                    match EffectKind::on_final(hpp_status::Status::Completed, &session) {
                        EffectKind::OrderPlacedByKlarna { order_id, .. } => {
                            tracing::info!(
                                session_id,
                                effect = effect.id,
                                order_id,
                                "order placed by Klarna recorded (read after a completion without reference)"
                            );
                            Ok(())
                        }
                        EffectKind::PlaceOrder {
                            authorization_token,
                        } => place_order(shared, effect, &authorization_token).await,
                        // For a completion: CompletedWithoutReference.
                        EffectKind::CompletedWithoutReference
                        | EffectKind::SessionEnded { .. }
                        | EffectKind::Conflict { .. } => {
                            tracing::error!(
                                session_id,
                                effect = effect.id,
                                "COMPLETED without token or order id even on Read Session: a person must look"
                            );
                            Ok(())
                        }
                    }
                }
                Ok(Read::NotFound) => {
                    tracing::error!(
                        session_id,
                        effect = effect.id,
                        "COMPLETED without reference and the session is gone: a person must look"
                    );
                    Ok(())
                }
                Err(error) => Err(Retry {
                    reason: error.to_string(),
                    at_least: backoff(shared, effect.attempt),
                }),
            }
        }
        EffectKind::SessionEnded { status } => {
            tracing::info!(session_id, effect = effect.id, %status, "cart released");
            Ok(())
        }
        EffectKind::Conflict { kept, rejected, .. } => {
            tracing::error!(session_id, effect = effect.id, %kept, %rejected,
                "conflicting deliveries: a person must look (kept in the effects table)");
            Ok(())
        }
    }
}

/// Does one claimed effect and completes or releases it.
async fn do_effect(shared: &Shared, effect: &Effect) -> Result<(), StoreError> {
    let count = |result: &'static str| {
        shared.metrics.count(
            name::EFFECTS,
            &[
                ("kind", effect.kind.name().into()),
                ("result", result.into()),
            ],
        );
    };
    if effect.attempt > 1 {
        shared.metrics.count(name::EFFECT_RECLAIMS, &[]);
    }
    match perform(shared, effect).await {
        Ok(()) => match shared.store.complete_effect(effect).await {
            Ok(()) => count("done"),
            Err(error @ StoreError::LeaseLost { .. }) => {
                count("lease_lost");
                tracing::warn!(%error, session_id = effect.session_id, effect = effect.id,
                    "effect done but its lease was lost; another worker may do it again");
            }
            Err(error) => return Err(error),
        },
        Err(Retry { reason, at_least }) => {
            count("retry");
            tracing::warn!(
                session_id = effect.session_id,
                effect = effect.id,
                reason,
                ?at_least,
                "effect failed; tried again later"
            );
            if let Err(error) = shared.store.release_effect_for(effect, at_least).await {
                tracing::warn!(%error, effect = effect.id, "releasing a failed effect");
            }
        }
    }
    Ok(())
}

/// Claims as many effects as there are free places among `batch` under way, and starts each
/// in `running`; how many it claimed. Effects run side by side: a call to Klarna that hangs
/// until its timeout holds up its own effect, never the others.
pub(crate) async fn claim_round(
    shared: &Arc<Shared>,
    running: &mut JoinSet<()>,
    batch: usize,
    lease: Duration,
) -> Result<usize, StoreError> {
    let free = batch.saturating_sub(running.len());
    if free == 0 {
        return Ok(0);
    }
    let effects = shared
        .store
        .claim_effects(&shared.worker, free, lease)
        .await?;
    let claimed = effects.len();
    for effect in effects {
        let shared = Arc::clone(shared);
        running.spawn(async move {
            if let Err(error) = do_effect(&shared, &effect).await {
                tracing::error!(%error, session_id = effect.session_id, effect = effect.id,
                    "completing an effect");
            }
        });
    }
    Ok(claimed)
}

/// The effect worker loop: keeps up to `batch` effects under way; claims more at once when
/// a claim was full, else after `interval` or as soon as one finishes. On shutdown it lets
/// the effects under way finish (or leaves them to their leases).
pub(crate) async fn effect_loop(
    shared: Arc<Shared>,
    interval: Duration,
    batch: usize,
    lease: Duration,
) {
    let mut writable = true;
    let mut running = JoinSet::new();
    loop {
        while running.try_join_next().is_some() {}
        let full = if !can_write(&shared, &mut writable, "effect worker").await {
            false
        } else {
            let free = batch.saturating_sub(running.len());
            match claim_round(&shared, &mut running, batch, lease).await {
                Ok(claimed) => free > 0 && round_was_full(claimed, free),
                Err(error) => {
                    tracing::error!(%error, "effect round failed");
                    false
                }
            }
        };
        // After a full claim at once: there may be more.
        let pause = if full { Duration::ZERO } else { interval };
        tokio::select! {
            () = shared.cancel.cancelled() => break,
            () = tokio::time::sleep(pause) => {}
            Some(_) = running.join_next(), if !running.is_empty() => {}
        }
    }
    while running.join_next().await.is_some() {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_round_is_full_when_it_claimed_its_limit() {
        assert!(round_was_full(10, 10));
        assert!(!round_was_full(9, 10));
        assert!(round_was_full(11, 10));
    }

    #[test]
    fn the_batch_claims_a_quarter_of_its_reads_at_once() {
        assert_eq!(claim_chunk(64), 16);
        assert_eq!(claim_chunk(100), 25);
        assert_eq!(claim_chunk(7), 1);
        assert_eq!(claim_chunk(1), 1);
        assert_eq!(claim_chunk(0), 1);
    }

    #[test]
    fn the_batch_claims_when_due_and_there_is_room_for_a_chunk() {
        let start = tokio::time::Instant::now();
        let second = Duration::from_secs(1);
        let mut pace = ClaimPace::new(8, second, start);
        // At once, for the whole room; with room for less than a chunk (2), not at all.
        assert_eq!(pace.room(0, start), Some(8));
        assert_eq!(pace.room(5, start), Some(3));
        assert_eq!(pace.room(7, start), None);
        assert_eq!(pace.wake_at(7), None);
        assert_eq!(pace.wake_at(6), Some(start));
        // Fewer due than there was room for: the next look is an interval later.
        pace.claimed(8, Some(3), start);
        assert_eq!(pace.room(3, start), None);
        assert_eq!(pace.room(3, start + second / 2), None);
        assert_eq!(pace.wake_at(3), Some(start + second));
        assert_eq!(pace.room(3, start + second), Some(5));
        // As many as there was room for: maybe more due, so at once (when there is room).
        let later = start + second;
        pace.claimed(5, Some(5), later);
        assert_eq!(pace.wake_at(8), None);
        assert_eq!(pace.room(6, later), Some(2));
        assert_eq!(pace.wake_at(6), Some(later));
        // A failed claim: again after the interval.
        pace.claimed(2, None, later);
        assert_eq!(pace.room(0, later), None);
        assert_eq!(pace.room(0, later + second), Some(8));
    }
}
