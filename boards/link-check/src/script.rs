//! Canned server dialogues, one segment per server answer (see
//! [`crate::transport::Dummy`]). They are real enough that every call in
//! `calls.rs` succeeds (the host test `cargo test` in this crate checks
//! that), so the firmware exercises the success paths, not just the error
//! returns.

/// The main session: CAPA, STLS, CAPA again under "TLS", UTF8, pipelined
/// USER/PASS, then every TRANSACTION command, and QUIT.
pub static MAIN: &[&[u8]] = &[
    b"+OK POP3 server ready\r\n",
    // CAPA (before STLS)
    b"+OK Capability list follows\r\nTOP\r\nUSER\r\nUIDL\r\nRESP-CODES\r\nSTLS\r\n\
      PIPELINING\r\nSASL PLAIN LOGIN\r\n.\r\n",
    // STLS: nothing may follow the +OK before the handshake.
    b"+OK Begin TLS negotiation\r\n",
    // CAPA (under TLS)
    b"+OK\r\nTOP\r\nUSER\r\nUIDL\r\nRESP-CODES\r\nAUTH-RESP-CODE\r\nPIPELINING\r\n\
      UTF8 USER\r\nSASL PLAIN LOGIN CRAM-MD5 XOAUTH2\r\nLOGIN-DELAY 900\r\nEXPIRE NEVER\r\n.\r\n",
    // UTF8
    b"+OK I only speak UTF-8 now\r\n",
    // USER + PASS, pipelined
    b"+OK send PASS\r\n+OK maildrop locked and ready\r\n",
    // STAT
    b"+OK 3 4711\r\n",
    // LIST
    b"+OK 3 messages (4711 octets)\r\n1 120\r\n2 4391\r\n3 200\r\n.\r\n",
    // LIST 2
    b"+OK 2 4391\r\n",
    // UIDL
    b"+OK\r\n1 whqtswO00WBw418f9t5JxYwZ\r\n2 QhdPYR:00WBw1Ph7x7\r\n3 irF7:00WBw1Ph7x8\r\n.\r\n",
    // UIDL 2
    b"+OK 2 QhdPYR:00WBw1Ph7x7\r\n",
    // RETR 1: a stuffed dot line and a line that only looks like the end.
    b"+OK 120 octets\r\nFrom: sensor@example.org\r\nSubject: reading\r\n\r\n\
      temperature 21.5\r\n..leading dot\r\n.. \r\nend\r\n.\r\n",
    // TOP 2 0
    b"+OK\r\nFrom: a@example.org\r\nSubject: =?UTF-8?Q?gr=C3=BC=C3=9Fe?=\r\n\r\n.\r\n",
    // DELE 3
    b"+OK message 3 deleted\r\n",
    // DELE 1, DELE 2 (pipelined)
    b"+OK message 1 deleted\r\n+OK message 2 deleted\r\n",
    // RSET
    b"+OK maildrop has 3 messages (4711 octets)\r\n",
    // NOOP
    b"+OK\r\n",
    // QUIT
    b"+OK dewey POP3 server signing off\r\n",
];

/// APOP login (RFC 1939 §7's example greeting), then `into_parts`.
pub static APOP: &[&[u8]] = &[
    b"+OK POP3 server ready <1896.697170952@dbc.mw.net>\r\n",
    b"+OK maildrop has 1 message (369 octets)\r\n",
];

/// AUTH with every mechanism: PLAIN refused, LOGIN and CRAM-MD5 through
/// their challenges and refused, XOAUTH2 accepted; then QUIT.
pub static AUTH: &[&[u8]] = &[
    b"+OK POP3 server ready\r\n",
    b"+OK\r\nSASL PLAIN LOGIN CRAM-MD5 XOAUTH2\r\n.\r\n",
    // AUTH PLAIN <initial response>
    b"-ERR [AUTH] invalid credentials\r\n",
    // AUTH LOGIN: "Username:", "Password:"
    b"+ VXNlcm5hbWU6\r\n",
    b"+ UGFzc3dvcmQ6\r\n",
    b"-ERR [AUTH] invalid credentials\r\n",
    // AUTH CRAM-MD5 (RFC 2195's challenge)
    b"+ PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UucmVzdG9uLm1jaS5uZXQ+\r\n",
    b"-ERR [SYS/TEMP] try again later\r\n",
    // AUTH XOAUTH2 <initial response>
    b"+OK authenticated\r\n",
    // QUIT
    b"+OK bye\r\n",
];
