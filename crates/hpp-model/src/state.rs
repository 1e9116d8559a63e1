//! The model's state: the database's rows, Klarna's truth, the callbacks in flight, each
//! instance's program counters, the clock, and the ghost facts the properties read.

use hpp_status::{Observation, PrecedenceKey, Status};

/// One observation of the session: a status and when it was entered, in clock ticks.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct Obs {
    /// The status.
    pub status: Status,
    /// Its `updated_at`, in ticks.
    pub at: u8,
}

impl Obs {
    /// The core's observation.
    #[must_use]
    pub fn core(self) -> Observation<u64> {
        Observation::new(self.status, u64::from(self.at))
    }

    /// The core's precedence key of it: what the store's merge compares.
    #[must_use]
    pub fn key(self) -> PrecedenceKey {
        self.core().precedence_key()
    }

    /// The observation a core observation stands for (times above 255 ticks are cut).
    #[must_use]
    pub fn from_core(seen: Observation<u64>) -> Obs {
        Obs {
            status: seen.status,
            at: u8::try_from(seen.updated_at).unwrap_or(u8::MAX),
        }
    }
}

/// What an effect asks for (`EffectKind`, for one session whose completion carries a token).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub enum EffKind {
    /// Create the order with the authorization token.
    PlaceOrder,
    /// The session ended without an order: release the cart.
    SessionEnded(Status),
    /// Deliveries from no legal history, for a person: the kept and the rejected one.
    Conflict {
        /// The observation kept.
        kept: Obs,
        /// The other one.
        rejected: Obs,
    },
}

/// The `hpp_session` row.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
pub struct SessionRow {
    /// The observation held (its precedence key is the column).
    pub held: Option<Obs>,
    /// `is_final`.
    pub is_final: bool,
    /// `last_read_at`.
    pub last_read_at: Option<u8>,
    /// `next_read_at` (`None`: due now).
    pub next_read_at: Option<u8>,
}

/// An `hpp_effect` row.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct EffectRow {
    /// What to do.
    pub kind: EffKind,
    /// `attempts`: the number of the latest claim, the fencing token.
    pub attempts: u8,
    /// `lease_until`.
    pub lease_until: Option<u8>,
    /// Whether `completed_at` is set.
    pub completed: bool,
    /// Ghost: the latest claim's holder crashed or froze (a takeover follows).
    pub abandoned: bool,
}

impl EffectRow {
    /// Whether claim `claim` holds it at `now`: the statements' fencing condition
    /// (`attempts = claim AND completed_at IS NULL AND lease_until > now`).
    #[must_use]
    pub fn held_by(&self, claim: u8, now: u8) -> bool {
        self.attempts == claim && !self.completed && self.lease_until.is_some_and(|l| l > now)
    }

    /// Whether `claim_effects` may claim it at `now`.
    #[must_use]
    pub fn claimable(&self, now: u8) -> bool {
        !self.completed && self.lease_until.is_none_or(|l| l <= now)
    }
}

/// What Klarna answered a create order call.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub enum Answer {
    /// Placed.
    Placed,
    /// Refused (the token was used or expired).
    Refused,
    /// Klarna acted, the answer never came back.
    Lost,
}

/// An `hpp_order_attempt` row (of the session's one place-order effect).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct AttemptRow {
    /// The effect (index into the effects).
    pub effect: u8,
    /// The claim that made the call.
    pub claim: u8,
    /// The answer recorded, if any.
    pub answer: Option<Answer>,
}

/// The authorization token of the completion.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct Token {
    /// The first tick it is no longer valid.
    pub expires: u8,
    /// Whether it placed its order.
    pub used: bool,
    /// Create order calls Klarna received with it.
    pub calls: u8,
}

/// Klarna's truth.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct Klarna {
    /// The session's history: WAITING at 0, then each step taken.
    pub history: Vec<Obs>,
    /// The token, once the session completed.
    pub token: Option<Token>,
    /// Orders placed.
    pub orders: u8,
}

impl Klarna {
    /// What Read Session answers now.
    #[must_use]
    pub fn current(&self) -> Obs {
        *self.history.last().unwrap_or(&Obs {
            status: Status::Waiting,
            at: 0,
        })
    }

    /// Whether the session really completed.
    #[must_use]
    pub fn completed(&self) -> bool {
        self.token.is_some()
    }
}

/// The batch loop of an instance.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub enum BatchPc {
    /// Waiting for sessions due.
    Idle,
    /// Claimed the session at `at` and read it: `read` is what Klarna answered; next, merge.
    Merge {
        /// What Read Session answered.
        read: Obs,
        /// When it claimed (and read) the session.
        at: u8,
    },
    /// (Bug [`EffectSecondTx`](crate::Bug::EffectSecondTx)) merged; next, record the
    /// effects in a second transaction, and the read.
    Effects {
        /// The effects to record.
        effects: Vec<EffKind>,
        /// When it claimed the session.
        at: u8,
    },
}

/// The effect loop of an instance (one effect at a time).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub enum EffectPc {
    /// Waiting for effects.
    Idle,
    /// Claimed a place-order effect; next, `begin_order_attempt`.
    Claimed {
        /// The effect.
        effect: u8,
        /// The claim (the fencing token).
        claim: u8,
        /// When it claimed.
        at: u8,
    },
    /// The call is recorded; next, send it to Klarna.
    Calling {
        /// The effect.
        effect: u8,
        /// The claim.
        claim: u8,
        /// The call's number.
        call: u8,
        /// When it claimed.
        at: u8,
    },
    /// Klarna answered (or the answer was lost); next, `answer_order_attempt`.
    Answered {
        /// The effect.
        effect: u8,
        /// The claim.
        claim: u8,
        /// The call's number.
        call: u8,
        /// What came back.
        answer: Answer,
        /// When it claimed.
        at: u8,
    },
    /// Done; next, `complete_effect`.
    Completing {
        /// The effect.
        effect: u8,
        /// The claim.
        claim: u8,
        /// When it claimed.
        at: u8,
    },
    /// Failed (a lost answer); next, `release_effect_for`.
    Releasing {
        /// The effect.
        effect: u8,
        /// The claim.
        claim: u8,
        /// When it claimed.
        at: u8,
    },
}

impl EffectPc {
    /// The effect, claim and claim time, unless idle.
    #[must_use]
    pub fn holding(&self) -> Option<(u8, u8, u8)> {
        match *self {
            EffectPc::Idle => None,
            EffectPc::Claimed { effect, claim, at }
            | EffectPc::Calling {
                effect, claim, at, ..
            }
            | EffectPc::Answered {
                effect, claim, at, ..
            }
            | EffectPc::Completing { effect, claim, at }
            | EffectPc::Releasing { effect, claim, at } => Some((effect, claim, at)),
        }
    }
}

/// One instance of the merchant service.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct Instance {
    /// Running (not crashed).
    pub up: bool,
    /// Frozen: its work in progress takes as long as it takes.
    pub frozen: bool,
    /// The batch loop.
    pub batch: BatchPc,
    /// The effect loop.
    pub effect: EffectPc,
    /// (Bug [`EffectSecondTx`](crate::Bug::EffectSecondTx)) a callback's merge committed,
    /// its effects not recorded yet.
    pub web: Option<Vec<EffKind>>,
    /// Ghost: it was frozen or down when the store learned of the completion, or a fault hit
    /// it since (kept with the instance, which the symmetry reorders).
    pub faulted_since_learned: bool,
}

impl Instance {
    /// Whether it has work under way.
    #[must_use]
    pub fn busy(&self) -> bool {
        self.batch != BatchPc::Idle || self.effect != EffectPc::Idle || self.web.is_some()
    }
}

/// Facts about the path so far that no row holds, for the properties.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
pub struct Ghost {
    /// The fold by precedence (the core's `Tracker`) of every observation merged.
    pub delivered: Option<Obs>,
    /// When a merge first made the stored session COMPLETED.
    pub learned_at: Option<u8>,
    /// Faults since then.
    pub faults_since_learned: u8,
    /// A fault hit an instance working on the place-order effect, or an answer was lost:
    /// a second create order call is then expected.
    pub retry_forced: bool,
    /// Klarna received a second call for the token without a forced retry.
    pub unforced_call: bool,
    /// An effect was completed by a claim that did not hold it (or twice).
    pub unfenced_completion: bool,
    /// Two instances read the session under live claims at once.
    pub double_read: bool,
    /// An effect whose holder crashed or froze was claimed again.
    pub takeover: bool,
    /// Faults so far.
    pub faults: u8,
    /// Lost answers so far.
    pub lost: u8,
    /// Duplicated callbacks so far.
    pub duplicates: u8,
    /// Whether the anomalous read was answered.
    pub anomaly: bool,
}

/// The whole state.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct State {
    /// The clock.
    pub now: u8,
    /// Klarna's truth.
    pub klarna: Klarna,
    /// Reads answered after callbacks, not merged yet, as a sorted multiset.
    pub in_flight: Vec<Obs>,
    /// The session's row.
    pub session: SessionRow,
    /// The effects, by id (index + 1).
    pub effects: Vec<EffectRow>,
    /// The create order calls, in order.
    pub attempts: Vec<AttemptRow>,
    /// The instances.
    pub instances: Vec<Instance>,
    /// Ghost facts.
    pub ghost: Ghost,
}
