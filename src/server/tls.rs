//! TLS for `serve`: the PEM certificate chain and key named in the config
//! loaded into a rustls [`ServerConfig`] (ring provider, TLS 1.2 and 1.3
//! only), held behind a lock so that SIGHUP swaps in a renewed certificate
//! for new handshakes while established sessions keep theirs, and server
//! handshakes with a timeout, for implicit-TLS listeners and for the
//! STARTTLS hook of plaintext sessions.

use std::fmt;
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::ServerConfig;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;

use super::log;
use crate::imap::session::{BoxIo, StartTls};

/// Why a certificate or key could not be used.
#[derive(Debug)]
pub enum TlsError {
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    NoCertificate(PathBuf),
    NoKey(PathBuf),
    /// rustls refused the pair (unsupported key type, key not matching the
    /// certificate, ...).
    Rustls {
        cert: PathBuf,
        source: rustls::Error,
    },
}

impl fmt::Display for TlsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TlsError::Read { path, source } => write!(f, "{}: {source}", path.display()),
            TlsError::NoCertificate(p) => {
                write!(
                    f,
                    "{}: no PEM certificate (BEGIN CERTIFICATE) found",
                    p.display()
                )
            }
            TlsError::NoKey(p) => write!(f, "{}: no PEM private key found", p.display()),
            TlsError::Rustls { cert, source } => {
                write!(f, "{}: cannot use certificate: {source}", cert.display())
            }
        }
    }
}

impl std::error::Error for TlsError {}

fn read_file(path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|source| TlsError::Read {
        path: path.to_path_buf(),
        source,
    })
}

/// Reads every certificate of a PEM chain, leaf first.
pub fn load_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let data = read_file(path)?;
    let certs = rustls_pemfile::certs(&mut BufReader::new(data.as_slice()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|source| TlsError::Read {
            path: path.to_path_buf(),
            source,
        })?;
    if certs.is_empty() {
        return Err(TlsError::NoCertificate(path.to_path_buf()));
    }
    Ok(certs)
}

/// Reads the first private key (PKCS#8, PKCS#1 or SEC1) of a PEM file.
pub fn load_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    let data = read_file(path)?;
    rustls_pemfile::private_key(&mut BufReader::new(data.as_slice()))
        .map_err(|source| TlsError::Read {
            path: path.to_path_buf(),
            source,
        })?
        .ok_or_else(|| TlsError::NoKey(path.to_path_buf()))
}

/// Builds the server configuration: ring, TLS 1.3 and 1.2 only (never
/// 1.1 or older), no client certificates.
pub fn load_server_config(cert: &Path, key: &Path) -> Result<Arc<ServerConfig>, TlsError> {
    let certs = load_certs(cert)?;
    let key_der = load_key(key)?;
    let rustls_err = |source| TlsError::Rustls {
        cert: cert.to_path_buf(),
        source,
    };
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let cfg = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(rustls_err)?
        .with_no_client_auth()
        .with_single_cert(certs, key_der)
        .map_err(rustls_err)?;
    Ok(Arc::new(cfg))
}

/// The current TLS configuration of a running server and where it came
/// from, so it can be reloaded.
pub struct TlsState {
    cert: PathBuf,
    key: PathBuf,
    current: RwLock<Arc<ServerConfig>>,
}

impl TlsState {
    /// Loads the certificate chain and key; fails if either is unusable.
    pub fn load(cert: &Path, key: &Path) -> Result<TlsState, TlsError> {
        let cfg = load_server_config(cert, key)?;
        Ok(TlsState {
            cert: cert.to_path_buf(),
            key: key.to_path_buf(),
            current: RwLock::new(cfg),
        })
    }

    pub fn cert_path(&self) -> &Path {
        &self.cert
    }

    /// Re-reads the files. On failure the old certificate stays in use.
    /// Established connections hold their own `Arc` of the old
    /// configuration and are not affected either way.
    pub fn reload(&self) -> Result<(), TlsError> {
        let cfg = load_server_config(&self.cert, &self.key)?;
        // A poisoned lock only means a panic elsewhere while holding it;
        // the Arc inside is still whole.
        let mut cur = self.current.write().unwrap_or_else(|p| p.into_inner());
        *cur = cfg;
        Ok(())
    }

    /// The configuration new handshakes use.
    pub fn config(&self) -> Arc<ServerConfig> {
        let cur = self.current.read().unwrap_or_else(|p| p.into_inner());
        Arc::clone(&cur)
    }

    /// Runs a server handshake on `io`, giving up after `timeout`.
    pub async fn accept<IO>(&self, io: IO, timeout: Duration) -> std::io::Result<TlsStream<IO>>
    where
        IO: AsyncRead + AsyncWrite + Unpin,
    {
        let acceptor = TlsAcceptor::from(self.config());
        match tokio::time::timeout(timeout, acceptor.accept(io)).await {
            Ok(r) => r,
            Err(_) => Err(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "TLS handshake timed out",
            )),
        }
    }

    /// The STARTTLS hook handed to plaintext sessions.
    pub fn starttls_hook(self: &Arc<Self>, timeout: Duration) -> StartTls {
        let me = Arc::clone(self);
        Arc::new(move |io: BoxIo| {
            let me = Arc::clone(&me);
            Box::pin(async move {
                let tls = me.accept(io, timeout).await?;
                Ok(Box::new(tls) as BoxIo)
            })
        })
    }
}

/// Reloads the certificate on every SIGHUP, logging the outcome. Must be
/// called inside the runtime.
pub fn spawn_reload_on_sighup(state: Arc<TlsState>) -> std::io::Result<()> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut hup = signal(SignalKind::hangup())?;
    tokio::spawn(async move {
        while hup.recv().await.is_some() {
            // Reading two small files; not worth a blocking-pool hop.
            match state.reload() {
                Ok(()) => log::server(format_args!(
                    "SIGHUP: reloaded TLS certificate {}",
                    state.cert_path().display()
                )),
                Err(e) => log::warn(format_args!("SIGHUP: keeping the old TLS certificate: {e}")),
            }
        }
    });
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    fn make_pair(dir: &Path, name: &str) -> (PathBuf, PathBuf) {
        let cert = dir.join(format!("{name}-cert.pem"));
        let key = dir.join(format!("{name}-key.pem"));
        assert!(crate::server::data::ensure_self_signed_cert(&cert, &key).unwrap());
        (cert, key)
    }

    /// A TLS client that trusts exactly the certificate in `trust`.
    pub(crate) fn test_connector(trust: &Path) -> tokio_rustls::TlsConnector {
        let mut roots = rustls::RootCertStore::empty();
        for c in load_certs(trust).unwrap() {
            roots.add(c).unwrap();
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let client = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
        tokio_rustls::TlsConnector::from(Arc::new(client))
    }

    /// A client trusting exactly `cert`; returns the leaf the server showed
    /// after a full round trip of application data.
    async fn handshake(state: &TlsState, trust: &Path) -> std::io::Result<Vec<u8>> {
        let connector = test_connector(trust);
        let (a, b) = tokio::io::duplex(64 * 1024);
        let server = async {
            let mut s = state.accept(b, Duration::from_secs(30)).await?;
            let mut buf = [0u8; 4];
            s.read_exact(&mut buf).await?;
            s.write_all(&buf).await?;
            s.flush().await?;
            Ok::<_, std::io::Error>(s)
        };
        let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
        let client = async {
            let mut c = connector.connect(name, a).await?;
            c.write_all(b"ping").await?;
            let mut buf = [0u8; 4];
            c.read_exact(&mut buf).await?;
            assert_eq!(&buf, b"ping");
            let leaf = c
                .get_ref()
                .1
                .peer_certificates()
                .and_then(|v| v.first())
                .map(|c| c.as_ref().to_vec())
                .unwrap_or_default();
            Ok::<_, std::io::Error>(leaf)
        };
        let (s, c) = tokio::join!(server, client);
        s?;
        c
    }

    #[tokio::test]
    async fn handshake_and_reload() {
        let dir = tempfile::tempdir().unwrap();
        let (cert_a, key_a) = make_pair(dir.path(), "a");
        let (cert_b, key_b) = make_pair(dir.path(), "b");
        let live_cert = dir.path().join("cert.pem");
        let live_key = dir.path().join("key.pem");
        std::fs::copy(&cert_a, &live_cert).unwrap();
        std::fs::copy(&key_a, &live_key).unwrap();
        let state = TlsState::load(&live_cert, &live_key).unwrap();
        let der_a = load_certs(&cert_a).unwrap()[0].as_ref().to_vec();
        let der_b = load_certs(&cert_b).unwrap()[0].as_ref().to_vec();
        assert_ne!(der_a, der_b);
        assert_eq!(handshake(&state, &cert_a).await.unwrap(), der_a);

        // A broken file on reload keeps the old certificate.
        std::fs::write(&live_cert, "garbage").unwrap();
        assert!(matches!(state.reload(), Err(TlsError::NoCertificate(_))));
        assert_eq!(handshake(&state, &cert_a).await.unwrap(), der_a);

        std::fs::copy(&cert_b, &live_cert).unwrap();
        std::fs::copy(&key_b, &live_key).unwrap();
        state.reload().unwrap();
        assert_eq!(handshake(&state, &cert_b).await.unwrap(), der_b);
        // Clients trusting only the old certificate now fail.
        assert!(handshake(&state, &cert_a).await.is_err());
    }

    #[test]
    fn bad_files_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let (cert_a, key_a) = make_pair(dir.path(), "a");
        let (_, key_b) = make_pair(dir.path(), "b");
        let missing = dir.path().join("missing.pem");
        assert!(matches!(
            load_server_config(&missing, &key_a),
            Err(TlsError::Read { .. })
        ));
        // A key file given as the certificate, and the other way round.
        assert!(matches!(
            load_server_config(&key_a, &key_a),
            Err(TlsError::NoCertificate(_))
        ));
        assert!(matches!(
            load_server_config(&cert_a, &cert_a),
            Err(TlsError::NoKey(_))
        ));
        // A key that does not belong to the certificate.
        let e = load_server_config(&cert_a, &key_b).unwrap_err();
        assert!(matches!(e, TlsError::Rustls { .. }), "{e}");
        assert!(load_server_config(&cert_a, &key_a).is_ok());
    }

    #[tokio::test]
    async fn garbage_and_silence_end_the_handshake() {
        let dir = tempfile::tempdir().unwrap();
        let (cert, key) = make_pair(dir.path(), "a");
        let state = TlsState::load(&cert, &key).unwrap();
        let (mut a, b) = tokio::io::duplex(4096);
        a.write_all(b"GET / HTTP/1.0\r\n\r\n").await.unwrap();
        assert!(state.accept(b, Duration::from_secs(30)).await.is_err());
        // A client that says nothing is cut off by the timeout.
        let (_a, b) = tokio::io::duplex(4096);
        let e = state
            .accept(b, Duration::from_millis(50))
            .await
            .unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::TimedOut);
    }
}
