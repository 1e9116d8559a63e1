//! The stop signal of the workspace's binaries (`hpp-merchant`, `hpp-sim`): SIGTERM or
//! Ctrl-C (SIGINT).
//!
//! [`stop_signal`] listens from the moment it is called, not from the first poll of what it
//! returns: a binary calls it before it binds, and a signal that arrives once the service
//! answers stops it cleanly (requests finished, summaries written) instead of finding no
//! handler and ending the process.
//!
//! ```no_run
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> std::io::Result<()> {
//! let stop = hpp_shutdown::stop_signal(|error| eprintln!("Ctrl-C only: {error}"));
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! // ... serve on `listener` ...
//! stop.await; // SIGTERM or Ctrl-C
//! // ... finish the work under way ...
//! # Ok(())
//! # }
//! ```

#![forbid(unsafe_code)]
#![deny(missing_docs)]

use std::io;

/// Listens for SIGTERM and Ctrl-C from this call on; the future resolves at the first.
///
/// Must be called inside a Tokio runtime. When SIGTERM cannot be listened for,
/// `on_setup_error` is told why and the future waits for Ctrl-C alone (on platforms without
/// Unix signals, always).
pub fn stop_signal(on_setup_error: impl FnOnce(&io::Error)) -> impl Future<Output = ()> {
    #[cfg(unix)]
    let signals = {
        use tokio::signal::unix::{SignalKind, signal};
        signal(SignalKind::terminate()).and_then(|terminate| {
            signal(SignalKind::interrupt()).map(|interrupt| (terminate, interrupt))
        })
    };
    #[cfg(unix)]
    let signals = signals.inspect_err(on_setup_error).ok();
    #[cfg(not(unix))]
    let _ = on_setup_error;
    async move {
        #[cfg(unix)]
        if let Some((mut terminate, mut interrupt)) = signals {
            tokio::select! {
                _ = terminate.recv() => {}
                _ = interrupt.recv() => {}
            }
            return;
        }
        let _ = tokio::signal::ctrl_c().await;
    }
}
