"""APPEND: flags, keywords, date-time, literals (small, empty-flag-list, big), TRYCREATE, notifications to the
selecting session, and errors."""
import imaplib
import unittest
from datetime import datetime

from support import (ImapTestCase, code_value, fetches, flagset, make_msg, mbx, q, resp_code, status,
                     untagged_value)


def internaldate_epoch(v):
    return datetime.strptime(bytes(v).decode(), "%d-%b-%Y %H:%M:%S %z").timestamp()


class TestAppend(ImapTestCase):
    def test_append_with_flags_and_date(self):
        c = self.session()
        msg = make_msg(subject="dated")
        self.append(c, msg, flags=["\\Seen", "\\Flagged"], date="03-Feb-2025 10:20:30 +0100")
        self.ok(c, "SELECT INBOX")
        f = fetches(self.ok(c, "FETCH 1 (FLAGS INTERNALDATE RFC822.SIZE BODY.PEEK[])"))[1]
        self.assertTrue({"\\Seen", "\\Flagged"} <= flagset(f["FLAGS"]), f["FLAGS"])
        self.assertEqual(internaldate_epoch(f["INTERNALDATE"]),
                         datetime.strptime("03-Feb-2025 10:20:30 +0100", "%d-%b-%Y %H:%M:%S %z").timestamp())
        self.assertEqual(int(f["RFC822.SIZE"]), len(msg))
        self.assertEqual(bytes(f["BODY[]"]), msg)

    def test_append_dates_with_zones(self):
        c = self.session()
        for d in ("1-Jan-2000 00:00:00 +0000", " 9-Sep-2019 23:59:59 -0700", "31-Dec-2024 12:00:00 +1400"):
            self.append(c, make_msg(), date=d)
        self.ok(c, "SELECT INBOX")
        f = fetches(self.ok(c, "FETCH 1:3 INTERNALDATE"))
        want = [datetime.strptime(d.strip(), "%d-%b-%Y %H:%M:%S %z").timestamp()
                for d in ("1-Jan-2000 00:00:00 +0000", "9-Sep-2019 23:59:59 -0700", "31-Dec-2024 12:00:00 +1400")]
        self.assertEqual([internaldate_epoch(f[i]["INTERNALDATE"]) for i in (1, 2, 3)], want)

    def test_append_keywords_persist(self):
        c = self.session()
        self.append(c, make_msg(), flags=["$Label1", "Work", "\\Answered"])
        d = self.session()
        u = self.ok(d, "SELECT INBOX")
        flags_line = [r for r in u if r.upper().startswith(b"* FLAGS")][0]
        self.assertIn(b"$Label1", flags_line)
        self.assertIn(b"Work", flags_line)
        f = fetches(self.ok(d, "FETCH 1 FLAGS"))[1]
        self.assertTrue({"$Label1", "Work", "\\Answered"} <= flagset(f["FLAGS"]), f)

    def test_append_without_flags_or_date(self):
        c = self.session()
        msg = make_msg()
        self.ok(c, "APPEND INBOX {LIT}", [msg])
        self.ok(c, "APPEND INBOX () {LIT}", [msg])
        self.ok(c, "SELECT INBOX")
        f = fetches(self.ok(c, "FETCH 1:2 (FLAGS RFC822.SIZE INTERNALDATE)"))
        for i in (1, 2):
            self.assertEqual(flagset(f[i]["FLAGS"]) - {"\\Recent"}, set())
            self.assertEqual(int(f[i]["RFC822.SIZE"]), len(msg))
            import time
            self.assertLess(abs(internaldate_epoch(f[i]["INTERNALDATE"]) - time.time()), 3600)

    def test_append_to_missing_mailbox_says_trycreate(self):
        c = self.session()
        u, t = self.no(c, "APPEND %s {LIT}" % q(mbx("nowhere")), [make_msg()])
        self.assertEqual(resp_code(t), "TRYCREATE", t)

    def test_append_to_noselect_name_fails(self):
        c = self.session()
        self.ok(c, "CREATE " + q(mbx("parent/child")))
        self.no(c, "APPEND %s {LIT}" % q(mbx("parent")), [make_msg()])
        u = self.ok(c, "STATUS %s (MESSAGES)" % q(mbx("parent/child")))
        self.assertTrue(any(b"MESSAGES 0" in r for r in u), u)

    def test_append_to_other_mailbox(self):
        c = self.session()
        self.ok(c, "CREATE " + q(mbx("box")))
        self.append(c, make_msg(subject="elsewhere"), mailbox=mbx("box"))
        u = self.ok(c, "SELECT " + q(mbx("box")))
        self.assertEqual(untagged_value(u, "EXISTS"), 1)
        u = self.ok(c, "SELECT INBOX")
        self.assertEqual(untagged_value(u, "EXISTS"), 0)

    def test_append_to_selected_mailbox_reports_exists(self):
        c = self.session(select="INBOX")
        u = self.append(c, make_msg())
        self.assertEqual(untagged_value(u, "EXISTS"), 1, u)
        u = self.append(c, make_msg())
        self.assertEqual(untagged_value(u, "EXISTS"), 2, u)
        f = fetches(self.ok(c, "FETCH 1:2 UID"))
        self.assertLess(int(f[1]["UID"]), int(f[2]["UID"]))

    def test_uidnext_advances(self):
        c = self.session()
        u = self.ok(c, "EXAMINE INBOX")
        n0 = int(code_value(u, "UIDNEXT"))
        self.fill(c, 2)
        u = self.ok(c, "EXAMINE INBOX")
        self.assertGreaterEqual(int(code_value(u, "UIDNEXT")), n0 + 2)
        f = fetches(self.ok(c, "FETCH 1:2 UID"))
        self.assertGreaterEqual(int(f[1]["UID"]), n0)

    def test_big_literal(self):
        c = self.session()
        line = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-_=+!@#$%^&*().,;:[]{}|<>?/\\~\r\n"
        body = line * (6 * 1024 * 1024 // len(line))
        msg = make_msg(subject="big", body="") + body
        self.append(c, msg)
        self.ok(c, "SELECT INBOX")
        f = fetches(self.ok(c, "FETCH 1 (RFC822.SIZE BODY.PEEK[]<3000000.100>)"))[1]
        self.assertEqual(int(f["RFC822.SIZE"]), len(msg))
        self.assertEqual(bytes(f["BODY[]<3000000>"]), msg[3000000:3000100])
        f = fetches(self.ok(c, "FETCH 1 BODY.PEEK[]"))[1]
        self.assertEqual(bytes(f["BODY[]"]), msg)

    def test_append_8bit_and_long_lines(self):
        c = self.session()
        msg = make_msg(subject="8bit", body="Grüße aus Köln — ünïcödé\r\n" + "x" * 5000 + "\r\n")
        self.append(c, msg)
        self.ok(c, "SELECT INBOX")
        f = fetches(self.ok(c, "FETCH 1 BODY.PEEK[]"))[1]
        self.assertEqual(bytes(f["BODY[]"]), msg)

    def test_append_errors(self):
        c = self.session()
        # a bad date-time is a syntax error: BAD before any literal is asked for
        u, t = c.cmd('APPEND INBOX "31-Foo-2025 10:00:00 +0000" {LIT}', [make_msg()])
        self.assertEqual(status(t), "BAD", t)
        self.ok(c, "NOOP")
        self.bad(c, "APPEND INBOX")
        self.bad(c, "APPEND")
        u = self.ok(c, "STATUS INBOX (MESSAGES)")
        self.assertTrue(any(b"MESSAGES 0" in r for r in u), u)

    def test_non_synchronizing_literal_when_advertised(self):
        c = self.session()
        caps = b" ".join(self.ok(c, "CAPABILITY")).upper().split()
        if b"LITERAL+" not in caps:
            self.skipTest("no LITERAL+")
        msg = make_msg(subject="literal plus")
        # no waiting for a continuation: the literal follows at once, and two commands go in one write
        c.send(b"lp1 APPEND INBOX (\\Seen) {%d+}\r\n" % len(msg) + msg + b"\r\nlp2 STATUS INBOX (MESSAGES)\r\n")
        u, t = c.read_until_tagged(b"lp1")
        self.assertEqual(status(t), "OK", t)
        self.assertFalse(any(r.startswith(b"+") for r in u), u)
        u, t = c.read_until_tagged(b"lp2")
        self.assertTrue(any(b"MESSAGES 1" in r for r in u), u)
        self.ok(c, "SELECT INBOX")
        f = fetches(self.ok(c, "FETCH 1 (FLAGS BODY.PEEK[])"))[1]
        self.assertEqual(bytes(f["BODY[]"]), msg)
        self.assertIn("\\Seen", flagset(f["FLAGS"]))

    def test_append_via_imaplib(self):
        m = self.imap()
        msg = make_msg(subject="imaplib append")
        typ, data = m.append("INBOX", r"(\Draft $Forwarded)", imaplib.Time2Internaldate(1700000000), msg)
        self.assertEqual(typ, "OK", data)
        m.select("INBOX", readonly=True)
        typ, data = m.fetch("1", "(FLAGS INTERNALDATE RFC822)")
        self.assertEqual(typ, "OK")
        self.assertEqual(data[0][1], msg)
        self.assertIn(b"\\Draft", data[0][0])
        self.assertIn(b"$Forwarded", data[0][0])
        self.assertIn(b"INTERNALDATE", data[0][0])


if __name__ == "__main__":
    unittest.main()
