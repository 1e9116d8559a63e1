//! The consumer's walk through a session, planned in advance from the session's seed, and
//! the [`SessionState`] it moves: a lifecycle [`Status`] that only ever changes by
//! [`Status::apply`], with an optional [`Interlude`] shown on top of `IN_PROGRESS`.
//!
//! # `TIMEOUT` and `MANUAL_ID_CHECK`
//!
//! The HPP documents both strings but not their place in the lifecycle. The simulator shows
//! them as interludes of `IN_PROGRESS`, never final, so that the lifecycle itself follows
//! [`hpp_status::STEPS`] exactly:
//!
//! - `TIMEOUT`: the consumer left the page without Back or Cancel. The session is still
//!   payable: the consumer may return (the status shows `IN_PROGRESS` again) and finish,
//!   the merchant may disable it, or it expires.
//! - `MANUAL_ID_CHECK`: an identification check during a visit; the visit's outcome
//!   (`COMPLETED`, `FAILED`, ...) follows it directly.
//!
//! Either way an observer sees `IN_PROGRESS` (or nothing) before and a status reachable
//! from `IN_PROGRESS` after, so the known statuses it sees stay a legal observation
//! sequence.

use std::fmt;
use std::time::Duration;

use hpp_status::wire::ReportedStatus;
use hpp_status::{Action, Status, TransitionError};
use rand::distr::Distribution as _;
use rand::distr::weighted::WeightedIndex;
use rand::{Rng, RngExt as _};

use crate::config::ConsumerConfig;

/// A status the simulator shows on top of `IN_PROGRESS` that is not one of the eight.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Interlude {
    /// `TIMEOUT`: the consumer left the page without Back or Cancel.
    Timeout,
    /// `MANUAL_ID_CHECK`: a manual identification check of the consumer.
    ManualIdCheck,
}

impl Interlude {
    /// The wire name.
    ///
    /// ```
    /// use hpp_sim::Interlude;
    ///
    /// assert_eq!(Interlude::ManualIdCheck.as_str(), "MANUAL_ID_CHECK");
    /// ```
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Interlude::Timeout => "TIMEOUT",
            Interlude::ManualIdCheck => "MANUAL_ID_CHECK",
        }
    }

    /// The `status` a payload carries for the interlude. The one place that maps the two
    /// onto the core's wire type: `hpp_status::wire` keeps unknown statuses as
    /// [`ReportedStatus::Unrecognized`], and so do these until the core names them.
    ///
    /// ```
    /// use hpp_sim::Interlude;
    ///
    /// assert_eq!(Interlude::Timeout.reported().as_str(), "TIMEOUT");
    /// assert_eq!(Interlude::Timeout.reported().known(), None);
    /// ```
    #[must_use]
    pub fn reported(self) -> ReportedStatus {
        ReportedStatus::from_wire(self.as_str())
    }

    /// The interlude a shown status stands for, if it is one.
    ///
    /// ```
    /// use hpp_sim::Interlude;
    /// use hpp_status::wire::ReportedStatus;
    ///
    /// assert_eq!(Interlude::shown_as(&Interlude::Timeout.reported()), Some(Interlude::Timeout));
    /// assert_eq!(Interlude::shown_as(&ReportedStatus::from_wire("IN_PROGRESS")), None);
    /// ```
    #[must_use]
    pub fn shown_as(status: &ReportedStatus) -> Option<Interlude> {
        [Interlude::Timeout, Interlude::ManualIdCheck]
            .into_iter()
            .find(|interlude| interlude.as_str() == status.as_str())
    }
}

/// One move of a consumer (or, for [`SessionState::disable`], of the merchant).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Move {
    /// The consumer opens the page, or returns to it after `FAILED`, `BACK` or `ERROR`.
    EnterPage,
    /// An interlude starts (`TIMEOUT` when the consumer leaves, `MANUAL_ID_CHECK`).
    Show(Interlude),
    /// The consumer comes back to the page after a `TIMEOUT`: `IN_PROGRESS` again.
    Resume,
    /// A visit ends: `Authorize`, `Decline`, `Cancel`, `GoBack` or `Fail`.
    Outcome(Action),
}

impl fmt::Display for Move {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Move::EnterPage => f.write_str("EnterPage"),
            Move::Show(interlude) => write!(f, "Show({})", interlude.as_str()),
            Move::Resume => f.write_str("Resume"),
            Move::Outcome(action) => write!(f, "{action}"),
        }
    }
}

/// Where a session is: its lifecycle status, and the interlude shown on top of it.
///
/// ```
/// use hpp_sim::{Interlude, Move, SessionState};
/// use hpp_status::{Action, Status};
///
/// let mut state = SessionState::NEW;
/// state.apply(Move::EnterPage)?;
/// state.apply(Move::Show(Interlude::Timeout))?;
/// assert_eq!(state.shown().as_str(), "TIMEOUT");
/// assert!(state.apply(Move::Outcome(Action::Authorize)).is_err()); // the consumer is away
/// state.apply(Move::Resume)?;
/// state.apply(Move::Outcome(Action::Authorize))?;
/// assert_eq!(state.lifecycle, Status::Completed);
/// # Ok::<(), hpp_sim::MoveError>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct SessionState {
    /// The lifecycle status, changed only by [`Status::apply`].
    pub lifecycle: Status,
    /// The interlude shown instead of `IN_PROGRESS`, if any.
    pub interlude: Option<Interlude>,
}

impl SessionState {
    /// A session just created: `WAITING`.
    pub const NEW: SessionState = SessionState {
        lifecycle: Status::Waiting,
        interlude: None,
    };

    /// The status Read Session and callbacks report.
    #[must_use]
    pub fn shown(&self) -> ReportedStatus {
        match self.interlude {
            Some(interlude) => interlude.reported(),
            None => ReportedStatus::Known(self.lifecycle),
        }
    }

    /// Whether nothing can change the session any more.
    #[must_use]
    pub fn is_final(&self) -> bool {
        self.lifecycle.is_final()
    }

    /// Takes a consumer's move, or says why it is not possible (the state is then unchanged).
    ///
    /// # Errors
    ///
    /// [`MoveError`] when the move does not fit: a lifecycle step [`Status::apply`] refuses,
    /// an outcome while the consumer is away (`TIMEOUT`), an interlude outside
    /// `IN_PROGRESS`, a [`Move::Resume`] without a `TIMEOUT`.
    pub fn apply(&mut self, step: Move) -> Result<(), MoveError> {
        let refuse = |reason| MoveError {
            from: *self,
            step,
            reason,
        };
        match step {
            Move::EnterPage | Move::Outcome(_) => {
                let action = match step {
                    Move::Outcome(action) => action,
                    _ => Action::EnterPage,
                };
                if self.interlude == Some(Interlude::Timeout) {
                    return Err(refuse(Refusal::ConsumerAway));
                }
                self.lifecycle = self
                    .lifecycle
                    .apply(action)
                    .map_err(|error| refuse(Refusal::Lifecycle(error)))?;
                self.interlude = None;
            }
            Move::Show(interlude) => {
                let fits = self.lifecycle == Status::InProgress
                    && match interlude {
                        Interlude::Timeout => self.interlude != Some(Interlude::Timeout),
                        Interlude::ManualIdCheck => self.interlude.is_none(),
                    };
                if !fits {
                    return Err(refuse(Refusal::NoInterlude));
                }
                self.interlude = Some(interlude);
            }
            Move::Resume => {
                if self.interlude != Some(Interlude::Timeout) {
                    return Err(refuse(Refusal::NotAway));
                }
                self.interlude = None;
            }
        }
        Ok(())
    }

    /// The merchant's Disable: any session that is not final becomes `DISABLED`.
    ///
    /// ```
    /// use hpp_sim::SessionState;
    /// use hpp_status::Status;
    ///
    /// let mut state = SessionState::NEW;
    /// state.disable()?;
    /// assert_eq!(state.lifecycle, Status::Disabled);
    /// assert!(state.disable().is_err()); // DISABLED is final
    /// # Ok::<(), hpp_status::TransitionError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// The [`TransitionError`] of [`Status::apply`] when the session is already final.
    pub fn disable(&mut self) -> Result<(), TransitionError> {
        self.lifecycle = self.lifecycle.apply(Action::Disable)?;
        self.interlude = None;
        Ok(())
    }
}

/// A move that does not fit the session's state, from [`SessionState::apply`].
#[derive(Clone, Copy, PartialEq, Eq, Debug, thiserror::Error)]
#[error("{}", Explained(self))]
pub struct MoveError {
    from: SessionState,
    step: Move,
    reason: Refusal,
}

impl MoveError {
    /// The state the move was refused in (and which is still current).
    #[must_use]
    pub fn from(&self) -> SessionState {
        self.from
    }
}

/// The words of a [`MoveError`]: the core's own for a lifecycle step.
struct Explained<'a>(&'a MoveError);

impl fmt::Display for Explained<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let MoveError { from, step, reason } = self.0;
        match reason {
            Refusal::Lifecycle(error) => write!(f, "{error}"),
            _ => write!(f, "{step} is not possible from {}: {reason}", from.shown()),
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Refusal {
    Lifecycle(TransitionError),
    ConsumerAway,
    NoInterlude,
    NotAway,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::Lifecycle(error) => write!(f, "{error}"),
            Refusal::ConsumerAway => f.write_str("the consumer has left the page"),
            Refusal::NoInterlude => f.write_str("interludes happen during a visit only"),
            Refusal::NotAway => f.write_str("the consumer has not left the page"),
        }
    }
}

/// A move with the pause before it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct PlannedMove {
    /// Wall time the consumer waits before the move.
    pub pause: Duration,
    /// The move.
    pub step: Move,
    /// For an outcome: whether the consumer's browser follows the redirect to the
    /// merchant's URL for it.
    pub redirect: bool,
}

/// What a consumer will do with a session, decided when the session is created.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Walk {
    /// The moves, in order. Applied one by one from [`SessionState::NEW`], every move fits
    /// (the consumer stops at the first that does not, when the merchant disabled the
    /// session or it expired).
    pub moves: Vec<PlannedMove>,
    /// Whether the consumer gives up before a final status, leaving the session to expire.
    pub abandons: bool,
}

impl Walk {
    /// Plans a walk: visits of the page, each perhaps with a `TIMEOUT` (and a return) and a
    /// `MANUAL_ID_CHECK`, each ending in an outcome drawn by the configured weights; after
    /// `FAILED`, `BACK` or `ERROR` the consumer returns; the last allowed visit ends in
    /// `COMPLETED` or `CANCELLED`. An abandoning consumer stops at a random point before the
    /// final outcome, and leaves the page (`TIMEOUT`) if it was on it.
    ///
    /// `think` is the wall range of the pauses. The same generator state gives the same walk.
    ///
    /// ```
    /// use std::time::Duration;
    /// use hpp_sim::{ConsumerConfig, SessionState, Walk};
    /// use rand::SeedableRng as _;
    ///
    /// let config = ConsumerConfig { abandon_rate: 0.0, ..ConsumerConfig::default() };
    /// let think = (Duration::ZERO, Duration::from_millis(5));
    /// let mut rng = rand::rngs::Xoshiro256PlusPlus::seed_from_u64(7);
    /// let walk = Walk::plan(&mut rng, &config, think);
    ///
    /// let mut state = SessionState::NEW;
    /// for planned in &walk.moves {
    ///     state.apply(planned.step)?;
    /// }
    /// assert!(state.is_final()); // a consumer that does not abandon always finishes
    /// # Ok::<(), hpp_sim::MoveError>(())
    /// ```
    pub fn plan<R: Rng + ?Sized>(
        rng: &mut R,
        config: &ConsumerConfig,
        think: (Duration, Duration),
    ) -> Walk {
        let abandons = rng.random_bool(config.abandon_rate);
        let mut moves = Vec::new();
        let mut state = SessionState::NEW;
        let mut push = |rng: &mut R, state: &mut SessionState, step: Move, redirect: bool| {
            let pause = draw_pause(rng, think);
            // Every planned move fits by construction; a refusal would be a planning bug,
            // and the consumer would then stop there, which is still a legal history.
            if state.apply(step).is_ok() {
                moves.push(PlannedMove {
                    pause,
                    step,
                    redirect,
                });
            }
        };
        // One visit per round: open the page (first, or again after FAILED, BACK or
        // ERROR), perhaps leave it and come back, perhaps an identification check, then
        // the visit's outcome; the last visit's outcome is final.
        for visit in 1..=config.max_visits {
            push(rng, &mut state, Move::EnterPage, false);
            if rng.random_bool(config.timeout_rate) {
                push(rng, &mut state, Move::Show(Interlude::Timeout), false);
                push(rng, &mut state, Move::Resume, false);
            }
            if rng.random_bool(config.manual_id_check_rate) {
                push(rng, &mut state, Move::Show(Interlude::ManualIdCheck), false);
            }
            let outcome = pick_outcome(rng, config, visit == config.max_visits);
            let redirect = rng.random_bool(config.redirect_rate);
            push(rng, &mut state, Move::Outcome(outcome), redirect);
            if state.is_final() {
                break;
            }
        }
        if abandons {
            // Keep 0..len-1 moves: never the final outcome.
            let keep = rng.random_range(0..moves.len());
            moves.truncate(keep);
            let mut state = SessionState::NEW;
            for planned in &moves {
                let _ = state.apply(planned.step);
            }
            // A consumer who walks away from an open page trips its timer.
            if state.lifecycle == Status::InProgress && state.interlude != Some(Interlude::Timeout)
            {
                let pause = draw_pause(rng, think);
                moves.push(PlannedMove {
                    pause,
                    step: Move::Show(Interlude::Timeout),
                    redirect: false,
                });
            }
        }
        Walk { moves, abandons }
    }
}

/// A pause in the wall range `think` (a reversed range reads as its lower end).
fn draw_pause<R: Rng + ?Sized>(rng: &mut R, think: (Duration, Duration)) -> Duration {
    rng.random_range(think.0..=think.1.max(think.0))
}

/// An outcome drawn by the weights; on the `last` visit, only `Authorize` or `Cancel`.
fn pick_outcome<R: Rng + ?Sized>(rng: &mut R, config: &ConsumerConfig, last: bool) -> Action {
    let weighted = config.outcomes.weighted();
    let weights = weighted.map(|(action, weight)| {
        let allowed = !last || matches!(action, Action::Authorize | Action::Cancel);
        if allowed { weight } else { 0.0 }
    });
    // Validation keeps a positive weight on Authorize or Cancel, so the index exists.
    WeightedIndex::new(weights)
        .map(|index| weighted[index.sample(rng)].0)
        .unwrap_or(Action::Authorize)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(lifecycle: Status, interlude: Option<Interlude>) -> SessionState {
        SessionState {
            lifecycle,
            interlude,
        }
    }

    #[test]
    fn interludes_fit_in_progress_only_and_do_not_stack() {
        use Interlude::{ManualIdCheck, Timeout};
        let cases = [
            (state(Status::InProgress, None), Move::Show(Timeout), true),
            (
                state(Status::InProgress, None),
                Move::Show(ManualIdCheck),
                true,
            ),
            (
                state(Status::InProgress, Some(ManualIdCheck)),
                Move::Show(Timeout),
                true,
            ),
            (
                state(Status::InProgress, Some(Timeout)),
                Move::Show(Timeout),
                false,
            ),
            (
                state(Status::InProgress, Some(Timeout)),
                Move::Show(ManualIdCheck),
                false,
            ),
            (
                state(Status::InProgress, Some(ManualIdCheck)),
                Move::Show(ManualIdCheck),
                false,
            ),
            (state(Status::Waiting, None), Move::Show(Timeout), false),
            (state(Status::Back, None), Move::Show(ManualIdCheck), false),
            (state(Status::InProgress, Some(Timeout)), Move::Resume, true),
            (
                state(Status::InProgress, Some(ManualIdCheck)),
                Move::Resume,
                false,
            ),
            (state(Status::InProgress, None), Move::Resume, false),
            (
                state(Status::InProgress, Some(Timeout)),
                Move::Outcome(Action::Authorize),
                false,
            ),
            (
                state(Status::InProgress, Some(ManualIdCheck)),
                Move::Outcome(Action::Decline),
                true,
            ),
            (state(Status::Back, None), Move::EnterPage, true),
            (state(Status::Completed, None), Move::EnterPage, false),
        ];
        for (before, step, fits) in cases {
            let mut after = before;
            let result = after.apply(step);
            assert_eq!(result.is_ok(), fits, "{step} from {before:?}");
            if !fits {
                assert_eq!(after, before, "a refused {step} changed the state");
                assert_eq!(result.unwrap_err().from(), before);
            }
        }
    }

    #[test]
    fn moves_set_and_clear_the_interlude() {
        let mut s = state(Status::InProgress, None);
        s.apply(Move::Show(Interlude::ManualIdCheck)).unwrap();
        assert_eq!(s.shown().as_str(), "MANUAL_ID_CHECK");
        s.apply(Move::Outcome(Action::GoBack)).unwrap();
        assert_eq!(s, state(Status::Back, None));
        s.apply(Move::EnterPage).unwrap();
        s.apply(Move::Show(Interlude::Timeout)).unwrap();
        assert_eq!(s.shown().as_str(), "TIMEOUT");
        s.apply(Move::Resume).unwrap();
        assert_eq!(s, state(Status::InProgress, None));
        s.apply(Move::Show(Interlude::Timeout)).unwrap();
        s.disable().unwrap();
        assert_eq!(s, state(Status::Disabled, None));
        assert!(s.is_final());
    }

    #[test]
    fn refusals_say_why() {
        let refusal = |before: SessionState, step| {
            let mut after = before;
            after.apply(step).unwrap_err().to_string()
        };
        assert_eq!(
            refusal(
                state(Status::InProgress, Some(Interlude::Timeout)),
                Move::Outcome(Action::Cancel)
            ),
            "Cancel is not possible from TIMEOUT: the consumer has left the page"
        );
        assert_eq!(
            refusal(
                state(Status::Waiting, None),
                Move::Show(Interlude::ManualIdCheck)
            ),
            "Show(MANUAL_ID_CHECK) is not possible from WAITING: interludes happen during a visit only"
        );
        assert_eq!(
            refusal(state(Status::InProgress, None), Move::Resume),
            "Resume is not possible from IN_PROGRESS: the consumer has not left the page"
        );
        assert_eq!(
            refusal(state(Status::Disabled, None), Move::EnterPage),
            "EnterPage is not possible from DISABLED: DISABLED is final"
        );
    }

    #[test]
    fn only_the_last_visit_is_restricted_to_final_outcomes() {
        let config = ConsumerConfig {
            outcomes: crate::config::OutcomeWeights {
                authorize: 1.0,
                decline: 1.0,
                cancel: 1.0,
                back: 1.0,
                error: 1.0,
            },
            ..ConsumerConfig::default()
        };
        let mut rng = crate::seed::generator(1, 2, crate::seed::Purpose::Walk);
        let mut seen = std::collections::HashSet::new();
        for _ in 0..500 {
            seen.insert(pick_outcome(&mut rng, &config, false));
            let last = pick_outcome(&mut rng, &config, true);
            assert!(matches!(last, Action::Authorize | Action::Cancel), "{last}");
        }
        assert_eq!(seen.len(), 5, "every outcome is drawn: {seen:?}");
    }

    #[test]
    fn outcomes_follow_their_weights() {
        let config = ConsumerConfig {
            outcomes: crate::config::OutcomeWeights {
                authorize: 3.0,
                decline: 1.0,
                cancel: 0.0,
                back: 0.0,
                error: 0.0,
            },
            ..ConsumerConfig::default()
        };
        let mut rng = crate::seed::generator(3, 4, crate::seed::Purpose::Walk);
        let authorized = (0..4000)
            .filter(|_| pick_outcome(&mut rng, &config, false) == Action::Authorize)
            .count();
        assert!(
            (2850..=3150).contains(&authorized),
            "{authorized} of 4000 at 3:1"
        );
    }
}
