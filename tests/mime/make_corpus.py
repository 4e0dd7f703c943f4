#!/usr/bin/env python3
"""Writes the MIME test corpus (tests/mime/*.eml) used by tests/mime_corpus.rs.

Run once; the output is committed. Every byte is a function of this file.
Each message exists as written (CRLF unless named *_lf) and the test also
feeds its bare-LF / CRLF twin.
"""
import base64
import hashlib
import os
import quopri
import struct
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))


def blob(seed, n):
    return hashlib.shake_256(seed.encode()).digest(n)


def pdf():
    return (b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n"
            + blob("pdf", 700) + b"\n%%EOF\n")


def png():
    def chunk(kind, data):
        c = struct.pack(">I", len(data)) + kind + data
        return c + struct.pack(">I", zlib.crc32(kind + data) & 0xffffffff)
    raw = b"".join(b"\x00" + blob("row%d" % y, 3 * 16) for y in range(16))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 16, 16, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def b64(data):
    e = base64.b64encode(data).decode()
    return "\n".join(e[i:i + 76] for i in range(0, len(e), 76))


def qp(text):
    return quopri.encodestring(text.encode("utf-8")).decode()


def write(name, text, crlf=True):
    data = text.encode("utf-8") if isinstance(text, str) else text
    if crlf:
        data = data.replace(b"\n", b"\r\n")
    with open(os.path.join(HERE, name), "wb") as f:
        f.write(data)


LONG = ("Grüße aus Zürich! This line is long enough that quoted-printable has to "
        "wrap it with soft line breaks, and it carries = signs and accents: é à ü. "
        "Tabs\tstay. A line that ends in spaces   \nSecond line.\n")

alternative = """From: =?utf-8?q?J=C3=B6rg_M=C3=BCller?= <joerg@example.com>
To: device@example.com
Subject: =?UTF-8?B?UsOpc3Vtw6k6?= =?utf-8?q?_caf=C3=A9_?= and more
MIME-Version: 1.0
Content-Type: multipart/alternative; boundary="alt-b0undary"

This is the preamble; it is dropped.
--alt-b0undary
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: quoted-printable

%s
--alt-b0undary
Content-Type: text/html; charset="UTF-8"
Content-Transfer-Encoding: quoted-printable

%s
--alt-b0undary--
Epilogue, dropped too.
""" % (qp(LONG), qp("<p>" + LONG.replace("\n", "<br>\n") + "</p>"))
write("alternative.eml", alternative)

mixed = """From: Printer Queue <queue@example.com>
To: printer@example.com
Subject: =?utf-8?q?Invoice_=E2=84=962026-17?=
MIME-Version: 1.0
Content-Type: multipart/mixed;
 boundary="==mixed==b"

--==mixed==b
Content-Type: text/plain; charset=us-ascii
Content-Transfer-Encoding: 7bit

Please print the attached invoice.
-- 
A signature line starting with dashes.
--==mixed==bX is not a boundary either.

--==mixed==b
Content-Type: application/pdf; name="invoice.pdf"
Content-Transfer-Encoding: base64
Content-Disposition: attachment; filename="invoice.pdf"

%s
--==mixed==b
Content-Type: image/png
Content-Transfer-Encoding: base64
Content-Disposition: attachment;
 filename*0*=utf-8''%%E2%%82%%AC%%20logo%%20;
 filename*1*=%%C3%%A9t%%C3%%A9;
 filename*2=".png"

%s
--==mixed==b--
""" % (b64(pdf()), b64(png()))
write("mixed_pdf_png.eml", mixed)

inner = """From: =?utf-8?b?w4lsb2RpZQ==?= <elodie@example.com>
Subject: Fwd inner: =?utf-8?q?na=C3=AFve?=
MIME-Version: 1.0
Content-Type: multipart/alternative; boundary=inner

--inner
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 8bit

Ça marche, en 8bit.
--inner
Content-Type: text/html; charset=utf-8
Content-Transfer-Encoding: base64

%s
--inner--
""" % b64("<b>Ça marche</b>\n".encode())

nested = """From: Forwarder <fwd@example.com>
Subject: Forwarded message
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="outer"

--outer
Content-Type: text/plain

See the forwarded message.
--outer
Content-Type: message/rfc822
Content-Disposition: inline

%s
--outer
Content-Type: application/octet-stream
Content-Disposition: attachment; filename="=?utf-8?q?r=C3=A9sum=C3=A9?=.bin"
Content-Transfer-Encoding: base64

%s
--outer--
""" % (inner, b64(blob("bin", 300)))
write("nested_rfc822_lf.eml", nested, crlf=False)

related = """From: a@example.com
Subject: plain ascii subject
Content-Type: multipart/mixed; boundary="m"

preamble
--m
Content-Type: multipart/related; boundary="m-r"

--m-r
Content-Type: multipart/alternative; boundary="m-r-a"

--m-r-a
Content-Type: text/plain; charset=utf-8

plain
--m-r-a--
--m-r
Content-Type: image/png
Content-ID: <logo>
Content-Transfer-Encoding: base64

%s
--m-r--
--m \t
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: quoted-printable

soft=
 break and an escaped =3D sign=20
--m--
""" % b64(png())
write("three_levels.eml", related)

single = """From: sensor-config@example.com
Subject: =?us-ascii?q?set_interval?=
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: quoted-printable

interval=3D60=
s
threshold=3D21.5 =C2=B0C
--not a boundary, no multipart here
"""
write("single_qp_lf.eml", single, crlf=False)

digest = """From: list@example.com
Subject: Digest
Content-Type: multipart/digest; boundary="d"

--d

From: one@example.com
Subject: first

first body
--d

From: two@example.com
Subject: second

second body
--d--
"""
write("digest.eml", digest)
