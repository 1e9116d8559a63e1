//! The truth file: one JSON object per line, written by a thread of its own so that the
//! API never waits for the disk.

use std::fs::File;
use std::io::{self, BufWriter, Write as _};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::mpsc::{Sender, channel};
use std::thread::JoinHandle;

use hpp_status::wire::Timestamp;
use serde::Serialize;

use crate::truth::{
    CallbackAttempt, CallbackEvent, DisableAttempt, EventOutcome, OrderAttempt, PlaceOrderMode,
    Redirect, SessionTruth, StatusChange, Summary,
};

/// One line of the truth file. Every line has a `"type"` field naming its kind.
#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(crate) enum Line<'a> {
    SessionCreated {
        at: Timestamp,
        session_id: &'a str,
        index: u64,
        payment_session_url: &'a str,
        place_order_mode: PlaceOrderMode,
        expires_at: Timestamp,
        status_update: Option<&'a str>,
        abandons: bool,
    },
    StatusChanged {
        session_id: &'a str,
        #[serde(flatten)]
        change: &'a StatusChange,
    },
    CallbackEvent {
        at: Timestamp,
        session_id: &'a str,
        #[serde(flatten)]
        event: &'a CallbackEvent,
    },
    CallbackAttempt {
        session_id: &'a str,
        #[serde(flatten)]
        attempt: &'a CallbackAttempt,
    },
    CallbackEnded {
        at: Timestamp,
        session_id: &'a str,
        event_id: &'a str,
        outcome: EventOutcome,
    },
    Read {
        at: Timestamp,
        session_id: &'a str,
        result: &'a str,
        code: u16,
    },
    Disable {
        session_id: &'a str,
        #[serde(flatten)]
        attempt: &'a DisableAttempt,
    },
    Order {
        session_id: Option<&'a str>,
        #[serde(flatten)]
        attempt: &'a OrderAttempt,
    },
    KlarnaOrder {
        at: Timestamp,
        session_id: &'a str,
        order_id: &'a str,
        klarna_reference: &'a str,
    },
    Redirect {
        session_id: &'a str,
        #[serde(flatten)]
        redirect: &'a Redirect,
    },
    /// Written at shutdown, one per session: the whole truth of the session.
    SessionFinal {
        #[serde(flatten)]
        truth: &'a SessionTruth,
    },
    /// Written at shutdown, last.
    Summary {
        at: Timestamp,
        #[serde(flatten)]
        summary: &'a Summary,
    },
}

/// Where truth lines go: a file, or nowhere.
pub(crate) struct TruthLog {
    path: Option<PathBuf>,
    sender: Mutex<Option<Sender<String>>>,
    writer: Mutex<Option<JoinHandle<io::Result<u64>>>>,
}

impl TruthLog {
    /// A log that writes nothing.
    pub(crate) fn disabled() -> TruthLog {
        TruthLog {
            path: None,
            sender: Mutex::new(None),
            writer: Mutex::new(None),
        }
    }

    /// Creates (or truncates) `path` and starts the writer thread.
    pub(crate) fn create(path: &Path) -> io::Result<TruthLog> {
        let file = File::create(path)?;
        let (sender, receiver) = channel::<String>();
        let writer = std::thread::Builder::new()
            .name("hpp-sim-truth".into())
            .spawn(move || {
                let mut out = BufWriter::new(file);
                let mut lines = 0u64;
                for line in receiver {
                    out.write_all(line.as_bytes())?;
                    out.write_all(b"\n")?;
                    lines += 1;
                }
                out.flush()?;
                Ok(lines)
            })?;
        Ok(TruthLog {
            path: Some(path.to_owned()),
            sender: Mutex::new(Some(sender)),
            writer: Mutex::new(Some(writer)),
        })
    }

    /// Queues one line (nothing when the log is disabled or closed).
    pub(crate) fn write(&self, line: &Line<'_>) {
        let guard = self
            .sender
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        let Some(sender) = guard.as_ref() else {
            return;
        };
        match serde_json::to_string(line) {
            Ok(text) => {
                if sender.send(text).is_err() {
                    tracing::error!(path = ?self.path, "the truth writer has stopped; a truth line is lost");
                }
            }
            Err(error) => tracing::error!(%error, "a truth line could not be serialized"),
        }
    }

    /// Stops taking lines, waits until every queued line is on disk, and says how many were
    /// written (`None` when the log was disabled or already closed).
    pub(crate) fn close(&self) -> Option<io::Result<u64>> {
        drop(
            self.sender
                .lock()
                .unwrap_or_else(|poison| poison.into_inner())
                .take(),
        );
        let writer = self
            .writer
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
            .take()?;
        Some(
            writer
                .join()
                .unwrap_or_else(|_| Err(io::Error::other("the truth writer thread panicked"))),
        )
    }

    /// The file, if any.
    pub(crate) fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }
}

/// Where the registry writes what happened, line by line: the truth file, or nowhere.
pub(crate) trait Journal: Send + Sync {
    /// Records one line.
    fn write(&self, line: &Line<'_>);
}

impl Journal for TruthLog {
    fn write(&self, line: &Line<'_>) {
        TruthLog::write(self, line);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(session_id: &str) -> Line<'_> {
        Line::Read {
            at: Timestamp::from_unix(0, 0).unwrap(),
            session_id,
            result: "ok",
            code: 200,
        }
    }

    #[test]
    fn close_waits_for_every_line_and_counts_them() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("truth.jsonl");
        let log = TruthLog::create(&path).unwrap();
        assert_eq!(log.path(), Some(path.as_path()));
        for session_id in ["a", "b", "c"] {
            log.write(&read(session_id));
        }
        assert_eq!(log.close().unwrap().unwrap(), 3);
        // On disk when close returns, one JSON object a line.
        let written = std::fs::read_to_string(&path).unwrap();
        let ids: Vec<String> = written
            .lines()
            .map(|line| serde_json::from_str::<serde_json::Value>(line).unwrap())
            .map(|line| line["session_id"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(ids, ["a", "b", "c"]);
        // Closed: a later line is dropped, and a second close has nothing to say.
        log.write(&read("d"));
        assert!(log.close().is_none());
        assert_eq!(std::fs::read_to_string(&path).unwrap(), written);
    }

    #[test]
    fn a_disabled_log_has_no_file_and_nothing_to_close() {
        let log = TruthLog::disabled();
        log.write(&read("a"));
        assert_eq!(log.path(), None);
        assert!(log.close().is_none());
    }
}
