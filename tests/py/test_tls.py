"""TLS in `bincimap serve`: implicit TLS and STARTTLS with `openssl s_client` and imaplib, the self-signed certificate
of the embedded default, plaintext pipelined after STARTTLS being dropped, TLS 1.1 refused, garbage and silence during
the handshake, certificate reload on SIGHUP, and the plaintext policy for non-loopback peers.

The non-loopback test puts the client in a network namespace joined to this one by a veth pair (root and `ip netns`
needed). Where that is impossible it falls back to the host's own non-loopback address: a connection to it comes from
that address too. With neither it is skipped. bincimap only."""
import imaplib
import json
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import unittest
import warnings

from support import IS_DOVECOT, TIMEOUT, Serve, free_port, plain_b64

OPENSSL = shutil.which("openssl")
need_openssl = unittest.skipUnless(OPENSSL, "openssl command not installed (Debian package openssl)")


def unverified():
    """A client context that accepts the self-signed certificate, TLS 1.2+ like any modern client."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def pem_to_der(path):
    with open(path) as f:
        text = f.read()
    m = re.search(r"-----BEGIN CERTIFICATE-----(.*?)-----END CERTIFICATE-----", text, re.S)
    return ssl.PEM_cert_to_DER_cert(m.group(0))


def make_cert(directory, name):
    """A fresh self-signed EC certificate and key made with openssl; returns (cert, key) paths."""
    cert = os.path.join(directory, name + "-cert.pem")
    key = os.path.join(directory, name + "-key.pem")
    subprocess.run([OPENSSL, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                    "-subj", "/CN=" + name, "-days", "2", "-keyout", key, "-out", cert],
                   check=True, capture_output=True, timeout=60)
    return cert, key


def wait_for(pred, what, srv, timeout=TIMEOUT):
    """Polls until pred() is true (not a timing assertion: the deadline only bounds a hang)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if pred():
            return
        time.sleep(0.05)
    raise AssertionError("timed out waiting for %s; server output:\n%s" % (what, srv.output()))


def give_to_server(*paths):
    """As root, `serve` runs as the owner of its data directory (`nobody` in the tests, see support.Serve), which
    must be able to re-read the certificate and key on SIGHUP, as an administrator's deploy hook would arrange."""
    if os.geteuid() != 0:
        return
    import pwd
    nobody = pwd.getpwnam("nobody")
    for p in paths:
        os.chown(p, nobody.pw_uid, nobody.pw_gid)


class TlsServe(Serve):
    """`bincimap serve` with a plaintext listener (STARTTLS) and an implicit-TLS one on free loopback ports."""

    def __init__(self, config=None, extra_args=()):
        self.tls_port = free_port()
        super().__init__(config=config, extra_args=["--listen-tls", "127.0.0.1:%d" % self.tls_port] + list(extra_args))

    def start(self):
        try:
            self.wait_password()
            self.wait_listening()
            wait_for(lambda: "(imaps)" in self.output(), "the TLS listener", self)
        except BaseException:
            self.stop()
            raise
        return self

    def tls_raw_socket(self):
        return socket.create_connection(("127.0.0.1", self.tls_port), timeout=TIMEOUT)


def read_until(sock, pattern, limit=1 << 20):
    """Reads from a (TLS) socket until the regex `pattern` matches the data so far; returns the data."""
    data = b""
    while not re.search(pattern, data, re.M):
        chunk = sock.recv(65536)
        if not chunk:
            raise AssertionError("connection closed; got %r" % data)
        data += chunk
        if len(data) > limit:
            raise AssertionError("runaway answer %r" % data[:300])
    return data


def closed_by_server(sock):
    """True when the server closes (EOF or reset) within TIMEOUT, whatever it sent before."""
    sock.settimeout(TIMEOUT)
    try:
        while True:
            if not sock.recv(65536):
                return True
    except (ConnectionResetError, ssl.SSLError, BrokenPipeError):
        return True
    except socket.timeout:
        return False


def _close(m):
    try:
        m.logout()
    except Exception:
        pass


@unittest.skipIf(IS_DOVECOT, "bincimap serve only")
class TestTlsEmbeddedDefault(unittest.TestCase):
    """The embedded default: a self-signed certificate made at first start, IMAPS and STARTTLS."""

    @classmethod
    def setUpClass(cls):
        cls.srv = TlsServe().start()

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()

    def login_select_fetch(self, m):
        typ, _ = m.login(self.srv.user, self.srv.password)
        self.assertEqual(typ, "OK")
        typ, data = m.select("INBOX")
        self.assertEqual(typ, "OK")
        self.assertGreaterEqual(int(data[0]), 1, "the welcome message is in INBOX")
        typ, data = m.fetch("1", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
        self.assertEqual(typ, "OK")
        self.assertIn(b"Welcome to bincimap", data[0][1])

    def test_self_signed_certificate_created(self):
        cert = os.path.join(self.srv.data_dir, "tls-cert.pem")
        key = os.path.join(self.srv.data_dir, "tls-key.pem")
        self.assertIn("created a self-signed TLS certificate", self.srv.output())
        self.assertEqual(os.stat(key).st_mode & 0o777, 0o600)
        # the certificate the server shows is the one in the data directory
        with socket.create_connection(("127.0.0.1", self.srv.tls_port), timeout=TIMEOUT) as raw:
            with unverified().wrap_socket(raw) as s:
                self.assertEqual(s.getpeercert(binary_form=True), pem_to_der(cert))
                self.assertIn(s.version(), ("TLSv1.2", "TLSv1.3"))
        # a client that checks the certificate against it (it names localhost) is satisfied
        ctx = ssl.create_default_context(cafile=cert)
        with socket.create_connection(("127.0.0.1", self.srv.tls_port), timeout=TIMEOUT) as raw:
            with ctx.wrap_socket(raw, server_hostname="localhost") as s:
                self.assertTrue(read_until(s, rb"^\* OK").startswith(b"* OK"))

    def test_imaplib_ssl(self):
        m = imaplib.IMAP4_SSL("127.0.0.1", self.srv.tls_port, ssl_context=unverified(), timeout=TIMEOUT)
        self.addCleanup(_close, m)
        caps = set(m.capabilities)
        self.assertIn("AUTH=PLAIN", caps)
        self.assertNotIn("STARTTLS", caps, "no STARTTLS inside TLS")
        self.assertNotIn("LOGINDISABLED", caps)
        self.login_select_fetch(m)

    def test_imaplib_starttls(self):
        m = imaplib.IMAP4("127.0.0.1", self.srv.port, timeout=TIMEOUT)
        self.addCleanup(_close, m)
        self.assertIn("STARTTLS", m.capabilities)
        typ, _ = m.starttls(ssl_context=unverified())
        self.assertEqual(typ, "OK")
        # imaplib asks CAPABILITY again after the handshake
        caps = set(m.capabilities)
        self.assertNotIn("STARTTLS", caps)
        self.assertNotIn("LOGINDISABLED", caps)
        self.assertIn("AUTH=PLAIN", caps)
        self.login_select_fetch(m)

    def test_authenticate_plain_over_tls(self):
        with socket.create_connection(("127.0.0.1", self.srv.tls_port), timeout=TIMEOUT) as raw:
            with unverified().wrap_socket(raw) as s:
                read_until(s, rb"^\* OK")
                s.sendall(b"a AUTHENTICATE PLAIN " + plain_b64(self.srv.user, self.srv.password).encode() + b"\r\n")
                self.assertRegex(read_until(s, rb"^a "), rb"(?m)^a OK")
                s.sendall(b"b STARTTLS\r\n")
                self.assertRegex(read_until(s, rb"^b "), rb"(?m)^b BAD")

    def test_second_starttls_refused(self):
        with socket.create_connection(("127.0.0.1", self.srv.port), timeout=TIMEOUT) as raw:
            read_until(raw, rb"^\* OK")
            raw.sendall(b"a STARTTLS\r\n")
            self.assertRegex(read_until(raw, rb"^a "), rb"(?m)^a OK")
            with unverified().wrap_socket(raw) as s:
                s.sendall(b"b STARTTLS\r\n")
                self.assertRegex(read_until(s, rb"^b "), rb"(?m)^b BAD")
                s.sendall(b"c NOOP\r\n")
                self.assertRegex(read_until(s, rb"^c "), rb"(?m)^c OK")

    def test_pipelined_command_after_starttls_is_discarded(self):
        """`b LOGIN` sent in the same packet as STARTTLS must never run: after the handshake the session is
        still not authenticated and `b` never gets an answer."""
        before = self.srv.output().count("discarded")
        with socket.create_connection(("127.0.0.1", self.srv.port), timeout=TIMEOUT) as raw:
            read_until(raw, rb"^\* OK")
            raw.sendall(b"a STARTTLS\r\nb LOGIN %s %s\r\n" % (self.srv.user.encode(), self.srv.password.encode()))
            got = read_until(raw, rb"^a ")
            self.assertRegex(got, rb"(?m)^a OK")
            self.assertNotIn(b"\r\nb ", b"\r\n" + got)
            with unverified().wrap_socket(raw) as s:
                s.sendall(b"c CAPABILITY\r\n")
                got = read_until(s, rb"^c ")
                self.assertRegex(got, rb"(?m)^c OK")
                self.assertNotIn(b"\r\nb ", b"\r\n" + got, "the pipelined LOGIN was answered")
                self.assertIn(b"AUTH=PLAIN", got, "still not authenticated")
                s.sendall(b"d SELECT INBOX\r\n")
                self.assertRegex(read_until(s, rb"^d "), rb"(?m)^d BAD", "SELECT before login")
                s.sendall(b"e LOGOUT\r\n")
                got = read_until(s, rb"^e ")
                self.assertNotIn(b"\r\nb ", b"\r\n" + got)
        wait_for(lambda: self.srv.output().count("discarded") > before, "the discard log line", self.srv)

    @need_openssl
    def test_openssl_implicit_tls(self):
        p = subprocess.run([OPENSSL, "s_client", "-connect", "127.0.0.1:%d" % self.srv.tls_port, "-quiet", "-crlf"],
                           input=("a LOGIN %s %s\nb SELECT INBOX\nc LOGOUT\n" % (self.srv.user, self.srv.password))
                           .encode(), capture_output=True, timeout=60)
        out = p.stdout.decode("utf-8", "replace")
        self.assertRegex(out, r"(?m)^\* OK \[CAPABILITY ", p.stderr)
        self.assertRegex(out, r"(?m)^a OK ", out)
        self.assertRegex(out, r"(?m)^b OK ", out)
        self.assertRegex(out, r"(?m)^c OK ", out)

    @need_openssl
    def test_openssl_starttls(self):
        p = subprocess.run([OPENSSL, "s_client", "-connect", "127.0.0.1:%d" % self.srv.port, "-starttls", "imap",
                            "-quiet", "-crlf"],
                           input=("a LOGIN %s %s\nb SELECT INBOX\nc CAPABILITY\nd LOGOUT\n"
                                  % (self.srv.user, self.srv.password)).encode(), capture_output=True, timeout=60)
        out = p.stdout.decode("utf-8", "replace")
        self.assertRegex(out, r"(?m)^a OK ", out + p.stderr.decode("utf-8", "replace"))
        self.assertRegex(out, r"(?m)^b OK ", out)
        self.assertRegex(out, r"(?m)^d OK ", out)
        caps = re.search(r"(?m)^\* CAPABILITY (.*)$", out).group(1).split()
        self.assertNotIn("STARTTLS", caps)

    def test_tls11_client_refused(self):
        """A client offering only TLS 1.1 (with OpenSSL's security level lowered so it really sends that hello)
        gets no session; the server logs the failed handshake."""
        ctx = unverified()
        try:
            ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                ctx.minimum_version = ssl.TLSVersion.TLSv1_1
                ctx.maximum_version = ssl.TLSVersion.TLSv1_1
        except (ValueError, ssl.SSLError) as e:
            self.skipTest("this OpenSSL cannot make a TLS 1.1 client: %s" % e)
        before = self.srv.output().count("TLS handshake failed")
        with socket.create_connection(("127.0.0.1", self.srv.tls_port), timeout=TIMEOUT) as raw:
            with self.assertRaises((ssl.SSLError, ConnectionError)):
                with ctx.wrap_socket(raw) as s:
                    s.recv(100)
        wait_for(lambda: self.srv.output().count("TLS handshake failed") > before, "the handshake failure log",
                 self.srv)
        # refused for what it offered, not because the client gave up on its own before sending a hello
        last = [l for l in self.srv.output().splitlines() if "TLS handshake failed" in l][-1]
        self.assertRegex(last, r"incompatible|[Vv]ersion", last)
        # the same over STARTTLS
        with socket.create_connection(("127.0.0.1", self.srv.port), timeout=TIMEOUT) as raw:
            read_until(raw, rb"^\* OK")
            raw.sendall(b"a STARTTLS\r\n")
            read_until(raw, rb"^a OK")
            with self.assertRaises((ssl.SSLError, ConnectionError)):
                with ctx.wrap_socket(raw) as s:
                    s.recv(100)

    def test_garbage_during_handshake(self):
        """Garbage on the TLS port (and after STARTTLS) ends that connection only, with a log line."""
        before = self.srv.output().count("TLS handshake failed")
        garbage = [b"a LOGIN demo x\r\n", b"GET / HTTP/1.0\r\n\r\n", os.urandom(4096),
                   b"\x16\x03\x01\x00\x05\x01\x00\x00\x01\x00",  # a truncated, malformed ClientHello
                   b"\x16\x03\x03\xff\xff" + b"\x00" * 100]
        for g in garbage:
            with self.srv.tls_raw_socket() as s:
                try:
                    s.sendall(g)
                    s.shutdown(socket.SHUT_WR)
                except OSError:
                    pass
                self.assertTrue(closed_by_server(s), g[:20])
        with socket.create_connection(("127.0.0.1", self.srv.port), timeout=TIMEOUT) as raw:
            read_until(raw, rb"^\* OK")
            raw.sendall(b"a STARTTLS\r\n")
            read_until(raw, rb"^a OK")
            # (a record header announcing more than is sent: the end of input is what ends it)
            raw.sendall(b"\x16\x03\x01 this is not TLS\r\n" * 10)
            raw.shutdown(socket.SHUT_WR)
            self.assertTrue(closed_by_server(raw))
        wait_for(lambda: self.srv.output().count("TLS handshake failed") >= before + len(garbage) + 1,
                 "a log line per failed handshake", self.srv)
        self.assertIsNone(self.srv.proc.poll(), "the server is still running")
        m = imaplib.IMAP4_SSL("127.0.0.1", self.srv.tls_port, ssl_context=unverified(), timeout=TIMEOUT)
        self.addCleanup(_close, m)
        self.assertEqual(m.login(self.srv.user, self.srv.password)[0], "OK")


@unittest.skipIf(IS_DOVECOT, "bincimap serve only")
@need_openssl
class TestTlsConfiguredCertificate(unittest.TestCase):
    """A certificate from the config, replaced and reloaded with SIGHUP; the handshake timeout."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="bincimap-tls-")
        cls.cert_a, cls.key_a = make_cert(cls.tmp, "a")
        cls.cert_b, cls.key_b = make_cert(cls.tmp, "b")
        cls.cert = os.path.join(cls.tmp, "cert.pem")
        cls.key = os.path.join(cls.tmp, "key.pem")
        shutil.copy(cls.cert_a, cls.cert)
        shutil.copy(cls.key_a, cls.key)
        give_to_server(cls.tmp, cls.cert, cls.key)
        cls.conf = os.path.join(cls.tmp, "bincimap.toml")
        with open(cls.conf, "w") as f:
            # relative paths: taken relative to the config file
            f.write('[tls]\ncert_file = "cert.pem"\nkey_file = "key.pem"\n[session]\nauth_timeout = 10\n')
        try:
            cls.srv = TlsServe(config=cls.conf).start()
        except BaseException:
            shutil.rmtree(cls.tmp, ignore_errors=True)
            raise

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def server_cert(self, starttls=False):
        if starttls:
            with socket.create_connection(("127.0.0.1", self.srv.port), timeout=TIMEOUT) as raw:
                read_until(raw, rb"^\* OK")
                raw.sendall(b"a STARTTLS\r\n")
                read_until(raw, rb"^a OK")
                with unverified().wrap_socket(raw) as s:
                    return s.getpeercert(binary_form=True)
        with self.srv.tls_raw_socket() as raw:
            with unverified().wrap_socket(raw) as s:
                return s.getpeercert(binary_form=True)

    def replace(self, cert_src, key_src):
        """Replaces the configured files the way certbot's deploy does: new file, rename over the old."""
        for src, dst in ((key_src, self.key), (cert_src, self.cert)):
            tmp = dst + ".new"
            shutil.copy(src, tmp)
            give_to_server(tmp)
            os.rename(tmp, dst)

    def hup(self, word):
        before = self.srv.output().count(word)
        self.srv.proc.send_signal(signal.SIGHUP)
        wait_for(lambda: self.srv.output().count(word) > before, "the SIGHUP log line (%s)" % word, self.srv)

    def test_sighup_reload_keeps_sessions(self):
        der_a, der_b = pem_to_der(self.cert_a), pem_to_der(self.cert_b)
        self.assertEqual(self.server_cert(), der_a)
        old = imaplib.IMAP4_SSL("127.0.0.1", self.srv.tls_port, ssl_context=unverified(), timeout=TIMEOUT)
        self.addCleanup(_close, old)
        self.assertEqual(old.sock.getpeercert(binary_form=True), der_a)
        old.login(self.srv.user, self.srv.password)
        old_plain = imaplib.IMAP4("127.0.0.1", self.srv.port, timeout=TIMEOUT)
        self.addCleanup(_close, old_plain)
        old_plain.starttls(ssl_context=unverified())

        self.replace(self.cert_b, self.key_b)
        self.hup("reloaded TLS certificate")
        self.assertEqual(self.server_cert(), der_b)
        self.assertEqual(self.server_cert(starttls=True), der_b)
        # the sessions from before the reload go on, on the old certificate
        typ, data = old.select("INBOX")
        self.assertEqual(typ, "OK")
        typ, data = old.fetch("1", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
        self.assertEqual(typ, "OK")
        self.assertIn(b"Welcome", data[0][1])
        self.assertEqual(old.noop()[0], "OK")
        self.assertEqual(old_plain.login(self.srv.user, self.srv.password)[0], "OK")
        self.assertEqual(old_plain.select("INBOX")[0], "OK")

        # a broken certificate is refused and the current one stays in use
        with open(self.cert, "w") as f:
            f.write("not a certificate\n")
        self.hup("keeping the old TLS certificate")
        self.assertIsNone(self.srv.proc.poll())
        self.assertEqual(self.server_cert(), der_b)
        self.assertEqual(old.noop()[0], "OK")

        self.replace(self.cert_a, self.key_a)
        self.hup("reloaded TLS certificate")
        self.assertEqual(self.server_cert(), der_a)

    def test_silent_client_cut_off_by_handshake_timeout(self):
        """session.auth_timeout (10 s here) bounds the handshake of a client that connects and sends nothing."""
        before = self.srv.output().count("TLS handshake timed out")
        with self.srv.tls_raw_socket() as s:
            self.assertTrue(closed_by_server(s))
        wait_for(lambda: self.srv.output().count("TLS handshake timed out") > before, "the timeout log line",
                 self.srv)


@unittest.skipIf(IS_DOVECOT, "bincimap serve only")
class TestDisableStarttls(unittest.TestCase):
    def test_disable_starttls(self):
        d = tempfile.mkdtemp(prefix="bincimap-nostls-")
        self.addCleanup(shutil.rmtree, d, True)
        conf = os.path.join(d, "bincimap.toml")
        with open(conf, "w") as f:
            f.write("[tls]\ndisable_starttls = true\n")
        srv = TlsServe(config=conf)
        self.addCleanup(srv.stop)
        srv.start()
        m = imaplib.IMAP4("127.0.0.1", srv.port, timeout=TIMEOUT)
        self.addCleanup(_close, m)
        self.assertNotIn("STARTTLS", m.capabilities)
        with socket.create_connection(("127.0.0.1", srv.port), timeout=TIMEOUT) as raw:
            read_until(raw, rb"^\* OK")
            raw.sendall(b"a STARTTLS\r\nb NOOP\r\n")
            got = read_until(raw, rb"^b ")
            self.assertRegex(got, rb"(?m)^a BAD")
            self.assertRegex(got, rb"(?m)^b OK")
        # implicit TLS still works
        t = imaplib.IMAP4_SSL("127.0.0.1", srv.tls_port, ssl_context=unverified(), timeout=TIMEOUT)
        self.addCleanup(_close, t)
        self.assertEqual(t.login(srv.user, srv.password)[0], "OK")


# -- the plaintext policy from a non-loopback address ------------------------------------------------------------

CLIENT = r"""
import json, socket, ssl, sys, re
host, port, user, pw = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
def until(s, tag):
    data = b""
    while not re.search(rb"(?m)^" + tag + rb" ", data):
        c = s.recv(65536)
        if not c:
            break
        data += c
    return data.decode("utf-8", "replace")
out = {}
s = socket.create_connection((host, port), timeout=30)
out["local"] = s.getsockname()[0]
out["greeting"] = until(s, rb"\*")
s.sendall(b"a CAPABILITY\r\n"); out["caps"] = until(s, b"a")
s.sendall(b"b LOGIN " + user.encode() + b" " + pw.encode() + b"\r\n"); out["login"] = until(s, b"b")
if " OK " not in out["login"]:
    import base64
    s.sendall(b"c AUTHENTICATE PLAIN " + base64.b64encode(b"\0" + user.encode() + b"\0" + pw.encode()) + b"\r\n")
    out["authenticate"] = until(s, b"c")
    s.sendall(b"d STARTTLS\r\n"); out["starttls"] = until(s, b"d")
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
    s = ctx.wrap_socket(s)
    s.sendall(b"e CAPABILITY\r\n"); out["tls_caps"] = until(s, b"e")
    s.sendall(b"f LOGIN " + user.encode() + b" " + pw.encode() + b"\r\n"); out["tls_login"] = until(s, b"f")
    s.sendall(b"g SELECT INBOX\r\n"); out["tls_select"] = until(s, b"g")
s.sendall(b"z LOGOUT\r\n"); until(s, b"z")
print(json.dumps(out))
"""


class NonLoopback:
    """A non-loopback path to this machine: a network namespace with a veth pair (preferred), else the host's own
    non-loopback IPv4 address. `server_ip` is where the server listens; `run(args)` runs the client script from the
    other end."""

    def __init__(self):
        self.ns = None
        self.veth = None
        self.server_ip = None
        self.how = None
        self.why_not = []

    def setup(self):
        if self._netns():
            return True
        ip = self._host_ip()
        if ip:
            self.server_ip = ip
            self.how = "the host's own address %s" % ip
            return True
        return False

    def _netns(self):
        if os.geteuid() != 0:
            self.why_not.append("not root")
            return False
        if not shutil.which("ip"):
            self.why_not.append("no ip command (iproute2)")
            return False
        n = os.getpid() % 10000
        ns, veth, peer = "bti%d" % n, "btv%da" % n, "btv%db" % n
        net = "10.231.%d" % (os.getpid() % 250)
        steps = [["ip", "netns", "add", ns],
                 ["ip", "link", "add", veth, "type", "veth", "peer", "name", peer],
                 ["ip", "link", "set", peer, "netns", ns],
                 ["ip", "addr", "add", net + ".1/30", "dev", veth],
                 ["ip", "link", "set", veth, "up"],
                 ["ip", "netns", "exec", ns, "ip", "addr", "add", net + ".2/30", "dev", peer],
                 ["ip", "netns", "exec", ns, "ip", "link", "set", peer, "up"],
                 ["ip", "netns", "exec", ns, "ip", "link", "set", "lo", "up"]]
        for i, st in enumerate(steps):
            p = subprocess.run(st, capture_output=True, timeout=30)
            if p.returncode != 0:
                self.why_not.append("%s: %s" % (" ".join(st), p.stderr.decode("utf-8", "replace").strip()))
                if i >= 1:
                    self.ns = ns
                if i >= 2:
                    self.veth = veth
                self.cleanup()
                return False
        self.ns, self.veth = ns, veth
        self.server_ip = net + ".1"
        self.how = "a network namespace (%s, client %s.2)" % (ns, net)
        return True

    @staticmethod
    def _host_ip():
        try:
            out = subprocess.run(["ip", "-4", "-o", "addr", "show", "scope", "global"], capture_output=True,
                                 timeout=30).stdout.decode()
            for m in re.finditer(r"inet (\d+\.\d+\.\d+\.\d+)/", out):
                return m.group(1)
        except (OSError, subprocess.SubprocessError):
            pass
        try:
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.connect(("192.0.2.1", 9))  # no packet is sent: this only picks a source address
            ip = s.getsockname()[0]
            s.close()
            return None if ip.startswith("127.") else ip
        except OSError:
            return None

    def run(self, port, user, password):
        argv = [sys.executable, "-c", CLIENT, self.server_ip, str(port), user, password]
        if self.ns:
            argv = ["ip", "netns", "exec", self.ns] + argv
        p = subprocess.run(argv, capture_output=True, timeout=120)
        if p.returncode != 0:
            raise AssertionError("client failed: %s" % p.stderr.decode("utf-8", "replace"))
        return json.loads(p.stdout)

    def cleanup(self):
        if self.veth:
            subprocess.run(["ip", "link", "del", self.veth], capture_output=True, timeout=30)
        if self.ns:
            subprocess.run(["ip", "netns", "del", self.ns], capture_output=True, timeout=30)
        self.ns = self.veth = None


@unittest.skipIf(IS_DOVECOT, "bincimap serve only")
class TestPlaintextPolicy(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.net = NonLoopback()
        if not cls.net.setup():
            raise unittest.SkipTest("no non-loopback address to test from: %s" % "; ".join(cls.net.why_not))
        sys.stderr.write("[plaintext policy tested through %s] " % cls.net.how)

    @classmethod
    def tearDownClass(cls):
        cls.net.cleanup()

    def serve(self, config_text=None):
        conf = None
        if config_text is not None:
            d = tempfile.mkdtemp(prefix="bincimap-pol-")
            self.addCleanup(shutil.rmtree, d, True)
            conf = os.path.join(d, "bincimap.toml")
            with open(conf, "w") as f:
                f.write(config_text)
        self.remote_port = free_port()
        srv = TlsServe(config=conf, extra_args=["--listen", "%s:%d" % (self.net.server_ip, self.remote_port)])
        self.addCleanup(srv.stop)
        srv.start()
        return srv

    def test_refused_without_tls(self):
        srv = self.serve()
        r = self.net.run(self.remote_port, srv.user, srv.password)
        self.assertFalse(r["local"].startswith("127."), r)
        caps = r["caps"].split("\r\n")[0].split()
        self.assertIn("LOGINDISABLED", caps, r)
        self.assertIn("STARTTLS", caps, r)
        self.assertNotIn("AUTH=PLAIN", caps, r)
        self.assertIn("LOGINDISABLED", r["greeting"], r)
        self.assertRegex(r["login"], r"(?m)^b NO \[PRIVACYREQUIRED\]", r)
        self.assertRegex(r["authenticate"], r"(?m)^c NO \[PRIVACYREQUIRED\]", r)
        # after STARTTLS the same client may log in
        self.assertRegex(r["starttls"], r"(?m)^d OK", r)
        tls_caps = re.search(r"(?m)^\* CAPABILITY (.*)$", r["tls_caps"]).group(1).split()
        self.assertNotIn("LOGINDISABLED", tls_caps)
        self.assertNotIn("STARTTLS", tls_caps)
        self.assertIn("AUTH=PLAIN", tls_caps)
        self.assertRegex(r["tls_login"], r"(?m)^f OK", r)
        self.assertRegex(r["tls_select"], r"(?m)^g OK", r)
        # loopback on the same server is still allowed in plaintext
        m = imaplib.IMAP4("127.0.0.1", srv.port, timeout=TIMEOUT)
        self.addCleanup(_close, m)
        self.assertNotIn("LOGINDISABLED", m.capabilities)
        self.assertEqual(m.login(srv.user, srv.password)[0], "OK")

    def test_allowed_by_config(self):
        srv = self.serve("[auth]\nallow_plaintext = true\n")
        r = self.net.run(self.remote_port, srv.user, srv.password)
        self.assertFalse(r["local"].startswith("127."), r)
        caps = r["caps"].split("\r\n")[0].split()
        self.assertNotIn("LOGINDISABLED", caps, r)
        self.assertIn("AUTH=PLAIN", caps, r)
        self.assertRegex(r["login"], r"(?m)^b OK", r)


if __name__ == "__main__":
    unittest.main()
