"""Session basics on stdio: greeting, CAPABILITY, NOOP, LOGOUT, commands in the wrong state, tags, case,
pipelining, and imaplib's view of the same."""
import re
import unittest

from support import (ImapTestCase, make_msg, status, untagged_value, fetches,
                     search_ids)


class TestGreetingAndCapability(ImapTestCase):
    def test_preauth_greeting_then_capability(self):
        c = self.session()
        u = self.ok(c, "CAPABILITY")
        caps = [r for r in u if r.upper().startswith(b"* CAPABILITY ")]
        self.assertEqual(len(caps), 1, u)
        words = caps[0].upper().split()[2:]
        self.assertIn(b"IMAP4REV1", words)
        self.assertNotIn(b"STARTTLS", words)

    def test_noop_and_logout(self):
        c = self.session()
        self.ok(c, "NOOP")
        u, t = c.cmd("LOGOUT")
        self.assertEqual(status(t), "OK")
        self.assertTrue(any(r.upper().startswith(b"* BYE") for r in u), u)
        self.assertTrue(c.closed(), "connection stays open after LOGOUT")

    def test_commands_are_case_insensitive(self):
        c = self.session()
        self.ok(c, "capability")
        self.ok(c, "nOoP")
        self.ok(c, "append inbox {LIT}", [make_msg()])
        self.ok(c, "select inbox")
        self.ok(c, "Fetch 1:* flags")
        self.ok(c, "uid fetch 1:* (flags)")

    def test_tags_are_echoed(self):
        c = self.session()
        for tag in ("a", "A0001", "x.y", "tag-1", "1", "!#$&'", "Z~"):
            u, t = c.cmd("NOOP", tag=tag)
            self.assertTrue(t.startswith(tag.encode() + b" OK"), (tag, t))

    def test_invalid_tag_gets_bad(self):
        c = self.session()
        # '*' and '+' cannot be in a tag; the server answers BAD (untagged, as there is no usable tag)
        c.send(b"*a NOOP\r\n")
        r = c.read_response()
        self.assertTrue(re.match(rb"^(\*|\*a) BAD", r), r)
        self.ok(c, "NOOP")

    def test_eof_ends_the_session(self):
        c = self.session()
        c.proc.stdin.close()
        self.assertEqual(c.proc.wait(10), 0)


class TestStates(ImapTestCase):
    def test_login_when_authenticated_is_rejected(self):
        c = self.session()
        u, t = c.cmd("LOGIN demo secret")
        self.assertIn(status(t), ("BAD", "NO"), t)
        self.ok(c, "NOOP")

    def test_authenticate_when_authenticated_is_rejected(self):
        c = self.session()
        u, t = c.cmd("AUTHENTICATE PLAIN")
        # a server could send a continuation first; Dovecot and bincimap must reject at once
        self.assertIn(status(t), ("BAD", "NO"), t)
        self.ok(c, "NOOP")

    def test_selected_state_commands_need_a_mailbox(self):
        c = self.session()
        for cmd in ("FETCH 1 FLAGS", "STORE 1 +FLAGS (\\Seen)", "SEARCH ALL", "COPY 1 INBOX", "EXPUNGE",
                    "CLOSE", "CHECK", "UID FETCH 1 FLAGS", "UID SEARCH ALL"):
            u, t = c.cmd(cmd)
            self.assertIn(status(t), ("BAD", "NO"), (cmd, t))
        self.ok(c, "NOOP")

    def test_unknown_command_is_bad(self):
        c = self.session()
        self.bad(c, "FROBNICATE")
        self.bad(c, "UID FROB 1")
        self.ok(c, "NOOP")

    def test_failed_select_leaves_selected_state(self):
        c = self.session(select="INBOX")
        self.no(c, "SELECT nosuchmailbox")
        u, t = c.cmd("FETCH 1:* FLAGS")
        self.assertIn(status(t), ("BAD", "NO"), t)

    def test_noop_in_selected_state(self):
        c = self.session(select="INBOX")
        self.ok(c, "NOOP")
        self.ok(c, "CHECK")


class TestPipelining(ImapTestCase):
    def test_pipelined_commands_answer_in_order(self):
        c = self.session()
        msg = make_msg(subject="pipelined")
        # everything in one write; the APPEND literal has to be synchronising, so it goes last via cmd()
        c.send(b"p1 NOOP\r\np2 SELECT INBOX\r\np3 CAPABILITY\r\np4 NOOP\r\n")
        tags = []
        for _ in range(4):
            while True:
                r = c.read_response()
                if not r.startswith(b"*"):
                    tags.append(r.split(b" ")[0])
                    self.assertEqual(status(r), "OK", r)
                    break
        self.assertEqual(tags, [b"p1", b"p2", b"p3", b"p4"])
        self.ok(c, "APPEND INBOX {LIT}", [msg])
        c.send(b"q1 FETCH 1 (RFC822.SIZE)\r\nq2 SEARCH ALL\r\nq3 STORE 1 +FLAGS (\\Flagged)\r\nq4 FETCH 1 FLAGS\r\n")
        # RFC 3501 5.5 lets a server run these concurrently (Dovecot does), so only the order of the tagged
        # responses and the union of the untagged data are checked
        allu = []
        for tag in (b"q1", b"q2", b"q3", b"q4"):
            u, t = c.read_until_tagged(tag)
            self.assertEqual(status(t), "OK", t)
            allu += u
        self.assertEqual(fetches(allu)[1]["RFC822.SIZE"], str(len(msg)).encode())
        self.assertEqual(search_ids(allu), [1])
        self.assertIn(b"\\Flagged", fetches(allu)[1]["FLAGS"])

    def test_pipelined_literal_after_commands(self):
        c = self.session()
        msg = make_msg(subject="lit")
        c.send(b"a1 SELECT INBOX\r\na2 APPEND INBOX {%d}\r\n" % len(msg))
        u, t = c.read_until_tagged(b"a1")
        self.assertEqual(status(t), "OK")
        r = c.read_response()
        self.assertTrue(r.startswith(b"+"), r)
        c.send(msg + b"\r\na3 NOOP\r\n")
        u, t = c.read_until_tagged(b"a2")
        self.assertEqual(status(t), "OK", t)
        u3, t3 = c.read_until_tagged(b"a3")
        self.assertEqual(status(t3), "OK")
        self.assertEqual(untagged_value(u + u3, "EXISTS"), 1)


class TestImaplib(ImapTestCase):
    def test_imaplib_roundtrip(self):
        m = self.imap()
        self.assertEqual(m.state, "AUTH")
        self.assertIn("IMAP4REV1", m.capabilities)
        typ, _ = m.append("INBOX", r"(\Seen)", imaplib_date(), make_msg(subject="via imaplib"))
        self.assertEqual(typ, "OK")
        typ, data = m.select("INBOX")
        self.assertEqual((typ, data), ("OK", [b"1"]))
        typ, data = m.fetch("1", "(FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
        self.assertEqual(typ, "OK")
        self.assertIn(b"Subject: via imaplib", data[0][1])
        self.assertIn(b"\\Seen", data[0][0])
        typ, data = m.search(None, "SUBJECT", '"via imaplib"')
        self.assertEqual(data, [b"1"])
        typ, data = m.uid("SEARCH", "ALL")
        self.assertEqual(typ, "OK")
        self.assertEqual(len(data[0].split()), 1)
        self.assertEqual(m.noop()[0], "OK")
        self.assertEqual(m.close()[0], "OK")
        self.assertEqual(m.logout()[0], "BYE")


def imaplib_date():
    import imaplib
    return imaplib.Time2Internaldate(1738584000)


if __name__ == "__main__":
    unittest.main()
