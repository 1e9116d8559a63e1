//! Klarna's rate limits, as the simulator enforces them: per merchant (the Basic auth user)
//! and per category of operation, a budget of requests per second; over it, 429 with
//! `Retry-After` until the second is over ("if a merchant has entered rate limiting, all
//! subsequent requests will be returned with a rate limit status code until the rate limit
//! resets"). Every answer carries the quota left in `X-Ratelimit-*` headers. On top, a
//! *storm* refuses one operation for a window of time, whatever the budget, as an overloaded
//! or degraded Klarna would.
//!
//! Pure: the world's time is an argument, so the limiter is tested without a clock.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::time::Duration;

use hpp_status::wire::Timestamp;
use serde::{Deserialize, Serialize};

/// An operation of the simulated API, as the rate limits and the summary count it.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Operation {
    /// `POST /hpp/v1/sessions`: create an HPP session.
    CreateSession,
    /// `GET /hpp/v1/sessions/{id}`: Read Session.
    ReadSession,
    /// `DELETE /hpp/v1/sessions/{id}`: Disable.
    DisableSession,
    /// `POST /payments/v1/authorizations/{token}/order`: create order.
    CreateOrder,
    /// `POST /payments/v1/sessions`: create a Klarna Payments session.
    CreatePaymentSession,
}

impl Operation {
    /// Every operation, in declaration order.
    pub const ALL: [Operation; 5] = [
        Operation::CreateSession,
        Operation::ReadSession,
        Operation::DisableSession,
        Operation::CreateOrder,
        Operation::CreatePaymentSession,
    ];

    /// Its name in the summary and on the command line: `create_session`, `read_session`,
    /// `disable_session`, `create_order`, `create_payment_session`.
    ///
    /// ```
    /// use hpp_sim::Operation;
    ///
    /// assert_eq!(Operation::CreateOrder.as_str(), "create_order");
    /// assert_eq!("read_session".parse(), Ok(Operation::ReadSession));
    /// ```
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Operation::CreateSession => "create_session",
            Operation::ReadSession => "read_session",
            Operation::DisableSession => "disable_session",
            Operation::CreateOrder => "create_order",
            Operation::CreatePaymentSession => "create_payment_session",
        }
    }

    /// The budget it draws from: each kind of creation has its own, every other operation
    /// shares one.
    const fn category(self) -> Category {
        match self {
            Operation::CreateSession => Category::CreateHppSession,
            Operation::CreatePaymentSession => Category::CreatePaymentSession,
            Operation::ReadSession | Operation::DisableSession | Operation::CreateOrder => {
                Category::Other
            }
        }
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Operation {
    type Err = String;

    fn from_str(text: &str) -> Result<Operation, String> {
        Operation::ALL
            .into_iter()
            .find(|operation| operation.as_str() == text)
            .ok_or_else(|| {
                let names: Vec<&str> = Operation::ALL.iter().map(|op| op.as_str()).collect();
                format!("{text:?} is not an operation: {}", names.join(", "))
            })
    }
}

/// A rate-limit category: what Klarna counts one budget against.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
enum Category {
    CreateHppSession,
    CreatePaymentSession,
    Other,
}

impl Category {
    const fn name(self) -> &'static str {
        match self {
            Category::CreateHppSession => "create-hosted-page-session",
            Category::CreatePaymentSession => "create-session",
            Category::Other => "other-operations",
        }
    }
}

/// Requests per second per merchant; 0 turns a limit off.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct RateLimits {
    /// Creating an HPP session, and (separately) creating a Klarna Payments session.
    pub create: u32,
    /// Every other operation, together.
    pub other: u32,
}

impl RateLimits {
    /// Klarna's live figures: 40 creations and 200 other operations a second.
    pub const LIVE: RateLimits = RateLimits {
        create: 40,
        other: 200,
    };
    /// Klarna's playground figures: 5 and 50.
    pub const PLAYGROUND: RateLimits = RateLimits {
        create: 5,
        other: 50,
    };
    /// No limit.
    pub const OFF: RateLimits = RateLimits {
        create: 0,
        other: 0,
    };

    const fn of(self, category: Category) -> u32 {
        match category {
            Category::CreateHppSession | Category::CreatePaymentSession => self.create,
            Category::Other => self.other,
        }
    }
}

impl Default for RateLimits {
    /// [`RateLimits::LIVE`].
    fn default() -> RateLimits {
        RateLimits::LIVE
    }
}

/// A window of world time, from the simulator's start, in which every call of one operation
/// is refused with 429.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Storm {
    /// The operation refused.
    pub operation: Operation,
    /// World: when the storm starts, after the simulator started.
    pub start: Duration,
    /// World: how long it lasts.
    pub length: Duration,
}

impl std::str::FromStr for Storm {
    type Err = String;

    /// `OPERATION@START+LENGTH`, world durations: `create_order@10m+30s`.
    fn from_str(text: &str) -> Result<Storm, String> {
        let usage =
            || format!("{text:?} is not OPERATION@START+LENGTH such as create_order@10m+30s");
        let (operation, window) = text.split_once('@').ok_or_else(usage)?;
        let (start, length) = window.split_once('+').ok_or_else(usage)?;
        let duration = |part: &str| -> Result<Duration, String> {
            let signed: jiff::SignedDuration = part
                .trim()
                .parse()
                .map_err(|error| format!("{}: {part:?}: {error}", usage()))?;
            Duration::try_from(signed).map_err(|_| format!("{}: {part:?} is negative", usage()))
        };
        Ok(Storm {
            operation: operation.parse()?,
            start: duration(start)?,
            length: duration(length)?,
        })
    }
}

/// How a call fared against the limits.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Admission {
    /// No limit applies to it.
    Unlimited,
    /// Within the budget: `remaining` calls are left in this second, which ends in `reset`.
    Admitted {
        limit: u32,
        category: &'static str,
        remaining: u32,
        reset: Duration,
    },
    /// Refused: try again after `retry_after`.
    Refused {
        limit: u32,
        category: &'static str,
        retry_after: Duration,
        storm: bool,
    },
}

/// Calls of one operation and how many were refused.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default, Serialize, Deserialize)]
pub struct CallTally {
    /// Calls that passed Basic auth.
    pub calls: u64,
    /// Of those, refused with 429 for going over the budget.
    pub rate_limited: u64,
    /// Of those, refused with 429 by a storm.
    pub storm_refused: u64,
}

/// The budgets of every merchant and the storms, over world time.
#[derive(Debug)]
pub(crate) struct Limiter {
    limits: RateLimits,
    /// The storms as windows of world time: operation, from, until.
    storms: Vec<(Operation, Timestamp, Timestamp)>,
    /// (merchant, category) -> (the second counted, calls admitted in it).
    windows: HashMap<(String, Category), (i64, u32)>,
    tallies: BTreeMap<Operation, CallTally>,
}

impl Limiter {
    /// Budgets of `limits`; each storm's window placed by `at_world_offset`, which turns a
    /// world duration after the start into the instant it falls on.
    pub(crate) fn new(
        limits: RateLimits,
        storms: &[Storm],
        at_world_offset: impl Fn(Duration) -> Timestamp,
    ) -> Limiter {
        Limiter {
            limits,
            storms: storms
                .iter()
                .map(|storm| {
                    (
                        storm.operation,
                        at_world_offset(storm.start),
                        at_world_offset(storm.start.saturating_add(storm.length)),
                    )
                })
                .collect(),
            windows: HashMap::new(),
            tallies: BTreeMap::new(),
        }
    }

    /// Counts a call of `operation` by `merchant` at `at`, and says whether it may run.
    pub(crate) fn admit(
        &mut self,
        merchant: &str,
        operation: Operation,
        at: Timestamp,
    ) -> Admission {
        let tally = self.tallies.entry(operation).or_default();
        tally.calls += 1;
        let category = operation.category();
        let limit = self.limits.of(category);
        if let Some(until) = self
            .storms
            .iter()
            .filter(|(storm, from, until)| *storm == operation && *from <= at && at < *until)
            .map(|(_, _, until)| *until)
            .max()
        {
            tally.storm_refused += 1;
            return Admission::Refused {
                limit,
                category: category.name(),
                retry_after: Duration::from_millis(
                    u64::try_from(millis(until) - millis(at)).unwrap_or(0),
                ),
                storm: true,
            };
        }
        if limit == 0 {
            return Admission::Unlimited;
        }
        let now = millis(at);
        let second = now.div_euclid(1000);
        let reset = Duration::from_millis(1000 - now.rem_euclid(1000).unsigned_abs());
        let window = self
            .windows
            .entry((merchant.to_owned(), category))
            .or_insert((second, 0));
        if window.0 != second {
            *window = (second, 0);
        }
        if window.1 >= limit {
            tally.rate_limited += 1;
            return Admission::Refused {
                limit,
                category: category.name(),
                retry_after: reset,
                storm: false,
            };
        }
        window.1 += 1;
        Admission::Admitted {
            limit,
            category: category.name(),
            remaining: limit - window.1,
            reset,
        }
    }

    /// The calls of every operation so far.
    pub(crate) fn tallies(&self) -> &BTreeMap<Operation, CallTally> {
        &self.tallies
    }
}

/// Milliseconds since the Unix epoch.
fn millis(at: Timestamp) -> i64 {
    let (second, nanosecond) = at.unix();
    second * 1000 + i64::from(nanosecond / 1_000_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(ms: u32) -> Timestamp {
        Timestamp::from_unix(1_800_000_000 + i64::from(ms / 1000), ms % 1000 * 1_000_000).unwrap()
    }

    fn limiter(limits: RateLimits, storms: &[Storm]) -> Limiter {
        Limiter::new(limits, storms, |offset| at(0).checked_add(offset).unwrap())
    }

    #[test]
    fn a_budget_admits_its_calls_per_second_then_refuses_until_the_second_ends() {
        let mut limiter = limiter(
            RateLimits {
                create: 2,
                other: 3,
            },
            &[],
        );
        let admitted = |admission| matches!(admission, Admission::Admitted { .. });
        assert_eq!(
            limiter.admit("m", Operation::ReadSession, at(100)),
            Admission::Admitted {
                limit: 3,
                category: "other-operations",
                remaining: 2,
                reset: Duration::from_millis(900)
            }
        );
        assert!(admitted(limiter.admit(
            "m",
            Operation::CreateOrder,
            at(200)
        )));
        assert!(admitted(limiter.admit(
            "m",
            Operation::DisableSession,
            at(300)
        )));
        assert_eq!(
            limiter.admit("m", Operation::ReadSession, at(750)),
            Admission::Refused {
                limit: 3,
                category: "other-operations",
                retry_after: Duration::from_millis(250),
                storm: false
            }
        );
        // Creating sessions has a budget of its own; another merchant too; a new second too.
        assert!(admitted(limiter.admit(
            "m",
            Operation::CreateSession,
            at(800)
        )));
        assert!(admitted(limiter.admit(
            "other",
            Operation::ReadSession,
            at(800)
        )));
        assert!(admitted(limiter.admit(
            "m",
            Operation::ReadSession,
            at(1000)
        )));
        let reads = limiter.tallies()[&Operation::ReadSession];
        assert_eq!(
            (reads.calls, reads.rate_limited, reads.storm_refused),
            (4, 1, 0)
        );
    }

    #[test]
    fn the_two_kinds_of_creation_count_apart() {
        let mut limiter = limiter(
            RateLimits {
                create: 1,
                other: 0,
            },
            &[],
        );
        assert!(matches!(
            limiter.admit("m", Operation::CreateSession, at(0)),
            Admission::Admitted { remaining: 0, .. }
        ));
        assert!(matches!(
            limiter.admit("m", Operation::CreatePaymentSession, at(0)),
            Admission::Admitted { remaining: 0, .. }
        ));
        assert!(matches!(
            limiter.admit("m", Operation::CreateSession, at(1)),
            Admission::Refused { .. }
        ));
        // 0: no limit on the rest.
        for ms in 0..500 {
            assert_eq!(
                limiter.admit("m", Operation::ReadSession, at(ms)),
                Admission::Unlimited
            );
        }
    }

    #[test]
    fn a_storm_refuses_its_operation_in_its_window_only() {
        let storm: Storm = "create_order@2s+3s".parse().unwrap();
        let mut limiter = limiter(RateLimits::OFF, &[storm]);
        assert_eq!(
            limiter.admit("m", Operation::CreateOrder, at(1999)),
            Admission::Unlimited
        );
        assert_eq!(
            limiter.admit("m", Operation::CreateOrder, at(2500)),
            Admission::Refused {
                limit: 0,
                category: "other-operations",
                retry_after: Duration::from_millis(2500),
                storm: true
            }
        );
        assert_eq!(
            limiter.admit("m", Operation::ReadSession, at(2500)),
            Admission::Unlimited
        );
        assert_eq!(
            limiter.admit("m", Operation::CreateOrder, at(5000)),
            Admission::Unlimited
        );
        let orders = limiter.tallies()[&Operation::CreateOrder];
        assert_eq!((orders.calls, orders.storm_refused), (3, 1));
    }

    #[test]
    fn storms_and_operations_parse_or_say_why_not() {
        assert_eq!(
            "read_session@0s+1h".parse::<Storm>(),
            Ok(Storm {
                operation: Operation::ReadSession,
                start: Duration::ZERO,
                length: Duration::from_secs(3600)
            })
        );
        for bad in [
            "create_order",
            "create_order@1s",
            "nope@1s+1s",
            "create_order@-1s+1s",
            "create_order@1s+soon",
        ] {
            let error = bad.parse::<Storm>().unwrap_err();
            assert!(
                error.contains(&format!("{:?}", bad.split('@').next().unwrap()))
                    || error.contains(bad),
                "{bad}: {error}"
            );
        }
        for operation in Operation::ALL {
            assert_eq!(operation.as_str().parse(), Ok(operation));
        }
    }
}
