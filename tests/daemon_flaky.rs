//! The daemon against a provider that misbehaves for a while: a real PowerDNS behind a
//! loopback proxy that answers 429 with `Retry-After` and then 500s before it lets requests
//! through. The daemon must retry, honour Retry-After, count it in its metrics, never exit,
//! and converge.

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};

/// What the proxy saw: (time, method, path, status it answered).
type Log = Arc<Mutex<Vec<(Instant, Method, String, u16)>>>;

#[derive(Clone)]
struct Proxy {
    upstream: String,
    client: reqwest::Client,
    /// Answers for the first write requests, in order (then everything passes).
    faults: Arc<Mutex<Vec<u16>>>,
    log: Log,
}

async fn forward(
    State(p): State<Proxy>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri
        .path_and_query()
        .map(|x| x.to_string())
        .unwrap_or_default();
    let fault = if method == Method::PATCH || method == Method::POST {
        let mut f = p.faults.lock().unwrap();
        if f.is_empty() {
            None
        } else {
            Some(f.remove(0))
        }
    } else {
        None
    };
    if let Some(code) = fault {
        p.log
            .lock()
            .unwrap()
            .push((Instant::now(), method, path, code));
        let mut r = (StatusCode::from_u16(code).unwrap(), "injected fault\n").into_response();
        if code == 429 {
            r.headers_mut().insert("retry-after", "2".parse().unwrap());
        }
        return r;
    }
    let mut req = p
        .client
        .request(method.clone(), format!("{}{}", p.upstream, path))
        .body(body.to_vec());
    for (k, v) in &headers {
        if k != "host" && k != "content-length" {
            req = req.header(k, v);
        }
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let bytes = resp.bytes().await.unwrap_or_default();
    p.log
        .lock()
        .unwrap()
        .push((Instant::now(), method, path, status));
    (StatusCode::from_u16(status).unwrap(), bytes).into_response()
}

fn get(port: u16, path: &str) -> Option<(u16, String)> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    s.write_all(format!("GET {path} HTTP/1.0\r\nHost: x\r\n\r\n").as_bytes())
        .ok()?;
    let mut r = String::new();
    s.read_to_string(&mut r).ok()?;
    Some((
        r.split(' ').nth(1)?.parse().ok()?,
        r.split_once("\r\n\r\n")?.1.to_string(),
    ))
}

/// Sum of the samples of `name` whose labels include every one of `labels`.
fn metric(port: u16, name: &str, labels: &[&str]) -> f64 {
    get(port, "/metrics")
        .map(|(_, b)| {
            b.lines()
                .filter(|l| {
                    l.starts_with(&format!("{name}{{")) || l.starts_with(&format!("{name} "))
                })
                .filter(|l| labels.iter().all(|lab| l.contains(lab)))
                .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
                .sum()
        })
        .unwrap_or(0.0)
}

#[test]
fn retries_honour_retry_after_and_converge() {
    let Some(pdns) = support::pdns::Pdns::start("retries_honour_retry_after_and_converge") else {
        return;
    };
    let rt = tokio::runtime::Runtime::new().unwrap();
    let log: Log = Arc::default();
    let proxy = Proxy {
        upstream: pdns.api_url(),
        client: reqwest::Client::new(),
        faults: Arc::new(Mutex::new(vec![429, 500, 503])),
        log: log.clone(),
    };
    let proxy_port = support::free_port();
    let listener = rt
        .block_on(tokio::net::TcpListener::bind(("127.0.0.1", proxy_port)))
        .unwrap();
    rt.spawn(async move {
        let app = axum::Router::new().fallback(forward).with_state(proxy);
        axum::serve(listener, app).await.unwrap();
    });

    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    std::fs::create_dir_all(repo.join("zones")).unwrap();
    let key = tmp.path().join("api-key");
    std::fs::write(&key, &pdns.api_key).unwrap();
    std::fs::write(
        repo.join("zonekeeper.yaml"),
        format!(
            "providers:\n  pdns:\n    type: powerdns\n    url: http://127.0.0.1:{proxy_port}\n    api_key: file:{}\n    create_zones: true\nzones:\n  flaky.test.:\n    targets: [pdns]\n",
            key.display()
        ),
    )
    .unwrap();
    std::fs::write(
        repo.join("zones/flaky.test.yaml"),
        "'':\n  - type: NS\n    values: [ns1.flaky.test., ns2.flaky.test.]\n  - type: A\n    value: 192.0.2.1\nns1:\n  type: A\n  value: 192.0.2.53\nns2:\n  type: A\n  value: 192.0.2.54\nwww:\n  type: A\n  value: 192.0.2.80\n",
    )
    .unwrap();
    let port = support::free_port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_zonekeeper"))
        .args(["run", "--dir"])
        .arg(&repo)
        .arg("--state-dir")
        .arg(tmp.path().join("state"))
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(tmp.path().join("daemon.log")).unwrap())
        .spawn()
        .unwrap();
    let start = Instant::now();
    let mut ready = false;
    while start.elapsed() < Duration::from_secs(60) {
        assert!(
            child.try_wait().unwrap().is_none(),
            "the daemon exited: {}",
            std::fs::read_to_string(tmp.path().join("daemon.log")).unwrap()
        );
        if get(port, "/readyz").is_some_and(|(s, _)| s == 200) {
            ready = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let daemon_log = std::fs::read_to_string(tmp.path().join("daemon.log")).unwrap_or_default();
    assert!(ready, "not ready in 60 s:\n{daemon_log}");
    let status: serde_json::Value = serde_json::from_str(&get(port, "/status").unwrap().1).unwrap();
    assert_eq!(
        status["zones"]["flaky.test."]["last_outcome"], "success",
        "{status:#}\n{daemon_log}"
    );

    // Every fault was met, and the request after the 429 waited for its Retry-After.
    let seen = log.lock().unwrap().clone();
    let writes: Vec<_> = seen
        .iter()
        .filter(|e| e.1 == Method::PATCH || e.1 == Method::POST)
        .collect();
    let codes: Vec<u16> = writes.iter().map(|e| e.3).collect();
    assert_eq!(&codes[..3], &[429, 500, 503], "{codes:?}");
    assert!(
        codes[3..].iter().any(|c| (200..300).contains(c)),
        "{codes:?}"
    );
    let waited = writes[1].0.duration_since(writes[0].0);
    assert!(
        waited >= Duration::from_millis(1900),
        "Retry-After: 2 was not honoured (retried after {waited:?})"
    );

    assert!(
        metric(
            port,
            "zonekeeper_provider_ratelimited_total",
            &["provider=\"pdns\""]
        ) >= 1.0
    );
    assert!(
        metric(
            port,
            "zonekeeper_provider_requests_total",
            &["provider=\"pdns\"", "outcome=\"transient\""]
        ) >= 1.0
    );
    assert!(metric(port, "zonekeeper_changes_applied_total", &[]) >= 4.0);
    assert!(
        child.try_wait().unwrap().is_none(),
        "the daemon must never exit on provider errors"
    );
    let _ = child.kill();
    let _ = child.wait();
}
