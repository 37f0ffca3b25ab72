"""`make bench`: every benchmark of issue 6 against private redis-servers this script starts
(a fresh one per phase), one table on stdout, also written to bench/results/LATEST.md.

Phases (sizes from the environment, defaults in brackets):
 1. tracker ingest: the Swift tracker (release build) and the Python peer (bench/tracker_peer.py)
    on the same events file [BENCH_EVENTS=500000], each on a fresh Redis; then memory: 2 worker
    processes drain and trim the Swift run's Redis.
 2. HTTP ingest: wrk POSTing 500-event batches [BENCH_WRK_SECONDS=30].
 3. workers: 1 and 2 workers draining [BENCH_WORKER_EVENTS=200000]; freshness at a steady
    rate [BENCH_FRESHNESS_SECONDS=10]; lag over time at the sustained rate [BENCH_SUSTAINED_SECONDS=30].
 4. queries: dashboard/overview at [BENCH_QUERY_SIZES=10000,100000,1000000] events stored, wrk
    with 100 pollers, /health as the front's ceiling, and the seed's design (bench/seed_api.py).
 5. cost (bench/cost.py): Redis CPU per event by phase and memory per million events by key kind, on
    the realistic mix [BENCH_COST_EVENTS=200000], for today's design and the baseline [BENCH_BASELINE].

BENCH_PHASES=tracker,http,workers,queries,cost,tenants,cluster chooses the phases.

Every process started here is stopped by its PID, also on failure or Ctrl-C.
"""
import http.client
import json
import os
import platform
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone

import redis

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
BIN = os.environ.get("BENCH_INSIGHTS", os.path.join(ROOT, ".build-bench", "release", "insights"))
PY = sys.executable
WRK_DIR = os.path.join(ROOT, "bench", "wrk")
RESULTS = os.environ.get("BENCH_RESULTS", os.path.join(ROOT, "bench", "results", "LATEST.md"))

EVENTS = int(os.environ.get("BENCH_EVENTS", 500_000))
WRK_SECONDS = int(os.environ.get("BENCH_WRK_SECONDS", 30))
WORKER_EVENTS = int(os.environ.get("BENCH_WORKER_EVENTS", 200_000))
FRESHNESS_SECONDS = int(os.environ.get("BENCH_FRESHNESS_SECONDS", 10))
SUSTAINED_SECONDS = int(os.environ.get("BENCH_SUSTAINED_SECONDS", 30))
QUERY_SIZES = [int(x) for x in os.environ.get("BENCH_QUERY_SIZES", "10000,100000,1000000").split(",")]
ROUNDS = int(os.environ.get("BENCH_ROUNDS", 2))
# Which phases run (all by default); a subset, e.g. BENCH_PHASES=cost, writes a table of those alone.
PHASES = os.environ.get("BENCH_PHASES", "tracker,http,workers,queries,cost,tenants,cluster").split(",")
TRACKERS, BATCH, DEPTH = 2, 500, 4

STARTED = []  # every Popen still running, stopped in reverse order on exit


def log(msg):
    print("[bench %s] %s" % (time.strftime("%H:%M:%S"), msg), flush=True)


def child_env():
    env = dict(os.environ)
    for k in ("INSIGHTS_API_KEYS", "INSIGHTS_API_KEYS_FILE", "INSIGHTS_REDIS_URL"):
        env.pop(k, None)
    return env


def start(cmd, env=None, **kw):
    p = subprocess.Popen(cmd, env=env or child_env(), **kw)
    STARTED.append(p)
    return p


def stop(p, sig=signal.SIGTERM, timeout=20):
    if p.poll() is None:
        p.send_signal(sig)
        try:
            p.wait(timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
    if p in STARTED:
        STARTED.remove(p)


def run(cmd, timeout=3600, env=None):
    """Runs to completion; returns (stdout, CPU seconds of it and its waited-for children)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    p = start(cmd, env=env, stdout=subprocess.PIPE, text=True)
    out, _ = p.communicate(timeout=timeout)
    STARTED.remove(p)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if p.returncode != 0:
        raise RuntimeError("%s exited %d:\n%s" % (" ".join(cmd), p.returncode, out))
    return out, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


sys.path.insert(0, os.path.join(ROOT, "e2e"))
from service import Redis, free_port  # noqa: E402  the e2e tests' private redis-server and port picker


class RedisServer(Redis):
    """A private redis-server (e2e/service.py: unix socket, temp dir, no persistence) as a context
    manager, with the INFO figures the phases read; `db` is a redis-py client on it (bytes replies)."""

    def __enter__(self):
        self.db = redis.Redis(unix_socket_path=str(self.socket))  # bytes replies, as the helpers below expect
        return self

    def cpu(self):
        i = self.db.info("cpu")
        return i["used_cpu_user"] + i["used_cpu_sys"]

    def used_memory(self):
        return self.db.info("memory")["used_memory"]

    def __exit__(self, *exc):
        self.db.close()
        self.close()


class Server:
    """`insights serve` (or the seed peer) on a free port."""

    def __init__(self, cmd_for_port, env=None):
        self.port = free_port()
        self.proc = start(cmd_for_port(self.port), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(200):
            try:
                self.get("/health")
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("server did not start: %r" % cmd_for_port(self.port))

    def get(self, path, method="GET"):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=600)
        c.request(method, path)
        r = c.getresponse()
        body = r.read()
        c.close()
        if r.status != 200:
            raise RuntimeError("%s %s -> %d %s" % (method, path, r.status, body[:300]))
        return body

    def latencies(self, path, n, nonce=False):
        """n sequential requests on one keep-alive connection; milliseconds each. nonce: a unique
        extra parameter per request, so that the front's 1 s overview cache never answers."""
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=600)
        out = []
        for i in range(n):
            t = time.perf_counter()
            c.request("GET", path + ("&bench_nonce=%d-%d" % (time.monotonic_ns(), i) if nonce else ""))
            r = c.getresponse()
            r.read()
            out.append((time.perf_counter() - t) * 1000)
            if r.status != 200:
                raise RuntimeError("GET %s -> %d" % (path, r.status))
        c.close()
        return out

    def close(self):
        stop(self.proc)


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * p / 100))] if xs else float("nan")


def wrk(url, script, seconds, connections, threads=2, env=None):
    e = child_env()
    e.update(env or {})
    p = start(["wrk", "-t%d" % threads, "-c%d" % connections, "-d%ds" % seconds, "--latency", "-s",
               os.path.join(WRK_DIR, script), url], stdout=subprocess.PIPE, text=True, env=e)
    out, _ = p.communicate(timeout=seconds + 120)
    STARTED.remove(p)
    lines = [l for l in out.splitlines() if l.startswith("WRK_JSON ")]
    if not lines:
        raise RuntimeError("wrk printed no summary:\n" + out)
    return json.loads(lines[-1][len("WRK_JSON "):])


def swift_bench(r, *args):
    fd, path = tempfile.mkstemp(suffix=".json", dir=os.path.join(ROOT, ".build-bench"))
    os.close(fd)
    out, cpu = run([BIN, "bench", "--redis-url", r.url, "--json", path, *map(str, args)])
    sys.stdout.write(out)
    with open(path) as f:
        res = json.load(f)
    os.remove(path)
    return res, cpu


def stream_lengths(client):
    agents = [a.decode() for a in client.smembers("ins:agents")]
    return sum(client.xlen("ins:{%s}:stream" % a) for a in agents)


def memory_breakdown(client, sample=300):
    """Estimated bytes per key kind (the part after `ins:{agent}:`, up to its first ':'): count x mean
    MEMORY USAGE of up to `sample` keys of that kind."""
    kinds = {}
    for key in client.scan_iter(count=1000):
        k = key.decode()
        kind = k.split("}:", 1)[1].split(":", 1)[0] if "}:" in k else k
        if kind == "c":  # counters: the bucket's own map, a family (c:x, c:n, c:p, c:b) or a breakdown slice
            parts = k.split("}:", 1)[1].split(":")
            kind = "c" if len(parts) < 4 else ("c:slice" if "=" in parts[3] else "c:" + parts[3])
        entry = kinds.setdefault(kind, [0, []])
        entry[0] += 1
        if len(entry[1]) < sample:
            entry[1].append(key)
    out = {}
    for kind, (count, keys) in kinds.items():
        sizes = [client.memory_usage(k, samples=0) or 0 for k in keys]  # exact (hashes are sampled by default)
        out[kind] = {"keys": count, "bytes": int(count * sum(sizes) / max(len(sizes), 1))}
    return out


def group_backlog(client):
    """Entries of every stream not yet delivered to, or not yet acknowledged by, the worker group."""
    total = 0
    for a in client.smembers("ins:agents"):
        key = "ins:{%s}:stream" % a.decode()
        groups = [g for g in client.xinfo_groups(key) if g["name"] in (b"workers", "workers")] if client.exists(key) else []
        if not groups:
            total += client.xlen(key)
        else:
            total += (groups[0].get("lag") or 0) + groups[0]["pending"]
    return total


def wait_drained_and_trimmed(client, timeout):
    """Seconds until the group has acknowledged everything, then until every stream is trimmed empty."""
    t0 = time.time()
    drained = None
    while time.time() - t0 < timeout:
        if drained is None and group_backlog(client) == 0:
            drained = time.time() - t0
        if drained is not None and stream_lengths(client) == 0:
            return drained, time.time() - t0
        time.sleep(0.05)
    return drained, None


# ---------------------------------------------------------------------------


def machine():
    model = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as f:
        mem = int(f.readline().split()[1]) // 1024
    swift = subprocess.run(["swift", "--version"], capture_output=True, text=True)
    return {
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "cores": os.cpu_count(),
        "cpu": model,
        "memory_mb": mem,
        "kernel": platform.release(),
        "redis": subprocess.run(["redis-server", "--version"], capture_output=True, text=True).stdout.strip(),
        "swift": (swift.stdout + swift.stderr).strip().splitlines()[0],
        "wrk": subprocess.run(["wrk", "--version"], capture_output=True, text=True).stdout.strip().splitlines()[0],
        "python": platform.python_version(),
        "load": "%.2f %.2f %.2f" % os.getloadavg(),
    }


def phase_tracker(work):
    res = {}
    events_file = os.path.join(work, "events.ndjson")
    log("tracker: writing %d events (the workload both clients send) to %s" % (EVENTS, events_file))
    run([BIN, "bench", "--dump-events", events_file, "--events", str(EVENTS), "--trackers", str(TRACKERS), "--prefix", "b1"])
    runs = {"swift": [], "python": []}
    for rnd in range(ROUNDS):
        keep = rnd == ROUNDS - 1  # the last Swift round's Redis is kept for the memory measurement
        runs["swift"].append(swift_round(events_file, res if keep else None))
        runs["python"].append(python_round(events_file))
    # Rounds alternate Swift / Python on fresh servers; each side's best round is compared
    # (the machine is shared: the best round is the least disturbed one).
    res["swift"] = max(runs["swift"], key=lambda t: t["rate"])
    res["python"] = max(runs["python"], key=lambda t: t["rate"])
    res["rounds"] = runs
    os.remove(events_file)
    return res


def swift_round(events_file, res):
    log("tracker: Swift (%d trackers, batch %d, pipeline %d), fresh Redis" % (TRACKERS, BATCH, DEPTH))
    with RedisServer() as r:
        cpu0 = r.cpu()
        sw, client_cpu = swift_bench(r, "--events-file", events_file, "--trackers", TRACKERS, "--batch-size", BATCH,
                                     "--pipeline-depth", DEPTH, "--worker-events", 0, "--freshness-seconds", 0)
        t = sw["tracker"]
        t["redis_cpu_seconds"] = r.cpu() - cpu0
        t["client_cpu_seconds"] = client_cpu
        if res is None:
            return t
        # Memory: what the events cost with the stream as the tracker left it, then after 2 worker
        # processes have applied, acknowledged and trimmed everything (retention in force).
        mem = {"events": t["events"], "stream_untrimmed": t["used_memory_after"] - t["used_memory_before"]}
        log("memory: 2 worker processes drain and trim %d entries" % t["events"])
        workers = [start([BIN, "worker", "--redis-url", r.url, "--consumer", "mem-%d" % i],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for i in range(2)]
        try:
            drained, trimmed = wait_drained_and_trimmed(r.db, 600)
        finally:
            for w in workers:
                stop(w)
        mem["drain_seconds"], mem["trimmed_seconds"] = drained, trimmed
        mem["after_workers"] = r.used_memory() - t["used_memory_before"]
        mem["keys"] = r.db.dbsize()
        mem["breakdown"] = memory_breakdown(r.db)
        res["memory"] = mem
    return t


def python_round(events_file):
    log("tracker: Python peer (redis-py + hiredis, %d processes), fresh Redis" % TRACKERS)
    with RedisServer() as r:
        cpu0 = r.cpu()
        out, client_cpu = run([PY, os.path.join(ROOT, "bench", "tracker_peer.py"), "--redis-url", r.url,
                               "--events-file", events_file, "--trackers", str(TRACKERS), "--batch-size", str(BATCH),
                               "--pipeline-depth", str(DEPTH), "--lua-dir", os.path.join(ROOT, "lua")])
        py = json.loads(out.strip().splitlines()[-1])
        py["redis_cpu_seconds"] = r.cpu() - cpu0
        py["client_cpu_seconds_total"] = client_cpu
        log("python peer: %d events/s, %.2f µs/event in Redis (%.0f%% of its ceiling)"
            % (py["rate"], py["server_us_per_event"], 100 * py["ratio"]))
    return py


def phase_http():
    log("HTTP ingest: wrk POST 500-event batches for %d s" % WRK_SECONDS)
    with RedisServer() as r:
        s = Server(lambda port: [BIN, "serve", "--redis-url", r.url, "--host", "127.0.0.1", "--port", str(port)])
        try:
            cpu0 = r.cpu()
            w = wrk("http://127.0.0.1:%d" % s.port, "post_batch.lua", WRK_SECONDS, connections=8)
            w["redis_cpu_seconds"] = r.cpu() - cpu0
            w["events_per_s"] = w["requests"] * 500 / w["seconds"]
            w["stored"] = stream_lengths(r.db)
        finally:
            s.close()
    return w


def slope(samples):
    """Least-squares slope of [[t, lag], ...] (entries/s)."""
    if len(samples) < 2:
        return 0.0
    mx = sum(t for t, _ in samples) / len(samples)
    my = sum(v for _, v in samples) / len(samples)
    den = sum((t - mx) ** 2 for t, _ in samples)
    return sum((t - mx) * (v - my) for t, v in samples) / den if den else 0.0


def phase_workers():
    log("workers: %d-event backlogs, freshness %d s, sustained %d s" % (WORKER_EVENTS, FRESHNESS_SECONDS, SUSTAINED_SECONDS))
    with RedisServer() as r:
        res, _ = swift_bench(r, "--events", 100000, "--trackers", TRACKERS, "--worker-events", WORKER_EVENTS,
                             "--freshness-seconds", FRESHNESS_SECONDS, "--sustained-seconds", SUSTAINED_SECONDS)
        if SUSTAINED_SECONDS > 0:
            # The same at half the pipeline's ceiling: where the group does keep up on this machine.
            half = int(0.5 * res["pipeline"]["sustained_ceiling"])
            log("workers: lag over time at %d ev/s (50%% of the pipeline's ceiling)" % half)
            low, _ = swift_bench(r, "--events", 2000, "--trackers", TRACKERS, "--worker-events", 0, "--freshness-seconds", 0,
                                 "--sustained-seconds", SUSTAINED_SECONDS, "--sustained-rate", half)
            res["sustained_half"] = low["sustained"]
    for k in ("freshness", "sustained", "sustained_half"):
        if k in res:
            res[k]["lag_slope_all"] = slope(res[k]["lag_samples"])
    return res


def phase_queries():
    res = {"sizes": []}
    with RedisServer() as r:
        s = Server(lambda port: [BIN, "serve", "--redis-url", r.url, "--host", "127.0.0.1", "--port", str(port)])
        seed = Server(lambda port: [PY, os.path.join(ROOT, "bench", "seed_api.py"), str(port)])
        try:
            stored = 0
            path = "/api/v1/analytics/dashboard/overview?agent_id=q&timeframe=30d"
            for i, size in enumerate(QUERY_SIZES):
                log("queries: filling agent q to %d events (Swift tracker)" % size)
                swift_bench(r, "--agent", "q", "--events", size - stored, "--prefix", "q%d" % i, "--trackers", TRACKERS,
                            "--worker-events", 0, "--freshness-seconds", 0)
                stored = size
                t = time.time()
                loaded = json.loads(seed.get("/bench/load?redis_url=%s&agent_id=q" % r.url, method="POST"))
                load_s = time.time() - t
                s.latencies(path, 20, nonce=True)  # warm-up
                sw = s.latencies(path, 300, nonce=True)
                n_seed = 20 if size <= 20_000 else (5 if size <= 200_000 else 3)
                sd = seed.latencies(path, n_seed)
                row = {
                    "events": size, "seed_stored": loaded["stored"], "seed_load_seconds": load_s,
                    "swift_p50_ms": pct(sw, 50), "swift_p99_ms": pct(sw, 99),
                    "seed_median_ms": statistics.median(sd), "seed_requests": n_seed,
                    "used_memory": r.used_memory(),
                }
                res["sizes"].append(row)
                log("queries at %d: Swift p50 %.2f ms p99 %.2f ms; seed median %.1f ms"
                    % (size, row["swift_p50_ms"], row["swift_p99_ms"], row["seed_median_ms"]))
            log("queries: wrk, 100 pollers for %d s, overview then /health" % WRK_SECONDS)
            url = "http://127.0.0.1:%d" % s.port
            res["wrk_overview"] = wrk(url, "overview.lua", WRK_SECONDS, connections=100, env={"BENCH_AGENT": "q"})
            res["wrk_health"] = wrk(url, "overview.lua", WRK_SECONDS, connections=100, env={"BENCH_PATH": "/health"})
        finally:
            seed.close()
            s.close()
    return res


# ---------------------------------------------------------------------------


from report import report, rerender  # noqa: E402
from cost import phase_cost  # noqa: E402
from scale import phase_cluster, phase_tenants  # noqa: E402


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--render":
        return rerender(sys.argv[2], WRK_SECONDS, TRACKERS)
    if not os.access(BIN, os.X_OK):
        sys.exit("missing %s: build it with `swift build -c release --product insights --scratch-path .build-bench`" % BIN)
    os.makedirs(os.path.join(ROOT, ".build-bench"), exist_ok=True)
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(143))
    work = tempfile.mkdtemp(prefix="bench-", dir=os.path.join(ROOT, ".build-bench"))
    try:
        m = machine()
        tr = phase_tracker(work) if "tracker" in PHASES else None
        http = phase_http() if "http" in PHASES else None
        wk = phase_workers() if "workers" in PHASES else None
        q = phase_queries() if "queries" in PHASES else None
        cost = phase_cost(sys.modules[__name__], ROOT) if "cost" in PHASES else None
        tenants = phase_tenants(sys.modules[__name__]) if "tenants" in PHASES else None
        cluster = phase_cluster(sys.modules[__name__]) if "cluster" in PHASES else None
        table, doc = report(m, tr, http, wk, q, WRK_SECONDS, TRACKERS, cost, tenants, cluster)
        os.makedirs(os.path.dirname(RESULTS), exist_ok=True)
        with open(RESULTS, "w") as f:
            f.write(doc)
        print()
        print(table)
        print("\nwritten to %s" % os.path.relpath(RESULTS, ROOT))
    finally:
        for p in reversed(list(STARTED)):
            stop(p)
        subprocess.run(["rm", "-rf", work])


if __name__ == "__main__":
    main()
