//! What a check explores: how many instances, how many faults, the clock's constants, and
//! the planted defect, if any.

/// One planted defect: the protocol with one rule broken, which the checker must catch.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Bug {
    /// `complete_effect` without the fencing check: it completes an effect whatever claim
    /// holds it and whether its lease has ended (only `completed_at IS NULL` is kept).
    NoFencing,
    /// The merge keeps the latest delivery to arrive instead of the one with precedence.
    ArrivalOrder,
    /// The merge commits first and the effect is recorded by a second transaction after it:
    /// an instance that dies between the two leaves a final session without its effect.
    EffectSecondTx,
    /// `due_for_read` selects the due sessions without claiming them (no read lease):
    /// instances read the same session at once.
    BatchWithoutClaim,
    /// The effect lease is no longer than a create order call: a live instance's lease ends
    /// while its call is under way.
    ShortLease,
}

impl Bug {
    /// Every planted defect.
    pub const ALL: [Bug; 5] = [
        Bug::NoFencing,
        Bug::ArrivalOrder,
        Bug::EffectSecondTx,
        Bug::BatchWithoutClaim,
        Bug::ShortLease,
    ];

    /// Its name on the command line: `no-fencing`, `arrival-order`, `effect-second-tx`,
    /// `batch-without-claim`, `short-lease`.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Bug::NoFencing => "no-fencing",
            Bug::ArrivalOrder => "arrival-order",
            Bug::EffectSecondTx => "effect-second-tx",
            Bug::BatchWithoutClaim => "batch-without-claim",
            Bug::ShortLease => "short-lease",
        }
    }

    /// The defect named `name` (see [`Bug::name`]).
    #[must_use]
    pub fn from_name(name: &str) -> Option<Bug> {
        Bug::ALL.into_iter().find(|bug| bug.name() == name)
    }

    /// The property that must catch it.
    #[must_use]
    pub const fn caught_by(self) -> &'static str {
        match self {
            Bug::NoFencing => crate::properties::COMPLETED_ONCE_BY_HOLDER,
            Bug::ArrivalOrder => crate::properties::STORED_IS_FOLD,
            Bug::EffectSecondTx => crate::properties::OWED_ORDERS_PLACED,
            Bug::BatchWithoutClaim => crate::properties::ONE_READER,
            Bug::ShortLease => crate::properties::ONE_CALL_UNLESS_FORCED,
        }
    }
}

/// The clock's constants, in ticks of the model's coarse clock (think of a tick as several
/// minutes: the batch's read interval is two).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct Timing {
    /// When the session expires (Read Session answers 404 from then on; Klarna's session
    /// takes no step at or after it).
    pub expires_at: u8,
    /// How long an authorization token is valid after the completion.
    pub token_ttl: u8,
    /// The effect lease (`claim_effects`).
    pub lease: u8,
    /// The longest a live instance's work on one claimed effect takes (a create order call
    /// and the statements around it).
    pub call: u8,
    /// The batch's read lease (`ReadSchedule::lease`): a live instance reads within it.
    pub read_lease: u8,
    /// `ReadSchedule::interval`.
    pub read_interval: u8,
    /// `ReadSchedule::margin`.
    pub read_margin: u8,
    /// The last tick: the clock stops there.
    pub end: u8,
}

/// A configuration of the model.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct Config {
    /// Instances of the merchant service sharing the database (1 to 3).
    pub instances: u8,
    /// Faults: crashes (the instance dies, its in-flight calls are dropped, a supervisor
    /// restarts it) and freezes (the instance stops for as long as the others need, e.g. a
    /// long pause, then goes on with what it was doing). Both count.
    pub faults: u8,
    /// Create order answers that may be lost (Klarna acted, the merchant never heard).
    pub lost_answers: u8,
    /// Callbacks that may be delivered twice.
    pub duplicates: u8,
    /// Steps Klarna's session may take (from `STEPS`), after WAITING.
    pub klarna_steps: u8,
    /// Whether one batch read may answer what no legal history has (a WAITING dated at the
    /// end of time, as a misrouted or replayed read would): the store must record a
    /// conflict and go on.
    pub anomaly: bool,
    /// The planted defect, if any.
    pub bug: Option<Bug>,
    /// Whether states that differ only in the order of the instances are one (on for
    /// checks; off where a trace must keep each instance's name).
    pub symmetry: bool,
    /// The clock.
    pub timing: Timing,
}

impl Config {
    /// The protocol as it is, with `instances` instances and up to `faults` faults, one lost
    /// answer, one duplicated callback, two Klarna steps and the anomaly. The token lives
    /// long enough for the order to be placed after every fault ([`Config::slack`]).
    #[must_use]
    pub fn new(instances: u8, faults: u8) -> Config {
        let lease = 2;
        let call = 1;
        let expires_at = 4;
        let mut config = Config {
            instances,
            faults,
            lost_answers: 1,
            duplicates: 1,
            klarna_steps: 2,
            anomaly: true,
            bug: None,
            symmetry: true,
            timing: Timing {
                expires_at,
                token_ttl: 0,
                lease,
                call,
                read_lease: 1,
                read_interval: 2,
                read_margin: 1,
                end: 0,
            },
        };
        config.timing.token_ttl = config.slack(faults) + 1;
        config.timing.end = expires_at - 1 + config.timing.token_ttl;
        config
    }

    /// The same configuration with `bug` planted (a short lease is one as long as a call).
    #[must_use]
    pub fn with_bug(mut self, bug: Bug) -> Config {
        self.bug = Some(bug);
        if bug == Bug::ShortLease {
            self.timing.lease = self.timing.call;
        }
        self
    }

    /// Whether the planted defect is `bug`.
    #[must_use]
    pub fn has(&self, bug: Bug) -> bool {
        self.bug == Some(bug)
    }

    /// How long, after the store learned of a completion, placing the order may take when
    /// `faults` faults happen meanwhile: each costs at most one lease (the effect waits for
    /// the dead or frozen claim's lease to end), then one call's worth of work.
    #[must_use]
    pub const fn slack(&self, faults: u8) -> u8 {
        faults * self.timing.lease + self.timing.call + 1
    }
}
