//! [`SessionResponse`] (the Read Session body) and [`StatusCallback`].

use alloc::string::String;

use serde::{Deserialize, Serialize};

use super::{ReportedStatus, Timestamp};
use crate::{Observation, Status};

/// The body of Read Session (`GET {session_url}`), also the `session` of a status callback.
///
/// Every field is optional, as the API documents it; unknown fields are ignored; absent
/// fields are not written back.
///
/// ```
/// use hpp_status::Status;
/// use hpp_status::wire::{Completion, SessionResponse};
///
/// let session: SessionResponse = serde_json::from_str(r#"{
///     "session_id": "a15b228c-02ad-11e9-8eb2-f2801f1b9fd1",
///     "status": "COMPLETED",
///     "updated_at": "2038-01-19T03:14:07.000Z",
///     "authorization_token": "70850a20-a2a0-5c70-810c-096fa6f850bb"
/// }"#)?;
/// assert_eq!(session.observation()?.status, Status::Completed);
/// assert_eq!(
///     session.completion(),
///     Some(Completion::AuthorizationToken("70850a20-a2a0-5c70-810c-096fa6f850bb"))
/// );
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, PartialEq, Eq, Debug, Default, Serialize, Deserialize)]
pub struct SessionResponse {
    /// The id of the HPP session.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    /// The current status, known or not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<ReportedStatus>,
    /// When the status last changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<Timestamp>,
    /// When the HPP session expires; after it, Read Session answers 404.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<Timestamp>,
    /// The authorization token (Klarna Payments sessions only); valid for 60 minutes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization_token: Option<String>,
    /// The order id (Kustom Checkout, or `place_order_mode`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_id: Option<String>,
    /// The Klarna reference of the order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub klarna_reference: Option<String>,
    /// What the consumer told about themselves.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer: Option<Customer>,
    /// The manual identification check, when the session has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manual_identification: Option<ManualIdentification>,
}

impl SessionResponse {
    /// The payload as an [`Observation`] for a [`Tracker`](crate::Tracker), or which field
    /// is missing or unknown.
    ///
    /// ```
    /// use hpp_status::wire::{ObservationError, SessionResponse};
    ///
    /// let session: SessionResponse =
    ///     serde_json::from_str(r#"{"status":"TIMEOUT","updated_at":"2019-05-13T14:51:46.288Z"}"#)?;
    /// assert_eq!(
    ///     session.observation().unwrap_err().to_string(),
    ///     "the session's `status` is \"TIMEOUT\", which is not one of the eight HPP statuses"
    /// );
    /// # Ok::<(), serde_json::Error>(())
    /// ```
    pub fn observation(&self) -> Result<Observation<Timestamp>, ObservationError> {
        let status = match &self.status {
            None => return Err(ObservationError::MissingStatus),
            Some(ReportedStatus::Unrecognized(text)) => {
                return Err(ObservationError::UnrecognizedStatus(text.clone()));
            }
            Some(ReportedStatus::Known(status)) => *status,
        };
        let updated_at = self.updated_at.ok_or(ObservationError::MissingUpdatedAt)?;
        Ok(Observation::new(status, updated_at))
    }

    /// The status, when it is present and one of the eight.
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

    /// What the merchant needs to finish the purchase, when the payload carries it: the
    /// authorization token (Klarna Payments), or else the order id with its Klarna
    /// reference (Kustom Checkout, `place_order_mode`).
    ///
    /// ```
    /// use hpp_status::wire::{Completion, SessionResponse};
    ///
    /// let session = SessionResponse {
    ///     order_id: Some("93d644a2".into()),
    ///     klarna_reference: Some("ffc25786".into()),
    ///     ..SessionResponse::default()
    /// };
    /// assert_eq!(
    ///     session.completion(),
    ///     Some(Completion::Order { order_id: "93d644a2", klarna_reference: "ffc25786" })
    /// );
    /// ```
    #[must_use]
    pub fn completion(&self) -> Option<Completion<'_>> {
        if let Some(token) = &self.authorization_token {
            return Some(Completion::AuthorizationToken(token));
        }
        match (&self.order_id, &self.klarna_reference) {
            (Some(order_id), Some(klarna_reference)) => Some(Completion::Order {
                order_id,
                klarna_reference,
            }),
            _ => None,
        }
    }
}

/// What a `COMPLETED` session hands the merchant: see [`SessionResponse::completion`].
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Completion<'a> {
    /// A Klarna Payments authorization token: create the order with it within 60 minutes.
    AuthorizationToken(&'a str),
    /// An order already placed (Kustom Checkout, or `place_order_mode`).
    Order {
        /// The order id.
        order_id: &'a str,
        /// The Klarna reference of the order.
        klarna_reference: &'a str,
    },
}

/// The consumer's details, as the API reports them (every field optional, kept as text).
#[derive(Clone, PartialEq, Eq, Debug, Default, Serialize, Deserialize)]
pub struct Customer {
    /// Date of birth, `YYYY-MM-dd`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date_of_birth: Option<String>,
    /// Family name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family_name: Option<String>,
    /// Given name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub given_name: Option<String>,
    /// National identification number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub national_identification_number: Option<String>,
    /// Title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
}

/// A manual identification check of the consumer.
#[derive(Clone, PartialEq, Eq, Debug, Default, Serialize, Deserialize)]
pub struct ManualIdentification {
    /// The identification challenge, such as `"A78"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub challenge: Option<String>,
    /// The customer to identify.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer: Option<Customer>,
    /// The same customer, obfuscated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_obfuscated: Option<Customer>,
    /// When the identification expires.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<Timestamp>,
}

/// The body Klarna POSTs to the merchant's `status_update` URL.
///
/// `event_id` identifies the notification: a retry of the same notification carries the
/// same one. Deduplication does not need it, though: a [`Tracker`](crate::Tracker) already
/// classifies a repeat as a [`Duplicate`](crate::Outcome::Duplicate).
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct StatusCallback {
    /// The notification's id (a UUID, kept as text).
    pub event_id: String,
    /// The session as Read Session would return it.
    pub session: SessionResponse,
}

/// Why a [`SessionResponse`] gives no [`Observation`].
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ObservationError {
    /// The payload has no `status`.
    #[error("the session has no `status` field")]
    MissingStatus,
    /// The payload has no `updated_at`, so it cannot be ordered against other deliveries.
    #[error("the session has no `updated_at` field, so it cannot be ordered")]
    MissingUpdatedAt,
    /// The status is not one of the eight (kept here with its text).
    #[error("the session's `status` is {0:?}, which is not one of the eight HPP statuses")]
    UnrecognizedStatus(String),
}
