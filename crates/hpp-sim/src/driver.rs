//! [`Driver`]: a run against a merchant service. It asks the merchant for checkouts
//! (`POST {merchant}/checkouts` with `{"place_order_mode": ...}`), and the merchant creates
//! the HPP sessions on the simulator, which then walks, calls back and records them.

use std::sync::Arc;
use std::time::Duration;

use rand::RngExt as _;
use serde::Deserialize;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use url::Url;

use crate::seed::{self, Purpose};
use crate::truth::PlaceOrderMode;

/// How to ask a merchant service (one or more instances of it) for checkouts.
///
/// Checkout `i` goes to instance `i % n`; when an instance does not answer at all
/// (connection refused, reset, timed out), the checkout is tried on the next ones in turn,
/// so that a run goes on while an instance is down.
///
/// ```
/// use hpp_sim::{Driver, PlaceOrderMode};
///
/// let driver = Driver::new("http://127.0.0.1:8080".parse()?, 10);
/// let modes: Vec<PlaceOrderMode> = (0..10).map(|i| driver.mode_of(i)).collect();
/// assert_eq!(modes, (0..10).map(|i| driver.mode_of(i)).collect::<Vec<_>>()); // seeded
/// assert!(modes.contains(&PlaceOrderMode::None));
/// assert!(modes.contains(&PlaceOrderMode::PlaceOrder));
/// assert_eq!(driver.checkouts_url(3), "http://127.0.0.1:8080/checkouts");
/// # Ok::<(), url::ParseError>(())
/// ```
#[derive(Clone, Debug)]
pub struct Driver {
    /// The merchant instances' base URLs (at least one); checkouts are posted to
    /// `{url}/checkouts`.
    pub merchant_urls: Vec<Url>,
    /// How many checkouts to ask for.
    pub sessions: u64,
    /// The share of checkouts with `PLACE_ORDER` (the rest are `NONE`), default 0.5.
    pub place_order_share: f64,
    /// How many checkout requests at once (default 8; 1 creates the sessions in a
    /// reproducible order).
    pub concurrency: usize,
    /// The seed of the modes (default 42).
    pub seed: u64,
    /// How long one checkout request may take (default 10 s).
    pub request_timeout: Duration,
    /// The merchant's checkout token, sent as `Authorization: Bearer <token>` (default
    /// none: no header).
    pub checkout_token: Option<String>,
    /// CA certificates to trust besides the platform's roots (default none): the merchant's
    /// test CA when it serves HTTPS, the simulator's
    /// ([`SimHandle::tls_ca_pem`](crate::SimHandle::tls_ca_pem)) for the payment pages the
    /// driver opens when the simulator serves HTTPS.
    pub root_certificates: Vec<reqwest::Certificate>,
}

/// One checkout asked for.
#[derive(Clone, Debug)]
pub struct Checkout {
    /// Its place in the run.
    pub index: u64,
    /// The mode asked for.
    pub place_order_mode: PlaceOrderMode,
    /// The instance that answered (the last one tried when none did).
    pub merchant_url: String,
    /// The HPP session id the merchant answered, or why there is none.
    pub result: Result<String, CheckoutError>,
}

/// Why a checkout request failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CheckoutError {
    /// No answer.
    #[error("POST {url} failed: {reason}")]
    Request {
        /// The URL.
        url: String,
        /// Why.
        reason: String,
    },
    /// An answer other than 201.
    #[error("POST {url} answered {code} instead of 201: {body}")]
    Status {
        /// The URL.
        url: String,
        /// The status code.
        code: u16,
        /// The start of the body.
        body: String,
    },
    /// A 201 without `{"session_id": "..."}`.
    #[error("POST {url} answered 201 without a session_id: {reason}")]
    Body {
        /// The URL.
        url: String,
        /// Why.
        reason: String,
    },
}

#[derive(Deserialize)]
struct CheckoutCreated {
    session_id: String,
    /// Where the merchant sends the consumer: the driver opens it, as the consumer's
    /// browser would (see `SimConfig::consumers_wait_for_page`).
    #[serde(default)]
    redirect_url: Option<String>,
}

impl Driver {
    /// A driver for `sessions` checkouts at one instance, with the defaults above.
    #[must_use]
    pub fn new(merchant_url: Url, sessions: u64) -> Driver {
        Driver::with_instances(vec![merchant_url], sessions)
    }

    /// A driver for `sessions` checkouts spread over `merchant_urls`.
    #[must_use]
    pub fn with_instances(merchant_urls: Vec<Url>, sessions: u64) -> Driver {
        Driver {
            merchant_urls,
            sessions,
            place_order_share: 0.5,
            concurrency: 8,
            seed: 42,
            request_timeout: Duration::from_secs(10),
            checkout_token: None,
            root_certificates: Vec::new(),
        }
    }

    /// The mode of checkout `index`: drawn from the seed, so that it does not depend on the
    /// order in which concurrent requests finish.
    #[must_use]
    pub fn mode_of(&self, index: u64) -> PlaceOrderMode {
        let share = self.place_order_share.clamp(0.0, 1.0);
        if seed::generator(self.seed, index, Purpose::Driver).random_bool(share) {
            PlaceOrderMode::PlaceOrder
        } else {
            PlaceOrderMode::None
        }
    }

    /// The URL checkout `index` is posted to first.
    #[must_use]
    pub fn checkouts_url(&self, index: u64) -> String {
        self.instance_url(index as usize)
    }

    fn instance_url(&self, instance: usize) -> String {
        match self.merchant_urls.len() {
            0 => String::new(),
            n => format!(
                "{}/checkouts",
                self.merchant_urls[instance % n]
                    .as_str()
                    .trim_end_matches('/')
            ),
        }
    }

    /// Asks for every checkout, `concurrency` at a time, calling `on_done` after each; the
    /// checkouts come back in index order.
    ///
    /// # Errors
    ///
    /// A [`reqwest::Error`] when the HTTP client cannot be built; each checkout's own
    /// failure is in its [`Checkout::result`].
    pub async fn create_checkouts(
        &self,
        on_done: impl Fn(&Checkout) + Send + Sync + 'static,
    ) -> Result<Vec<Checkout>, reqwest::Error> {
        let client = reqwest::Client::builder()
            .no_proxy()
            .timeout(self.request_timeout)
            .tls_certs_merge(self.root_certificates.iter().cloned())
            .build()?;
        let permits = Arc::new(Semaphore::new(self.concurrency.max(1)));
        let on_done = Arc::new(on_done);
        let instances = self.merchant_urls.len().max(1);
        let mut tasks = JoinSet::new();
        for index in 0..self.sessions {
            let mode = self.mode_of(index);
            // The instance for this checkout first, then the others in turn.
            let urls: Vec<String> = (0..instances)
                .map(|offset| self.instance_url(index as usize + offset))
                .collect();
            let (client, permits, on_done) =
                (client.clone(), Arc::clone(&permits), Arc::clone(&on_done));
            let token = self.checkout_token.clone();
            // Acquired here, in index order, and released when the answer is in: with
            // concurrency 1 the sessions are created in index order.
            let permit = permits.acquire_owned().await;
            tasks.spawn(async move {
                let mut tried = String::new();
                let mut result = Err(CheckoutError::Request {
                    url: String::new(),
                    reason: "no merchant URL".into(),
                });
                for url in urls {
                    result = checkout(&client, &url, token.as_deref(), mode).await;
                    tried = url;
                    if !matches!(result, Err(CheckoutError::Request { .. })) {
                        break;
                    }
                }
                drop(permit);
                let checkout = Checkout {
                    index,
                    place_order_mode: mode,
                    merchant_url: tried,
                    result,
                };
                on_done(&checkout);
                checkout
            });
        }
        let mut checkouts = Vec::with_capacity(tasks.len());
        while let Some(done) = tasks.join_next().await {
            match done {
                Ok(checkout) => checkouts.push(checkout),
                Err(join) => tracing::error!(%join, "a checkout task failed"),
            }
        }
        checkouts.sort_by_key(|checkout| checkout.index);
        Ok(checkouts)
    }
}

async fn checkout(
    client: &reqwest::Client,
    url: &str,
    token: Option<&str>,
    mode: PlaceOrderMode,
) -> Result<String, CheckoutError> {
    let mut request = client
        .post(url)
        .json(&serde_json::json!({ "place_order_mode": mode.as_str() }));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request
        .send()
        .await
        .map_err(|error| CheckoutError::Request {
            url: url.to_owned(),
            // The whole chain: "error sending request" alone does not say why.
            reason: crate::sim::chain(&error.without_url()),
        })?;
    let code = response.status().as_u16();
    let body = response.text().await.unwrap_or_default();
    if code != 201 {
        return Err(CheckoutError::Status {
            url: url.to_owned(),
            code,
            body: body.chars().take(200).collect(),
        });
    }
    let created =
        serde_json::from_str::<CheckoutCreated>(&body).map_err(|error| CheckoutError::Body {
            url: url.to_owned(),
            reason: error.to_string(),
        })?;
    if let Some(page) = &created.redirect_url {
        // The consumer's browser opens the page; a failure leaves the consumer waiting
        // (the session then expires), as a consumer who never got there.
        let opened = client.get(page).send().await;
        if let Err(error) = opened.and_then(reqwest::Response::error_for_status) {
            tracing::warn!(page, error = %crate::sim::chain(&error.without_url()), "payment page not opened");
        }
    }
    Ok(created.session_id)
}
