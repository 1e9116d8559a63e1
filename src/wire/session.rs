//! [`SessionResponse`] (the Read Session body), [`StatusCallback`], [`Completion`] and
//! [`ObservationError`].

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use serde::de::{Deserialize, Deserializer};
use serde::ser::{Serialize, SerializeMap, SerializeStruct, Serializer};

use super::lenient;
use super::problem::{Field, FieldProblem};
use super::reported::UnrecognizedStatus;
use super::{ReportedStatus, Timestamp};
use crate::{Observation, Status};

/// The body of Read Session (`GET {session_url}`), also the `session` of a status callback.
///
/// Every field is optional, as the API documents it; unknown fields are ignored; absent
/// fields are not written back. A field whose value cannot be used (a malformed timestamp, a
/// number where text belongs...) is `None` and listed in [`problems`](SessionResponse::problems):
/// the payload is never refused whole for a field the tracker does not need.
///
/// ```
/// use hpp_status::Status;
/// use hpp_status::wire::{Completion, SessionResponse};
///
/// let session: SessionResponse = serde_json::from_str(r#"{
///     "session_id": "a15b228c-02ad-11e9-8eb2-f2801f1b9fd1",
///     "status": "COMPLETED",
///     "updated_at": "2038-01-19T03:14:07.000Z",
///     "expires_at": "the day after tomorrow",
///     "authorization_token": "70850a20-a2a0-5c70-810c-096fa6f850bb"
/// }"#)?;
/// assert_eq!(session.observation()?.status, Status::Completed);
/// assert_eq!(
///     session.completion(),
///     Some(Completion::AuthorizationToken("70850a20-a2a0-5c70-810c-096fa6f850bb"))
/// );
/// assert_eq!(session.expires_at, None);
/// assert_eq!(session.problems[0].field(), "expires_at");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Reading
///
/// A human-readable format (JSON) is read tolerantly, field by field: a
/// documented field whose value cannot be used is left `None` and reported as a
/// [`FieldProblem`], and the rest of the payload is kept. What is still refused: anything
/// but an object at the top (or for a callback's `session`), a documented field given twice,
/// and a callback without `session`.
///
/// # Writing
///
/// In a human-readable format, absent fields are not written and a problem's value is
/// written back where it was when it is kept ([`Found::is_kept`](super::Found::is_kept)),
/// so that reading the text again gives the same payload with the same problems. A non-human-readable format
/// (postcard, bincode...) cannot skip fields: there every field is written, and the problems
/// as a list, so that the payload reads back exactly.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct SessionResponse {
    /// The id of the HPP session.
    pub session_id: Option<String>,
    /// The current status, known or not.
    pub status: Option<ReportedStatus>,
    /// When the status last changed.
    pub updated_at: Option<Timestamp>,
    /// When the HPP session expires; after it, Read Session answers 404.
    pub expires_at: Option<Timestamp>,
    /// The authorization token (Klarna Payments sessions only); valid for 60 minutes.
    pub authorization_token: Option<String>,
    /// The order id (Kustom Checkout, or `place_order_mode`).
    pub order_id: Option<String>,
    /// The Klarna reference of the order.
    pub klarna_reference: Option<String>,
    /// What the consumer told about themselves.
    pub customer: Option<Customer>,
    /// The manual identification check, when the session has one.
    pub manual_identification: Option<ManualIdentification>,
    /// The documented fields, nested ones included, whose values could not be used, in the
    /// order of the fields' declarations (the order they are written in); each such field
    /// is `None`.
    pub problems: Vec<FieldProblem>,
}

impl SessionResponse {
    /// The payload as an [`Observation`] for a [`Tracker`](crate::Tracker), or why not: the
    /// `status` or `updated_at` is missing or unusable, or the status is not one of the
    /// eight of the lifecycle. Every error means the same thing to the caller: this payload
    /// cannot be ordered against the others, so read the session again.
    ///
    /// ```
    /// use hpp_status::wire::{ObservationError, SessionResponse};
    ///
    /// let session: SessionResponse =
    ///     serde_json::from_str(r#"{"status":"TIMEOUT","updated_at":"2019-05-13T14:51:46.288Z"}"#)?;
    /// assert_eq!(session.observation(), Err(ObservationError::Timeout));
    /// # Ok::<(), serde_json::Error>(())
    /// ```
    pub fn observation(&self) -> Result<Observation<Timestamp>, ObservationError> {
        let status = match &self.status {
            Some(ReportedStatus::Known(status)) => *status,
            Some(ReportedStatus::ManualIdCheck) => return Err(ObservationError::ManualIdCheck),
            Some(ReportedStatus::Timeout) => return Err(ObservationError::Timeout),
            Some(ReportedStatus::Unrecognized(text)) => {
                return Err(ObservationError::UnrecognizedStatus(text.clone()));
            }
            None => {
                return Err(self
                    .problem_of(Field::STATUS)
                    .map_or(ObservationError::MissingStatus, |problem| {
                        ObservationError::UnusableStatus(problem.clone())
                    }));
            }
        };
        let updated_at = self.updated_at.ok_or_else(|| {
            self.problem_of(Field::UPDATED_AT)
                .map_or(ObservationError::MissingUpdatedAt, |problem| {
                    ObservationError::UnusableUpdatedAt(problem.clone())
                })
        })?;
        Ok(Observation::new(status, updated_at))
    }

    /// The status, when it is present and one of the eight of the lifecycle.
    ///
    /// ```
    /// use hpp_status::wire::SessionResponse;
    ///
    /// assert_eq!(SessionResponse::default().known_status(), None);
    /// ```
    #[must_use]
    pub fn known_status(&self) -> Option<Status> {
        self.status.as_ref().and_then(ReportedStatus::known)
    }

    /// The problem of the field at `path` (such as `"expires_at"` or
    /// `"manual_identification.expires_at"`), if it had one.
    ///
    /// ```
    /// use hpp_status::wire::SessionResponse;
    ///
    /// let session: SessionResponse = serde_json::from_str(r#"{"manual_identification":{"expires_at":5}}"#)?;
    /// assert!(session.problem("manual_identification.expires_at").is_some());
    /// assert!(session.problem("expires_at").is_none());
    /// # Ok::<(), serde_json::Error>(())
    /// ```
    #[must_use]
    pub fn problem(&self, path: &str) -> Option<&FieldProblem> {
        self.problems.iter().find(|problem| problem.field() == path)
    }

    fn problem_of(&self, field: Field) -> Option<&FieldProblem> {
        self.problems
            .iter()
            .find(|problem| problem.field_id() == field)
    }

    /// What the merchant needs to finish the purchase, when the payload carries it: the
    /// authorization token (Klarna Payments), or else the order by its `order_id` (Kustom
    /// Checkout, `place_order_mode`), with its Klarna reference when the payload has one.
    ///
    /// ```
    /// use hpp_status::wire::{Completion, SessionResponse};
    ///
    /// let session = SessionResponse {
    ///     order_id: Some("93d644a2".into()),
    ///     ..SessionResponse::default()
    /// };
    /// assert_eq!(
    ///     session.completion(),
    ///     Some(Completion::Order { order_id: "93d644a2", klarna_reference: None })
    /// );
    /// ```
    #[must_use]
    pub fn completion(&self) -> Option<Completion<'_>> {
        if let Some(token) = &self.authorization_token {
            return Some(Completion::AuthorizationToken(token));
        }
        self.order_id.as_deref().map(|order_id| Completion::Order {
            order_id,
            klarna_reference: self.klarna_reference.as_deref(),
        })
    }
}

/// What a `COMPLETED` session hands the merchant: see [`SessionResponse::completion`].
///
/// `Display` writes it for people; with serde it is an object tagged by `kind`, in the style
/// of [`Outcome`](crate::Outcome):
///
/// ```
/// use hpp_status::wire::Completion;
///
/// let token = Completion::AuthorizationToken("70850a20");
/// assert_eq!(token.to_string(), "authorization token 70850a20");
/// assert_eq!(
///     serde_json::to_string(&token)?,
///     r#"{"kind":"authorization_token","authorization_token":"70850a20"}"#
/// );
/// let order = Completion::Order { order_id: "93d644a2", klarna_reference: Some("ffc25786") };
/// assert_eq!(order.to_string(), "order 93d644a2, Klarna reference ffc25786");
/// assert_eq!(
///     serde_json::to_string(&order)?,
///     r#"{"kind":"order","order_id":"93d644a2","klarna_reference":"ffc25786"}"#
/// );
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
#[non_exhaustive]
pub enum Completion<'a> {
    /// A Klarna Payments authorization token: create the order with it within 60 minutes.
    AuthorizationToken(&'a str),
    /// An order already placed (Kustom Checkout, or `place_order_mode`).
    Order {
        /// The order id.
        order_id: &'a str,
        /// The Klarna reference of the order, when the payload has it.
        klarna_reference: Option<&'a str>,
    },
}

impl Completion<'_> {
    /// The name serde uses as the tag: `"authorization_token"` or `"order"`.
    ///
    /// ```
    /// use hpp_status::wire::Completion;
    ///
    /// assert_eq!(Completion::AuthorizationToken("t").kind(), "authorization_token");
    /// ```
    #[must_use]
    pub const fn kind(&self) -> &'static str {
        match self {
            Completion::AuthorizationToken(_) => "authorization_token",
            Completion::Order { .. } => "order",
        }
    }
}

impl fmt::Display for Completion<'_> {
    /// `authorization token ...`, `order ..., Klarna reference ...` or
    /// `order ..., no Klarna reference`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Completion::AuthorizationToken(token) => write!(f, "authorization token {token}"),
            Completion::Order {
                order_id,
                klarna_reference: Some(reference),
            } => write!(f, "order {order_id}, Klarna reference {reference}"),
            Completion::Order {
                order_id,
                klarna_reference: None,
            } => write!(f, "order {order_id}, no Klarna reference"),
        }
    }
}

impl Serialize for Completion<'_> {
    /// `{"kind":"authorization_token","authorization_token":...}` or
    /// `{"kind":"order","order_id":...,"klarna_reference":...}` (`null` when absent).
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Completion::AuthorizationToken(token) => {
                let mut state = serializer.serialize_struct("Completion", 2)?;
                state.serialize_field("kind", self.kind())?;
                state.serialize_field("authorization_token", token)?;
                state.end()
            }
            Completion::Order {
                order_id,
                klarna_reference,
            } => {
                let mut state = serializer.serialize_struct("Completion", 3)?;
                state.serialize_field("kind", self.kind())?;
                state.serialize_field("order_id", order_id)?;
                state.serialize_field("klarna_reference", klarna_reference)?;
                state.end()
            }
        }
    }
}

/// The consumer's details, as the API reports them (every field optional, kept as text).
///
/// Read on its own, it is strict: a field of the wrong type is an error. Inside a
/// [`SessionResponse`], such a field is a [`FieldProblem`] of the session instead.
///
/// ```
/// use hpp_status::wire::Customer;
///
/// let customer: Customer = serde_json::from_str(r#"{"given_name":"Jane","title":null}"#)?;
/// assert_eq!(customer.given_name.as_deref(), Some("Jane"));
/// assert_eq!(serde_json::to_string(&customer)?, r#"{"given_name":"Jane"}"#);
/// assert!(serde_json::from_str::<Customer>(r#"{"title":7}"#).is_err());
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Clone, PartialEq, Eq, Debug, Default, serde::Deserialize)]
pub struct Customer {
    /// Date of birth, `YYYY-MM-dd`.
    #[serde(default)]
    pub date_of_birth: Option<String>,
    /// Family name.
    #[serde(default)]
    pub family_name: Option<String>,
    /// Given name.
    #[serde(default)]
    pub given_name: Option<String>,
    /// National identification number.
    #[serde(default)]
    pub national_identification_number: Option<String>,
    /// Title.
    #[serde(default)]
    pub title: Option<String>,
}

/// A manual identification check of the consumer.
///
/// Read on its own, it is strict (like [`Customer`]); inside a [`SessionResponse`] a
/// malformed field is a [`FieldProblem`] of the session.
///
/// ```
/// use hpp_status::wire::ManualIdentification;
///
/// let check: ManualIdentification = serde_json::from_str(r#"{"challenge":"A78"}"#)?;
/// assert_eq!(check.challenge.as_deref(), Some("A78"));
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Clone, PartialEq, Eq, Debug, Default, serde::Deserialize)]
pub struct ManualIdentification {
    /// The identification challenge, such as `"A78"`.
    #[serde(default)]
    pub challenge: Option<String>,
    /// The customer to identify.
    #[serde(default)]
    pub customer: Option<Customer>,
    /// The same customer, obfuscated.
    #[serde(default)]
    pub customer_obfuscated: Option<Customer>,
    /// When the identification expires.
    #[serde(default)]
    pub expires_at: Option<Timestamp>,
}

/// The body Klarna POSTs to the merchant's `status_update` URL.
///
/// `event_id` identifies the notification: a retry of the same notification carries the
/// same one. It is optional here: a body without it (retries have been seen to arrive
/// without a body at all) still carries the session. Deduplication does not need it anyway:
/// a [`Tracker`](crate::Tracker) classifies a repeat as a
/// [`Duplicate`](crate::Outcome::Duplicate). A callback body is a hint, not a fact (it is
/// unsigned): read the session with the API before acting on it.
///
/// ```
/// use hpp_status::wire::StatusCallback;
///
/// let callback: StatusCallback = serde_json::from_str(
///     r#"{"session":{"status":"BACK","updated_at":"2019-05-13T14:51:46.288Z"}}"#,
/// )?;
/// assert_eq!(callback.event_id, None);
/// assert!(callback.session.observation().is_ok());
/// assert!(serde_json::from_str::<StatusCallback>(r#"{"event_id":"e"}"#).is_err()); // no session
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct StatusCallback {
    /// The notification's id (a UUID, kept as text), when the body has one.
    pub event_id: Option<String>,
    /// The session as Read Session would return it.
    pub session: SessionResponse,
    /// The callback's own fields (`event_id`) whose values could not be used; the session's
    /// are in [`SessionResponse::problems`].
    pub problems: Vec<FieldProblem>,
}

/// Why a [`SessionResponse`] gives no [`Observation`]. Whichever it is, the payload cannot
/// be ordered against the others and is never final: read the session again.
///
/// ```
/// use hpp_status::wire::{ObservationError, SessionResponse};
///
/// let session: SessionResponse = serde_json::from_str(r#"{"status":"MANUAL_ID_CHECK"}"#)?;
/// assert_eq!(session.observation(), Err(ObservationError::ManualIdCheck));
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ObservationError {
    /// The payload has no `status`.
    #[error("the session has no `status` field")]
    MissingStatus,
    /// The `status` is not a string (the problem says what it was).
    #[error("the session's `status` cannot be used: {}", .0.error())]
    UnusableStatus(FieldProblem),
    /// `MANUAL_ID_CHECK`: see [`ReportedStatus::ManualIdCheck`].
    #[error(
        "the session's `status` is MANUAL_ID_CHECK, which the API lists without defining it: \
         not final; read the session again"
    )]
    ManualIdCheck,
    /// `TIMEOUT`: see [`ReportedStatus::Timeout`].
    #[error(
        "the session's `status` is TIMEOUT, which the API documents without saying whether it \
         is final: not final here; read the session again"
    )]
    Timeout,
    /// Another status string (kept here with its text).
    #[error(
        "the session's `status` is {}, which is none of the statuses the API documents: read \
         the session again",
        .0.quoted()
    )]
    UnrecognizedStatus(UnrecognizedStatus),
    /// The payload has no `updated_at`, so it cannot be ordered against other deliveries.
    #[error("the session has no `updated_at` field, so it cannot be ordered")]
    MissingUpdatedAt,
    /// The `updated_at` is malformed (the problem says how), so it cannot be ordered.
    #[error("the session's `updated_at` cannot be used, so it cannot be ordered: {}", .0.error())]
    UnusableUpdatedAt(FieldProblem),
}

/// Writes the fields of a payload: in a human-readable format, as a map of the present
/// values and of the kept values of absent fields' problems; in another format, as a struct
/// of every field, each an `Option`.
enum FieldWriter<'a, S: Serializer> {
    Human {
        map: S::SerializeMap,
        problems: &'a [FieldProblem],
    },
    Compact(S::SerializeStruct),
}

impl<'a, S: Serializer> FieldWriter<'a, S> {
    /// A writer of the struct `name` of `fields` fields (in a non-human-readable format).
    fn new(
        serializer: S,
        name: &'static str,
        fields: usize,
        problems: &'a [FieldProblem],
    ) -> Result<FieldWriter<'a, S>, S::Error> {
        Ok(if serializer.is_human_readable() {
            FieldWriter::Human {
                map: serializer.serialize_map(None)?,
                problems,
            }
        } else {
            FieldWriter::Compact(serializer.serialize_struct(name, fields)?)
        })
    }

    /// An optional documented field.
    fn field<T: Serialize>(
        &mut self,
        name: &'static str,
        field: Field,
        value: Option<&T>,
    ) -> Result<(), S::Error> {
        match self {
            FieldWriter::Compact(state) => state.serialize_field(name, &value),
            FieldWriter::Human { map, problems } => {
                if let Some(value) = value {
                    return map.serialize_entry(name, value);
                }
                let problem = problems.iter().find(|p| p.field_id() == field);
                match problem.and_then(|problem| problem.found().kept()) {
                    Some(kept) => map.serialize_entry(name, &kept),
                    None => Ok(()),
                }
            }
        }
    }

    /// A field written in every format.
    fn always<T: Serialize>(&mut self, name: &'static str, value: &T) -> Result<(), S::Error> {
        match self {
            FieldWriter::Compact(state) => state.serialize_field(name, value),
            FieldWriter::Human { map, .. } => map.serialize_entry(name, value),
        }
    }

    /// The problems, written as a list in a non-human-readable format only (a human-readable
    /// one writes their kept values back where they were).
    fn problems(&mut self, problems: &[FieldProblem]) -> Result<(), S::Error> {
        match self {
            FieldWriter::Compact(state) => state.serialize_field("problems", problems),
            FieldWriter::Human { .. } => Ok(()),
        }
    }

    fn end(self) -> Result<S::Ok, S::Error> {
        match self {
            FieldWriter::Compact(state) => state.end(),
            FieldWriter::Human { map, .. } => map.end(),
        }
    }
}

/// A customer with the problems of the session it is in, its own entry being `field`.
struct CustomerOut<'a> {
    customer: &'a Customer,
    problems: &'a [FieldProblem],
    field: Field,
}

impl Serialize for CustomerOut<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut out = FieldWriter::new(serializer, "Customer", 5, self.problems)?;
        let customer = self.customer;
        let at = |index| self.field.customer_field(index);
        out.field("date_of_birth", at(0), customer.date_of_birth.as_ref())?;
        out.field("family_name", at(1), customer.family_name.as_ref())?;
        out.field("given_name", at(2), customer.given_name.as_ref())?;
        out.field(
            "national_identification_number",
            at(3),
            customer.national_identification_number.as_ref(),
        )?;
        out.field("title", at(4), customer.title.as_ref())?;
        out.end()
    }
}

impl Serialize for Customer {
    /// The present fields (every field, as options, in a non-human-readable format).
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        CustomerOut {
            customer: self,
            problems: &[],
            field: Field::CUSTOMER,
        }
        .serialize(serializer)
    }
}

/// A manual identification with the problems of the session it is in.
struct ManualOut<'a> {
    manual: &'a ManualIdentification,
    problems: &'a [FieldProblem],
}

impl<'a> Serialize for ManualOut<'a> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut out = FieldWriter::new(serializer, "ManualIdentification", 4, self.problems)?;
        let manual = self.manual;
        out.field(
            "challenge",
            Field::MANUAL_CHALLENGE,
            manual.challenge.as_ref(),
        )?;
        let customer = |customer: Option<&'a Customer>, field| {
            customer.map(|customer| CustomerOut {
                customer,
                problems: self.problems,
                field,
            })
        };
        let field = Field::MANUAL_CUSTOMER;
        out.field(
            "customer",
            field,
            customer(manual.customer.as_ref(), field).as_ref(),
        )?;
        let field = Field::MANUAL_CUSTOMER_OBFUSCATED;
        let obfuscated = customer(manual.customer_obfuscated.as_ref(), field);
        out.field("customer_obfuscated", field, obfuscated.as_ref())?;
        out.field(
            "expires_at",
            Field::MANUAL_EXPIRES_AT,
            manual.expires_at.as_ref(),
        )?;
        out.end()
    }
}

impl Serialize for ManualIdentification {
    /// The present fields (every field, as options, in a non-human-readable format).
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        ManualOut {
            manual: self,
            problems: &[],
        }
        .serialize(serializer)
    }
}

impl Serialize for SessionResponse {
    /// See [Writing](SessionResponse#writing): the present fields and the kept problem values in a
    /// human-readable format; every field and the problems in another.
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut out = FieldWriter::new(serializer, "SessionResponse", 10, &self.problems)?;
        out.field("session_id", Field::SESSION_ID, self.session_id.as_ref())?;
        out.field("status", Field::STATUS, self.status.as_ref())?;
        out.field("updated_at", Field::UPDATED_AT, self.updated_at.as_ref())?;
        out.field("expires_at", Field::EXPIRES_AT, self.expires_at.as_ref())?;
        let token = self.authorization_token.as_ref();
        out.field("authorization_token", Field::AUTHORIZATION_TOKEN, token)?;
        out.field("order_id", Field::ORDER_ID, self.order_id.as_ref())?;
        let reference = self.klarna_reference.as_ref();
        out.field("klarna_reference", Field::KLARNA_REFERENCE, reference)?;
        let customer = self.customer.as_ref().map(|customer| CustomerOut {
            customer,
            problems: &self.problems,
            field: Field::CUSTOMER,
        });
        out.field("customer", Field::CUSTOMER, customer.as_ref())?;
        let manual = self.manual_identification.as_ref().map(|manual| ManualOut {
            manual,
            problems: &self.problems,
        });
        out.field(
            "manual_identification",
            Field::MANUAL_IDENTIFICATION,
            manual.as_ref(),
        )?;
        out.problems(&self.problems)?;
        out.end()
    }
}

impl<'de> Deserialize<'de> for SessionResponse {
    /// Tolerant in a human-readable format, exact in another: see
    /// [Reading](SessionResponse#reading).
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<SessionResponse, D::Error> {
        if deserializer.is_human_readable() {
            return lenient::session(deserializer);
        }
        #[derive(serde::Deserialize)]
        #[serde(rename = "SessionResponse")]
        struct Compact {
            session_id: Option<String>,
            status: Option<ReportedStatus>,
            updated_at: Option<Timestamp>,
            expires_at: Option<Timestamp>,
            authorization_token: Option<String>,
            order_id: Option<String>,
            klarna_reference: Option<String>,
            customer: Option<Customer>,
            manual_identification: Option<ManualIdentification>,
            problems: Vec<FieldProblem>,
        }
        let compact = Compact::deserialize(deserializer)?;
        Ok(SessionResponse {
            session_id: compact.session_id,
            status: compact.status,
            updated_at: compact.updated_at,
            expires_at: compact.expires_at,
            authorization_token: compact.authorization_token,
            order_id: compact.order_id,
            klarna_reference: compact.klarna_reference,
            customer: compact.customer,
            manual_identification: compact.manual_identification,
            problems: compact.problems,
        })
    }
}

impl Serialize for StatusCallback {
    /// `{"event_id":...,"session":{...}}`: `event_id` left out when absent (or its kept
    /// problem value written back) in a human-readable format; every field and the problems
    /// in another.
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut out = FieldWriter::new(serializer, "StatusCallback", 3, &self.problems)?;
        out.field("event_id", Field::EVENT_ID, self.event_id.as_ref())?;
        out.always("session", &self.session)?;
        out.problems(&self.problems)?;
        out.end()
    }
}

impl<'de> Deserialize<'de> for StatusCallback {
    /// Tolerant of a malformed `event_id` in a human-readable format; `session` is required
    /// and must be an object.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<StatusCallback, D::Error> {
        if deserializer.is_human_readable() {
            return lenient::callback(deserializer);
        }
        #[derive(serde::Deserialize)]
        #[serde(rename = "StatusCallback")]
        struct Compact {
            event_id: Option<String>,
            session: SessionResponse,
            problems: Vec<FieldProblem>,
        }
        let compact = Compact::deserialize(deserializer)?;
        Ok(StatusCallback {
            event_id: compact.event_id,
            session: compact.session,
            problems: compact.problems,
        })
    }
}
