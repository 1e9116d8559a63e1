//! The stop signal against real signals, raised in this process. One test: every listener of
//! the process hears a signal, so no other test may listen while one is raised.

use std::time::Duration;

use nix::sys::signal::{Signal, raise};

#[tokio::test]
async fn it_waits_for_sigterm_or_ctrl_c_even_one_raised_before_its_first_poll() {
    // SIGTERM first, while nothing in this process has listened for it yet: raised before
    // the future is first polled, it would end the process unless the call itself installed
    // the handler.
    for signal in [Signal::SIGTERM, Signal::SIGINT] {
        let stop = hpp_shutdown::stop_signal(|error| panic!("cannot listen: {error}"));
        raise(signal).unwrap();
        tokio::time::timeout(Duration::from_secs(10), stop)
            .await
            .unwrap_or_else(|_| panic!("{signal} did not stop it"));
    }
    let quiet = hpp_shutdown::stop_signal(|error| panic!("cannot listen: {error}"));
    assert!(
        tokio::time::timeout(Duration::from_millis(200), quiet)
            .await
            .is_err(),
        "stopped without a signal"
    );
}
