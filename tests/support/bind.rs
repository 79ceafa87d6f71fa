//! A throw-away BIND 9 (`named`) on 127.0.0.1 for tests: free port, temp directory, a TSIG
//! key from `tsig-keygen`, primary zones that take UPDATE and AXFR with that key. Stopped
//! (by its PID) when dropped.
//!
//! When `named` is not installed, [`Bind::start`] prints a skip and returns `None`, unless
//! `ZONEKEEPER_REQUIRE_SERVERS=1`, in which case it panics: CI must not skip silently.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use super::{find_binary as which, free_port, missing};

/// The TSIG key name every test server trusts.
pub const KEY_NAME: &str = "zonekeeper-test";

/// A zone to declare in `named.conf`.
#[derive(Clone, Debug)]
pub struct BindZone {
    pub name: String,
    /// Keep BIND's default `check-names` / `check-integrity` (refuse offending updates);
    /// otherwise both are relaxed (`check-names ignore; check-integrity no;`).
    pub strict: bool,
    /// Apex NS of the initial zone file (out of zone, so no glue is needed).
    pub ns: Vec<String>,
}

impl BindZone {
    /// A relaxed zone with apex NS `ns1.example.net.` and `ns2.example.net.`.
    pub fn relaxed(name: &str) -> BindZone {
        BindZone {
            name: name.trim_end_matches('.').to_string(),
            strict: false,
            ns: vec!["ns1.example.net.".into(), "ns2.example.net.".into()],
        }
    }

    /// A zone with BIND's default strictness.
    pub fn strict(name: &str) -> BindZone {
        BindZone {
            strict: true,
            ..BindZone::relaxed(name)
        }
    }
}

/// A running `named`.
pub struct Bind {
    pub port: u16,
    pub dir: tempfile::TempDir,
    /// `named.conf`-style key file (for `dig -k` and `nsupdate -k`).
    pub key_file: PathBuf,
    /// The key's base64 secret (tests only).
    pub secret: String,
    child: Child,
}

impl Bind {
    /// Starts `named` with `zones`; `None` (after printing why) when BIND is not installed.
    pub fn start(test: &str, zones: &[BindZone]) -> Option<Bind> {
        let absent: Vec<&str> = ["named", "tsig-keygen", "dig"]
            .into_iter()
            .filter(|p| which(p).is_none())
            .collect();
        if !absent.is_empty() {
            missing(
                &format!(
                    "{} (Debian: apt-get install bind9 bind9-utils bind9-dnsutils)",
                    absent.join(", ")
                ),
                test,
            );
            return None;
        }
        // A port can be taken between choosing and binding it: try a few.
        let mut last = String::new();
        for _ in 0..3 {
            match Bind::try_start(zones) {
                Ok(b) => return Some(b),
                Err(e) => last = e,
            }
        }
        panic!("{test}: named did not start: {last}");
    }

    fn try_start(zones: &[BindZone]) -> Result<Bind, String> {
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let d = dir.path();
        let keygen = Command::new(which("tsig-keygen").ok_or("no tsig-keygen")?)
            .args(["-a", "hmac-sha256", KEY_NAME])
            .output()
            .map_err(|e| e.to_string())?;
        let key_text = String::from_utf8_lossy(&keygen.stdout).into_owned();
        let secret = key_text
            .split("secret \"")
            .nth(1)
            .and_then(|s| s.split('"').next())
            .ok_or("tsig-keygen printed no secret")?
            .to_string();
        let key_file = d.join("tsig.key");
        std::fs::write(&key_file, &key_text).map_err(|e| e.to_string())?;
        let port = free_port();
        let mut conf = format!(
            "include \"{key}\";\n\
             options {{\n  directory \"{dir}\";\n  pid-file \"{dir}/named.pid\";\n  \
             session-keyfile \"{dir}/session.key\";\n  managed-keys-directory \"{dir}\";\n  \
             listen-on port {port} {{ 127.0.0.1; }};\n  listen-on-v6 {{ none; }};\n  \
             recursion no;\n  notify no;\n  dnssec-validation no;\n}};\n\
             controls {{ }};\n",
            key = key_file.display(),
            dir = d.display(),
        );
        for z in zones {
            let file = d.join(format!("{}.zone", z.name));
            let mut text = format!(
                "$TTL 3600\n@ IN SOA ns1.example.net. hostmaster.{0}. 1 3600 600 604800 300\n",
                z.name
            );
            for ns in &z.ns {
                text.push_str(&format!("@ IN NS {ns}\n"));
            }
            std::fs::write(&file, text).map_err(|e| e.to_string())?;
            let relax = if z.strict {
                ""
            } else {
                " check-names ignore; check-integrity no;"
            };
            conf.push_str(&format!(
                "zone \"{}\" {{ type primary; file \"{}\"; allow-update {{ key {KEY_NAME}; }}; \
                 allow-transfer {{ key {KEY_NAME}; }};{relax} }};\n",
                z.name,
                file.display()
            ));
        }
        let conf_path = d.join("named.conf");
        std::fs::write(&conf_path, conf).map_err(|e| e.to_string())?;
        if let Some(check) = which("named-checkconf") {
            let out = Command::new(check)
                .arg(&conf_path)
                .output()
                .map_err(|e| e.to_string())?;
            if !out.status.success() {
                return Err(format!(
                    "named-checkconf: {}",
                    String::from_utf8_lossy(&out.stdout)
                ));
            }
        }
        let log = std::fs::File::create(d.join("named.log")).map_err(|e| e.to_string())?;
        let child = Command::new(which("named").ok_or("no named")?)
            .args(["-g", "-n", "2", "-c"])
            .arg(&conf_path)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .map_err(|e| e.to_string())?;
        let mut bind = Bind {
            port,
            dir,
            key_file,
            secret,
            child,
        };
        let first = zones.first().map(|z| z.name.clone()).unwrap_or(".".into());
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = bind.child.try_wait() {
                return Err(format!("named exited ({status}): {}", bind.log()));
            }
            let out = bind.dig(&[&first, "SOA", "+time=1", "+tries=1"]);
            if String::from_utf8_lossy(&out.stdout).contains("status: NOERROR") {
                return Ok(bind);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Err(format!("named not answering after 15 s: {}", bind.log()))
    }

    /// `server` setting for the provider.
    pub fn server(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// named's log so far (for failure messages).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("named.log")).unwrap_or_default()
    }

    /// Runs `dig @127.0.0.1 -p PORT <args>`.
    pub fn dig(&self, args: &[&str]) -> Output {
        Command::new(which("dig").expect("dig"))
            .arg("@127.0.0.1")
            .args(["-p", &self.port.to_string()])
            .args(args)
            .output()
            .expect("run dig")
    }

    /// `dig -k <key> AXFR <zone>`: the zone as BIND serves it, in master-file form.
    pub fn axfr_text(&self, zone: &str) -> String {
        let key = self.key_file.display().to_string();
        let out = self.dig(&["-k", &key, zone, "AXFR", "+nocomments", "+nostats"]);
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success() && !text.contains("failed") && !text.contains("failure"),
            "dig AXFR {zone} failed: {text}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        // dig prints the TSIG pseudo-record of each message; it is not zone data.
        text.lines()
            .filter(|l| l.split_whitespace().nth(3) != Some("TSIG"))
            .map(|l| format!("{l}\n"))
            .collect()
    }

    /// Sends an `nsupdate -k` script (the `server` and `send` lines are added).
    pub fn nsupdate(&self, script: &str) -> Output {
        use std::io::Write;
        let mut child = Command::new(which("nsupdate").expect("nsupdate"))
            .arg("-k")
            .arg(&self.key_file)
            .arg("-v")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run nsupdate");
        let mut stdin = child.stdin.take().expect("stdin");
        let _ = writeln!(stdin, "server 127.0.0.1 {}", self.port);
        let _ = stdin.write_all(script.as_bytes());
        let _ = writeln!(stdin, "\nsend");
        drop(stdin);
        child.wait_with_output().expect("nsupdate output")
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Bind {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
