"""Shared helpers for the end-to-end suite: which server is under test, temporary homes with a Maildir, raw
protocol connections (stdio pipe or TCP), imaplib sessions, the `bincimap serve` daemon, message builders and a
small IMAP data parser.

The server under test is chosen with the environment:
  BINCIMAP_TEST_SERVER=bincimap (default) runs `$BINCIMAP_BIN imapd` (or target/{release,debug}/bincimap);
  BINCIMAP_TEST_SERVER=dovecot runs Dovecot 2.3's imap binary preauthenticated on stdio, as the reference.
Mailbox names differ: bincimap keeps every mailbox under `INBOX/`, Dovecot's namespace has no prefix. Tests
write `mbx("a/b")`, which is `INBOX/a/b` for bincimap and `a/b` for Dovecot; both are the directory `.a.b`.
"""
import base64
import imaplib
import os
import re
import select
import shlex
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import unittest

SERVER = os.environ.get("BINCIMAP_TEST_SERVER", "bincimap").strip().lower() or "bincimap"
IS_DOVECOT = SERVER == "dovecot"
MBX_PREFIX = "" if IS_DOVECOT else "INBOX/"
DOVECOT_IMAP = os.environ.get("DOVECOT_IMAP", "/usr/lib/dovecot/imap")
VMAIL_UID = 5000
TIMEOUT = float(os.environ.get("BINCIMAP_TEST_TIMEOUT", "30"))

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))

bincimap_only = unittest.skipIf(IS_DOVECOT, "bincimap-only behaviour")


def _drop_privileges_for_dovecot():
    """Dovecot refuses to touch mail as root; so the whole suite becomes the `vmail` user, which makes every file
    the tests create owned by the same user as the server."""
    if not IS_DOVECOT or os.geteuid() != 0:
        return
    # the interpreter's own files may be unreadable to vmail (pyenv under /root): import lazily loaded modules
    # and read the message corpus first
    import _strptime, email.parser, email.policy, email.generator, json, unittest.mock, unicodedata, difflib, pprint, traceback, linecache, encodings.idna, encodings.latin_1  # noqa: F401,E401 pylint: disable=unused-import
    import importlib
    import pkgutil
    import encodings
    import email
    for pkg in (encodings, email):
        for mod in pkgutil.iter_modules(pkg.__path__):
            try:
                importlib.import_module(pkg.__name__ + "." + mod.name)
            except Exception:
                pass
    corpus()
    if subprocess.run(["id", "vmail"], capture_output=True).returncode != 0:
        subprocess.run(["useradd", "-r", "-u", str(VMAIL_UID), "-U", "-M", "-s", "/usr/sbin/nologin", "vmail"],
                       check=True)
    import pwd
    pw = pwd.getpwnam("vmail")
    os.setgroups([])
    os.setgid(pw.pw_gid)
    os.setuid(pw.pw_uid)


_corpus = []


def corpus():
    """CPython's test_email messages as [(file name, bytes)], or [] when the test package is not installed."""
    if not _corpus:
        try:
            import glob
            import test.test_email
            d = os.path.join(os.path.dirname(test.test_email.__file__), "data")
            for f in sorted(glob.glob(os.path.join(d, "msg_*.txt"))):
                with open(f, "rb") as fh:
                    _corpus.append((os.path.basename(f), fh.read()))
        except ImportError:
            pass
    return list(_corpus)


def bincimap_bin():
    b = os.environ.get("BINCIMAP_BIN")
    if b:
        return os.path.abspath(b)
    for kind in ("release", "debug"):
        p = os.path.join(os.environ.get("CARGO_TARGET_DIR", os.path.join(REPO, "target")), kind, "bincimap")
        if os.path.exists(p):
            return p
    raise RuntimeError("bincimap binary not found: set BINCIMAP_BIN or build with cargo")


def mbx(name):
    """The IMAP name of a (non-INBOX) mailbox for the server under test."""
    return MBX_PREFIX + name


def q(name):
    """A mailbox name as an IMAP quoted string."""
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


# ---------------------------------------------------------------------------------------------------------------
# messages

_counter = [0]
_counter_lock = threading.Lock()


def unique_name():
    with _counter_lock:
        _counter[0] += 1
        n = _counter[0]
    t = time.time()
    return "%d.M%dP%dQ%d.testhost" % (int(t), int((t % 1) * 1e6), os.getpid(), n)


def make_msg(subject="Test message", body="Hello world.\r\n", frm="Alice Example <alice@example.com>",
             to="Bob Example <bob@example.org>", date="Mon, 3 Feb 2025 10:00:00 +0000", msgid=None, headers=(),
             cc=None, bcc=None):
    """A simple RFC 5322 message with CRLF line ends, as bytes."""
    msgid = msgid or "<%s@test.example>" % unique_name()
    h = ["From: " + frm, "To: " + to]
    if cc:
        h.append("Cc: " + cc)
    if bcc:
        h.append("Bcc: " + bcc)
    h += ["Subject: " + subject, "Date: " + date, "Message-ID: " + msgid]
    h += list(headers)
    text = "\r\n".join(h) + "\r\n\r\n" + body
    data = text.encode("utf-8")
    return crlf(data)


def crlf(data):
    """Normalises line ends to CRLF, as IMAP shows a message."""
    return re.sub(rb"\r?\n", b"\r\n", data)


MULTIPART = crlf(b"""From: Carol <carol@example.net>
To: Dave <dave@example.com>, Erin <erin@example.com>
Cc: Frank <frank@example.com>
Subject: Multipart test
Date: Tue, 4 Feb 2025 12:30:00 +0100
Message-ID: <multi-1@example.net>
In-Reply-To: <parent@example.net>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="XYZ"

This is the preamble.
--XYZ
Content-Type: text/plain; charset=us-ascii

First part text.
--XYZ
Content-Type: text/html; charset=utf-8
Content-Transfer-Encoding: quoted-printable

<p>Second part</p>
--XYZ
Content-Type: message/rfc822

From: Inner <inner@example.org>
Subject: Inner message
Date: Wed, 5 Feb 2025 08:00:00 +0000

Inner body line.
--XYZ--
Epilogue.
""")


# ---------------------------------------------------------------------------------------------------------------
# temporary homes

class Home:
    """A temporary user home with an empty Maildir (INBOX), plus what the server needs to run on it."""

    def __init__(self):
        self.root = tempfile.mkdtemp(prefix="bincimap-test-")
        os.chmod(self.root, 0o755)
        self.path = os.path.join(self.root, "home")
        self.maildir = os.path.join(self.path, "Maildir")
        for sub in ("cur", "new", "tmp"):
            os.makedirs(os.path.join(self.maildir, sub))
        self.user = "tester"
        if IS_DOVECOT:
            self.dovecot_conf = os.path.join(self.root, "dovecot.conf")
            os.makedirs(os.path.join(self.root, "dcrun"))
            with open(self.dovecot_conf, "w") as f:
                f.write("mail_location = maildir:~/Maildir\nbase_dir = %s/dcrun\nlog_path = /dev/null\n"
                        "namespace inbox {\n inbox = yes\n separator = /\n}\n" % self.root)

    def cleanup(self):
        shutil.rmtree(self.root, ignore_errors=True)

    def env(self):
        env = {"HOME": self.path, "USER": self.user, "LOGNAME": self.user,
               "PATH": os.environ.get("PATH", "/usr/bin:/bin")}
        for k in ("RUST_BACKTRACE", "RUST_LOG"):
            if k in os.environ:
                env[k] = os.environ[k]
        return env

    def argv(self):
        if IS_DOVECOT:
            return [DOVECOT_IMAP, "-c", self.dovecot_conf]
        return [bincimap_bin(), "imapd"]

    def command_line(self):
        """A shell command line for imaplib.IMAP4_stream."""
        env = " ".join(shlex.quote("%s=%s" % kv) for kv in self.env().items())
        cmd = "exec env -i %s %s" % (env, " ".join(shlex.quote(a) for a in self.argv()))
        return cmd + " 2>/dev/null" if IS_DOVECOT else cmd

    def dir_of(self, mailbox):
        """The Maildir directory of an IMAP mailbox name (INBOX, or a name with or without MBX_PREFIX)."""
        if mailbox.upper() == "INBOX":
            return self.maildir
        if MBX_PREFIX and mailbox.startswith(MBX_PREFIX):
            mailbox = mailbox[len(MBX_PREFIX):]
        return os.path.join(self.maildir, "." + mailbox.replace("/", "."))

    def deliver(self, data, mailbox="INBOX", flags=None, mtime=None):
        """Delivers like an MTA: write into tmp/, then rename into new/ (or into cur/ with `:2,FLAGS` info when
        flags is given). Returns the final path."""
        d = self.dir_of(mailbox)
        name = unique_name()
        tmp = os.path.join(d, "tmp", name)
        with open(tmp, "wb") as f:
            f.write(data)
        if mtime is not None:
            os.utime(tmp, (mtime, mtime))
        if flags is None:
            final = os.path.join(d, "new", name)
        else:
            final = os.path.join(d, "cur", name + ":2," + "".join(sorted(flags)))
        os.rename(tmp, final)
        return final


# ---------------------------------------------------------------------------------------------------------------
# raw protocol connections

class ServerClosed(Exception):
    pass


class Raw:
    """A raw IMAP connection to a stdio server process or a TCP socket. Responses come back as bytes, one per
    response, with any literals inlined (`... {5}\\r\\nhello ...`)."""

    def __init__(self, argv=None, env=None, host=None, port=None, timeout=TIMEOUT):
        self.timeout = timeout
        self.buf = b""
        self.proc = None
        self.sock = None
        self.tagn = 0
        self.eof = False
        if argv:
            self.errfile = tempfile.TemporaryFile()
            self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.errfile,
                                         env=env, bufsize=0)
            self.rfd = self.proc.stdout.fileno()
        else:
            self.sock = socket.create_connection((host, port), timeout=timeout)
            self.rfd = self.sock.fileno()

    # -- low level
    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        try:
            if self.proc:
                self.proc.stdin.write(data)
                self.proc.stdin.flush()
            else:
                self.sock.sendall(data)
        except (BrokenPipeError, ConnectionResetError) as e:
            raise ServerClosed(str(e))

    def _fill(self, deadline):
        if self.eof:
            raise ServerClosed("server closed the connection")
        while True:
            left = deadline - time.time()
            if left <= 0:
                raise TimeoutError("no answer from server within %ss; have %r" % (self.timeout, self.buf[:300]))
            r, _, _ = select.select([self.rfd], [], [], left)
            if r:
                try:
                    chunk = os.read(self.rfd, 1 << 20)
                except ConnectionResetError:
                    chunk = b""
                if not chunk:
                    self.eof = True
                    raise ServerClosed("server closed the connection")
                self.buf += chunk
                return

    def read_line(self, timeout=None):
        """One raw CRLF-terminated line, without the CRLF."""
        deadline = time.time() + (timeout or self.timeout)
        while b"\r\n" not in self.buf:
            self._fill(deadline)
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def read_bytes(self, n, timeout=None):
        deadline = time.time() + (timeout or self.timeout)
        while len(self.buf) < n:
            self._fill(deadline)
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def read_response(self, timeout=None):
        """One response: a line plus any literals it announces, literals inlined."""
        deadline = time.time() + (timeout or self.timeout)
        out = b""
        while True:
            while b"\r\n" not in self.buf:
                self._fill(deadline)
            line, self.buf = self.buf.split(b"\r\n", 1)
            out += line
            m = re.search(rb"\{(\d+)\}$", line)
            if not m:
                return out
            n = int(m.group(1))
            while len(self.buf) < n:
                self._fill(deadline)
            out += b"\r\n" + self.buf[:n]
            self.buf = self.buf[n:]

    def read_until_tagged(self, tag, timeout=None):
        """Responses up to and including the tagged one: (untagged list, tagged line)."""
        if isinstance(tag, str):
            tag = tag.encode()
        untagged = []
        while True:
            r = self.read_response(timeout)
            if r.startswith(tag + b" "):
                return untagged, r
            untagged.append(r)

    def greeting(self):
        return self.read_response()

    def next_tag(self):
        self.tagn += 1
        return "T%d" % self.tagn

    def cmd(self, text, literals=(), tag=None, timeout=None):
        """Sends `tag text`; `text` may contain `{LIT}` placeholders filled with synchronizing literals (each
        waits for the `+` continuation). Returns (untagged list, tagged line). If the server answers with a tagged
        response instead of `+`, that response is returned at once."""
        tag = tag or self.next_tag()
        parts = text.split("{LIT}")
        assert len(parts) == len(literals) + 1, "literal count mismatch"
        untagged = []
        data = (tag + " " + parts[0]).encode()
        for i, lit in enumerate(literals):
            if isinstance(lit, str):
                lit = lit.encode()
            self.send(data + b"{%d}\r\n" % len(lit))
            while True:
                r = self.read_response(timeout)
                if r.startswith(b"+"):
                    break
                if r.startswith(tag.encode() + b" "):
                    return untagged, r
                untagged.append(r)
            data = lit + parts[i + 1].encode()
        self.send(data + b"\r\n")
        u, t = self.read_until_tagged(tag, timeout)
        return untagged + u, t

    def closed(self, timeout=None):
        """True when the server closes the connection within the timeout (pending data is discarded)."""
        deadline = time.time() + (timeout or self.timeout)
        try:
            while True:
                self._fill(deadline)
                self.buf = b""
        except ServerClosed:
            return True
        except TimeoutError:
            return False

    def stderr(self):
        if not self.proc:
            return b""
        self.errfile.seek(0)
        return self.errfile.read()

    def close(self):
        try:
            if self.proc:
                try:
                    self.proc.stdin.close()
                except Exception:
                    pass
                try:
                    self.proc.wait(5)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait(5)
                self.proc.stdout.close()
                self.errfile.close()
            else:
                self.sock.close()
        except Exception:
            pass


def status(tagged):
    """OK / NO / BAD of a tagged line (bytes) as str."""
    parts = tagged.split(b" ", 2)
    return parts[1].decode("latin-1").upper() if len(parts) > 1 else ""


def resp_code(line):
    """The response code atom of a status response (`[TRYCREATE]` -> 'TRYCREATE'), upper-cased, or None."""
    m = re.match(rb"^\S+ (?:OK|NO|BAD|BYE|PREAUTH) \[([^\] ]+)", line, re.I)
    return m.group(1).decode().upper() if m else None


# ---------------------------------------------------------------------------------------------------------------
# IMAP data parser: atoms, quoted strings, literals, NIL and lists into Python values.
# Strings come back as bytes wrapped in Str, atoms as plain bytes, NIL as None.

class Str(bytes):
    """A string (quoted or literal), as opposed to an atom."""


class Parser:
    def __init__(self, data):
        self.d = data
        self.i = 0

    def ws(self):
        while self.i < len(self.d) and self.d[self.i:self.i + 1] == b" ":
            self.i += 1

    def value(self):
        self.ws()
        c = self.d[self.i:self.i + 1]
        if c == b"(":
            self.i += 1
            out = []
            while True:
                self.ws()
                if self.i >= len(self.d):
                    raise ValueError("unterminated list")
                if self.d[self.i:self.i + 1] == b")":
                    self.i += 1
                    return out
                out.append(self.value())
        if c == b'"':
            self.i += 1
            s = b""
            while self.i < len(self.d):
                ch = self.d[self.i:self.i + 1]
                if ch == b"\\":
                    s += self.d[self.i + 1:self.i + 2]
                    self.i += 2
                    continue
                if ch == b'"':
                    self.i += 1
                    return Str(s)
                s += ch
                self.i += 1
            raise ValueError("unterminated string")
        m = re.match(rb"\{(\d+)\}\r\n", self.d[self.i:])
        if m:
            n = int(m.group(1))
            start = self.i + m.end()
            if start + n > len(self.d):
                raise ValueError("short literal")
            self.i = start + n
            return Str(self.d[start:start + n])
        m = re.match(rb"[^ ()\r\n\[\]]+(\[[^\]]*\](<\d+>)?)?", self.d[self.i:])
        if m:
            self.i += m.end()
            tok = m.group(0)
            return None if tok.upper() == b"NIL" else tok
        raise ValueError("unexpected %r at %d in %r" % (c, self.i, self.d[:200]))

    def values(self):
        out = []
        while True:
            self.ws()
            if self.i >= len(self.d):
                return out
            out.append(self.value())


def parse_fetch(resp):
    """`* n FETCH (...)` -> (n, {ITEM: value}) with item names upper-cased; None for other responses."""
    m = re.match(rb"\* (\d+) FETCH ", resp, re.I)
    if not m:
        return None
    p = Parser(resp[m.end():])
    lst = p.value()
    p.ws()
    if p.i != len(p.d):
        raise ValueError("trailing data after FETCH list: %r" % resp[p.i + m.end():][:100])
    if len(lst) % 2:
        raise ValueError("odd FETCH item list: %r" % resp[:200])
    items = {}
    for k in range(0, len(lst), 2):
        key = lst[k]
        if not isinstance(key, bytes) or isinstance(key, Str):
            raise ValueError("bad FETCH item name %r" % (key,))
        items[key.upper().decode()] = lst[k + 1]
    return int(m.group(1)), items


def fetches(untagged):
    """All FETCH responses merged by sequence number: {seq: {ITEM: value}}."""
    out = {}
    for r in untagged:
        f = parse_fetch(r)
        if f:
            out.setdefault(f[0], {}).update(f[1])
    return out


def search_ids(untagged):
    """The numbers of all `* SEARCH` responses, as a list in order."""
    out = []
    for r in untagged:
        if re.match(rb"\* SEARCH( |$)", r, re.I):
            out += [int(x) for x in r.split()[2:]]
    return out


def parse_list(resp):
    """`* LIST (flags) "delim" name` -> (set of lower-cased flags, delimiter str or None, name str)."""
    m = re.match(rb"\* (LIST|LSUB) ", resp, re.I)
    if not m:
        return None
    v = Parser(resp[m.end():]).values()
    flags = set(f.decode().lower() for f in v[0])
    delim = v[1].decode() if v[1] is not None else None
    return flags, delim, bytes(v[2]).decode("utf-8", "replace")


def lists(untagged):
    """{name: flags} of all LIST/LSUB responses."""
    out = {}
    for r in untagged:
        p = parse_list(r)
        if p:
            out[p[2]] = p[0]
    return out


def untagged_value(untagged, keyword):
    """The number of `* n KEYWORD` (EXISTS, RECENT), last one wins, or None."""
    val = None
    for r in untagged:
        m = re.match(rb"\* (\d+) " + keyword.encode() + rb"$", r, re.I)
        if m:
            val = int(m.group(1))
    return val


def expunges(untagged):
    return [int(m.group(1)) for m in (re.match(rb"\* (\d+) EXPUNGE$", r, re.I) for r in untagged) if m]


def code_value(untagged, code):
    """The argument of `* OK [CODE arg]` (e.g. UIDVALIDITY), as bytes, or None."""
    for r in untagged:
        m = re.match(rb"\* OK \[" + code.encode() + rb"(?: ([^\]]*))?\]", r, re.I)
        if m:
            return m.group(1) if m.group(1) is not None else b""
    return None


def flagset(v):
    """A FLAGS value as a set of str, \\Recent included, case kept for keywords, system flags capitalised."""
    out = set()
    for f in v or []:
        s = f.decode()
        if s.startswith("\\"):
            s = "\\" + s[1:].capitalize()
        out.add(s)
    return out


# ---------------------------------------------------------------------------------------------------------------
# the bincimap daemon

def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def _hand_data_dir_to_nobody(data_dir):
    """As root, `serve` drops to the owner of its data directory (and refuses to start when that is root): give a
    root-owned test data directory to `nobody`, and make the temporary directories above it searchable."""
    if os.geteuid() != 0 or os.stat(data_dir).st_uid != 0:
        return
    import pwd
    nobody = pwd.getpwnam("nobody")
    os.chown(data_dir, nobody.pw_uid, nobody.pw_gid)
    tmp = os.path.realpath(tempfile.gettempdir())
    parent = os.path.dirname(os.path.realpath(data_dir))
    while parent.startswith(tmp + os.sep):
        os.chmod(parent, os.stat(parent).st_mode | 0o111)
        parent = os.path.dirname(parent)


class Serve:
    """`bincimap serve` on a free loopback port with a temporary BINCIMAP_DATA. `password` is the demo user's,
    parsed from the first-start line on stdout."""

    def __init__(self, data_dir=None, config=None, extra_args=(), port=None, fast_auth=True, extra_env=None):
        """With `port`, the config file is expected to listen there and no --listen is passed. Without `config`
        and with `fast_auth`, a config without login penalty and throttling is used. `extra_env`: extra environment variables."""
        self.data_dir = data_dir or tempfile.mkdtemp(prefix="bincimap-serve-")
        os.makedirs(self.data_dir, exist_ok=True)
        _hand_data_dir_to_nobody(self.data_dir)
        self.own_data = data_dir is None
        self.port = port or free_port()
        self.out = tempfile.NamedTemporaryFile(prefix="serve-out-", delete=False)
        self.err = tempfile.NamedTemporaryFile(prefix="serve-err-", delete=False)
        argv = [bincimap_bin(), "serve"]
        self.fast_conf = None
        if not config and fast_auth:
            # No login penalty or per-IP throttling, so tests with bad passwords stay fast and
            # independent; test_auth_limits.py tests both with configs of its own.
            fd, self.fast_conf = tempfile.mkstemp(prefix="bincimap-fast-", suffix=".toml")
            with os.fdopen(fd, "w") as f:
                f.write("[auth]\npenalty_seconds = 0\nthrottle_failures = 0\n")
            config = self.fast_conf
        if config:
            argv += ["--config", config]
        if port is None:
            argv += ["--listen", "127.0.0.1:%d" % self.port]
        argv += list(extra_args)
        env = dict(os.environ)
        env["BINCIMAP_DATA"] = self.data_dir
        env["HOME"] = self.data_dir
        env.pop("XDG_DATA_HOME", None)
        env.pop("XDG_CONFIG_HOME", None)
        env.update(extra_env or {})
        try:
            self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=self.out, stderr=self.err, env=env,
                                         cwd=self.data_dir)
        except BaseException:
            self._remove_files()
            raise
        self.password = None
        self.user = "demo"

    def output(self):
        with open(self.out.name, "rb") as f:
            out = f.read()
        with open(self.err.name, "rb") as f:
            err = f.read()
        return out.decode("utf-8", "replace") + err.decode("utf-8", "replace")

    def wait_password(self, timeout=TIMEOUT):
        deadline = time.time() + timeout
        while time.time() < deadline:
            m = re.search(r'password "([^"]*)"', self.output())
            if m:
                self.password = m.group(1)
                return self.password
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        raise AssertionError("no password line from bincimap serve; output: %s" % self.output())

    def wait_listening(self, timeout=TIMEOUT):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError("bincimap serve exited with %s: %s" % (self.proc.returncode, self.output()))
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.05)
        raise AssertionError("bincimap serve did not listen on %d: %s" % (self.port, self.output()))

    def raw(self):
        r = Raw(host="127.0.0.1", port=self.port)
        return r

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self._remove_files()

    def _remove_files(self):
        for f in (self.out, self.err):
            f.close()
            try:
                os.unlink(f.name)
            except OSError:
                pass
        if self.fast_conf:
            try:
                os.unlink(self.fast_conf)
            except OSError:
                pass
        if self.own_data:
            shutil.rmtree(self.data_dir, ignore_errors=True)


# ---------------------------------------------------------------------------------------------------------------
# the test case base

class ImapTestCase(unittest.TestCase):
    """Each test gets a fresh temporary home. `session()` opens a raw PREAUTH stdio session on it (greeting
    checked), `imap()` an imaplib.IMAP4_stream session; all are closed after the test."""

    maxDiff = 4000

    def setUp(self):
        self.home = Home()
        self.addCleanup(self.home.cleanup)

    def session(self, select=None):
        c = Raw(argv=self.home.argv(), env=self.home.env())
        self.addCleanup(c.close)
        g = c.greeting()
        self.assertTrue(g.upper().startswith(b"* PREAUTH"), "greeting: %r; stderr: %r" % (g, c.stderr()))
        if select:
            self.ok(c, "SELECT " + q(select))
        return c

    def imap(self):
        m = imaplib.IMAP4_stream(self.home.command_line())
        self.addCleanup(_imaplib_close, m)
        return m

    def ok(self, conn, text, literals=()):
        """Runs a command, asserts a tagged OK, returns the untagged responses."""
        u, t = conn.cmd(text, literals)
        self.assertEqual(status(t), "OK", "%s -> %r (untagged %r)" % (text, t, u[:10]))
        return u

    def no(self, conn, text, literals=(), code=None):
        u, t = conn.cmd(text, literals)
        self.assertEqual(status(t), "NO", "%s -> %r" % (text, t))
        if code:
            self.assertEqual(resp_code(t), code, "%s -> %r" % (text, t))
        return u, t

    def bad(self, conn, text, literals=()):
        u, t = conn.cmd(text, literals)
        self.assertEqual(status(t), "BAD", "%s -> %r" % (text, t))
        return u, t

    def append(self, conn, data, mailbox="INBOX", flags=None, date=None):
        args = q(mailbox)
        if flags is not None:
            args += " (" + " ".join(flags) + ")"
        if date:
            args += ' "' + date + '"'
        return self.ok(conn, "APPEND " + args + " {LIT}", [data])

    def fill(self, conn, n, mailbox="INBOX", **kw):
        """APPENDs n simple messages with subjects 'msg 1'.. and returns their bytes."""
        out = []
        for i in range(1, n + 1):
            data = make_msg(subject="msg %d" % i, body="Body of message %d.\r\n" % i, **kw)
            self.append(conn, data, mailbox)
            out.append(data)
        return out


def _imaplib_close(m):
    try:
        if m.state != "LOGOUT":
            m.logout()
    except Exception:
        pass
    try:
        m.shutdown()
    except Exception:
        pass


def plain_b64(user, password, authzid=""):
    return base64.b64encode(("%s\0%s\0%s" % (authzid, user, password)).encode()).decode()


_drop_privileges_for_dovecot()
