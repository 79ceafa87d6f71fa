#!/usr/bin/env bash
# Benchmark: `zonekeeper run` on a generated repository of ZONES zones x RECORDS A records,
# followed once through git (a local bare repository, file://, woken by the webhook) and once
# as a directory (`--dir`, woken by the file system watcher). The target is a `zonefile`
# provider (RFC 1035 files in a throw-away directory), so "applied" is visible on disk.
#
#   scripts/bench-daemon.sh [ZONES] [RECORDS] [EDITS]   (defaults: 1000 zones, 10 records, 3 edits)
#
# Measured per source:
#   first sync   start -> /readyz 200 (every zone applied and verified once); CPU s of the daemon
#   edit->applied  one-line edit of one zone (git: commit, push to the bare repository, then the
#                webhook; dir: the file rewritten) -> the new value in the zone's output file;
#                median and max of EDITS edits, each in another zone
#   idle sweep   CPU s of one drift sweep (the `drift sweep` log line -> the daemon idle again),
#                no zone changed; the resync interval (SWEEP seconds, default 30 + ZONES/75)
#                must fall after the first sync and the edits
#   peak RSS     VmHWM of the daemon at the end
# Release build only (ZK=<binary> runs another build). Prints a Markdown table for BENCHMARKS.md.
set -euo pipefail

ZONES=${1:-1000}
RECORDS=${2:-10}
EDITS=${3:-3}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}

# ZK=path/to/zonekeeper compares another build (e.g. an older commit's) without building.
if [ -z "${ZK:-}" ]; then
    cargo build --release --quiet --manifest-path "$ROOT/Cargo.toml" --bin zonekeeper
    ZK="$TARGET/release/zonekeeper"
fi

DIR=$(mktemp -d)
cleanup() { rm -rf "$DIR"; }
trap cleanup EXIT

python3 - "$ZK" "$DIR" "$ZONES" "$RECORDS" "$EDITS" <<'EOF'
import json, os, socket, statistics, subprocess, sys, time, urllib.request

zk, d, zones, records, edits = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
TICK = os.sysconf("SC_CLK_TCK")
names = [f"z{i:05d}.bench.test" for i in range(zones)]

def zone_text(i, salt=0):
    out = ["---"]
    for r in range(records):
        out.append(f"h{r}:\n  type: A\n  ttl: 300\n  value: 10.{salt % 256}.{r // 256}.{r % 256}")
    return "\n".join(out) + "\n"

def write_repo(repo, live):
    os.makedirs(f"{repo}/zones", exist_ok=True)
    with open(f"{repo}/zonekeeper.yaml", "w") as f:
        f.write(f"providers:\n  live:\n    type: zonefile\n    directory: {live}\nzones:\n")
        for n in names:
            f.write(f"  {n}.:\n    targets: [live]\n")
    for i, n in enumerate(names):
        with open(f"{repo}/zones/{n}.yaml", "w") as f:
            f.write(zone_text(i))

def free_port():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close(); return p

def cpu(pid):
    with open(f"/proc/{pid}/stat") as f:
        parts = f.read().rsplit(")", 1)[1].split()
    return (int(parts[11]) + int(parts[12])) / TICK

def hwm(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0

def get(url):
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return r.status
    except Exception:
        return None

def git(*args, cwd):
    subprocess.run(["git", *args], cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

def wait_applied(live, zone, value, deadline=300):
    path = f"{live}/{zone}.zone"
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        try:
            with open(path) as f:
                if value in f.read():
                    return time.monotonic()
        except FileNotFoundError:
            pass
        time.sleep(0.01)
    raise SystemExit(f"{zone}: {value} not applied within {deadline} s")

def run(kind):
    base = f"{d}/{kind}"
    repo, live, state = f"{base}/repo", f"{base}/live", f"{base}/state"
    os.makedirs(live); write_repo(repo, live)
    port = free_port()
    # After the first sync and the edits: a sweep during them would queue every zone.
    sweep = int(os.environ.get("SWEEP", 30 + zones // 75))
    args = [zk, "run", "--state-dir", state, "--listen", f"127.0.0.1:{port}",
            "--interval", "1h", "--resync-interval", f"{sweep}s", "-v"]
    env = dict(os.environ, BENCH_SECRET="bench-secret",
               RUST_LOG=os.environ.get("RUST_LOG", "info,zonekeeper::controller::revision=debug,zonekeeper::controller::daemon=debug,zonekeeper::source::git=debug"))
    if kind == "git":
        bare = f"{base}/bare.git"
        git("init", "-q", "-b", "main", cwd=repo)
        git("add", "-A", cwd=repo)
        git("-c", "user.name=b", "-c", "user.email=b@b", "commit", "-q", "-m", "init", cwd=repo)
        git("clone", "-q", "--bare", repo, bare, cwd=base)
        git("remote", "add", "origin", bare, cwd=repo)
        args += ["--repo", f"file://{bare}", "--webhook-secret", "env:BENCH_SECRET", "--config", f"{base}/operator.yaml"]
        with open(f"{base}/operator.yaml", "w") as f:
            f.write("{}\n")
    else:
        args += ["--dir", repo, "--config", f"{repo}/zonekeeper.yaml"]
    log = open(f"{base}/daemon.log", "w")
    t0 = time.monotonic()
    p = subprocess.Popen(args, env=env, stdout=log, stderr=log)
    try:
        while get(f"http://127.0.0.1:{port}/readyz") != 200:
            if p.poll() is not None:
                raise SystemExit(f"daemon exited: see {base}/daemon.log\n" + open(f"{base}/daemon.log").read()[-3000:])
            time.sleep(0.05)
        first = time.monotonic() - t0
        first_cpu = cpu(p.pid)
        lat = []
        for e in range(edits):
            i = (e * 7919 + 13) % zones
            zone = names[i]
            path = f"{repo}/zones/{zone}.yaml"
            text = zone_text(i).replace("value: 10.0.0.0", f"value: 10.99.{e}.{e + 1}")
            if kind == "git":
                with open(path, "w") as f:
                    f.write(text)
                git("-c", "user.name=b", "-c", "user.email=b@b", "commit", "-q", "-am", f"edit {e}", cwd=repo)
                git("push", "-q", "origin", "main", cwd=repo)
                start = time.monotonic()
                req = urllib.request.Request(f"http://127.0.0.1:{port}/hooks/git", data=b"{}",
                                             headers={"X-Gitlab-Token": "bench-secret"}, method="POST")
                urllib.request.urlopen(req, timeout=5).read()
            else:
                tmp = f"{repo}/zones/.{zone}.tmp"
                with open(tmp, "w") as f:
                    f.write(text)
                start = time.monotonic()
                os.rename(tmp, path)
            done = wait_applied(live, zone, f"10.99.{e}.{e + 1}")
            lat.append(done - start)
            time.sleep(0.5)
        # The drift sweep: wait for its log line, then for the daemon to go idle.
        def sweeps():
            with open(f"{base}/daemon.log") as f:
                return f.read().count("drift sweep")
        seen = sweeps()
        while sweeps() == seen:
            time.sleep(0.05)
        c0 = cpu(p.pid)
        last, still = c0, 0
        while still < 10:
            time.sleep(0.1)
            c = cpu(p.pid)
            still = still + 1 if c == last else 0
            last = c
        sweep_cpu = last - c0
        peak = hwm(p.pid)
    finally:
        p.terminate()
        p.wait()
    return dict(first=first, first_cpu=first_cpu, med=statistics.median(lat), max=max(lat),
                sweep=sweep_cpu, peak=peak)

res = {k: run(k) for k in ("git", "dir")}
print(f"\n{zones} zones x {records} records, zonefile target, {edits} edits, {os.cpu_count()} cores\n")
print("| source | first sync (wall s / CPU s) | edit -> applied (median / max s) | idle sweep CPU s | peak RSS MiB |")
print("|---|---|---|---|---|")
for k, r in res.items():
    print(f"| {k} | {r['first']:.2f} / {r['first_cpu']:.2f} | {r['med']:.3f} / {r['max']:.3f} | {r['sweep']:.2f} | {r['peak']:.0f} |")
EOF
