"""Authentication hardening, timeouts and limits of `bincimap serve` (issue 3, sections 2 and 5): AUTHENTICATE
PLAIN and LOGIN with SASL-IR, the failed-login penalty (which must not hold up other sessions), per-IP throttling,
identical answers for unknown users and wrong passwords, the auth and idle timeouts, the size limits (line,
literal, nesting) and the connection limits (per IP and total), with every other session still running.
No timed assertions: only the order of events is checked. bincimap only."""
import base64
import os
import select
import socket
import subprocess
import tempfile
import time
import unittest

from support import (IS_DOVECOT, TIMEOUT, Raw, ServerClosed, Serve, bincimap_bin, free_port, plain_b64, resp_code,
                     status)


def b64(s):
    return base64.b64encode(s.encode()).decode()


def _quote(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


class _Daemon(unittest.TestCase):
    """One `serve` per class with the TOML `CONFIG` (plus a listen line); `ENV` adds environment variables."""
    CONFIG = ""
    ENV = None

    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="bincimap-authlim-")
        port = free_port()
        conf = os.path.join(cls.dir, "bincimap.toml")
        with open(conf, "w") as f:
            f.write('[server]\nlisten = ["127.0.0.1:%d"]\n%s' % (port, cls.CONFIG))
        cls.srv = Serve(config=conf, data_dir=os.path.join(cls.dir, "data"), port=port, extra_env=cls.ENV)
        try:
            cls.srv.wait_password()
            cls.srv.wait_listening()
        except BaseException:
            cls.srv.stop()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()
        subprocess.run(["rm", "-rf", cls.dir])

    def raw(self, greet=True):
        r = self.srv.raw()
        self.addCleanup(r.close)
        if greet:
            g = r.greeting()
            self.assertTrue(g.startswith(b"* OK"), g)
        return r

    def logged_in(self):
        r = self.raw()
        u, t = r.cmd("LOGIN demo " + _quote(self.srv.password))
        self.assertEqual(status(t), "OK", t)
        return r

    def assert_nothing_pending(self, r):
        """Nothing has arrived on `r` yet (checked without waiting)."""
        ready, _, _ = select.select([r.rfd], [], [], 0)
        self.assertFalse(r.buf or ready, "unexpected data: %r" % r.buf)


# ---------------------------------------------------------------------------------------------------------------

@unittest.skipIf(IS_DOVECOT, "bincimap serve only")
class TestMechanisms(_Daemon):
    CONFIG = "[auth]\npenalty_seconds = 0\nthrottle_failures = 0\n"

    def test_capabilities(self):
        r = self.raw()
        u, t = r.cmd("CAPABILITY")
        words = u[0].split()
        for cap in (b"AUTH=PLAIN", b"AUTH=LOGIN", b"SASL-IR"):
            self.assertIn(cap, words)
        self.assertNotIn(b"LOGINDISABLED", words)
        r.cmd("LOGIN demo " + _quote(self.srv.password))
        u, t = r.cmd("CAPABILITY")
        self.assertNotIn(b"AUTH=LOGIN", u[0].split(), "no AUTH= after login")

    def test_authenticate_login(self):
        r = self.raw()
        r.send(b"a1 AUTHENTICATE LOGIN\r\n")
        self.assertEqual(r.read_response(), b"+ VXNlcm5hbWU6")
        r.send(b64("demo").encode() + b"\r\n")
        self.assertEqual(r.read_response(), b"+ UGFzc3dvcmQ6")
        r.send(b64(self.srv.password).encode() + b"\r\n")
        u, t = r.read_until_tagged(b"a1")
        self.assertEqual(status(t), "OK", t)
        self.assertEqual(status(r.cmd("SELECT INBOX")[1]), "OK")

    def test_authenticate_login_sasl_ir(self):
        r = self.raw()
        r.send(("a1 AUTHENTICATE LOGIN %s\r\n" % b64("demo")).encode())
        self.assertEqual(r.read_response(), b"+ UGFzc3dvcmQ6", "initial response is the user name")
        r.send(b64(self.srv.password).encode() + b"\r\n")
        u, t = r.read_until_tagged(b"a1")
        self.assertEqual(status(t), "OK", t)

    def test_authenticate_plain_sasl_ir(self):
        r = self.raw()
        u, t = r.cmd("AUTHENTICATE PLAIN " + plain_b64("demo", self.srv.password))
        self.assertEqual(status(t), "OK", t)
        self.assertFalse([x for x in u if x.startswith(b"+")], "no continuation with SASL-IR: %r" % u)
        # the empty initial response "=" is an empty PLAIN message: malformed, not a crash
        r2 = self.raw()
        u, t = r2.cmd("AUTHENTICATE PLAIN =")
        self.assertEqual(status(t), "BAD", t)
        self.assertEqual(status(r2.cmd("NOOP")[1]), "OK")

    def test_authenticate_login_cancel_and_garbage(self):
        r = self.raw()
        r.send(b"a1 AUTHENTICATE LOGIN\r\n")
        self.assertTrue(r.read_response().startswith(b"+ "))
        r.send(b"*\r\n")
        u, t = r.read_until_tagged(b"a1")
        self.assertEqual(status(t), "BAD", t)
        r.send(b"a2 AUTHENTICATE LOGIN\r\n")
        self.assertTrue(r.read_response().startswith(b"+ "))
        r.send(b64("demo").encode() + b"\r\n")
        self.assertTrue(r.read_response().startswith(b"+ "))
        r.send(b"!!not base64!!\r\n")
        u, t = r.read_until_tagged(b"a2")
        self.assertEqual(status(t), "BAD", t)
        self.assertEqual(status(r.cmd("NOOP")[1]), "OK", "the session goes on")
        self.assertEqual(status(r.cmd("LOGIN demo " + _quote(self.srv.password))[1]), "OK")

    def test_unknown_user_and_wrong_password_look_the_same(self):
        r = self.raw()
        answers = []
        for cmd in ("LOGIN demo wrong-password", "LOGIN nosuchuser wrong-password",
                    "AUTHENTICATE PLAIN " + plain_b64("demo", "wrong"),
                    "AUTHENTICATE PLAIN " + plain_b64("nosuchuser", "wrong")):
            u, t = r.cmd(cmd, tag="x")
            answers.append(t)
        self.assertEqual(len(set(answers)), 1, answers)
        self.assertEqual(resp_code(answers[0]), "AUTHENTICATIONFAILED", answers[0])
        r.send(b"x AUTHENTICATE LOGIN\r\n")
        r.read_response()
        r.send(b64("nosuchuser").encode() + b"\r\n")
        r.read_response()
        r.send(b64("wrong").encode() + b"\r\n")
        self.assertEqual(r.read_until_tagged(b"x")[1], answers[0])

    def test_log_lines_carry_user_and_ip(self):
        r = self.logged_in()
        r.cmd("LOGOUT")
        r.closed()
        self.assertIn("demo@127.0.0.1: logged in", self.srv.output())


@unittest.skipIf(IS_DOVECOT, "bincimap serve only")
class TestPenalty(_Daemon):
    """A failed login waits `penalty_seconds`; meanwhile other sessions are answered."""
    CONFIG = "[auth]\npenalty_seconds = 5\nthrottle_failures = 0\n"

    def test_penalty_does_not_block_other_sessions(self):
        a = self.raw()
        b = self.logged_in()
        c = self.raw()
        a.send(b"a1 LOGIN demo wrong-password\r\n")
        # b (authenticated) and c (not) are served while a waits out its penalty
        for _ in range(3):
            self.assertEqual(status(b.cmd("NOOP")[1]), "OK")
            self.assertEqual(status(c.cmd("CAPABILITY")[1]), "OK")
        self.assert_nothing_pending(a)
        u, t = a.read_until_tagged(b"a1")
        self.assertEqual(status(t), "NO", t)
        self.assertEqual(resp_code(t), "AUTHENTICATIONFAILED", t)
        # and a correct login on the same connection still works
        self.assertEqual(status(a.cmd("LOGIN demo " + _quote(self.srv.password))[1]), "OK")

    def test_penalty_applies_to_authenticate(self):
        a = self.raw()
        b = self.raw()
        a.send(("a1 AUTHENTICATE PLAIN %s\r\n" % plain_b64("nosuchuser", "x")).encode())
        self.assertEqual(status(b.cmd("NOOP")[1]), "OK")
        self.assert_nothing_pending(a)
        self.assertEqual(status(a.read_until_tagged(b"a1")[1]), "NO")


@unittest.skipIf(IS_DOVECOT, "bincimap serve only")
class TestThrottle(_Daemon):
    CONFIG = "[auth]\npenalty_seconds = 0\nthrottle_failures = 3\nthrottle_window = 3600\n"

    def test_throttle_after_failures_then_unavailable(self):
        r = self.raw()
        for i in range(3):
            u, t = r.cmd("LOGIN demo wrong%d" % i)
            self.assertEqual(resp_code(t), "AUTHENTICATIONFAILED", t)
        # over the limit: refused even with the right password, on this and on new connections
        u, t = r.cmd("LOGIN demo " + _quote(self.srv.password))
        self.assertEqual(status(t), "NO", t)
        self.assertEqual(resp_code(t), "UNAVAILABLE", t)
        r2 = self.raw()
        u, t = r2.cmd("AUTHENTICATE PLAIN " + plain_b64("demo", self.srv.password))
        self.assertEqual(resp_code(t), "UNAVAILABLE", t)
        self.assertEqual(status(r2.cmd("NOOP")[1]), "OK", "the connection stays usable")
        self.assertIn("too many failed attempts", self.srv.output())


@unittest.skipIf(IS_DOVECOT, "bincimap serve only")
class TestTimeouts(_Daemon):
    """Timeouts set low through the test-only escape hatch BINCIMAP_TEST_TIMEOUTS=1."""
    CONFIG = "[auth]\npenalty_seconds = 0\nthrottle_failures = 0\n[session]\nauth_timeout = 2\nidle_timeout = 3\n"
    ENV = {"BINCIMAP_TEST_TIMEOUTS": "1"}

    def test_auth_timeout(self):
        r = self.raw()
        line = r.read_response()
        self.assertTrue(line.startswith(b"* BYE Autologout"), line)
        self.assertTrue(r.closed())

    def test_auth_timeout_inside_authenticate(self):
        r = self.raw()
        r.send(b"a1 AUTHENTICATE PLAIN\r\n")
        self.assertTrue(r.read_response().startswith(b"+"))
        line = r.read_response()
        self.assertTrue(line.startswith(b"* BYE Autologout"), line)
        self.assertTrue(r.closed())

    def test_idle_timeout_and_others_continue(self):
        idle = self.logged_in()
        self.assertEqual(status(idle.cmd("SELECT INBOX")[1]), "OK")
        line = idle.read_response()
        self.assertTrue(line.startswith(b"* BYE Autologout"), line)
        self.assertTrue(idle.closed())
        # the server still serves new sessions
        fresh = self.logged_in()
        self.assertEqual(status(fresh.cmd("NOOP")[1]), "OK")

    def test_short_timeouts_need_the_escape_hatch(self):
        conf = os.path.join(self.dir, "short.toml")
        with open(conf, "w") as f:
            f.write("[session]\nidle_timeout = 2\n")
        env = dict(os.environ)
        env.pop("BINCIMAP_TEST_TIMEOUTS", None)
        p = subprocess.run([bincimap_bin(), "check-config", "--config", conf], capture_output=True, env=env,
                           timeout=TIMEOUT)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn(b"session.idle_timeout", p.stderr)
        self.assertIn(b"1800", p.stderr)


@unittest.skipIf(IS_DOVECOT, "bincimap serve only")
class TestSizeLimits(_Daemon):
    CONFIG = ("[auth]\npenalty_seconds = 0\nthrottle_failures = 0\n"
              "[limits]\nmax_line_length = 1000\nmax_literal_size = 2000\nmax_nesting = 4\n")

    def setUp(self):
        # another session that must keep working whatever happens to the one under test
        self.other = self.logged_in()
        self.assertEqual(status(self.other.cmd("SELECT INBOX")[1]), "OK")

    def tearDown(self):
        self.assertEqual(status(self.other.cmd("NOOP")[1]), "OK", "other sessions keep running")

    def test_line_too_long(self):
        r = self.logged_in()
        u, t = r.cmd("NOOP " + "x" * 5000, tag="long")
        self.assertEqual(t, b"long BAD Command line too long")
        self.assertEqual(status(r.cmd("NOOP")[1]), "OK")
        # just under the limit is fine (parsed, and refused as a bad mailbox name only)
        u, t = r.cmd("STATUS " + "a" * 900 + " (MESSAGES)")
        self.assertNotIn(b"too long", t)

    def test_literal_too_large(self):
        r = self.logged_in()
        u, t = r.cmd("APPEND INBOX {LIT}", [b"x" * 5000], tag="big")
        self.assertEqual(status(t), "NO", t)
        self.assertEqual(resp_code(t), "TOOBIG", t)
        self.assertEqual(status(r.cmd("NOOP")[1]), "OK")
        u, t = r.cmd("APPEND INBOX {LIT}", [b"Subject: small\r\n\r\nok\r\n"])
        self.assertEqual(status(t), "OK", t)

    def test_nonsync_literal_too_large_ends_only_this_session(self):
        r = self.logged_in()
        r.send(b"big APPEND INBOX {5000+}\r\n" + b"x" * 5000 + b"\r\n")
        line = r.read_response()
        self.assertTrue(line.startswith(b"* BYE [TOOBIG]"), line)
        self.assertTrue(r.closed())

    def test_nesting_too_deep(self):
        r = self.logged_in()
        self.assertEqual(status(r.cmd("SELECT INBOX")[1]), "OK")
        u, t = r.cmd("SEARCH ((((((((ALL))))))))", tag="deep")
        self.assertEqual(status(t), "BAD", t)
        u, t = r.cmd("SEARCH ((ALL))")
        self.assertEqual(status(t), "OK", t)


@unittest.skipIf(IS_DOVECOT, "bincimap serve only")
class TestSyslogTarget(_Daemon):
    """With `[log] target = "syslog"` session lines leave stderr (they go to syslog(3), which may have no reader
    here: that must not matter)."""
    CONFIG = "[auth]\npenalty_seconds = 0\nthrottle_failures = 0\n[log]\ntarget = \"syslog\"\nfacility = \"local5\"\n"

    def test_lines_not_on_stderr(self):
        r = self.logged_in()
        self.assertEqual(status(r.cmd("LOGOUT")[1]), "OK")
        self.assertTrue(r.closed())
        self.assertNotIn("logged in", self.srv.output())


class SrcRaw(Raw):
    """A TCP Raw connection from a chosen loopback source address (127.0.0.2 etc.)."""

    def __init__(self, src, port, timeout=TIMEOUT):
        self.timeout = timeout
        self.buf = b""
        self.proc = None
        self.tagn = 0
        self.eof = False
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout, source_address=(src, 0))
        self.rfd = self.sock.fileno()


def _loopback_aliases_work():
    try:
        s = socket.socket()
        s.bind(("127.0.0.2", 0))
        s.close()
        return True
    except OSError:
        return False


@unittest.skipIf(IS_DOVECOT, "bincimap serve only")
class TestConnectionLimits(_Daemon):
    CONFIG = "[auth]\npenalty_seconds = 0\nthrottle_failures = 0\n[limits]\nmax_connections = 3\n" \
             "max_connections_per_ip = 2\n"

    def conn(self, src="127.0.0.1"):
        r = SrcRaw(src, self.srv.port)
        self.addCleanup(r.close)
        return r

    def wait_admitted(self, src="127.0.0.1"):
        """A new connection from `src` once a slot is free again (slots are released asynchronously when the
        server sees the old connection end)."""
        deadline = time.time() + TIMEOUT
        while True:
            r = self.conn(src)
            g = r.greeting()
            if g.startswith(b"* OK"):
                return r
            self.assertTrue(time.time() < deadline, "slot never released: %r" % g)
            time.sleep(0.05)

    @unittest.skipUnless(_loopback_aliases_work(), "needs 127.0.0.2 as a source address")
    def test_per_ip_and_total(self):
        a = self.wait_admitted()
        u, t = a.cmd("LOGIN demo " + _quote(self.srv.password))
        self.assertEqual(status(t), "OK")
        b = self.wait_admitted()
        over = self.conn()
        self.assertEqual(over.greeting(), b"* BYE Too many connections")
        self.assertTrue(over.closed())
        # another address still gets in, up to the total
        c = self.wait_admitted("127.0.0.2")
        self.assertEqual(status(c.cmd("NOOP")[1]), "OK")
        full = self.conn("127.0.0.3")
        self.assertEqual(full.greeting(), b"* BYE Too many connections")
        self.assertTrue(full.closed())
        # admitted sessions are unaffected
        self.assertEqual(status(a.cmd("SELECT INBOX")[1]), "OK")
        self.assertEqual(status(b.cmd("NOOP")[1]), "OK")
        # a session that ends frees its slot
        b.cmd("LOGOUT")
        self.assertTrue(b.closed())
        d = self.wait_admitted()
        self.assertEqual(status(d.cmd("NOOP")[1]), "OK")
        self.assertIn("connection refused: too many connections", self.srv.output())


if __name__ == "__main__":
    unittest.main()
