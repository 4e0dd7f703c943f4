//! The async TLS helpers over `embedded_io_async::{Read, Write}`, returning
//! [`crate::pop3::asynch::Client`] and [`crate::imap::asynch::Client`].
//!
//! This file is also the source of the blocking helpers in [`crate::tls`]:
//! `build.rs` compiles a twin of it without `async` and `.await`.

use embedded_io_async::{Read, Write};
use embedded_tls::blocking::TlsContext;

#[cfg(feature = "imap")]
use crate::imap::asynch::Client as ImapPlain;
#[cfg(feature = "pop3")]
use crate::pop3::asynch::Client as Pop3Plain;
use crate::tls::conn::asynch::TlsConnection;

use crate::error::Error;
use crate::tls::{
    handshake_outcome, late_upgrade, plain_error, tls_config, CipherSuite, Connect, CryptoRngCore,
    Provider, TlsBuffers, TlsClock, TlsError, TlsMode, TlsSettings,
};

/// A TLS 1.3 connection over the transport `T`: an `embedded_io`
/// `Read + Write` carrying the decrypted bytes. Its `close()`
/// sends close_notify and hands `T` back.
pub type TlsStream<'t, T> = TlsConnection<'t, T, CipherSuite>;

/// A POP3 client on a TLS connection.
#[cfg(feature = "pop3")]
pub type Pop3Client<'b, 't, T> = Pop3Plain<'b, TlsStream<'t, T>>;

/// An IMAP client on a TLS connection.
#[cfg(feature = "imap")]
pub type ImapClient<'b, 't, T> = ImapPlain<'b, TlsStream<'t, T>>;

/// Wraps `transport` in TLS and runs the handshake, verifying the
/// server as `settings` say. `rng` must be a cryptographically
/// secure generator (a hardware TRNG, or a CSPRNG seeded from one).
///
/// Errors: [`Error::InvalidArgument`] for an empty server name;
/// [`Error::Transport`] with the [`TlsError`] otherwise
/// ([`TlsError::InvalidCertificate`] for a certificate that does
/// not verify or does not name the server, and for a server that
/// did not prove it holds the certificate's key).
pub async fn handshake<'t, T, R, Clock>(
    transport: T,
    buffers: TlsBuffers<'t>,
    settings: &TlsSettings<'_, Clock>,
    rng: R,
) -> Result<TlsStream<'t, T>, Error<TlsError>>
where
    T: Read + Write + 't,
    R: CryptoRngCore,
    Clock: TlsClock,
{
    if settings.server_name().is_empty() {
        return Err(Error::InvalidArgument("TLS server name is empty"));
    }
    let mut stream = TlsStream::new(transport, buffers.read, buffers.write);
    let config = tls_config(settings);
    let mut provider = Provider::new(settings, rng);
    let opened = stream.open(TlsContext::new(&config, &mut provider)).await;
    handshake_outcome(opened, &provider)?;
    Ok(stream)
}

/// Opens a POP3 session over TLS on a fresh connection: reads the
/// greeting and the capabilities (CAPA) under TLS. With
/// [`TlsMode::StartTls`] the greeting and a first CAPA are read in
/// plain text, then [`pop3_upgrade`] runs; nothing else is sent
/// before the handshake. Log in on the returned client.
#[cfg(feature = "pop3")]
pub async fn pop3_connect<'b, 't, T, R, Clock>(
    transport: T,
    connect: Connect<'_, 'b, 't, Clock>,
    rng: R,
) -> Result<Pop3Client<'b, 't, T>, Error<TlsError>>
where
    T: Read + Write + 't,
    R: CryptoRngCore,
    Clock: TlsClock,
{
    let Connect {
        mode,
        settings,
        tls,
        rx,
        tx,
    } = connect;
    match mode {
        TlsMode::Implicit => {
            let stream = handshake(transport, tls, settings, rng).await?;
            let mut client = Pop3Plain::connect(stream, rx, tx).await?;
            client.capa().await?;
            Ok(client)
        }
        TlsMode::StartTls => {
            let mut client = Pop3Plain::connect(transport, rx, tx)
                .await
                .map_err(plain_error)?;
            client.capa().await.map_err(plain_error)?;
            pop3_upgrade(client, settings, tls, rng).await
        }
    }
}

/// Upgrades a plain POP3 session with `STLS` (RFC 2595): call after
/// the greeting and `capa()` (CAPA), before logging in.
/// Sends `STLS`, checks that nothing followed the `+OK`, runs the
/// handshake, resumes the session on the TLS stream and reads the
/// capabilities again (the plain-text ones are forgotten).
///
/// Fails, having sent nothing, if CAPA did not list `STLS`
/// ([`Error::NotSupported`]) or the session is not in the
/// AUTHORIZATION state ([`Error::WrongState`]).
#[cfg(feature = "pop3")]
pub async fn pop3_upgrade<'b, 't, T, R, Clock>(
    client: Pop3Plain<'b, T>,
    settings: &TlsSettings<'_, Clock>,
    tls: TlsBuffers<'t>,
    rng: R,
) -> Result<Pop3Client<'b, 't, T>, Error<TlsError>>
where
    T: Read + Write + 't,
    R: CryptoRngCore,
    Clock: TlsClock,
{
    let state = client.session().state();
    if state != crate::pop3::State::Authorization {
        return Err(late_upgrade(state.into()));
    }
    let parts = client.stls().await.map_err(plain_error)?;
    let stream = handshake(parts.transport, tls, settings, rng).await?;
    let mut client = Pop3Plain::resume(crate::pop3::Parts {
        transport: stream,
        session: parts.session,
        rx: parts.rx,
        tx: parts.tx,
    });
    client.capa().await?;
    Ok(client)
}

/// Opens an IMAP session over TLS on a fresh connection: reads the
/// greeting and the capabilities under TLS. With
/// [`TlsMode::StartTls`] the greeting (a `PREAUTH` one is an
/// error) and the capabilities are read in plain text, then
/// [`imap_upgrade`] runs; nothing else is sent before the
/// handshake. Log in on the returned client (after a `PREAUTH`
/// greeting under implicit TLS it is logged in already: see
/// `client.session().state()`).
#[cfg(feature = "imap")]
pub async fn imap_connect<'b, 't, T, R, Clock>(
    transport: T,
    connect: Connect<'_, 'b, 't, Clock>,
    rng: R,
) -> Result<ImapClient<'b, 't, T>, Error<TlsError>>
where
    T: Read + Write + 't,
    R: CryptoRngCore,
    Clock: TlsClock,
{
    let Connect {
        mode,
        settings,
        tls,
        rx,
        tx,
    } = connect;
    match mode {
        TlsMode::Implicit => {
            let stream = handshake(transport, tls, settings, rng).await?;
            let mut client = ImapPlain::connect(stream, rx, tx).await?;
            client.ensure_capabilities().await?;
            Ok(client)
        }
        TlsMode::StartTls => {
            let mut client = ImapPlain::new(transport, rx, tx);
            let greeting = client.greeting().await.map_err(plain_error)?;
            if greeting.preauth {
                return Err(crate::tls::PREAUTH_REFUSED);
            }
            imap_upgrade(client, settings, tls, rng).await
        }
    }
}

/// Upgrades a plain IMAP session with `STARTTLS` (RFC 3501 §6.2.1):
/// call after the greeting, before logging in. Asks for the
/// capabilities unless the greeting carried them, sends
/// `STARTTLS`, checks that nothing followed the OK, runs the
/// handshake, resumes the session on the TLS stream and asks for
/// the capabilities again (the plain-text ones are forgotten).
///
/// Fails, having sent at most `CAPABILITY`, if the session is
/// already authenticated (a `PREAUTH` greeting or a plain-text
/// login: [`Error::NotSupported`]), is closed ([`Error::WrongState`])
/// or the server does not advertise `STARTTLS`
/// ([`Error::NotSupported`]).
#[cfg(feature = "imap")]
pub async fn imap_upgrade<'b, 't, T, R, Clock>(
    mut client: ImapPlain<'b, T>,
    settings: &TlsSettings<'_, Clock>,
    tls: TlsBuffers<'t>,
    rng: R,
) -> Result<ImapClient<'b, 't, T>, Error<TlsError>>
where
    T: Read + Write + 't,
    R: CryptoRngCore,
    Clock: TlsClock,
{
    use crate::imap::State;
    match client.session().state() {
        State::NotAuthenticated => {}
        State::Authenticated | State::Selected => return Err(crate::tls::PREAUTH_REFUSED),
        other => return Err(late_upgrade(other.into())),
    }
    client.ensure_capabilities().await.map_err(plain_error)?;
    let parts = client.starttls().await.map_err(plain_error)?;
    let stream = handshake(parts.transport, tls, settings, rng).await?;
    let mut client = ImapPlain::resume(crate::imap::Parts {
        transport: stream,
        session: parts.session,
        rx: parts.rx,
        tx: parts.tx,
    });
    client.capability().await?;
    Ok(client)
}
