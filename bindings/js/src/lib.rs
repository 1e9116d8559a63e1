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

/// The code the observing exports return for a refused delivery: the reason is then
/// `takeError`'s.
pub const REFUSED: u32 = u32::MAX;

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
}

/// The trackers the JavaScript side holds, by slot. A JavaScript `Tracker` is a slot number
/// (freed by a `FinalizationRegistry` when the object is collected), not a wasm-bindgen
/// class: registering a class instance with its unregister token costs about 340 ns on
/// Node.js 20, six times an observation, and a merchant makes a tracker per delivery when
/// it loads one from storage.
#[derive(Default)]
struct Arena {
    slots: Vec<Option<Tracker>>,
    free: Vec<u32>,
    /// Why the last refused call was refused, until taken.
    error: Option<String>,
}

impl Arena {
    fn insert(&mut self, tracker: Tracker) -> u32 {
        if let Some(slot) = self.free.pop() {
            self.slots[slot as usize] = Some(tracker);
            return slot;
        }
        self.slots.push(Some(tracker));
        u32::try_from(self.slots.len() - 1).unwrap_or(u32::MAX)
    }

    fn refuse(&mut self, error: String) -> u32 {
        self.error = Some(error);
        REFUSED
    }

    /// `run` on the tracker in `slot`: its code, or [`REFUSED`] with the reason kept.
    fn with(&mut self, slot: u32, run: impl FnOnce(&mut Tracker) -> Result<u32, String>) -> u32 {
        let result = match self.slots.get_mut(slot as usize) {
            Some(Some(tracker)) => run(tracker),
            _ => Err(format!("no tracker in slot {slot}")),
        };
        result.unwrap_or_else(|error| self.refuse(error))
    }
}

thread_local! {
    static ARENA: RefCell<Arena> = RefCell::new(Arena::default());
    /// Where the JavaScript layer writes an ASCII `updated_at` for `trackerObserveScratch`:
    /// no allocation and no string crosses the boundary. Cells, because the bytes change
    /// behind shared references (written from outside Rust, between calls).
    static SCRATCH: [Cell<u8>; SCRATCH_LEN] = const { [const { Cell::new(0) }; SCRATCH_LEN] };
}

fn arena<R>(run: impl FnOnce(&mut Arena) -> R) -> R {
    ARENA.with(|arena| run(&mut arena.borrow_mut()))
}

/// The address of the scratch buffer in the module's memory.
#[wasm_bindgen(js_name = scratchAddress)]
pub fn scratch_address() -> usize {
    SCRATCH.with(|scratch| scratch.as_ptr() as usize)
}

/// The module's memory, for the JavaScript layer to write into the scratch buffer.
#[wasm_bindgen(js_name = wasmMemory)]
pub fn wasm_memory() -> JsValue {
    wasm_bindgen::memory()
}

/// A new tracker that has seen nothing: its slot.
#[wasm_bindgen(js_name = trackerNew)]
pub fn tracker_new() -> u32 {
    arena(|arena| arena.insert(Tracker::default()))
}

/// A tracker from its stored form (text), strict: its slot, or [`REFUSED`].
#[wasm_bindgen(js_name = trackerFromJson)]
pub fn tracker_from_json(text: &str) -> u32 {
    match Tracker::from_stored(text) {
        Ok(tracker) => arena(|arena| arena.insert(tracker)),
        Err(error) => arena(|arena| arena.refuse(error)),
    }
}

/// Frees a slot (the JavaScript object was collected).
#[wasm_bindgen(js_name = trackerDrop)]
pub fn tracker_drop(slot: u32) {
    arena(|arena| {
        if let Some(entry @ Some(_)) = arena.slots.get_mut(slot as usize) {
            *entry = None;
            arena.free.push(slot);
        }
    });
}

/// One delivery: the status by its index in `Status::ALL` (the JavaScript layer maps names to
/// indices) and `updated_at` as text. The outcome code, or [`REFUSED`].
#[wasm_bindgen(js_name = trackerObserve)]
pub fn tracker_observe(slot: u32, status: u8, updated_at: &str) -> u32 {
    let Some(status) = Status::ALL.get(usize::from(status)).copied() else {
        return arena(|arena| arena.refuse(format!("no status has the index {status}")));
    };
    arena(|arena| arena.with(slot, |tracker| tracker.observe_status(status, updated_at)))
}

/// [`tracker_observe`] with `updated_at` in the first `len` bytes of the scratch buffer.
#[wasm_bindgen(js_name = trackerObserveScratch)]
pub fn tracker_observe_scratch(slot: u32, status: u8, len: usize) -> u32 {
    let mut bytes = [0; SCRATCH_LEN];
    let bytes = &mut bytes[..len.min(SCRATCH_LEN)];
    SCRATCH.with(|scratch| {
        for (byte, cell) in bytes.iter_mut().zip(scratch) {
            *byte = cell.get();
        }
    });
    match core::str::from_utf8(bytes) {
        Ok(text) => tracker_observe(slot, status, text),
        Err(error) => arena(|arena| arena.refuse(format!("the scratch holds no text: {error}"))),
    }
}

/// A parsed session: the outcome code, or [`REFUSED`] (it cannot be ordered).
#[wasm_bindgen(js_name = trackerObserveSession)]
pub fn tracker_observe_session(slot: u32, session: &Session) -> u32 {
    arena(|arena| arena.with(slot, |tracker| tracker.observe_read(session)))
}

/// The status the tracker in `slot` believes, or `undefined`.
#[wasm_bindgen(js_name = trackerStatus)]
pub fn tracker_status(slot: u32) -> Option<String> {
    arena(|arena| {
        let tracker = arena.slots.get(slot as usize)?.as_ref()?;
        Some(tracker.tracker.status()?.as_str().to_owned())
    })
}

/// The `updated_at` the tracker in `slot` holds, in the core's form, or `undefined`.
#[wasm_bindgen(js_name = trackerUpdatedAt)]
pub fn tracker_updated_at(slot: u32) -> Option<String> {
    arena(|arena| {
        let tracker = arena.slots.get(slot as usize)?.as_ref()?;
        Some(tracker.tracker.latest()?.updated_at.to_string())
    })
}

/// The stored form of the tracker in `slot`, or `undefined` when the slot is empty.
#[wasm_bindgen(js_name = trackerToJson)]
pub fn tracker_to_json(slot: u32) -> Option<String> {
    arena(|arena| arena.slots.get(slot as usize)?.as_ref()?.stored().ok())
}

/// Why the last refused call was refused (once), or `undefined`.
#[wasm_bindgen(js_name = takeError)]
pub fn take_error() -> Option<String> {
    arena(|arena| arena.error.take())
}
