"""`bincimap serve` started as root never reads mail as root (issue 3 §4): with only virtual users it becomes
`server.user` after binding (every uid and gid of the process, no supplementary groups), owns the data directory,
and still reloads its self-signed certificate on SIGHUP; when it must stay root for system users, virtual users'
sessions run in a child with the mail user's uid; with no mail user at all it refuses to start (or refuses virtual
logins). Needs root and useradd; skipped otherwise. bincimap only."""
import imaplib
import os
import pwd
import signal
import ssl
import subprocess
import time
import unittest

from chain_support import HAVE_USERADD, IS_ROOT, Users, cmdline, descendants, file_owners, proc_uid
from support import IS_DOVECOT, TIMEOUT, make_msg
from test_privsep import ServeAsRoot, hash_password


def _close(m):
    try:
        m.logout()
    except Exception:
        pass


def status_ids(pid):
    """The Uid, Gid and Groups lines of /proc/PID/status."""
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("Uid", "Gid", "Groups"):
                out[key] = [int(x) for x in value.split()]
    return out


def wait_for(pred, what, srv):
    deadline = time.time() + TIMEOUT
    while time.time() < deadline:
        if pred():
            return
        time.sleep(0.05)
    raise AssertionError("timed out waiting for %s; log: %s" % (what, srv.log()))


class RootServe(unittest.TestCase):
    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()
        cls.users.cleanup()

    def imap(self):
        m = imaplib.IMAP4("127.0.0.1", self.srv.port, timeout=TIMEOUT)
        self.addCleanup(_close, m)
        return m

    def append_as(self, user, password, subject):
        m = self.imap()
        typ, data = m.login(user, password)
        self.assertEqual(typ, "OK", data)
        self.assertEqual(m.append("INBOX", None, None, make_msg(subject=subject))[0], "OK")
        m.logout()


@unittest.skipIf(IS_DOVECOT, "bincimap only")
@unittest.skipUnless(IS_ROOT and HAVE_USERADD, "needs root and useradd")
class TestDropAtStart(RootServe):
    """Virtual users only: the daemon becomes server.user right after binding."""

    @classmethod
    def setUpClass(cls):
        cls.users = u = Users()
        try:
            cls.passwd = os.path.join(u.root, "passwd")
            with open(cls.passwd, "w") as f:
                f.write("virt:%s\n" % hash_password(u.bin, "virt-pw"))
            os.chmod(cls.passwd, 0o600)
            cls.mail_user = u.name("a")
            cls.srv = ServeAsRoot(u, '[server]\nuser = "%s"\n[auth]\npasswd_file = "%s"\npenalty_seconds = 0\n'
                                     'throttle_failures = 0\n' % (cls.mail_user, cls.passwd))
        except BaseException:
            u.cleanup()
            raise

    def test_process_ids_are_the_mail_user(self):
        pw = pwd.getpwnam(self.mail_user)
        ids = status_ids(self.srv.proc.pid)
        self.assertEqual(ids["Uid"], [pw.pw_uid] * 4, ids)
        self.assertEqual(ids["Gid"], [pw.pw_gid] * 4, ids)
        self.assertEqual(ids["Groups"], [pw.pw_gid], ids)
        self.assertIn("dropped root: running as %s" % self.mail_user, self.srv.log())

    def test_appended_mail_belongs_to_the_mail_user(self):
        self.append_as("virt", "virt-pw", "dropped")
        uid = pwd.getpwnam(self.mail_user).pw_uid
        self.assertEqual(set(file_owners(os.path.join(self.srv.data, "mail", "virt", "Maildir"))), {uid})
        # The data directory and what root made in it before the switch are the mail user's now.
        self.assertEqual(os.stat(self.srv.data).st_uid, uid)
        self.assertEqual(os.stat(os.path.join(self.srv.data, "tls-key.pem")).st_uid, uid)
        # No session child: the session ran inside the daemon.
        self.assertFalse([d for d in descendants(self.srv.proc.pid) if b"imapd" in cmdline(d)])

    def test_sighup_reload_after_the_drop(self):
        word = "SIGHUP: reloaded TLS certificate"
        before = self.srv.log().count(word)
        self.srv.proc.send_signal(signal.SIGHUP)
        wait_for(lambda: self.srv.log().count(word) > before, "the SIGHUP reload line", self.srv)
        self.assertNotIn("keeping the old TLS certificate", self.srv.log())
        # STARTTLS still works with the reloaded certificate.
        m = self.imap()
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        self.assertEqual(m.starttls(ssl_context=ctx)[0], "OK")
        self.assertEqual(m.login("virt", "virt-pw")[0], "OK")


@unittest.skipIf(IS_DOVECOT, "bincimap only")
@unittest.skipUnless(IS_ROOT and HAVE_USERADD, "needs root and useradd")
class TestStayRootVirtualAsMailUser(unittest.TestCase):
    """A system user needs privsep, so the daemon stays root; the virtual user's session runs as server.user."""

    @classmethod
    def setUpClass(cls):
        cls.users = u = Users()
        try:
            pw = pwd.getpwnam(u.name("b"))
            cls.passwd = os.path.join(u.root, "passwd")
            with open(cls.passwd, "w") as f:
                f.write("%s:%s:%d:%d:%s\n" % (u.name("b"), hash_password(u.bin, u.passwords["b"]), pw.pw_uid,
                                              pw.pw_gid, u.home("b")))
                f.write("virt:%s\n" % hash_password(u.bin, "virt-pw"))
            os.chmod(cls.passwd, 0o600)
            cls.srv = ServeAsRoot(u, '[server]\nuser = "%s"\n[auth]\npasswd_file = "%s"\npenalty_seconds = 0\n'
                                     'throttle_failures = 0\n' % (u.name("a"), cls.passwd))
        except BaseException:
            u.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()
        cls.users.cleanup()

    def test_virtual_user_runs_as_mail_user(self):
        u = self.users
        self.assertEqual(proc_uid(self.srv.proc.pid), 0, "stays root for the system user")
        m = imaplib.IMAP4("127.0.0.1", self.srv.port, timeout=TIMEOUT)
        self.addCleanup(_close, m)
        self.assertEqual(m.login("virt", "virt-pw")[0], "OK")
        self.assertEqual(m.append("INBOX", None, None, make_msg(subject="virt as a"))[0], "OK")
        kids = [d for d in descendants(self.srv.proc.pid) if b"imapd" in cmdline(d)]
        self.assertIn(u.uid("a"), [proc_uid(k) for k in kids])
        m.logout()
        owners = set(file_owners(os.path.join(self.srv.data, "mail", "virt", "Maildir")))
        self.assertEqual(owners, {u.uid("a")})
        # The system user still gets its own uid.
        m = imaplib.IMAP4("127.0.0.1", self.srv.port, timeout=TIMEOUT)
        self.addCleanup(_close, m)
        self.assertEqual(m.login(u.name("b"), u.passwords["b"])[0], "OK")
        self.assertEqual(m.append("INBOX", None, None, make_msg(subject="b"))[0], "OK")
        m.logout()
        self.assertEqual(set(file_owners(u.maildir("b"))), {u.uid("b")})


@unittest.skipIf(IS_DOVECOT, "bincimap only")
@unittest.skipUnless(IS_ROOT and HAVE_USERADD, "needs root and useradd")
class TestNoMailUser(unittest.TestCase):
    """A root-owned data directory and no server.user: no mail user can be determined."""

    def setUp(self):
        self.users = Users()
        self.addCleanup(self.users.cleanup)

    def passwd(self, lines):
        p = os.path.join(self.users.root, "passwd-nomail")
        with open(p, "w") as f:
            f.write("\n".join(lines) + "\n")
        return p

    def test_virtual_only_refuses_to_start(self):
        u = self.users
        p = self.passwd(["virt:%s" % hash_password(u.bin, "virt-pw")])
        conf = os.path.join(u.root, "nomail.toml")
        with open(conf, "w") as f:
            f.write('[auth]\npasswd_file = "%s"\n' % p)
        data = os.path.join(u.root, "data-nomail")
        os.makedirs(data)
        env = dict(os.environ, BINCIMAP_DATA=data)
        r = subprocess.run([u.bin, "serve", "--config", conf, "--listen", "127.0.0.1:0"], env=env,
                           stdin=subprocess.DEVNULL, capture_output=True, timeout=TIMEOUT)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn(b"server.user", r.stderr)

    def test_root_uid_as_server_user_is_refused(self):
        u = self.users
        p = self.passwd(["virt:%s" % hash_password(u.bin, "virt-pw")])
        conf = os.path.join(u.root, "rootuser.toml")
        with open(conf, "w") as f:
            f.write('[server]\nuser = "root"\n[auth]\npasswd_file = "%s"\n' % p)
        r = subprocess.run([u.bin, "serve", "--config", conf, "--listen", "127.0.0.1:0"],
                           env=dict(os.environ, BINCIMAP_DATA=os.path.join(u.root, "d2")),
                           stdin=subprocess.DEVNULL, capture_output=True, timeout=TIMEOUT)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn(b"must not be root", r.stderr)

    def test_unreachable_data_dir_is_refused_untouched(self):
        u = self.users
        p = self.passwd(["virt:%s" % hash_password(u.bin, "virt-pw")])
        locked = os.path.join(u.root, "locked")
        data = os.path.join(locked, "data")
        os.makedirs(data)
        os.chmod(locked, 0o700)
        conf = os.path.join(u.root, "locked.toml")
        with open(conf, "w") as f:
            f.write('[server]\nuser = "%s"\n[auth]\npasswd_file = "%s"\n' % (u.name("a"), p))
        r = subprocess.run([u.bin, "serve", "--config", conf, "--listen", "127.0.0.1:0"],
                           env=dict(os.environ, BINCIMAP_DATA=data), stdin=subprocess.DEVNULL,
                           capture_output=True, timeout=TIMEOUT)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn(b"not searchable", r.stderr)
        self.assertEqual(os.stat(data).st_uid, 0, "nothing handed over")

    def test_staying_root_refuses_virtual_logins(self):
        u = self.users
        pw = pwd.getpwnam(u.name("b"))
        p = self.passwd(["%s:%s:%d:%d:%s" % (u.name("b"), hash_password(u.bin, u.passwords["b"]), pw.pw_uid,
                                              pw.pw_gid, u.home("b")),
                         "virt:%s" % hash_password(u.bin, "virt-pw")])
        srv = ServeAsRoot(u, '[auth]\npasswd_file = "%s"\npenalty_seconds = 0\n' % p)
        self.addCleanup(srv.stop)
        m = imaplib.IMAP4("127.0.0.1", srv.port, timeout=TIMEOUT)
        self.addCleanup(_close, m)
        with self.assertRaises(imaplib.IMAP4.error) as cm:
            m.login("virt", "virt-pw")
        self.assertIn("UNAVAILABLE", str(cm.exception))
        self.assertIn("server.user", srv.log())
        self.assertEqual(m.login(u.name("b"), u.passwords["b"])[0], "OK")


if __name__ == "__main__":
    unittest.main()
