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

/// The IMAP main session (tags `A0001`.. in order): CAPABILITY, STARTTLS,
/// CAPABILITY under "TLS", LOGIN, ENABLE, ID, NAMESPACE, LIST, STATUS,
/// mailbox management, EXAMINE/UNSELECT/SELECT, SEARCH, ESEARCH, FETCH
/// (ENVELOPE and a body literal), STORE, COPY, MOVE by its UIDPLUS
/// fallback, EXPUNGE, APPEND (LITERAL+), IDLE, QUOTA, pipelined NOOPs,
/// LSUB by events, CLOSE, LOGOUT.
#[cfg(feature = "imap")]
pub static IMAP_MAIN: &[&[u8]] = &[
    b"* OK [CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED] IMAP server ready\r\n",
    b"* CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED\r\nA0001 OK CAPABILITY completed\r\n",
    // STARTTLS: nothing may follow the OK before the handshake.
    b"A0002 OK Begin TLS negotiation now\r\n",
    b"* CAPABILITY IMAP4rev1 LITERAL+ SASL-IR IDLE NAMESPACE UIDPLUS ESEARCH ENABLE ID \
      QUOTA SPECIAL-USE UTF8=ACCEPT UNSELECT CHILDREN AUTH=PLAIN\r\nA0003 OK done\r\n",
    b"A0004 OK [CAPABILITY IMAP4rev1 LITERAL+ IDLE NAMESPACE UIDPLUS ESEARCH ENABLE ID \
      QUOTA SPECIAL-USE UTF8=ACCEPT UNSELECT CHILDREN] Logged in\r\n",
    // enable_defaults: ENABLE UTF8=ACCEPT
    b"* ENABLED UTF8=ACCEPT\r\nA0005 OK Enabled\r\n",
    b"* ID (\"name\" \"Dovecot\")\r\nA0006 OK ID completed\r\n",
    b"* NAMESPACE ((\"\" \"/\")) NIL NIL\r\nA0007 OK Namespace completed\r\n",
    "* LIST (\\HasNoChildren) \"/\" INBOX\r\n* LIST (\\HasNoChildren \\Sent) \"/\" Sent\r\n\
     * LIST (\\HasNoChildren) \"/\" \"Ärger\"\r\nA0008 OK List completed\r\n"
        .as_bytes(),
    b"* STATUS INBOX (MESSAGES 3 UIDNEXT 9 UIDVALIDITY 42 UNSEEN 1)\r\nA0009 OK\r\n",
    b"A0010 OK Create completed\r\n",
    b"A0011 OK Rename completed\r\n",
    b"A0012 OK Subscribe completed\r\n",
    b"A0013 OK Unsubscribe completed\r\n",
    b"A0014 OK Delete completed\r\n",
    b"* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)\r\n* 3 EXISTS\r\n* 0 RECENT\r\n\
      * OK [UIDVALIDITY 42] UIDs valid\r\n* OK [UIDNEXT 9] Predicted next UID\r\n\
      A0015 OK [READ-ONLY] Examine completed\r\n",
    b"A0016 OK Unselect completed\r\n",
    b"* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)\r\n* 3 EXISTS\r\n* 0 RECENT\r\n\
      * OK [PERMANENTFLAGS (\\Deleted \\Seen \\*)] Flags permitted\r\n\
      * OK [UIDVALIDITY 42] UIDs valid\r\n* OK [UIDNEXT 9] Predicted next UID\r\n\
      A0017 OK [READ-WRITE] Select completed\r\n",
    b"* SEARCH 7 8\r\nA0018 OK Search completed\r\n",
    b"* ESEARCH (TAG \"A0019\") UID MIN 6 MAX 8 COUNT 3 ALL 6:8\r\nA0019 OK Search completed\r\n",
    b"* 1 FETCH (UID 6 FLAGS (\\Seen) INTERNALDATE \"17-Jul-1996 02:44:25 -0700\" \
      RFC822.SIZE 120 ENVELOPE (\"Wed, 17 Jul 1996 02:23:25 -0700 (PDT)\" \"reading\" \
      ((\"Sensor\" NIL \"sensor\" \"example.org\")) NIL NIL ((\"Ops\" NIL \"ops\" \"example.org\")) \
      NIL NIL NIL \"<1@example.org>\"))\r\nA0020 OK Fetch completed\r\n",
    b"* 2 FETCH (UID 7 BODY[] {59}\r\nFrom: a@example.org\r\nSubject: reading\r\n\r\n\
      temperature 21.5\r\n)\r\nA0021 OK Fetch completed\r\n",
    b"* 2 FETCH (UID 7 FLAGS (\\Seen \\Flagged))\r\nA0022 OK Store completed\r\n",
    b"A0023 OK [COPYUID 43 7 1] Copy completed\r\n",
    // MOVE without the MOVE extension: COPY, STORE, UID EXPUNGE.
    b"A0024 OK [COPYUID 43 8 2] Copy completed\r\n",
    b"A0025 OK Store completed\r\n",
    b"* 3 EXPUNGE\r\nA0026 OK Expunge completed\r\n",
    b"A0027 OK Expunge completed\r\n",
    // APPEND with LITERAL+: no continuation.
    b"A0028 OK [APPENDUID 42 9] Append completed\r\n",
    b"+ idling\r\n",
    b"* 3 EXISTS\r\n",
    b"A0029 OK Idle completed\r\n",
    b"* QUOTAROOT INBOX \"\"\r\n* QUOTA \"\" (STORAGE 10 512)\r\nA0030 OK Getquotaroot completed\r\n",
    b"* QUOTA \"\" (STORAGE 10 512)\r\nA0031 OK Getquota completed\r\n",
    // Two NOOPs pipelined.
    b"* 4 EXISTS\r\nA0032 OK NOOP completed\r\nA0033 OK NOOP completed\r\n",
    b"* 1 RECENT\r\nA0034 OK NOOP completed\r\n",
    b"* LSUB () \"/\" INBOX\r\nA0035 OK Lsub completed\r\n",
    b"A0036 OK Close completed\r\n",
    b"* BYE Logging out\r\nA0037 OK Logout completed\r\n",
];

/// IMAP AUTHENTICATE with every mechanism: PLAIN (SASL-IR) refused, LOGIN
/// and CRAM-MD5 through their challenges and refused, XOAUTH2 accepted;
/// then LOGOUT.
#[cfg(feature = "imap")]
pub static IMAP_AUTH: &[&[u8]] = &[
    b"* OK [CAPABILITY IMAP4rev1 SASL-IR AUTH=PLAIN AUTH=LOGIN AUTH=CRAM-MD5 AUTH=XOAUTH2] ready\r\n",
    b"A0001 NO [AUTHENTICATIONFAILED] Authentication failed\r\n",
    b"+ VXNlcm5hbWU6\r\n",
    b"+ UGFzc3dvcmQ6\r\n",
    b"A0002 NO [AUTHENTICATIONFAILED] Authentication failed\r\n",
    b"+ PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UucmVzdG9uLm1jaS5uZXQ+\r\n",
    b"A0003 NO [UNAVAILABLE] Try again later\r\n",
    b"A0004 OK [CAPABILITY IMAP4rev1 SASL-IR IDLE] Logged in\r\n",
    b"* BYE Logging out\r\nA0005 OK Logout completed\r\n",
];

/// A PREAUTH greeting, then `into_parts`.
#[cfg(feature = "imap")]
pub static IMAP_PREAUTH: &[&[u8]] =
    &[b"* PREAUTH [CAPABILITY IMAP4rev1 IDLE] logged in as sensor\r\n"];

/// A POP3 poll in delete mode (feature `poll`): login, STAT, one UIDL
/// listing with two new messages, `UIDL n` + `LIST n` for each, RETR 1
/// and 2 (the batch), DELE 1 and 2; QUIT. No PIPELINING offered, so each
/// command waits for its answer.
#[cfg(feature = "pop3")]
pub static POLL_POP3: &[&[u8]] = &[
    b"+OK POP3 server ready\r\n",
    b"+OK send PASS\r\n",
    b"+OK maildrop locked and ready\r\n",
    // STAT
    b"+OK 2 118\r\n",
    // UIDL: the one listing of the poll
    b"+OK\r\n1 whqtswO00WBw418f9t5JxYwZ\r\n2 QhdPYR:00WBw1Ph7x7\r\n.\r\n",
    // The new ones' keys and sizes (no PIPELINING: one at a time):
    // UIDL 1, LIST 1, UIDL 2, LIST 2
    b"+OK 1 whqtswO00WBw418f9t5JxYwZ\r\n",
    b"+OK 1 59\r\n",
    b"+OK 2 QhdPYR:00WBw1Ph7x7\r\n",
    b"+OK 2 59\r\n",
    // RETR 1, RETR 2
    b"+OK 59 octets\r\nFrom: a@example.org\r\nSubject: reading\r\n\r\ntemperature 21.5\r\n.\r\n",
    b"+OK 59 octets\r\nFrom: b@example.org\r\nSubject: reading\r\n\r\ntemperature 21.6\r\n.\r\n",
    // DELE 1, DELE 2
    b"+OK message 1 deleted\r\n",
    b"+OK message 2 deleted\r\n",
    // QUIT
    b"+OK bye\r\n",
];

/// An IMAP poll that leaves mail on the server (feature `poll`): LOGIN,
/// EXAMINE, then the streaming pass: one UID FETCH of every new message
/// (UID, FLAGS, INTERNALDATE, RFC822.SIZE, Message-ID, then BODY[]);
/// LOGOUT.
#[cfg(feature = "imap")]
pub static POLL_IMAP: &[&[u8]] = &[
    b"* OK [CAPABILITY IMAP4rev1 UIDPLUS AUTH=PLAIN] IMAP server ready\r\n",
    b"A0001 OK [CAPABILITY IMAP4rev1 UIDPLUS IDLE] Logged in\r\n",
    b"* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)\r\n* 2 EXISTS\r\n* 0 RECENT\r\n\
      * OK [UIDVALIDITY 42] UIDs valid\r\n* OK [UIDNEXT 3] Predicted next UID\r\n\
      A0002 OK [READ-ONLY] Examine completed\r\n",
    b"* 1 FETCH (UID 1 FLAGS () RFC822.SIZE 59 INTERNALDATE \"17-Jul-1996 02:44:25 -0700\" \
      BODY[HEADER.FIELDS (MESSAGE-ID)] {31}\r\nMessage-ID: <1@example.org>\r\n\r\n \
      BODY[] {59}\r\nFrom: a@example.org\r\nSubject: reading\r\n\r\ntemperature 21.5\r\n)\r\n\
      * 2 FETCH (UID 2 FLAGS () RFC822.SIZE 59 INTERNALDATE \"17-Jul-1996 02:45:25 -0700\" \
      BODY[HEADER.FIELDS (MESSAGE-ID)] {31}\r\nMessage-ID: <2@example.org>\r\n\r\n \
      BODY[] {59}\r\nFrom: b@example.org\r\nSubject: reading\r\n\r\ntemperature 21.6\r\n)\r\n\
      A0003 OK Fetch completed\r\n",
    b"* BYE Logging out\r\nA0004 OK Logout completed\r\n",
];
