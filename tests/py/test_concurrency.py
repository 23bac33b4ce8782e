"""Several sessions on one mailbox and an MTA delivering into it: unsolicited EXISTS/RECENT/EXPUNGE/FETCH FLAGS,
no EXPUNGE responses during FETCH, STORE or SEARCH, \\Recent given to exactly one session, and UIDs that never
repeat and mean the same message in every session."""
import os
import re
import threading
import time
import unittest

from support import (ImapTestCase, expunges, fetches, flagset, make_msg, search_ids, status, untagged_value)


def msgid_of(v):
    m = re.search(rb"<([^>]+)>", bytes(v))
    return m.group(1).decode() if m else None


class TestTwoSessions(ImapTestCase):
    def setUp(self):
        super().setUp()
        self.a = self.session()
        self.fill(self.a, 4)
        self.ok(self.a, "SELECT INBOX")
        self.b = self.session(select="INBOX")

    def test_no_expunge_during_fetch_store_search(self):
        self.ok(self.a, "STORE 2 +FLAGS.SILENT (\\Deleted)")
        u = self.ok(self.a, "EXPUNGE")
        self.assertEqual(expunges(u), [2])
        for cmd in ("FETCH 1:* (FLAGS)", "FETCH 4 (RFC822.SIZE)", "STORE 1 +FLAGS (\\Seen)", "SEARCH ALL",
                    "SEARCH UNSEEN", "FETCH 3 BODY.PEEK[HEADER]"):
            u, t = self.b.cmd(cmd)
            self.assertIn(status(t), ("OK", "NO"), (cmd, t))
            self.assertEqual(expunges(u), [], "EXPUNGE sent during %s: %r" % (cmd, u))
        u, t = self.b.cmd("FETCH 2 BODY.PEEK[]")
        self.assertEqual(expunges(u), [])
        # RFC 3501 5.5 / 7.4.1: the expunged message is either still served or refused with NO
        self.assertIn(status(t), ("OK", "NO"), t)
        u = self.ok(self.b, "NOOP")
        self.assertEqual(expunges(u), [2])
        f = fetches(self.ok(self.b, "FETCH 1:* (BODY.PEEK[HEADER.FIELDS (SUBJECT)])"))
        self.assertEqual(sorted(f), [1, 2, 3])
        self.assertIn(b"msg 3", bytes(f[2]["BODY[HEADER.FIELDS (SUBJECT)]"]))

    def test_expunge_reported_at_check_and_search_numbers_stay(self):
        self.ok(self.a, "STORE 1 +FLAGS.SILENT (\\Deleted)")
        self.ok(self.a, "EXPUNGE")
        u = self.ok(self.b, "SEARCH ALL")
        self.assertEqual(expunges(u), [])
        self.assertEqual(sorted(search_ids(u)), [1, 2, 3, 4], "numbers stay until the EXPUNGE is reported")
        u = self.ok(self.b, "CHECK")
        u += self.ok(self.b, "NOOP")
        self.assertEqual(expunges(u), [1])
        self.assertEqual(sorted(search_ids(self.ok(self.b, "SEARCH ALL"))), [1, 2, 3])

    def test_flag_changes_are_reported(self):
        self.ok(self.a, "STORE 3 +FLAGS (\\Flagged $Label1)")
        u = self.ok(self.b, "NOOP")
        f = fetches(u)
        self.assertIn(3, f, u)
        self.assertTrue({"\\Flagged", "$Label1"} <= flagset(f[3]["FLAGS"]))
        self.assertEqual(fetches(self.ok(self.b, "NOOP")), {}, "reported once")

    def test_append_by_other_session_is_reported(self):
        self.append(self.a, make_msg(subject="fresh"))
        u = self.ok(self.b, "NOOP")
        self.assertEqual(untagged_value(u, "EXISTS"), 5)
        f = fetches(self.ok(self.b, "FETCH 5 BODY.PEEK[HEADER.FIELDS (SUBJECT)]"))
        self.assertIn(b"fresh", bytes(f[5]["BODY[HEADER.FIELDS (SUBJECT)]"]))

    def test_delivery_shows_up_at_noop(self):
        self.home.deliver(make_msg(subject="delivered"))
        self.home.deliver(make_msg(subject="delivered too"))
        u = self.ok(self.b, "NOOP")
        self.assertEqual(untagged_value(u, "EXISTS"), 6)
        u = self.ok(self.a, "NOOP")
        self.assertEqual(untagged_value(u, "EXISTS"), 6)

    def test_changes_made_directly_in_the_maildir(self):
        # another Maildir program removes one file and flags another by renaming it
        self.ok(self.b, "STORE 1:* -FLAGS.SILENT (\\Seen)")
        self.ok(self.a, "NOOP")
        f = fetches(self.ok(self.a, "FETCH 1:4 (BODY.PEEK[HEADER.FIELDS (SUBJECT)])"))
        seq_of = {bytes(v["BODY[HEADER.FIELDS (SUBJECT)]"]).strip().decode(): s for s, v in f.items()}
        files = {}
        for sub in ("cur", "new"):
            for name in os.listdir(os.path.join(self.home.maildir, sub)):
                path = os.path.join(self.home.maildir, sub, name)
                with open(path, "rb") as fh:
                    m = re.search(rb"Subject: (msg \d)", fh.read())
                files[m.group(1).decode()] = path
        os.unlink(files["msg 2"])
        p = files["msg 3"]
        base = os.path.basename(p).split(":2,")[0]
        info = (os.path.basename(p).split(":2,") + [""])[1]
        os.rename(p, os.path.join(self.home.maildir, "cur", base + ":2," + "".join(sorted(set(info + "F")))))
        u = self.ok(self.a, "FETCH 1:4 (FLAGS)")
        self.assertEqual(expunges(u), [])
        u = self.ok(self.a, "NOOP")
        self.assertEqual(expunges(u), [seq_of["Subject: msg 2"]])
        f = fetches(self.ok(self.a, "FETCH 1:3 (FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])"))
        flagged = [bytes(v["BODY[HEADER.FIELDS (SUBJECT)]"]).strip() for v in f.values()
                   if "\\Flagged" in flagset(v["FLAGS"])]
        self.assertEqual(flagged, [b"Subject: msg 3"])

    def test_recent_goes_to_exactly_one_session(self):
        self.home.deliver(make_msg(subject="who gets it"))
        ua = self.ok(self.a, "NOOP")
        ub = self.ok(self.b, "NOOP")
        fa = flagset(fetches(self.ok(self.a, "FETCH 5 FLAGS"))[5]["FLAGS"])
        fb = flagset(fetches(self.ok(self.b, "FETCH 5 FLAGS"))[5]["FLAGS"])
        self.assertEqual(("\\Recent" in fa) + ("\\Recent" in fb), 1, (fa, fb))
        self.assertEqual(sorted([untagged_value(ua, "RECENT") or 0, untagged_value(ub, "RECENT") or 0])[0], 0)
        c = self.session()
        u = self.ok(c, "SELECT INBOX")
        self.assertEqual(untagged_value(u, "RECENT"), 0)

    def test_concurrent_flag_changes_all_stick(self):
        # two sessions add different keywords to the same messages at the same time: none may be lost.
        # 13 each: Maildir filenames carry at most 26 keyword letters.
        errors = []

        def worker(conn, kw):
            try:
                for i in range(13):
                    u, t = conn.cmd("STORE 1:4 +FLAGS.SILENT (%s%d)" % (kw, i))
                    if status(t) != "OK":
                        errors.append(t)
            except Exception as e:  # reported below
                errors.append(repr(e))

        ts = [threading.Thread(target=worker, args=(self.a, "KwA")),
              threading.Thread(target=worker, args=(self.b, "KwB"))]
        for t in ts:
            t.start()
        for t in ts:
            t.join(120)
        self.assertEqual(errors, [])
        c = self.session(select="INBOX")
        f = fetches(self.ok(c, "FETCH 1:4 FLAGS"))
        want = {"KwA%d" % i for i in range(13)} | {"KwB%d" % i for i in range(13)}
        for seq in range(1, 5):
            self.assertEqual(flagset(f[seq]["FLAGS"]) & want, want, "message %d lost keywords" % seq)

    def test_concurrent_appends_get_distinct_uids(self):
        conns = [self.session(), self.session()]
        errors = []

        def worker(conn, k):
            try:
                for i in range(25):
                    u, t = conn.cmd("APPEND INBOX {LIT}", [make_msg(subject="w%d-%d" % (k, i))])
                    if status(t) != "OK":
                        errors.append(t)
            except Exception as e:  # reported below
                errors.append(repr(e))

        ts = [threading.Thread(target=worker, args=(c, k)) for k, c in enumerate(conns)]
        for t in ts:
            t.start()
        for t in ts:
            t.join(120)
        self.assertEqual(errors, [])
        d = self.session()
        u = self.ok(d, "SELECT INBOX")
        self.assertEqual(untagged_value(u, "EXISTS"), 54)
        f = fetches(self.ok(d, "FETCH 1:* UID"))
        uids = [int(f[i]["UID"]) for i in sorted(f)]
        self.assertEqual(len(set(uids)), 54)
        self.assertEqual(uids, sorted(uids))


class TestDeliveryStress(ImapTestCase):
    """An MTA thread delivers through tmp/ -> new/ while two sessions poll, flag and expunge."""

    N = int(os.environ.get("BINCIMAP_TEST_STRESS", "300"))

    def test_sessions_agree_while_mta_delivers(self):
        a = self.session(select="INBOX")
        b = self.session(select="INBOX")
        delivered = []
        done = threading.Event()
        failure = []

        def mta():
            try:
                for i in range(self.N):
                    mid = "stress-%d@test.example" % i
                    self.home.deliver(make_msg(subject="stress %d" % i, msgid="<%s>" % mid))
                    delivered.append(mid)
                    if i % 7 == 0:
                        time.sleep(0.001)
            except Exception as e:  # reported in the main thread
                failure.append(repr(e))
            finally:
                done.set()

        uid_to_mid = {}
        mid_to_uid = {}
        expunged_mids = set()

        count = {"a": 0, "b": 0}

        def track(name, untagged):
            # EXPUNGE and EXISTS in the order they came keep the session's message count
            for r in untagged:
                m = re.match(rb"\* (\d+) (EXISTS|EXPUNGE)$", r)
                if m and m.group(2) == b"EXISTS":
                    count[name] = int(m.group(1))
                elif m:
                    count[name] -= 1

        def sync(conn, name):
            track(name, self.ok(conn, "NOOP"))
            if count[name] == 0:
                return {}
            u = self.ok(conn, "FETCH 1:%d (UID BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])" % count[name])
            self.assertEqual(expunges(u), [], "EXPUNGE during FETCH")
            track(name, u)
            f = fetches(u)
            seqs = sorted(s for s in f if "UID" in f[s])
            uids = [int(f[s]["UID"]) for s in seqs]
            self.assertEqual(uids, sorted(uids), "UIDs ascend with sequence numbers in %s" % name)
            self.assertEqual(len(set(uids)), len(uids), "UID repeated in %s" % name)
            for s in seqs:
                uid = int(f[s]["UID"])
                mid = msgid_of(f[s]["BODY[HEADER.FIELDS (MESSAGE-ID)]"])
                self.assertEqual(uid_to_mid.setdefault(uid, mid), mid, "UID %d changed meaning" % uid)
                self.assertEqual(mid_to_uid.setdefault(mid, uid), uid, "message %s changed UID" % mid)
            return f

        t = threading.Thread(target=mta)
        t.start()
        rounds = 0
        try:
            while not done.is_set() or rounds < 3:
                fa = sync(a, "a")
                sync(b, "b")
                # session a deletes every 10th message it knows about, then expunges
                victims = [s for s in fa if int(fa[s]["UID"]) % 10 == 0]
                if victims:
                    for s in victims:
                        expunged_mids.add(msgid_of(fa[s]["BODY[HEADER.FIELDS (MESSAGE-ID)]"]))
                    track("a", self.ok(a, "STORE %s +FLAGS.SILENT (\\Deleted)" % ",".join(map(str, victims))))
                    track("a", self.ok(a, "EXPUNGE"))
                if done.is_set():
                    rounds += 1
        finally:
            t.join(120)
        self.assertEqual(failure, [])
        fa = sync(a, "a")
        fb = sync(b, "b")
        ids_a = sorted(msgid_of(v["BODY[HEADER.FIELDS (MESSAGE-ID)]"]) for v in fa.values())
        ids_b = sorted(msgid_of(v["BODY[HEADER.FIELDS (MESSAGE-ID)]"]) for v in fb.values())
        expected = sorted(set(delivered) - expunged_mids)
        self.assertEqual(ids_a, expected)
        self.assertEqual(ids_b, expected)
        self.assertEqual(len(set(delivered)), self.N)
        self.assertGreater(len(expunged_mids), self.N // 20, "the expunging session did its part")
        # a fresh session sees the same UIDs
        c = self.session()
        self.ok(c, "EXAMINE INBOX")
        f = fetches(self.ok(c, "FETCH 1:* (UID BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])"))
        for v in f.values():
            self.assertEqual(mid_to_uid[msgid_of(v["BODY[HEADER.FIELDS (MESSAGE-ID)]"])], int(v["UID"]))
        self.assertEqual(len(f), len(expected))


if __name__ == "__main__":
    unittest.main()
