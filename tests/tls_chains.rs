//! Certificate path validation against chains an attacker (or a careless
//! CA) would present, served by `openssl s_server` speaking TLS 1.3. The
//! chains come from `scripts/tls-chains`; each good one (ECDSA P-256 and
//! P-384, RSA-2048/4096, mixed, a leaf issued after the build) must be
//! accepted and carry data, each bad one refused during the handshake with
//! the reason, so no command can ever be sent to it.
//! Run with `cargo test --features std,tls,tls-rsa,tls-p384 --test tls_chains`.
#![cfg(all(feature = "std", feature = "tls-rsa", feature = "tls-p384"))]

mod common;

use common::OsRng;
use embedded_io::Write as _;
use embedded_io_adapters::std::FromStd;
use embedded_mail::tls::{self, NoClock, TlsBuffers, TlsClock, TlsSettings};
use embedded_mail::{CertificateError, Error};
use std::io::{BufRead, BufReader, Read as _};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The chains, made once per test process.
fn chains() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("tls-chains-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let status = Command::new(concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/tls-chains"))
            .arg(&dir)
            .stdout(Stdio::null())
            .status()
            .expect("running scripts/tls-chains (needs openssl)");
        assert!(status.success(), "scripts/tls-chains failed");
        dir
    })
}

fn root(case: &str) -> Vec<u8> {
    std::fs::read(chains().join(case).join("root.der")).expect("root.der")
}

/// `openssl s_server` serving one case's chain for one connection, in
/// `-rev` mode (each line comes back reversed).
struct Server {
    child: Child,
    port: u16,
}

impl Server {
    fn start(case: &str) -> Server {
        let dir = chains().join(case);
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let mut child = Command::new("openssl")
            // Security level 0 so that it serves the RSA-1024 leaf at all.
            .args([
                "s_server",
                "-tls1_3",
                "-rev",
                "-naccept",
                "1",
                "-cipher",
                "DEFAULT:@SECLEVEL=0",
            ])
            .arg("-accept")
            .arg(format!("127.0.0.1:{port}"))
            .arg("-cert")
            .arg(dir.join("leaf.pem"))
            .arg("-key")
            .arg(dir.join("leaf.key"))
            .arg("-cert_chain")
            .arg(dir.join("ints.pem"))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting openssl s_server");
        // It prints ACCEPT once it listens.
        let mut out = BufReader::new(child.stdout.take().expect("stdout"));
        let mut line = String::new();
        loop {
            line.clear();
            let n = out.read_line(&mut line).expect("reading s_server");
            assert!(n > 0, "openssl s_server for {case} exited before listening");
            if line.starts_with("ACCEPT") {
                break;
            }
        }
        // Keep draining its output so it never blocks on a full pipe.
        std::thread::spawn(move || {
            let mut sink = Vec::new();
            let _ = out.read_to_end(&mut sink);
        });
        Server { child, port }
    }

    fn connect(&self) -> FromStd<TcpStream> {
        let s = TcpStream::connect(("127.0.0.1", self.port)).expect("connect to s_server");
        s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        FromStd::new(s)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A clock that reads the host's time.
struct HostClock;
impl TlsClock for HostClock {
    fn now() -> Option<u64> {
        Some(
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap()
                .as_secs(),
        )
    }
}

/// A clock that was never set (reads 1970).
struct UnsetClock;
impl TlsClock for UnsetClock {
    fn now() -> Option<u64> {
        Some(0)
    }
}

/// Handshakes with the server for `case`; on success sends a line and
/// checks that it comes back reversed over the TLS stream.
fn run<C: TlsClock>(case: &str, settings: &TlsSettings<'_, C>) -> Result<(), Error<tls::TlsError>> {
    let server = Server::start(case);
    let (mut rd, mut wr) = (
        vec![0u8; tls::READ_BUFFER_LEN],
        vec![0u8; tls::WRITE_BUFFER_LEN],
    );
    let mut stream = tls::handshake(
        server.connect(),
        TlsBuffers::new(&mut rd, &mut wr),
        settings,
        OsRng::new(),
    )?;
    stream.write_all(b"embedded-mail\n").unwrap();
    stream.flush().unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 64];
    while !got.ends_with(b"\n") {
        let n = stream.read(&mut buf).unwrap();
        assert!(n > 0, "s_server closed the connection");
        got.extend_from_slice(&buf[..n]);
    }
    assert_eq!(
        got, b"liam-deddebme\n",
        "{case}: data through the TLS stream"
    );
    Ok(())
}

/// The certificate refusal of a run, `None` if it was accepted; any other
/// error fails the test.
fn refusal(result: Result<(), Error<tls::TlsError>>) -> Option<CertificateError> {
    match result {
        Ok(()) => None,
        Err(Error::Certificate(why)) => Some(why),
        Err(e) => panic!("expected a certificate refusal, got {e}"),
    }
}

fn pinned(case: &str, f: impl FnOnce(&TlsSettings<'_, NoClock>)) {
    let ca = root(case);
    f(&TlsSettings::pinned_ca("localhost", &ca));
}

fn accepts(case: &str) {
    pinned(case, |s| {
        if let Err(e) = run(case, s) {
            panic!("{case}: a good chain was refused: {e}");
        }
    });
}

fn refuses(case: &str, why: CertificateError) {
    pinned(case, |s| {
        assert_eq!(refusal(run(case, s)), Some(why), "{case}")
    });
}

#[test]
fn ecdsa_p256_chain_is_accepted() {
    accepts("good-p256");
}

#[test]
fn ecdsa_p384_chain_is_accepted() {
    accepts("good-p384");
}

#[test]
fn rsa_chain_is_accepted() {
    accepts("good-rsa");
}

#[test]
fn ec_leaf_under_rsa_root_is_accepted() {
    accepts("good-mixed-ec-leaf");
}

#[test]
fn rsa_leaf_under_p384_root_is_accepted() {
    accepts("good-mixed-rsa-leaf");
}

#[test]
fn leaf_issued_after_the_build_is_accepted_without_a_clock() {
    accepts("good-issued-after-build");
}

#[test]
fn leaf_issued_after_the_build_is_not_yet_valid_by_a_clock() {
    let ca = root("good-issued-after-build");
    let settings = TlsSettings::pinned_ca("localhost", &ca).with_clock::<HostClock>();
    assert_eq!(
        refusal(run("good-issued-after-build", &settings)),
        Some(CertificateError::NotYetValid)
    );
}

#[test]
fn leaf_used_as_issuer_is_refused() {
    refuses("bad-leaf-as-issuer", CertificateError::IssuerNotCa);
}

#[test]
fn issuer_without_key_cert_sign_is_refused() {
    refuses("bad-no-keycertsign", CertificateError::IssuerCannotSign);
}

#[test]
fn path_length_constraint_is_enforced() {
    refuses("bad-pathlen", CertificateError::PathTooLong);
}

#[test]
fn leaf_for_clients_only_is_refused() {
    refuses("bad-eku", CertificateError::NotForServers);
}

#[test]
fn unknown_critical_extension_is_refused() {
    refuses(
        "bad-critical-extension",
        CertificateError::UnknownCriticalExtension,
    );
}

#[test]
fn expired_leaf_is_refused_by_the_build_floor() {
    refuses("bad-expired", CertificateError::Expired);
}

#[test]
fn expired_leaf_is_refused_by_a_clock_and_an_unset_clock_falls_back_to_the_floor() {
    let ca = root("bad-expired");
    let settings = TlsSettings::pinned_ca("localhost", &ca);
    assert_eq!(
        refusal(run("bad-expired", &settings.with_clock::<HostClock>())),
        Some(CertificateError::Expired)
    );
    assert_eq!(
        refusal(run("bad-expired", &settings.with_clock::<UnsetClock>())),
        Some(CertificateError::Expired)
    );
}

#[test]
fn name_mismatch_is_refused() {
    refuses("bad-name", CertificateError::NameMismatch);
}

#[test]
fn rsa_1024_leaf_is_refused() {
    refuses("bad-rsa1024", CertificateError::WeakKey);
}

#[test]
fn signature_by_the_wrong_key_is_refused() {
    refuses("bad-signature", CertificateError::BadSignature);
}

#[test]
fn name_constraints_are_honoured() {
    refuses("bad-name-constraints", CertificateError::NameConstraints);
}

#[test]
fn leaf_without_digital_signature_is_refused() {
    refuses("bad-leaf-key-usage", CertificateError::LeafCannotSign);
}

#[test]
fn chain_to_another_root_is_refused() {
    let other = root("good-rsa");
    let settings = TlsSettings::pinned_ca("localhost", &other);
    assert_eq!(
        refusal(run("good-p256", &settings)),
        Some(CertificateError::UnknownIssuer)
    );
}

#[test]
fn a_set_of_roots_accepts_a_chain_to_any_of_them() {
    let (rsa, ec) = (root("good-rsa"), root("good-p256"));
    let set: [&[u8]; 2] = [&rsa, &ec];
    let settings = TlsSettings::trust_anchors("localhost", &set);
    run("good-p256", &settings).expect("chain to the second root of the set");
    run("good-rsa", &settings).expect("chain to the first root of the set");
}

#[test]
fn connecting_by_ip_address_matches_an_ip_subject_alt_name() {
    let ca = root("good-p256");
    let settings = TlsSettings::pinned_ca("127.0.0.1", &ca);
    run("good-p256", &settings).expect("IP:127.0.0.1 is in the leaf's subjectAltName");
}

/// Every case: the offline check (`TlsSettings::check_chain`, the chain as
/// DER) agrees with the handshake's verdict above.
#[test]
fn offline_check_gives_the_handshakes_verdict() {
    let cases = [
        ("good-p256", None),
        ("good-p384", None),
        ("good-rsa", None),
        ("good-mixed-ec-leaf", None),
        ("good-mixed-rsa-leaf", None),
        ("good-issued-after-build", None),
        ("bad-leaf-as-issuer", Some(CertificateError::IssuerNotCa)),
        (
            "bad-no-keycertsign",
            Some(CertificateError::IssuerCannotSign),
        ),
        ("bad-pathlen", Some(CertificateError::PathTooLong)),
        ("bad-eku", Some(CertificateError::NotForServers)),
        (
            "bad-critical-extension",
            Some(CertificateError::UnknownCriticalExtension),
        ),
        ("bad-expired", Some(CertificateError::Expired)),
        ("bad-name", Some(CertificateError::NameMismatch)),
        ("bad-rsa1024", Some(CertificateError::WeakKey)),
        ("bad-signature", Some(CertificateError::BadSignature)),
        (
            "bad-name-constraints",
            Some(CertificateError::NameConstraints),
        ),
        ("bad-leaf-key-usage", Some(CertificateError::LeafCannotSign)),
    ];
    for (case, want) in cases {
        let dir = chains().join(case);
        let chain: Vec<Vec<u8>> = (0..)
            .map(|i| dir.join(format!("chain-{i}.der")))
            .take_while(|p| p.exists())
            .map(|p| std::fs::read(p).unwrap())
            .collect();
        let refs: Vec<&[u8]> = chain.iter().map(Vec::as_slice).collect();
        let ca = root(case);
        let settings = TlsSettings::pinned_ca("localhost", &ca);
        assert_eq!(settings.check_chain(&refs).err(), want, "{case}");
    }
    // No certificate at all, and garbage instead of one.
    let ca = root("good-p256");
    let settings = TlsSettings::pinned_ca("localhost", &ca);
    assert_eq!(settings.check_chain(&[]), Err(CertificateError::Missing));
    assert_eq!(
        settings.check_chain(&[b"not a certificate"]),
        Err(CertificateError::Malformed)
    );
}

#[test]
fn an_ip_address_host_matches_an_ip_subject_alt_name() {
    // Every leaf names IP:127.0.0.1 (scripts/tls-chains): a device that
    // reaches its server by address checks the address, not a DNS name.
    let ca = root("good-p256");
    if let Err(e) = run("good-p256", &TlsSettings::pinned_ca("127.0.0.1", &ca)) {
        panic!("an IP host against an IP subjectAltName was refused: {e}");
    }
    assert_eq!(
        refusal(run("good-p256", &TlsSettings::pinned_ca("127.0.0.2", &ca))),
        Some(CertificateError::NameMismatch)
    );
}

/// The message a user sees names the check that failed (and the error's
/// class agrees): chain, name, time, algorithm, usage.
#[test]
fn refusals_say_which_check_failed() {
    use embedded_mail::CertificateCheck;
    for (case, check) in [
        ("bad-name", CertificateCheck::Name),
        ("bad-expired", CertificateCheck::Time),
        ("bad-signature", CertificateCheck::Chain),
        ("bad-rsa1024", CertificateCheck::Algorithm),
        ("bad-eku", CertificateCheck::Usage),
    ] {
        pinned(case, |s| {
            let e = run(case, s).expect_err(case);
            let Error::Certificate(why) = e else {
                panic!("{case}: expected a certificate refusal, got {e}");
            };
            assert_eq!(why.check(), check, "{case}: {why:?}");
            let msg = e.to_string();
            let want = format!("{} check failed: ", check.as_str());
            assert!(msg.contains(&want), "{case}: {msg:?} lacks {want:?}");
        });
    }
    // Another root: the chain check.
    let other = root("good-rsa");
    let e = run("good-p256", &TlsSettings::pinned_ca("localhost", &other)).unwrap_err();
    assert!(e.to_string().contains("chain check failed: "), "{e}");
}
