"""Hostile and broken input: malformed commands, a huge line, a huge literal, garbage bytes, a client that goes
away mid-literal, and malformed messages APPENDed and then FETCHed and SEARCHed. The session must answer BAD/NO
and go on (or, for an oversized line, may say BYE), and never hang or crash."""
import os
import random
import re
import threading
import unittest

from support import (IS_DOVECOT, ImapTestCase, ServerClosed, fetches, make_msg, search_ids, status)


class TestMalformedCommands(ImapTestCase):
    def probe_alive(self, c, tag):
        """Sends a NOOP with a unique tag and returns everything before its tagged OK."""
        c.send(tag + b" NOOP\r\n")
        out = []
        while True:
            r = c.read_response()
            if r.startswith(tag + b" "):
                self.assertEqual(status(r), "OK", r)
                return out
            out.append(r)

    def test_malformed_lines_get_bad(self):
        c = self.session(select="INBOX")
        self.append(c, make_msg())
        lines = [b"a SELECT", b"a FETCH 1:2:3 FLAGS", b"a LIST", b"a LIST \"\"", b"a STORE 1 +FLAGS (\\Seen",
                 b"a SEARCH (", b"a UID", b"a UID BOGUS",
                 b"a FETCH 1 BODY[1.2.3.a]", b"a FETCH 1 BODY[]<", b"a FETCH 1 (BODY[] BODY[", b"a COPY",
                 b"a SELECT \"unterminated", b"a SELECT \"bad\\escape\"", b"a STATUS INBOX (MESSAGES",
                 b"a CREATE", b"a RENAME x", b"a APPEND INBOX (\\Seen) {x}", b"a FETCH 4294967296 FLAGS",
                 b"a FETCH 1:99999999999999999999 FLAGS", b"a SEARCH LARGER 99999999999999999999999",
                 b"a FETCH 1 BODY[HEADER.FIELDS ()]", b"a NOOP\x00", b"a SEL\xffECT INBOX",
                 b"a " + b"(" * 2000, b"a SEARCH " + b"NOT " * 5000 + b"ALL",
                 b"a SEARCH " + b"(" * 500 + b"ALL" + b")" * 500]
        if not IS_DOVECOT:  # Dovecot ignores trailing arguments of argument-less commands
            lines += [b"a NOOP extra", b"a CAPABILITY now", b"a LOGOUT x", b"a CHECK x", b"a CLOSE x"]
        for i, line in enumerate(lines):
            c.send(line + b"\r\n")
            before = self.probe_alive(c, b"p%d" % i)
            # the tag is valid in every line, so the answer is tagged (RFC 3501 7.1.3)
            bads = [r for r in before if re.match(rb"^a (BAD|NO)", r)]
            oks = [r for r in before if re.match(rb"^a OK", r)]
            # the deep SEARCH nestings may be accepted by a server with no nesting limit
            if b"SEARCH" in line and line.count(b"(") == line.count(b")"):
                self.assertTrue(bads or oks, (line[:60], before))
            else:
                self.assertTrue(bads, "no BAD/NO for %r: %r" % (line[:60], before))
                self.assertFalse(oks, (line[:60], before))

    def test_blank_and_whitespace_lines(self):
        c = self.session()
        for i, line in enumerate((b"", b" ", b"   ", b"\t", b"a", b"a ")):
            c.send(line + b"\r\n")
            self.probe_alive(c, b"w%d" % i)

    def test_huge_line(self):
        c = self.session()
        # written from a thread: a server that answers early and stops reading must not deadlock the test
        def writer():
            try:
                c.send(b'h1 LIST "" ' + b"x" * (4 * 1024 * 1024) + b"\r\n")
            except (ServerClosed, OSError):
                pass

        t = threading.Thread(target=writer, daemon=True)
        t.start()
        self.addCleanup(t.join, 30)
        try:
            r = c.read_response()
        except ServerClosed:
            return  # closing after an oversized line is acceptable
        self.assertTrue(re.match(rb"^(h1|\*) (BAD|NO|BYE)", r), r[:200])
        if r.startswith(b"* BYE"):
            self.assertTrue(c.closed())
            return
        # the session may still be draining the rest of the line; once it has, a command must be answered
        t.join(60)
        self.assertFalse(t.is_alive(), "the server stopped reading the long line but kept the connection")
        u, t = c.cmd("NOOP")
        self.assertEqual(status(t), "OK", t)

    def test_huge_literal_is_refused(self):
        c = self.session()
        c.send(b"L1 APPEND INBOX {4000000000}\r\n")
        r = c.read_response()
        if IS_DOVECOT and r.startswith(b"+"):
            self.skipTest("Dovecot has no literal size limit")
        self.assertTrue(re.match(rb"^(L1|\*) (NO|BAD|BYE)", r), r)
        if r.startswith(b"* BYE"):
            self.assertTrue(c.closed())
            return
        u, t = c.cmd("NOOP")
        self.assertEqual(status(t), "OK", t)
        u, t = c.cmd("STATUS INBOX (MESSAGES)")
        self.assertTrue(any(b"MESSAGES 0" in x for x in u), u)

    def test_garbage_bytes(self):
        c = self.session(select="INBOX")
        rnd = random.Random(1234)
        for i in range(40):
            junk = bytes(rnd.randrange(256) for _ in range(rnd.randrange(1, 300)))
            # literal announcements inside garbage would swallow the probe; neutralise them
            junk = re.sub(rb"\{[0-9+]*\}?", b"_", junk).replace(b"\r", b"").replace(b"\n", b"")
            c.send(b"g%d " % i + junk + b"\r\n")
            self.probe_alive(c, b"ga%d" % i)
        self.ok(c, "SELECT INBOX")

    def test_disconnect_mid_literal_leaves_nothing(self):
        c = self.session()
        c.send(b"x1 APPEND INBOX {1000}\r\n")
        r = c.read_response()
        self.assertTrue(r.startswith(b"+"), r)
        c.send(b"From: half\r\n" * 20)
        c.close()
        d = self.session()
        u = self.ok(d, "SELECT INBOX")
        self.assertTrue(any(re.match(rb"\* 0 EXISTS", x) for x in u), u)
        for sub in ("new", "cur"):
            self.assertEqual(os.listdir(os.path.join(self.home.maildir, sub)), [])

    def test_logout_then_more_input(self):
        c = self.session()
        c.send(b"a LOGOUT\r\nb NOOP\r\n")
        self.assertTrue(c.read_response().startswith(b"* BYE"))
        self.assertEqual(status(c.read_response()), "OK")
        self.assertTrue(c.closed())


MALFORMED = [
    ("no-separator", b"Subject: only headers\r\nFrom: a@b"),
    ("no-headers", b"\r\nJust a body, no headers at all.\r\n"),
    ("one-byte", b"x"),
    ("bare-lf", b"From: lf@example.com\nSubject: LF only\n\nbody\nmore body\n"),
    ("bare-cr", b"From: cr@example.com\rSubject: CR only\r\rbody\r"),
    ("nul-bytes", b"From: nul@example.com\r\nSubject: N\x00UL\r\n\r\nbin\x00ary\x00\r\n"),
    ("8bit-header", "From: Jörg <jörg@exämple.com>\r\nSubject: Ünïcode ✓\r\n\r\nbody\r\n".encode()),
    ("latin1-header", b"From: J\xf6rg <j@example.com>\r\nSubject: caf\xe9\r\n\r\nbody\r\n"),
    ("no-colon", b"This is not a header\r\nNeither: is this one?\r\n\r\nbody\r\n"),
    ("long-header", b"Subject: " + b"x" * 100000 + b"\r\n\r\nbody\r\n"),
    ("folded-forever", b"Subject: a\r\n" + b" b\r\n" * 5000 + b"\r\nbody\r\n"),
    ("missing-boundary-param", b"Content-Type: multipart/mixed\r\n\r\n--x\r\nContent-Type: text/plain\r\n\r\nhi\r\n"),
    ("unterminated-multipart", b"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain"
                               b"\r\n\r\npart one\r\n--b\r\n\r\npart two never ends"),
    ("empty-multipart", b"Content-Type: multipart/alternative; boundary=q\r\n\r\n--q--\r\n"),
    ("boundary-in-text", b"Content-Type: multipart/mixed; boundary=\"--\"\r\n\r\n----\r\n\r\n------\r\n"),
    ("bad-encoded-words", b"From: =?utf-8?B?####?= <x@y>\r\nSubject: =?bogus?Q?=ZZ=?= =?utf-8?Q?unterminated\r\n"
                          b"\r\nbody\r\n"),
    ("bad-base64", b"Content-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n\r\n!!!not base64@@@\r\n"),
    ("bad-qp", b"Content-Type: text/plain\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n=ZZ=\r\n=4"),
    ("bad-content-type", b"Content-Type: ;;;/;;; charset=\"\r\n\r\nbody\r\n"),
    ("bad-addresses", b"From: <<<@@@>>>, \"unterminated, @, :;\r\nTo: ,,,,\r\nCc: group: a@b, (comment\r\n"
                      b"\r\nbody\r\n"),
    ("message-rfc822-garbage", b"Content-Type: message/rfc822\r\n\r\nnot really a message"),
    ("deep-nesting", b"".join(b"Content-Type: multipart/mixed; boundary=b%d\r\n\r\n--b%d\r\n" % (i, i)
                              for i in range(150)) + b"Content-Type: text/plain\r\n\r\ndeep\r\n"),
    ("deep-rfc822", b"Content-Type: message/rfc822\r\n\r\n" * 150 + b"Subject: bottom\r\n\r\nbottom\r\n"),
    ("huge-params", b"Content-Type: text/plain; " + b"; ".join(b"p%d=v%d" % (i, i) for i in range(3000))
                    + b"\r\n\r\nbody\r\n"),
]


class TestMalformedMessages(ImapTestCase):
    def test_append_and_fetch_malformed(self):
        c = self.session()
        for name, data in MALFORMED:
            u, t = c.cmd("APPEND INBOX {LIT}", [data])
            self.assertEqual(status(t), "OK", (name, t))
        self.ok(c, "SELECT INBOX")
        items = ("(FLAGS INTERNALDATE RFC822.SIZE ENVELOPE BODY BODYSTRUCTURE UID)", "BODY.PEEK[]",
                 "BODY.PEEK[HEADER]", "BODY.PEEK[TEXT]", "BODY.PEEK[1]", "BODY.PEEK[1.MIME]", "BODY.PEEK[2]",
                 "BODY.PEEK[1.1]", "BODY.PEEK[HEADER.FIELDS (FROM SUBJECT)]", "BODY.PEEK[]<5.10>", "RFC822.HEADER",
                 "RFC822.TEXT")
        for seq, (name, data) in enumerate(MALFORMED, 1):
            got = {}
            for it in items:
                u, t = c.cmd("FETCH %d %s" % (seq, it))
                self.assertIn(status(t), ("OK", "NO"), (name, it, t))
                try:
                    f = fetches(u)
                except ValueError as e:
                    self.fail("unparsable FETCH response for %s %s: %s" % (name, it, e))
                got.update(f.get(seq, {}))
            self.assertEqual(int(got["RFC822.SIZE"]), len(bytes(got["BODY[]"])), name)
            self.assertEqual(len(got["ENVELOPE"]), 10, name)
            self.assertIsInstance(got["BODYSTRUCTURE"], list, name)
            hdr = bytes(got.get("BODY[HEADER]", b""))
            text = bytes(got.get("BODY[TEXT]", b""))
            self.assertEqual(hdr + text, bytes(got["BODY[]"]), name)
        for crit in ("ALL", "TEXT body", "BODY deep", "SUBJECT x", "FROM example", "HEADER Content-Type multipart",
                     "CHARSET UTF-8 TEXT caf", "LARGER 10000"):
            u, t = c.cmd("SEARCH " + crit)
            self.assertEqual(status(t), "OK", (crit, t))
        self.assertEqual(len(search_ids(self.ok(c, "SEARCH ALL"))), len(MALFORMED))
        self.ok(c, "NOOP")


if __name__ == "__main__":
    unittest.main()
