//! Every call of the IMAP API (feature `imap`), written once and expanded
//! twice like `calls.rs`: for the blocking `imap::Client` and the async
//! `imap::asynch::Client`, over the canned dialogues of `script.rs`.

use crate::transport::LinkDown;

/// An APPEND source: message bytes from flash, handed out in pieces.
pub struct Source {
    bytes: &'static [u8],
    pos: usize,
}

impl Source {
    /// A source over `bytes`.
    pub fn new(bytes: &'static [u8]) -> Self {
        Source {
            bytes: core::hint::black_box(bytes),
            pos: 0,
        }
    }

    fn read_bytes(&mut self, buf: &mut [u8]) -> Result<usize, LinkDown> {
        let rest = self.bytes.get(self.pos..).unwrap_or(&[]);
        let n = rest.len().min(buf.len());
        for (dst, src) in buf.iter_mut().zip(rest) {
            *dst = *src;
        }
        self.pos += n;
        Ok(n)
    }
}

impl embedded_io::ErrorType for Source {
    type Error = LinkDown;
}

impl embedded_io::Read for Source {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, LinkDown> {
        self.read_bytes(buf)
    }
}

impl embedded_io_async::Read for Source {
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize, LinkDown> {
        self.read_bytes(buf)
    }
}

/// The message APPEND uploads (59 bytes, the same as the FETCH body).
pub const MESSAGE: &[u8] = b"From: a@example.org\r\nSubject: reading\r\n\r\ntemperature 21.5\r\n";

macro_rules! imap_calls {
    (
        client: $($Client:ident)::+,
        async: {$($async:tt)*},
        await: {$($await:tt)*}
    ) => {
        use crate::calls::{Report, SECRET, USER};
        use crate::imap_calls::{Source, MESSAGE};
        use crate::script;
        use crate::transport::{Dummy, Sink};
        use core::hint::black_box;
        use embedded_mail::imap::{
            self, BodyRequest, Command, Envelope, FetchItems, GenericEvent, Parts, SearchReturn,
            Section, SeqRange, SequenceSet, StatusItems, StoreOp,
        };
        use embedded_mail::{Credentials, Mechanism};

        type Client<'b> = $($Client)::+<'b, Dummy>;

        /// Runs the three dialogues.
        pub $($async)* fn run(report: &mut Report) {
            let mut rx = [0u8; 1024];
            let mut tx = [0u8; 256];
            main_session(report, &mut rx, &mut tx)$($await)*;
            auth_session(report, &mut rx, &mut tx)$($await)*;
            preauth_session(report, &mut rx, &mut tx)$($await)*;
        }

        /// connect, capability, starttls + resume, login, enable, id,
        /// namespace, list, status, mailbox management, examine,
        /// unselect, select, search, esearch, fetch, fetch_body, store,
        /// copy, move_uids, expunge, append, idle, quota, submit/complete,
        /// noop, next_event, close, logout.
        #[inline(never)]
        $($async)* fn main_session(r: &mut Report, rx: &mut [u8], tx: &mut [u8]) {
            let Some(mut c) = r.note("imap connect", Client::connect(Dummy::new(script::IMAP_MAIN), rx, tx)$($await)*) else {
                return;
            };
            if let Some(caps) = r.note("imap capability", c.capability()$($await)*) {
                r.mix(u64::from(caps.starttls) | u64::from(caps.login_disabled) << 1);
            }
            // STARTTLS: the caller would wrap `parts.transport` in TLS here.
            let Some(parts) = r.note("imap starttls", c.starttls()$($await)*) else {
                return;
            };
            let Parts { transport, session, rx, tx } = parts;
            let mut c = Client::resume(Parts { transport: black_box(transport), session, rx, tx });
            if let Some(caps) = r.note("imap capability (TLS)", c.capability()$($await)*) {
                r.mix(u64::from(caps.idle) | u64::from(caps.literal_plus) << 1);
            }
            r.note("imap login", c.login(black_box(USER), black_box(SECRET))$($await)*);
            r.note("imap enable_defaults", c.enable_defaults()$($await)*);
            let id = [("name", "link-check")];
            r.note("imap id", c.id(Some(black_box(&id[..])))$($await)*);
            let mut events = 0u64;
            r.note("imap namespace", c.namespace(|_| events += 1)$($await)*);
            let utf8 = c.capabilities().utf8_enabled;
            let mut names = 0u64;
            r.note("imap list", c.list("", black_box("*"), |item| {
                let mut out = [0u8; 64];
                if let Ok(name) = imap::decode_mailbox(&item.name, utf8, &mut out) {
                    names = names.rotate_left(7) ^ name.len() as u64 ^ u64::from(item.attrs.0);
                }
            })$($await)*);
            r.mix(names);
            if let Some(s) = r.note("imap status", c.status(black_box("INBOX"), StatusItems::BASIC)$($await)*) {
                r.mix(u64::from(s.messages.unwrap_or(0)) ^ u64::from(s.uid_next.unwrap_or(0)));
            }
            r.note("imap create", c.create(black_box("Archiv"))$($await)*);
            r.note("imap rename", c.rename(black_box("Archiv"), black_box("Archive"))$($await)*);
            r.note("imap subscribe", c.subscribe(black_box("Archive"))$($await)*);
            r.note("imap unsubscribe", c.unsubscribe(black_box("Archive"))$($await)*);
            r.note("imap delete", c.delete(black_box("Archive"))$($await)*);
            if let Some(m) = r.note("imap examine", c.examine(black_box("INBOX"))$($await)*) {
                r.mix(u64::from(m.exists) ^ u64::from(m.read_only));
            }
            r.note("imap unselect", c.unselect()$($await)*);
            if let Some(m) = r.note("imap select", c.select(black_box("INBOX"))$($await)*) {
                r.mix(u64::from(m.uid_validity.unwrap_or(0)) ^ u64::from(m.permanent_flags.bits()));
            }
            let mut hits = 0u64;
            if let Some(s) = r.note("imap search", c.uid_search(black_box("UNSEEN"), |n| hits ^= u64::from(n))$($await)*) {
                r.mix(u64::from(s.hits) ^ hits);
            }
            let ret = SearchReturn { min: true, max: true, count: true, all: true };
            if let Some(s) = r.note("imap esearch", c.uid_esearch(black_box("ALL"), ret, |lo, hi| hits ^= u64::from(lo) << 8 ^ u64::from(hi))$($await)*) {
                r.mix(u64::from(s.count.unwrap_or(0)) ^ u64::from(s.min.unwrap_or(0)) ^ hits);
            }
            let items = FetchItems { uid: true, flags: true, internal_date: true, size: true, envelope: true, ..FetchItems::default() };
            let mut fetched = 0u64;
            r.note("imap fetch", c.uid_fetch(SequenceSet::Range(SeqRange::range(6, 8)), items, |e| match e {
                GenericEvent::FetchItem { value, .. } => {
                    if let Ok(env) = Envelope::parse(value) {
                        fetched ^= env.subject.map_or(0, |s| s.raw.len() as u64);
                        fetched ^= env.from.iter().count() as u64 + env.to.iter().count() as u64;
                    }
                }
                GenericEvent::Uid(uid) => fetched ^= u64::from(uid),
                e => fetched ^= e.flag_set().map_or(0, |f| u64::from(f.bits())),
            })$($await)*);
            r.mix(fetched);
            let mut sink = Sink::default();
            if let Some(n) = r.note("imap fetch_body", c.fetch_body(black_box(7), BodyRequest::peek(Section::Full), &mut sink)$($await)*) {
                r.body_bytes += n;
            }
            r.mix(u64::from(sink.hash));
            r.note("imap store", c.uid_store(SequenceSet::One(black_box(7)), StoreOp::Add, &["\\Flagged"], embedded_mail::imap::StoreReply::NewFlags, |_| events += 1)$($await)*);
            if let Some(done) = r.note("imap copy", c.uid_copy(SequenceSet::One(black_box(7)), black_box("Archive"))$($await)*) {
                r.mix(u64::from(done.copy_validity.unwrap_or(0)));
            }
            if let Some(done) = r.note("imap move_uids", c.move_uids(SequenceSet::One(black_box(8)), black_box("Archive"))$($await)*) {
                r.mix(u64::from(done.copy_validity.unwrap_or(0)));
            }
            r.note("imap expunge", c.expunge(|_| events += 1)$($await)*);
            let mut source = Source::new(MESSAGE);
            if let Some(done) = r.note("imap append", c.append(black_box("INBOX"), &["\\Seen"], None, MESSAGE.len() as u32, &mut source)$($await)*) {
                r.mix(done.append_uid.map_or(0, |(v, u)| u64::from(v) << 32 | u64::from(u)));
            }
            r.note("imap idle_start", c.idle_start()$($await)*);
            r.note("imap idle_wait", c.idle_wait(|e| {
                events += 1;
                !matches!(e, GenericEvent::Exists(_))
            })$($await)*);
            r.note("imap idle_done", c.idle_done()$($await)*);
            if let Some(q) = r.note("imap get_quota_root", c.get_quota_root(black_box("INBOX"))$($await)*) {
                r.mix(u64::from(q.roots));
            }
            r.note("imap get_quota", c.get_quota(black_box(""))$($await)*);
            // Pipelining: two commands out, then their completions.
            let first = r.note("imap submit", c.submit(&Command::Noop)$($await)*);
            let second = r.note("imap submit", c.submit(&Command::Noop)$($await)*);
            if let (Some(a), Some(b)) = (first, second) {
                r.note("imap complete", c.complete(a, |_| events += 1)$($await)*);
                r.note("imap complete", c.complete(b, |_| events += 1)$($await)*);
            }
            r.note("imap noop", c.noop(|_| events += 1)$($await)*);
            // Any command, read event by event.
            if let Some(tag) = r.note("imap submit", c.submit(&Command::Lsub { reference: "", pattern: black_box("*") })$($await)*) {
                loop {
                    match c.next_event()$($await)* {
                        Ok(GenericEvent::Done { tag: t, .. }) if t == tag => {
                            r.ok += 1;
                            break;
                        }
                        Ok(_) => events += 1,
                        Err(e) => {
                            r.note::<()>("imap next_event", Err(e));
                            break;
                        }
                    }
                }
            }
            r.mix(events ^ c.session().mailbox().exists as u64);
            r.note("imap close", c.close()$($await)*);
            if let Some(t) = r.note("imap logout", c.logout()$($await)*) {
                r.mix(u64::from(t.written) ^ u64::from(t.flushes));
                r.leftover += u32::from(!t.exhausted());
            }
        }

        /// authenticate with every mechanism.
        #[inline(never)]
        $($async)* fn auth_session(r: &mut Report, rx: &mut [u8], tx: &mut [u8]) {
            let Some(mut c) = r.note("imap connect", Client::connect(Dummy::new(script::IMAP_AUTH), rx, tx)$($await)*) else {
                return;
            };
            r.note("imap ensure_capabilities", c.ensure_capabilities()$($await)*);
            let creds = Credentials { user: black_box(USER), secret: black_box(SECRET) };
            for mechanism in black_box([Mechanism::Plain, Mechanism::Login, Mechanism::CramMd5, Mechanism::XOAuth2]) {
                match c.authenticate(mechanism, creds)$($await)* {
                    Ok(()) => {
                        r.ok += 1;
                        r.mix(mechanism as u64);
                    }
                    // PLAIN, LOGIN and CRAM-MD5 are refused by the script.
                    Err(e) if e.is_recoverable() => {
                        r.refused += 1;
                        r.mix(e.refusal().map_or(0, |_| c.last_refusal().text().len() as u64));
                    }
                    Err(e) => {
                        r.note::<()>("imap authenticate", Err(e));
                    }
                }
            }
            if let Some(t) = r.note("imap logout", c.logout()$($await)*) {
                r.mix(u64::from(t.written));
                r.leftover += u32::from(!t.exhausted());
            }
        }

        /// new + greeting (PREAUTH), session options, into_parts.
        #[inline(never)]
        $($async)* fn preauth_session(r: &mut Report, rx: &mut [u8], tx: &mut [u8]) {
            let mut c = Client::new(Dummy::new(script::IMAP_PREAUTH), rx, tx);
            if let Some(g) = r.note("imap greeting", c.greeting()$($await)*) {
                r.mix(u64::from(g.preauth));
            }
            c.session_mut().set_skip_oversized(black_box(true));
            r.mix(u64::from(c.transport_mut().flushes) ^ c.session().in_flight() as u64);
            let parts = c.into_parts();
            r.mix(u64::from(parts.transport.written) ^ parts.session.state() as u64);
            r.leftover += u32::from(!parts.transport.exhausted());
        }
    };
}

/// The blocking client.
pub mod blocking {
    imap_calls! {
        client: embedded_mail::imap::Client,
        async: {},
        await: {}
    }
}

/// The async client.
pub mod asynch {
    imap_calls! {
        client: embedded_mail::imap::asynch::Client,
        async: {async},
        await: {.await}
    }
}
