"""The Binc-compatible inetd chain, `bincimap up -- CHECKPASSWORD bincimap imapd`, under a tcpserver-like accept
loop, under ucspi-tcp's tcpserver and under systemd-socket-activate: a full session with imaplib, AUTHENTICATE PLAIN,
a bad password (NO, the session goes on), checkpassword exiting 111 and missing, the uid of each process (imapd as
the user, the relay as nobody), user@ip log lines, and that user A cannot read B's Maildir. Needs root (useradd,
setuid); skipped otherwise. bincimap only."""
import imaplib
import os
import shutil
import subprocess
import tempfile
import unittest

from chain_support import (HAVE_USERADD, IS_ROOT, AcceptLoop, Users, can_read_as, cmdline, descendants,
                           file_owners, proc_uid, wait_port)
from support import IS_DOVECOT, TIMEOUT, free_port, make_msg
from test_tls import OPENSSL, make_cert, unverified

NOBODY_UID = 65534


def _close(m):
    try:
        m.logout()
    except Exception:
        pass


@unittest.skipIf(IS_DOVECOT, "bincimap only")
@unittest.skipUnless(IS_ROOT and HAVE_USERADD, "needs root and useradd (setuid to test users)")
class TestUpChain(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.users = Users()
        try:
            cls.loop = AcceptLoop(cls.users.up_argv())
        except BaseException:
            cls.users.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.loop.stop()
        cls.users.cleanup()

    def imap(self, port=None):
        m = imaplib.IMAP4("127.0.0.1", port or self.loop.port, timeout=TIMEOUT)
        self.addCleanup(_close, m)
        return m

    def full_session(self, m, k):
        u = self.users
        typ, data = m.login(u.name(k), u.passwords[k])
        self.assertEqual(typ, "OK", data)
        self.assertIn(b"LOGIN completed", data[0])
        typ, data = m.select("INBOX")
        self.assertEqual(typ, "OK", data)
        before = int(data[0])
        msg = make_msg(subject="chain test %s" % k)
        typ, data = m.append("INBOX", None, None, msg)
        self.assertEqual(typ, "OK", data)
        m.noop()
        typ, data = m.fetch(str(before + 1), "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
        self.assertEqual(typ, "OK", data)
        self.assertIn(("chain test %s" % k).encode(), data[0][1])
        return msg

    def test_full_session_runs_as_the_user(self):
        m = self.imap()
        typ, caps = m.capability()
        self.assertIn(b"AUTH=PLAIN", caps[0])
        self.full_session(m, "a")
        # The imapd that serves the session runs as A; the relay in front of it has dropped root.
        relays = [p for p in self.loop.procs if p.poll() is None]
        uids = {}
        for r in relays:
            for d in descendants(r.pid):
                if b"imapd" in cmdline(d):
                    uids[d] = (proc_uid(r.pid), proc_uid(d))
        self.assertTrue(uids, "no imapd child found under the relay")
        self.assertIn((NOBODY_UID, self.users.uid("a")), uids.values())
        m.logout()
        owners = file_owners(self.users.maildir("a"))
        self.assertTrue(owners)
        self.assertEqual(set(owners), {self.users.uid("a")})
        # B's mail is B's alone: mode 0700 and not listable with A's uid.
        b_dir = self.users.maildir("b")
        self.assertEqual(os.stat(b_dir).st_uid, self.users.uid("b"))
        a = self.users.uid("a")
        self.assertFalse(can_read_as(a, a, b_dir))
        self.assertTrue(can_read_as(a, a, self.users.maildir("a")))
        self.assertIn("%s@127.0.0.1: logged in" % self.users.name("a"), self.loop.output())

    def test_bad_password_then_good(self):
        m = self.imap()
        with self.assertRaises(imaplib.IMAP4.error) as cm:
            m.login(self.users.name("b"), "wrong")
        self.assertIn("AUTHENTICATIONFAILED", str(cm.exception))
        with self.assertRaises(imaplib.IMAP4.error):
            m.login("nosuchuser", "x")
        typ, _ = m.noop()
        self.assertEqual(typ, "OK")
        typ, data = m.login(self.users.name("b"), self.users.passwords["b"])
        self.assertEqual(typ, "OK", data)
        self.assertEqual(m.select("INBOX")[0], "OK")

    def test_authenticate_plain(self):
        m = self.imap()
        u = self.users
        # imaplib base64-encodes what the callback returns.
        typ, data = m.authenticate("PLAIN", lambda _: ("\0%s\0%s" % (u.name("a"), u.passwords["a"])).encode())
        self.assertEqual(typ, "OK", data)
        self.assertEqual(m.select("INBOX")[0], "OK")

    def test_commands_before_login(self):
        m = self.imap()
        with self.assertRaises(imaplib.IMAP4.error):
            m.select("INBOX")
        self.assertEqual(m.noop()[0], "OK")


@unittest.skipIf(IS_DOVECOT, "bincimap only")
@unittest.skipUnless(IS_ROOT and HAVE_USERADD, "needs root and useradd (setuid to test users)")
class TestUpFailures(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.users = Users()

    @classmethod
    def tearDownClass(cls):
        cls.users.cleanup()

    def loop(self, checkpw):
        lp = AcceptLoop(self.users.up_argv(checkpw))
        self.addCleanup(lp.stop)
        return lp

    def test_checkpassword_exits_111(self):
        lp = self.loop(self.users.exit111)
        m = imaplib.IMAP4("127.0.0.1", lp.port, timeout=TIMEOUT)
        self.addCleanup(_close, m)
        with self.assertRaises(imaplib.IMAP4.error) as cm:
            m.login(self.users.name("a"), self.users.passwords["a"])
        self.assertIn("UNAVAILABLE", str(cm.exception))
        self.assertEqual(m.noop()[0], "OK")
        self.assertIn("status 111", lp.output())

    def test_checkpassword_missing(self):
        lp = self.loop(os.path.join(self.users.root, "no-such-checkpassword"))
        m = imaplib.IMAP4("127.0.0.1", lp.port, timeout=TIMEOUT)
        self.addCleanup(_close, m)
        with self.assertRaises(imaplib.IMAP4.error) as cm:
            m.login(self.users.name("a"), self.users.passwords["a"])
        self.assertIn("UNAVAILABLE", str(cm.exception))
        self.assertIn("no-such-checkpassword", lp.output())
        self.assertEqual(m.logout()[0], "BYE")


@unittest.skipIf(IS_DOVECOT, "bincimap only")
@unittest.skipUnless(IS_ROOT and HAVE_USERADD, "needs root and useradd (setuid to test users)")
class TestUpWrappers(unittest.TestCase):
    """The chain under the real wrappers: ucspi-tcp's tcpserver and systemd's socket activation (Accept=yes)."""

    @classmethod
    def setUpClass(cls):
        cls.users = Users()

    @classmethod
    def tearDownClass(cls):
        cls.users.cleanup()

    def run_wrapper(self, argv, port):
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

        def stop():
            p.terminate()
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(10)
        self.addCleanup(stop)
        wait_port(port, p)

    def session(self, port):
        m = imaplib.IMAP4("127.0.0.1", port, timeout=TIMEOUT)
        self.addCleanup(_close, m)
        u = self.users
        self.assertEqual(m.login(u.name("b"), u.passwords["b"])[0], "OK")
        self.assertEqual(m.select("INBOX")[0], "OK")
        self.assertEqual(m.append("INBOX", None, None, make_msg(subject="via wrapper"))[0], "OK")
        typ, data = m.search(None, "SUBJECT", '"via wrapper"')
        self.assertEqual(typ, "OK")
        self.assertTrue(data[0].split())
        self.assertEqual(m.logout()[0], "BYE")
        self.assertEqual(set(file_owners(u.maildir("b"))), {u.uid("b")})

    @unittest.skipUnless(shutil.which("tcpserver"), "tcpserver (Debian package ucspi-tcp) not installed")
    def test_under_tcpserver(self):
        port = free_port()
        self.run_wrapper(["tcpserver", "-q", "-R", "-H", "-l", "localhost", "127.0.0.1", str(port)]
                         + self.users.up_argv(), port)
        self.session(port)

    @unittest.skipUnless(shutil.which("systemd-socket-activate"), "systemd-socket-activate not installed")
    def test_under_systemd_socket_activation(self):
        port = free_port()
        self.run_wrapper(["systemd-socket-activate", "--accept", "--inetd", "-l", "127.0.0.1:%d" % port]
                         + self.users.up_argv(), port)
        self.session(port)


@unittest.skipIf(IS_DOVECOT, "bincimap only")
@unittest.skipUnless(IS_ROOT and HAVE_USERADD, "needs root and useradd (setuid to test users)")
@unittest.skipUnless(OPENSSL, "openssl command not installed (Debian package openssl)")
class TestUpTls(unittest.TestCase):
    """`up --ssl` (implicit TLS) and STARTTLS: `up` does TLS itself and stays in front as the TLS relay."""

    @classmethod
    def setUpClass(cls):
        cls.certdir = tempfile.mkdtemp(prefix="bincimap-up-tls-")
        cert, key = make_cert(cls.certdir, "up")
        cls.users = Users("[tls]\ncert_file = \"%s\"\nkey_file = \"%s\"\n" % (cert, key))

    @classmethod
    def tearDownClass(cls):
        cls.users.cleanup()
        shutil.rmtree(cls.certdir, ignore_errors=True)

    def loop(self, ssl):
        argv = self.users.up_argv()
        if ssl:
            argv.insert(2, "--ssl")
        lp = AcceptLoop(argv)
        self.addCleanup(lp.stop)
        return lp

    def use(self, m, k):
        u = self.users
        self.assertEqual(m.login(u.name(k), u.passwords[k])[0], "OK")
        self.assertEqual(m.select("INBOX")[0], "OK")
        self.assertEqual(m.append("INBOX", None, None, make_msg(subject="over tls"))[0], "OK")
        typ, data = m.search(None, "SUBJECT", '"over tls"')
        self.assertTrue(data[0].split())
        self.assertEqual(m.logout()[0], "BYE")

    def test_implicit_tls(self):
        lp = self.loop(ssl=True)
        m = imaplib.IMAP4_SSL("127.0.0.1", lp.port, ssl_context=unverified(), timeout=TIMEOUT)
        self.addCleanup(_close, m)
        self.use(m, "a")

    def test_starttls(self):
        lp = self.loop(ssl=False)
        m = imaplib.IMAP4("127.0.0.1", lp.port, timeout=TIMEOUT)
        self.addCleanup(_close, m)
        self.assertIn("STARTTLS", m.capabilities)
        self.assertEqual(m.starttls(ssl_context=unverified())[0], "OK")
        self.use(m, "b")

    def test_ssl_without_certificate_is_refused(self):
        cfg = os.path.join(self.users.root, "nocert.toml")
        with open(cfg, "w") as f:
            f.write("")
        p = subprocess.run([self.users.bin, "up", "--ssl", "--conf", cfg, "--", self.users.checkpw, "x"],
                           stdin=subprocess.DEVNULL, capture_output=True, timeout=TIMEOUT)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn(b"--ssl needs tls.cert_file and tls.key_file", p.stderr)


if __name__ == "__main__":
    unittest.main()
