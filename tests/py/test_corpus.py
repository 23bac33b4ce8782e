"""CPython's test_email corpus delivered into a Maildir, then every FETCH item and section fetched and a battery
of SEARCHes run: every answer must parse and agree with the files (sizes are the CRLF sizes, BODY[] is the
CRLF text, HEADER + TEXT is the whole, SEARCH finds what the files contain)."""
import email
import email.policy
import re
import unittest

from support import ImapTestCase, corpus, crlf, fetches, search_ids, status


def part_paths(bs, prefix=""):
    """Section paths of every part of a parsed BODYSTRUCTURE: [(path, is_message_rfc822, is_multipart)]."""
    out = []
    if isinstance(bs, list) and bs and isinstance(bs[0], list):
        k = 0
        for child in bs:
            if not isinstance(child, list):
                break
            k += 1
            p = (prefix + "." if prefix else "") + str(k)
            out.append((p, is_msg(child), bool(child) and isinstance(child[0], list)))
            if child and isinstance(child[0], list):
                out += part_paths(child, p)
            elif is_msg(child) and len(child) > 8 and isinstance(child[8], list):
                inner = child[8]
                if inner and isinstance(inner[0], list):
                    out += part_paths(inner, p)
    return out


def is_msg(bs):
    return (len(bs) > 1 and isinstance(bs[0], bytes) and isinstance(bs[1], bytes)
            and bs[0].lower() == b"message" and bs[1].lower() == b"rfc822")


@unittest.skipUnless(corpus(), "CPython's test.test_email package is not installed")
class TestCorpus(ImapTestCase):
    def setUp(self):
        super().setUp()
        self.msgs = corpus()
        t0 = 1738368000
        for i, (name, data) in enumerate(self.msgs):
            self.home.deliver(data, flags="", mtime=t0 + i * 3600)
        self.c = self.session()
        self.ok(self.c, "SELECT INBOX")
        # the order a server numbers the files in is its own choice: match each message to its file by content
        f = fetches(self.ok(self.c, "FETCH 1:* (RFC822.SIZE BODY.PEEK[])"))
        by_content = {crlf(d): n for n, d in self.msgs}
        self.seq_to_name = {}
        for seq, v in f.items():
            body = bytes(v["BODY[]"])
            self.assertIn(body, by_content, "BODY[] of message %d is not the CRLF text of any file" % seq)
            self.seq_to_name[seq] = by_content[body]
            self.assertEqual(int(v["RFC822.SIZE"]), len(body), "RFC822.SIZE of %s" % by_content[body])
        self.assertEqual(len(self.seq_to_name), len(self.msgs))
        self.data = {n: d for n, d in self.msgs}

    def test_fetch_everything(self):
        n = len(self.msgs)
        for seq in range(1, n + 1):
            name = self.seq_to_name[seq]
            u = self.ok(self.c, "FETCH %d (FLAGS INTERNALDATE RFC822.SIZE ENVELOPE BODY BODYSTRUCTURE UID "
                                "BODY.PEEK[HEADER] BODY.PEEK[TEXT] RFC822.HEADER)" % seq)
            v = fetches(u)[seq]
            whole = crlf(self.data[name])
            self.assertEqual(bytes(v["BODY[HEADER]"]) + bytes(v["BODY[TEXT]"]), whole, name)
            self.assertEqual(bytes(v["RFC822.HEADER"]), bytes(v["BODY[HEADER]"]), name)
            self.assertEqual(len(v["ENVELOPE"]), 10, name)
            bs = v["BODYSTRUCTURE"]
            self.assertIsInstance(bs, list, name)
            self.assertIsInstance(v["BODY"], list, name)
            self.check_top_type(name, bs)
            sections = ["HEADER.FIELDS (FROM SUBJECT DATE)", "HEADER.FIELDS.NOT (RECEIVED)", "1"]
            for path, msg, multi in part_paths(bs):
                sections += [path, path + ".MIME"]
                if msg:
                    sections += [path + ".HEADER", path + ".TEXT"]
            for sec in sections:
                u, t = self.c.cmd("FETCH %d (BODY.PEEK[%s] BODY.PEEK[%s]<2.7>)" % (seq, sec, sec))
                self.assertEqual(status(t), "OK", (name, sec, t))
                got = fetches(u)[seq]
                key = [k for k in got if k.startswith("BODY[") and not k.endswith(">")]
                pkey = [k for k in got if k.endswith("<2>")]
                self.assertEqual(len(key), 1, (name, sec, list(got)))
                self.assertEqual(len(pkey), 1, (name, sec, list(got)))
                full = got[key[0]]
                if full is not None:
                    self.assertEqual(bytes(got[pkey[0]]), bytes(full)[2:9], (name, sec))
        flags = fetches(self.ok(self.c, "FETCH 1:* FLAGS"))
        for seq, v in flags.items():
            self.assertNotIn(b"\\Seen", v["FLAGS"], "PEEK fetches set \\Seen on %d" % seq)

    def check_top_type(self, name, bs):
        """The top-level media type agrees with Python's parser where Python found no defect in it."""
        msg = email.message_from_bytes(self.data[name], policy=email.policy.compat32)
        if msg.defects or msg.get("Content-Type") is None or "/" not in str(msg.get("Content-Type")).split(";")[0]:
            return
        ctype = msg.get_content_type()
        if isinstance(bs[0], list):
            self.assertTrue(ctype.startswith("multipart/"), (name, ctype))
        else:
            got = (bytes(bs[0]).decode().lower() + "/" + bytes(bs[1]).decode().lower())
            if not ctype.startswith("multipart/"):
                self.assertEqual(got, ctype, name)

    def test_search_finds_what_the_files_contain(self):
        n = len(self.msgs)
        name_to_seq = {v: k for k, v in self.seq_to_name.items()}
        self.assertEqual(sorted(search_ids(self.ok(self.c, "SEARCH ALL"))), list(range(1, n + 1)))
        sizes = {s: len(crlf(self.data[nm])) for s, nm in self.seq_to_name.items()}
        mid = sorted(sizes.values())[n // 2]
        self.assertEqual(sorted(search_ids(self.ok(self.c, "SEARCH LARGER %d" % mid))),
                         sorted(s for s, z in sizes.items() if z > mid))
        self.assertEqual(sorted(search_ids(self.ok(self.c, "SEARCH SMALLER %d" % mid))),
                         sorted(s for s, z in sizes.items() if z < mid))
        checked = 0
        for name, data in self.msgs:
            seq = name_to_seq[name]
            msg = email.message_from_bytes(data, policy=email.policy.compat32)
            mid_hdr = msg.get("Message-ID")
            if mid_hdr and re.fullmatch(r"\s*<[\x21-\x7e]+>\s*", str(mid_hdr)):
                ids = search_ids(self.ok(self.c, 'SEARCH HEADER Message-ID "%s"' % str(mid_hdr).strip()
                                         .replace("\\", "\\\\").replace('"', '\\"')))
                self.assertIn(seq, ids, name)
                checked += 1
            subj = msg.get("Subject")
            if subj and isinstance(subj, str) and "=?" not in subj:
                words = re.findall(r"[A-Za-z]{5,}", subj)
                if words:
                    self.assertIn(seq, search_ids(self.ok(self.c, 'SEARCH SUBJECT "%s"' % words[0])), name)
                    self.assertIn(seq, search_ids(self.ok(self.c, 'SEARCH HEADER SUBJECT "%s"' % words[0])), name)
                    checked += 1
            ct = str(msg.get("Content-Type", "text/plain")).split(";")[0].strip().lower()
            if not msg.is_multipart() and ct == "text/plain" and not msg.defects and \
                    msg.get("Content-Transfer-Encoding", "7bit").strip().lower() in ("7bit", "8bit"):
                body = msg.get_payload()
                if isinstance(body, str):
                    words = sorted(set(re.findall(r"\b[A-Za-z]{7,}\b", body)))
                    if words:
                        self.assertIn(seq, search_ids(self.ok(self.c, 'SEARCH BODY "%s"' % words[0])),
                                      (name, words[0]))
                        self.assertIn(seq, search_ids(self.ok(self.c, 'SEARCH TEXT "%s"' % words[0])), name)
                        checked += 1
        self.assertGreater(checked, 20)
        for crit in ("TEXT the", "BODY zzzz", "FROM barry", "TO example", "CC a", "HEADER Content-Type multipart",
                     "CHARSET UTF-8 TEXT x", "OR SUBJECT a NOT BODY b", "SENTSINCE 1-Jan-2000",
                     "SENTBEFORE 1-Jan-2000", "SINCE 1-Feb-2025", "BEFORE 2-Feb-2025"):
            u, t = self.c.cmd("SEARCH " + crit)
            self.assertEqual(status(t), "OK", (crit, t))
        self.assertEqual(sorted(search_ids(self.ok(self.c, "SEARCH SINCE 1-Jan-2025"))), list(range(1, n + 1)))


if __name__ == "__main__":
    unittest.main()
