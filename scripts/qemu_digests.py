#!/usr/bin/env python3
"""Helpers of scripts/qemu-demo for checking the firmware's bytes.

  qemu_digests.py server USER PASSWORD POP3_PORT IMAP_PORT [MAILBOX]
      Asks the running Dovecot on 127.0.0.1 for every message of USER's
      MAILBOX (default INBOX) and prints one line per message:
      `pop3 LEN SHA256` for the bytes POP3 RETR returns (CRLF line ends,
      dot-unstuffed, the terminating ".CRLF" left out) and `imap LEN SHA256`
      for IMAP's BODY.PEEK[]. Plain-text logins on loopback; reads only
      (POP3 ends with QUIT after no DELE, IMAP uses EXAMINE).

  qemu_digests.py corrupt IMAGE START END NEEDLE [--fix-crc]
      Flips one bit of the first byte after the first occurrence of NEEDLE
      (a string of a message body) in IMAGE[START:END], in place. With
      --fix-crc it also rewrites the CRC-32 of the sequential-storage item
      holding that byte, so the flash store cannot notice and only a
      comparison of the bytes can.

Standard library only.
"""

import hashlib
import imaplib
import socket
import struct
import sys


def pop3_digests(user, password, port):
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    f = sock.makefile("rb")

    def command(line):
        if line is not None:
            sock.sendall(line.encode() + b"\r\n")
        reply = f.readline()
        if not reply.startswith(b"+OK"):
            raise SystemExit("POP3 %r: %r" % (line and line.split()[0], reply))
        return reply

    command(None)  # greeting
    command("USER " + user)
    command("PASS " + password)
    count = int(command("STAT").split()[1])
    out = []
    for n in range(1, count + 1):
        command("RETR %d" % n)
        body = bytearray()
        while True:
            line = f.readline()
            if not line.endswith(b"\r\n"):
                raise SystemExit("POP3 RETR %d: connection closed mid-message" % n)
            if line == b".\r\n":
                break
            if line.startswith(b"."):
                line = line[1:]  # dot-unstuffing (RFC 1939 section 3)
            body += line
        out.append(bytes(body))
    command("QUIT")
    sock.close()
    return out


def imap_digests(user, password, port, mailbox):
    imap = imaplib.IMAP4("127.0.0.1", port)
    imap.login(user, password)
    typ, _ = imap.select(mailbox, readonly=True)
    if typ != "OK":
        raise SystemExit("IMAP EXAMINE %s: %s" % (mailbox, typ))
    typ, data = imap.uid("FETCH", "1:*", "(BODY.PEEK[])")
    if typ != "OK":
        raise SystemExit("IMAP UID FETCH: %s" % typ)
    out = [item[1] for item in data if isinstance(item, tuple) and b"BODY[]" in item[0]]
    imap.logout()
    return out


def server(user, password, pop3_port, imap_port, mailbox="INBOX"):
    for proto, bodies in (
        ("pop3", pop3_digests(user, password, int(pop3_port))),
        ("imap", imap_digests(user, password, int(imap_port), mailbox)),
    ):
        for body in bodies:
            print(proto, len(body), hashlib.sha256(body).hexdigest())


def _crc32c_table():
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return table


CRC_TABLE = _crc32c_table()


def item_crc(data):
    """sequential-storage 8's item CRC: CRC-32C from 0xEEEEEEEE, inverted,
    never 0 and never with a low byte of 0x00 or 0xFF."""
    crc = 0xEEEEEEEE
    for b in data:
        crc = (crc >> 8) ^ CRC_TABLE[(crc ^ b) & 0xFF]
    crc = ~crc & 0xFFFFFFFF
    if crc == 0:
        return 1
    if crc & 0xFF in (0x00, 0xFF):
        return crc ^ 1
    return crc


def length_crc(length_field):
    crc = 0xFFFF
    for b in length_field:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ 0x1A2E if crc & 1 else crc >> 1
    crc ^= 0xFFFF
    return 0xFFFE if crc == 0xFFFF else crc


def find_item(img, at, start):
    """The header address of the flash store's chunk item holding img[at]:
    an 8-byte header (CRC-32, length, CRC-16 of the length) on a 4-byte
    boundary, then the item ['C', id (4 bytes), bytes...]."""
    lo = max(start, at - 8 - 0x10000)
    for h in range(at - at % 4 - 8, lo - 1, -4):
        crc, length, lcrc = struct.unpack_from("<IHH", img, h)
        if img[h + 8] != ord("C") or length_crc(img[h + 4:h + 6]) != lcrc:
            continue
        if not h + 8 + 5 <= at < h + 8 + length:
            continue
        if item_crc(img[h + 8:h + 8 + length]) == crc:
            return h, length
    raise SystemExit("corrupt: no flash store chunk item holds offset 0x%x" % at)


def corrupt(image, start, end, needle, *flags):
    start, end = int(start, 0), int(end, 0)
    with open(image, "r+b") as f:
        img = bytearray(f.read())
        found = img.find(needle.encode(), start, end)
        if found < 0:
            raise SystemExit("corrupt: %r not in %s[0x%x:0x%x]" % (needle, image, start, end))
        at = found + len(needle)
        item = find_item(img, at, start) if "--fix-crc" in flags else None
        old = img[at]
        img[at] ^= 0x01
        what = "flipped bit 0 of the byte at 0x%x: %r -> %r" % (at, chr(old), chr(img[at]))
        f.seek(at)
        f.write(img[at:at + 1])
        if item:
            h, length = item
            f.seek(h)
            f.write(struct.pack("<I", item_crc(img[h + 8:h + 8 + length])))
            what += "; CRC-32 of its item at 0x%x rewritten to match" % h
        print(what)


if __name__ == "__main__":
    cmd, args = sys.argv[1] if len(sys.argv) > 1 else "", sys.argv[2:]
    if cmd == "server" and len(args) in (4, 5):
        server(*args)
    elif cmd == "corrupt" and len(args) in (4, 5):
        corrupt(*args)
    else:
        sys.exit(__doc__)
