//! The world's clock: the wall clock plus however far a test has advanced it
//! (`POST /_sim/clock`). Every timestamp the simulator writes and every pause it takes (a
//! consumer's, a callback's retry) reads this clock, so advancing it expires sessions and
//! tokens and fires due retries at once, as the time passing would.

use std::time::Duration;

use hpp_status::wire::Timestamp;
use tokio::sync::watch;
use tokio::time::Instant;

use crate::registry::later;

/// The wall clock, shifted forward by every advance so far.
#[derive(Debug)]
pub(crate) struct Clock {
    /// How far the clock has been advanced (wall time).
    offset: watch::Sender<Duration>,
}

impl Default for Clock {
    fn default() -> Self {
        Clock {
            offset: watch::Sender::new(Duration::ZERO),
        }
    }
}

impl Clock {
    /// Now, to the millisecond as the API writes it.
    pub(crate) fn now(&self) -> Timestamp {
        later(Timestamp::now(), *self.offset.borrow())
    }

    /// Moves the clock forward by `wall`, wakes every pause that is now over, and returns the
    /// new now.
    pub(crate) fn advance(&self, wall: Duration) -> Timestamp {
        self.offset
            .send_modify(|offset| *offset = offset.saturating_add(wall));
        self.now()
    }

    /// Sleeps until `wall` has passed on this clock: by itself, or sooner when the clock is
    /// advanced.
    pub(crate) async fn sleep(&self, wall: Duration) {
        let mut advanced = self.offset.subscribe();
        let start = *advanced.borrow_and_update();
        let Some(deadline) = Instant::now().checked_add(wall) else {
            // Beyond what the runtime can count: only an advance ends it.
            while advanced.changed().await.is_ok() {
                if advanced.borrow_and_update().saturating_sub(start) >= wall {
                    return;
                }
            }
            return std::future::pending().await;
        };
        loop {
            let skipped = advanced.borrow_and_update().saturating_sub(start);
            let Some(target) = deadline.checked_sub(skipped) else {
                return;
            };
            if Instant::now() >= target {
                return;
            }
            tokio::select! {
                () = tokio::time::sleep_until(target) => return,
                changed = advanced.changed() => {
                    if changed.is_err() {
                        return std::future::pending().await;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_pause_ends_when_its_time_passes() {
        let clock = Clock::default();
        let started = Instant::now();
        clock.sleep(Duration::from_secs(60)).await;
        assert_eq!(started.elapsed(), Duration::from_secs(60));
    }

    #[tokio::test(start_paused = true)]
    async fn an_advance_ends_a_pause_early_and_moves_now() {
        let clock = std::sync::Arc::new(Clock::default());
        let before = clock.now();
        let sleeper = {
            let clock = std::sync::Arc::clone(&clock);
            tokio::spawn(async move { clock.sleep(Duration::from_secs(3600)).await })
        };
        tokio::time::sleep(Duration::from_secs(1)).await;
        assert!(!sleeper.is_finished());
        clock.advance(Duration::from_secs(1800));
        tokio::time::sleep(Duration::from_millis(1)).await;
        assert!(
            !sleeper.is_finished(),
            "half the pause was skipped, not all"
        );
        let after = clock.advance(Duration::from_secs(1800));
        sleeper.await.unwrap();
        assert!(after >= later(before, Duration::from_secs(3600)));
    }
}
