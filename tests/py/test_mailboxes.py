"""Mailbox commands: SELECT/EXAMINE responses, CREATE, DELETE, RENAME (INBOX too), SUBSCRIBE/UNSUBSCRIBE/LSUB,
LIST patterns and references, STATUS, and the Maildir++ directory layout."""
import os
import unittest

from support import (IS_DOVECOT, ImapTestCase, Parser, bincimap_only, code_value, expunges, fetches, lists,
                     make_msg, mbx, parse_list, q, resp_code, status, untagged_value)


class TestSelect(ImapTestCase):
    def test_select_empty_inbox(self):
        c = self.session()
        u, t = c.cmd("SELECT INBOX")
        self.assertEqual(status(t), "OK", t)
        self.assertEqual(resp_code(t), "READ-WRITE", t)
        flags = [r for r in u if r.upper().startswith(b"* FLAGS ")]
        self.assertEqual(len(flags), 1, u)
        fl = set(x.lower() for x in Parser(flags[0][8:]).value())
        self.assertTrue({b"\\answered", b"\\flagged", b"\\deleted", b"\\seen", b"\\draft"} <= fl, fl)
        self.assertEqual(untagged_value(u, "EXISTS"), 0)
        self.assertEqual(untagged_value(u, "RECENT"), 0)
        pf = code_value(u, "PERMANENTFLAGS")
        self.assertIsNotNone(pf, u)
        self.assertIn(b"\\*", pf)
        self.assertIn(b"\\Seen", pf)
        self.assertGreater(int(code_value(u, "UIDVALIDITY")), 0)
        self.assertGreater(int(code_value(u, "UIDNEXT")), 0)
        self.assertIsNone(code_value(u, "UNSEEN"), "no UNSEEN code when every message is seen: %r" % u)

    def test_select_counts_recent_and_unseen(self):
        a = self.session()
        self.append(a, make_msg(subject="one"), flags=["\\Seen"])
        self.append(a, make_msg(subject="two"))
        self.append(a, make_msg(subject="three"))
        b = self.session()
        u, t = b.cmd("SELECT INBOX")
        self.assertEqual(status(t), "OK")
        self.assertEqual(untagged_value(u, "EXISTS"), 3)
        self.assertEqual(untagged_value(u, "RECENT"), 3)
        self.assertEqual(code_value(u, "UNSEEN"), b"2")
        uidnext = int(code_value(u, "UIDNEXT"))
        c = self.session()
        u2 = self.ok(c, "SELECT INBOX")
        self.assertEqual(untagged_value(u2, "EXISTS"), 3)
        self.assertEqual(untagged_value(u2, "RECENT"), 0, "\\Recent went to the first session only")
        self.assertEqual(code_value(u2, "UIDNEXT"), str(uidnext).encode())
        self.assertEqual(code_value(u2, "UIDVALIDITY"), code_value(u, "UIDVALIDITY"))
        f = fetches(self.ok(b, "FETCH 1:3 (UID FLAGS)"))
        self.assertLess(max(int(f[i]["UID"]) for i in f), uidnext)
        self.assertIn(b"\\Recent", f[2]["FLAGS"])
        f = fetches(self.ok(c, "FETCH 1:3 (FLAGS)"))
        self.assertNotIn(b"\\Recent", f[2]["FLAGS"])

    def test_delivered_messages_are_seen_on_select(self):
        self.home.deliver(make_msg(subject="new one"))
        self.home.deliver(make_msg(subject="old one"), flags="S")
        c = self.session()
        u = self.ok(c, "SELECT INBOX")
        self.assertEqual(untagged_value(u, "EXISTS"), 2)
        # both are new to every session so far, wherever the file was
        self.assertEqual(untagged_value(u, "RECENT"), 2)
        f = fetches(self.ok(c, "FETCH 1:2 (FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])"))
        by_subject = {bytes(v["BODY[HEADER.FIELDS (SUBJECT)]"]).strip(): v["FLAGS"] for v in f.values()}
        self.assertIn(b"\\Seen", by_subject[b"Subject: old one"])
        self.assertIn(b"\\Recent", by_subject[b"Subject: new one"])
        self.assertNotIn(b"\\Seen", by_subject[b"Subject: new one"])

    def test_examine_is_read_only(self):
        a = self.session()
        self.append(a, make_msg())
        c = self.session()
        u, t = c.cmd("EXAMINE INBOX")
        self.assertEqual(status(t), "OK")
        self.assertEqual(resp_code(t), "READ-ONLY")
        self.assertEqual(code_value(u, "PERMANENTFLAGS"), b"()")
        self.assertEqual(untagged_value(u, "EXISTS"), 1)
        u, t = c.cmd("STORE 1 +FLAGS (\\Flagged)")
        # RFC 3501 says NO; Dovecot answers "OK Store ignored"
        self.assertEqual(status(t), "OK" if IS_DOVECOT else "NO", t)
        self.assertNotIn(b"\\Flagged", fetches(self.ok(c, "FETCH 1 FLAGS"))[1]["FLAGS"])
        f = fetches(self.ok(c, "FETCH 1 (BODY[TEXT] FLAGS)"))
        self.assertNotIn(b"\\Seen", f[1].get("FLAGS", []))
        f = fetches(self.ok(c, "FETCH 1 FLAGS"))
        self.assertNotIn(b"\\Seen", f[1]["FLAGS"])
        u, t = c.cmd("EXPUNGE")
        if not IS_DOVECOT:  # Dovecot answers OK and does nothing
            self.assertIn(status(t), ("NO", "BAD"))
        self.assertEqual(expunges(u), [])
        self.assertEqual(self.ok(c, "CLOSE"), [])

    def test_select_nonexistent(self):
        c = self.session()
        u, t = c.cmd("SELECT " + q(mbx("nope")))
        self.assertEqual(status(t), "NO", t)
        # Dovecot leaves the code out here
        self.assertIn(resp_code(t), (None, "NONEXISTENT") if IS_DOVECOT else ("NONEXISTENT",), t)

    def test_select_inbox_is_case_insensitive(self):
        c = self.session()
        self.ok(c, "SELECT inbox")
        self.ok(c, "EXAMINE InBoX")
        self.ok(c, 'STATUS "Inbox" (MESSAGES)')

    def test_reselect_switches_mailbox(self):
        c = self.session()
        self.ok(c, "CREATE " + q(mbx("other")))
        self.append(c, make_msg(), mailbox=mbx("other"))
        self.append(c, make_msg(), mailbox=mbx("other"))
        u = self.ok(c, "SELECT INBOX")
        self.assertEqual(untagged_value(u, "EXISTS"), 0)
        u = self.ok(c, "SELECT " + q(mbx("other")))
        self.assertEqual(untagged_value(u, "EXISTS"), 2)


class TestCreateDelete(ImapTestCase):
    def names(self, c, ref="", pat="*"):
        return lists(self.ok(c, "LIST %s %s" % (q(ref), q(pat))))

    def test_create_and_layout(self):
        c = self.session()
        self.ok(c, "CREATE " + q(mbx("a")))
        self.ok(c, "CREATE " + q(mbx("a/b")))
        self.assertTrue(os.path.isdir(os.path.join(self.home.maildir, ".a", "cur")))
        self.assertTrue(os.path.isdir(os.path.join(self.home.maildir, ".a.b", "new")))
        self.assertTrue(os.path.isdir(os.path.join(self.home.maildir, ".a.b", "tmp")))
        names = self.names(c)
        self.assertIn("INBOX", names)
        self.assertIn(mbx("a"), names)
        self.assertIn(mbx("a/b"), names)
        self.assertNotIn("\\noselect", names[mbx("a/b")])
        u = self.ok(c, "SELECT " + q(mbx("a/b")))
        self.assertEqual(untagged_value(u, "EXISTS"), 0)

    def test_create_existing(self):
        c = self.session()
        self.ok(c, "CREATE " + q(mbx("dup")))
        u, t = self.no(c, "CREATE " + q(mbx("dup")))
        self.assertEqual(resp_code(t), "ALREADYEXISTS", t)
        self.no(c, "CREATE INBOX")
        self.no(c, "CREATE inbox")

    def test_create_with_trailing_delimiter(self):
        c = self.session()
        self.ok(c, "CREATE " + q(mbx("trail/")))
        names = self.names(c)
        self.assertIn(mbx("trail"), names)
        self.ok(c, "SELECT " + q(mbx("trail")))

    def test_create_deep_gives_noselect_parents(self):
        c = self.session()
        self.ok(c, "CREATE " + q(mbx("x/y/z")))
        names = self.names(c)
        self.assertIn(mbx("x/y/z"), names)
        self.assertNotIn("\\noselect", names[mbx("x/y/z")])
        for parent in ("x", "x/y"):
            self.assertIn(mbx(parent), names)
            self.assertIn("\\noselect", names[mbx(parent)], names)
        self.assertEqual(status(c.cmd("SELECT " + q(mbx("x")))[1]), "NO")
        # a \Noselect parent can be created for real afterwards
        self.ok(c, "CREATE " + q(mbx("x")))
        self.assertNotIn("\\noselect", self.names(c)[mbx("x")])
        self.ok(c, "SELECT " + q(mbx("x")))

    def test_folder_made_by_another_program(self):
        # a Maildir++ folder created on disk (by an MDA or another server) is a mailbox, with its mail
        d = os.path.join(self.home.maildir, ".ext")
        for sub in ("cur", "new", "tmp"):
            os.makedirs(os.path.join(d, sub))
        self.home.deliver(make_msg(subject="external"), mailbox=mbx("ext"))
        self.home.deliver(make_msg(subject="external seen"), mailbox=mbx("ext"), flags="S")
        c = self.session()
        self.assertIn(mbx("ext"), self.names(c))
        u = self.ok(c, "STATUS %s (MESSAGES UNSEEN)" % q(mbx("ext")))
        self.assertTrue(any(b"MESSAGES 2" in r and b"UNSEEN 1" in r for r in u), u)
        u = self.ok(c, "SELECT " + q(mbx("ext")))
        self.assertEqual(untagged_value(u, "EXISTS"), 2)

    @bincimap_only
    def test_create_top_level_outside_inbox_fails(self):
        c = self.session()
        self.no(c, 'CREATE "Toplevel"')
        self.no(c, 'CREATE "Sent/Sub"')
        self.assertNotIn("Toplevel", self.names(c))
        self.assertFalse(os.path.exists(os.path.join(self.home.maildir, ".Toplevel")))

    def test_create_names_with_spaces_and_utf7(self):
        c = self.session()
        for name in (mbx("with space"), mbx("caf&AOk-"), mbx('q"uote')):
            self.ok(c, "CREATE " + q(name))
            self.assertIn(name, self.names(c), name)
            self.ok(c, "SELECT " + q(name))
        self.append(c, make_msg(), mailbox=mbx("with space"))
        u = self.ok(c, "STATUS %s (MESSAGES)" % q(mbx("with space")))
        self.assertTrue(any(b"MESSAGES 1" in r for r in u), u)

    def test_delete(self):
        c = self.session()
        self.ok(c, "CREATE " + q(mbx("gone")))
        self.append(c, make_msg(), mailbox=mbx("gone"))
        self.ok(c, "DELETE " + q(mbx("gone")))
        self.assertNotIn(mbx("gone"), self.names(c))
        self.assertFalse(os.path.exists(os.path.join(self.home.maildir, ".gone")))
        u, t = self.no(c, "DELETE " + q(mbx("gone")))
        self.assertEqual(resp_code(t), "NONEXISTENT", t)
        self.no(c, "DELETE INBOX")
        self.no(c, "DELETE inbox")
        self.ok(c, "SELECT INBOX")

    def test_delete_parent_with_children(self):
        c = self.session()
        self.ok(c, "CREATE " + q(mbx("p")))
        self.ok(c, "CREATE " + q(mbx("p/kid")))
        self.append(c, make_msg(), mailbox=mbx("p"))
        # RFC 3501 6.3.4: a selectable parent is deleted, its children stay, it is then \Noselect
        self.ok(c, "DELETE " + q(mbx("p")))
        names = self.names(c)
        self.assertIn(mbx("p/kid"), names)
        if not IS_DOVECOT:  # Dovecot lists it without \Noselect
            self.assertIn("\\noselect", names.get(mbx("p"), {"\\noselect"}))
        self.assertNotEqual(status(c.cmd("SELECT " + q(mbx("p")))[1]), "OK")
        if not IS_DOVECOT:
            # deleting a \Noselect name that has children is an error
            self.no(c, "DELETE " + q(mbx("p")))
        self.ok(c, "DELETE " + q(mbx("p/kid")))
        names = self.names(c)
        self.assertNotIn(mbx("p/kid"), names)

    def test_delete_selected_mailbox_from_another_session(self):
        a = self.session()
        self.ok(a, "CREATE " + q(mbx("busy")))
        self.ok(a, "SELECT " + q(mbx("busy")))
        b = self.session()
        self.ok(b, "DELETE " + q(mbx("busy")))
        self.assertNotIn(mbx("busy"), lists(self.ok(b, 'LIST "" "*"')))
        # the first session either goes on (and can select another mailbox) or says BYE and closes (Dovecot)
        try:
            u, t = a.cmd("NOOP")
        except Exception:
            self.assertTrue(a.closed())
            return
        self.assertIn(status(t), ("OK", "NO"), t)
        u, t = a.cmd("SELECT INBOX")
        self.assertEqual(status(t), "OK")


class TestRename(ImapTestCase):
    def names(self, c):
        return lists(self.ok(c, 'LIST "" "*"'))

    def test_rename_moves_messages_and_children(self):
        c = self.session()
        self.ok(c, "CREATE " + q(mbx("old")))
        self.ok(c, "CREATE " + q(mbx("old/child")))
        self.append(c, make_msg(subject="in old"), mailbox=mbx("old"))
        self.append(c, make_msg(subject="in child"), mailbox=mbx("old/child"))
        self.ok(c, "RENAME %s %s" % (q(mbx("old")), q(mbx("new"))))
        names = self.names(c)
        self.assertNotIn(mbx("old"), names)
        self.assertNotIn(mbx("old/child"), names)
        self.assertIn(mbx("new"), names)
        self.assertIn(mbx("new/child"), names)
        self.assertTrue(os.path.isdir(os.path.join(self.home.maildir, ".new.child")))
        u = self.ok(c, "SELECT " + q(mbx("new")))
        self.assertEqual(untagged_value(u, "EXISTS"), 1)
        f = fetches(self.ok(c, "FETCH 1 BODY.PEEK[HEADER.FIELDS (SUBJECT)]"))
        self.assertIn(b"in old", f[1]["BODY[HEADER.FIELDS (SUBJECT)]"])
        u = self.ok(c, "SELECT " + q(mbx("new/child")))
        self.assertEqual(untagged_value(u, "EXISTS"), 1)

    def test_rename_errors(self):
        c = self.session()
        self.ok(c, "CREATE " + q(mbx("r1")))
        self.ok(c, "CREATE " + q(mbx("r2")))
        u, t = self.no(c, "RENAME %s %s" % (q(mbx("r1")), q(mbx("r2"))))
        self.assertEqual(resp_code(t), "ALREADYEXISTS", t)
        u, t = self.no(c, "RENAME %s %s" % (q(mbx("none")), q(mbx("r3"))))
        self.assertEqual(resp_code(t), "NONEXISTENT", t)
        self.no(c, "RENAME %s INBOX" % q(mbx("r1")))

    def test_rename_to_deeper_name_creates_parents(self):
        c = self.session()
        self.ok(c, "CREATE " + q(mbx("flat")))
        self.ok(c, "RENAME %s %s" % (q(mbx("flat")), q(mbx("deep/er"))))
        names = self.names(c)
        self.assertIn(mbx("deep/er"), names)
        self.assertIn(mbx("deep"), names)
        self.ok(c, "SELECT " + q(mbx("deep/er")))

    @bincimap_only
    def test_rename_inbox(self):
        c = self.session()
        self.ok(c, "CREATE " + q(mbx("kid")))
        for i in range(3):
            self.append(c, make_msg(subject="inbox %d" % i), flags=["\\Flagged"] if i == 1 else [])
        self.ok(c, "RENAME INBOX " + q(mbx("archive")))
        names = self.names(c)
        self.assertIn("INBOX", names)
        self.assertIn(mbx("archive"), names)
        self.assertIn(mbx("kid"), names, "INBOX's children stay where they are")
        u = self.ok(c, "SELECT INBOX")
        self.assertEqual(untagged_value(u, "EXISTS"), 0)
        u = self.ok(c, "SELECT " + q(mbx("archive")))
        self.assertEqual(untagged_value(u, "EXISTS"), 3)
        f = fetches(self.ok(c, "FETCH 1:3 (FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])"))
        subjects = sorted(bytes(v["BODY[HEADER.FIELDS (SUBJECT)]"]).strip() for v in f.values())
        self.assertEqual(subjects, [b"Subject: inbox 0", b"Subject: inbox 1", b"Subject: inbox 2"])
        self.assertEqual(sum(1 for v in f.values() if b"\\Flagged" in v["FLAGS"]), 1)
        # INBOX still works
        self.append(c, make_msg(subject="after"))
        u = self.ok(c, "STATUS INBOX (MESSAGES)")
        self.assertTrue(any(b"MESSAGES 1" in r for r in u), u)


class TestSubscriptions(ImapTestCase):
    def lsub(self, c, pat="*"):
        return lists(self.ok(c, 'LSUB "" ' + q(pat)))

    def test_subscribe_lsub_unsubscribe(self):
        c = self.session()
        for n in ("s1", "s1/deep", "s2"):
            self.ok(c, "CREATE " + q(mbx(n)))
        self.ok(c, "SUBSCRIBE " + q(mbx("s1/deep")))
        self.ok(c, "SUBSCRIBE " + q(mbx("s2")))
        subs = self.lsub(c)
        self.assertIn(mbx("s1/deep"), subs)
        self.assertIn(mbx("s2"), subs)
        self.assertNotIn(mbx("s1"), subs)
        # RFC 3501 6.3.9: with %, an unsubscribed parent of a subscribed child shows as \Noselect
        subs = self.lsub(c, mbx("%"))
        self.assertIn(mbx("s1"), subs)
        self.assertIn("\\noselect", subs[mbx("s1")])
        self.assertIn(mbx("s2"), subs)
        self.assertNotIn(mbx("s1/deep"), subs)
        self.ok(c, "UNSUBSCRIBE " + q(mbx("s2")))
        subs = self.lsub(c)
        self.assertNotIn(mbx("s2"), subs)
        self.assertIn(mbx("s1/deep"), subs)

    def test_subscriptions_persist(self):
        c = self.session()
        self.ok(c, "CREATE " + q(mbx("keep")))
        self.ok(c, "SUBSCRIBE " + q(mbx("keep")))
        c2 = self.session()
        self.assertIn(mbx("keep"), self.lsub(c2))

    def test_subscription_survives_delete(self):
        # RFC 3501 6.3.6: SUBSCRIBE state is independent of the mailbox's existence
        c = self.session()
        self.ok(c, "CREATE " + q(mbx("ghost")))
        self.ok(c, "SUBSCRIBE " + q(mbx("ghost")))
        self.ok(c, "DELETE " + q(mbx("ghost")))
        self.ok(c, "UNSUBSCRIBE " + q(mbx("ghost")))
        self.assertNotIn(mbx("ghost"), self.lsub(c))


class TestList(ImapTestCase):
    def setUp(self):
        super().setUp()
        self.c = self.session()
        for n in ("a", "a/b", "a/b/c", "ab", "z"):
            self.ok(self.c, "CREATE " + q(mbx(n)))

    def names(self, ref, pat):
        return lists(self.ok(self.c, "LIST %s %s" % (q(ref), q(pat))))

    def test_delimiter_query(self):
        u = self.ok(self.c, 'LIST "" ""')
        self.assertEqual(len(u), 1, u)
        flags, delim, name = parse_list(u[0])
        self.assertEqual(delim, "/")
        self.assertEqual(name, "")
        self.assertIn("\\noselect", flags)

    def test_star_lists_everything(self):
        names = set(self.names("", "*"))
        self.assertEqual(names, {"INBOX"} | {mbx(n) for n in ("a", "a/b", "a/b/c", "ab", "z")})

    def test_percent_lists_one_level(self):
        names = set(self.names("", mbx("%"))) - {"INBOX"}
        self.assertEqual(names, {mbx("a"), mbx("ab"), mbx("z")})
        names = set(self.names("", mbx("a/%")))
        self.assertEqual(names, {mbx("a/b")})
        names = set(self.names("", mbx("a%")))
        self.assertEqual(names, {mbx("a"), mbx("ab")})
        names = set(self.names("", mbx("a/*")))
        self.assertEqual(names, {mbx("a/b"), mbx("a/b/c")})

    def test_wildcards_inside_patterns(self):
        self.assertEqual(set(self.names("", mbx("a/*/c"))), {mbx("a/b/c")})
        self.assertEqual(set(self.names("", mbx("%/b"))), {mbx("a/b")})
        self.assertEqual(set(self.names("", mbx("*c"))), {mbx("a/b/c")})
        self.assertEqual(set(self.names("", mbx("a/%/%"))), {mbx("a/b/c")})

    def test_reference_name(self):
        names = set(self.names(mbx("a/"), "%"))
        self.assertEqual(names, {mbx("a/b")})
        names = set(self.names(mbx("a/"), "*"))
        self.assertEqual(names, {mbx("a/b"), mbx("a/b/c")})
        names = set(self.names(mbx("a/b/"), "c"))
        self.assertEqual(names, {mbx("a/b/c")})

    def test_inbox_pattern(self):
        self.assertEqual(set(self.names("", "INBOX")), {"INBOX"})
        self.assertEqual(set(self.names("", "inbox")), {"INBOX"})
        self.assertEqual(set(self.names("", "INB%")), {"INBOX"})

    def test_no_match(self):
        self.assertEqual(self.names("", mbx("nothing*")), {})

    def test_noselect_parent_in_list(self):
        self.ok(self.c, "CREATE " + q(mbx("only/leaf")))
        names = self.names("", mbx("only*"))
        self.assertIn("\\noselect", names[mbx("only")])
        names = self.names("", mbx("%"))
        self.assertIn(mbx("only"), names)
        self.assertIn("\\noselect", names[mbx("only")])

    def test_list_via_imaplib(self):
        m = self.imap()
        typ, data = m.list()
        self.assertEqual(typ, "OK")
        text = b"\n".join(d for d in data if isinstance(d, bytes))
        self.assertIn(b'"/"', text)
        self.assertIn(mbx("a/b/c").encode(), text)


class TestStatus(ImapTestCase):
    def status_of(self, c, name, items="(MESSAGES RECENT UIDNEXT UIDVALIDITY UNSEEN)"):
        u = self.ok(c, "STATUS %s %s" % (q(name), items))
        rows = [r for r in u if r.upper().startswith(b"* STATUS ")]
        self.assertEqual(len(rows), 1, u)
        v = Parser(rows[0][9:]).values()
        self.assertEqual(bytes(v[0]).decode(), name)
        lst = v[1]
        return {lst[i].decode().upper(): int(lst[i + 1]) for i in range(0, len(lst), 2)}

    def test_status_counts(self):
        c = self.session()
        self.ok(c, "CREATE " + q(mbx("st")))
        st = self.status_of(c, mbx("st"))
        self.assertEqual(st["MESSAGES"], 0)
        self.assertEqual(st["UNSEEN"], 0)
        self.append(c, make_msg(), mailbox=mbx("st"), flags=["\\Seen"])
        self.append(c, make_msg(), mailbox=mbx("st"))
        st2 = self.status_of(c, mbx("st"))
        self.assertEqual(st2["MESSAGES"], 2)
        self.assertEqual(st2["RECENT"], 2)
        self.assertEqual(st2["UNSEEN"], 1)
        self.assertEqual(st2["UIDVALIDITY"], st["UIDVALIDITY"])
        self.assertGreaterEqual(st2["UIDNEXT"], st["UIDNEXT"] + 2)
        self.assertEqual(set(self.status_of(c, mbx("st"), "(MESSAGES)")), {"MESSAGES"})

    def test_status_agrees_with_select(self):
        c = self.session()
        self.fill(c, 3)
        st = self.status_of(c, "INBOX")
        d = self.session()
        u = self.ok(d, "EXAMINE INBOX")
        self.assertEqual(st["MESSAGES"], untagged_value(u, "EXISTS"))
        self.assertEqual(str(st["UIDNEXT"]).encode(), code_value(u, "UIDNEXT"))
        self.assertEqual(str(st["UIDVALIDITY"]).encode(), code_value(u, "UIDVALIDITY"))

    def test_status_errors(self):
        c = self.session()
        u, t = self.no(c, "STATUS %s (MESSAGES)" % q(mbx("missing")))
        # Dovecot leaves the code out here
        self.assertIn(resp_code(t), (None, "NONEXISTENT") if IS_DOVECOT else ("NONEXISTENT",), t)
        self.bad(c, "STATUS INBOX (BOGUS)")
        self.bad(c, "STATUS INBOX")


if __name__ == "__main__":
    unittest.main()
