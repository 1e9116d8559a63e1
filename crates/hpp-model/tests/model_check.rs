//! The fleet model check: the protocol keeps every property over every reachable state of
//! the configuration CI checks, the interesting states are reached, and each planted defect
//! yields a counterexample, printed in a merchant's words (`cargo test -p hpp-model --
//! --nocapture` shows them).

use std::collections::BTreeSet;
use std::time::Instant;

use hpp_model::{Bug, Config, Fleet, properties, render};
use stateright::{Checker as _, HasDiscoveries, Model as _};

/// What CI checks: two instances, one fault (a crash or a freeze), one lost create order
/// answer, one duplicated callback, Klarna's session two steps from WAITING, the anomaly.
fn ci_config() -> Config {
    Config::new(2, 1)
}

#[test]
fn the_protocol_keeps_every_property_and_reaches_the_interesting_states() {
    let model = Fleet::new(ci_config());
    let started = Instant::now();
    let checker = model.clone().checker().threads(2).spawn_bfs().join();
    println!(
        "{:?}\n{} states, {} unique, max depth {}, {:.1} s",
        model.config,
        checker.state_count(),
        checker.unique_state_count(),
        checker.max_depth(),
        started.elapsed().as_secs_f64()
    );
    for name in properties::SAFETY {
        if let Some(path) = checker.discovery(name) {
            panic!("{name} violated:\n{}", render::trace(&model, &path));
        }
    }
    for name in properties::REACHED {
        assert!(checker.discovery(name).is_some(), "never reached: {name}");
    }
    // Every state was explored, not a prefix: the checker stopped because it was done.
    assert!(checker.is_done());
    assert!(checker.unique_state_count() > 100_000);
}

fn counterexample(bug: Bug) -> String {
    let mut config = ci_config().with_bug(bug);
    config.symmetry = false; // each instance keeps its name in the trace
    let model = Fleet::new(config);
    let checker = model
        .clone()
        .checker()
        .threads(2)
        .finish_when(HasDiscoveries::AnyOf(BTreeSet::from([bug.caught_by()])))
        .spawn_bfs()
        .join();
    let path = checker
        .discovery(bug.caught_by())
        .unwrap_or_else(|| panic!("{} not caught by: {}", bug.name(), bug.caught_by()));
    let trace = render::trace(&model, &path);
    println!(
        "planted defect {}: {} violated\n{trace}",
        bug.name(),
        bug.caught_by()
    );
    // The last state breaks the property, and no state before it did.
    let states = path.into_states();
    let property = model.property(bug.caught_by());
    let holds = |state| (property.condition)(&model, state);
    assert!(!holds(states.last().unwrap()));
    assert!(states[..states.len() - 1].iter().all(holds));
    trace
}

#[test]
fn completion_without_the_fencing_check_is_caught() {
    let trace = counterexample(Bug::NoFencing);
    assert!(trace.contains("freezes"), "{trace}");
    assert!(trace.contains("completes effect"), "{trace}");
}

#[test]
fn a_merge_by_arrival_order_is_caught() {
    let trace = counterexample(Bug::ArrivalOrder);
    assert!(trace.contains("merges"), "{trace}");
}

#[test]
fn the_effect_in_a_second_transaction_is_caught() {
    let trace = counterexample(Bug::EffectSecondTx);
    assert!(
        trace.contains("its effects left for a second transaction"),
        "{trace}"
    );
    assert!(trace.contains("crashes"), "{trace}");
}

#[test]
fn a_batch_read_without_a_claim_is_caught() {
    let trace = counterexample(Bug::BatchWithoutClaim);
    assert!(
        trace.matches("batch claims the session").count() >= 2,
        "{trace}"
    );
}

#[test]
fn a_lease_shorter_than_a_call_is_caught() {
    let trace = counterexample(Bug::ShortLease);
    assert!(trace.contains("sends call 2"), "{trace}");
    assert!(
        !trace.contains("crashes") && !trace.contains("freezes"),
        "{trace}"
    );
}
