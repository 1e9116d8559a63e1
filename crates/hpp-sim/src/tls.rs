//! HTTPS on loopback: a throwaway certificate authority generated at start ([`LocalCa`]), the
//! server certificate it signs for `127.0.0.1`, `::1` and `localhost`, an axum listener that
//! serves with it ([`TlsListener`]), and the CA certificates a callback client trusts
//! besides the platform's ([`read_ca_file`]).
//!
//! The CA's private key lives in memory only and is gone when the process ends: a client
//! that trusts the CA's PEM (`SSL_CERT_FILE`, `curl --cacert`) trusts this run only.
//!
//! ```
//! use hpp_sim::tls::LocalCa;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // A merchant's test serving its callback endpoint over HTTPS.
//! let ca = LocalCa::generate(&[])?;
//! let tcp = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! let listener = ca.listener(tcp)?;
//! let addr = axum::serve::Listener::local_addr(&listener)?;
//! let app = axum::Router::new().route("/", axum::routing::get(|| async { "ok" }));
//! tokio::spawn(async move { axum::serve(listener, app).await });
//!
//! let client = reqwest::Client::builder()
//!     .no_proxy()
//!     .tls_certs_only([reqwest::Certificate::from_pem(ca.ca_pem().as_bytes())?])
//!     .build()?;
//! let body = client.get(format!("https://{addr}/")).send().await?.text().await?;
//! assert_eq!(body, "ok");
//! # Ok(())
//! # }
//! ```

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, mpsc};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::pki_types::pem::PemObject as _;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio_rustls::rustls::{self, ServerConfig};
use tokio_rustls::server::TlsStream;

/// How the simulator serves HTTPS ([`SimConfig::tls`](crate::SimConfig::tls)).
///
/// The simulator generates a CA at start and a server certificate signed by it for
/// `127.0.0.1`, `::1`, `localhost`, the listen address and the host of
/// [`public_url`](crate::SimConfig::public_url); its base URL is then
/// `https://127.0.0.1:PORT`. [`SimHandle::tls_ca_pem`](crate::SimHandle::tls_ca_pem) is the
/// CA's certificate a client must trust.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ServeTls {
    /// Where to write the CA's certificate (PEM) at start, for clients that trust it with
    /// `SSL_CERT_FILE=FILE` or `curl --cacert FILE` (default: nowhere).
    pub ca_file: Option<PathBuf>,
}

/// Why TLS could not be set up: what was being done, and the cause.
#[derive(Debug, thiserror::Error)]
#[error("{what}: {source}")]
pub struct TlsError {
    what: String,
    #[source]
    source: Box<dyn std::error::Error + Send + Sync>,
}

impl TlsError {
    fn new(
        what: impl Into<String>,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> TlsError {
        TlsError {
            what: what.into(),
            source: source.into(),
        }
    }
}

/// The most bytes read from a CA file: a bundle of every public root is about 220 kB.
const MAX_CA_FILE: u64 = 4 * 1024 * 1024;

/// The TLS handshakes under way at once; further connections wait to be accepted.
const MAX_HANDSHAKES: usize = 128;

/// How long a client may take to finish its handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// A certificate authority generated in memory, and a server certificate it signed.
pub struct LocalCa {
    ca_pem: String,
    names: Vec<String>,
    server: Arc<ServerConfig>,
}

impl std::fmt::Debug for LocalCa {
    /// Never prints a key.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalCa")
            .field("names", &self.names)
            .finish_non_exhaustive()
    }
}

impl LocalCa {
    /// A new CA (ECDSA P-256, its own key) and a server certificate it signed for
    /// `127.0.0.1`, `::1`, `localhost` and `extra_names` (host names or IP addresses).
    ///
    /// # Errors
    ///
    /// [`TlsError`] when a name is not a valid DNS name or IP address, or a key or
    /// certificate cannot be made.
    pub fn generate(extra_names: &[String]) -> Result<LocalCa, TlsError> {
        let mut names: Vec<String> = [
            IpAddr::V4(Ipv4Addr::LOCALHOST).to_string(),
            IpAddr::V6(Ipv6Addr::LOCALHOST).to_string(),
            "localhost".to_owned(),
        ]
        .into();
        for name in extra_names {
            rustls::pki_types::ServerName::try_from(name.as_str()).map_err(|error| {
                TlsError::new(
                    format!("{name:?} is not a host name or IP address for a certificate"),
                    error,
                )
            })?;
            if !names.contains(name) {
                names.push(name.clone());
            }
        }
        let failed = |what: &str| {
            let what = what.to_owned();
            move |error: rcgen::Error| TlsError::new(what, error)
        };

        let mut ca_params = CertificateParams::default();
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "hpp-sim throwaway CA");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let ca_key = KeyPair::generate().map_err(failed("cannot generate the CA's key"))?;
        let ca = CertifiedIssuer::self_signed(ca_params, ca_key)
            .map_err(failed("cannot sign the CA's certificate"))?;

        let mut params = CertificateParams::new(names.clone())
            .map_err(failed(&format!("cannot make a certificate for {names:?}")))?;
        params
            .distinguished_name
            .push(DnType::CommonName, "hpp-sim");
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        params.use_authority_key_identifier_extension = true;
        let key = KeyPair::generate().map_err(failed("cannot generate the server's key"))?;
        let cert = params
            .signed_by(&key, &ca)
            .map_err(failed("cannot sign the server certificate"))?;

        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let mut server = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .and_then(|builder| {
                builder.with_no_client_auth().with_single_cert(
                    vec![cert.der().clone()],
                    PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
                )
            })
            .map_err(|error| TlsError::new("cannot configure the TLS server", error))?;
        // axum serves HTTP/1.1 only (its http2 feature is off).
        server.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(LocalCa {
            ca_pem: ca.pem(),
            names,
            server: Arc::new(server),
        })
    }

    /// The CA's certificate, PEM: what a client must trust.
    #[must_use]
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    /// The names the server certificate is for.
    #[must_use]
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// Writes [`ca_pem`](LocalCa::ca_pem) to `path` (through a temporary file beside it and a
    /// rename, so that a client never reads half of it).
    ///
    /// # Errors
    ///
    /// [`TlsError`] naming the file when it cannot be written.
    pub fn write_ca_pem(&self, path: &Path) -> Result<(), TlsError> {
        let mut temporary = path.as_os_str().to_owned();
        temporary.push(format!(".{}.tmp", std::process::id()));
        let temporary = PathBuf::from(temporary);
        std::fs::write(&temporary, &self.ca_pem)
            .and_then(|()| std::fs::rename(&temporary, path))
            .map_err(|error| {
                let _ = std::fs::remove_file(&temporary);
                TlsError::new(
                    format!("cannot write the CA certificate to {}", path.display()),
                    error,
                )
            })
    }

    /// Serves HTTPS with the server certificate on `tcp`: see [`TlsListener`].
    ///
    /// # Errors
    ///
    /// When `tcp` has no local address.
    pub fn listener(&self, tcp: TcpListener) -> io::Result<TlsListener> {
        TlsListener::new(tcp, Arc::clone(&self.server))
    }
}

/// An [`axum::serve::Listener`] that yields connections whose TLS handshake succeeded.
///
/// A background task accepts TCP connections and runs their handshakes concurrently (at
/// most 128 at once, each within 10 s), so that a client that never finishes its handshake
/// holds up no other; a failed handshake (a client that does not trust the CA, or speaks
/// plain HTTP) is logged at debug level and dropped. The task and the TCP listener end when
/// this listener is dropped (when `axum::serve` stops).
///
/// For `into_make_service_with_connect_info::<SocketAddr>()`, wrap it with
/// [`ListenerExt::tap_io`](axum::serve::ListenerExt::tap_io): axum gives the peer address of
/// any listener so wrapped.
#[derive(Debug)]
pub struct TlsListener {
    incoming: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    local_addr: SocketAddr,
}

impl TlsListener {
    fn new(tcp: TcpListener, config: Arc<ServerConfig>) -> io::Result<TlsListener> {
        let local_addr = tcp.local_addr()?;
        let (sender, incoming) = mpsc::channel(16);
        tokio::spawn(accept_loop(tcp, TlsAcceptor::from(config), sender));
        Ok(TlsListener {
            incoming,
            local_addr,
        })
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.incoming.recv().await {
            Some(accepted) => accepted,
            // The accepting task ends only once this receiver is gone: never reached.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        Ok(self.local_addr)
    }
}

async fn accept_loop(
    tcp: TcpListener,
    acceptor: TlsAcceptor,
    sender: mpsc::Sender<(TlsStream<TcpStream>, SocketAddr)>,
) {
    let handshakes = Arc::new(Semaphore::new(MAX_HANDSHAKES));
    loop {
        let permit = tokio::select! {
            () = sender.closed() => return,
            permit = Arc::clone(&handshakes).acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => return, // never closed
            },
        };
        let (stream, peer) = tokio::select! {
            () = sender.closed() => return,
            accepted = tcp.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // As axum does: a connection that went away is no matter; anything
                    // else (too many open files) gets a pause before the next try.
                    if !matches!(
                        error.kind(),
                        io::ErrorKind::ConnectionRefused
                            | io::ErrorKind::ConnectionAborted
                            | io::ErrorKind::ConnectionReset
                    ) {
                        tracing::error!(%error, "accepting a connection failed");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                    continue;
                }
            },
        };
        let (acceptor, sender) = (acceptor.clone(), sender.clone());
        tokio::spawn(async move {
            let _permit = permit;
            match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                Ok(Ok(tls)) => {
                    let _ = tls.get_ref().0.set_nodelay(true);
                    // Fails only when the server stopped: the connection is dropped.
                    let _ = sender.send((tls, peer)).await;
                }
                Ok(Err(error)) => tracing::debug!(%peer, %error, "TLS handshake failed"),
                Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
            }
        });
    }
}

/// The certificates of a PEM file (one or more `CERTIFICATE` blocks), for a client to
/// trust: [`SimConfig::merchant_ca`](crate::SimConfig::merchant_ca).
///
/// # Errors
///
/// [`TlsError`] naming the file when it cannot be read, is larger than 4 MiB, holds a
/// block that is not valid PEM, or holds no certificate.
pub fn read_ca_file(path: &Path) -> Result<Vec<reqwest::Certificate>, TlsError> {
    let what = || format!("cannot read CA certificates from {}", path.display());
    let bytes = read_bounded(path).map_err(|error| TlsError::new(what(), error))?;
    let mut certificates = Vec::new();
    for der in CertificateDer::pem_slice_iter(&bytes) {
        let der = der.map_err(|error| TlsError::new(what(), error.to_string()))?;
        let certificate =
            reqwest::Certificate::from_der(&der).map_err(|error| TlsError::new(what(), error))?;
        certificates.push(certificate);
    }
    if certificates.is_empty() {
        return Err(TlsError::new(
            what(),
            "no PEM block \"-----BEGIN CERTIFICATE-----\" in it",
        ));
    }
    Ok(certificates)
}

fn read_bounded(path: &Path) -> io::Result<Vec<u8>> {
    use std::io::Read as _;
    let mut bytes = Vec::new();
    std::fs::File::open(path)?
        .take(MAX_CA_FILE + 1)
        .read_to_end(&mut bytes)?;
    if bytes.len() as u64 > MAX_CA_FILE {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("larger than {MAX_CA_FILE} bytes"),
        ));
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_server_certificate_is_for_loopback_and_the_extra_names() {
        let ca = LocalCa::generate(&["sim.test".into(), "localhost".into()]).unwrap();
        assert_eq!(ca.names(), ["127.0.0.1", "::1", "localhost", "sim.test"]);
        assert!(ca.ca_pem().starts_with("-----BEGIN CERTIFICATE-----"));
        assert!(!format!("{ca:?}").contains("PRIVATE"));
    }

    #[test]
    fn a_bad_name_is_refused_with_its_cause() {
        let error = LocalCa::generate(&["not a name".into()]).unwrap_err();
        let text = error.to_string();
        assert!(
            text.starts_with("\"not a name\" is not a host name or IP address"),
            "{text}"
        );
        assert!(std::error::Error::source(&error).is_some());
    }

    #[test]
    fn ca_files_are_read_and_bad_ones_named() {
        let dir = tempfile::tempdir().unwrap();
        let one = LocalCa::generate(&[]).unwrap();
        let two = LocalCa::generate(&[]).unwrap();
        let bundle = dir.path().join("bundle.pem");
        std::fs::write(&bundle, format!("{}{}", one.ca_pem(), two.ca_pem())).unwrap();
        assert_eq!(read_ca_file(&bundle).unwrap().len(), 2);

        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "no certificate here\n").unwrap();
        let text = read_ca_file(&empty).unwrap_err().to_string();
        assert!(
            text.contains("empty.pem") && text.contains("no PEM block"),
            "{text}"
        );

        let missing = dir.path().join("missing.pem");
        let text = read_ca_file(&missing).unwrap_err().to_string();
        assert!(
            text.contains("missing.pem") && text.contains("No such file"),
            "{text}"
        );

        let written = dir.path().join("ca.pem");
        one.write_ca_pem(&written).unwrap();
        assert_eq!(std::fs::read_to_string(&written).unwrap(), one.ca_pem());
        let text = one
            .write_ca_pem(&dir.path().join("no/such/dir/ca.pem"))
            .unwrap_err()
            .to_string();
        assert!(
            text.contains("cannot write the CA certificate to"),
            "{text}"
        );
    }
}
