//! `options.place_order_mode` of Create HPP Session.

use core::fmt;

/// Who places the order when the consumer completes the payment: `options.place_order_mode`
/// of Create HPP Session. With [`None`](PlaceOrderMode::None) (the default) the session
/// completes with an `authorization_token` and the merchant places the order with it; with
/// the others Klarna places it and the session carries `order_id` and `klarna_reference`.
///
/// ```
/// use hpp_status::wire::PlaceOrderMode;
///
/// let mode: PlaceOrderMode = serde_json::from_str(r#""CAPTURE_ORDER""#)?;
/// assert_eq!(mode, PlaceOrderMode::CaptureOrder);
/// assert_eq!(mode.as_str(), "CAPTURE_ORDER");
/// assert_eq!(mode.to_string(), "CAPTURE_ORDER");
/// assert_eq!(serde_json::to_string(&PlaceOrderMode::default())?, r#""NONE""#);
/// assert!(serde_json::from_str::<PlaceOrderMode>(r#""none""#).is_err());
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(
    Clone, Copy, PartialEq, Eq, Hash, Debug, Default, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PlaceOrderMode {
    /// The merchant places the order with the authorization token.
    #[default]
    None,
    /// Klarna places the order.
    PlaceOrder,
    /// Klarna places and captures the order.
    CaptureOrder,
}

impl PlaceOrderMode {
    /// Every mode, in the order of the API's documentation.
    pub const ALL: [PlaceOrderMode; 3] = [
        PlaceOrderMode::None,
        PlaceOrderMode::PlaceOrder,
        PlaceOrderMode::CaptureOrder,
    ];

    /// The name on the wire.
    ///
    /// ```
    /// use hpp_status::wire::PlaceOrderMode;
    ///
    /// let names = PlaceOrderMode::ALL.map(PlaceOrderMode::as_str);
    /// assert_eq!(names, ["NONE", "PLACE_ORDER", "CAPTURE_ORDER"]);
    /// ```
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            PlaceOrderMode::None => "NONE",
            PlaceOrderMode::PlaceOrder => "PLACE_ORDER",
            PlaceOrderMode::CaptureOrder => "CAPTURE_ORDER",
        }
    }
}

/// The wire name, padded as the formatter asks.
///
/// ```
/// use hpp_status::wire::PlaceOrderMode;
///
/// assert_eq!(format!("[{:<12}]", PlaceOrderMode::None), "[NONE        ]");
/// ```
impl fmt::Display for PlaceOrderMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}
