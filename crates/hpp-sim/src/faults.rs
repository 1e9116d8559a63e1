//! The faults of status callbacks: how the HPP documents delivery, and how the simulator
//! breaks the rules on purpose. The registry draws them when a status changes; the
//! deliveries in the background carry them out.
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

use std::time::Duration;

use rand::{Rng, RngExt as _};
use url::Url;

use crate::config::FaultConfig;

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
