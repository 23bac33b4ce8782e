"""Privilege separation in `bincimap serve` (run as root): a password-file user with a uid gets a child
`bincimap imapd` with that uid (the appended file is the user's, B's mail stays unreadable to A), a virtual user
without a uid gets a child with the mail user's uid (server.user), and `chain.checkpassword` makes serve log in through a checkpassword program.
Needs root and useradd; skipped otherwise. bincimap only."""
import imaplib
import os
import subprocess
import unittest

from chain_support import (HAVE_USERADD, IS_ROOT, Users, can_read_as, cmdline, descendants, file_owners, proc_uid,
                           wait_port)
from support import IS_DOVECOT, TIMEOUT, free_port, make_msg


def _close(m):
    try:
        m.logout()
    except Exception:
        pass


def hash_password(binary, password):
    out = subprocess.run([binary, "passwd"], input=password.encode() + b"\n", stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, check=True, timeout=TIMEOUT)
    return out.stdout.decode().strip()


class ServeAsRoot:
    def __init__(self, users, config_extra):
        self.users = users
        self.port = free_port()
        self.data = os.path.join(users.root, "data-%d" % self.port)
        os.makedirs(self.data)
        self.config = os.path.join(users.root, "serve-%d.toml" % self.port)
        with open(self.config, "w") as f:
            f.write(config_extra)
        os.chmod(self.config, 0o644)
        self.err = open(os.path.join(users.root, "serve-%d.log" % self.port), "wb+")
        env = dict(os.environ)
        env["BINCIMAP_DATA"] = self.data
        self.proc = subprocess.Popen([users.bin, "serve", "--config", self.config, "--listen",
                                      "127.0.0.1:%d" % self.port], stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=self.err, env=env, cwd=self.data)
        try:
            wait_port(self.port, self.proc)
        except BaseException:
            self.stop()
            raise

    def log(self):
        self.err.flush()
        with open(self.err.name, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self.err.close()


@unittest.skipIf(IS_DOVECOT, "bincimap only")
@unittest.skipUnless(IS_ROOT and HAVE_USERADD, "needs root and useradd (setuid to test users)")
class TestServePrivsep(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.users = u = Users()
        try:
            lines = []
            for k in ("a", "b"):
                pw = __import__("pwd").getpwnam(u.name(k))
                lines.append("%s:%s:%d:%d:%s" % (u.name(k), hash_password(u.bin, u.passwords[k]), pw.pw_uid,
                                                 pw.pw_gid, u.home(k)))
            lines.append("virt:%s" % hash_password(u.bin, "virt-pw"))
            cls.passwd = os.path.join(u.root, "passwd")
            with open(cls.passwd, "w") as f:
                f.write("\n".join(lines) + "\n")
            os.chmod(cls.passwd, 0o600)
            # Virtual users' sessions run as the mail user, never as root.
            cls.srv = ServeAsRoot(u, '[server]\nuser = "nobody"\n[auth]\npasswd_file = "%s"\npenalty_seconds = 1\n'
                                     % cls.passwd)
        except BaseException:
            u.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()
        cls.users.cleanup()

    def imap(self):
        m = imaplib.IMAP4("127.0.0.1", self.srv.port, timeout=TIMEOUT)
        self.addCleanup(_close, m)
        return m

    def test_system_user_session_runs_with_its_uid(self):
        u = self.users
        m = self.imap()
        typ, data = m.login(u.name("a"), u.passwords["a"])
        self.assertEqual(typ, "OK", data)
        self.assertEqual(m.select("INBOX")[0], "OK")
        self.assertEqual(m.append("INBOX", None, None, make_msg(subject="privsep"))[0], "OK")
        m.noop()
        # The session's process is a child of the daemon with A's uid; the daemon itself only relays.
        kids = [d for d in descendants(self.srv.proc.pid) if b"imapd" in cmdline(d)]
        self.assertIn(u.uid("a"), [proc_uid(k) for k in kids])
        typ, data = m.search(None, "SUBJECT", "privsep")
        self.assertTrue(data[0].split())
        m.logout()
        self.assertEqual(set(file_owners(u.maildir("a"))), {u.uid("a")})
        a = u.uid("a")
        self.assertFalse(can_read_as(a, a, u.maildir("b")))

    def test_bad_password_then_good(self):
        u = self.users
        m = self.imap()
        with self.assertRaises(imaplib.IMAP4.error) as cm:
            m.login(u.name("b"), "nope")
        self.assertIn("AUTHENTICATIONFAILED", str(cm.exception))
        self.assertEqual(m.login(u.name("b"), u.passwords["b"])[0], "OK")
        self.assertEqual(m.select("INBOX")[0], "OK")

    def test_virtual_user_as_mail_user(self):
        m = self.imap()
        typ, data = m.login("virt", "virt-pw")
        self.assertEqual(typ, "OK", data)
        self.assertEqual(m.select("INBOX")[0], "OK")
        self.assertEqual(m.append("INBOX", None, None, make_msg(subject="virtual"))[0], "OK")
        m.logout()
        nobody = __import__("pwd").getpwnam("nobody").pw_uid
        self.assertEqual(set(file_owners(os.path.join(self.srv.data, "mail", "virt", "Maildir"))), {nobody})


@unittest.skipIf(IS_DOVECOT, "bincimap only")
@unittest.skipUnless(IS_ROOT and HAVE_USERADD, "needs root and useradd (setuid to test users)")
class TestServeCheckpassword(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.users = u = Users()
        try:
            open(os.path.join(u.root, "none"), "w").close()
            cls.srv = ServeAsRoot(u, '[auth]\npasswd_file = "%s/none"\npenalty_seconds = 1\n'
                                     '[chain]\ncheckpassword = "%s"\n' % (u.root, u.checkpw))
        except BaseException:
            u.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()
        cls.users.cleanup()

    def test_login_through_checkpassword(self):
        u = self.users
        m = imaplib.IMAP4("127.0.0.1", self.srv.port, timeout=TIMEOUT)
        self.addCleanup(_close, m)
        with self.assertRaises(imaplib.IMAP4.error):
            m.login(u.name("a"), "wrong")
        self.assertEqual(m.login(u.name("a"), u.passwords["a"])[0], "OK")
        self.assertEqual(m.select("INBOX")[0], "OK")
        self.assertEqual(m.append("INBOX", None, None, make_msg(subject="cp serve"))[0], "OK")
        m.logout()
        self.assertEqual(set(file_owners(u.maildir("a"))), {u.uid("a")})
        self.assertIn("%s@127.0.0.1: logged in" % u.name("a"), self.srv.log())


if __name__ == "__main__":
    unittest.main()
