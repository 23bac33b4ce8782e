"""mbsync (isync) round trips: server to local and local to server, new mail, flags, folders and expunges.
bincimap is reached over TCP (`bincimap serve`, LOGIN as demo); Dovecot through mbsync's Tunnel on stdio."""
import os
import re
import shutil
import subprocess
import tempfile
import unittest

from support import IS_DOVECOT, Home, Raw, Serve, make_msg, mbx, q, status

MBSYNC = shutil.which("mbsync")


@unittest.skipUnless(MBSYNC, "mbsync (isync) is not installed")
class TestMbsync(unittest.TestCase):
    def setUp(self):
        self.work = tempfile.mkdtemp(prefix="bincimap-mbsync-")
        self.addCleanup(shutil.rmtree, self.work, True)
        self.local = os.path.join(self.work, "local")
        os.makedirs(self.local)
        if IS_DOVECOT:
            self.home = Home()
            self.addCleanup(self.home.cleanup)
            account = 'IMAPAccount loop\nTunnel "%s"\n' % self.home.command_line().replace('"', '\\"')
        else:
            self.srv = Serve()
            self.addCleanup(self.srv.stop)
            self.srv.wait_password()
            self.srv.wait_listening()
            account = ("IMAPAccount loop\nHost 127.0.0.1\nPort %d\nUser demo\nPass \"%s\"\nSSLType None\n"
                       "AuthMechs LOGIN\n" % (self.srv.port, self.srv.password))
        self.rc = os.path.join(self.work, "rc")
        with open(self.rc, "w") as f:
            f.write(account + "\nIMAPStore remote\nAccount loop\n\nMaildirStore local\nPath %s/\n"
                    "Inbox %s/INBOX\nSubFolders Verbatim\n\nChannel c\nFar :remote:\nNear :local:\nPatterns *\n"
                    "Create Both\nExpunge Both\nSyncState *\n" % (self.local, self.local))

    def conn(self):
        """A raw authenticated session on the server under test."""
        if IS_DOVECOT:
            c = Raw(argv=self.home.argv(), env=self.home.env())
            self.addCleanup(c.close)
            c.greeting()
        else:
            c = self.srv.raw()
            self.addCleanup(c.close)
            c.greeting()
            u, t = c.cmd('LOGIN demo "%s"' % self.srv.password)
            self.assertEqual(status(t), "OK", t)
        return c

    def sync(self):
        env = dict(os.environ)
        env["HOME"] = self.work
        debug = ["-D"] if os.environ.get("BINCIMAP_MBSYNC_DEBUG") else []
        p = subprocess.run([MBSYNC] + debug + ["-c", self.rc, "-a"], capture_output=True, env=env, timeout=180)
        self.assertEqual(p.returncode, 0, "mbsync failed:\n%s\n%s" % (p.stdout.decode(errors="replace"),
                                                                    p.stderr.decode(errors="replace")))

    def local_files(self, folder):
        out = []
        for sub in ("cur", "new"):
            d = os.path.join(folder, sub)
            if os.path.isdir(d):
                out += [os.path.join(d, f) for f in os.listdir(d)]
        return out

    def find_local_folder(self, leaf):
        for root, dirs, files in os.walk(self.local):
            if os.path.basename(root).split(".")[-1].split("/")[-1] == leaf and os.path.isdir(
                    os.path.join(root, "cur")):
                return root
        return None

    def remote_count(self, c, mailbox="INBOX"):
        # STATUS of the selected mailbox may give this session's view: catch up first
        c.cmd("NOOP")
        u, t = c.cmd("STATUS %s (MESSAGES)" % q(mailbox))
        self.assertEqual(status(t), "OK", t)
        for r in u:
            m = re.search(rb"MESSAGES (\d+)", r)
            if m:
                return int(m.group(1))
        self.fail("no STATUS data: %r" % u)

    def test_round_trip(self):
        c = self.conn()
        for i in range(3):
            u, t = c.cmd("APPEND INBOX {LIT}", [make_msg(subject="server %d" % i)])
            self.assertEqual(status(t), "OK", t)
        self.assertEqual(status(c.cmd("CREATE " + q(mbx("Project")))[1]), "OK")
        u, t = c.cmd("APPEND %s {LIT}" % q(mbx("Project")), [make_msg(subject="in project")])
        self.assertEqual(status(t), "OK", t)
        remote_inbox = self.remote_count(c)

        # server -> local
        self.sync()
        inbox = os.path.join(self.local, "INBOX")
        self.assertEqual(len(self.local_files(inbox)), remote_inbox)
        proj = self.find_local_folder("Project")
        self.assertIsNotNone(proj, "folder Project not synced: %s" % list(os.walk(self.local))[:5])
        files = self.local_files(proj)
        self.assertEqual(len(files), 1)
        with open(files[0], "rb") as f:
            self.assertIn(b"in project", f.read())

        # local -> server: a flag change
        flag_me = sorted(self.local_files(inbox))[0]
        base = os.path.basename(flag_me)
        flagged = os.path.join(inbox, "cur", (base.split(":2,")[0]) + ":2," +
                               "".join(sorted(set((base.split(":2,") + [""])[1] + "F"))))
        os.rename(flag_me, flagged)
        self.sync()
        self.assertEqual(status(c.cmd("SELECT INBOX")[1]), "OK")
        self.assertEqual(len(self.search(c, "FLAGGED")), 1)

        # server -> local: an expunge
        victim = self.search(c, 'SUBJECT "server 1"')
        self.assertEqual(len(victim), 1)
        self.assertEqual(status(c.cmd("STORE %d +FLAGS.SILENT (\\Deleted)" % victim[0])[1]), "OK")
        self.assertEqual(status(c.cmd("EXPUNGE")[1]), "OK")
        self.sync()
        self.assertEqual(len(self.local_files(inbox)), remote_inbox - 1)
        remote_inbox -= 1

        # local -> server: new messages, in INBOX and in a folder made locally (Create Both). mbsync before
        # 1.5 cannot find what it APPENDed on a server without UIDPLUS (it rejects its own X-TUID FETCH as
        # "extraneous data"), so this half needs UIDPLUS or a newer mbsync.
        if not self.uidplus(c) and mbsync_version() < (1, 5):
            self.skipTest("mbsync %s needs UIDPLUS to upload new messages" % ".".join(map(str, mbsync_version())))
        name = "1700000000.M1P1.localhost"
        with open(os.path.join(inbox, "tmp", name), "wb") as f:
            f.write(make_msg(subject="from local", body="written by the test\r\n"))
        os.rename(os.path.join(inbox, "tmp", name), os.path.join(inbox, "new", name))
        newdir = os.path.join(self.local, mbx("Local"))
        for sub in ("cur", "new", "tmp"):
            os.makedirs(os.path.join(newdir, sub))
        with open(os.path.join(newdir, "new", "1700000001.M2P2.localhost"), "wb") as f:
            f.write(make_msg(subject="local folder"))
        self.sync()
        self.assertEqual(self.remote_count(c), remote_inbox + 1)
        self.assertEqual(status(c.cmd("SELECT INBOX")[1]), "OK")
        self.assertEqual(len(self.search(c, 'SUBJECT "from local"')), 1)
        self.assertEqual(self.remote_count(c, mbx("Local")), 1)
        self.sync()  # a second run changes nothing
        self.assertEqual(self.remote_count(c), remote_inbox + 1)
        self.assertEqual(self.remote_count(c, mbx("Local")), 1)
        self.assertEqual(len(self.local_files(inbox)), remote_inbox + 1)

    def search(self, c, criteria):
        u, t = c.cmd("SEARCH " + criteria)
        self.assertEqual(status(t), "OK", t)
        return [int(x) for r in u if r.startswith(b"* SEARCH") for x in r.split()[2:]]

    def uidplus(self, c):
        u, t = c.cmd("CAPABILITY")
        return any(b"UIDPLUS" in r.upper().split() for r in u)


def mbsync_version():
    out = subprocess.run([MBSYNC, "--version"], capture_output=True).stdout.decode()
    m = re.search(r"(\d+)\.(\d+)", out)
    return (int(m.group(1)), int(m.group(2))) if m else (0, 0)

if __name__ == "__main__":
    unittest.main()
