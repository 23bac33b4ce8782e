"""Fixtures for the checkpassword chain and privilege separation tests (test_up.py, test_privsep.py): temporary
system users made with useradd, a world-readable copy of the binary (the user's `bincimap imapd` must be able to run
it even when the repository sits under /root), a checkpassword program that implements qmail's interface exactly, a
tcpserver-like accept loop, and /proc helpers. Everything here needs root."""
import os
import pwd
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time

from support import TIMEOUT, bincimap_bin

IS_ROOT = os.geteuid() == 0
HAVE_USERADD = shutil.which("useradd") is not None and shutil.which("userdel") is not None

# checkpassword per https://cr.yp.to/checkpwd/interface.html: read user\0password\0timestamp\0 from fd 3; on a
# match switch to the user (groups, gid, uid), set USER and HOME, chdir HOME, exec argv[1:]; exit 1 on a bad
# password, 111 on a temporary problem. Passwords come from a `user:password` table next to the script.
CHECKPW = r'''#!/usr/bin/env python3
import os, pwd, sys
TABLE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "cptable")
try:
    data = b""
    while True:
        chunk = os.read(3, 512)
        if not chunk:
            break
        data += chunk
    os.close(3)
    fields = data.split(b"\0")
    user, password = fields[0].decode(), fields[1].decode()
    table = dict(line.split(":", 1) for line in open(TABLE).read().split())
except Exception as e:
    sys.stderr.write("checkpw: %s\n" % e)
    sys.exit(111)
if table.get(user) is None or table[user] != password:
    sys.exit(1)
try:
    pw = pwd.getpwnam(user)
except KeyError:
    sys.exit(1)
os.initgroups(user, pw.pw_gid)
os.setgid(pw.pw_gid)
os.setuid(pw.pw_uid)
os.environ["USER"] = user
os.environ["HOME"] = pw.pw_dir
os.chdir(pw.pw_dir)
try:
    os.execvp(sys.argv[1], sys.argv[1:])
except OSError:
    sys.exit(111)
'''


class Users:
    """Two system users (A and B) with homes and Maildirs (0700, their own) in a world-traversable temp dir, a
    copy of the binary there, the checkpassword script and its table, and a config file."""

    def __init__(self, config_text=""):
        self.root = tempfile.mkdtemp(prefix="bincimap-chain-")
        os.chmod(self.root, 0o755)
        self.bin = os.path.join(self.root, "bincimap")
        shutil.copy(bincimap_bin(), self.bin)
        os.chmod(self.bin, 0o755)
        self.checkpw = os.path.join(self.root, "checkpw")
        with open(self.checkpw, "w") as f:
            f.write(CHECKPW)
        os.chmod(self.checkpw, 0o755)
        self.exit111 = os.path.join(self.root, "checkpw111")
        with open(self.exit111, "w") as f:
            f.write("#!/bin/sh\nexit 111\n")
        os.chmod(self.exit111, 0o755)
        suffix = "%d%d" % (os.getpid() % 10000, int(time.time() * 1000) % 1000)
        self.names = {"a": "bcpa" + suffix, "b": "bcpb" + suffix}
        self.passwords = {"a": "alpha-pw", "b": "beta-pw"}
        self.created = []
        try:
            for k, name in self.names.items():
                home = os.path.join(self.root, name)
                subprocess.run(["useradd", "-M", "-d", home, "-s", "/usr/sbin/nologin", name], check=True,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
                self.created.append(name)
                pw = pwd.getpwnam(name)
                for sub in ("cur", "new", "tmp"):
                    os.makedirs(os.path.join(home, "Maildir", sub))
                for dirpath, dirs, _files in os.walk(home):
                    os.chown(dirpath, pw.pw_uid, pw.pw_gid)
                    os.chmod(dirpath, 0o700)
            with open(os.path.join(self.root, "cptable"), "w") as f:
                for k, name in self.names.items():
                    f.write("%s:%s\n" % (name, self.passwords[k]))
            self.config = os.path.join(self.root, "bincimap.toml")
            with open(self.config, "w") as f:
                f.write("[auth]\npenalty_seconds = 1\nthrottle_failures = 0\n" + config_text)
            os.chmod(self.config, 0o644)
        except BaseException:
            self.cleanup()
            raise

    def name(self, k):
        return self.names[k]

    def uid(self, k):
        return pwd.getpwnam(self.names[k]).pw_uid

    def home(self, k):
        return os.path.join(self.root, self.names[k])

    def maildir(self, k):
        return os.path.join(self.home(k), "Maildir")

    def up_argv(self, checkpw=None):
        return [self.bin, "up", "--conf", self.config, "--", checkpw or self.checkpw, self.bin, "imapd"]

    def cleanup(self):
        for name in self.created:
            subprocess.run(["userdel", name], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.created = []
        shutil.rmtree(self.root, ignore_errors=True)


def can_read_as(uid, gid, path):
    """True when uid/gid (no supplementary groups) can list `path`: checked in a child that switches to them."""
    pid = os.fork()
    if pid == 0:
        try:
            os.setgroups([])
            os.setgid(gid)
            os.setuid(uid)
            os.listdir(path)
            os._exit(0)
        except BaseException:
            os._exit(1)
    _, st = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(st) == 0


def proc_uid(pid):
    """The effective uid of a process, from /proc."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("Uid:"):
                return int(line.split()[2])
    raise AssertionError("no Uid line for %d" % pid)


def children(pid):
    """Children of every thread of pid (a child belongs to the thread that forked it)."""
    out = []
    try:
        tasks = os.listdir("/proc/%d/task" % pid)
    except OSError:
        return out
    for t in tasks:
        try:
            with open("/proc/%d/task/%s/children" % (pid, t)) as f:
                out += [int(x) for x in f.read().split()]
        except OSError:
            pass
    return out


def descendants(pid):
    out = []
    todo = [pid]
    while todo:
        p = todo.pop()
        for c in children(p):
            out.append(c)
            todo.append(c)
    return out


def cmdline(pid):
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            return f.read().split(b"\0")
    except OSError:
        return []


def wait_port(port, proc=None, timeout=TIMEOUT):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc is not None and proc.poll() is not None:
            raise AssertionError("server exited with %s" % proc.returncode)
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise AssertionError("nothing listens on %d" % port)


class AcceptLoop:
    """A tcpserver stand-in: accepts on 127.0.0.1, runs argv per connection with the socket as fd 0 and 1 and
    TCPREMOTEIP/TCPREMOTEPORT set, stderr to a log file. `procs` holds each connection's process."""

    def __init__(self, argv):
        self.argv = argv
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.log = tempfile.NamedTemporaryFile(prefix="up-log-", delete=False)
        self.procs = []
        self.stopped = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.stopped:
            try:
                conn, addr = self.sock.accept()
            except OSError:
                return
            env = dict(os.environ)
            env["TCPREMOTEIP"] = addr[0]
            env["TCPREMOTEPORT"] = str(addr[1])
            p = subprocess.Popen(self.argv, stdin=conn.fileno(), stdout=conn.fileno(), stderr=self.log, env=env)
            conn.close()
            self.procs.append(p)

    def output(self):
        with open(self.log.name, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def stop(self):
        self.stopped = True
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
        for p in self.procs:
            if p.poll() is None:
                p.kill()
            p.wait(10)
        self.log.close()
        os.unlink(self.log.name)


def file_owners(directory):
    """uid of every file in a Maildir's new/ and cur/."""
    owners = []
    for sub in ("new", "cur"):
        d = os.path.join(directory, sub)
        for n in os.listdir(d):
            owners.append(os.stat(os.path.join(d, n)).st_uid)
    return owners


def mode_of(path):
    return stat.S_IMODE(os.stat(path).st_mode)


__all__ = ["IS_ROOT", "HAVE_USERADD", "Users", "AcceptLoop", "can_read_as", "proc_uid", "descendants", "cmdline",
           "wait_port", "file_owners", "mode_of", "sys"]
