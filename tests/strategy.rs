//! The exported proptest strategies (feature `proptest`) make what they promise: legal,
//! strictly dated histories that are long and full of retries, and deliveries that repeat
//! each observation the promised number of times.
#![cfg(feature = "proptest")]

use std::collections::BTreeMap;

use hpp_status::strategy::{
    MAX_COPIES, MAX_HISTORY_STEPS, any_observation, deliveries, history_with_deliveries,
    history_with_ties_and_deliveries, legal_history, legal_history_with_ties,
};
use hpp_status::{Observation, Status};
use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::{Config, TestRng, TestRunner};

/// A runner with a fixed seed, so that the statistics below are the same on every run.
fn runner() -> TestRunner {
    let rng = TestRng::from_seed(proptest::test_runner::RngAlgorithm::ChaCha, &[7; 32]);
    TestRunner::new_with_rng(Config::default(), rng)
}

fn sample<S: Strategy>(strategy: &S, runner: &mut TestRunner) -> S::Value {
    strategy.new_tree(runner).unwrap().current()
}

#[test]
fn histories_are_legal_and_strictly_dated() {
    let mut runner = runner();
    let strategy = legal_history(16);
    for _ in 0..2_000 {
        let history = sample(&strategy, &mut runner);
        assert_eq!(history[0].status, Status::Waiting);
        assert!(history.len() <= 17);
        for pair in history.windows(2) {
            assert!(
                pair[0].status.can_transition_to(pair[1].status),
                "{history:?}"
            );
            assert!(pair[0].updated_at < pair[1].updated_at, "{history:?}");
            assert!(
                pair[1].updated_at - pair[0].updated_at <= 60_000,
                "{history:?}"
            );
        }
    }
}

#[test]
fn histories_are_long_and_end_both_ways() {
    let mut runner = runner();
    let strategy = legal_history(16);
    let histories: Vec<Vec<Observation<u64>>> =
        (0..2_000).map(|_| sample(&strategy, &mut runner)).collect();
    let mean_len = histories.iter().map(Vec::len).sum::<usize>() as f64 / histories.len() as f64;
    // Preferring open statuses three times in four keeps histories long (about 5.6 steps
    // with this seed); a walk that chose uniformly would fall into a final after about 3.
    assert!(mean_len > 4.5, "mean history length {mean_len}");
    let finished = histories
        .iter()
        .filter(|h| h.last().unwrap().status.is_final())
        .count();
    assert!(
        finished > 200 && finished < 1_800,
        "{finished} of 2000 end final"
    );
    let retries = histories
        .iter()
        .filter(|h| h.iter().filter(|o| o.status == Status::InProgress).count() > 1)
        .count();
    assert!(retries > 200, "{retries} of 2000 histories retry");
    let mut last_statuses = BTreeMap::new();
    for history in &histories {
        *last_statuses
            .entry(history.last().unwrap().status)
            .or_insert(0) += 1;
    }
    assert_eq!(
        last_statuses.len(),
        8,
        "every status ends some history: {last_statuses:?}"
    );
}

#[test]
fn deliveries_repeat_each_observation_as_promised() {
    let mut runner = runner();
    let history = sample(&legal_history(10), &mut runner);
    for _ in 0..500 {
        let delivered = sample(&deliveries(history.clone(), 1..=3), &mut runner);
        for seen in &history {
            let copies = delivered.iter().filter(|d| *d == seen).count();
            assert!((1..=3).contains(&copies), "{copies} copies of {seen:?}");
        }
        assert!(delivered.iter().all(|d| history.contains(d)));
    }
    let lost = sample(&deliveries(history.clone(), 0..=0), &mut runner);
    assert!(lost.is_empty());
    let (history, delivered) = sample(&history_with_deliveries(8, 2..=2), &mut runner);
    assert_eq!(delivered.len(), 2 * history.len());
}

#[test]
fn any_observation_stays_below_its_time_bound() {
    let mut runner = runner();
    let strategy = any_observation(3);
    let seen: Vec<Observation<u64>> = (0..500).map(|_| sample(&strategy, &mut runner)).collect();
    assert!(seen.iter().all(|o| o.updated_at < 3));
    assert_eq!(
        seen.iter()
            .map(|o| o.status)
            .collect::<std::collections::BTreeSet<_>>()
            .len(),
        8
    );
}

#[test]
fn any_observation_of_no_times_is_at_time_zero() {
    let mut runner = runner();
    let strategy = any_observation(0);
    for _ in 0..200 {
        assert_eq!(sample(&strategy, &mut runner).updated_at, 0);
    }
    let strategy = any_observation(u64::MAX);
    let seen: Vec<u64> = (0..200)
        .map(|_| sample(&strategy, &mut runner).updated_at)
        .collect();
    assert!(seen.iter().any(|&at| at > u64::MAX / 4), "{seen:?}");
}

#[test]
fn legal_history_of_any_length_is_bounded_and_legal() {
    let mut runner = runner();
    let huge = legal_history(usize::MAX);
    let mut longest = 0;
    for _ in 0..20 {
        let history = sample(&huge, &mut runner);
        longest = longest.max(history.len());
        assert!(history.len() <= MAX_HISTORY_STEPS + 1);
        assert!(history.windows(2).all(|pair| {
            pair[0].status.can_transition_to(pair[1].status)
                && pair[0].updated_at < pair[1].updated_at
        }));
    }
    assert!(longest > 1);
    let none = legal_history(0);
    for _ in 0..50 {
        assert_eq!(
            sample(&none, &mut runner)
                .iter()
                .map(|o| o.status)
                .collect::<Vec<_>>(),
            [Status::Waiting]
        );
    }
}

#[test]
fn deliveries_of_degenerate_ranges_are_bounded() {
    let mut runner = runner();
    let history = sample(&legal_history(6), &mut runner);
    let all = sample(&deliveries(history.clone(), 0..=usize::MAX), &mut runner);
    assert!(all.len() <= MAX_COPIES * history.len());
    #[allow(clippy::reversed_empty_ranges)]
    let reversed = sample(&deliveries(history.clone(), 3..=1), &mut runner);
    assert_eq!(reversed.len(), 3 * history.len());
    let beyond = sample(
        &deliveries(history.clone(), usize::MAX..=usize::MAX),
        &mut runner,
    );
    assert_eq!(beyond.len(), MAX_COPIES * history.len());
}

#[test]
fn histories_with_ties_share_times_and_stay_legal() {
    let mut runner = runner();
    let strategy = legal_history_with_ties(16);
    let mut ties = 0;
    for _ in 0..2_000 {
        let history = sample(&strategy, &mut runner);
        assert_eq!(history[0].status, Status::Waiting);
        for pair in history.windows(2) {
            assert!(
                pair[0].status.can_transition_to(pair[1].status),
                "{history:?}"
            );
            assert!(pair[0].updated_at <= pair[1].updated_at, "{history:?}");
            assert!(pair[1].updated_at - pair[0].updated_at <= 60_000);
            ties += usize::from(pair[0].updated_at == pair[1].updated_at);
        }
    }
    assert!(ties > 1_000, "{ties} equal times");
    let (history, delivered) = sample(&history_with_ties_and_deliveries(8, 1..=1), &mut runner);
    assert_eq!(delivered.len(), history.len());
}
