"""SEARCH and UID SEARCH: every RFC 3501 search key, nesting (OR, NOT, parentheses), sequence and UID sets,
CHARSET UTF-8 with encoded-word and quoted-printable decoding, BADCHARSET and syntax errors."""
import unittest

from support import (MULTIPART, ImapTestCase, crlf, fetches, make_msg, resp_code, search_ids, status)

QP_UTF8 = crlf("""From: =?UTF-8?Q?Zo=C3=AB?= <zoe@example.de>
To: bob@example.org
Subject: =?UTF-8?Q?R=C3=A9sum=C3=A9?= attached
Date: Mon, 10 Feb 2025 12:00:00 +0000
Message-ID: <qp-1@example.de>
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: quoted-printable

Viele Gr=C3=BC=C3=9Fe aus K=C3=B6ln, caf=C3=A9 cr=C3=A8me.
""".encode())


class TestSearch(ImapTestCase):
    def setUp(self):
        super().setUp()
        c = self.c = self.session()
        self.append(c, make_msg(subject="Hello world", frm="Alice <alice@example.com>", to="Bob <bob@example.org>",
                                body="apple banana\r\n", date="Sat, 1 Feb 2025 12:00:00 +0000",
                                headers=["X-Custom: alpha beta"]),
                    flags=["\\Seen", "\\Answered"], date="01-Feb-2025 12:00:00 +0000")
        self.append(c, make_msg(subject="Re: Hello", frm="Carol <carol@example.net>", to="Bob <bob@example.org>",
                                cc="Dave <dave@example.com>", body="cherry\r\n",
                                date="Wed, 5 Feb 2025 12:00:00 +0000", headers=["In-Reply-To: <parent@x>"]),
                    flags=["\\Flagged", "$Work"], date="05-Feb-2025 12:00:00 +0000")
        self.append(c, QP_UTF8, flags=["\\Deleted", "\\Draft"], date="10-Feb-2025 12:00:00 +0000")
        self.append(c, make_msg(subject="large", frm="Mallory <mallory@evil.test>", to="eve@example.org",
                                bcc="Hidden <hidden@example.org>", body="zzz " * 1500 + "\r\n",
                                date="Sat, 15 Feb 2025 12:00:00 +0000"),
                    flags=[], date="15-Feb-2025 12:00:00 +0000")
        self.append(c, MULTIPART, flags=["\\Seen"], date="20-Feb-2025 12:00:00 +0000")
        self.ok(c, "SELECT INBOX")
        self.uids = {s: int(v["UID"]) for s, v in fetches(self.ok(c, "FETCH 1:* UID")).items()}

    def search(self, criteria, literals=(), uid=False):
        u = self.ok(self.c, ("UID SEARCH " if uid else "SEARCH ") + criteria, literals)
        return sorted(search_ids(u))

    def check(self, criteria, expected, literals=()):
        self.assertEqual(self.search(criteria, literals), sorted(expected), criteria)

    def test_all_and_sequence_sets(self):
        self.check("ALL", [1, 2, 3, 4, 5])
        self.check("1:3", [1, 2, 3])
        self.check("2,4:*", [2, 4, 5])
        self.check("*", [5])
        self.check("3:2", [2, 3])

    def test_flag_keys(self):
        self.check("SEEN", [1, 5])
        self.check("UNSEEN", [2, 3, 4])
        self.check("ANSWERED", [1])
        self.check("UNANSWERED", [2, 3, 4, 5])
        self.check("FLAGGED", [2])
        self.check("UNFLAGGED", [1, 3, 4, 5])
        self.check("DELETED", [3])
        self.check("UNDELETED", [1, 2, 4, 5])
        self.check("DRAFT", [3])
        self.check("UNDRAFT", [1, 2, 4, 5])
        self.check("KEYWORD $Work", [2])
        self.check("UNKEYWORD $Work", [1, 3, 4, 5])
        self.check("KEYWORD $Nothing", [])

    def test_recent_new_old(self):
        self.check("RECENT", [1, 2, 3, 4, 5])
        self.check("NEW", [2, 3, 4])
        self.check("OLD", [])
        d = self.session(select="INBOX")
        self.assertEqual(sorted(search_ids(self.ok(d, "SEARCH RECENT"))), [])
        self.assertEqual(sorted(search_ids(self.ok(d, "SEARCH OLD"))), [1, 2, 3, 4, 5])
        self.assertEqual(sorted(search_ids(self.ok(d, "SEARCH NEW"))), [])

    def test_address_and_text_keys(self):
        self.check('FROM "alice"', [1])
        self.check("FROM example.com", [1])
        self.check('FROM "Carol"', [2, 5])
        self.check("TO bob", [1, 2, 3])
        self.check("TO eve", [4])
        self.check("CC dave", [2])
        self.check("CC frank", [5])
        self.check("TO dave", [5])
        self.check("BCC hidden", [4])
        self.check('SUBJECT "hello"', [1, 2])
        self.check('SUBJECT "HELLO WORLD"', [1])
        self.check("SUBJECT nomatch", [])
        self.check("BODY banana", [1])
        self.check("BODY cherry", [2])
        self.check('BODY "Second part"', [5])
        self.check("BODY Hello", [])
        self.check("TEXT Hello", [1, 2])
        self.check("TEXT zzz", [4])
        self.check("TEXT banana", [1])

    def test_header_key(self):
        self.check('HEADER X-Custom "beta"', [1])
        self.check('HEADER X-Custom ""', [1])
        self.check('HEADER Message-ID ""', [1, 2, 3, 4, 5])
        self.check('HEADER In-Reply-To "parent"', [2, 5])
        self.check('HEADER X-Absent ""', [])

    def test_size_keys(self):
        self.check("LARGER 4000", [4])
        self.check("SMALLER 1000", [1, 2, 3, 5])
        self.check("SMALLER 600", [1, 2, 3])
        self.check("NOT LARGER 4000", [1, 2, 3, 5])

    def test_date_keys(self):
        self.check("SINCE 5-Feb-2025", [2, 3, 4, 5])
        self.check("BEFORE 5-Feb-2025", [1])
        self.check("ON 10-Feb-2025", [3])
        self.check('SINCE "15-Feb-2025"', [4, 5])
        self.check("SENTSINCE 10-Feb-2025", [3, 4])
        self.check("SENTBEFORE 5-Feb-2025", [1, 5])
        self.check("SENTON 5-Feb-2025", [2])
        self.check("SENTON 4-Feb-2025", [5])

    def test_uid_keys_and_uid_search(self):
        u2, u4 = self.uids[2], self.uids[4]
        self.check("UID %d" % u2, [2])
        self.check("UID %d:%d" % (u2, u4), [2, 3, 4])
        self.check("NOT UID %d" % u2, [1, 3, 4, 5])
        self.assertEqual(self.search("SEEN", uid=True), sorted([self.uids[1], self.uids[5]]))
        self.assertEqual(self.search("1:2", uid=True), sorted([self.uids[1], self.uids[2]]))
        self.assertEqual(self.search("UID %d:*" % u4, uid=True), sorted([self.uids[4], self.uids[5]]))

    def test_nesting(self):
        self.check("SEEN FROM alice", [1])
        self.check("OR FLAGGED DRAFT", [2, 3])
        self.check("NOT SEEN", [2, 3, 4])
        self.check("NOT (OR SEEN FLAGGED)", [3, 4])
        self.check("(SEEN) (FROM alice)", [1])
        self.check("OR (FROM alice SEEN) (SUBJECT large)", [1, 4])
        self.check("OR OR ANSWERED DRAFT KEYWORD $Work", [1, 2, 3])
        self.check("((((ALL))))", [1, 2, 3, 4, 5])
        self.check("NOT NOT SEEN", [1, 5])
        self.check("2:4 NOT DELETED", [2, 4])
        self.check("OR 1 5 SEEN", [1, 5])

    def test_charset(self):
        self.check("CHARSET US-ASCII FROM alice", [1])
        self.check("CHARSET UTF-8 SUBJECT {LIT}", [3], ["Résumé".encode()])
        self.check("CHARSET UTF-8 BODY {LIT}", [3], ["Grüße".encode()])
        self.check("CHARSET UTF-8 TEXT {LIT}", [3], ["café crème".encode()])
        self.check("CHARSET UTF-8 FROM {LIT}", [3], ["Zoë".encode()])
        self.check('SUBJECT "resume"', [])

    def test_badcharset(self):
        u, t = self.c.cmd("SEARCH CHARSET X-NO-SUCH-CHARSET ALL")
        self.assertEqual(status(t), "NO", t)
        self.assertEqual(resp_code(t), "BADCHARSET", t)

    def test_syntax_errors(self):
        for bad in ("SEARCH", "SEARCH BOGUS", "SEARCH (SEEN", "SEARCH SEEN)", "SEARCH LARGER x",
                    "SEARCH SINCE 45-Foo-2025", "SEARCH OR SEEN", "SEARCH HEADER X-Only", "SEARCH UID x"):
            u, t = self.c.cmd(bad)
            self.assertEqual(status(t), "BAD", (bad, t))
        self.check("ALL", [1, 2, 3, 4, 5])

    def test_search_does_not_change_flags(self):
        self.search("TEXT Hello")
        f = fetches(self.ok(self.c, "FETCH 2 FLAGS"))
        self.assertNotIn(b"\\Seen", f[2]["FLAGS"])

    def test_search_via_imaplib(self):
        m = self.imap()
        m.select("INBOX")
        typ, data = m.search(None, "OR", "FROM", "alice", "BCC", "hidden")
        self.assertEqual((typ, data), ("OK", [b"1 4"]))
        m.literal = "Résumé".encode()
        typ, data = m.search("UTF-8", "SUBJECT")
        self.assertEqual((typ, data), ("OK", [b"3"]))


if __name__ == "__main__":
    unittest.main()
