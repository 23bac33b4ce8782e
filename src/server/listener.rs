//! TCP listeners for `serve`: bind, accept, and run one session task per
//! connection. A panicking session is contained in its task and logged; the
//! server keeps accepting.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};

use super::limits::{self, ConnGuard, ConnLimits, Refusal};
use super::log::{self, LogCtx};
use super::tls::TlsState;
use crate::auth::Authenticator;
use crate::config::Config;
use crate::imap::session::{self, BoxIo, SessionParams};

/// What a listener speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListenerKind {
    /// Cleartext IMAP (port 143 style), with STARTTLS when the server has
    /// a TLS configuration.
    Plain,
    /// Implicit TLS (port 993 style): the handshake comes first.
    Tls,
}

/// One address to listen on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListenerSpec {
    pub addr: SocketAddr,
    pub kind: ListenerKind,
}

/// True when a plaintext password may be sent on this connection: the peer
/// is on loopback, or the configuration allows it everywhere.
pub fn plaintext_ok(peer: &SocketAddr, allow_plaintext: bool) -> bool {
    if allow_plaintext {
        return true;
    }
    match peer.ip() {
        std::net::IpAddr::V4(v4) => v4.is_loopback(),
        std::net::IpAddr::V6(v6) => {
            v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
    }
}

/// Binds one listening socket. IPv6 sockets are IPv6-only so that
/// `0.0.0.0:143` and `[::]:143` can both be listed, as with Dovecot.
fn bind_one(addr: SocketAddr) -> std::io::Result<TcpListener> {
    use socket2::{Domain, Socket, Type};
    let sock = Socket::new(Domain::for_address(addr), Type::STREAM, None)?;
    // Restarting must not wait for old connections in TIME_WAIT.
    sock.set_reuse_address(true)?;
    if addr.is_ipv6() {
        sock.set_only_v6(true)?;
    }
    sock.set_nonblocking(true)?;
    sock.bind(&addr.into())?;
    sock.listen(1024)?;
    TcpListener::from_std(std::net::TcpListener::from(sock))
}

/// Shared state of a running `serve`.
pub struct Server {
    pub config: Arc<Config>,
    pub authenticator: Arc<dyn Authenticator>,
    /// Connection limits (total and per IP), see [`super::limits`].
    pub limits: Arc<ConnLimits>,
    /// Certificate for `Tls` listeners and STARTTLS; None: no TLS at all.
    pub tls: Option<Arc<TlsState>>,
    /// Root `serve` only: credentials of virtual users' session children.
    pub mail_user: Option<super::privsep::Creds>,
}

impl Server {
    pub fn new(config: Arc<Config>, authenticator: Arc<dyn Authenticator>) -> Server {
        let limits = ConnLimits::new(
            config.limits.max_connections,
            config.limits.max_connections_per_ip,
        );
        Server {
            config,
            authenticator,
            limits,
            tls: None,
            mail_user: None,
        }
    }

    /// Enables TLS listeners and STARTTLS (unless `tls.disable_starttls`).
    pub fn with_tls(mut self, tls: Option<Arc<TlsState>>) -> Server {
        self.tls = tls;
        self
    }

    /// Binds every listener; fails on the first that cannot be bound so a
    /// typo in the config is not silently half-served.
    /// Must run inside the runtime (the sockets register with it).
    pub async fn bind(specs: &[ListenerSpec]) -> std::io::Result<Vec<(TcpListener, ListenerSpec)>> {
        let mut out = Vec::with_capacity(specs.len());
        for spec in specs {
            let l = bind_one(spec.addr).map_err(|e| {
                std::io::Error::new(e.kind(), format!("cannot listen on {}: {e}", spec.addr))
            })?;
            out.push((l, *spec));
        }
        Ok(out)
    }

    /// Whether to take a new connection: a slot under the connection
    /// limits, held until the returned guard is dropped.
    pub fn admit(&self, peer: &SocketAddr) -> Result<ConnGuard, Refusal> {
        self.limits.acquire(peer.ip())
    }

    /// Accepts connections forever.
    pub async fn accept_loop(self: Arc<Self>, listener: TcpListener, spec: ListenerSpec) {
        loop {
            match listener.accept().await {
                Ok((stream, peer)) => {
                    let guard = match self.admit(&peer) {
                        Ok(g) => g,
                        Err(why) => {
                            LogCtx::new(peer.ip().to_string())
                                .log(format_args!("connection refused: {why}"));
                            // Plaintext IMAP is useless to a client that
                            // starts with a TLS handshake: just close there.
                            if spec.kind == ListenerKind::Plain {
                                tokio::spawn(limits::refuse(stream));
                            }
                            continue;
                        }
                    };
                    let me = Arc::clone(&self);
                    tokio::spawn(async move {
                        // Held for the connection's life, released however it ends.
                        let _slot = guard;
                        me.handle(stream, peer, spec).await
                    });
                }
                Err(e) => {
                    // EMFILE and friends: back off instead of spinning.
                    log::warn(format_args!("accept on {}: {e}", spec.addr));
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
    }

    /// Runs one connection's session in its own task so that a panic in it
    /// is caught here (as a JoinError) and only this connection is lost.
    async fn handle(self: Arc<Self>, stream: TcpStream, peer: SocketAddr, spec: ListenerSpec) {
        let ctx = LogCtx::new(peer.ip().to_string());
        if let Err(e) = stream.set_nodelay(true) {
            ctx.log(format_args!("cannot set TCP_NODELAY: {e}"));
        }
        // The handshake shares the login deadline: a client that connects
        // and says nothing must not hold a connection slot for ever.
        let handshake_timeout = Duration::from_secs(self.config.session.auth_timeout.max(1));
        let (io, plaintext, starttls): (BoxIo, bool, _) = match spec.kind {
            ListenerKind::Plain => {
                let starttls = match &self.tls {
                    Some(t) if !self.config.tls.disable_starttls => {
                        Some(t.starttls_hook(handshake_timeout))
                    }
                    _ => None,
                };
                (
                    Box::new(stream),
                    plaintext_ok(&peer, self.config.auth.allow_plaintext),
                    starttls,
                )
            }
            ListenerKind::Tls => {
                let Some(tls) = &self.tls else {
                    ctx.log("no TLS certificate configured; connection closed");
                    return;
                };
                match tls.accept(stream, handshake_timeout).await {
                    Ok(s) => (Box::new(s), true, None),
                    Err(e) => {
                        ctx.log(format_args!("TLS handshake failed: {e}"));
                        return;
                    }
                }
            }
        };
        if let Some(mut front) = super::up::serve_front(
            &self.config,
            &self.authenticator,
            &peer,
            plaintext,
            &starttls,
        ) {
            // checkpassword or privilege separation: the pre-auth front end
            // hands logged-in sessions to a child running as the user.
            front.mail_user = self.mail_user.clone();
            if let Err(e) = super::up::preauth(io, front).await {
                ctx.log(format_args!("connection error: {e}"));
            }
            return;
        }
        let params = SessionParams {
            preauth: None,
            authenticator: Some(Arc::clone(&self.authenticator)),
            config: Arc::clone(&self.config),
            peer: peer.to_string(),
            plaintext_ok: plaintext,
            starttls,
        };
        let task = tokio::spawn(session::run(io, params));
        match task.await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => ctx.log(format_args!("connection error: {e}")),
            Err(e) if e.is_panic() => ctx.log("internal error: session crashed, connection closed"),
            Err(_) => {} // cancelled at shutdown
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plaintext_only_on_loopback_by_default() {
        let lo: SocketAddr = "127.0.0.1:5000".parse().unwrap();
        let lo6: SocketAddr = "[::1]:5000".parse().unwrap();
        let mapped: SocketAddr = "[::ffff:127.0.0.1]:5000".parse().unwrap();
        let remote: SocketAddr = "192.0.2.1:5000".parse().unwrap();
        assert!(plaintext_ok(&lo, false));
        assert!(plaintext_ok(&lo6, false));
        assert!(plaintext_ok(&mapped, false));
        assert!(!plaintext_ok(&remote, false));
        assert!(plaintext_ok(&remote, true));
    }

    /// Reads until the first line end or EOF.
    async fn first_line(s: &mut TcpStream) -> Vec<u8> {
        use tokio::io::AsyncReadExt;
        let mut got = Vec::new();
        let mut buf = [0u8; 256];
        loop {
            match s.read(&mut buf).await {
                Ok(0) | Err(_) => return got,
                Ok(n) => {
                    got.extend_from_slice(&buf[..n]);
                    if got.contains(&b'\n') {
                        return got;
                    }
                }
            }
        }
    }

    /// Whatever a session does (greet, fail, or panic while the session is
    /// unwritten), the server keeps accepting connections.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn server_survives_sessions() {
        let dir = tempfile::tempdir().unwrap();
        let pw = dir.path().join("passwd");
        std::fs::write(&pw, "").unwrap();
        let auth = crate::auth::passwd::PasswdFile::open(&pw, "Maildir", dir.path()).unwrap();
        let server = Arc::new(Server::new(Arc::new(Config::default()), Arc::new(auth)));
        let spec = ListenerSpec {
            addr: "127.0.0.1:0".parse().unwrap(),
            kind: ListenerKind::Plain,
        };
        let mut bound = Server::bind(&[spec]).await.unwrap();
        let (l, spec) = bound.pop().unwrap();
        let addr = l.local_addr().unwrap();
        let accept = tokio::spawn(Arc::clone(&server).accept_loop(l, spec));
        for _ in 0..3 {
            let mut c = TcpStream::connect(addr).await.unwrap();
            let line = first_line(&mut c).await;
            assert!(line.is_empty() || line.starts_with(b"* "), "{line:?}");
        }
        assert!(!accept.is_finished());
        accept.abort();
    }

    /// Garbage on an implicit-TLS listener ends that connection only; a
    /// real TLS client is greeted afterwards.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn tls_listener_survives_garbage() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let dir = tempfile::tempdir().unwrap();
        let pw = dir.path().join("passwd");
        std::fs::write(&pw, "").unwrap();
        let (cert, key) = (dir.path().join("c.pem"), dir.path().join("k.pem"));
        crate::server::data::ensure_self_signed_cert(&cert, &key).unwrap();
        let tls = Arc::new(TlsState::load(&cert, &key).unwrap());
        let auth = crate::auth::passwd::PasswdFile::open(&pw, "Maildir", dir.path()).unwrap();
        let server =
            Arc::new(Server::new(Arc::new(Config::default()), Arc::new(auth)).with_tls(Some(tls)));
        let spec = ListenerSpec {
            addr: "127.0.0.1:0".parse().unwrap(),
            kind: ListenerKind::Tls,
        };
        let (l, spec) = Server::bind(&[spec]).await.unwrap().pop().unwrap();
        let addr = l.local_addr().unwrap();
        let accept = tokio::spawn(Arc::clone(&server).accept_loop(l, spec));
        for garbage in [
            &b"a LOGIN x y\r\n"[..],
            b"\x16\x03\x03\xff\xff",
            &[0u8; 3000],
        ] {
            let mut c = TcpStream::connect(addr).await.unwrap();
            let _ = c.write_all(garbage).await;
            let _ = c.shutdown().await;
            let mut sink = Vec::new();
            let _ = c.read_to_end(&mut sink).await;
            assert!(!sink.starts_with(b"* "), "{sink:?}");
        }
        let connector = crate::server::tls::tests::test_connector(&cert);
        let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
        let tcp = TcpStream::connect(addr).await.unwrap();
        let mut c = connector.connect(name, tcp).await.unwrap();
        let mut buf = [0u8; 256];
        let n = c.read(&mut buf).await.unwrap();
        let greeting = String::from_utf8_lossy(&buf[..n]).into_owned();
        assert!(greeting.starts_with("* OK [CAPABILITY "), "{greeting}");
        assert!(greeting.contains("AUTH=PLAIN"), "{greeting}");
        assert!(!greeting.contains("STARTTLS"), "{greeting}");
        assert!(!accept.is_finished());
        accept.abort();
    }
}
