"""Deterministic mutants of the corpus for differential testing against Dovecot.
usage: python3 tests/tools/gen_mutants.py OUTDIR [COUNT] [SEED]
then:  python3 tests/tools/mime_vs_dovecot.py OUTDIR"""
import os, sys, glob, random

HERE = os.path.dirname(os.path.abspath(__file__))
out = sys.argv[1]; n = int(sys.argv[2]) if len(sys.argv) > 2 else 200
rnd = random.Random(int(sys.argv[3]) if len(sys.argv) > 3 else 1)
src = sorted(glob.glob("/root/.pyenv/versions/3.11.7/lib/python3.11/test/test_email/data/msg_*.txt"))
src += sorted(glob.glob(os.path.join(HERE, "malformed", "*.eml")))
msgs = [open(f, "rb").read() for f in src]
os.makedirs(out, exist_ok=True)
TOK = [b"\n", b"\r\n", b"--", b":", b";", b"\"", b"(", b")", b"<", b">", b"@", b",", b"=", b" ", b"\t", b"\0",
       b"\x80", b"=?utf-8?q?x?=", b"boundary=", b"Content-Type: multipart/mixed; boundary=Q\n",
       b"Content-Type: message/rfc822\n", b"\n--Q\n", b"\n--Q--\n", b"*0=", b"*1*=", b"'"]
for i in range(n):
    m = bytearray(rnd.choice(msgs))
    lines = m.split(b"\n")
    for _ in range(rnd.randint(1, 6)):
        op = rnd.randint(0, 5)
        if op == 0 and lines:          # delete a line
            del lines[rnd.randrange(len(lines))]
        elif op == 1 and lines:        # duplicate a line (boundaries, headers)
            k = rnd.randrange(len(lines)); lines.insert(rnd.randrange(len(lines) + 1), lines[k])
        elif op == 2 and lines:        # insert a token inside a line
            k = rnd.randrange(len(lines)); l = lines[k]; p = rnd.randint(0, len(l))
            lines[k] = l[:p] + rnd.choice(TOK) + l[p:]
        elif op == 3 and lines:        # truncate the message
            lines = lines[:rnd.randint(1, len(lines))]
        elif op == 4 and lines:        # strip a line's end
            k = rnd.randrange(len(lines)); lines[k] = lines[k][: rnd.randint(0, len(lines[k]))]
        else:                          # swap two lines
            if len(lines) > 2:
                a, b = rnd.randrange(len(lines)), rnd.randrange(len(lines)); lines[a], lines[b] = lines[b], lines[a]
    with open(os.path.join(out, "mut_%04d.eml" % i), "wb") as f:
        f.write(b"\n".join(lines))
