#!/usr/bin/env python3
"""Seeds the throughput benchmark's mailboxes into a running test Dovecot
(scripts/dovecot start DIR), deterministically:

  user t29: INBOX of 100 messages of exactly 1 MiB (1 048 576 bytes on disk)
  user t30: INBOX of 1 000 messages of exactly 10 KiB (10 240 bytes)
  user t27: INBOX of 10 000 messages of exactly 1 KiB (the scaling poll)
  user t28: INBOX of 10 messages of exactly 1 KiB (its small twin)
  user t26: INBOX of 20 messages of exactly 5 MiB (the slow-link poll)

(POP3 sees only INBOX, so each set is its own user's INBOX.) Messages are
text with LF line endings (as Dovecot keeps Maildir; it sends CRLF), 76
bytes a line, some lines starting with a dot (so POP3 dot-stuffs them),
from a fixed pseudo-random sequence. The users' Maildirs are replaced,
with a dovecot-uidlist so UIDs are 1..N. Run before the first login.

Usage: scripts/seed_bench.py DIR [USER...]   (default: every user above)
"""
import hashlib
import os
import shutil
import sys

BASE_TIME = 1700000000
SETS = {
    "t29": (100, 1 << 20),
    "t30": (1000, 10 << 10),
    "t27": (10000, 1 << 10),
    "t28": (10, 1 << 10),
    "t26": (20, 5 << 20),
}
ALPHA = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,"


def message(uid, size):
    head = (
        "From: Bench <bench@example.com>\n"
        "To: t <t@example.com>\n"
        "Subject: bench message %d\n"
        "Date: Tue, 14 Nov 2023 22:13:20 +0000\n"
        "Message-ID: <bench-%d@example.com>\n\n" % (uid, uid)
    ).encode()
    out = bytearray(head)
    x = (uid * 2654435761) & 0xFFFFFFFF or 1
    line = 0
    while len(out) < size:
        chars = bytearray()
        for _ in range(75):
            x ^= (x << 13) & 0xFFFFFFFF
            x ^= x >> 17
            x ^= (x << 5) & 0xFFFFFFFF
            chars.append(ALPHA[x % len(ALPHA)])
        if line % 50 == 7:
            chars[0:1] = b"."
        out += chars + b"\n"
        line += 1
    out = out[:size]
    out[-1:] = b"\n"
    return bytes(out)


def write_inbox(maildir, count, size):
    shutil.rmtree(maildir, ignore_errors=True)
    for sub in ("cur", "new", "tmp"):
        os.makedirs(os.path.join(maildir, sub))
    entries = []
    for uid in range(1, count + 1):
        data = message(uid, size)
        ts = BASE_TIME + 60 * uid
        vsize = len(data) + data.count(b"\n")
        base = "%d.M%dP1.bench,S=%d,W=%d" % (ts, uid, len(data), vsize)
        path = os.path.join(maildir, "cur", base + ":2,S")
        with open(path, "wb") as f:
            f.write(data)
        os.utime(path, (ts, ts))
        entries.append("%d :%s\n" % (uid, base))
    guid = hashlib.md5(b"bench-%d" % count).hexdigest()
    with open(os.path.join(maildir, "dovecot-uidlist"), "w") as f:
        f.write("3 V%d N%d G%s\n" % (4000 + count, count + 1, guid))
        f.writelines(entries)
    with open(os.path.join(maildir, "subscriptions"), "wb") as f:
        f.write(b"V\t2\n\nINBOX\n")


def main():
    if len(sys.argv) < 2 or any(u not in SETS for u in sys.argv[2:]):
        sys.exit(__doc__)
    home = os.path.join(sys.argv[1], "home")
    users = sys.argv[2:] or list(SETS)
    for user in users:
        count, size = SETS[user]
        udir = os.path.join(home, user)
        if not os.path.isdir(udir):
            sys.exit("seed_bench.py: no home %s (start Dovecot first)" % udir)
        st = os.stat(udir)
        write_inbox(os.path.join(udir, "Maildir"), count, size)
        # Dovecot must be able to write its indexes next to the mail.
        for dirpath, dirnames, filenames in os.walk(os.path.join(udir, "Maildir")):
            for n in dirnames + filenames:
                os.chown(os.path.join(dirpath, n), st.st_uid, st.st_gid)
        os.chown(os.path.join(udir, "Maildir"), st.st_uid, st.st_gid)
    print("seed_bench: " + ", ".join(
        "%s %d x %d B" % (u, SETS[u][0], SETS[u][1]) for u in users))


if __name__ == "__main__":
    main()
