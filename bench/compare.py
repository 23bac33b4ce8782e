#!/usr/bin/env python3
"""Side-by-side benchmark: bincimap vs Dovecot 2.3 on the same machine and the same Maildir.

Builds one deterministic Maildir++ (N messages in INBOX, a small Archive folder), gives each server
its own fresh copy, runs each preauthenticated on stdio as the `vmail` user, and measures SELECT,
FETCH and SEARCH round trips, syscalls per NOOP/STATUS (strace -c) and memory per idle connection.
Prints a table (Dovecot, bincimap, ratio Dovecot/bincimap, ROADMAP target) and writes JSON to
bench/results/. Python 3 stdlib only; run as root (setpriv, strace). See bench/README.md.

  python3 bench/compare.py --quick --only dovecot
  python3 bench/compare.py --binary target/release/bincimap
"""
import argparse
import atexit
import base64
import json
import os
import platform
import random
import re
import select
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
VMAIL = "vmail"
DOVECOT_IMAP = "/usr/lib/dovecot/imap"
CORPUS_VERSION = 1  # bump when the generator changes, so a kept --corpus is rebuilt

# Needles: the generator puts them in known messages, so every SEARCH answer can be checked.
FROM_NEEDLE = "Quackenbush"  # surname of one sender; appears in From only
BODY_NEEDLE = "xylophonically"  # word in some text parts only, never in headers
FROM_RATE = 1 / 250
BODY_RATE = 1 / 100

SERVE_BUDGET_KB = 3 * 1024 * 1024  # bincimap serve may grow this much before the connection loop stops

# Every process we start, so that a crash or ^C still ends them (by pid, nothing else).
_procs = []


def _cleanup_procs():
    for p in _procs:
        if p.poll() is None:
            try:
                p.kill()
                p.wait(5)
            except Exception:
                pass


atexit.register(_cleanup_procs)


def _sigterm(signum, frame):
    raise SystemExit(128 + signum)


# ---------------------------------------------------------------------------------------------
# Corpus generation (deterministic)
# ---------------------------------------------------------------------------------------------

FIRST = ("James Mary Robert Patricia John Jennifer Michael Linda David Elizabeth William Barbara Richard "
         "Susan Joseph Jessica Thomas Sarah Charles Karen Daniel Lisa Matthew Nancy Anthony Betty Mark "
         "Sandra Donald Ashley Steven Emily Paul Donna Andrew Michelle Joshua Carol Kenneth Amanda Kevin "
         "Melissa Brian Deborah George Stephanie Timothy Rebecca Ronald Laura Edward Sharon Jason Cynthia "
         "Ingrid Søren Zoë Renée José Björn Chloé Mats Aoife Priya Wei Hiroshi Olumide Ana").split()
LAST = ("Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez Gonzalez "
        "Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White Harris Sanchez Clark "
        "Ramirez Lewis Robinson Walker Young Allen King Wright Scott Torres Nguyen Hill Flores Green Adams "
        "Nelson Baker Hall Rivera Campbell Mitchell Carter Roberts Müller Østergaard Lindqvist O'Brien "
        "Kowalski Novák Dubois Rossi Tanaka Okafor Fernández Schmidt Virtanen Jansen").split()
DOMAINS = ("example.com example.org example.net mail.example.com lists.example.org corp.example "
           "university.example.edu shop.example.co.uk bigco.example startup.example.io").split()
VOCAB = ("the of and to in is that it was for on are as with his they at be this from have or by one had "
         "not but what all were when we there can an your which their said if do will each about how up out "
         "them then she many some so these would other into has more her two like him see time could no make "
         "than first been its who now people my made over did down only way find use may water long little "
         "very after words called just where most know get through back much before go good new write our "
         "used me man too any day same right look think also around another came come work three word must "
         "because does part even place well such here take why things help put years different away again "
         "off went old number great tell men say small every found still between name should home big give "
         "air line set own under read last never us left end along while might next sound below saw something "
         "thought both few those always looked show large often together asked house don't world going want "
         "school important until form food keep children feet land side without boy once animals life enough "
         "took sometimes four head above kind began almost live page got earth need far hand high year mother "
         "light parts country father let night following picture being study second eyes soon times story "
         "boys since white days ever paper hard near sentence better best across during today others however "
         "sure means knew it's try told young miles sun ways thing whole hear example heard several change "
         "answer room sea against top turned learn point city play toward five using himself usually meeting "
         "budget quarterly report invoice schedule project deadline review draft attached please thanks "
         "regards agenda release version server database backup migration customer contract proposal").split()
UTF8_WORDS = "café naïve Grüße résumé façade piñata smörgåsbord jalapeño Ærø crème brûlée coöperate".split()
MAILERS = ["Mozilla Thunderbird 115.6.0", "Apple Mail (2.3774)", "Microsoft Outlook 16.0", "Mutt/2.2.9",
           "Evolution 3.46.4", "K-9 Mail for Android", "Roundcube Webmail/1.6.5", None, None]
TZS = [("+0000", 0), ("+0100", 3600), ("+0200", 7200), ("-0500", -18000), ("-0800", -28800), ("+0530", 19800),
       ("+0900", 32400)]
DAYS = "Mon Tue Wed Thu Fri Sat Sun".split()
MONTHS = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()


def rfc2822_date(ts, tz):
    name, off = tz
    t = time.gmtime(ts + off)
    return "%s, %d %s %d %02d:%02d:%02d %s" % (DAYS[t.tm_wday], t.tm_mday, MONTHS[t.tm_mon - 1], t.tm_year,
                                                t.tm_hour, t.tm_min, t.tm_sec, name)


def wrap(words, width=72):
    lines, cur = [], ""
    for w in words:
        if cur and len(cur) + 1 + len(w) > width:
            lines.append(cur)
            cur = w
        else:
            cur = w if not cur else cur + " " + w
    if cur:
        lines.append(cur)
    return "\n".join(lines)


class Generator:
    def __init__(self, seed):
        self.rng = random.Random(seed)
        r = self.rng
        self.paras = []
        for _ in range(3000):
            words = r.choices(VOCAB, k=r.randint(25, 110))
            if r.random() < 0.15:
                words[r.randrange(len(words))] = r.choice(UTF8_WORDS)
            words[0] = words[0].capitalize()
            self.paras.append(wrap(words) + ".")
        self.needle_para = None
        self.blobs = [r.randbytes(r.randint(600, 9000)) for _ in range(64)]

    def person(self):
        r = self.rng
        first, last = r.choice(FIRST), r.choice(LAST)
        return first, last, "%s.%s@%s" % (self._ascii(first), self._ascii(last), r.choice(DOMAINS))

    @staticmethod
    def _ascii(s):
        return "".join(c for c in s.lower() if c.isascii() and c.isalnum()) or "user"

    def addr(self, p):
        first, last, email = p
        name = first + " " + last
        r = self.rng.random()
        if not name.isascii():
            enc = base64.b64encode(name.encode()).decode()
            return "=?UTF-8?B?%s?= <%s>" % (enc, email)
        if r < 0.6:
            return "%s <%s>" % (name, email)
        if r < 0.85:
            return '"%s, %s" <%s>' % (last, first, email)
        return email

    def text(self, target, needle):
        r = self.rng
        out, size = [], 0
        while size < target:
            p = r.choice(self.paras)
            out.append(p)
            size += len(p) + 2
        if needle:
            i = r.randrange(len(out) + 1)
            out.insert(i, "The band played %s at the %s concert." % (BODY_NEEDLE, r.choice(VOCAB)))
        return "\n\n".join(out) + "\n"

    def message(self, i, ts, from_needle, body_needle):
        """Return (bytes, flags) for message number i."""
        r = self.rng
        sender = self.person()
        if from_needle:
            sender = ("Zebulon", FROM_NEEDLE, "zebulon.quackenbush@" + r.choice(DOMAINS))
        rcpts = [self.person() for _ in range(r.choice((1, 1, 1, 2, 3)))]
        tz = r.choice(TZS)
        mid = "<%08x.%d.%s@%s>" % (r.getrandbits(32), i, self._ascii(sender[1]), sender[2].split("@", 1)[1])
        subj_words = r.choices(VOCAB, k=r.randint(2, 9))
        subject = " ".join(subj_words).capitalize()
        is_reply = r.random() < 0.3
        if is_reply:
            subject = "Re: " + subject
        if r.random() < 0.05:
            subject = "=?UTF-8?Q?%s_=E2=80=94_%s?=" % (r.choice(VOCAB), r.choice(VOCAB))
        h = []
        h.append("Return-Path: <%s>" % sender[2])
        h.append("Delivered-To: %s" % rcpts[0][2])
        for hop in range(r.randint(1, 3)):
            h.append("Received: from mx%d.%s (mx%d.%s [10.%d.%d.%d])\n\tby mail.bench.example (Postfix) with "
                     "ESMTPS id %010X\n\tfor <%s>; %s" % (hop, sender[2].split("@")[1], hop, sender[2].split("@")[1],
                                                          r.randrange(256), r.randrange(256), r.randrange(256),
                                                          r.getrandbits(40), rcpts[0][2],
                                                          rfc2822_date(ts + 60 * (3 - hop), TZS[0])))
        h.append("Message-ID: %s" % mid)
        h.append("Date: %s" % rfc2822_date(ts, tz))
        h.append("From: %s" % self.addr(sender))
        h.append("To: %s" % ",\n ".join(self.addr(p) for p in rcpts))
        if r.random() < 0.2:
            h.append("Cc: %s" % self.addr(self.person()))
        h.append("Subject: %s" % subject)
        if is_reply:
            parent = "<%08x.%d@%s>" % (r.getrandbits(32), max(0, i - r.randint(1, 50)), r.choice(DOMAINS))
            h.append("In-Reply-To: %s" % parent)
            h.append("References: %s" % parent)
        mailer = r.choice(MAILERS)
        if mailer:
            h.append("X-Mailer: %s" % mailer)
        h.append("MIME-Version: 1.0")
        target = int(r.triangular(1024, 20480, 4096))
        kind = r.random()
        if kind < 0.60:
            body = self.text(max(200, target - 900), body_needle)
            cs = "us-ascii" if body.isascii() else "utf-8"
            h.append("Content-Type: text/plain; charset=%s; format=flowed" % cs)
            h.append("Content-Transfer-Encoding: %s" % ("7bit" if cs == "us-ascii" else "8bit"))
        elif kind < 0.85:
            b = "=_alt_%016x" % r.getrandbits(64)
            txt = self.text(max(200, (target - 1200) // 2), body_needle)
            html = "<html><body>\n" + "".join("<p>%s</p>\n" % p for p in txt.split("\n\n")) + "</body></html>\n"
            h.append('Content-Type: multipart/alternative; boundary="%s"' % b)
            body = ("This is a multi-part message in MIME format.\n\n--%s\nContent-Type: text/plain; charset=utf-8\n"
                    "Content-Transfer-Encoding: 8bit\n\n%s\n--%s\nContent-Type: text/html; charset=utf-8\n"
                    "Content-Transfer-Encoding: 8bit\n\n%s\n--%s--\n" % (b, txt, b, html, b))
        else:
            b = "=_mixed_%016x" % r.getrandbits(64)
            blob = r.choice(self.blobs)
            blob = blob[:max(300, min(len(blob), (target - 1500) * 3 // 4))]
            enc = base64.encodebytes(blob).decode()
            txt = self.text(max(200, target - 1500 - len(enc)), body_needle)
            ext, ctype = r.choice((("pdf", "application/pdf"), ("png", "image/png"), ("zip", "application/zip")))
            h.append('Content-Type: multipart/mixed; boundary="%s"' % b)
            body = ("--%s\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n%s\n"
                    "--%s\nContent-Type: %s; name=\"%s.%s\"\nContent-Disposition: attachment; filename=\"%s.%s\"\n"
                    "Content-Transfer-Encoding: base64\n\n%s\n--%s--\n"
                    % (b, txt, b, ctype, r.choice(VOCAB), ext, r.choice(VOCAB), ext, enc, b))
        data = ("\n".join(h) + "\n\n" + body).encode()
        x = r.random()
        flags = ""
        if x < 0.05:
            flags += "F"
        if r.random() < 0.08:
            flags += "R"
        if r.random() < 0.75:
            flags += "S"
        return data, flags


def fill_maildir(md, n, seed, t0, span):
    """Write n messages into the Maildir `md` (cur/); returns counts of the needles."""
    for sub in ("cur", "new", "tmp"):
        os.makedirs(os.path.join(md, sub), exist_ok=True)
    g = Generator(seed)
    sel = random.Random(seed ^ 0x5EED)
    counts = {"from": 0, "body": 0, "bytes": 0}
    step = span / max(1, n)
    for i in range(n):
        ts = int(t0 + i * step + sel.uniform(0, step))
        fn_, bn_ = sel.random() < FROM_RATE, sel.random() < BODY_RATE
        data, flags = g.message(i, ts, fn_, bn_)
        counts["from"] += fn_
        counts["body"] += bn_
        counts["bytes"] += len(data)
        name = "%d.M%06dP%dQ%d.bench.example:2,%s" % (ts, sel.randrange(1000000), 4000 + i % 30000, i, flags)
        path = os.path.join(md, "cur", name)
        with open(path, "wb") as f:
            f.write(data)
        os.utime(path, (ts + 30, ts + 30))
    return counts


def build_corpus(root, n, seed):
    """Maildir++ at root/Maildir: INBOX with n messages, .Archive with a few, empty .Sent and .Trash."""
    stamp = os.path.join(root, "corpus.json")
    want = {"version": CORPUS_VERSION, "messages": n, "seed": seed}
    if os.path.exists(stamp):
        with open(stamp) as f:
            have = json.load(f)
        if all(have.get(k) == v for k, v in want.items()):
            return have
        shutil.rmtree(os.path.join(root, "Maildir"), ignore_errors=True)
    md = os.path.join(root, "Maildir")
    t0, span = 1672531200, 2 * 365 * 86400  # 2023-01-01, two years of mail
    started = time.time()
    inbox = fill_maildir(md, n, seed, t0, span)
    n_arch = max(10, min(1000, n // 10))
    arch = fill_maildir(os.path.join(md, ".Archive"), n_arch, seed + 1, t0 - span, span)
    for sub in (".Archive", ".Sent", ".Trash"):
        for d in ("cur", "new", "tmp"):
            os.makedirs(os.path.join(md, sub, d), exist_ok=True)
        open(os.path.join(md, sub, "maildirfolder"), "w").close()
    info = dict(want, archive_messages=n_arch, from_hits=inbox["from"], body_hits=inbox["body"],
                inbox_bytes=inbox["bytes"], archive_bytes=arch["bytes"], build_seconds=round(time.time() - started, 1))
    with open(stamp, "w") as f:
        json.dump(info, f)
    return info


# ---------------------------------------------------------------------------------------------
# A fast raw IMAP client: timing must measure the server, not Python's parsing
# ---------------------------------------------------------------------------------------------

class Session:
    """One preauthenticated server process on stdio. Responses are read as raw bytes until the
    tagged line; nothing is parsed inside the timed section."""

    def __init__(self, argv, env, errlog, timeout):
        self.timeout = timeout
        self.workdir = os.path.dirname(errlog)
        self.err = open(errlog, "ab")
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.err,
                                     env=env, bufsize=0)
        _procs.append(self.proc)
        self.pid = self.proc.pid  # setpriv execs the server, so this is the server's pid
        self.rfd = self.proc.stdout.fileno()
        self.buf = bytearray()
        self.n = 0

    def _read(self, deadline):
        left = deadline - time.time()
        if left <= 0:
            raise TimeoutError("no answer from server (pid %d)" % self.pid)
        r, _, _ = select.select([self.rfd], [], [], left)
        if r:
            chunk = os.read(self.rfd, 1 << 20)
            if not chunk:
                raise EOFError("server (pid %d) closed the connection" % self.pid)
            self.buf += chunk

    def line(self):
        deadline = time.time() + self.timeout
        while True:
            i = self.buf.find(b"\r\n")
            if i >= 0:
                out = bytes(self.buf[:i])
                del self.buf[:i + 2]
                return out
            self._read(deadline)

    def greeting(self):
        g = self.line()
        if not g.startswith(b"* PREAUTH") and not g.startswith(b"* OK"):
            raise RuntimeError("unexpected greeting: %r" % g[:200])
        return g

    def send(self, data):
        self.proc.stdin.write(data)
        self.proc.stdin.flush()

    def cmd(self, text):
        """Send one command; return (all response bytes incl. tagged line, seconds, tagged line)."""
        self.n += 1
        tag = b"b%05d" % self.n
        needle = b"\r\n" + tag + b" "
        deadline = time.time() + self.timeout
        self.buf.clear()
        t = time.perf_counter()
        self.send(tag + b" " + text.encode() + b"\r\n")
        scanned = 0
        while True:
            if self.buf.startswith(tag + b" "):
                pos = 0
            else:
                pos = self.buf.find(needle, max(0, scanned - len(needle)))
                if pos >= 0:
                    pos += 2
            if pos >= 0:
                end = self.buf.find(b"\r\n", pos)
                if end >= 0:
                    dt = time.perf_counter() - t
                    data = bytes(self.buf[:end + 2])
                    del self.buf[:end + 2]
                    return data, dt, data[pos:end]
            scanned = len(self.buf)
            self._read(deadline)

    def ok(self, text):
        data, dt, tagged = self.cmd(text)
        if tagged.split(b" ", 2)[1:2] != [b"OK"]:
            raise RuntimeError("%s -> %r" % (text, tagged[:300]))
        return data, dt

    def close(self):
        try:
            self.cmd("LOGOUT")
        except Exception:
            pass
        try:
            self.proc.stdin.close()
            self.proc.wait(10)
        except Exception:
            self.proc.kill()
            self.proc.wait(5)
        self.err.close()


def memory_kb(pid):
    """VmRSS and private (Private_Clean + Private_Dirty) memory, and Pss, in kB."""
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for ln in f:
            if ln.startswith(("VmRSS:", "RssAnon:", "RssFile:")):
                out[ln.split(":")[0]] = int(ln.split()[1])
    try:
        with open("/proc/%d/smaps_rollup" % pid) as f:
            priv = 0
            for ln in f:
                if ln.startswith(("Private_Clean:", "Private_Dirty:")):
                    priv += int(ln.split()[1])
                elif ln.startswith("Pss:"):
                    out["Pss"] = int(ln.split()[1])
            out["Private"] = priv
    except OSError:
        pass
    return out


def count_exists(data):
    m = re.search(rb"\* (\d+) EXISTS", data)
    return int(m.group(1)) if m else None


def count_search(data):
    m = re.search(rb"(?:^|\r\n)\* SEARCH([ 0-9]*)\r\n", data)
    return len(m.group(1).split()) if m else None


def count_fetch(data):
    return len(re.findall(rb"(?:^|\r\n)\* \d+ FETCH ", data))


# ---------------------------------------------------------------------------------------------
# Servers
# ---------------------------------------------------------------------------------------------

class Server:
    """How to start one server kind over its own copy of the corpus."""

    def __init__(self, kind, workdir, home, binary, timeout):
        self.kind, self.workdir, self.home, self.timeout = kind, workdir, home, timeout
        self.errlog = os.path.join(workdir, kind + ".stderr")
        env = {"HOME": home, "USER": "bench", "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}
        drop = ["setpriv", "--reuid=" + VMAIL, "--regid=" + VMAIL, "--clear-groups"]
        if kind == "dovecot":
            conf = os.path.join(workdir, "dovecot.conf")
            run_dir = os.path.join(workdir, "dcrun")
            os.makedirs(run_dir, exist_ok=True)
            with open(conf, "w") as f:
                f.write("mail_location = maildir:~/Maildir\nbase_dir = %s\nlog_path = /dev/null\n"
                        "namespace inbox {\n inbox = yes\n separator = /\n}\n" % run_dir)
            subprocess.run(["chown", "-R", VMAIL + ":" + VMAIL, run_dir], check=True)
            self.argv = drop + [DOVECOT_IMAP, "-c", conf]
            self.archive = "Archive"
        else:
            self.argv = drop + [binary, "imapd"]
            self.archive = "INBOX/Archive"
        self.env = env

    def session(self):
        s = Session(self.argv, self.env, self.errlog, self.timeout)
        s.greeting()
        return s


def strace_counts(session, command, reps):
    """Attach strace -f -c to the server, run `command` reps times, detach; per-command syscall counts."""
    fd, out = tempfile.mkstemp(prefix="strace.", suffix=".txt", dir=session.workdir)
    os.close(fd)
    st = subprocess.Popen(["strace", "-f", "-c", "-o", out, "-p", str(session.pid)],
                          stderr=subprocess.PIPE, stdout=subprocess.DEVNULL)
    _procs.append(st)
    try:
        # wait until strace says it attached, then a moment for the other threads
        deadline = time.time() + 10
        got = b""
        while b"attached" not in got and time.time() < deadline:
            r, _, _ = select.select([st.stderr], [], [], 0.2)
            if r:
                chunk = os.read(st.stderr.fileno(), 4096)
                if not chunk:
                    break
                got += chunk
        if b"attached" not in got:
            raise RuntimeError("strace did not attach: %r" % got[-300:])
        time.sleep(0.3)
        for _ in range(reps):
            session.ok(command)
        time.sleep(0.1)
    finally:
        st.send_signal(signal.SIGINT)
        try:
            st.wait(10)
        except subprocess.TimeoutExpired:
            st.kill()
            st.wait(5)
    calls = {}
    with open(out) as f:
        for ln in f:
            fs = ln.split()
            if len(fs) >= 5 and fs[3].isdigit() and fs[-1] != "total":
                calls[fs[-1]] = int(fs[3])
    os.unlink(out)
    stat_family = ("stat", "lstat", "fstat", "newfstatat", "statx", "stat64", "lstat64", "fstat64",
                   "fstatat64", "access", "faccessat", "faccessat2")
    per = lambda names: sum(v for k, v in calls.items() if k in names) / reps
    return {
        "stat": sum(v for k, v in calls.items() if k in stat_family[:9]) / reps,
        "access": per(stat_family[9:]),
        "getdents64": per(("getdents64", "getdents")),
        "open": per(("open", "openat", "openat2")),
        "total": sum(calls.values()) / reps,
        "raw": calls,
    }


def med(xs):
    return statistics.median(xs) if xs else None


def bench_server(kind, srv, corpus, runs, log):
    """Run every measure against one server; returns {measure: value} plus raw samples."""
    n = corpus["messages"]
    res, raw = {}, {}

    def note(msg):
        log("  [%s] %s" % (kind, msg))

    # 1. first SELECT, no state
    s = srv.session()
    data, dt = s.ok("SELECT INBOX")
    if count_exists(data) != n:
        raise RuntimeError("SELECT INBOX: expected %d EXISTS, got %r" % (n, count_exists(data)))
    res["select_first"] = dt
    note("first SELECT %.3f s" % dt)
    s.close()

    # 2. warm SELECT, each in a new session
    xs = []
    for _ in range(runs):
        s = srv.session()
        xs.append(s.ok("SELECT INBOX")[1])
        s.close()
    res["select_warm"] = med(xs)
    raw["select_warm"] = xs
    note("warm SELECT median %.4f s" % res["select_warm"])

    s = srv.session()
    s.ok("SELECT INBOX")

    # 3. UID FETCH 1:* (UID FLAGS)
    xs = []
    for _ in range(runs):
        data, dt = s.ok("UID FETCH 1:* (UID FLAGS)")
        if count_fetch(data) != n:
            raise RuntimeError("UID FETCH 1:*: %d FETCH responses, expected %d" % (count_fetch(data), n))
        xs.append(dt)
    res["uid_fetch_flags"] = med(xs)
    raw["uid_fetch_flags"] = xs
    note("UID FETCH 1:* (UID FLAGS) median %.3f s" % res["uid_fetch_flags"])

    # 4/5. SEARCH FROM and SEARCH BODY: first run, then the median of the repeats
    for key, crit, want in (("search_from", 'SEARCH FROM "%s"' % FROM_NEEDLE, corpus["from_hits"]),
                            ("search_body", 'SEARCH BODY "%s"' % BODY_NEEDLE, corpus["body_hits"])):
        xs = []
        for _ in range(max(2, min(runs, 3))):
            data, dt = s.ok(crit)
            got = count_search(data)
            if got != want:
                raise RuntimeError("%s: %r hits, expected %d" % (crit, got, want))
            xs.append(dt)
        res[key + "_first"], res[key] = xs[0], med(xs[1:])
        raw[key] = xs
        note("%s first %.3f s, repeat median %.3f s (%d hits)" % (crit, xs[0], res[key], want))

    # 6. FETCH 1:1000 ENVELOPE / BODYSTRUCTURE
    hi = min(1000, n)
    for key, items in (("fetch_envelope", "ENVELOPE"), ("fetch_bodystructure", "BODYSTRUCTURE")):
        xs = []
        for _ in range(runs):
            data, dt = s.ok("FETCH 1:%d (%s)" % (hi, items))
            if count_fetch(data) != hi:
                raise RuntimeError("FETCH 1:%d (%s): %d responses" % (hi, items, count_fetch(data)))
            xs.append(dt)
        res[key + "_first"], res[key] = xs[0], med(xs[1:]) if len(xs) > 1 else xs[0]
        raw[key] = xs
        note("FETCH 1:%d (%s) first %.3f s, repeat median %.3f s" % (hi, items, xs[0], res[key]))

    # 7. syscalls per NOOP (INBOX selected, unchanged) and per STATUS of an unchanged, unselected mailbox
    reps = 100
    s.ok("NOOP")
    sc = strace_counts(s, "NOOP", reps)
    raw["noop_syscalls"] = sc
    for k in ("stat", "getdents64", "open", "total"):
        res["noop_" + k] = sc[k]
    note("NOOP per command: stat %.2f getdents64 %.2f open %.2f total %.1f" %
         (sc["stat"], sc["getdents64"], sc["open"], sc["total"]))
    st_cmd = "STATUS %s (MESSAGES RECENT UIDNEXT UIDVALIDITY UNSEEN)" % srv.archive
    data, _ = s.ok(st_cmd)
    if not re.search(rb"\* STATUS .*MESSAGES %d" % corpus["archive_messages"], data):
        raise RuntimeError("STATUS: unexpected answer %r" % data[:300])
    s.ok(st_cmd)
    sc = strace_counts(s, st_cmd, reps)
    raw["status_syscalls"] = sc
    for k in ("stat", "getdents64", "open", "total"):
        res["status_" + k] = sc[k]
    note("STATUS per command: stat %.2f getdents64 %.2f open %.2f total %.1f" %
         (sc["stat"], sc["getdents64"], sc["open"], sc["total"]))
    s.close()
    # the big mailbox, unselected: STATUS INBOX from a session with Archive selected
    s = srv.session()
    s.ok("SELECT %s" % srv.archive)
    st_cmd = "STATUS INBOX (MESSAGES RECENT UIDNEXT UIDVALIDITY UNSEEN)"
    data, _ = s.ok(st_cmd)
    if not re.search(rb"\* STATUS .*MESSAGES %d" % n, data):
        raise RuntimeError("STATUS INBOX: unexpected answer %r" % data[:300])
    s.ok(st_cmd)
    sc = strace_counts(s, st_cmd, reps)
    raw["status_inbox_syscalls"] = sc
    for k in ("stat", "getdents64", "open", "total"):
        res["status_inbox_" + k] = sc[k]
    note("STATUS INBOX per command: stat %.2f getdents64 %.2f open %.2f total %.1f" %
         (sc["stat"], sc["getdents64"], sc["open"], sc["total"]))
    s.close()

    # 8. memory of an idle connection (its own process in stdio mode): after SELECT, and in IDLE
    for key, box in (("mem_inbox", "INBOX"), ("mem_archive", srv.archive)):
        s = srv.session()
        s.ok("SELECT %s" % box)
        time.sleep(0.2)
        m = memory_kb(s.pid)
        idle = None
        s.n += 1
        tag = b"b%05d" % s.n
        s.send(tag + b" IDLE\r\n")
        ln = s.line()
        if ln.startswith(b"+"):
            time.sleep(0.3)
            idle = memory_kb(s.pid)
            s.send(b"DONE\r\n")
            while not ln.startswith(tag + b" "):
                ln = s.line()
        else:
            while not ln.startswith(tag + b" "):
                ln = s.line()
        s.close()
        use = idle or m
        res[key + "_private_kb"] = use.get("Private")
        res[key + "_anon_kb"] = use.get("RssAnon")
        res[key + "_rss_kb"] = use.get("VmRSS")
        raw[key] = {"after_select": m, "in_idle": idle}
        note("idle connection on %s: RssAnon %s kB (USS %s kB, VmRSS %s kB)%s" %
             (box, use.get("RssAnon"), use.get("Private"), use.get("VmRSS"), "" if idle else " (no IDLE; after SELECT)"))
    return res, raw


def bench_serve(binary, workdir, home, conns, log):
    """Memory per idle TCP connection under `bincimap serve` (run as vmail, plaintext listener on
    loopback, a password file with one user whose home is `home`). Returns None (skipped) if serve
    does not start or LOGIN/SELECT fail."""
    port = _free_port()
    data_dir = os.path.join(workdir, "serve-data")
    os.makedirs(data_dir, exist_ok=True)
    pw = os.path.join(workdir, "serve-passwd")
    hashed = _password_hash(binary, "bench")
    if not hashed:
        log("  [bincimap serve] could not hash a password (bincimap passwd, openssl passwd -6); skipped")
        return None
    with open(pw, "w") as f:
        f.write("bench:%s:::%s\n" % (hashed, home))  # no uid/gid: serve itself runs as vmail
    conf = os.path.join(workdir, "serve.toml")
    with open(conf, "w") as f:
        # All connections come from 127.0.0.1: lift the per-IP limit for this measure.
        f.write('[server]\nlisten = ["127.0.0.1:%d"]\ndata_dir = "%s"\n[auth]\npasswd_file = "%s"\n'
                '[limits]\nmax_connections_per_ip = 0\n'
                % (port, data_dir, pw))
    subprocess.run(["chown", "-R", VMAIL + ":" + VMAIL, data_dir, pw, conf], check=True)
    argv = ["setpriv", "--reuid=" + VMAIL, "--regid=" + VMAIL, "--clear-groups", binary, "serve", "--config", conf]
    env = {"HOME": data_dir, "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}
    errf = open(os.path.join(workdir, "serve.stderr"), "ab")
    p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=errf, env=env)
    _procs.append(p)
    socks = []
    try:
        deadline = time.time() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if p.poll() is not None or time.time() > deadline:
                    log("  [bincimap serve] did not start; skipped")
                    return None
                time.sleep(0.1)
        time.sleep(0.3)
        before = memory_kb(p.pid)
        made = 0
        for i in range(conns):
            # stop early rather than let a server that holds a lot per session eat the machine
            if i % 10 == 0 and i and memory_kb(p.pid).get("VmRSS", 0) - before.get("VmRSS", 0) > SERVE_BUDGET_KB:
                log("  [bincimap serve] stopped at %d connections: RSS grew past %d MB" % (i, SERVE_BUDGET_KB // 1024))
                break
            c = socket.create_connection(("127.0.0.1", port), timeout=30)
            socks.append(c)
            f = c.makefile("rb")
            f.readline()
            c.sendall(b"a LOGIN bench bench\r\nb SELECT INBOX\r\n")
            ok = 0
            while ok < 2:
                ln = f.readline()
                if not ln:
                    raise EOFError("serve closed connection %d after %d good ones" % (i + 1, made))
                if ln.startswith((b"a ", b"b ")):
                    if b" OK" not in ln[:6]:
                        log("  [bincimap serve] %r; skipped" % ln[:200])
                        return None
                    ok += 1
            made += 1
        time.sleep(0.5)
        after = memory_kb(p.pid)
        per = {k: (after[k] - before.get(k, 0)) / made for k in after}
        log("  [bincimap serve] %d connections: VmRSS growth %.1f kB per connection" % (made, per.get("VmRSS", 0)))
        return {"before": before, "after": after, "connections": made, "per_conn_kb": per}
    except Exception as e:
        try:
            with open(os.path.join(workdir, "serve.stderr"), "rb") as f:
                tail = f.read()[-600:].decode("utf-8", "replace").strip()
        except OSError:
            tail = ""
        log("  [bincimap serve] skipped: %s%s" % (e, ("; serve's stderr ends: " + tail) if tail else ""))
        return None
    finally:
        for c in socks:
            try:
                c.close()
            except Exception:
                pass
        p.terminate()
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(5)
        errf.close()


def _password_hash(binary, password):
    """A crypt-style hash the password file accepts: `bincimap passwd` (argon2id), else sha512-crypt."""
    try:
        r = subprocess.run([binary, "passwd"], input=password + "\n", capture_output=True, text=True, timeout=30)
    except subprocess.TimeoutExpired:
        r = subprocess.CompletedProcess([], 1, "", "")
    h = r.stdout.strip().splitlines()[-1].strip() if r.returncode == 0 and r.stdout.strip() else ""
    if h.startswith("$"):
        return h
    r = subprocess.run(["openssl", "passwd", "-6", password], capture_output=True, text=True)
    h = r.stdout.strip()
    return h if r.returncode == 0 and h.startswith("$6$") else None


def _free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def _uid(name):
    return int(subprocess.run(["id", "-u", name], capture_output=True, text=True, check=True).stdout)


def _gid(name):
    return int(subprocess.run(["id", "-g", name], capture_output=True, text=True, check=True).stdout)


def grep_reference(maildir, runs):
    xs, hits = [], None
    cmd = "grep -rl %s %s | wc -l" % (BODY_NEEDLE, os.path.join(maildir, "cur"))
    for _ in range(runs):
        t = time.perf_counter()
        out = subprocess.run(cmd, shell=True, capture_output=True, text=True).stdout
        xs.append(time.perf_counter() - t)
        hits = int(out.strip() or 0)
    return min(xs), hits, cmd


# ---------------------------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------------------------

# (key, label, unit, ROADMAP target). Targets from /work/shared/ROADMAP.md "Numbers to design for".
ROWS = [
    ("select_first", "first SELECT INBOX, no state", "s", "<= 0.3 s (Dovecot 1.06 s)"),
    ("select_warm", "warm SELECT INBOX (new session)", "s", "<= 1 ms (Dovecot 2 ms)"),
    ("uid_fetch_flags", "UID FETCH 1:* (UID FLAGS)", "s", "<= 0.06 s (Dovecot 0.18 s)"),
    ("search_from_first", "SEARCH FROM, first", "s", "<= 0.5 s (Dovecot 2.9 s)"),
    ("search_from", "SEARCH FROM, repeat", "s", "<= 0.5 s"),
    ("search_body_first", "SEARCH BODY, first", "s", "<= grep (Dovecot 2.4 s)"),
    ("search_body", "SEARCH BODY, repeat", "s", "<= grep"),
    ("grep", "  reference: grep -rl | wc -l", "s", ""),
    ("fetch_envelope_first", "FETCH 1:1000 (ENVELOPE), first", "s", ""),
    ("fetch_envelope", "FETCH 1:1000 (ENVELOPE), repeat", "s", ""),
    ("fetch_bodystructure_first", "FETCH 1:1000 (BODYSTRUCTURE), first", "s", ""),
    ("fetch_bodystructure", "FETCH 1:1000 (BODYSTRUCTURE), repeat", "s", ""),
    ("noop_stat", "stat calls per NOOP", "", "<= 2 (Dovecot 8)"),
    ("noop_getdents64", "getdents64 per NOOP", "", "0"),
    ("noop_open", "open/openat per NOOP", "", ""),
    ("noop_total", "all syscalls per NOOP", "", ""),
    ("status_stat", "stat calls per STATUS Archive", "", "<= 3 (Dovecot 20)"),
    ("status_getdents64", "getdents64 per STATUS Archive", "", "0"),
    ("status_open", "open/openat per STATUS Archive", "", "0 (Dovecot 1)"),
    ("status_total", "all syscalls per STATUS Archive", "", ""),
    ("status_inbox_stat", "stat calls per STATUS INBOX", "", "<= 3 (Dovecot 20)"),
    ("status_inbox_getdents64", "getdents64 per STATUS INBOX", "", "0"),
    ("status_inbox_open", "open/openat per STATUS INBOX", "", "0 (Dovecot 1)"),
    ("status_inbox_total", "all syscalls per STATUS INBOX", "", ""),
    # RssAnon, not USS: file-backed pages of shared libraries count as "private" whenever no other
    # process happens to map them, so USS swings by megabytes between identical runs
    ("mem_inbox_anon_kb", "idle connection RssAnon, INBOX", "kB", "<= 64 kB (Dovecot 572 kB)"),
    ("mem_archive_anon_kb", "idle connection RssAnon, Archive", "kB", "<= 64 kB"),
    ("serve_rss_per_conn_kb", "serve: VmRSS growth per connection", "kB", "<= 64 kB"),
    ("serve_anon_per_conn_kb", "serve: RssAnon growth per connection", "kB", "<= 64 kB"),
]


def fmt(v, unit):
    if v is None:
        return "-"
    if unit == "s":
        return "%.2f ms" % (v * 1000) if v < 0.1 else "%.3f s" % v
    if unit == "kB":
        return "%d kB" % v
    return ("%.2f" % v).rstrip("0").rstrip(".") if v != int(v) else "%d" % v


def table(results, grep_t):
    d, b = results.get("dovecot", {}), results.get("bincimap", {})
    lines = []
    hdr = ("measure", "Dovecot", "bincimap", "ratio", "target")
    rows = []
    for key, label, unit, target in ROWS:
        if key == "grep":
            rows.append((label, fmt(grep_t, "s"), fmt(grep_t, "s"), "", target))
            continue
        dv, bv = d.get(key), b.get(key)
        if dv is None and bv is None:
            continue
        ratio = "-"
        if dv is not None and bv is not None:
            ratio = "%.2f" % (dv / bv) if bv else ("inf" if dv else "=")
        rows.append((label, fmt(dv, unit), fmt(bv, unit), ratio, target))
    w = [max(len(str(r[i])) for r in rows + [hdr]) for i in range(5)]
    for r in [hdr] + rows:
        lines.append("  ".join(str(c).ljust(w[i]) if i in (0, 4) else str(c).rjust(w[i]) for i, c in enumerate(r)))
        if r is hdr:
            lines.append("  ".join("-" * x for x in w))
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--binary", default=os.path.join(REPO, "target", "release", "bincimap"))
    ap.add_argument("--messages", type=int, default=100000)
    ap.add_argument("--quick", action="store_true", help="smoke run: 5000 messages, 3 runs")
    ap.add_argument("--only", choices=("dovecot", "bincimap"))
    ap.add_argument("--runs", type=int, default=5, help="repetitions for best/median measures")
    ap.add_argument("--seed", type=int, default=20260101)
    ap.add_argument("--corpus", help="keep the generated Maildir in this directory and reuse it next time")
    ap.add_argument("--workdir", help="parent of the temp dir (default: $TMPDIR or /tmp)")
    ap.add_argument("--serve-conns", type=int, default=200)
    ap.add_argument("--timeout", type=float, default=900, help="seconds per command before giving up")
    ap.add_argument("--out", help="JSON results file (default bench/results/<date>[-n<N>].json)")
    ap.add_argument("--keep", action="store_true", help="keep the work dir (server copies, logs)")
    ap.add_argument("--note", help="free text stored in the JSON (e.g. which build this is)")
    a = ap.parse_args()
    if a.quick:
        a.messages, a.runs = 5000, min(a.runs, 3)
    signal.signal(signal.SIGTERM, _sigterm)
    log = lambda m: print(m, file=sys.stderr, flush=True)

    if os.geteuid() != 0:
        sys.exit("run as root: servers run as %s via setpriv, and strace attaches to them" % VMAIL)
    if subprocess.run(["id", VMAIL], capture_output=True).returncode != 0:
        sys.exit("no %s user (see /work/shared/tools/dovecot_diff.py: useradd -r -u 5000 -U -M vmail)" % VMAIL)
    kinds = [k for k in ("dovecot", "bincimap") if a.only in (None, k)]
    if "dovecot" in kinds and not os.path.exists(DOVECOT_IMAP):
        sys.exit("%s missing: apt-get install dovecot-imapd" % DOVECOT_IMAP)
    binary = os.path.abspath(a.binary)
    if "bincimap" in kinds and not os.access(binary, os.X_OK):
        sys.exit("no bincimap binary at %s (cargo build --release, or --binary, or --only dovecot)" % binary)
    if not shutil.which("strace"):
        sys.exit("strace missing: apt-get install strace")

    load = os.getloadavg()[0]
    if load > 1.0:
        log("warning: load average %.1f on %d CPUs; timings will be noisy" % (load, os.cpu_count()))
    work = tempfile.mkdtemp(prefix="bincbench.", dir=a.workdir)
    os.chmod(work, 0o755)
    results, raws, meta = {}, {}, {}
    try:
        corpus_root = os.path.abspath(a.corpus) if a.corpus else os.path.join(work, "corpus")
        os.makedirs(corpus_root, exist_ok=True)
        log("building corpus: %d messages in %s ..." % (a.messages, corpus_root))
        corpus = build_corpus(corpus_root, a.messages, a.seed)
        log("corpus: %d INBOX messages (%.0f MB), %d in Archive; FROM needle in %d, BODY needle in %d "
            "(built in %ss)" % (corpus["messages"], corpus["inbox_bytes"] / 1e6, corpus["archive_messages"],
                                corpus["from_hits"], corpus["body_hits"], corpus["build_seconds"]))
        grep_t, grep_hits, grep_cmd = grep_reference(os.path.join(corpus_root, "Maildir"), a.runs)
        if grep_hits != corpus["body_hits"]:
            log("warning: grep finds %d files, the generator placed the needle in %d" % (grep_hits, corpus["body_hits"]))
        log("grep reference: %s -> %d in %.3f s (best of %d)" % (grep_cmd, grep_hits, grep_t, a.runs))
        if "bincimap" in kinds:
            # vmail must be able to run it, wherever the build lives
            local = os.path.join(work, "bincimap")
            shutil.copy(binary, local)
            os.chmod(local, 0o755)
        for kind in kinds:
            home = os.path.join(work, kind + "-home")
            os.makedirs(home)
            log("copying the corpus for %s ..." % kind)
            subprocess.run(["cp", "-a", os.path.join(corpus_root, "Maildir"), home], check=True)
            subprocess.run(["chown", "-R", VMAIL + ":" + VMAIL, home], check=True)
            subprocess.run(["sync"])
            srv = Server(kind, work, home, os.path.join(work, "bincimap"), a.timeout)
            log("benchmarking %s ..." % kind)
            res, raw = bench_server(kind, srv, corpus, a.runs, log)
            if kind == "bincimap":
                sv = bench_serve(os.path.join(work, "bincimap"), work, home, a.serve_conns, log)
                if sv:
                    res["serve_rss_per_conn_kb"] = sv["per_conn_kb"].get("VmRSS")
                    res["serve_anon_per_conn_kb"] = sv["per_conn_kb"].get("RssAnon")
                    raw["serve"] = sv
            results[kind], raws[kind] = res, raw
            if not a.keep:
                shutil.rmtree(home, ignore_errors=True)
        print()
        print("%d messages in INBOX (%.0f MB), %d in Archive; medians of %d runs unless marked 'first'; "
              "ratio = Dovecot / bincimap (> 1: bincimap is faster or smaller)"
              % (corpus["messages"], corpus["inbox_bytes"] / 1e6, corpus["archive_messages"], a.runs))
        print(table(results, grep_t))
        meta = {
            "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "argv": sys.argv,
            "note": a.note,
            "host": {"cpus": os.cpu_count(), "loadavg_at_start": load, "loadavg_at_end": os.getloadavg()[0], "kernel": platform.release(), "python": platform.python_version()},
            "dovecot_version": subprocess.run(["/usr/sbin/dovecot", "--version"], capture_output=True,
                                              text=True).stdout.strip() if "dovecot" in kinds else None,
            "bincimap_binary": binary if "bincimap" in kinds else None,
            "bincimap_commit": _git_rev(binary) if "bincimap" in kinds else None,
            "corpus": corpus,
            "grep": {"command": grep_cmd, "seconds": grep_t, "hits": grep_hits},
            "runs": a.runs,
            "units": {k: u for k, _, u, _ in ROWS},
            "targets": {k: t for k, _, _, t in ROWS if t},
        }
        out = a.out
        if not out:
            day = time.strftime("%Y-%m-%d", time.gmtime())
            name = day if a.messages == 100000 and not a.only else "%s-n%d%s" % (
                day, a.messages, "-" + a.only if a.only else "")
            out = os.path.join(HERE, "results", name + ".json")
        os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
        with open(out, "w") as f:
            json.dump({"meta": meta, "results": results, "raw": raws}, f, indent=1, sort_keys=True)
        print("\nresults written to %s" % out)
    finally:
        _cleanup_procs()
        if a.keep:
            log("work dir kept: %s" % work)
        else:
            shutil.rmtree(work, ignore_errors=True)


def _git_rev(binary):
    d = os.path.dirname(binary)
    while d and d != "/":
        if os.path.exists(os.path.join(d, ".git")):
            r = subprocess.run(["git", "-C", d, "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
            return r.stdout.strip() or None
        d = os.path.dirname(d)
    return None


if __name__ == "__main__":
    main()
