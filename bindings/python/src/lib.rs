//! Python bindings of the `hpp-status` core (PyO3, abi3 from CPython 3.9): the module
//! `hpp_status`, built into a wheel by maturin (`bash scripts/bindings.sh`).
//!
//! Every rule, message and stored form is the core's: this crate only converts. Its typed
//! interface is `hpp_status.pyi`; its tests are Python's (`tests/`), against the vectors the
//! core's tests check (`bindings/vectors.json`).

#![forbid(unsafe_code)]
#![deny(missing_docs)]

use std::borrow::Cow;
use std::fmt::Display;

use hpp_status::Observation;
use hpp_status::wire::{SessionResponse, StatusCallback, Timestamp};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::pybacked::PyBackedStr;
use pyo3::types::{PyBytes, PyString, PyType};

pyo3::create_exception!(
    hpp_status,
    TransitionError,
    PyValueError,
    "An action the transition table does not allow; `str()` is the reason, in the core's words."
);

/// A `ValueError` whose message is `error`'s `Display` text.
fn value_error(error: impl Display) -> PyErr {
    PyValueError::new_err(error.to_string())
}

/// The status of a Hosted Payment Page session.
#[pyclass(eq, eq_int, frozen, hash, from_py_object, module = "hpp_status")]
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
#[allow(non_camel_case_types, clippy::upper_case_acronyms)]
pub enum Status {
    /// The session is created; the consumer has not opened the page yet.
    WAITING,
    /// The consumer has opened the payment page.
    IN_PROGRESS,
    /// Final: the consumer got an authorization.
    COMPLETED,
    /// The consumer was declined; the session stays open for a retry.
    FAILED,
    /// Final: the consumer cancelled.
    CANCELLED,
    /// The consumer pressed Back; the session stays open for a retry.
    BACK,
    /// The consumer hit an error; the session stays open for a retry.
    ERROR,
    /// Final: the merchant disabled the session.
    DISABLED,
}

impl Status {
    /// Every status, in the core's order (the discriminants of both enums).
    const ALL: [Status; 8] = [
        Status::WAITING,
        Status::IN_PROGRESS,
        Status::COMPLETED,
        Status::FAILED,
        Status::CANCELLED,
        Status::BACK,
        Status::ERROR,
        Status::DISABLED,
    ];

    fn core(self) -> hpp_status::Status {
        hpp_status::Status::ALL[self as usize]
    }

    fn of(status: hpp_status::Status) -> Status {
        Status::ALL[status as usize]
    }
}

// The names must be the core's wire names: the Python tests check each against the vectors.

#[pymethods]
impl Status {
    /// The status named exactly `text`, or a `ValueError` naming it.
    #[staticmethod]
    fn parse(text: &Bound<'_, PyString>) -> PyResult<Status> {
        let text = text.to_cow()?;
        text.parse::<hpp_status::Status>()
            .map(Status::of)
            .map_err(value_error)
    }

    /// Whether the status is final.
    #[getter]
    fn is_final(&self) -> bool {
        self.core().is_final()
    }

    /// Whether `other` is one direct step away.
    fn can_transition_to(&self, other: Status) -> bool {
        self.core().can_transition_to(other.core())
    }

    /// Whether `other` can follow after one or more steps.
    fn can_reach(&self, other: Status) -> bool {
        self.core().can_reach(other.core())
    }

    /// The status after `action`, or `TransitionError` saying why not.
    fn apply(&self, action: Action) -> PyResult<Status> {
        self.core()
            .apply(action.core())
            .map(Status::of)
            .map_err(|error| TransitionError::new_err(error.to_string()))
    }

    fn __str__(&self) -> &'static str {
        self.core().as_str()
    }
}

/// An event that moves a session one step along the transition table.
#[pyclass(eq, eq_int, frozen, hash, from_py_object, module = "hpp_status")]
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
#[allow(non_camel_case_types, clippy::upper_case_acronyms)]
pub enum Action {
    /// The consumer opens the payment page, or returns to it.
    ENTER_PAGE,
    /// The consumer gets an authorization.
    AUTHORIZE,
    /// The consumer is declined.
    DECLINE,
    /// The consumer cancels.
    CANCEL,
    /// The consumer presses Back.
    GO_BACK,
    /// The consumer hits an error.
    FAIL,
    /// The merchant disables the session.
    DISABLE,
}

impl Action {
    fn core(self) -> hpp_status::Action {
        hpp_status::Action::ALL[self as usize]
    }
}

#[pymethods]
impl Action {
    /// The status the action leads to.
    #[getter]
    fn target(&self) -> Status {
        Status::of(self.core().target())
    }

    fn __str__(&self) -> &'static str {
        self.core().as_str()
    }
}

/// What one delivery meant to a `Tracker`.
#[pyclass(frozen, module = "hpp_status")]
pub struct Outcome {
    outcome: hpp_status::Outcome<Timestamp>,
}

#[pymethods]
impl Outcome {
    /// `"advanced"`, `"duplicate"`, `"stale"` or `"conflict"`.
    #[getter]
    fn kind(&self) -> &'static str {
        self.outcome.kind().as_str()
    }

    /// True exactly when this delivery made the tracker final (or changed its final).
    #[getter]
    fn became_final(&self) -> bool {
        self.outcome.became_final()
    }

    /// The status the tracker holds after the delivery.
    #[getter]
    fn status(&self) -> Status {
        Status::of(self.outcome.current().status)
    }

    /// The `updated_at` the tracker holds after the delivery, as the core writes it.
    #[getter]
    fn updated_at(&self) -> String {
        self.outcome.current().updated_at.to_string()
    }

    fn __str__(&self) -> String {
        self.outcome.to_string()
    }

    fn __repr__(&self) -> String {
        format!(
            "<Outcome kind={:?} became_final={}: {}>",
            self.outcome.kind().as_str(),
            if self.outcome.became_final() {
                "True"
            } else {
                "False"
            },
            self.outcome
        )
    }
}

/// A Read Session body or a status callback, read leniently as the core reads it.
#[pyclass(frozen, module = "hpp_status")]
pub struct Session {
    session: SessionResponse,
    event_id: Option<String>,
    /// The callback's own problems (before the session's).
    callback_problems: Vec<&'static str>,
}

#[pymethods]
impl Session {
    /// The status as the wire wrote it (known or not), or `None`.
    #[getter]
    fn status(&self) -> Option<&str> {
        self.session.status.as_ref().map(|status| status.as_str())
    }

    /// `updated_at`, written back in the core's form (UTC, milliseconds), or `None`.
    #[getter]
    fn updated_at(&self) -> Option<String> {
        self.session.updated_at.map(|at| at.to_string())
    }

    /// `expires_at`, written back in the core's form, or `None`.
    #[getter]
    fn expires_at(&self) -> Option<String> {
        self.session.expires_at.map(|at| at.to_string())
    }

    /// The session id, or `None`.
    #[getter]
    fn session_id(&self) -> Option<&str> {
        self.session.session_id.as_deref()
    }

    /// The authorization token (Klarna Payments), or `None`.
    #[getter]
    fn authorization_token(&self) -> Option<&str> {
        self.session.authorization_token.as_deref()
    }

    /// The order id (Kustom Checkout, `place_order_mode`), or `None`.
    #[getter]
    fn order_id(&self) -> Option<&str> {
        self.session.order_id.as_deref()
    }

    /// The order's Klarna reference, or `None`.
    #[getter]
    fn klarna_reference(&self) -> Option<&str> {
        self.session.klarna_reference.as_deref()
    }

    /// A callback's `event_id`, or `None` (always for a Read Session body).
    #[getter]
    fn event_id(&self) -> Option<&str> {
        self.event_id.as_deref()
    }

    /// The paths of the fields whose values could not be used, such as `"expires_at"`.
    #[getter]
    fn problems(&self) -> Vec<&'static str> {
        let session = self.session.problems.iter().map(|problem| problem.field());
        self.callback_problems
            .iter()
            .copied()
            .chain(session)
            .collect()
    }

    /// Why each of those fields could not be used, in the core's words.
    #[getter]
    fn problem_messages(&self) -> Vec<String> {
        self.session
            .problems
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    fn __repr__(&self) -> String {
        format!(
            "<Session status={:?} updated_at={:?}>",
            self.status(),
            self.updated_at()
        )
    }
}

/// The bytes of a body given as `str` (its UTF-8) or `bytes` (as they are: JSON's reader
/// decides, as the core's does).
fn body_bytes<'a>(body: &'a Bound<'_, PyAny>) -> PyResult<Cow<'a, [u8]>> {
    if let Ok(text) = body.cast::<PyString>() {
        return Ok(match text.to_cow()? {
            Cow::Borrowed(text) => Cow::Borrowed(text.as_bytes()),
            Cow::Owned(text) => Cow::Owned(text.into_bytes()),
        });
    }
    if let Ok(bytes) = body.cast::<PyBytes>() {
        return Ok(Cow::Borrowed(bytes.as_bytes()));
    }
    Err(PyTypeError::new_err("the body must be str or bytes"))
}

/// A Read Session body (`str` or `bytes`), read leniently; `ValueError` when it is not a
/// JSON object.
#[pyfunction]
fn parse_session(body: &Bound<'_, PyAny>) -> PyResult<Session> {
    let session: SessionResponse = serde_json::from_slice(&body_bytes(body)?)
        .map_err(|error| value_error(format_args!("not a Read Session body: {error}")))?;
    Ok(Session {
        session,
        event_id: None,
        callback_problems: Vec::new(),
    })
}

/// A status callback body (`str` or `bytes`), read leniently; `ValueError` when it is not a
/// JSON object with a `session` object.
#[pyfunction]
fn parse_callback(body: &Bound<'_, PyAny>) -> PyResult<Session> {
    let callback: StatusCallback = serde_json::from_slice(&body_bytes(body)?)
        .map_err(|error| value_error(format_args!("not a status callback body: {error}")))?;
    Ok(Session {
        callback_problems: callback.problems.iter().map(|p| p.field()).collect(),
        event_id: callback.event_id,
        session: callback.session,
    })
}

/// Merges every report of one session into the one status to believe.
#[pyclass(module = "hpp_status")]
#[derive(Default)]
pub struct Tracker {
    tracker: hpp_status::Tracker<Timestamp>,
}

/// A status given as a `Status` or its wire name.
fn status_arg(status: &Bound<'_, PyAny>) -> PyResult<hpp_status::Status> {
    if let Ok(text) = status.cast::<PyString>() {
        let text: PyBackedStr = text.clone().try_into()?;
        return text.parse().map_err(value_error);
    }
    Ok(status.extract::<Status>()?.core())
}

#[pymethods]
impl Tracker {
    /// A tracker that has seen nothing.
    #[new]
    fn new() -> Tracker {
        Tracker::default()
    }

    /// Takes in one delivery: `status` (a `Status` or its wire name) and `updated_at` (RFC
    /// 3339 text), and says what it meant.
    fn observe(
        &mut self,
        status: &Bound<'_, PyAny>,
        updated_at: &Bound<'_, PyString>,
    ) -> PyResult<Outcome> {
        let status = status_arg(status)?;
        let updated_at: Timestamp = updated_at.to_cow()?.parse().map_err(value_error)?;
        let outcome = self.tracker.observe(Observation::new(status, updated_at));
        Ok(Outcome { outcome })
    }

    /// Takes in a parsed session or callback; `ValueError` saying why when it cannot be
    /// ordered (no status, `TIMEOUT`, an unknown status, no usable `updated_at`...).
    fn observe_session(&mut self, session: &Session) -> PyResult<Outcome> {
        let seen = session.session.observation().map_err(value_error)?;
        Ok(Outcome {
            outcome: self.tracker.observe(seen),
        })
    }

    /// The status to believe, or `None` before any observation.
    #[getter]
    fn status(&self) -> Option<Status> {
        self.tracker.status().map(Status::of)
    }

    /// The `updated_at` held, in the core's form, or `None` before any observation.
    #[getter]
    fn updated_at(&self) -> Option<String> {
        self.tracker
            .latest()
            .map(|seen| seen.updated_at.to_string())
    }

    /// The stored form, exactly the Rust crate's JSON.
    fn to_json(&self) -> PyResult<String> {
        serde_json::to_string(&self.tracker).map_err(value_error)
    }

    /// A tracker from its stored form; strict: `ValueError` for an unknown or missing field.
    #[classmethod]
    fn from_json(_class: &Bound<'_, PyType>, text: &Bound<'_, PyAny>) -> PyResult<Tracker> {
        let tracker = serde_json::from_slice(&body_bytes(text)?)
            .map_err(|error| value_error(format_args!("not a stored tracker: {error}")))?;
        Ok(Tracker { tracker })
    }

    fn __repr__(&self) -> String {
        match self.tracker.latest() {
            Some(seen) => format!("<Tracker {seen}>"),
            None => "<Tracker (nothing seen)>".to_owned(),
        }
    }
}

/// The module `hpp_status`.
#[pymodule(name = "hpp_status")]
fn hpp_status_module(module: &Bound<'_, PyModule>) -> PyResult<()> {
    module.add_class::<Status>()?;
    module.add_class::<Action>()?;
    module.add_class::<Outcome>()?;
    module.add_class::<Session>()?;
    module.add_class::<Tracker>()?;
    module.add("TransitionError", module.py().get_type::<TransitionError>())?;
    module.add_function(wrap_pyfunction!(parse_session, module)?)?;
    module.add_function(wrap_pyfunction!(parse_callback, module)?)?;
    module.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
