//! JavaScript bindings of the `hpp-status` core (wasm-bindgen): the WebAssembly module under
//! the npm package `hpp-status`.
//!
//! This is the raw layer; the package's public API is the JavaScript around it
//! (`package/index.cjs`, typed by `package/index.d.ts`), which turns refusals into
//! `TransitionError`s and codes into outcome objects. Every rule, message and stored form is
//! the core's: this crate only converts. The conversions are plain Rust ([`Tracker`],
//! [`Session::read_session`], [`Session::read_callback`], returning `Result<_, String>`), so
//! that the host's tests (`tests/vectors.rs`) call them without a JavaScript engine.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

use hpp_status::wire::{SessionResponse, StatusCallback, Timestamp};
use hpp_status::{Action, Observation, Outcome, OutcomeKind, Status};
use std::cell::{Cell, RefCell};

use wasm_bindgen::prelude::*;

/// A status by its wire name, or the core's message for anything else.
pub fn status(text: &str) -> Result<Status, String> {
    text.parse()
        .map_err(|error: hpp_status::ParseStatusError| error.to_string())
}

/// An action by its name (`Action::as_str`, such as `"EnterPage"`), or why not.
pub fn action(text: &str) -> Result<Action, String> {
    Action::ALL
        .into_iter()
        .find(|action| action.as_str() == text)
        .ok_or_else(|| {
            let names: Vec<&str> = Action::ALL.iter().map(|a| a.as_str()).collect();
            format!(
                "unknown HPP action {text:?}; expected one of {}",
                names.join(", ")
            )
        })
}

/// The outcome as one number for the JavaScript side: the kind's index in
/// `OutcomeKind::ALL` times two, plus one when the delivery made the tracker final.
pub fn outcome_code(outcome: &Outcome<Timestamp>) -> u32 {
    let kind = OutcomeKind::ALL
        .iter()
        .position(|kind| *kind == outcome.kind())
        .unwrap_or_default();
    (kind as u32) * 2 + u32::from(outcome.became_final())
}

fn js(error: String) -> JsError {
    JsError::new(&error)
}

/// The names of the outcome kinds, in the order of `outcome_code`.
#[wasm_bindgen(js_name = outcomeKinds)]
pub fn outcome_kinds() -> Vec<String> {
    OutcomeKind::ALL
        .iter()
        .map(|kind| kind.as_str().to_owned())
        .collect()
}

/// The wire names of the statuses, in the core's order.
#[wasm_bindgen(js_name = statusNames)]
pub fn status_names() -> Vec<String> {
    Status::ALL.iter().map(|s| s.as_str().to_owned()).collect()
}

/// The names of the actions, in the core's order.
#[wasm_bindgen(js_name = actionNames)]
pub fn action_names() -> Vec<String> {
    Action::ALL.iter().map(|a| a.as_str().to_owned()).collect()
}

/// The status named exactly `text` (that same text), or an error naming it.
#[wasm_bindgen(js_name = parseStatus)]
pub fn parse_status(text: &str) -> Result<String, JsError> {
    Ok(status(text).map_err(js)?.as_str().to_owned())
}

/// Whether the status is final.
#[wasm_bindgen(js_name = isFinal)]
pub fn is_final(text: &str) -> Result<bool, JsError> {
    Ok(status(text).map_err(js)?.is_final())
}

/// Whether `to` is one direct step from `from`.
#[wasm_bindgen(js_name = canTransition)]
pub fn can_transition(from: &str, to: &str) -> Result<bool, JsError> {
    Ok(status(from)
        .map_err(js)?
        .can_transition_to(status(to).map_err(js)?))
}

/// Whether `to` can follow `from` after one or more steps.
#[wasm_bindgen(js_name = canReach)]
pub fn can_reach(from: &str, to: &str) -> Result<bool, JsError> {
    Ok(status(from).map_err(js)?.can_reach(status(to).map_err(js)?))
}

/// The status after `action`, or `undefined` when the table refuses it
/// (`transitionError` says why); an error for an unknown status or action name.
#[wasm_bindgen]
pub fn apply(from: &str, action_name: &str) -> Result<Option<String>, JsError> {
    let from = status(from).map_err(js)?;
    let action = action(action_name).map_err(js)?;
    Ok(from.apply(action).ok().map(|next| next.as_str().to_owned()))
}

/// Why `action` is refused from `from` (the core's `TransitionError` text), or `undefined`
/// when it is allowed.
#[wasm_bindgen(js_name = transitionError)]
pub fn transition_error(from: &str, action_name: &str) -> Result<Option<String>, JsError> {
    let from = status(from).map_err(js)?;
    let action = action(action_name).map_err(js)?;
    Ok(from.apply(action).err().map(|error| error.to_string()))
}

/// A Read Session body or a status callback, read leniently as the core reads it.
#[wasm_bindgen]
pub struct Session {
    session: SessionResponse,
    event_id: Option<String>,
    callback_problems: Vec<&'static str>,
}

impl Session {
    /// A Read Session body, or why it is refused whole.
    pub fn read_session(body: &[u8]) -> Result<Session, String> {
        let session: SessionResponse = serde_json::from_slice(body)
            .map_err(|error| format!("not a Read Session body: {error}"))?;
        Ok(Session {
            session,
            event_id: None,
            callback_problems: Vec::new(),
        })
    }

    /// A status callback body, or why it is refused whole.
    pub fn read_callback(body: &[u8]) -> Result<Session, String> {
        let callback: StatusCallback = serde_json::from_slice(body)
            .map_err(|error| format!("not a status callback body: {error}"))?;
        Ok(Session {
            callback_problems: callback.problems.iter().map(|p| p.field()).collect(),
            event_id: callback.event_id,
            session: callback.session,
        })
    }
}

#[wasm_bindgen]
impl Session {
    /// The status as the wire wrote it (known or not).
    #[wasm_bindgen(getter)]
    pub fn status(&self) -> Option<String> {
        self.session
            .status
            .as_ref()
            .map(|status| status.as_str().to_owned())
    }

    /// `updated_at`, in the core's form (UTC, milliseconds).
    #[wasm_bindgen(getter, js_name = updatedAt)]
    pub fn updated_at(&self) -> Option<String> {
        self.session.updated_at.map(|at| at.to_string())
    }

    /// `expires_at`, in the core's form.
    #[wasm_bindgen(getter, js_name = expiresAt)]
    pub fn expires_at(&self) -> Option<String> {
        self.session.expires_at.map(|at| at.to_string())
    }

    /// The session id.
    #[wasm_bindgen(getter, js_name = sessionId)]
    pub fn session_id(&self) -> Option<String> {
        self.session.session_id.clone()
    }

    /// The authorization token (Klarna Payments).
    #[wasm_bindgen(getter, js_name = authorizationToken)]
    pub fn authorization_token(&self) -> Option<String> {
        self.session.authorization_token.clone()
    }

    /// The order id (Kustom Checkout, `place_order_mode`).
    #[wasm_bindgen(getter, js_name = orderId)]
    pub fn order_id(&self) -> Option<String> {
        self.session.order_id.clone()
    }

    /// The order's Klarna reference.
    #[wasm_bindgen(getter, js_name = klarnaReference)]
    pub fn klarna_reference(&self) -> Option<String> {
        self.session.klarna_reference.clone()
    }

    /// A callback's `event_id` (never for a Read Session body).
    #[wasm_bindgen(getter, js_name = eventId)]
    pub fn event_id(&self) -> Option<String> {
        self.event_id.clone()
    }

    /// The paths of the fields whose values could not be used.
    #[wasm_bindgen(getter)]
    pub fn problems(&self) -> Vec<String> {
        let session = self.session.problems.iter().map(|problem| problem.field());
        self.callback_problems
            .iter()
            .copied()
            .chain(session)
            .map(str::to_owned)
            .collect()
    }

    /// Why each of the session's fields could not be used, in the core's words.
    #[wasm_bindgen(getter, js_name = problemMessages)]
    pub fn problem_messages(&self) -> Vec<String> {
        self.session
            .problems
            .iter()
            .map(ToString::to_string)
            .collect()
    }
}

/// A Read Session body given as text.
#[wasm_bindgen(js_name = parseSession)]
pub fn parse_session(body: &str) -> Result<Session, JsError> {
    Session::read_session(body.as_bytes()).map_err(js)
}

/// A Read Session body given as bytes.
#[wasm_bindgen(js_name = parseSessionBytes)]
pub fn parse_session_bytes(body: &[u8]) -> Result<Session, JsError> {
    Session::read_session(body).map_err(js)
}

/// A status callback body given as text.
#[wasm_bindgen(js_name = parseCallback)]
pub fn parse_callback(body: &str) -> Result<Session, JsError> {
    Session::read_callback(body.as_bytes()).map_err(js)
}

/// A status callback body given as bytes.
#[wasm_bindgen(js_name = parseCallbackBytes)]
pub fn parse_callback_bytes(body: &[u8]) -> Result<Session, JsError> {
    Session::read_callback(body).map_err(js)
}

/// The longest `updated_at` the scratch path takes; longer ones go through `trackerObserve`.
pub const SCRATCH_LEN: usize = 40;

/// The code the tracker exports return for a refused call: the reason is then `takeError`'s.
pub const REFUSED: u32 = u32::MAX;

/// Added to an outcome code when the delivery changed what the tracker holds: its new
/// [`State`] is then in the state buffer (`stateAddress`).
pub const CHANGED: u32 = 8;

/// [`State::status`] of a tracker that has seen nothing.
pub const NO_STATUS: u32 = 255;

/// The seconds since the Unix epoch of the instants the core writes in UTC, with `Z`: from
/// `0000-01-01T00:00:00Z` up to `10000-01-01T00:00:00Z`. Outside, it keeps the offset the
/// text was read with (`tests` check both against the core).
const UTC_SECONDS: core::ops::Range<i64> = -62_167_219_200..253_402_300_800;

/// What a tracker holds, as the numbers a JavaScript `Tracker` object keeps in its fields.
///
/// A JavaScript tracker is a plain object holding these numbers, not a handle on memory of the
/// module: each call rebuilds the core's tracker from them ([`Tracker::from_state`]), lets the
/// core decide, and hands back the numbers of what it then holds ([`Tracker::state`]). So a
/// tracker costs no allocation in the module and needs no finalizer to be freed (registering
/// one cost about 300 ns on Node.js 20, more than an observation).
#[derive(Clone, Copy, PartialEq, Debug)]
pub struct State {
    /// The index in `Status::ALL` of the status held, or [`NO_STATUS`].
    pub status: u32,
    /// The whole seconds since the Unix epoch of its `updated_at`, rounded down (below
    /// 2^53 in magnitude, so exact in a JavaScript number).
    pub second: f64,
    /// The nanoseconds after `second`.
    pub nanosecond: u32,
    /// The offset, in minutes, the core writes the instant with: 0 for every instant of the
    /// years 0000-9999 in UTC.
    pub offset: i32,
}

impl State {
    /// The state of a tracker that has seen nothing.
    pub const EMPTY: State = State {
        status: NO_STATUS,
        second: 0.0,
        nanosecond: 0,
        offset: 0,
    };
}

/// The offset, in minutes, the core writes `at` with.
fn offset_of(at: Timestamp) -> Option<i32> {
    if UTC_SECONDS.contains(&at.unix().0) {
        return Some(0);
    }
    // Outside UTC's years the core's text ends with the offset it keeps, `+hh:mm` or `-hh:mm`.
    let text = at.to_string();
    let tail = text.get(text.len().checked_sub(6)?..)?;
    let sign = match tail.as_bytes().first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let hours: i32 = tail.get(1..3)?.parse().ok()?;
    let minutes: i32 = tail.get(4..6)?.parse().ok()?;
    Some(sign * (hours * 60 + minutes))
}

/// The timestamp of a [`State`], exactly as the core held it, or `None` when no timestamp
/// has these numbers.
fn timestamp_of(second: f64, nanosecond: u32, offset: i32) -> Option<Timestamp> {
    // `as` saturates (and makes NaN 0): the comparison refuses whatever it changed.
    let whole = second as i64;
    let exact = whole as f64 == second;
    if !exact {
        return None;
    }
    if offset == 0 {
        // The core writes every instant of UTC's years in UTC, and no other.
        return UTC_SECONDS
            .contains(&whole)
            .then(|| Timestamp::from_unix(whole, nanosecond))
            .flatten();
    }
    let at = {
        // The local time's digits (written by the core in UTC form), then the offset: the
        // core reads the instant back with its offset.
        let local = Timestamp::from_unix(whole.checked_add(i64::from(offset) * 60)?, nanosecond)?;
        let text = local.to_string();
        let digits = text.strip_suffix('Z')?;
        let (sign, minutes) = if offset < 0 {
            ('-', -offset)
        } else {
            ('+', offset)
        };
        format!("{digits}{sign}{:02}:{:02}", minutes / 60, minutes % 60)
            .parse()
            .ok()?
    };
    // Refuses an offset the core would not keep (any, in UTC's years).
    (offset_of(at)? == offset).then_some(at)
}

/// A tracker of the core over wire timestamps, with the conversions the exports make.
#[derive(Default)]
pub struct Tracker {
    tracker: hpp_status::Tracker<Timestamp>,
}

impl Tracker {
    /// One delivery: a wire status name and RFC 3339 text; its outcome code, or why not.
    pub fn observe_text(&mut self, status_name: &str, updated_at: &str) -> Result<u32, String> {
        self.observe_status(status(status_name)?, updated_at)
    }

    fn observe_status(&mut self, status: Status, updated_at: &str) -> Result<u32, String> {
        let updated_at: Timestamp = updated_at.parse().map_err(|e| format!("{e}"))?;
        Ok(outcome_code(
            &self.tracker.observe(Observation::new(status, updated_at)),
        ))
    }

    /// A parsed session; its outcome code, or why it cannot be ordered.
    pub fn observe_read(&mut self, session: &Session) -> Result<u32, String> {
        let seen = session
            .session
            .observation()
            .map_err(|error| error.to_string())?;
        Ok(outcome_code(&self.tracker.observe(seen)))
    }

    /// The stored form.
    pub fn stored(&self) -> Result<String, String> {
        serde_json::to_string(&self.tracker).map_err(|error| error.to_string())
    }

    /// A tracker from its stored form, or why not.
    pub fn from_stored(text: &str) -> Result<Tracker, String> {
        serde_json::from_str(text)
            .map(|tracker| Tracker { tracker })
            .map_err(|error| format!("not a stored tracker: {error}"))
    }

    /// What the tracker holds, as numbers.
    pub fn state(&self) -> State {
        let Some(seen) = self.tracker.latest() else {
            return State::EMPTY;
        };
        let (second, nanosecond) = seen.updated_at.unix();
        let status = Status::ALL.iter().position(|s| *s == seen.status);
        State {
            status: status.map_or(NO_STATUS, |index| index as u32),
            // Years 0000-9999 and a day: far below 2^53 seconds, exact.
            second: second as f64,
            nanosecond,
            // Every timestamp the core holds has an offset it writes.
            offset: offset_of(seen.updated_at).unwrap_or_default(),
        }
    }

    /// The tracker that holds `state` (as [`state`](Tracker::state) gave it), or why not.
    pub fn from_state(state: State) -> Result<Tracker, String> {
        if state.status == NO_STATUS {
            return Ok(Tracker::default());
        }
        let status = Status::ALL.get(state.status as usize).copied();
        let at = timestamp_of(state.second, state.nanosecond, state.offset);
        match (status, at) {
            (Some(status), Some(at)) => Ok(Tracker {
                tracker: hpp_status::Tracker::from(Observation::new(status, at)),
            }),
            _ => Err(format!("not the state of a tracker: {state:?}")),
        }
    }
}

thread_local! {
    /// Why the last refused call was refused, until taken.
    static ERROR: RefCell<Option<String>> = const { RefCell::new(None) };
    /// Where the JavaScript layer writes `updated_at` (UTF-8) for `trackerObserveScratch`: no
    /// allocation and no string crosses the boundary. A cell, because the bytes change behind
    /// shared references (written from outside Rust, between calls).
    static SCRATCH: Cell<[u8; SCRATCH_LEN]> = const { Cell::new([0; SCRATCH_LEN]) };
    /// Where a call that changed a tracker leaves its new [`State`], for the JavaScript layer
    /// to read: `second`, `nanosecond`, `offset`, `status`.
    static STATE: [Cell<f64>; 4] = const { [const { Cell::new(0.0) }; 4] };
}

/// Keeps `error` for `takeError`; [`REFUSED`].
fn refuse(error: String) -> u32 {
    ERROR.with(|kept| *kept.borrow_mut() = Some(error));
    REFUSED
}

/// Leaves `state` in the state buffer.
fn leave(state: State) {
    STATE.with(|cells| {
        cells[0].set(state.second);
        cells[1].set(f64::from(state.nanosecond));
        cells[2].set(f64::from(state.offset));
        cells[3].set(f64::from(state.status));
    });
}

/// `run` on the tracker holding `state`: its outcome code, plus [`CHANGED`] with the new state
/// left in the state buffer when it changed; or [`REFUSED`] with the reason kept.
fn on_state(state: State, run: impl FnOnce(&mut Tracker) -> Result<u32, String>) -> u32 {
    let code = Tracker::from_state(state).and_then(|mut tracker| {
        let code = run(&mut tracker)?;
        let after = tracker.state();
        if after == state {
            return Ok(code);
        }
        leave(after);
        Ok(code | CHANGED)
    });
    code.unwrap_or_else(refuse)
}

/// The [`State`] of the arguments the tracker exports begin with.
fn state(status: u32, second: f64, nanosecond: u32, offset: i32) -> State {
    State {
        status,
        second,
        nanosecond,
        offset,
    }
}

/// The address of the scratch buffer in the module's memory.
#[wasm_bindgen(js_name = scratchAddress)]
pub fn scratch_address() -> usize {
    SCRATCH.with(|scratch| scratch.as_ptr() as usize)
}

/// The address of the state buffer in the module's memory (four `f64`).
#[wasm_bindgen(js_name = stateAddress)]
pub fn state_address() -> usize {
    STATE.with(|cells| cells.as_ptr() as usize)
}

/// The module's memory, for the JavaScript layer to write into the scratch buffer.
#[wasm_bindgen(js_name = wasmMemory)]
pub fn wasm_memory() -> JsValue {
    wasm_bindgen::memory()
}

/// One delivery to the tracker holding the state given by the first four arguments: the
/// status by its index in `Status::ALL` (the JavaScript layer maps names to indices) and
/// `updated_at` as text. The outcome code (with [`CHANGED`]), or [`REFUSED`].
#[wasm_bindgen(js_name = trackerObserve)]
pub fn tracker_observe(
    held: u32,
    second: f64,
    nanosecond: u32,
    offset: i32,
    status: u32,
    updated_at: &str,
) -> u32 {
    let Some(status) = Status::ALL.get(status as usize).copied() else {
        return refuse(format!("no status has the index {status}"));
    };
    on_state(state(held, second, nanosecond, offset), |tracker| {
        tracker.observe_status(status, updated_at)
    })
}

/// [`tracker_observe`] with `updated_at` in the first `len` bytes of the scratch buffer.
#[wasm_bindgen(js_name = trackerObserveScratch)]
pub fn tracker_observe_scratch(
    held: u32,
    second: f64,
    nanosecond: u32,
    offset: i32,
    status: u32,
    len: usize,
) -> u32 {
    let bytes = SCRATCH.with(Cell::get);
    match core::str::from_utf8(&bytes[..len.min(SCRATCH_LEN)]) {
        Ok(text) => tracker_observe(held, second, nanosecond, offset, status, text),
        Err(error) => refuse(format!("the scratch holds no text: {error}")),
    }
}

/// A parsed session to the tracker holding the state: the outcome code (with [`CHANGED`]), or
/// [`REFUSED`] (it cannot be ordered).
#[wasm_bindgen(js_name = trackerObserveSession)]
pub fn tracker_observe_session(
    held: u32,
    second: f64,
    nanosecond: u32,
    offset: i32,
    session: &Session,
) -> u32 {
    on_state(state(held, second, nanosecond, offset), |tracker| {
        tracker.observe_read(session)
    })
}

/// A tracker from its stored form (text), strict: 0 with its state in the state buffer, or
/// [`REFUSED`].
#[wasm_bindgen(js_name = trackerFromJson)]
pub fn tracker_from_json(text: &str) -> u32 {
    match Tracker::from_stored(text) {
        Ok(tracker) => {
            leave(tracker.state());
            0
        }
        Err(error) => refuse(error),
    }
}

/// The `updated_at` the tracker holding the state holds, in the core's form, or `undefined`.
#[wasm_bindgen(js_name = trackerUpdatedAt)]
pub fn tracker_updated_at(held: u32, second: f64, nanosecond: u32, offset: i32) -> Option<String> {
    let tracker = Tracker::from_state(state(held, second, nanosecond, offset)).ok()?;
    Some(tracker.tracker.latest()?.updated_at.to_string())
}

/// The stored form of the tracker holding the state, or `undefined` when no tracker holds it.
#[wasm_bindgen(js_name = trackerToJson)]
pub fn tracker_to_json(held: u32, second: f64, nanosecond: u32, offset: i32) -> Option<String> {
    Tracker::from_state(state(held, second, nanosecond, offset))
        .and_then(|tracker| tracker.stored())
        .ok()
}

/// Why the last refused call was refused (once), or `undefined`.
#[wasm_bindgen(js_name = takeError)]
pub fn take_error() -> Option<String> {
    ERROR.with(|kept| kept.borrow_mut().take())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    #[test]
    fn utc_seconds_are_the_instants_the_core_writes_with_z() {
        let first = at("0000-01-01T00:00:00Z");
        let last = at("9999-12-31T23:59:59.999999999Z");
        assert_eq!(UTC_SECONDS.start, first.unix().0);
        assert_eq!(UTC_SECONDS.end, last.unix().0 + 1);
        // One nanosecond outside, on either side, the core keeps the text's offset.
        let before = at("0000-01-01T00:59:59.999999999+01:00");
        let after = at("9999-12-31T23:00:00-01:00");
        assert_eq!(before.unix().0, UTC_SECONDS.start - 1);
        assert_eq!(after.unix().0, UTC_SECONDS.end);
        assert_eq!(offset_of(before), Some(60));
        assert_eq!(offset_of(after), Some(-60));
        assert_eq!(offset_of(first), Some(0));
        assert_eq!(offset_of(last), Some(0));
    }

    #[test]
    fn a_state_rebuilds_the_timestamp_exactly_with_its_offset() {
        for text in [
            "2019-05-13T14:51:46.288Z",
            "2019-05-13T16:51:46.000000001+02:00",
            "0000-01-01T00:00:00+23:59",
            "0000-01-01T00:00:00.5+01:00",
            "9999-12-31T23:59:59.999999999-23:59",
            "9999-12-31T23:30:00-00:31",
            "1969-12-31T23:59:59.999Z",
        ] {
            let mut tracker = Tracker::default();
            tracker.observe_text("BACK", text).unwrap();
            let state = tracker.state();
            let rebuilt = Tracker::from_state(state).unwrap();
            assert_eq!(rebuilt.state(), state, "{text}");
            assert_eq!(rebuilt.stored(), tracker.stored(), "{text}");
        }
    }

    #[test]
    fn numbers_no_tracker_holds_are_refused() {
        let good = State {
            status: 5,
            second: 1_557_759_106.0,
            nanosecond: 288_000_000,
            offset: 0,
        };
        assert!(Tracker::from_state(good).is_ok());
        for bad in [
            State { status: 8, ..good },
            State {
                second: 0.5,
                ..good
            },
            State {
                second: f64::NAN,
                ..good
            },
            State {
                second: 1e300,
                ..good
            },
            State {
                nanosecond: 1_000_000_000,
                ..good
            },
            // In UTC's years the core writes Z, never an offset; outside, never Z.
            State { offset: 60, ..good },
            State {
                second: (UTC_SECONDS.start - 1) as f64,
                ..good
            },
            State {
                second: (UTC_SECONDS.start - 1) as f64,
                offset: 24 * 60,
                ..good
            },
        ] {
            let error = Tracker::from_state(bad).err().unwrap();
            assert!(error.starts_with("not the state of a tracker"), "{error}");
        }
        assert_eq!(
            Tracker::from_state(State::EMPTY).unwrap().state(),
            State::EMPTY
        );
    }

    /// The state buffer, as the JavaScript layer reads it.
    fn left() -> State {
        STATE.with(|cells| State {
            second: cells[0].get(),
            nanosecond: cells[1].get() as u32,
            offset: cells[2].get() as i32,
            status: cells[3].get() as u32,
        })
    }

    #[test]
    fn a_delivery_leaves_the_new_state_only_when_it_changed_it() {
        let observe = |held, status, at| on_state(held, |t| t.observe_text(status, at));
        let first = observe(State::EMPTY, "COMPLETED", "2019-05-13T16:51:46.288+02:00");
        assert_eq!(first, 1 | CHANGED); // advanced, became final
        let held = left();
        let mut expected = Tracker::default();
        expected
            .observe_text("COMPLETED", "2019-05-13T14:51:46.288Z")
            .unwrap();
        assert_eq!(held, expected.state());
        assert_eq!(observe(held, "IN_PROGRESS", "2019-05-13T14:00:00Z"), 4); // stale
        assert_eq!(observe(held, "COMPLETED", "2019-05-13T14:51:46.288Z"), 2); // duplicate
        assert_eq!(left(), held);
        assert_eq!(observe(held, "IN_PROGRESS", "yesterday"), REFUSED);
        assert!(take_error().unwrap().contains("yesterday"));
        assert_eq!(take_error(), None);
    }
}
