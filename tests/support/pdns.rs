//! A real PowerDNS Authoritative server for one test: gsqlite3 backend in a temp directory,
//! API and DNS on unprivileged loopback ports, killed when dropped. No systemd, no
//! /etc/powerdns: everything lives in the temp directory.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use zonekeeper::provider::powerdns::{PowerdnsProvider, PowerdnsSettings};
use zonekeeper::provider::BuildContext;
use zonekeeper::secret::SecretPolicy;

const SCHEMA: &str = "/usr/share/pdns-backend-sqlite3/schema/schema.sqlite3.sql";

pub struct Pdns {
    pub api_port: u16,
    pub dns_port: u16,
    pub api_key: String,
    pub dir: tempfile::TempDir,
    child: Child,
}

impl Pdns {
    /// Starts a server, or returns `None` after printing a skip when PowerDNS is not
    /// installed (panics instead when servers are required).
    pub fn start(test: &str) -> Option<Pdns> {
        Pdns::start_with(test, &[])
    }

    /// As [`Pdns::start`], with extra `pdns.conf` lines.
    pub fn start_with(test: &str, extra: &[&str]) -> Option<Pdns> {
        let Some(bin) = super::find_binary("pdns_server") else {
            super::missing("PowerDNS (pdns_server)", test);
            return None;
        };
        if !Path::new(SCHEMA).is_file() {
            super::missing("the PowerDNS sqlite3 backend (pdns-backend-sqlite3)", test);
            return None;
        }
        // A port picked free can be taken before pdns binds it: try a few times.
        let mut last = String::new();
        for _ in 0..3 {
            match Pdns::try_start(&bin, extra) {
                Ok(p) => return Some(p),
                Err(e) => last = e,
            }
        }
        panic!("PowerDNS did not start:\n{last}");
    }

    fn try_start(bin: &Path, extra: &[&str]) -> Result<Pdns, String> {
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let d = dir.path();
        std::fs::create_dir_all(d.join("conf")).map_err(|e| e.to_string())?;
        std::fs::create_dir_all(d.join("run")).map_err(|e| e.to_string())?;
        let db = d.join("pdns.sqlite3");
        let schema = std::fs::read_to_string(SCHEMA).map_err(|e| e.to_string())?;
        let out = Command::new("sqlite3")
            .arg(&db)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .and_then(|mut c| {
                c.stdin
                    .take()
                    .map(|mut s| s.write_all(schema.as_bytes()))
                    .transpose()?;
                c.wait_with_output()
            })
            .map_err(|e| format!("sqlite3: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "sqlite3 schema load failed: {}",
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        let api_port = super::free_port();
        let mut dns_port = super::free_port();
        while dns_port == api_port {
            dns_port = super::free_port();
        }
        let api_key = format!(
            "test-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|t| t.as_nanos())
                .unwrap_or(0)
        );
        let mut conf = format!(
            "launch=gsqlite3\n\
             gsqlite3-database={db}\n\
             gsqlite3-dnssec=yes\n\
             local-address=127.0.0.1\n\
             local-port={dns_port}\n\
             api=yes\n\
             api-key={api_key}\n\
             webserver=yes\n\
             webserver-address=127.0.0.1\n\
             webserver-port={api_port}\n\
             webserver-allow-from=127.0.0.1,::1\n\
             daemon=no\n\
             guardian=no\n\
             disable-syslog=yes\n\
             socket-dir={run}\n\
             security-poll-suffix=\n\
             default-soa-content=ns1.@ hostmaster.@ 0 10800 3600 604800 3600\n\
             loglevel=4\n",
            db = db.display(),
            run = d.join("run").display(),
        );
        for line in extra {
            conf.push_str(line);
            conf.push('\n');
        }
        std::fs::write(d.join("conf/pdns.conf"), conf).map_err(|e| e.to_string())?;
        let log = std::fs::File::create(d.join("pdns.log")).map_err(|e| e.to_string())?;
        let log2 = log.try_clone().map_err(|e| e.to_string())?;
        let child = Command::new(bin)
            .arg(format!("--config-dir={}", d.join("conf").display()))
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log2)
            .spawn()
            .map_err(|e| format!("spawning pdns_server: {e}"))?;
        let mut p = Pdns {
            api_port,
            dns_port,
            api_key,
            dir,
            child,
        };
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = p.child.try_wait() {
                return Err(format!("pdns_server exited ({status}):\n{}", p.log_tail()));
            }
            if p.ready() {
                return Ok(p);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Err(format!(
            "pdns_server not ready after 15 s:\n{}",
            p.log_tail()
        ))
    }

    /// The API answers an authenticated request with 200.
    fn ready(&self) -> bool {
        let req = format!(
            "GET /api/v1/servers/localhost HTTP/1.0\r\nHost: 127.0.0.1\r\nX-API-Key: {}\r\n\r\n",
            self.api_key
        );
        let Ok(mut s) = TcpStream::connect(("127.0.0.1", self.api_port)) else {
            return false;
        };
        let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
        if s.write_all(req.as_bytes()).is_err() {
            return false;
        }
        let mut buf = String::new();
        let _ = s.read_to_string(&mut buf);
        buf.starts_with("HTTP/1.1 200") || buf.starts_with("HTTP/1.0 200")
    }

    pub fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(self.dir.path().join("pdns.log")).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }

    pub fn api_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.api_port)
    }

    /// Writes the API key to a file and returns provider settings that point at it.
    pub fn settings(&self, create_zones: bool) -> PowerdnsSettings {
        let key_file: PathBuf = self.dir.path().join("api-key");
        std::fs::write(&key_file, format!("{}\n", self.api_key)).expect("write key file");
        serde_json::from_value(serde_json::json!({
            "url": self.api_url(),
            "api_key": format!("file:{}", key_file.display()),
            "create_zones": create_zones,
        }))
        .expect("powerdns settings")
    }

    /// A provider built the way the configuration builds it (secret resolved from a file).
    pub fn provider(&self, name: &str, settings: PowerdnsSettings) -> PowerdnsProvider {
        let ctx = BuildContext::new(SecretPolicy::default());
        self.provider_with(name, settings, &ctx)
    }

    /// As [`Pdns::provider`], with a given build context (retry policy, observer).
    pub fn provider_with(
        &self,
        name: &str,
        settings: PowerdnsSettings,
        ctx: &BuildContext,
    ) -> PowerdnsProvider {
        settings.validate().expect("valid settings");
        let key = settings.api_key.resolve().expect("api key file");
        PowerdnsProvider::new(name, settings, key, ctx)
    }
}

impl Drop for Pdns {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
