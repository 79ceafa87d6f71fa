//! A misbehaving API in front of a real one: a small HTTP/1.1 proxy on loopback that answers
//! some requests itself with 429 (`Retry-After`) or 503, drops some writes without
//! forwarding them (the connection is closed with no answer, as a lost reply looks to the
//! client), and forwards everything else unchanged. The pattern is by request count, so a
//! run is repeatable: with [`Faults::issue9`] every 3rd request gets 429 `Retry-After: 1`,
//! every 5th 503, and every 7th write (any method but GET and HEAD) is dropped.
//!
//! Plain threads and blocking sockets: usable from sync and async tests alike. One request
//! per connection (`Connection: close` both ways), bodies by `Content-Length`.

use std::io::{BufRead, BufReader, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Rewrites a request body.
pub type Rewrite = fn(&[u8]) -> Vec<u8>;

/// Which requests get a fault; a period of 0 means never. A request that matches several
/// gets the first of: drop (writes only), 429, 503.
#[derive(Clone, Copy, Debug)]
pub struct Faults {
    /// Every n-th request (all methods) is answered 429 with `Retry-After`.
    pub rate_limit_every: u64,
    /// The `Retry-After` of those 429s, in seconds.
    pub retry_after_secs: u64,
    /// Every n-th request (all methods) is answered 503.
    pub unavailable_every: u64,
    /// Every n-th write (not GET/HEAD) is read, not forwarded, and not answered.
    pub drop_write_every: u64,
    /// Rewrites the body of every forwarded write (a server that loses part of a change
    /// and answers success all the same).
    pub rewrite_write: Option<Rewrite>,
    /// A write that arrives while another is being forwarded is answered as PowerDNS on
    /// sqlite answers it under load: 500 `{"error": "database is locked"}`.
    pub lock_concurrent_writes: bool,
    /// Each forwarded write is held this long before it goes upstream (makes writes overlap).
    pub write_delay: Duration,
}

impl Faults {
    /// No faults: the proxy only counts and forwards.
    pub const NONE: Faults = Faults {
        rate_limit_every: 0,
        retry_after_secs: 0,
        unavailable_every: 0,
        drop_write_every: 0,
        rewrite_write: None,
        lock_concurrent_writes: false,
        write_delay: Duration::ZERO,
    };

    /// The pattern of issue 9: 429 (`Retry-After: 1`) every 3rd request, 503 every 5th,
    /// every 7th write dropped.
    pub fn issue9() -> Faults {
        Faults {
            rate_limit_every: 3,
            retry_after_secs: 1,
            unavailable_every: 5,
            drop_write_every: 7,
            ..Faults::NONE
        }
    }
}

/// What the proxy has done so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// Requests read in full (faulted or not).
    pub requests: u64,
    /// Of which writes.
    pub writes: u64,
    /// Forwarded to the upstream and its answer passed back.
    pub forwarded: u64,
    /// Answered 429.
    pub rate_limited: u64,
    /// Answered 503.
    pub unavailable: u64,
    /// Writes dropped unanswered.
    pub dropped: u64,
    /// Writes answered "database is locked" (another write was in flight).
    pub locked: u64,
    /// The most writes ever forwarded at once.
    pub max_writes_in_flight: u64,
}

impl Counts {
    /// Faults injected: each should cost the client exactly one retry.
    pub fn faults(&self) -> u64 {
        self.rate_limited + self.unavailable + self.dropped + self.locked
    }
}

/// The fate the pattern gives one request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fate {
    Forward,
    RateLimit,
    Unavailable,
    Drop,
    Locked,
}

struct Shared {
    upstream: SocketAddr,
    faults: Faults,
    counts: Mutex<Counts>,
    /// Writes being forwarded now.
    writes_in_flight: Mutex<u64>,
    /// (method, path, fate) of every request, in order.
    log: Mutex<Vec<(String, String, Fate)>>,
    stop: AtomicBool,
}

/// A running proxy; stopped when dropped.
pub struct FaultProxy {
    pub port: u16,
    shared: Arc<Shared>,
    accept: Option<std::thread::JoinHandle<()>>,
}

impl FaultProxy {
    /// Starts a proxy on a free loopback port in front of `upstream` (`127.0.0.1:8081`).
    pub fn start(upstream: SocketAddr, faults: Faults) -> FaultProxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the proxy on loopback");
        let port = listener.local_addr().expect("proxy address").port();
        let shared = Arc::new(Shared {
            upstream,
            faults,
            counts: Mutex::default(),
            writes_in_flight: Mutex::default(),
            log: Mutex::default(),
            stop: AtomicBool::new(false),
        });
        let s = shared.clone();
        let accept = std::thread::spawn(move || {
            for conn in listener.incoming() {
                if s.stop.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(conn) = conn else { continue };
                let s = s.clone();
                std::thread::spawn(move || {
                    let _ = handle(conn, &s);
                });
            }
        });
        FaultProxy {
            port,
            shared,
            accept: Some(accept),
        }
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// A snapshot of the counts.
    pub fn counts(&self) -> Counts {
        *self.shared.counts.lock().expect("counts lock")
    }

    /// Every request seen so far: method, path and what was done with it.
    pub fn log(&self) -> Vec<(String, String, Fate)> {
        self.shared.log.lock().expect("log lock").clone()
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        // Wakes the accept loop so it sees the flag.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(t) = self.accept.take() {
            let _ = t.join();
        }
    }
}

/// Decides a request's fate from the running counts (and counts it).
fn fate(shared: &Shared, is_write: bool) -> Fate {
    let f = shared.faults;
    let mut c = shared.counts.lock().expect("counts lock");
    c.requests += 1;
    if is_write {
        c.writes += 1;
    }
    let every = |period: u64, n: u64| period > 0 && n.is_multiple_of(period);
    // Held to the end, so the check and the count of a forwarded write are one step.
    let mut in_flight = shared.writes_in_flight.lock().expect("in-flight lock");
    if is_write && f.lock_concurrent_writes && *in_flight > 0 {
        c.locked += 1;
        return Fate::Locked;
    }
    if is_write && every(f.drop_write_every, c.writes) {
        c.dropped += 1;
        Fate::Drop
    } else if every(f.rate_limit_every, c.requests) {
        c.rate_limited += 1;
        Fate::RateLimit
    } else if every(f.unavailable_every, c.requests) {
        c.unavailable += 1;
        Fate::Unavailable
    } else {
        c.forwarded += 1;
        if is_write {
            *in_flight += 1;
            c.max_writes_in_flight = c.max_writes_in_flight.max(*in_flight);
        }
        Fate::Forward
    }
}

/// An HTTP/1.1 message head and body read from a stream.
struct Message {
    /// The start line, without CRLF.
    start: String,
    /// Header lines (name, value), in order.
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Message {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The head again, with `Connection: close` instead of whatever was asked.
    fn head_closing(&self) -> Vec<u8> {
        let mut out = format!("{}\r\n", self.start);
        for (n, v) in &self.headers {
            if !n.eq_ignore_ascii_case("connection") && !n.eq_ignore_ascii_case("keep-alive") {
                out.push_str(&format!("{n}: {v}\r\n"));
            }
        }
        out.push_str("Connection: close\r\n\r\n");
        out.into_bytes()
    }
}

/// Reads one message; a body by `Content-Length`, else (a response) until the peer closes.
fn read_message(r: &mut impl BufRead, request: bool) -> std::io::Result<Message> {
    let mut line = String::new();
    r.read_line(&mut line)?;
    if line.is_empty() {
        return Err(std::io::ErrorKind::UnexpectedEof.into());
    }
    let start = line.trim_end().to_string();
    let mut headers = Vec::new();
    loop {
        line.clear();
        r.read_line(&mut line)?;
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        if let Some((n, v)) = l.split_once(':') {
            headers.push((n.trim().to_string(), v.trim().to_string()));
        }
    }
    let mut m = Message {
        start,
        headers,
        body: Vec::new(),
    };
    match m.header("content-length").map(str::parse::<usize>) {
        Some(Ok(n)) => {
            m.body.resize(n, 0);
            r.read_exact(&mut m.body)?;
        }
        Some(Err(_)) => return Err(std::io::ErrorKind::InvalidData.into()),
        // A request without a length has no body; a response runs to the close (the
        // upstream was asked to close; chunked bodies pass through as they are).
        None if !request => {
            r.read_to_end(&mut m.body)?;
        }
        None => {}
    }
    Ok(m)
}

fn handle(client: TcpStream, shared: &Shared) -> std::io::Result<()> {
    client.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut reader = BufReader::new(client.try_clone()?);
    let req = read_message(&mut reader, true)?;
    let mut parts = req.start.split_whitespace();
    let method = parts.next().unwrap_or_default().to_string();
    let path = parts.next().unwrap_or_default().to_string();
    let is_write = method != "GET" && method != "HEAD";
    let fate = fate(shared, is_write);
    shared
        .log
        .lock()
        .expect("log lock")
        .push((method, path, fate));
    let mut client = client;
    let canned = |status: &str, extra: String| {
        let body = "injected fault\n";
        format!(
            "HTTP/1.1 {status}\r\n{extra}Content-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
    };
    match fate {
        Fate::Drop => {
            // Read, never forwarded, never answered: the client sees the connection close.
            client.shutdown(Shutdown::Both)?;
        }
        Fate::RateLimit => {
            let retry = format!("Retry-After: {}\r\n", shared.faults.retry_after_secs);
            client.write_all(canned("429 Too Many Requests", retry).as_bytes())?;
        }
        Fate::Unavailable => {
            client.write_all(canned("503 Service Unavailable", String::new()).as_bytes())?;
        }
        Fate::Locked => {
            let body = r#"{"error": "database is locked"}"#;
            client.write_all(format!(
                "HTTP/1.1 500 Internal Server Error\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            ).as_bytes())?;
        }
        Fate::Forward => {
            let mut req = req;
            if is_write {
                std::thread::sleep(shared.faults.write_delay);
                if let Some(rewrite) = shared.faults.rewrite_write {
                    req.body = rewrite(&req.body);
                    for (n, v) in &mut req.headers {
                        if n.eq_ignore_ascii_case("content-length") {
                            *v = req.body.len().to_string();
                        }
                    }
                }
            }
            let forwarded = (|| {
                let mut up = TcpStream::connect(shared.upstream)?;
                up.set_read_timeout(Some(Duration::from_secs(120)))?;
                up.write_all(&req.head_closing())?;
                up.write_all(&req.body)?;
                read_message(&mut BufReader::new(up), false)
            })();
            if is_write {
                *shared.writes_in_flight.lock().expect("in-flight lock") -= 1;
            }
            let resp = forwarded?;
            client.write_all(&resp.head_closing())?;
            client.write_all(&resp.body)?;
        }
    }
    client.flush()
}
