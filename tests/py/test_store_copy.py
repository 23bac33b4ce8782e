"""STORE (FLAGS, +FLAGS, -FLAGS, .SILENT, keywords), EXPUNGE, CLOSE, CHECK, COPY and their UID variants."""
import os
import unittest
from datetime import datetime

from support import (IS_DOVECOT, ImapTestCase, code_value, expunges, fetches, flagset, make_msg, mbx, q,
                     resp_code, status, untagged_value)


class StoreCase(ImapTestCase):
    def setUp(self):
        super().setUp()
        self.c = self.session()
        self.msgs = self.fill(self.c, 5)
        self.ok(self.c, "SELECT INBOX")
        self.uids = {s: int(v["UID"]) for s, v in fetches(self.ok(self.c, "FETCH 1:* UID")).items()}

    def flags(self, seq, conn=None):
        return flagset(fetches(self.ok(conn or self.c, "FETCH %d FLAGS" % seq))[seq]["FLAGS"]) - {"\\Recent"}


class TestStore(StoreCase):
    def test_store_forms(self):
        u = self.ok(self.c, "STORE 1 FLAGS (\\Seen \\Flagged)")
        self.assertEqual(flagset(fetches(u)[1]["FLAGS"]) - {"\\Recent"}, {"\\Seen", "\\Flagged"})
        u = self.ok(self.c, "STORE 1 +FLAGS (\\Answered)")
        self.assertEqual(flagset(fetches(u)[1]["FLAGS"]) - {"\\Recent"}, {"\\Seen", "\\Flagged", "\\Answered"})
        u = self.ok(self.c, "STORE 1 -FLAGS (\\Seen \\Flagged)")
        self.assertEqual(flagset(fetches(u)[1]["FLAGS"]) - {"\\Recent"}, {"\\Answered"})
        u = self.ok(self.c, "STORE 1 FLAGS ()")
        self.assertEqual(flagset(fetches(u)[1]["FLAGS"]) - {"\\Recent"}, set())
        u = self.ok(self.c, "STORE 1 +FLAGS \\Draft")
        self.assertEqual(self.flags(1), {"\\Draft"})

    def test_silent(self):
        for cmd in ("STORE 2 +FLAGS.SILENT (\\Seen)", "STORE 2 FLAGS.SILENT (\\Flagged)",
                    "STORE 2 -FLAGS.SILENT (\\Flagged)"):
            u = self.ok(self.c, cmd)
            self.assertEqual(fetches(u), {}, (cmd, u))
        self.assertEqual(self.flags(2), set())
        self.ok(self.c, "STORE 2 +FLAGS.SILENT (\\Deleted)")
        self.assertEqual(self.flags(2), {"\\Deleted"})

    def test_store_range_and_star(self):
        u = self.ok(self.c, "STORE 2:* +FLAGS (\\Seen)")
        self.assertEqual(set(fetches(u)), {2, 3, 4, 5})
        self.assertEqual(self.flags(1), set())
        self.assertEqual(self.flags(5), {"\\Seen"})

    def test_keywords_persist(self):
        self.ok(self.c, "STORE 3 +FLAGS ($Label1 Custom \\Seen)")
        self.assertEqual(self.flags(3), {"$Label1", "Custom", "\\Seen"})
        d = self.session()
        u = self.ok(d, "SELECT INBOX")
        flags_line = [r for r in u if r.upper().startswith(b"* FLAGS")][0]
        self.assertIn(b"$Label1", flags_line)
        self.assertIn(b"\\*", code_value(u, "PERMANENTFLAGS"))
        self.assertEqual(self.flags(3, d), {"$Label1", "Custom", "\\Seen"})
        self.ok(d, "STORE 3 -FLAGS (Custom)")
        e = self.session(select="INBOX")
        self.assertEqual(self.flags(3, e), {"$Label1", "\\Seen"})

    @unittest.skipIf(IS_DOVECOT, "Dovecot keeps extra keywords in its index")
    def test_too_many_keywords_is_refused(self):
        c = self.c
        for i in range(26):
            self.ok(c, "STORE 1 +FLAGS (kw%d)" % i)
        u, t = c.cmd("STORE 1 +FLAGS (kw26)")
        self.assertEqual(status(t), "NO", t)
        self.assertIn(b"[LIMIT]", t)
        f = fetches(self.ok(c, "FETCH 1 FLAGS"))
        self.assertEqual(len([x for x in self.flags(1) if x.startswith("kw")]), 26)

    def test_flags_reach_the_maildir(self):
        self.ok(self.c, "STORE 4 FLAGS (\\Seen \\Answered \\Flagged \\Draft)")
        self.ok(self.c, "CHECK")
        infos = sorted(f.split(":2,", 1)[1] for f in os.listdir(os.path.join(self.home.maildir, "cur"))
                       if ":2," in f)
        self.assertIn("DFRS", [i.rstrip("abcdefghijklmnopqrstuvwxyz") for i in infos])

    def test_uid_store(self):
        u = self.ok(self.c, "UID STORE %d +FLAGS (\\Flagged)" % self.uids[4])
        f = fetches(u)
        self.assertEqual(set(f), {4})
        self.assertEqual(self.flags(4), {"\\Flagged"})
        u = self.ok(self.c, "UID STORE %d:%d FLAGS.SILENT (\\Seen)" % (self.uids[1], self.uids[2]))
        self.assertEqual(fetches(u), {})
        self.assertEqual(self.flags(2), {"\\Seen"})
        u, t = self.c.cmd("UID STORE %d +FLAGS (\\Seen)" % (self.uids[5] + 1000))
        self.assertEqual(status(t), "OK")
        self.assertEqual(fetches(u), {})

    def test_store_errors(self):
        if not IS_DOVECOT:  # Dovecot takes a missing flag list as empty
            self.bad(self.c, "STORE 1 FLAGS")
        for bad in ("STORE 1 BOGUS (\\Seen)", "STORE 1 +FLAGS (\\Seen", "STORE x FLAGS (\\Seen)",
                    "STORE 1 +FLAGS (\\Recent)"):
            u, t = self.c.cmd(bad)
            self.assertEqual(status(t), "BAD", (bad, t))
        u, t = self.c.cmd("STORE 9 +FLAGS (\\Seen)")
        self.assertIn(status(t), ("NO", "BAD"), t)
        self.ok(self.c, "NOOP")

    def test_store_via_imaplib(self):
        m = self.imap()
        m.select("INBOX")
        typ, data = m.store("1:2", "+FLAGS", r"(\Flagged)")
        self.assertEqual(typ, "OK")
        typ, data = m.search(None, "FLAGGED")
        self.assertEqual(data, [b"1 2"])


class TestExpungeClose(StoreCase):
    def test_expunge_responses(self):
        self.ok(self.c, "STORE 2,4 +FLAGS.SILENT (\\Deleted)")
        u = self.ok(self.c, "EXPUNGE")
        left = list(range(1, 6))
        for n in expunges(u):
            self.assertLessEqual(n, len(left))
            del left[n - 1]
        self.assertEqual(left, [1, 3, 5])
        f = fetches(self.ok(self.c, "FETCH 1:* UID"))
        self.assertEqual([int(f[i]["UID"]) for i in sorted(f)], [self.uids[1], self.uids[3], self.uids[5]])
        self.assertEqual(len([n for n in os.listdir(os.path.join(self.home.maildir, "cur"))]) +
                         len(os.listdir(os.path.join(self.home.maildir, "new"))), 3)
        self.assertEqual(expunges(self.ok(self.c, "EXPUNGE")), [])

    def test_expunge_all(self):
        self.ok(self.c, "STORE 1:* +FLAGS.SILENT (\\Deleted)")
        u = self.ok(self.c, "EXPUNGE")
        self.assertEqual(len(expunges(u)), 5)
        u = self.ok(self.c, "NOOP")
        u = self.ok(self.c, "SELECT INBOX")
        self.assertEqual(untagged_value(u, "EXISTS"), 0)

    def test_close_expunges_silently(self):
        self.ok(self.c, "STORE 1,3 +FLAGS.SILENT (\\Deleted)")
        u = self.ok(self.c, "CLOSE")
        self.assertEqual(expunges(u), [])
        u, t = self.c.cmd("FETCH 1 FLAGS")
        self.assertIn(status(t), ("BAD", "NO"), "CLOSE returns to the authenticated state")
        u = self.ok(self.c, "STATUS INBOX (MESSAGES)")
        self.assertTrue(any(b"MESSAGES 3" in r for r in u), u)

    def test_close_after_examine_keeps_messages(self):
        self.ok(self.c, "STORE 1 +FLAGS.SILENT (\\Deleted)")
        self.ok(self.c, "EXAMINE INBOX")
        self.ok(self.c, "CLOSE")
        u = self.ok(self.c, "STATUS INBOX (MESSAGES)")
        self.assertTrue(any(b"MESSAGES 5" in r for r in u), u)

    def test_uid_numbers_are_not_reused(self):
        self.ok(self.c, "STORE 5 +FLAGS.SILENT (\\Deleted)")
        self.ok(self.c, "EXPUNGE")
        self.append(self.c, make_msg(subject="after expunge"))
        f = fetches(self.ok(self.c, "FETCH * UID"))
        self.assertGreater(int(list(f.values())[0]["UID"]), self.uids[5])


class TestCopy(StoreCase):
    def setUp(self):
        super().setUp()
        self.ok(self.c, "CREATE " + q(mbx("dest")))

    def test_copy_preserves_content_flags_and_date(self):
        self.ok(self.c, "STORE 2 FLAGS (\\Seen $Label1)")
        src = fetches(self.ok(self.c, "FETCH 2:3 (FLAGS INTERNALDATE BODY.PEEK[])"))
        self.ok(self.c, "COPY 2:3 " + q(mbx("dest")))
        d = self.session()
        u = self.ok(d, "SELECT " + q(mbx("dest")))
        self.assertEqual(untagged_value(u, "EXISTS"), 2)
        self.assertEqual(untagged_value(u, "RECENT"), 2)
        dst = fetches(self.ok(d, "FETCH 1:2 (FLAGS INTERNALDATE BODY.PEEK[])"))
        for s, t in ((2, 1), (3, 2)):
            self.assertEqual(bytes(dst[t]["BODY[]"]), bytes(src[s]["BODY[]"]))
            self.assertEqual(flagset(dst[t]["FLAGS"]) - {"\\Recent"}, flagset(src[s]["FLAGS"]) - {"\\Recent"})
            self.assertEqual(parse_date(dst[t]["INTERNALDATE"]), parse_date(src[s]["INTERNALDATE"]))
        self.assertIn("$Label1", flagset(dst[1]["FLAGS"]))

    def test_copy_to_missing_says_trycreate(self):
        u, t = self.no(self.c, "COPY 1 " + q(mbx("absent")))
        self.assertEqual(resp_code(t), "TRYCREATE", t)

    def test_copy_into_same_mailbox(self):
        u = self.ok(self.c, "COPY 1 INBOX")
        u += self.ok(self.c, "NOOP")
        self.assertEqual(untagged_value(u, "EXISTS"), 6)
        f = fetches(self.ok(self.c, "FETCH 6 (UID BODY.PEEK[])"))
        self.assertEqual(bytes(f[6]["BODY[]"]), self.msgs[0])
        self.assertGreater(int(f[6]["UID"]), self.uids[5])

    def test_uid_copy(self):
        self.ok(self.c, "UID COPY %d,%d %s" % (self.uids[1], self.uids[5], q(mbx("dest"))))
        u, t = self.c.cmd("UID COPY %d %s" % (self.uids[5] + 1000, q(mbx("dest"))))
        self.assertEqual(status(t), "OK", t)
        d = self.session()
        u = self.ok(d, "SELECT " + q(mbx("dest")))
        self.assertEqual(untagged_value(u, "EXISTS"), 2)
        f = fetches(self.ok(d, "FETCH 1:2 BODY.PEEK[]"))
        self.assertEqual([bytes(f[i]["BODY[]"]) for i in (1, 2)], [self.msgs[0], self.msgs[4]])

    def test_copy_errors(self):
        self.bad(self.c, "COPY 1")
        self.bad(self.c, "COPY x " + q(mbx("dest")))
        u, t = self.c.cmd("COPY 99 " + q(mbx("dest")))
        self.assertIn(status(t), ("NO", "BAD"), t)
        u = self.ok(self.c, "STATUS %s (MESSAGES)" % q(mbx("dest")))
        self.assertTrue(any(b"MESSAGES 0" in r for r in u), u)

    def test_copy_via_imaplib(self):
        m = self.imap()
        m.select("INBOX")
        typ, data = m.copy("1:3", mbx("dest"))
        self.assertEqual(typ, "OK", data)
        typ, data = m.status(mbx("dest"), "(MESSAGES)")
        self.assertIn(b"MESSAGES 3", data[0])


def parse_date(v):
    return datetime.strptime(bytes(v).decode(), "%d-%b-%Y %H:%M:%S %z").timestamp()


if __name__ == "__main__":
    unittest.main()
