"""Checks Message::body_text() scope against Dovecot's SEARCH BODY: words found in our body text must match in
Dovecot, words only found elsewhere in the raw message (headers, attachments, preambles) must not.
usage (as root): python3 tests/tools/search_scope_vs_dovecot.py [FILES_OR_DIRS...]"""
import os, sys, re, random, shutil, subprocess
sys.path.insert(0, "/work/shared/tools")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dovecot_diff as dd
from mime_vs_dovecot import corpus, DUMP

def main():
    msgs = corpus(sys.argv[1:])
    dd.ensure_dovecot()
    w = "/tmp/search-scope"; shutil.rmtree(w, ignore_errors=True); os.makedirs(w); os.chmod(w, 0o755)
    dd.make_home(w + "/home", [(n, d) for n, _, d in msgs])
    c = dd.dovecot_conn(w + "/home", w); c.greeting(); c.cmd("SELECT INBOX")
    rnd = random.Random(7); ok = tot = 0
    for seq, (name, path, data) in enumerate(msgs, 1):
        body = subprocess.run([DUMP, path, "--body-text"], capture_output=True).stdout.decode("utf-8", "replace").lower()
        words_raw = set(re.findall(rb"[A-Za-z]{6,}", data))
        words = sorted(w.decode().lower() for w in words_raw)
        inside = [x for x in words if x in body]
        outside = [x for x in words if x not in body]
        for wd, expect in [(x, True) for x in rnd.sample(inside, min(3, len(inside)))] + \
                          [(x, False) for x in rnd.sample(outside, min(3, len(outside)))]:
            u, t = c.cmd('SEARCH %d BODY "%s"' % (seq, wd))
            got = any(r.split()[2:] and str(seq).encode() in r.split()[2:] for r in u if r.startswith(b"* SEARCH"))
            tot += 1
            if got == expect:
                ok += 1
            else:
                print("%s: BODY %r dovecot=%s ours=%s" % (name, wd, got, expect))
    print("search scope equal: %d/%d" % (ok, tot))

if __name__ == "__main__":
    main()
