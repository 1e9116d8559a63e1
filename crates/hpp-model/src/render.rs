//! Paths in a merchant's words: "instance A claims effect 1 (place the order, attempt 1)".

use std::fmt::Write as _;

use stateright::Model as _;
use stateright::Path;

use crate::model::{Action, Fleet};
use crate::state::{Answer, BatchPc, EffKind, EffectPc, Obs, State};

/// The instance's name: A, B, C...
#[must_use]
pub fn instance(i: u8) -> char {
    char::from(b'A' + i)
}

fn obs(o: Obs) -> String {
    format!("{} (updated at t={})", o.status, o.at)
}

fn kind(k: EffKind) -> String {
    match k {
        EffKind::PlaceOrder => "place the order".into(),
        EffKind::SessionEnded(status) => format!("release the cart: {status}"),
        EffKind::Conflict { kept, rejected } => {
            format!("conflict: kept {}, rejected {}", obs(kept), obs(rejected))
        }
    }
}

fn effect_name(s: &State, effect: u8) -> String {
    let kind_text = s
        .effects
        .get(usize::from(effect))
        .map_or_else(|| "?".to_owned(), |e| kind(e.kind));
    format!("effect {} ({kind_text})", effect + 1)
}

/// One step, as a merchant would say it.
#[must_use]
#[allow(clippy::too_many_lines)] // one sentence per action
pub fn describe(model: &Fleet, s: &State, action: &Action) -> String {
    let Some(next) = model.next_state(s, action.clone()) else {
        return format!("{action:?} (not possible)");
    };
    let new_effects = || {
        next.effects[s.effects.len()..]
            .iter()
            .enumerate()
            .map(|(n, e)| format!("effect {} ({})", s.effects.len() + n + 1, kind(e.kind)))
            .collect::<Vec<_>>()
    };
    let merged = |what: String| {
        let held = next.session.held.map_or("nothing".into(), obs);
        let mut text = format!("{what}; the store holds {held}");
        let recorded = new_effects();
        if !recorded.is_empty() {
            let _ = write!(text, " and records {}", recorded.join(", "));
        }
        text
    };
    match *action {
        Action::Tick => format!("the clock moves to t={}", next.now),
        Action::Klarna(status) => {
            let mut text = format!("Klarna: the session becomes {status}");
            if next.klarna.token != s.klarna.token
                && let Some(token) = next.klarna.token
            {
                let _ = write!(text, " (token valid until t={})", token.expires);
            }
            text.push_str("; its callback leaves");
            text
        }
        Action::Deliver(o) => {
            let who = next
                .instances
                .iter()
                .zip(&s.instances)
                .position(|(a, b)| a.web != b.web)
                .or_else(|| s.instances.iter().position(|i| i.up && i.web.is_none()))
                .and_then(|i| u8::try_from(i).ok())
                .map_or('?', instance);
            let mut text = merged(format!(
                "instance {who} merges a callback's read {}",
                obs(o)
            ));
            if next.instances.iter().any(|i| i.web.is_some())
                && s.instances.iter().all(|i| i.web.is_none())
            {
                text.push_str(", its effects left for a second transaction");
            }
            text
        }
        Action::Duplicate(o) => format!("the callback {} is delivered twice", obs(o)),
        Action::Lose(o) => format!("the callback {} is lost", obs(o)),
        Action::BatchClaim(i, _) => {
            let BatchPc::Merge { read, .. } = next.instances[usize::from(i)].batch else {
                return format!("{action:?}");
            };
            format!(
                "instance {}'s batch claims the session (next read at {}) and reads {}",
                instance(i),
                next.session
                    .next_read_at
                    .map_or("now".into(), |n| format!("t={n}")),
                obs(read)
            )
        }
        Action::BatchMerge(i) => {
            let BatchPc::Merge { read, .. } = s.instances[usize::from(i)].batch else {
                return format!("{action:?}");
            };
            let mut text = merged(format!(
                "instance {}'s batch merges {} and records the read",
                instance(i),
                obs(read)
            ));
            if matches!(
                next.instances[usize::from(i)].batch,
                BatchPc::Effects { .. }
            ) {
                text.push_str(", its effects left for a second transaction");
            }
            text
        }
        Action::BatchEffects(i) | Action::WebEffects(i) => format!(
            "instance {} records the merge's effects: {}",
            instance(i),
            new_effects().join(", ")
        ),
        Action::Claim(i) => match next.instances[usize::from(i)].effect.holding() {
            Some((effect, claim, _)) => format!(
                "instance {} claims {} (attempt {claim}, lease until t={})",
                instance(i),
                effect_name(&next, effect),
                next.effects[usize::from(effect)]
                    .lease_until
                    .unwrap_or_default()
            ),
            None => format!("{action:?}"),
        },
        Action::Begin(i) => match next.instances[usize::from(i)].effect {
            EffectPc::Calling { effect, call, .. } => format!(
                "instance {} records create order call {call} of effect {}",
                instance(i),
                effect + 1
            ),
            _ => format!(
                "instance {} finds its claim lost: the call is not sent",
                instance(i)
            ),
        },
        Action::Call(i, _) => match next.instances[usize::from(i)].effect {
            EffectPc::Answered { call, answer, .. } => {
                let placed = next.klarna.orders > s.klarna.orders;
                let klarna = if placed {
                    "Klarna places the order"
                } else {
                    "Klarna refuses the token"
                };
                let heard = match answer {
                    Answer::Lost => " and the answer is lost",
                    Answer::Placed | Answer::Refused => "",
                };
                format!(
                    "instance {} sends call {call}: {klarna}{heard}",
                    instance(i)
                )
            }
            _ => format!("{action:?}"),
        },
        Action::RecordAnswer(i) => match s.instances[usize::from(i)].effect {
            EffectPc::Answered { call, answer, .. } => format!(
                "instance {} records call {call}'s answer: {}",
                instance(i),
                match answer {
                    Answer::Placed => "placed",
                    Answer::Refused => "refused",
                    Answer::Lost => "lost",
                }
            ),
            _ => format!("{action:?}"),
        },
        Action::Complete(i) => match s.instances[usize::from(i)].effect {
            EffectPc::Completing { effect, claim, .. } => {
                let done = next.effects[usize::from(effect)].completed
                    && !s.effects[usize::from(effect)].completed;
                if done {
                    format!(
                        "instance {} completes effect {} (attempt {claim})",
                        instance(i),
                        effect + 1
                    )
                } else {
                    format!(
                        "instance {} cannot complete effect {} (attempt {claim}): its lease is lost",
                        instance(i),
                        effect + 1
                    )
                }
            }
            _ => format!("{action:?}"),
        },
        Action::Release(i) => format!("instance {} gives its effect back for a retry", instance(i)),
        Action::Crash(i) => format!("instance {} crashes", instance(i)),
        Action::Freeze(i) => format!("instance {} freezes", instance(i)),
        Action::Restart(i) => format!("instance {} restarts", instance(i)),
    }
}

/// A whole path, one numbered line per step with the clock.
#[must_use]
pub fn trace(model: &Fleet, path: &Path<State, Action>) -> String {
    let mut text = String::new();
    let steps = path.clone().into_vec();
    let mut n = 0;
    for (state, action) in steps {
        if let Some(action) = action {
            n += 1;
            let _ = writeln!(
                text,
                "{n:>3}. [t={}] {}",
                state.now,
                describe(model, &state, &action)
            );
        }
    }
    text
}
