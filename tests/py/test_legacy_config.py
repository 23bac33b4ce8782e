"""The legacy Binc IMAP `bincimap.conf` (issue 3, section 6): `check-config --conf` maps a realistic Binc file
onto our settings and warns, one line each naming the key, about every key without effect; `serve` and `imapd`
run with a legacy file (found by the `.conf` extension or by its syntax); syntax errors name file and line.
bincimap only."""
import os
import subprocess
import tempfile
import unittest

from support import IS_DOVECOT, TIMEOUT, Serve, bincimap_bin, status

try:
    import tomllib
except ImportError:  # Python < 3.11
    tomllib = None

# Close to the file Binc IMAP 1.2 shipped, with a few values changed from their defaults.
BINC_CONF = r"""/* -*- mode:c++;c-basic-offset:4 -*- */
/* --------------------------------------------------------------------
 *  Filename:
 *    bincimap.conf
 *  Description:
 *    Configuration file for Binc IMAP
 * ------------------------------------------------------------------ */

//----------------------------------------------------------------------
Authentication {
    allow plain auth in non ssl = "yes",  /* allow plaintext login */
    auth penalty = 0,                     // seconds
    disable starttls = "no"
}

//----------------------------------------------------------------------
Security {
    jail path = "/bin",
    jail user = "nobody",
    jail group = "nobody"
}

//----------------------------------------------------------------------
Log {
    type = "multilog",
    environment ip variable = "TCPREMOTEIP"
}

//----------------------------------------------------------------------
Mailbox {
    depot = "Maildir++",
    type = "Maildir",
    path = "Mail",
    auto create inbox = "yes",
    auto subscribe mailboxes = "INBOX,INBOX/Sent"
    umask = "077"
}

//----------------------------------------------------------------------
Session {
    idle timeout = 3600,
    auth timeout = 30,
    transfer timeout = 1200,
    transfer buffer size = 1024
}

//----------------------------------------------------------------------
SSL {
    pem file = "/usr/local/etc/bincimap.pem",
    ca file = "",
    cipher list = "!ADH:RC4+RSA:HIGH:MEDIUM:LOW:EXP:+SSLv2:+EXP",
    verify peer = "no"
}
"""

NO_EFFECT = ["jail path", "jail user", "jail group", "umask", "transfer timeout", "transfer buffer size", "ca file",
             "cipher list", "verify peer"]


@unittest.skipIf(IS_DOVECOT, "bincimap only")
class TestLegacyConfig(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="bincimap-legacy-")
        self.addCleanup(subprocess.run, ["rm", "-rf", self.dir])

    def write(self, name, text):
        p = os.path.join(self.dir, name)
        with open(p, "w") as f:
            f.write(text)
        return p

    def check_config(self, path, flag="--conf"):
        env = dict(os.environ, BINCIMAP_DATA=os.path.join(self.dir, "data"), HOME=self.dir)
        env.pop("BINCIMAP_TEST_TIMEOUTS", None)
        return subprocess.run([bincimap_bin(), "check-config", flag, path], capture_output=True, env=env,
                              timeout=TIMEOUT)

    @unittest.skipIf(tomllib is None, "needs Python 3.11 tomllib")
    def test_check_config_maps_and_warns(self):
        p = self.check_config(self.write("bincimap.conf", BINC_CONF))
        self.assertEqual(p.returncode, 0, p.stderr)
        cfg = tomllib.loads(p.stdout.decode())
        self.assertTrue(cfg["auth"]["allow_plaintext"])
        self.assertEqual(cfg["auth"]["penalty_seconds"], 0)
        self.assertEqual(cfg["mailbox"]["path"], "Mail")
        self.assertEqual(cfg["mailbox"]["auto_subscribe"], ["INBOX", "INBOX/Sent"])
        self.assertTrue(cfg["mailbox"]["auto_create_inbox"])
        self.assertEqual(cfg["session"]["idle_timeout"], 3600)
        self.assertEqual(cfg["session"]["auth_timeout"], 30)
        self.assertEqual(cfg["log"]["target"], "stderr")
        self.assertEqual(cfg["tls"]["cert_file"], "/usr/local/etc/bincimap.pem")
        self.assertEqual(cfg["tls"]["key_file"], "/usr/local/etc/bincimap.pem")
        self.assertFalse(cfg["tls"]["disable_starttls"])
        self.assertIn(b"legacy Binc config", p.stdout.splitlines()[0])
        warnings = [l for l in p.stderr.decode().splitlines() if "warning:" in l]
        for key in NO_EFFECT:
            hits = [w for w in warnings if (": %s: " % key) in w]
            self.assertEqual(len(hits), 1, "one warning naming %r: %r" % (key, warnings))
            self.assertIn("bincimap.conf:", hits[0])
        self.assertEqual(len(warnings), len(NO_EFFECT), warnings)

    @unittest.skipIf(tomllib is None, "needs Python 3.11 tomllib")
    def test_detected_by_syntax_and_syslog(self):
        p = self.check_config(self.write("binc-legacy", 'Log { type = "syslog", syslog facility = "LOG_LOCAL3" }\n'
                                         'Session { idle timeout = 600 }\n'), flag="-c")
        self.assertEqual(p.returncode, 0, p.stderr)
        cfg = tomllib.loads(p.stdout.decode())
        self.assertEqual(cfg["log"]["target"], "syslog")
        self.assertEqual(cfg["log"]["facility"], "local3")
        self.assertEqual(cfg["session"]["idle_timeout"], 1800, "raised to the RFC 3501 minimum")
        self.assertIn(b"idle timeout: 600 raised to 1800", p.stderr)

    @unittest.skipIf(tomllib is None, "needs Python 3.11 tomllib")
    def test_non_default_only(self):
        p = self.check_config(self.write("bincimap.conf", BINC_CONF))
        full = tomllib.loads(p.stdout.decode())
        env = dict(os.environ, BINCIMAP_DATA=os.path.join(self.dir, "data"), HOME=self.dir)
        p = subprocess.run([bincimap_bin(), "check-config", "-n", "--conf", os.path.join(self.dir, "bincimap.conf")],
                           capture_output=True, env=env, timeout=TIMEOUT)
        self.assertEqual(p.returncode, 0, p.stderr)
        changed = tomllib.loads(p.stdout.decode())
        self.assertEqual({s: sorted(k) for s, k in changed.items()},
                         {"auth": ["allow_plaintext", "penalty_seconds"], "mailbox": ["auto_subscribe", "path"],
                          "session": ["auth_timeout", "idle_timeout"], "tls": ["cert_file", "key_file"]}, p.stdout)
        for section, keys in changed.items():
            for k, v in keys.items():
                self.assertEqual(full[section][k], v)

    def test_toml_still_toml(self):
        p = self.check_config(self.write("b.toml", "[auth]\npenalty_seconds = 1\n"), flag="--config")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn(b"penalty_seconds = 1", p.stdout)
        self.assertNotIn(b"legacy Binc", p.stdout)

    def test_errors_name_file_and_line(self):
        p = self.check_config(self.write("bad.conf", "Mailbox {\n  path = \"Mail\",\n  umask 077\n}\n"))
        self.assertNotEqual(p.returncode, 0)
        self.assertIn(b"bad.conf:3", p.stderr)
        p = self.check_config(self.write("bad2.conf", "Session {\n  auth timeout = soon\n}\n"))
        self.assertNotEqual(p.returncode, 0)
        self.assertIn(b"bad2.conf:2", p.stderr)
        self.assertIn(b"auth timeout", p.stderr)

    def test_imapd_uses_legacy_mailbox_settings(self):
        conf = self.write("bincimap.conf", BINC_CONF)
        env = {"HOME": self.dir, "USER": "x", "PATH": os.environ.get("PATH", "/usr/bin:/bin")}
        p = subprocess.run([bincimap_bin(), "imapd", "--conf", conf],
                           input=b"a CREATE INBOX/Sent\r\nb LSUB \"\" *\r\nc LOGOUT\r\n",
                           capture_output=True, env=env, timeout=TIMEOUT)
        self.assertIn(b"a OK", p.stdout)
        self.assertTrue(os.path.isdir(os.path.join(self.dir, "Mail", ".Sent")), os.listdir(self.dir))
        self.assertIn(b'* LSUB () "/" INBOX/Sent\r\n', p.stdout, "auto subscribe mailboxes")
        self.assertIn(b"jail path", p.stderr, "warnings at start too")

    def test_serve_with_legacy_config(self):
        # without the PEM file (not there on a test machine): serve makes its own self-signed certificate
        conf = self.write("bincimap.conf", BINC_CONF.replace('pem file = "/usr/local/etc/bincimap.pem",', ""))
        srv = Serve(config=conf, data_dir=os.path.join(self.dir, "data"))
        self.addCleanup(srv.stop)
        srv.wait_password()
        srv.wait_listening()
        r = srv.raw()
        self.addCleanup(r.close)
        r.greeting()
        u, t = r.cmd('LOGIN demo "wrong"')
        self.assertEqual(status(t), "NO", t)
        u, t = r.cmd('LOGIN demo "%s"' % srv.password)
        self.assertEqual(status(t), "OK", t)
        self.assertIn("umask", srv.output())


if __name__ == "__main__":
    unittest.main()
