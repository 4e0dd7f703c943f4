//! Every call of the POP3 API, written once and expanded twice (like the
//! library's own driver): for the blocking `pop3::Client` and for the async
//! `pop3::asynch::Client`.

use crate::transport::LinkDown;
use core::hint::black_box;
use embedded_mail::Error;

/// What a run did: enough to keep every result alive (it is passed to
/// `black_box`) and for the host test to check the dialogue succeeded.
#[derive(Debug, Default)]
pub struct Report {
    /// Calls that returned `Ok`.
    pub ok: u32,
    /// The first call that failed, and its error.
    pub failed: Option<(&'static str, Error<LinkDown>)>,
    /// A fold of every value the calls returned.
    pub digest: u64,
    /// Message bytes streamed into sinks (RETR, TOP).
    pub body_bytes: u64,
    /// Refusals the script provokes on purpose (AUTH).
    pub refused: u32,
    /// Dialogues that ended with server bytes left unread.
    pub leftover: u32,
}

impl Report {
    /// Records one call's result; the value if it succeeded.
    pub fn note<T>(&mut self, call: &'static str, r: Result<T, Error<LinkDown>>) -> Option<T> {
        match r {
            Ok(v) => {
                self.ok += 1;
                Some(v)
            }
            Err(e) => {
                if self.failed.is_none() {
                    self.failed = Some((call, e));
                }
                None
            }
        }
    }

    /// Folds a value into the digest.
    pub fn mix(&mut self, v: u64) {
        self.digest = self.digest.rotate_left(5) ^ v;
    }
}

/// Credentials as firmware would have them (from config flash).
pub const USER: &str = "sensor";
/// The password / shared secret.
pub const SECRET: &str = "tanstaaf";

macro_rules! pop3_calls {
    (
        client: $($Client:ident)::+,
        async: {$($async:tt)*},
        await: {$($await:tt)*}
    ) => {
        use crate::calls::{Report, SECRET, USER};
        use crate::script;
        use crate::transport::{Dummy, Sink};
        use core::hint::black_box;
        use embedded_mail::pop3::Parts;
        use embedded_mail::{Credentials, Mechanism};

        type Client<'b> = $($Client)::+<'b, Dummy>;

        // The three dialogues stay separate functions (`inline(never)`),
        // as calls spread over a real firmware would be: inlined into one
        // giant `main`, the frame grows past what Thumb-1 addresses from SP
        // in one instruction and thumbv6m's .text doubles, which would
        // measure this harness rather than the library.

        /// Runs all three dialogues.
        pub $($async)* fn run(report: &mut Report) {
            let mut rx = [0u8; 512];
            let mut tx = [0u8; 256];
            main_session(report, &mut rx, &mut tx)$($await)*;
            apop_session(report, &mut rx, &mut tx)$($await)*;
            auth_session(report, &mut rx, &mut tx)$($await)*;
        }

        /// connect, capabilities, stls + resume, enable_utf8, login, every
        /// TRANSACTION command, quit.
        #[inline(never)]
        $($async)* fn main_session(r: &mut Report, rx: &mut [u8], tx: &mut [u8]) {
            let Some(mut c) = r.note("connect", Client::connect(Dummy::new(script::MAIN), rx, tx)$($await)*) else {
                return;
            };
            if let Some(caps) = r.note("capabilities", c.capa()$($await)*) {
                r.mix(u64::from(caps.stls) | u64::from(caps.pipelining) << 1);
            }
            // STLS: the caller would wrap `parts.transport` in TLS here.
            let Some(parts) = r.note("stls", c.stls()$($await)*) else {
                return;
            };
            let Parts { transport, session, rx, tx } = parts;
            let mut c = Client::resume(Parts { transport: black_box(transport), session, rx, tx });
            if let Some(caps) = r.note("capabilities (TLS)", c.capa()$($await)*) {
                r.mix(u64::from(caps.utf8) | u64::from(caps.login_delay.unwrap_or(0)) << 1);
            }
            r.note("enable_utf8", c.enable_utf8()$($await)*);
            r.note("login", c.login(black_box(USER), black_box(SECRET))$($await)*);
            if let Some(s) = r.note("stat", c.stat()$($await)*) {
                r.mix(u64::from(s.count) ^ s.size);
            }
            let mut listed = 0u64;
            r.note("list", c.list(|msg, size| listed = listed.rotate_left(3) ^ u64::from(msg) ^ size)$($await)*);
            r.mix(listed);
            if let Some(size) = r.note("list_one", c.list_one(black_box(2))$($await)*) {
                r.mix(size);
            }
            let mut uids = 0u64;
            r.note("uidl", c.uidl(|msg, uid| uids = uids.rotate_left(3) ^ u64::from(msg) ^ uid.len() as u64)$($await)*);
            r.mix(uids);
            if let Some(uid) = r.note("uidl_one", c.uidl_one(black_box(2))$($await)*) {
                r.mix(uid.len() as u64);
            }
            let mut sink = Sink::default();
            if let Some(n) = r.note("retr", c.retr(black_box(1), &mut sink)$($await)*) {
                r.body_bytes += n;
            }
            if let Some(n) = r.note("top", c.top(black_box(2), black_box(0), &mut sink)$($await)*) {
                r.body_bytes += n;
            }
            r.mix(u64::from(sink.hash));
            r.note("dele", c.dele(black_box(3))$($await)*);
            r.note("delete_many", c.delete_many(black_box(&[1, 2]))$($await)*);
            r.note("rset", c.rset()$($await)*);
            r.note("noop", c.noop()$($await)*);
            r.mix(u64::from(c.session().in_flight() as u32) ^ u64::from(c.capabilities().top));
            if let Some(t) = r.note("quit", c.quit()$($await)*) {
                r.mix(u64::from(t.written) ^ u64::from(t.flushes));
                r.leftover += u32::from(!t.exhausted());
            }
        }

        /// new + greeting, apop, into_parts.
        #[inline(never)]
        $($async)* fn apop_session(r: &mut Report, rx: &mut [u8], tx: &mut [u8]) {
            let mut c = Client::new(Dummy::new(script::APOP), rx, tx);
            if let Some(g) = r.note("greeting", c.greeting()$($await)*) {
                r.mix(u64::from(g.apop));
            }
            r.note("apop", c.apop(black_box(USER), black_box(SECRET))$($await)*);
            let parts = c.into_parts();
            r.mix(u64::from(parts.transport.written) ^ parts.session.in_flight() as u64);
            r.leftover += u32::from(!parts.transport.exhausted());
        }

        /// authenticate with every mechanism.
        #[inline(never)]
        $($async)* fn auth_session(r: &mut Report, rx: &mut [u8], tx: &mut [u8]) {
            let Some(mut c) = r.note("connect", Client::connect(Dummy::new(script::AUTH), rx, tx)$($await)*) else {
                return;
            };
            r.note("capabilities", c.capa()$($await)*);
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
                        r.note::<()>("authenticate", Err(e));
                    }
                }
            }
            if let Some(t) = r.note("quit", c.quit()$($await)*) {
                r.mix(u64::from(t.written));
                r.leftover += u32::from(!t.exhausted());
            }
        }
    };
}

/// The blocking client.
#[cfg(feature = "pop3")]
pub mod blocking {
    pop3_calls! {
        client: embedded_mail::pop3::Client,
        async: {},
        await: {}
    }
}

/// The async client.
#[cfg(feature = "pop3")]
pub mod asynch {
    pop3_calls! {
        client: embedded_mail::pop3::asynch::Client,
        async: {async},
        await: {.await}
    }
}

/// Keeps a report alive past LTO.
#[cfg_attr(test, allow(dead_code))]
pub fn keep(report: Report) {
    black_box(report);
}
