#!/usr/bin/env python3
"""Writes fuzz seed inputs from the transcript tests and a few hand-made
ones. The session targets' input is
    [flags] [read seed] [n] [n command bytes] [server bytes]
(see fuzz/src/lib.rs); the commands are recovered from the client lines of
each transcript, the server bytes are its answers in order.

Usage: fuzz/make_seeds.py OUT_DIR   (writes OUT_DIR/<target>/<name>)
"""
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LIT = r'b?"((?:[^"\\]|\\.|\\\n)*)"'
PAIR = re.compile(r'\(\s*' + LIT + r'\s*,\s*' + LIT + r'\s*,?\s*\)', re.S)
TURN = re.compile(r'Turn\s*\{\s*client:\s*(?:vec!\[\]|' + LIT + r'\.to_vec\(\))\s*,\s*server:\s*(?:' + LIT + r'|GREETING)', re.S)


def unescape(s):
    s = re.sub(r'\\\n\s*', '', s)
    out = bytearray()
    i = 0
    while i < len(s):
        c = s[i]
        if c == '\\' and i + 1 < len(s):
            n = s[i + 1]
            i += 2
            if n == 'x':
                out.append(int(s[i:i + 2], 16))
                i += 2
            else:
                out += {'r': b'\r', 'n': b'\n', 't': b'\t', '0': b'\0', '\\': b'\\', '"': b'"', "'": b"'"}.get(n, n.encode())
        else:
            out += c.encode()
            i += 1
    return bytes(out).replace(b'{{', b'{').replace(b'}}', b'}')


def functions(src):
    """(name, body) of each top-level fn."""
    parts = re.split(r'\n(?:pub )?fn ', src)
    for p in parts[1:]:
        yield p.split('(', 1)[0], p


POP3 = [(b'CAPA', 0), (b'USER', 1), (b'PASS', 2), (b'APOP', 3), (b'STAT', 4), (b'LIST\r', 5),
        (b'LIST ', 6), (b'UIDL\r', 7), (b'UIDL ', 8), (b'RETR', 9), (b'TOP', 10), (b'DELE', 11),
        (b'RSET', 12), (b'NOOP', 13), (b'QUIT', 14), (b'STLS', 15), (b'UTF8', 16),
        (b'AUTH PLAIN', 0xf0), (b'AUTH LOGIN', 0xf1), (b'AUTH CRAM-MD5', 0xf2), (b'AUTH XOAUTH2', 0xf3)]

IMAP = [(b'CAPABILITY', 0), (b'NOOP', 1), (b'LOGIN', 2), (b'SELECT', 3), (b'EXAMINE', 4),
        (b'LIST', 5), (b'STATUS', 6), (b'UID SEARCH RETURN', 8), (b'SEARCH RETURN', 8),
        (b'UID SEARCH', 7), (b'SEARCH', 7), (b'UID FETCH', 9), (b'FETCH', 10), (b'UID STORE', 11),
        (b'STORE', 11), (b'UID COPY', 12), (b'COPY', 12), (b'UID MOVE', 13), (b'MOVE', 13),
        (b'EXPUNGE', 14), (b'IDLE', 15), (b'LOGOUT', 16), (b'NAMESPACE', 17), (b'GETQUOTAROOT', 18),
        (b'ENABLE', 19), (b'ID', 20), (b'STARTTLS', 21), (b'LSUB', 22), (b'CLOSE', 23),
        (b'UNSELECT', 24), (b'UID EXPUNGE', 25), (b'GETQUOTA', 26), (b'AUTHENTICATE PLAIN', 0xf0),
        (b'AUTHENTICATE LOGIN', 0xf1), (b'AUTHENTICATE CRAM-MD5', 0xf2),
        (b'AUTHENTICATE XOAUTH2', 0xf3), (b'APPEND', 0xf4)]


def code(table, line):
    for prefix, c in table:
        if line.startswith(prefix):
            return c
    return None


def seed(commands, server, flags=3, read_seed=7):
    commands = commands[:23]
    return bytes([flags, read_seed, len(commands)]) + bytes(commands) + server


def pop3_seeds():
    src = open(os.path.join(ROOT, 'tests/pop3_transcript.rs')).read()
    for name, body in functions(src):
        cmds, server = [], b''
        for client, answer in PAIR.findall(body):
            client, answer = unescape(client), unescape(answer)
            if not (answer.startswith(b'+') or answer.startswith(b'-')):
                continue
            for line in client.split(b'\r\n'):
                c = code(POP3, line)
                if c is not None:
                    cmds.append(c)
            server += answer
        if server:
            yield name, seed(cmds, server)


def imap_seeds():
    for path in ['tests/imap_transcript.rs']:
        src = open(os.path.join(ROOT, path)).read()
        greeting = re.search(r'const GREETING: &str =\s*' + LIT, src)
        greeting = unescape(greeting.group(1)) if greeting else b'* OK ready\r\n'
        for name, body in functions(src):
            cmds, server = [], b''
            items = [(m.start(), unescape(m.group(1)), unescape(m.group(2))) for m in PAIR.finditer(body)]
            for m in TURN.finditer(body):
                client = unescape(m.group(1)) if m.group(1) else b''
                answer = unescape(m.group(2)) if m.group(2) is not None else greeting
                items.append((m.start(), client, answer))
            for _, client, answer in sorted(items):
                if not (answer.startswith(b'*') or answer.startswith(b'A0') or answer.startswith(b'+')):
                    continue
                line = re.sub(rb'^A\d{4} ', b'', client)
                c = code(IMAP, line) if client else None
                if c is not None:
                    cmds.append(c)
                server += answer
            if server:
                if not server.startswith(b'* OK') and not server.startswith(b'* PREAUTH'):
                    server = greeting + server
                yield name, seed(cmds, server)


def handmade():
    big = b''.join(b'* 1 FETCH (UID %d FLAGS (\\Seen) ENVELOPE ("d" "s" (("N" NIL "a" "b.c")) NIL NIL NIL NIL NIL NIL "<i>") BODY[] {12}\r\nHello world!)\r\n' % i for i in range(1, 4))
    yield 'imap_session', 'fetch_envelope_literal', seed([2, 3, 9], b'* OK hi\r\nA0001 OK [CAPABILITY IMAP4rev1 LITERAL+ IDLE ESEARCH] ok\r\n* 3 EXISTS\r\nA0002 OK [READ-WRITE] ok\r\n' + big + b'A0003 OK done\r\n', flags=0x11)
    yield 'imap_session', 'list_search_esearch', seed([2, 5, 3, 7, 8, 15], b'* OK hi\r\nA0001 OK ok\r\n* LIST (\\HasNoChildren) "/" "Entw&APw-rfe"\r\n* LIST () "/" {5}\r\nINBOX\r\nA0002 OK\r\nA0003 OK [READ-WRITE] x\r\n* SEARCH 1 2 3 4 5 100000\r\nA0004 OK\r\n* ESEARCH (TAG "A0005") UID MIN 1 MAX 9 COUNT 4 ALL 1:3,9\r\nA0005 OK\r\n+ idling\r\n* 4 EXISTS\r\nA0006 OK\r\n', flags=0x2)
    yield 'pop3_session', 'retr_stuffed', seed([1, 2, 9, 7, 5], b'+OK hi\r\n+OK\r\n+OK\r\n+OK 1 octets\r\nSubject: x\r\n\r\n..dot\r\n.\r\n+OK\r\n1 abc\r\n2 def\r\n.\r\n+OK\r\n1 10\r\n.\r\n', flags=0x0d)
    yield 'pop3_session', 'auth_cram', seed([0xf2], b'+OK hi\r\n+ PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UucmVzdG9uLm1jaS5uZXQ+\r\n+OK\r\n')
    yield 'dot_unstuff', 'body', b'\x05Subject: x\r\n\r\n..leading\r\n. \r\n..\r\nlast\r\n.\r\n'
    yield 'imap_utf7', 'names', b'\x02Entw&APw-rfe &AMQ-rger &-'
    yield 'sasl_challenge', 'cram', b'\x00PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UucmVzdG9uLm1jaS5uZXQ+'
    yield 'sasl_challenge', 'login', b'\x01VXNlcm5hbWU6\x00UGFzc3dvcmQ6'
    yield 'base64', 'text', b'PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UucmVzdG9uLm1jaS5uZXQ+'


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, 'fuzz/corpus')
    written = 0

    def put(target, name, data):
        nonlocal written
        d = os.path.join(out, target)
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, name), 'wb') as f:
            f.write(data)
        written += 1

    for name, data in pop3_seeds():
        put('pop3_session', 'transcript_' + name, data)
        # The POP3 server bytes also seed the dot-unstuffing target.
        put('dot_unstuff', 'transcript_' + name, b'\x03' + data[3 + data[2]:])
    for name, data in imap_seeds():
        put('imap_session', 'transcript_' + name, data)
    for target, name, data in handmade():
        put(target, name, data)
    print(f'make_seeds: {written} seeds in {out}')


if __name__ == '__main__':
    main()
