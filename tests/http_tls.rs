//! The daemon's listener over TLS: `zonekeeper run --tls-cert/--tls-key` (or
//! `controller.tls`) as a real process on loopback, with a self-signed certificate made by
//! Debian's `openssl` for 127.0.0.1. HTTPS answers with that certificate as the client's
//! root; plain HTTP gets no HTTP answer; clients that never finish a ClientHello lose their
//! connection (and its slot) after the header-read timeout; the webhook check holds; a key
//! that cannot serve stops the start with the file named.

mod support;

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName};
use tokio_rustls::rustls::{self, ClientConfig, ClientConnection, RootCertStore, StreamOwned};

use zonekeeper::http::tls::{ServerTls, TlsError};

const WEBHOOK_SECRET: &str = "tls-webhook-secret";

/// A self-signed certificate for 127.0.0.1 and its key, in `dir`: (cert.pem, key.pem).
/// `kind` is `ec` (PKCS#8 P-256), `rsa-pkcs1` (traditional RSA) or `ec-sec1`.
fn certificate(dir: &Path, name: &str, kind: &str) -> (PathBuf, PathBuf) {
    let cert = dir.join(format!("{name}.crt"));
    let key = dir.join(format!("{name}.key"));
    let openssl = |args: &[&str]| {
        let out = Command::new("openssl")
            .args(args)
            .stderr(Stdio::piped())
            .output()
            .expect("run openssl");
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let k = key.to_str().unwrap();
    match kind {
        "ec" => openssl(&[
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-out",
            k,
        ]),
        "ec-sec1" => openssl(&[
            "ecparam",
            "-name",
            "prime256v1",
            "-genkey",
            "-noout",
            "-out",
            k,
        ]),
        "rsa-pkcs1" => openssl(&["genrsa", "-traditional", "-out", k, "2048"]),
        other => panic!("unknown key kind {other}"),
    }
    openssl(&[
        "req",
        "-x509",
        "-new",
        "-key",
        k,
        "-out",
        cert.to_str().unwrap(),
        "-days",
        "2",
        "-subj",
        "/CN=zonekeeper-test",
        "-addext",
        "subjectAltName=IP:127.0.0.1",
        // Not a CA: webpki refuses a CA certificate as the server's own.
        "-addext",
        "basicConstraints=critical,CA:FALSE",
    ]);
    (cert, key)
}

/// False (and the skip recorded) when Debian's `openssl` is not installed.
fn have_openssl(test: &str) -> bool {
    if support::find_binary("openssl").is_none() {
        support::missing("openssl", test);
        return false;
    }
    true
}

/// `zonekeeper run --dir` on a copy of `manifests-example/`, killed when dropped.
struct Daemon {
    child: Child,
    port: u16,
    /// The certificate clients trust.
    root: PathBuf,
    tmp: tempfile::TempDir,
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Daemon {
    /// A daemon with `tls_args` (given the certificate and key paths) over the usual ones,
    /// once `/healthz` answers over HTTPS. `shell` wraps the command (`ulimit`).
    fn start(tls_args: impl Fn(&Path, &Path, &Path) -> Vec<String>, shell: Option<&str>) -> Daemon {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("repo");
        support::copy_dir_except(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("manifests-example"),
            &dir,
            &["live"],
        );
        let (cert, key) = certificate(tmp.path(), "server", "ec");
        let port = support::free_port();
        let mut args: Vec<String> = vec![
            "run".into(),
            "--dir".into(),
            dir.display().to_string(),
            "--state-dir".into(),
            tmp.path().join("state").display().to_string(),
            "--listen".into(),
            format!("127.0.0.1:{port}"),
            "--webhook-secret".into(),
            "env:ZK_TLS_WEBHOOK".into(),
        ];
        args.extend(tls_args(tmp.path(), &cert, &key));
        let bin = env!("CARGO_BIN_EXE_zonekeeper");
        let mut cmd = match shell {
            None => Command::new(bin),
            Some(prefix) => {
                let mut c = Command::new("sh");
                c.arg("-c")
                    .arg(format!("{prefix} && exec \"$0\" \"$@\""))
                    .arg(bin);
                c
            }
        };
        let log = tmp.path().join("daemon.log");
        let child = cmd
            .args(&args)
            .env("ZK_TLS_WEBHOOK", WEBHOOK_SECRET)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        let mut d = Daemon {
            child,
            port,
            root: cert,
            tmp,
        };
        let start = Instant::now();
        loop {
            let r = https(&d, "GET", "/healthz", &[], b"");
            if r.as_ref().map(|r| r.0) == Ok(200) {
                return d;
            }
            let exited = d.child.try_wait().unwrap();
            assert!(
                exited.is_none() && start.elapsed() < Duration::from_secs(30),
                "the daemon did not start ({exited:?}): {r:?}\n{}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// With `--tls-cert`/`--tls-key` flags.
    fn with_flags() -> Daemon {
        Daemon::start(
            |_, cert, key| {
                vec![
                    "--tls-cert".into(),
                    cert.display().to_string(),
                    "--tls-key".into(),
                    key.display().to_string(),
                ]
            },
            None,
        )
    }
}

/// A TLS client trusting only the certificate in `root`.
fn client(root: &Path) -> Arc<ClientConfig> {
    let mut roots = RootCertStore::empty();
    for c in CertificateDer::pem_file_iter(root).unwrap() {
        roots.add(c.unwrap()).unwrap();
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Arc::new(
        ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth(),
    )
}

/// One HTTP/1.0 request over TLS to the daemon, trusting `root`: (status, body), or why not.
fn https_with(
    port: u16,
    root: &Path,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Result<(u16, String), String> {
    let name = ServerName::IpAddress(std::net::Ipv4Addr::LOCALHOST.into());
    let conn = ClientConnection::new(client(root), name).map_err(|e| e.to_string())?;
    let tcp = TcpStream::connect(("127.0.0.1", port)).map_err(|e| e.to_string())?;
    tcp.set_read_timeout(Some(Duration::from_secs(10)))
        .map_err(|e| e.to_string())?;
    let mut s = StreamOwned::new(conn, tcp);
    let mut req = format!(
        "{method} {path} HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).map_err(|e| e.to_string())?;
    s.write_all(body).map_err(|e| e.to_string())?;
    let mut resp = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => resp.extend_from_slice(&buf[..n]),
            // A peer that closes without close_notify: keep what arrived.
            Err(e) if e.kind() == ErrorKind::UnexpectedEof => break,
            Err(e) => return Err(e.to_string()),
        }
    }
    let resp = String::from_utf8_lossy(&resp).into_owned();
    let status = resp
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| format!("not an HTTP answer: {resp:?}"))?;
    let body = resp
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    Ok((status, body))
}

fn https(
    d: &Daemon,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Result<(u16, String), String> {
    https_with(d.port, &d.root, method, path, headers, body)
}

/// Reads until the server closes the connection (or `limit` passes): how long that took.
fn closed_after(s: &mut TcpStream, limit: Duration) -> Duration {
    s.set_read_timeout(Some(limit)).unwrap();
    let t = Instant::now();
    let mut buf = [0u8; 1024];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return t.elapsed(),
            Ok(_) => {}
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                return t.elapsed()
            }
            // A reset is a close too.
            Err(_) => return t.elapsed(),
        }
    }
}

/// The first half of a real ClientHello (as rustls sends it to 127.0.0.1).
fn half_a_client_hello(root: &Path) -> Vec<u8> {
    let name = ServerName::IpAddress(std::net::Ipv4Addr::LOCALHOST.into());
    let mut conn = ClientConnection::new(client(root), name).unwrap();
    let mut hello = Vec::new();
    conn.write_tls(&mut hello).unwrap();
    assert!(hello.len() > 100 && hello[0] == 0x16, "{hello:?}");
    hello.truncate(hello.len() / 2);
    hello
}

#[test]
fn healthz_answers_over_https_and_plain_http_gets_no_http_answer() {
    if !have_openssl("healthz_answers_over_https_and_plain_http_gets_no_http_answer") {
        return;
    }
    let d = Daemon::with_flags();
    assert_eq!(
        https(&d, "GET", "/healthz", &[], b""),
        Ok((200, "ok\n".into()))
    );
    let (code, body) = https(&d, "GET", "/status", &[], b"").unwrap();
    assert_eq!(code, 200);
    assert!(body.contains("\"ready\""), "{body}");
    // A client that does not trust this certificate does not get through.
    let (other, _) = certificate(d.tmp.path(), "other", "ec");
    let e = https_with(d.port, &other, "GET", "/healthz", &[], b"").unwrap_err();
    assert!(e.contains("certificate"), "{e}");
    // Plain HTTP on the TLS port: no HTTP answer (a TLS alert at most), then the close.
    let mut plain = TcpStream::connect(("127.0.0.1", d.port)).unwrap();
    plain
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        .unwrap();
    plain
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut answer = Vec::new();
    let _ = plain.read_to_end(&mut answer);
    assert!(
        !answer.starts_with(b"HTTP/"),
        "plain HTTP was answered: {:?}",
        String::from_utf8_lossy(&answer)
    );
    assert!(support::http(d.port, "GET", "/healthz", &[], b"").is_none());
    assert_eq!(https(&d, "GET", "/healthz", &[], b"").map(|r| r.0), Ok(200));
}

#[test]
fn clients_that_never_finish_a_client_hello_are_closed_after_the_header_timeout() {
    if !have_openssl("clients_that_never_finish_a_client_hello_are_closed_after_the_header_timeout")
    {
        return;
    }
    let d = Daemon::with_flags();
    let mut silent = TcpStream::connect(("127.0.0.1", d.port)).unwrap();
    let mut half = TcpStream::connect(("127.0.0.1", d.port)).unwrap();
    half.write_all(&half_a_client_hello(&d.root)).unwrap();
    std::thread::sleep(Duration::from_millis(200));
    // Beside them, HTTPS answers at once.
    let t = Instant::now();
    assert_eq!(https(&d, "GET", "/healthz", &[], b"").map(|r| r.0), Ok(200));
    assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
    // Both are closed by the server after the header-read timeout (5 s), not held open.
    for (what, s) in [("silent", &mut silent), ("half a ClientHello", &mut half)] {
        let waited = closed_after(s, Duration::from_secs(20));
        assert!(
            waited < Duration::from_secs(15),
            "a {what} client stayed open for {waited:?}"
        );
    }
    assert_eq!(https(&d, "GET", "/healthz", &[], b"").map(|r| r.0), Ok(200));
}

#[test]
fn silent_tls_clients_hold_connection_slots_only_until_the_header_timeout() {
    if !have_openssl("silent_tls_clients_hold_connection_slots_only_until_the_header_timeout") {
        return;
    }
    // 64 descriptors: the daemon caps its connections at 32 (half), and these 80 silent
    // clients fill every slot. /healthz waits in the backlog until the silent ones are
    // dropped, then answers; without the handshake timeout it never would.
    let d = Daemon::start(
        |_, cert, key| {
            vec![
                "--tls-cert".into(),
                cert.display().to_string(),
                "--tls-key".into(),
                key.display().to_string(),
            ]
        },
        Some("ulimit -n 64"),
    );
    let silent: Vec<TcpStream> = (0..80)
        .map(|_| TcpStream::connect(("127.0.0.1", d.port)).unwrap())
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    let t = Instant::now();
    let r = https(&d, "GET", "/healthz", &[], b"");
    assert_eq!(r.map(|r| r.0), Ok(200), "after {:?}", t.elapsed());
    assert!(
        t.elapsed() < Duration::from_secs(20),
        "/healthz took {:?}",
        t.elapsed()
    );
    drop(silent);
    assert_eq!(https(&d, "GET", "/healthz", &[], b"").map(|r| r.0), Ok(200));
}

#[test]
fn webhook_over_tls_needs_its_signature() {
    if !have_openssl("webhook_over_tls_needs_its_signature") {
        return;
    }
    // The `controller.tls` form, with paths relative to the configuration file.
    let d = Daemon::start(
        |base, cert, key| {
            let config = base.join("zonekeeper-run.yaml");
            std::fs::write(
                &config,
                format!(
                    "controller:\n  tls:\n    cert: {}\n    key: {}\n",
                    cert.file_name().unwrap().to_str().unwrap(),
                    key.file_name().unwrap().to_str().unwrap()
                ),
            )
            .unwrap();
            vec!["--config".into(), config.display().to_string()]
        },
        None,
    );
    let body = br#"{"ref":"refs/heads/main"}"#;
    assert_eq!(
        https(&d, "POST", "/hooks/git", &[], body).map(|r| r.0),
        Ok(401)
    );
    let sig = zonekeeper::http::webhook::sign(WEBHOOK_SECRET.as_bytes(), body);
    assert_eq!(
        https(
            &d,
            "POST",
            "/hooks/git",
            &[("X-Hub-Signature-256", &sig)],
            body
        )
        .map(|r| r.0),
        Ok(202)
    );
}

/// `zonekeeper run` with `args` that should refuse to start: its output.
fn refused(tmp: &Path, args: &[&str]) -> Output {
    let dir = tmp.join("empty");
    std::fs::create_dir_all(&dir).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_zonekeeper"))
        .arg("run")
        .arg("--dir")
        .arg(&dir)
        .arg("--state-dir")
        .arg(tmp.join("state"))
        .args(["--listen", &format!("127.0.0.1:{}", support::free_port())])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let t = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if t.elapsed() > Duration::from_secs(20) {
            let _ = child.kill();
            panic!("zonekeeper run {args:?} started instead of refusing");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().unwrap()
}

#[test]
fn a_key_that_cannot_serve_refuses_the_start_naming_the_file() {
    if !have_openssl("a_key_that_cannot_serve_refuses_the_start_naming_the_file") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let (cert, key) = certificate(tmp.path(), "server", "ec");
    let (_, other_key) = certificate(tmp.path(), "other", "ec");
    let not_pem = tmp.path().join("not-pem.key");
    std::fs::write(&not_pem, "this is not a key\n").unwrap();
    let missing = tmp.path().join("missing.key");
    let cert_s = cert.to_str().unwrap();
    // What the key files hold must never appear in an error.
    let secret_lines: Vec<String> = [&key, &other_key]
        .iter()
        .flat_map(|k| {
            std::fs::read_to_string(k)
                .unwrap()
                .lines()
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .filter(|l| !l.starts_with("-----"))
        .collect();
    for (key_file, says) in [
        (&other_key, "does not belong to the certificate"),
        (&not_pem, "holds no PEM private key"),
        (&missing, "cannot read the TLS private key"),
        // The certificate given as the key: PEM, but not a key.
        (&cert, "holds no PEM private key"),
    ] {
        let out = refused(
            tmp.path(),
            &[
                "--tls-cert",
                cert_s,
                "--tls-key",
                key_file.to_str().unwrap(),
            ],
        );
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{err}");
        assert!(err.contains(&key_file.display().to_string()), "{err}");
        assert!(err.contains(says), "{err}");
        for l in &secret_lines {
            assert!(!err.contains(l.as_str()), "key material in: {err}");
        }
    }
    // The key given as the certificate.
    let out = refused(
        tmp.path(),
        &[
            "--tls-cert",
            key.to_str().unwrap(),
            "--tls-key",
            key.to_str().unwrap(),
        ],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!(
            "the TLS certificate {} holds no PEM certificate",
            key.display()
        )),
        "{err}"
    );
    // One flag without the other is a usage error.
    let out = refused(tmp.path(), &["--tls-cert", cert_s]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("--tls-key"), "{err}");
}

#[test]
fn pkcs8_rsa_and_ec_keys_load_and_mismatches_are_named() {
    if !have_openssl("pkcs8_rsa_and_ec_keys_load_and_mismatches_are_named") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let mut made = Vec::new();
    for kind in ["ec", "ec-sec1", "rsa-pkcs1"] {
        let (cert, key) = certificate(tmp.path(), kind, kind);
        ServerTls::load(&cert, &key).unwrap_or_else(|e| panic!("{kind}: {e}"));
        made.push((cert, key));
    }
    // A chain: the server's certificate first, then another; loads.
    let chain = tmp.path().join("chain.crt");
    let mut text = std::fs::read_to_string(&made[0].0).unwrap();
    text.push_str(&std::fs::read_to_string(&made[2].0).unwrap());
    std::fs::write(&chain, text).unwrap();
    ServerTls::load(&chain, &made[0].1).unwrap();
    // RSA key with the EC certificate.
    match ServerTls::load(&made[0].0, &made[2].1) {
        Err(TlsError::Mismatch { cert, key }) => {
            assert_eq!((cert, key), (made[0].0.clone(), made[2].1.clone()));
        }
        other => panic!("{other:?}"),
    }
    // A truncated key: not PEM.
    let cut = tmp.path().join("cut.key");
    let full = std::fs::read_to_string(&made[2].1).unwrap();
    std::fs::write(&cut, &full[..full.len() / 2]).unwrap();
    let e = ServerTls::load(&made[2].0, &cut).unwrap_err();
    assert!(matches!(e, TlsError::BadPem { .. }), "{e:?}");
    assert!(e.to_string().contains("cut.key"), "{e}");
    // A device named by mistake is not read without end.
    let e = ServerTls::load(&made[0].0, Path::new("/dev/zero")).unwrap_err();
    assert!(matches!(e, TlsError::TooLarge { .. }), "{e:?}");
}
