"""FETCH: every data item, sections of single-part and multipart messages, partials, macros, the \\Seen side
effect of non-PEEK fetches, UID FETCH, sequence sets and errors."""
import re
import unittest
from datetime import datetime

from support import (MULTIPART, ImapTestCase, Str, fetches, flagset, make_msg, status)

SIMPLE = make_msg(subject="Simple one", body="Line one.\r\nLine two.\r\n", msgid="<simple-1@example.com>",
                  frm='"Doe, John" <john@example.com>', to="jane@example.org",
                  date="Mon, 3 Feb 2025 10:00:00 +0000")


class FetchCase(ImapTestCase):
    def setUp(self):
        super().setUp()
        self.c = self.session()
        self.append(self.c, SIMPLE, flags=["\\Flagged"], date="03-Feb-2025 11:00:00 +0000")
        self.append(self.c, MULTIPART, date="04-Feb-2025 12:00:00 +0100")
        self.ok(self.c, "SELECT INBOX")

    def f(self, seq, items, cmd="FETCH"):
        u = self.ok(self.c, "%s %s %s" % (cmd, seq, items))
        return fetches(u)

    def one(self, seq, items):
        r = self.f(seq, items)
        self.assertIn(seq, r)
        return r[seq]


class TestSimpleItems(FetchCase):
    def test_flags_internaldate_size_uid(self):
        r = self.one(1, "(FLAGS INTERNALDATE RFC822.SIZE UID)")
        self.assertIn("\\Flagged", flagset(r["FLAGS"]))
        self.assertEqual(datetime.strptime(bytes(r["INTERNALDATE"]).decode(), "%d-%b-%Y %H:%M:%S %z").timestamp(),
                         1738580400)
        self.assertIsInstance(r["INTERNALDATE"], Str)
        self.assertEqual(int(r["RFC822.SIZE"]), len(SIMPLE))
        self.assertGreater(int(r["UID"]), 0)

    def test_single_item_without_parens(self):
        r = self.one(2, "RFC822.SIZE")
        self.assertEqual(int(r["RFC822.SIZE"]), len(MULTIPART))

    def test_macros(self):
        fast = self.one(1, "FAST")
        self.assertEqual(set(fast), {"FLAGS", "INTERNALDATE", "RFC822.SIZE"})
        al = self.one(1, "ALL")
        self.assertEqual(set(al), {"FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE"})
        full = self.one(2, "FULL")
        self.assertEqual(set(full), {"FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE", "BODY"})
        self.assertNotIn("\\Seen", flagset(self.one(1, "FLAGS")["FLAGS"]))

    def test_envelope_simple(self):
        env = self.one(1, "ENVELOPE")["ENVELOPE"]
        self.assertEqual(len(env), 10)
        date, subject, frm, sender, reply_to, to, cc, bcc, in_reply_to, message_id = env
        self.assertEqual(date, b"Mon, 3 Feb 2025 10:00:00 +0000")
        self.assertEqual(subject, b"Simple one")
        self.assertEqual(frm, [[b"Doe, John", None, b"john", b"example.com"]])
        self.assertEqual(sender, frm)
        self.assertEqual(reply_to, frm)
        self.assertEqual(to, [[None, None, b"jane", b"example.org"]])
        self.assertIsNone(cc)
        self.assertIsNone(bcc)
        self.assertIsNone(in_reply_to)
        self.assertEqual(message_id, b"<simple-1@example.com>")

    def test_envelope_multipart(self):
        env = self.one(2, "ENVELOPE")["ENVELOPE"]
        self.assertEqual(env[1], b"Multipart test")
        self.assertEqual(env[2], [[b"Carol", None, b"carol", b"example.net"]])
        self.assertEqual(env[5], [[b"Dave", None, b"dave", b"example.com"], [b"Erin", None, b"erin", b"example.com"]])
        self.assertEqual(env[6], [[b"Frank", None, b"frank", b"example.com"]])
        self.assertEqual(env[8], b"<parent@example.net>")
        self.assertEqual(env[9], b"<multi-1@example.net>")

    def test_envelope_encoded_words_and_groups(self):
        msg = make_msg(subject="=?UTF-8?Q?Gr=C3=BC=C3=9Fe?=", frm="=?ISO-8859-1?Q?Andr=E9?= <andre@example.com>",
                       to="undisclosed-recipients:;", headers=["Reply-To: list@example.com"])
        self.append(self.c, msg)
        env = self.one(3, "ENVELOPE")["ENVELOPE"]
        # ENVELOPE strings are not decoded
        self.assertEqual(env[1], b"=?UTF-8?Q?Gr=C3=BC=C3=9Fe?=")
        self.assertEqual(env[2], [[b"=?ISO-8859-1?Q?Andr=E9?=", None, b"andre", b"example.com"]])
        self.assertEqual(env[4], [[None, None, b"list", b"example.com"]])
        # a group: start marker (NIL NIL name NIL) and end marker (NIL NIL NIL NIL)
        self.assertEqual(env[5], [[None, None, b"undisclosed-recipients", None], [None, None, None, None]])


    def test_envelope_8bit_headers_pass_through(self):
        # raw 8-bit header bytes come back byte for byte (as literals), whatever their charset
        self.append(self.c, b"From: J\xf6rg <j@example.com>\r\nSubject: caf\xe9\r\n\r\nbody\r\n")
        self.append(self.c, "From: Zoë <z@example.com>\r\nSubject: Grüße ✓\r\n\r\nbody\r\n".encode())
        env = self.one(3, "ENVELOPE")["ENVELOPE"]
        self.assertEqual(env[1], b"caf\xe9")
        self.assertEqual(env[2], [[b"J\xf6rg", None, b"j", b"example.com"]])
        env = self.one(4, "ENVELOPE")["ENVELOPE"]
        self.assertEqual(env[1], "Grüße ✓".encode())
        self.assertEqual(env[2], [["Zoë".encode(), None, b"z", b"example.com"]])
        r = self.one(3, "BODY.PEEK[HEADER.FIELDS (SUBJECT)]")
        self.assertEqual(bytes(r["BODY[HEADER.FIELDS (SUBJECT)]"]), b"Subject: caf\xe9\r\n\r\n")


class TestSections(FetchCase):
    def test_whole_and_header_and_text(self):
        hdr, _, text = SIMPLE.partition(b"\r\n\r\n")
        r = self.one(1, "(BODY.PEEK[] BODY.PEEK[HEADER] BODY.PEEK[TEXT])")
        self.assertEqual(bytes(r["BODY[]"]), SIMPLE)
        self.assertEqual(bytes(r["BODY[HEADER]"]), hdr + b"\r\n\r\n")
        self.assertEqual(bytes(r["BODY[TEXT]"]), text)

    def test_rfc822_items(self):
        hdr, _, text = SIMPLE.partition(b"\r\n\r\n")
        r = self.one(1, "(RFC822.HEADER)")
        self.assertEqual(bytes(r["RFC822.HEADER"]), hdr + b"\r\n\r\n")
        self.assertNotIn("\\Seen", flagset(self.one(1, "FLAGS")["FLAGS"]))
        r = self.one(1, "RFC822.TEXT")
        self.assertEqual(bytes(r["RFC822.TEXT"]), text)
        self.assertIn("\\Seen", flagset(r.get("FLAGS") or self.one(1, "FLAGS")["FLAGS"]))
        r = self.one(2, "RFC822")
        self.assertEqual(bytes(r["RFC822"]), MULTIPART)
        self.assertIn("\\Seen", flagset(r["FLAGS"]))

    def test_header_fields(self):
        r = self.one(1, "BODY.PEEK[HEADER.FIELDS (Subject FROM x-missing)]")
        key = [k for k in r if k.startswith("BODY[HEADER.FIELDS")][0]
        self.assertEqual(bytes(r[key]), b'From: "Doe, John" <john@example.com>\r\nSubject: Simple one\r\n\r\n')
        r = self.one(1, "BODY.PEEK[HEADER.FIELDS.NOT (Subject Date Message-ID)]")
        key = [k for k in r if k.startswith("BODY[HEADER.FIELDS.NOT")][0]
        self.assertEqual(bytes(r[key]), b'From: "Doe, John" <john@example.com>\r\nTo: jane@example.org\r\n\r\n')
        r = self.one(1, "BODY.PEEK[HEADER.FIELDS (X-NONE)]")
        key = [k for k in r if k.startswith("BODY[HEADER.FIELDS")][0]
        self.assertEqual(bytes(r[key]), b"\r\n")

    def test_multipart_parts(self):
        r = self.one(2, "(BODY.PEEK[1] BODY.PEEK[2] BODY.PEEK[1.MIME] BODY.PEEK[3.HEADER] BODY.PEEK[3.TEXT] "
                        "BODY.PEEK[3.1] BODY.PEEK[3])")
        self.assertEqual(bytes(r["BODY[1]"]), b"First part text.")
        self.assertEqual(bytes(r["BODY[2]"]), b"<p>Second part</p>")
        self.assertEqual(bytes(r["BODY[1.MIME]"]), b"Content-Type: text/plain; charset=us-ascii\r\n\r\n")
        inner = (b"From: Inner <inner@example.org>\r\nSubject: Inner message\r\n"
                 b"Date: Wed, 5 Feb 2025 08:00:00 +0000\r\n\r\nInner body line.")
        self.assertEqual(bytes(r["BODY[3]"]), inner)
        self.assertEqual(bytes(r["BODY[3.HEADER]"]), inner.split(b"\r\n\r\n")[0] + b"\r\n\r\n")
        self.assertEqual(bytes(r["BODY[3.TEXT]"]), b"Inner body line.")
        self.assertEqual(bytes(r["BODY[3.1]"]), b"Inner body line.")

    def test_single_part_section_1(self):
        r = self.one(1, "BODY.PEEK[1]")
        self.assertEqual(bytes(r["BODY[1]"]), b"Line one.\r\nLine two.\r\n")

    def test_missing_part_is_empty_or_nil(self):
        u, t = self.c.cmd("FETCH 2 BODY.PEEK[9]")
        if status(t) == "OK":
            v = fetches(u).get(2, {}).get("BODY[9]")
            self.assertIn(v, (None, b""))
        else:
            self.assertIn(status(t), ("NO", "BAD"))

    def test_partials(self):
        r = self.one(1, "(BODY.PEEK[]<0.10> BODY.PEEK[TEXT]<5.4> BODY.PEEK[]<100000.10>)")
        self.assertEqual(bytes(r["BODY[]<0>"]), SIMPLE[:10])
        self.assertEqual(bytes(r["BODY[TEXT]<5>"]), SIMPLE.partition(b"\r\n\r\n")[2][5:9])
        self.assertEqual(bytes(r["BODY[]<100000>"]), b"")
        n = len(SIMPLE)
        r = self.one(1, "BODY.PEEK[]<%d.100>" % (n - 5))
        self.assertEqual(bytes(r["BODY[]<%d>" % (n - 5)]), SIMPLE[-5:])

    def test_non_peek_sets_seen_and_reports_flags(self):
        r = self.one(2, "BODY[1]")
        self.assertEqual(bytes(r["BODY[1]"]), b"First part text.")
        self.assertIn("FLAGS", r, "a FETCH that sets \\Seen reports the new FLAGS")
        self.assertIn("\\Seen", flagset(r["FLAGS"]))
        self.assertIn("\\Seen", flagset(self.one(2, "FLAGS")["FLAGS"]))
        # a second session sees it too
        d = self.session()
        self.ok(d, "EXAMINE INBOX")
        self.assertIn("\\Seen", flagset(fetches(self.ok(d, "FETCH 2 FLAGS"))[2]["FLAGS"]))

    def test_peek_does_not_set_seen(self):
        self.one(1, "(BODY.PEEK[] BODY.PEEK[HEADER] BODY.PEEK[TEXT] RFC822.HEADER RFC822.SIZE ENVELOPE "
                    "BODYSTRUCTURE)")
        self.assertNotIn("\\Seen", flagset(self.one(1, "FLAGS")["FLAGS"]))


class TestStructure(FetchCase):
    def test_bodystructure_simple(self):
        bs = self.one(1, "BODYSTRUCTURE")["BODYSTRUCTURE"]
        self.assertEqual([x.lower() if isinstance(x, bytes) else x for x in bs[:2]], [b"text", b"plain"])
        self.assertEqual([x.lower() for x in bs[2]], [b"charset", b"us-ascii"])
        self.assertEqual(bs[3], None)
        self.assertEqual(bs[4], None)
        self.assertEqual(bs[5].lower(), b"7bit")
        body = SIMPLE.partition(b"\r\n\r\n")[2]
        self.assertEqual(int(bs[6]), len(body))
        self.assertEqual(int(bs[7]), body.count(b"\r\n"))

    def test_bodystructure_multipart(self):
        bs = self.one(2, "BODYSTRUCTURE")["BODYSTRUCTURE"]
        self.assertEqual(bs[3].lower(), b"mixed")
        self.assertEqual([x.lower() for x in bs[4]], [b"boundary", b"xyz"])
        p1, p2, p3 = bs[0], bs[1], bs[2]
        self.assertEqual((p1[0].lower(), p1[1].lower()), (b"text", b"plain"))
        self.assertEqual(int(p1[6]), len(b"First part text."))
        self.assertEqual((p2[0].lower(), p2[1].lower(), p2[5].lower()), (b"text", b"html", b"quoted-printable"))
        self.assertEqual((p3[0].lower(), p3[1].lower()), (b"message", b"rfc822"))
        # message/rfc822: body fields, then envelope, body structure and lines of the inner message
        inner_env, inner_bs, inner_lines = p3[7], p3[8], p3[9]
        self.assertEqual(inner_env[1], b"Inner message")
        self.assertEqual(inner_bs[0].lower(), b"text")
        self.assertEqual(int(inner_lines), 4)

    def test_body_has_no_extension_data(self):
        body = self.one(2, "BODY")["BODY"]
        bs = self.one(2, "BODYSTRUCTURE")["BODYSTRUCTURE"]
        # BODY: multipart is (parts... subtype), no parameter list
        self.assertEqual(body[3].lower(), b"mixed")
        self.assertEqual(len(body), 4)
        self.assertGreater(len(bs), 4)
        simple = self.one(1, "BODY")["BODY"]
        self.assertEqual(len(simple), 8)


class TestSequencesAndErrors(FetchCase):
    def test_sequence_sets(self):
        self.assertEqual(set(self.f("1:*", "UID")), {1, 2})
        self.assertEqual(set(self.f("*", "UID")), {2})
        self.assertEqual(set(self.f("2:1", "UID")), {1, 2})
        self.assertEqual(set(self.f("1,2", "UID")), {1, 2})
        self.assertEqual(set(self.f("*:1", "UID")), {1, 2})

    def test_uid_fetch(self):
        uids = {s: int(v["UID"]) for s, v in self.f("1:*", "UID").items()}
        r = self.f(str(uids[2]), "FLAGS", cmd="UID FETCH")
        self.assertEqual(set(r), {2})
        self.assertEqual(int(r[2]["UID"]), uids[2], "UID FETCH always includes UID")
        r = self.f("%d:*" % (uids[2] + 100), "FLAGS", cmd="UID FETCH")
        # n:* with n beyond the last UID still matches the last message (RFC 3501 6.4.8)
        self.assertEqual(set(r), {2})
        u, t = self.c.cmd("UID FETCH %d FLAGS" % (uids[2] + 1000))
        self.assertEqual(status(t), "OK")
        self.assertEqual(fetches(u), {})
        r = self.f("1:%d" % uids[2], "(UID RFC822.SIZE)", cmd="UID FETCH")
        self.assertEqual(set(r), {1, 2})

    def test_errors(self):
        for bad in ("FETCH 1 (FLAGS", "FETCH 1 BOGUS", "FETCH 1", "FETCH x FLAGS", "FETCH 0 FLAGS",
                    "FETCH 1 BODY[HEADER.FIELDS]", "FETCH 1 BODY[]<1.x>", "FETCH 1 (FLAGS) extra"):
            u, t = self.c.cmd(bad)
            self.assertEqual(status(t), "BAD", (bad, t))
        u, t = self.c.cmd("FETCH 5 FLAGS")
        self.assertIn(status(t), ("NO", "BAD"), t)
        self.ok(self.c, "NOOP")

    def test_fetch_after_expunge_by_other_session_keeps_numbers(self):
        d = self.session(select="INBOX")
        self.ok(d, "STORE 1 +FLAGS.SILENT (\\Deleted)")
        self.ok(d, "EXPUNGE")
        # this session still has 2 messages until it is told; FETCH must not renumber
        u, t = self.c.cmd("FETCH 2 (BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
        self.assertEqual(status(t), "OK")
        self.assertFalse(any(re.match(rb"\* \d+ EXPUNGE", r) for r in u), u)
        f = fetches(u)
        self.assertIn(b"Multipart test", bytes(f[2]["BODY[HEADER.FIELDS (SUBJECT)]"]))


if __name__ == "__main__":
    unittest.main()
