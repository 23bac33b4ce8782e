"""Compare src/mime (via examples/mime_dump) with Dovecot 2.3 on a corpus of message files.

For every message, Dovecot's imap (preauthenticated on stdio over a Maildir, as the vmail user) is asked for
ENVELOPE BODY BODYSTRUCTURE, then BODY.PEEK[section] for HEADER, TEXT, HEADER.FIELDS (FROM SUBJECT DATE X-NOPE),
HEADER.FIELDS.NOT (RECEIVED SUBJECT), every part n, n.MIME, and n.HEADER / n.TEXT for message/rfc822 parts, plus
a few nonexistent parts. The same is asked of `mime_dump FILE SECTION...`, which prints one FETCH-like response.
Both are parsed structurally (imapc.parse_fetch), so quoted vs literal strings do not matter.

usage (as root): python3 tests/tools/mime_vs_dovecot.py [FILES_OR_DIRS...]
  default corpus: CPython test_email data/msg_*.txt plus tests/tools/malformed/*.eml
  needs target/debug/examples/mime_dump (cargo build --example mime_dump)
Differences go to /tmp/mime-vs-dovecot.log, one JSON line each.
"""
import os, sys, glob, json, shutil, subprocess
sys.path.insert(0, "/work/shared/tools")
import imapc
from imapc import parse_fetch, norm_strings
import dovecot_diff as dd

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
DUMP = os.path.join(ROOT, "target", "debug", "examples", "mime_dump")

def corpus(args):
    files = []
    if not args:
        args = sorted(glob.glob("/root/.pyenv/versions/3.11.7/lib/python3.11/test/test_email/data/msg_*.txt"))
        args += sorted(glob.glob(os.path.join(HERE, "malformed", "*.eml")))
    for a in args:
        if os.path.isdir(a):
            files += sorted(os.path.join(a, f) for f in os.listdir(a))
        else:
            files.append(a)
    return [(os.path.basename(f), f, open(f, "rb").read()) for f in files]

def sections_for(bs):
    secs = ["HEADER", "TEXT", "HEADER.FIELDS (FROM SUBJECT DATE X-NOPE)", "HEADER.FIELDS.NOT (RECEIVED SUBJECT)",
            "", "1", "1.MIME", "9", "1.9", "2.1.MIME", "1.HEADER", "1.TEXT"]
    for p, is_msg in dd.part_paths(bs):
        for s in (p, p + ".MIME"):
            if s not in secs:
                secs.append(s)
        if is_msg:
            for s in (p + ".HEADER", p + ".TEXT", p + ".HEADER.FIELDS (SUBJECT FROM)", p + ".HEADER.FIELDS.NOT (SUBJECT)"):
                if s not in secs:
                    secs.append(s)
    return secs

def first_body(items):
    return next((v for k, v in items.items() if k.startswith(b"BODY[")), None)

def main():
    msgs = corpus(sys.argv[1:])
    dd.ensure_dovecot()
    workdir = "/tmp/mime-vs-dovecot"
    shutil.rmtree(workdir, ignore_errors=True); os.makedirs(workdir); os.chmod(workdir, 0o755)
    home = os.path.join(workdir, "home")
    dd.make_home(home, [(n, data) for n, _, data in msgs])
    d = dd.dovecot_conn(home, workdir)
    d.greeting(); d.cmd("SELECT INBOX")
    stats = {}
    log = open("/tmp/mime-vs-dovecot.log", "w")
    def tally(cat, equal, detail):
        e, t = stats.get(cat, (0, 0)); stats[cat] = (e + (1 if equal else 0), t + 1)
        if not equal:
            log.write(json.dumps({"cat": cat, **detail}, default=lambda b: b.decode("latin-1") if isinstance(b, bytes) else repr(b)) + "\n")
    for seq, (name, path, data) in enumerate(msgs, 1):
        base = ["ENVELOPE", "BODY", "BODYSTRUCTURE"]
        # Dovecot's first BODY of a plain 7bit message differs from all later
        # ones (it then caches a "plain 7bit" flag); compare the steady state.
        dd.fetch_items(d, seq, "BODYSTRUCTURE")
        gd, _ = dd.fetch_items(d, seq, " ".join(base))
        secs = sections_for(gd.get(b"BODYSTRUCTURE"))
        r = subprocess.run([DUMP, path] + secs, capture_output=True)
        if r.returncode != 0:
            tally("crash", False, {"msg": name, "stderr": r.stderr[-2000:]})
            continue
        pf = parse_fetch(r.stdout.rstrip(b"\r\n"))
        ours = pf[1] if pf else {}
        for item in base:
            a, b = norm_strings(gd.get(item.encode())), norm_strings(ours.get(item.encode()))
            tally(item, a == b and a is not None, {"msg": name, "item": item, "dovecot": a, "ours": b})
        for sec in secs:
            a = first_body(dd.fetch_items(d, seq, "BODY.PEEK[%s]" % sec)[0])
            b = ours.get(("BODY[%s]" % sec).encode())
            a, b = norm_strings(a), norm_strings(b)
            tally("BODY[section]", a == b and a is not None, {"msg": name, "item": sec, "dovecot": a, "ours": b})
    d.close()
    tot_e = sum(e for e, t in stats.values()); tot_t = sum(t for e, t in stats.values())
    print(" ".join("%s=%d/%d" % (k, e, t) for k, (e, t) in stats.items()))
    print("equal to Dovecot: %d/%d (%d messages); differences in /tmp/mime-vs-dovecot.log" % (tot_e, tot_t, len(msgs)))
    sys.exit(0 if tot_e == tot_t else 1)

if __name__ == "__main__":
    main()
