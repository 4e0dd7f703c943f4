#!/usr/bin/env python3
"""Delivers one message to a watching firmware and times its arrival.

    qemu_push.py LOG USER PASSWORD IMAP_PORT

Waits (up to 150 s) until the firmware's serial log LOG shows
"WATCH: idling", APPENDs a fresh message to USER's INBOX over plain IMAP
on 127.0.0.1:IMAP_PORT, then waits (up to 30 s) for "WATCH: pushed" in
the log and prints "PUSH: stored after S s" (host clock, from the APPEND's
completion to the line). Exits 1 if either line never comes.
"""
import imaplib
import sys
import time


def wait_for(path, needle, limit):
    end = time.monotonic() + limit
    while time.monotonic() < end:
        try:
            with open(path, "rb") as f:
                if needle in f.read():
                    return True
        except FileNotFoundError:
            pass
        time.sleep(0.02)
    return False


def main():
    log, user, password, port = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    if not wait_for(log, b"WATCH: idling", 150):
        print("PUSH: the firmware never reported IDLE")
        return 1
    msg = (
        "From: qemu-demo@localhost\r\nTo: %s@localhost\r\nSubject: pushed %d\r\n"
        "Message-ID: <push.%d@qemu-demo>\r\n\r\nDelivered while the firmware idles.\r\n"
        % (user, time.time_ns(), time.time_ns())
    ).encode()
    m = imaplib.IMAP4("127.0.0.1", port)
    m.login(user, password)
    typ, data = m.append("INBOX", None, None, msg)
    t0 = time.monotonic()
    m.logout()
    if typ != "OK":
        print("PUSH: APPEND failed: %r" % data)
        return 1
    print("PUSH: delivered %d bytes to %s" % (len(msg), user))
    if not wait_for(log, b"WATCH: pushed", 30):
        print("PUSH: the firmware did not store the message within 30 s")
        return 1
    print("PUSH: stored after %.3f s" % (time.monotonic() - t0))
    return 0


if __name__ == "__main__":
    sys.exit(main())
