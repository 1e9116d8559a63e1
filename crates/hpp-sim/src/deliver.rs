//! Delivering status callbacks and redirects in the background, as the registry decided
//! them (with their faults, see [`faults`](crate::faults)), and recording what the merchant
//! answered.

use std::sync::Arc;
use std::time::Duration;

use hpp_status::wire::ReportedStatus;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use url::Url;

use crate::clock::Clock;
use crate::config::{Timing, is_loopback_url};
use crate::registry::{Delivery, RedirectVisit, SharedRegistry, lock};
use crate::truth::{Answer, CallbackAttempt, DeliveryKind, EventOutcome, Redirect};

/// Sends callbacks and follows redirects in the background, recording what happened in the
/// registry.
pub(crate) struct Courier {
    pub(crate) registry: SharedRegistry,
    pub(crate) clock: Arc<Clock>,
    pub(crate) client: reqwest::Client,
    pub(crate) timing: Timing,
    pub(crate) max_retries: u32,
    pub(crate) allow_remote: bool,
    /// Every delivery and redirect under way.
    pub(crate) tasks: TaskTracker,
    pub(crate) cancel: CancellationToken,
}

impl Courier {
    /// Starts delivering `delivery` (and its duplicate and forgery) in the background.
    pub(crate) fn spawn(self: &Arc<Self>, delivery: Delivery) {
        let delivery = Arc::new(delivery);
        if let Some(after) = delivery.faults.forged_after {
            let (courier, delivery) = (Arc::clone(self), Arc::clone(&delivery));
            self.tasks
                .spawn(async move { courier.send_forgery(&delivery, after).await });
        }
        if delivery.faults.lost {
            tracing::debug!(session_id = %delivery.session_id, event_id = %delivery.event_id, "callback lost on purpose");
            return;
        }
        if let Some(after) = delivery.faults.duplicate_after {
            let (courier, delivery) = (Arc::clone(self), Arc::clone(&delivery));
            self.tasks
                .spawn(async move { courier.send_duplicate(&delivery, after).await });
        }
        let courier = Arc::clone(self);
        self.tasks
            .spawn(async move { courier.deliver(&delivery).await });
    }

    /// Starts the consumer's browser on its way to a merchant URL.
    pub(crate) fn spawn_redirect(self: &Arc<Self>, visit: RedirectVisit) {
        let courier = Arc::clone(self);
        self.tasks.spawn(async move {
            let at = courier.clock.now();
            let url = Url::parse(&visit.url)
                .ok()
                .filter(|url| courier.allow_remote || is_loopback_url(url));
            let answer = match url {
                None => None,
                Some(url) => {
                    let request = courier
                        .client
                        .get(url)
                        .timeout(courier.timing.callback_timeout);
                    tokio::select! {
                        () = courier.cancel.cancelled() => return,
                        result = request.send() => Some(classify(result)),
                    }
                }
            };
            lock(&courier.registry).record_redirect(
                &visit.session_id,
                Redirect {
                    at,
                    which: visit.which.to_owned(),
                    url: visit.url,
                    answer,
                },
            );
        });
    }

    fn end_event(&self, delivery: &Delivery, outcome: EventOutcome) {
        let at = self.clock.now();
        lock(&self.registry).end_event(&delivery.session_id, &delivery.event_id, outcome, at);
    }

    fn record_attempt(&self, delivery: &Delivery, attempt: CallbackAttempt) {
        lock(&self.registry).record_attempt(&delivery.session_id, attempt);
    }

    /// The event's attempts: first, then retries until a counted 2xx or none left.
    async fn deliver(&self, delivery: &Delivery) {
        let faults = delivery.faults;
        if let Some(hold) = faults.hold
            && !self.pause(hold).await
        {
            return self.end_event(delivery, EventOutcome::Cancelled);
        }
        let attempts = 1 + self.max_retries;
        for attempt in 1..=attempts {
            let empty = attempt > 1 && faults.empty_retry;
            let body = if empty {
                String::new()
            } else {
                delivery.body.clone()
            };
            let at = self.clock.now();
            let Some(answer) = self.post(&delivery.url, body).await else {
                return self.end_event(delivery, EventOutcome::Cancelled);
            };
            let ignored = attempt == 1 && (faults.answer_dropped || faults.empty_retry);
            let acknowledged = answer.is_success() && !ignored;
            tracing::debug!(session_id = %delivery.session_id, event_id = %delivery.event_id, attempt, ?answer, acknowledged, "callback attempt");
            self.record_attempt(
                delivery,
                CallbackAttempt {
                    at,
                    event_id: delivery.event_id.clone(),
                    kind: if attempt == 1 {
                        DeliveryKind::Original
                    } else {
                        DeliveryKind::Retry
                    },
                    attempt,
                    empty_body: empty,
                    status: (!empty).then(|| delivery.status.clone()),
                    url: delivery.url.to_string(),
                    answer,
                    acknowledged,
                },
            );
            if acknowledged {
                return self.end_event(delivery, EventOutcome::Acknowledged);
            }
            if attempt < attempts && !self.pause(self.timing.retry_delay).await {
                return self.end_event(delivery, EventOutcome::Cancelled);
            }
        }
        tracing::debug!(session_id = %delivery.session_id, event_id = %delivery.event_id, "callback given up");
        self.end_event(delivery, EventOutcome::GivenUp);
    }

    /// The injected second copy: same event id, same body, one attempt.
    async fn send_duplicate(&self, delivery: &Delivery, after: Duration) {
        if !self.pause(after).await {
            return;
        }
        let at = self.clock.now();
        let Some(answer) = self.post(&delivery.url, delivery.body.clone()).await else {
            return;
        };
        self.record_attempt(
            delivery,
            CallbackAttempt {
                at,
                event_id: delivery.event_id.clone(),
                kind: DeliveryKind::Duplicate,
                attempt: 1,
                empty_body: false,
                status: Some(delivery.status.clone()),
                url: delivery.url.to_string(),
                // A duplicate's answer never ends the event: the original's attempts do.
                acknowledged: false,
                answer,
            },
        );
    }

    /// The injected forgery: wrong secret, lying body, one attempt.
    async fn send_forgery(&self, delivery: &Delivery, after: Duration) {
        if !self.pause(after).await {
            return;
        }
        let at = self.clock.now();
        let Some(answer) = self
            .post(&delivery.forged_url, delivery.forged_body.clone())
            .await
        else {
            return;
        };
        tracing::debug!(session_id = %delivery.session_id, ?answer, "forged callback sent");
        self.record_attempt(
            delivery,
            CallbackAttempt {
                at,
                event_id: delivery.forged_event_id.clone(),
                kind: DeliveryKind::Forged,
                attempt: 1,
                empty_body: false,
                status: Some(ReportedStatus::Known(hpp_status::Status::Completed)),
                url: delivery.forged_url.to_string(),
                acknowledged: false,
                answer,
            },
        );
    }

    /// Sleeps `wall` on the world's clock; `false` when the simulator shuts down first.
    async fn pause(&self, wall: Duration) -> bool {
        tokio::select! {
            () = self.cancel.cancelled() => false,
            () = self.clock.sleep(wall) => true,
        }
    }

    /// One POST with the callback timeout; `None` when the simulator shuts down first.
    async fn post(&self, url: &Url, body: String) -> Option<Answer> {
        let request = self
            .client
            .post(url.clone())
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .timeout(self.timing.callback_timeout)
            .body(body);
        tokio::select! {
            () = self.cancel.cancelled() => None,
            result = request.send() => Some(classify(result)),
        }
    }
}

fn classify(result: reqwest::Result<reqwest::Response>) -> Answer {
    match result {
        Ok(response) => Answer::Status {
            code: response.status().as_u16(),
        },
        Err(error) if error.is_timeout() => Answer::Timeout,
        Err(error) => {
            let mut causes = Vec::new();
            let mut source = std::error::Error::source(&error);
            while let Some(cause) = source {
                causes.push(cause.to_string());
                source = cause.source();
            }
            let mut reason = error.without_url().to_string();
            for cause in causes {
                reason.push_str(": ");
                reason.push_str(&cause);
            }
            Answer::Failed { reason }
        }
    }
}
