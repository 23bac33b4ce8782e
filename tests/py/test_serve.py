"""`bincimap serve` on its embedded default (temp BINCIMAP_DATA, free loopback port): the printed demo password,
the welcome message, LOGIN and AUTHENTICATE PLAIN over TCP with imaplib and raw, bad credentials, restarts, and
`bincimap passwd` with a config file. bincimap only."""
import imaplib
import os
import re
import subprocess
import tempfile
import unittest

from support import (IS_DOVECOT, Serve, bincimap_bin, free_port, plain_b64, status, untagged_value)


@unittest.skipIf(IS_DOVECOT, "bincimap serve only")
class TestServeDefault(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = Serve()
        try:
            cls.srv.wait_password()
            cls.srv.wait_listening()
        except BaseException:
            cls.srv.stop()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()

    def raw(self):
        r = self.srv.raw()
        self.addCleanup(r.close)
        g = r.greeting()
        self.assertTrue(g.startswith(b"* OK"), g)
        return r

    def imap(self):
        m = imaplib.IMAP4("127.0.0.1", self.srv.port, timeout=30)
        self.addCleanup(_close, m)
        return m

    def test_password_line_and_file(self):
        out = self.srv.output()
        m = re.search(r'created demo user "demo" with password "([^"]+)" in (\S+)', out)
        self.assertTrue(m, out)
        path = m.group(2)
        self.assertTrue(os.path.isfile(path), path)
        with open(path) as f:
            text = f.read()
        self.assertRegex(text, r"(?m)^demo:\$argon2id\$")
        self.assertNotIn(self.srv.password, text, "the password file holds a hash, not the password")
        self.assertTrue(os.path.realpath(path).startswith(os.path.realpath(self.srv.data_dir)), path)

    def test_capability_before_login(self):
        r = self.raw()
        u, t = r.cmd("CAPABILITY")
        self.assertEqual(status(t), "OK")
        words = u[0].upper().split()
        self.assertIn(b"IMAP4REV1", words)
        self.assertIn(b"AUTH=PLAIN", words)
        self.assertIn(b"STARTTLS", words)  # the embedded default has a (self-signed) certificate
        self.assertNotIn(b"LOGINDISABLED", words)

    def test_not_authenticated_state(self):
        r = self.raw()
        for cmd in ("SELECT INBOX", "LIST \"\" *", "STATUS INBOX (MESSAGES)", "CREATE foo", "FETCH 1 FLAGS"):
            u, t = r.cmd(cmd)
            self.assertIn(status(t), ("BAD", "NO"), (cmd, t))
        self.assertEqual(status(r.cmd("NOOP")[1]), "OK")
        u, t = r.cmd("LOGOUT")
        self.assertEqual(status(t), "OK")
        self.assertTrue(r.closed())

    def test_login_with_imaplib_and_welcome_message(self):
        m = self.imap()
        typ, _ = m.login("demo", self.srv.password)
        self.assertEqual(typ, "OK")
        typ, data = m.select("INBOX", readonly=True)
        self.assertEqual(typ, "OK")
        self.assertGreaterEqual(int(data[0]), 1, "welcome message delivered")
        typ, data = m.fetch("1", "(BODY.PEEK[HEADER.FIELDS (SUBJECT FROM)] RFC822.SIZE)")
        self.assertEqual(typ, "OK")
        self.assertIn(b"Subject:", data[0][1])
        typ, data = m.list()
        self.assertEqual(typ, "OK")
        self.assertTrue(any(b"INBOX" in d for d in data), data)
        typ, data = m.create("INBOX/fromtcp")
        self.assertEqual(typ, "OK")
        typ, data = m.append("INBOX/fromtcp", None, None, b"Subject: tcp\r\n\r\nhello\r\n")
        self.assertEqual(typ, "OK")
        self.assertEqual(m.logout()[0], "BYE")

    def test_authenticate_plain(self):
        m = self.imap()
        typ, _ = m.authenticate("PLAIN", lambda _: ("\0demo\0%s" % self.srv.password).encode())
        self.assertEqual(typ, "OK")
        self.assertEqual(m.select("INBOX")[0], "OK")

    def test_authenticate_plain_raw(self):
        r = self.raw()
        r.send(b"a1 AUTHENTICATE PLAIN\r\n")
        cont = r.read_response()
        self.assertTrue(cont.startswith(b"+"), cont)
        r.send(plain_b64("demo", self.srv.password).encode() + b"\r\n")
        u, t = r.read_until_tagged(b"a1")
        self.assertEqual(status(t), "OK", t)
        u = r.cmd("SELECT INBOX")[0]
        self.assertGreaterEqual(untagged_value(u, "EXISTS"), 1)

    def test_authenticate_plain_with_authzid_and_cancel(self):
        r = self.raw()
        r.send(b"a1 AUTHENTICATE PLAIN\r\n")
        self.assertTrue(r.read_response().startswith(b"+"))
        r.send(b"*\r\n")
        u, t = r.read_until_tagged(b"a1")
        self.assertEqual(status(t), "BAD", t)
        r.send(b"a2 AUTHENTICATE PLAIN\r\n")
        self.assertTrue(r.read_response().startswith(b"+"))
        r.send(plain_b64("demo", self.srv.password, authzid="demo").encode() + b"\r\n")
        u, t = r.read_until_tagged(b"a2")
        self.assertEqual(status(t), "OK", t)

    def test_authenticate_garbage(self):
        r = self.raw()
        r.send(b"a1 AUTHENTICATE PLAIN\r\n")
        self.assertTrue(r.read_response().startswith(b"+"))
        r.send(b"!!!notbase64!!!\r\n")
        u, t = r.read_until_tagged(b"a1")
        self.assertIn(status(t), ("BAD", "NO"), t)
        u, t = r.cmd("AUTHENTICATE X-UNKNOWN-MECH")
        self.assertIn(status(t), ("BAD", "NO"), t)
        u, t = r.cmd("LOGIN demo " + _quote(self.srv.password))
        self.assertEqual(status(t), "OK", t)

    def test_bad_credentials(self):
        r = self.raw()
        u, t = r.cmd('LOGIN demo "wrong password"')
        self.assertEqual(status(t), "NO", t)
        u, t = r.cmd("LOGIN nosuchuser " + _quote(self.srv.password))
        self.assertEqual(status(t), "NO", t)
        r.send(b"a9 AUTHENTICATE PLAIN\r\n")
        self.assertTrue(r.read_response().startswith(b"+"))
        r.send(plain_b64("demo", "nope").encode() + b"\r\n")
        u, t = r.read_until_tagged(b"a9")
        self.assertEqual(status(t), "NO", t)
        # still not authenticated, and a correct LOGIN still works
        self.assertIn(status(r.cmd("SELECT INBOX")[1]), ("BAD", "NO"))
        u, t = r.cmd("LOGIN demo " + _quote(self.srv.password))
        self.assertEqual(status(t), "OK", t)
        u, t = r.cmd("LOGIN demo " + _quote(self.srv.password))
        self.assertIn(status(t), ("BAD", "NO"), "LOGIN twice")

    def test_imaplib_bad_password(self):
        m = self.imap()
        with self.assertRaises(imaplib.IMAP4.error):
            m.login("demo", "definitely-not-it")

    def test_login_with_literal_password(self):
        r = self.raw()
        u, t = r.cmd("LOGIN {LIT} {LIT}", [b"demo", self.srv.password.encode()])
        self.assertEqual(status(t), "OK", t)

    def test_two_clients_see_each_other(self):
        a, b = self.raw(), self.raw()
        for r in (a, b):
            self.assertEqual(status(r.cmd("LOGIN demo " + _quote(self.srv.password))[1]), "OK")
        u = a.cmd("SELECT INBOX")[0]
        n = untagged_value(u, "EXISTS")
        self.assertEqual(status(b.cmd("APPEND INBOX {LIT}", [b"Subject: x\r\n\r\ny\r\n"])[1]), "OK")
        u, t = a.cmd("NOOP")
        self.assertEqual(untagged_value(u, "EXISTS"), n + 1)
        self.assertEqual(status(a.cmd("STORE %d +FLAGS.SILENT (\\Deleted)" % (n + 1))[1]), "OK")
        self.assertEqual(status(a.cmd("EXPUNGE")[1]), "OK")


@unittest.skipIf(IS_DOVECOT, "bincimap serve only")
class TestServeLifecycle(unittest.TestCase):
    def test_restart_keeps_user_and_mail(self):
        data = tempfile.mkdtemp(prefix="bincimap-serve-")
        self.addCleanup(subprocess.run, ["rm", "-rf", data])
        s1 = Serve(data_dir=data)
        try:
            pw = s1.wait_password()
            s1.wait_listening()
            m = imaplib.IMAP4("127.0.0.1", s1.port, timeout=30)
            m.login("demo", pw)
            m.append("INBOX", None, None, b"Subject: keep me\r\n\r\nbody\r\n")
            n = int(m.select("INBOX")[1][0])
            m.logout()
        finally:
            s1.stop()
        s2 = Serve(data_dir=data)
        try:
            s2.wait_listening()
            self.assertNotIn('password "', s2.output(), "second start must not create the user again")
            m = imaplib.IMAP4("127.0.0.1", s2.port, timeout=30)
            self.assertEqual(m.login("demo", pw)[0], "OK")
            self.assertEqual(int(m.select("INBOX")[1][0]), n, "no second welcome message")
            m.logout()
        finally:
            s2.stop()

    def test_sigterm_stops_the_daemon(self):
        s = Serve()
        try:
            s.wait_password()
            s.wait_listening()
            s.proc.terminate()
            self.assertIsNotNone(s.proc.wait(15))
        finally:
            s.stop()

    def test_passwd_and_config_file(self):
        binary = bincimap_bin()
        p = subprocess.run([binary, "passwd"], input=b"s3cret-pass\n", capture_output=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        h = p.stdout.decode().strip().splitlines()[-1].strip()
        self.assertTrue(h.startswith("$argon2id$"), h)
        p2 = subprocess.run([binary, "passwd"], input=b"s3cret-pass\n", capture_output=True, timeout=60)
        self.assertNotEqual(p2.stdout.decode().strip(), h, "salted: two hashes of one password differ")
        d = tempfile.mkdtemp(prefix="bincimap-conf-")
        self.addCleanup(subprocess.run, ["rm", "-rf", d])
        home = os.path.join(d, "bobhome")
        uid, gid = os.getuid(), os.getgid()
        if uid == 0:
            # As root, serve never reads mail as root (a uid 0 entry is refused): bob is the mail user (`nobody`,
            # see support.Serve), with a home of his own.
            import pwd
            nobody = pwd.getpwnam("nobody")
            uid, gid = nobody.pw_uid, nobody.pw_gid
            os.makedirs(home)
            os.chown(home, uid, gid)
        with open(os.path.join(d, "passwd"), "w") as f:
            # alice: a virtual user, mail under the data dir; bob: uid, gid and home given
            f.write("alice:%s\n" % h)
            f.write("bob:%s:%d:%d:%s\n" % (h, uid, gid, home))
        port = free_port()
        conf = os.path.join(d, "bincimap.toml")
        with open(conf, "w") as f:
            f.write('[server]\nlisten = ["127.0.0.1:%d"]\ndata_dir = "%s"\n\n[auth]\npasswd_file = "%s"\n'
                    % (port, os.path.join(d, "data"), os.path.join(d, "passwd")))
        s = Serve(config=conf, data_dir=os.path.join(d, "data"), port=port)
        self.addCleanup(s.stop)
        s.wait_listening()
        m = imaplib.IMAP4("127.0.0.1", s.port, timeout=30)
        with self.assertRaises(imaplib.IMAP4.error):
            m.login("alice", "wrong")
        m.shutdown()
        for user in ("alice", "bob"):
            m = imaplib.IMAP4("127.0.0.1", s.port, timeout=30)
            self.assertEqual(m.login(user, "s3cret-pass")[0], "OK", user)
            self.assertEqual(m.append("INBOX", None, None, b"Subject: for " + user.encode() + b"\r\n\r\nb\r\n")[0],
                             "OK")
            self.assertEqual(m.select("INBOX")[1], [b"1"], "%s has a mailbox of their own" % user)
            m.logout()
        found = [os.path.join(r, f) for r, _, fs in os.walk(home) for f in fs
                 if os.path.basename(r) in ("new", "cur")]
        self.assertEqual(len(found), 1, "bob's mail is in the home from the password file: %r" % found)
        with open(found[0], "rb") as fh:
            self.assertIn(b"for bob", fh.read())

    def test_imapd_with_config(self):
        d = tempfile.mkdtemp(prefix="bincimap-conf-")
        self.addCleanup(subprocess.run, ["rm", "-rf", d])
        conf = os.path.join(d, "c.toml")
        with open(conf, "w") as f:
            f.write('[mailbox]\npath = "Mail"\n')
        env = {"HOME": d, "USER": "x", "PATH": os.environ.get("PATH", "/usr/bin:/bin")}
        p = subprocess.run([bincimap_bin(), "imapd", "--config", conf], input=b"a CREATE INBOX/x\r\nb LOGOUT\r\n",
                           capture_output=True, env=env, timeout=30)
        self.assertIn(b"a OK", p.stdout)
        self.assertTrue(os.path.isdir(os.path.join(d, "Mail", ".x")), os.listdir(d))


def _quote(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _close(m):
    try:
        m.logout()
    except Exception:
        try:
            m.shutdown()
        except Exception:
            pass


if __name__ == "__main__":
    unittest.main()
