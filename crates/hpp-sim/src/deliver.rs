//! Delivering status callbacks the way the HPP documents it, and breaking the rules on
//! purpose.
//!
//! The rules: the POST is sent without holding up the session; an attempt without a 2xx
//! within the timeout is retried after a pause, up to `max_retries` more times, with the
//! same `event_id`; then the simulator gives up. The faults, each drawn per event from the
//! session's fault generator (always the same number of draws, so the draws of one event
//! never depend on another's answers):
//!
//! | fault | what the simulator does |
//! |---|---|
//! | lost | sends nothing for the event, retries included |
//! | duplicated | also sends one extra copy (same `event_id`, same body) a random time later; the copy is not retried |
//! | delayed | holds the first attempt back a random time, so later events of the session overtake it |
//! | empty retry | ignores the first attempt's answer and sends every retry with an empty body |
//! | answer dropped | ignores the first attempt's answer, as if it had timed out, so the event is retried |
//! | forged | posts an extra callback, a random time later, to the `status_update` URL with its secret replaced: another `event_id`, and a body that claims `COMPLETED` with a made-up `authorization_token` and a later `updated_at` |
//!
//! A lost event can still be forged: the forgery does not depend on the real delivery.

use std::sync::Arc;
use std::time::Duration;

use hpp_status::wire::ReportedStatus;
use rand::{Rng, RngExt as _};
use url::Url;

use crate::config::FaultConfig;
use crate::state::{Shared, now};
use crate::truth::{Answer, CallbackAttempt, DeliveryKind, EventOutcome, Redirect};

/// The faults drawn for one event.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub(crate) struct DrawnFaults {
    pub(crate) lost: bool,
    pub(crate) duplicate_after: Option<Duration>,
    pub(crate) hold: Option<Duration>,
    pub(crate) empty_retry: bool,
    pub(crate) answer_dropped: bool,
    pub(crate) forged_after: Option<Duration>,
}

impl DrawnFaults {
    /// Draws every fault of one event, always with the same number of draws.
    pub(crate) fn draw<R: Rng + ?Sized>(
        rng: &mut R,
        faults: &FaultConfig,
        max_hold: Duration,
    ) -> DrawnFaults {
        let hold = |rng: &mut R| rng.random_range(Duration::ZERO..=max_hold);
        let lost = rng.random_bool(faults.lost);
        let duplicated = rng.random_bool(faults.duplicated);
        let duplicate_after = hold(rng);
        let delayed = rng.random_bool(faults.delayed);
        let delay = hold(rng);
        let empty_retry = rng.random_bool(faults.empty_retry);
        let answer_dropped = rng.random_bool(faults.answer_dropped);
        let forged = rng.random_bool(faults.forged);
        let forged_after = hold(rng);
        DrawnFaults {
            lost,
            duplicate_after: (duplicated && !lost).then_some(duplicate_after),
            hold: (delayed && !lost).then_some(delay),
            empty_retry: empty_retry && !lost,
            answer_dropped: answer_dropped && !lost,
            forged_after: forged.then_some(forged_after),
        }
    }
}

/// One event to deliver, with its forgery ready in case one was drawn.
pub(crate) struct Delivery {
    pub(crate) session_id: String,
    pub(crate) event_id: String,
    pub(crate) url: Url,
    pub(crate) body: String,
    pub(crate) status: ReportedStatus,
    pub(crate) faults: DrawnFaults,
    pub(crate) forged_url: Url,
    pub(crate) forged_event_id: String,
    pub(crate) forged_body: String,
    pub(crate) forged_token: String,
}

/// A redirect of the consumer's browser.
pub(crate) struct RedirectVisit {
    pub(crate) session_id: String,
    pub(crate) which: &'static str,
    pub(crate) url: String,
}

/// Starts delivering `delivery` (and its duplicate and forgery) in the background. The
/// caller has recorded the forged token, if any.
pub(crate) fn spawn(shared: &Arc<Shared>, delivery: Delivery) {
    let delivery = Arc::new(delivery);
    if let Some(after) = delivery.faults.forged_after {
        let (shared, delivery) = (Arc::clone(shared), Arc::clone(&delivery));
        shared
            .deliveries
            .clone()
            .spawn(async move { send_forgery(&shared, &delivery, after).await });
    }
    if delivery.faults.lost {
        tracing::debug!(session_id = %delivery.session_id, event_id = %delivery.event_id, "callback lost on purpose");
        return;
    }
    if let Some(after) = delivery.faults.duplicate_after {
        let (shared, delivery) = (Arc::clone(shared), Arc::clone(&delivery));
        shared
            .deliveries
            .clone()
            .spawn(async move { send_duplicate(&shared, &delivery, after).await });
    }
    let shared = Arc::clone(shared);
    shared
        .deliveries
        .clone()
        .spawn(async move { deliver(&shared, &delivery).await });
}

/// The event's attempts: first, then retries until a counted 2xx or none left.
async fn deliver(shared: &Shared, delivery: &Delivery) {
    let faults = delivery.faults;
    if let Some(hold) = faults.hold
        && !pause(shared, hold).await
    {
        return shared.end_event(
            &delivery.session_id,
            &delivery.event_id,
            EventOutcome::Cancelled,
        );
    }
    let attempts = 1 + shared.config.delivery.max_retries;
    for attempt in 1..=attempts {
        let empty = attempt > 1 && faults.empty_retry;
        let body = if empty {
            String::new()
        } else {
            delivery.body.clone()
        };
        let at = now();
        let Some(answer) = post(shared, &delivery.url, body).await else {
            return shared.end_event(
                &delivery.session_id,
                &delivery.event_id,
                EventOutcome::Cancelled,
            );
        };
        let ignored = attempt == 1 && (faults.answer_dropped || faults.empty_retry);
        let acknowledged = answer.is_success() && !ignored;
        tracing::debug!(session_id = %delivery.session_id, event_id = %delivery.event_id, attempt, ?answer, acknowledged, "callback attempt");
        shared.record_attempt(
            &delivery.session_id,
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
            return shared.end_event(
                &delivery.session_id,
                &delivery.event_id,
                EventOutcome::Acknowledged,
            );
        }
        if attempt < attempts && !pause(shared, shared.timing.retry_delay).await {
            return shared.end_event(
                &delivery.session_id,
                &delivery.event_id,
                EventOutcome::Cancelled,
            );
        }
    }
    tracing::debug!(session_id = %delivery.session_id, event_id = %delivery.event_id, "callback given up");
    shared.end_event(
        &delivery.session_id,
        &delivery.event_id,
        EventOutcome::GivenUp,
    );
}

/// The injected second copy: same event id, same body, one attempt.
async fn send_duplicate(shared: &Shared, delivery: &Delivery, after: Duration) {
    if !pause(shared, after).await {
        return;
    }
    let at = now();
    let Some(answer) = post(shared, &delivery.url, delivery.body.clone()).await else {
        return;
    };
    shared.record_attempt(
        &delivery.session_id,
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
async fn send_forgery(shared: &Shared, delivery: &Delivery, after: Duration) {
    if !pause(shared, after).await {
        return;
    }
    let at = now();
    let Some(answer) = post(shared, &delivery.forged_url, delivery.forged_body.clone()).await
    else {
        return;
    };
    tracing::debug!(session_id = %delivery.session_id, ?answer, "forged callback sent");
    shared.record_attempt(
        &delivery.session_id,
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

/// Starts the consumer's browser on its way to a merchant URL.
pub(crate) fn spawn_redirect(shared: &Arc<Shared>, visit: RedirectVisit) {
    let shared = Arc::clone(shared);
    shared.deliveries.clone().spawn(async move {
        let at = now();
        let url = Url::parse(&visit.url)
            .ok()
            .filter(|url| shared.may_call(url));
        let answer = match url {
            None => None,
            Some(url) => {
                let request = shared
                    .client
                    .get(url)
                    .timeout(shared.timing.callback_timeout);
                tokio::select! {
                    () = shared.cancel.cancelled() => return,
                    result = request.send() => Some(classify(result)),
                }
            }
        };
        shared.record_redirect(
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

/// Sleeps `wall`; `false` when the simulator shuts down first.
async fn pause(shared: &Shared, wall: Duration) -> bool {
    tokio::select! {
        () = shared.cancel.cancelled() => false,
        () = tokio::time::sleep(wall) => true,
    }
}

/// One POST with the callback timeout; `None` when the simulator shuts down first.
async fn post(shared: &Shared, url: &Url, body: String) -> Option<Answer> {
    let request = shared
        .client
        .post(url.clone())
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .timeout(shared.timing.callback_timeout)
        .body(body);
    tokio::select! {
        () = shared.cancel.cancelled() => None,
        result = request.send() => Some(classify(result)),
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

/// The `status_update` URL as a forger who does not know the secret would write it: every
/// query value other than the session id, and every path segment of 16 or more
/// `[A-Za-z0-9_-]` characters other than the session id, replaced by random characters of
/// the same length. `true` when something was replaced; when nothing was (the URL carries
/// no secret), the forgery goes to the real URL.
///
/// Put the secret in the query string (`?secret=...`) or in a long path segment, and a
/// forgery carries a wrong one.
pub(crate) fn forge_url<R: Rng + ?Sized>(url: &Url, session_id: &str, rng: &mut R) -> (Url, bool) {
    let mut forged = url.clone();
    let mut replaced = false;
    let pairs: Vec<(String, String)> = url.query_pairs().into_owned().collect();
    if !pairs.is_empty() {
        let pairs: Vec<(String, String)> = pairs
            .into_iter()
            .map(|(name, value)| {
                if value.is_empty() || value == session_id {
                    (name, value)
                } else {
                    replaced = true;
                    let other = scramble(rng, &value);
                    (name, other)
                }
            })
            .collect();
        forged.query_pairs_mut().clear().extend_pairs(pairs);
    }
    if let Some(segments) = url.path_segments() {
        let segments: Vec<String> = segments
            .map(|segment| {
                let secret_like = segment.len() >= 16
                    && segment != session_id
                    && segment
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
                if secret_like {
                    replaced = true;
                    scramble(rng, segment)
                } else {
                    segment.to_owned()
                }
            })
            .collect();
        if let Ok(mut path) = forged.path_segments_mut() {
            path.clear().extend(segments);
        }
    }
    (forged, replaced)
}

/// Random alphanumeric characters, as many as `original` has, and never equal to it.
fn scramble<R: Rng + ?Sized>(rng: &mut R, original: &str) -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    let len = original.chars().count().max(1);
    let mut text: String = (0..len)
        .map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())]))
        .collect();
    if text == original {
        // One chance in 62^len; flip the first character to stay different.
        let first = if text.starts_with('a') { "b" } else { "a" };
        text.replace_range(..1, first);
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::seed::{Purpose, generator};

    const SESSION: &str = "0b1c2d3e-4f50-4a6b-8c7d-8e9fa0b1c2d3";

    fn forge(url: &str) -> (String, bool) {
        let mut rng = generator(1, 1, Purpose::Faults);
        let (url, replaced) = forge_url(&url.parse().unwrap(), SESSION, &mut rng);
        (url.to_string(), replaced)
    }

    #[test]
    fn a_query_secret_is_replaced_and_the_session_id_kept() {
        let (url, replaced) = forge(&format!(
            "http://127.0.0.1:9/cb?session={SESSION}&secret=s3cr3t"
        ));
        assert!(replaced);
        assert!(url.starts_with(&format!("http://127.0.0.1:9/cb?session={SESSION}&secret=")));
        assert!(!url.ends_with("secret=s3cr3t"));
        let secret = url.rsplit('=').next().unwrap();
        assert_eq!(secret.len(), "s3cr3t".len());
    }

    #[test]
    fn a_long_path_secret_is_replaced_and_short_segments_kept() {
        let secret = "Zx81Zx81Zx81Zx81Zx81";
        let (url, replaced) = forge(&format!("http://127.0.0.1:9/callbacks/{secret}/{SESSION}"));
        assert!(replaced);
        assert!(url.starts_with("http://127.0.0.1:9/callbacks/"));
        assert!(url.ends_with(&format!("/{SESSION}")));
        assert!(!url.contains(secret));
    }

    #[test]
    fn path_secrets_may_have_dashes_and_underscores_but_not_dots() {
        for secret in ["abc-def-ghi-jkl-mno", "abc_def_ghi_jkl_mno"] {
            let (url, replaced) = forge(&format!("http://127.0.0.1:9/cb/{secret}/{SESSION}"));
            assert!(replaced, "{secret}");
            assert!(!url.contains(secret), "{url}");
        }
        let route = format!("http://127.0.0.1:9/callbacks.handler.v1/{SESSION}");
        assert_eq!(forge(&route), (route, false));
        let short = format!("http://127.0.0.1:9/cb/abcdefghijklmno/{SESSION}"); // 15 characters
        assert_eq!(forge(&short), (short, false));
    }

    #[test]
    fn a_url_without_a_secret_is_kept() {
        let original = format!("http://127.0.0.1:9/callbacks/{SESSION}");
        assert_eq!(forge(&original), (original, false));
    }

    #[test]
    fn scramble_never_returns_the_original() {
        let mut rng = generator(3, 3, Purpose::Faults);
        for original in ["a", "b", "Z", "ab"] {
            for _ in 0..200 {
                let other = scramble(&mut rng, original);
                assert_ne!(other, original);
                assert_eq!(other.len(), original.len());
            }
        }
    }

    #[test]
    fn faults_follow_their_rates_and_lost_excludes_the_rest() {
        let faults = FaultConfig {
            lost: 0.5,
            duplicated: 1.0,
            delayed: 1.0,
            empty_retry: 1.0,
            answer_dropped: 1.0,
            forged: 1.0,
            ..FaultConfig::none()
        };
        let mut rng = generator(5, 5, Purpose::Faults);
        let max = Duration::from_millis(10);
        let draws: Vec<DrawnFaults> = (0..400)
            .map(|_| DrawnFaults::draw(&mut rng, &faults, max))
            .collect();
        let lost = draws.iter().filter(|d| d.lost).count();
        assert!(
            (150..=250).contains(&lost),
            "{lost} of 400 lost at rate 0.5"
        );
        for d in &draws {
            assert!(d.forged_after.is_some_and(|after| after <= max));
            assert_eq!(d.duplicate_after.is_some(), !d.lost);
            assert_eq!(d.hold.is_some(), !d.lost);
            assert_eq!(d.empty_retry, !d.lost);
            assert_eq!(d.answer_dropped, !d.lost);
        }
        let none: Vec<DrawnFaults> = (0..100)
            .map(|_| DrawnFaults::draw(&mut rng, &FaultConfig::none(), max))
            .collect();
        assert!(none.iter().all(|d| *d == DrawnFaults::default()));
    }
}
