#!/usr/bin/env python3
"""Write the deterministic test Maildir used by the real-server tests.

Usage: seed_mail.py MAILDIR [HOME_ROOT USER...]
       seed_mail.py --demo-attachment FILENAME   (writes it to stdout)

Creates MAILDIR (which must not exist yet) as a Dovecot Maildir++ tree:
INBOX with the seven messages described in SEED_INBOX below, a handful of
sub-folders, a `subscriptions` file and a `dovecot-uidlist` per folder so
that UIDVALIDITY and UIDs are fixed (INBOX: UIDVALIDITY 1700000000, UIDs
1..N in the listed order).

With HOME_ROOT and USERs, every user also gets the same tree as
HOME_ROOT/USER/Maildir: message files are hard links to MAILDIR's (Dovecot
never rewrites a Maildir message file, it renames or unlinks it), all other
files are real copies (Dovecot may append to dovecot-uidlist in place).
User `demo` alone (scripts/demo, scripts/qemu-demo) also gets the messages
of DEMO_EXTRA after those (UIDs 8..): a report with a PDF and a PNG
attachment, for `mailpoll --extract`. The tests' users keep the seven
(tests/common SEED_INBOX_LEN). `--demo-attachment report.pdf` (or
chart.png) prints that attachment's bytes, so that scripts/demo can check
what it extracted.

Every byte is a pure function of this file: no clock, no randomness.
Message files use bare LF line endings, which is how Dovecot keeps Maildir
files on disk; POP3 and IMAP servers send them with CRLF line endings.
The file names carry `,S=<size>,W=<size with CRLF>` so Dovecot trusts them
for sizes without reading the files.

Standard library only.
"""

import base64
import hashlib
import os
import shutil
import struct
import sys
import time
import zlib

INBOX_UIDVALIDITY = 1700000000
# Base for the received dates (INTERNALDATE, from the file mtime) and the
# Maildir file names: message N was "received" at BASE_TIME + 60 * N.
BASE_TIME = 1700000000
HIERARCHY_SEPARATOR = "/"  # what clients see; on disk Maildir++ uses "."


def rfc2822_date(ts):
    """Fixed-format UTC date for a Unix time (no locale, no time zone lookups)."""
    days = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
    months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun",
              "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
    t = time.gmtime(ts)
    return "%s, %02d %s %04d %02d:%02d:%02d +0000" % (
        days[t.tm_wday], t.tm_mday, months[t.tm_mon - 1], t.tm_year,
        t.tm_hour, t.tm_min, t.tm_sec)


def pseudo_random_bytes(seed, n):
    """n bytes of SHAKE-256 output: the same on every machine, and fast."""
    return hashlib.shake_256(seed.encode()).digest(n)


def headers(uid, subject, extra=(), sender="Seed Sender <sender@example.com>",
            to="Test User <user@localhost>", mid_domain="seed.embedded-mail.test"):
    lines = [
        "Return-Path: <sender@example.com>",
        "From: " + sender,
        "To: " + to,
        "Subject: " + subject,
        "Date: " + rfc2822_date(BASE_TIME + 60 * uid),
        "Message-ID: <%d@%s>" % (uid, mid_domain),
        "MIME-Version: 1.0",
    ]
    lines.extend(extra)
    return ("\n".join(lines) + "\n\n").encode("utf-8")


def msg_tiny(uid):
    return headers(uid, "Hello from the seed",
                   ["Content-Type: text/plain; charset=us-ascii"]) + \
        b"Hi,\n\nthis is the smallest message in the box.\n"


def msg_big(uid):
    boundary = "=_seed_boundary_5MiB"
    blob = pseudo_random_bytes("embedded-mail seed attachment", 3_900_000)
    b64 = base64.b64encode(blob)
    b64_lines = b"\n".join(b64[i:i + 76] for i in range(0, len(b64), 76))
    body = (
        "This is a multi-part message in MIME format.\n"
        "\n"
        "--%(b)s\n"
        "Content-Type: text/plain; charset=us-ascii\n"
        "\n"
        "The attachment holds 3900000 pseudo-random bytes:\n"
        "SHAKE-256 of the string \"embedded-mail seed attachment\".\n"
        "SHA-256 of the attachment: %(sha)s\n"
        "\n"
        "--%(b)s\n"
        "Content-Type: application/octet-stream; name=\"blob.bin\"\n"
        "Content-Transfer-Encoding: base64\n"
        "Content-Disposition: attachment; filename=\"blob.bin\"\n"
        "\n" % {"b": boundary, "sha": hashlib.sha256(blob).hexdigest()}
    ).encode() + b64_lines + ("\n\n--%s--\n" % boundary).encode()
    return headers(uid, "Big message with a 5 MiB attachment",
                   ['Content-Type: multipart/mixed; boundary="%s"' % boundary]) + body


def msg_dots(uid):
    # POP3 byte-stuffs every line that starts with "."; the last body line is
    # a lone "." so that the stuffed form ends with "..\r\n.\r\n".
    body = (
        "Lines below start with dots.\n"
        ".\n"
        "..\n"
        "...\n"
        ".leading dot\n"
        "..two leading dots\n"
        ". \n"
        ".   \n"
        "a line with a . in the middle\n"
        "\n"
        ".\n"
    )
    return headers(uid, "Dot stuffing", ["Content-Type: text/plain; charset=us-ascii"]) + \
        body.encode()


def msg_no_final_newline(uid):
    return headers(uid, "No newline at the end",
                   ["Content-Type: text/plain; charset=us-ascii"]) + \
        b"The file of this message ends right after the word END"


def msg_8bit_headers(uid):
    return headers(
        uid,
        "Gr\u00fc\u00dfe aus K\u00f6ln \u2013 \u65e5\u672c\u8a9e",
        ["Content-Type: text/plain; charset=utf-8",
         "Content-Transfer-Encoding: 8bit"],
        sender="J\u00fcrgen M\u00fcller <juergen@example.com>",
    ) + "Raw UTF-8 in the headers and body: \u00e4\u00f6\u00fc \u20ac \u65e5\u672c\u8a9e.\n".encode()


def msg_long_line(uid):
    # 12 000 bytes without a line break, in 100-byte blocks that each start
    # with their own offset ("000000abcd...", "000100abcd...") so that a
    # truncated or shifted line shows where.
    blocks = []
    for i in range(120):
        head = "%06d" % (i * 100)
        blocks.append(head + ("abcdefghijklmnopqrstuvwxyz0123456789" * 3)[:100 - len(head)])
    long_line = "".join(blocks)
    assert len(long_line) == 12_000
    return headers(uid, "A 12000-byte line",
                   ["Content-Type: text/plain; charset=us-ascii"]) + \
        ("Before the long line.\n" + long_line + "\nAfter the long line.\n").encode()


def msg_medium(uid):
    lines = []
    size = 0
    n = 0
    while size < 64 * 1024:
        n += 1
        line = "%05d The quick brown fox jumps over the lazy dog. 0123456789\n" % n
        lines.append(line)
        size += len(line)
    return headers(uid, "Medium message (64 KiB)",
                   ["Content-Type: text/plain; charset=us-ascii"]) + "".join(lines).encode()


def msg_archive(uid, n):
    return headers(uid, "Archived message %d" % n,
                   ["Content-Type: text/plain; charset=us-ascii"],
                   mid_domain="archive.seed.embedded-mail.test") + \
        ("Old mail number %d.\n" % n).encode()


def demo_pdf():
    """A small, valid one-page PDF (fixed bytes; xref offsets computed)."""
    text = "Monthly report, device 17: 1 284 readings, battery 3.7 V, no faults."
    objs = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
        b"/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    stream = ("BT /F1 14 Tf 72 770 Td (%s) Tj ET" % text).encode()
    objs.append(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
    out = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n"
    offsets = []
    for i, body in enumerate(objs, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, xref)
    return out


def demo_png():
    """A 32x8 RGB PNG (a bar chart), stored uncompressed (zlib level 0), so
    the bytes do not depend on the zlib version."""
    w, h = 32, 8
    bars = [3, 5, 8, 6, 4, 7, 2, 5]
    rows = b""
    for y in range(h):
        row = b"\x00"
        for x in range(w):
            on = (h - y) <= bars[x // 4] and x % 4 != 3
            row += b"\x20\x60\xc0" if on else b"\xff\xff\xff"
        rows += row

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + \
            struct.pack(">I", zlib.crc32(kind + data) & 0xffffffff)

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)) +
            chunk(b"IDAT", zlib.compress(rows, 0)) + chunk(b"IEND", b""))


DEMO_ATTACHMENTS = {"report.pdf": demo_pdf, "chart.png": demo_png}


def b64_lines(data):
    b64 = base64.b64encode(data)
    return b"\n".join(b64[i:i + 76] for i in range(0, len(b64), 76)) + b"\n"


def msg_demo_report(uid):
    """multipart/mixed: a text part, a PDF (RFC 2231 file name) and a PNG."""
    boundary = "=_demo_report_boundary"
    body = (
        "This is a multi-part message in MIME format.\n"
        "\n"
        "--%(b)s\n"
        "Content-Type: text/plain; charset=utf-8\n"
        "Content-Transfer-Encoding: quoted-printable\n"
        "\n"
        "The monthly report is attached as a PDF, the chart as a PNG.=0A=\n"
        "Gr=C3=BC=C3=9Fe, the gateway\n"
        "\n"
        "--%(b)s\n"
        "Content-Type: application/pdf; name=\"report.pdf\"\n"
        "Content-Transfer-Encoding: base64\n"
        "Content-Disposition: attachment; filename*=UTF-8''report.pdf\n"
        "\n" % {"b": boundary}
    ).encode() + b64_lines(demo_pdf()) + (
        "\n--%(b)s\n"
        "Content-Type: image/png\n"
        "Content-Transfer-Encoding: base64\n"
        "Content-Disposition: inline; filename=\"chart.png\"\n"
        "\n" % {"b": boundary}
    ).encode() + b64_lines(demo_png()) + ("\n--%s--\n" % boundary).encode()
    return headers(uid, "=?UTF-8?Q?Monatsbericht_M=C3=A4rz?= (PDF and PNG attached)",
                   ['Content-Type: multipart/mixed; boundary="%s"' % boundary]) + body


# Messages only user `demo` gets, after SEED_INBOX (generator, flags).
DEMO_EXTRA = {"demo": [(msg_demo_report, None)]}

# (generator, Maildir flags or None for new/, what it is for)
SEED_INBOX = [
    (msg_tiny, "S", "tiny plain-text message"),
    (msg_big, "", "~5 MiB multipart/mixed with a base64 attachment"),
    (msg_dots, "FS", "lines starting with '.', '..', a lone '.', '. '"),
    (msg_no_final_newline, "RS", "file without a trailing newline"),
    (msg_8bit_headers, "", "raw UTF-8 Subject and From"),
    (msg_long_line, "S", "a 12000-byte line"),
    (msg_medium, None, "~64 KiB text, in new/ (\\Recent)"),
]

# Folder name as clients see it -> (UIDVALIDITY, subscribed, messages)
FOLDERS = [
    ("Archive", 1700000001, True, [lambda u: msg_archive(u, 1), lambda u: msg_archive(u, 2)]),
    ("Archive/2024", 1700000002, True, []),
    ("Archive/2025", 1700000003, False, []),
    ("Work/Projects", 1700000004, False, []),
    ("Entw\u00fcrfe", 1700000005, True, []),
    ("\u65e5\u672c\u8a9e", 1700000006, False, []),
    ("Sent", 1700000007, True, []),
    ("Trash", 1700000008, True, []),
]


def mutf7(name):
    """IMAP modified UTF-7 (RFC 3501 section 5.1.3)."""
    out = []
    pending = []

    def flush():
        if pending:
            utf16 = "".join(pending).encode("utf-16-be")
            out.append("&" + base64.b64encode(utf16).decode().rstrip("=").replace("/", ",") + "-")
            pending.clear()

    for ch in name:
        if 0x20 <= ord(ch) <= 0x7E:
            flush()
            out.append("&-" if ch == "&" else ch)
        else:
            pending.append(ch)
    flush()
    return "".join(out)


def maildirpp_dir(name):
    """Maildir++ directory of a folder: '.' + mUTF-7 name with '.' as separator."""
    return "." + mutf7(name).replace(HIERARCHY_SEPARATOR, ".")


def write_folder(path, uidvalidity, messages, is_inbox):
    for sub in ("cur", "new", "tmp"):
        os.makedirs(os.path.join(path, sub))
    if not is_inbox:
        open(os.path.join(path, "maildirfolder"), "wb").close()
    entries = []
    for uid, (data, flags) in enumerate(messages, start=1):
        ts = BASE_TIME + 60 * uid
        vsize = len(data) + data.count(b"\n")  # size with CRLF line endings
        base = "%d.M%dP1.seed,S=%d,W=%d" % (ts, uid, len(data), vsize)
        if flags is None:
            fname = os.path.join(path, "new", base)
        else:
            fname = os.path.join(path, "cur", base + ":2," + flags)
        with open(fname, "wb") as f:
            f.write(data)
        os.utime(fname, (ts, ts))
        entries.append("%d :%s\n" % (uid, base))
    guid = hashlib.md5(("seed-guid-%d" % uidvalidity).encode()).hexdigest()
    with open(os.path.join(path, "dovecot-uidlist"), "w") as f:
        f.write("3 V%d N%d G%s\n" % (uidvalidity, len(messages) + 1, guid))
        f.writelines(entries)


def copy_tree(template, dest):
    """Copy a seeded Maildir: hard links for messages, copies for the rest."""
    for dirpath, dirnames, filenames in os.walk(template):
        rel = os.path.relpath(dirpath, template)
        target = os.path.normpath(os.path.join(dest, rel))
        os.makedirs(target)
        is_msg_dir = os.path.basename(dirpath) in ("cur", "new")
        for name in filenames:
            src = os.path.join(dirpath, name)
            dst = os.path.join(target, name)
            if is_msg_dir:
                os.link(src, dst)
            else:
                shutil.copy2(src, dst)


def add_messages(path, first_uid, messages):
    """Appends messages (UIDs first_uid..) to a seeded folder's files and
    its dovecot-uidlist (the user's own copy, not a link)."""
    uidlist = os.path.join(path, "dovecot-uidlist")
    with open(uidlist) as f:
        lines = f.readlines()
    entries = []
    for uid, (data, flags) in enumerate(messages, start=first_uid):
        ts = BASE_TIME + 60 * uid
        vsize = len(data) + data.count(b"\n")
        base = "%d.M%dP1.seed,S=%d,W=%d" % (ts, uid, len(data), vsize)
        if flags is None:
            fname = os.path.join(path, "new", base)
        else:
            fname = os.path.join(path, "cur", base + ":2," + flags)
        with open(fname, "wb") as f:
            f.write(data)
        os.utime(fname, (ts, ts))
        entries.append("%d :%s\n" % (uid, base))
    head = lines[0].split()
    head = [("N%d" % (first_uid + len(messages))) if w.startswith("N") else w for w in head]
    with open(uidlist, "w") as f:
        f.write(" ".join(head) + "\n")
        f.writelines(lines[1:] + entries)


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--demo-attachment":
        gen = DEMO_ATTACHMENTS.get(sys.argv[2])
        if gen is None:
            sys.exit("seed_mail.py: no demo attachment %r (have: %s)"
                     % (sys.argv[2], ", ".join(DEMO_ATTACHMENTS)))
        sys.stdout.buffer.write(gen())
        return
    if len(sys.argv) < 2 or len(sys.argv) == 3:
        sys.exit("usage: seed_mail.py MAILDIR [HOME_ROOT USER...]")
    root = sys.argv[1]
    if os.path.exists(root):
        sys.exit("seed_mail.py: %s already exists" % root)

    inbox = [(gen(uid), flags) for uid, (gen, flags, _) in enumerate(SEED_INBOX, start=1)]
    write_folder(root, INBOX_UIDVALIDITY, inbox, is_inbox=True)

    subscribed = ["INBOX"]
    for name, uidvalidity, sub, gens in FOLDERS:
        msgs = [(g(uid), "S") for uid, g in enumerate(gens, start=1)]
        write_folder(os.path.join(root, maildirpp_dir(name)), uidvalidity, msgs, is_inbox=False)
        if sub:
            subscribed.append(name)

    # Dovecot 2.3 subscriptions file: version line, blank line, then one
    # mailbox per line in UTF-8 with TAB between hierarchy levels.
    with open(os.path.join(root, "subscriptions"), "wb") as f:
        f.write(b"V\t2\n\n")
        for name in subscribed:
            f.write(name.replace(HIERARCHY_SEPARATOR, "\t").encode("utf-8") + b"\n")

    if len(sys.argv) > 2:
        home_root = sys.argv[2]
        for user in sys.argv[3:]:
            dest = os.path.join(home_root, user, "Maildir")
            copy_tree(root, dest)
            extra = DEMO_EXTRA.get(user)
            if extra:
                first = len(SEED_INBOX) + 1
                add_messages(dest, first, [(gen(uid), flags)
                                           for uid, (gen, flags) in enumerate(extra, start=first)])


if __name__ == "__main__":
    main()
