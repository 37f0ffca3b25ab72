"""`make bench`'s cost phase (issue 13): what one event costs Redis, in CPU and memory, end to end.

The same events file (bench/workload_mix.py: the realistic mix) goes through each design on its own
fresh redis-server, phase by phase, so that every phase's Redis CPU (INFO cpu, user + sys) is its
own:

  ingest   the tracker (`insights bench --events-file`, 2 trackers, batch 500 (the default), pipeline 4), no workers
  apply    2 `insights worker` until the group has acknowledged everything (sweep, compaction, trim off)
  sweep    1 worker, sweeping every 200 ms against the server clock (grace 0), until no session is idle
  compact  1 worker compacting finalized journeys (designs that have it), until none is left
  trim     1 worker trimming every 200 ms, until every stream is empty
  idle     2 workers with nothing to do for a few seconds: Redis CPU per second (not per event)

then memory (used_memory over the empty server, and by key kind), then one computed 30-day
`dashboard/overview` (cache bypassed) through `insights serve`: Redis CPU per request, on three more
agents whose 60 000 events cover 60 days (both periods of the overview: every bucket holds data). The designs:
"baseline" is BASELINE_COMMIT built from a git worktree (.build-baseline/), "current" the binary
under test. Each design runs BENCH_COST_ROUNDS (2) times, alternating with the other; the table
shows each phase's least Redis CPU over the rounds (on a shared machine noise only adds) and every
round's total beside it.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time

# The design before issue 13 (the commit that added this phase), built for the baseline column.
BASELINE_COMMIT = os.environ.get("BENCH_BASELINE", "3d33ff4091a0cbb1b2339206bbb19e8c47b12a3d")
COST_EVENTS = int(os.environ.get("BENCH_COST_EVENTS", 200_000))
OVERVIEW_CALLS = int(os.environ.get("BENCH_COST_OVERVIEWS", 1000))
OVERVIEW_EVENTS = 60_000  # spread over 60 days: every bucket of the overview's two 30-day periods holds data
# The analytics endpoints of issue 16 (and the overview filtered), each measured like the overview
# over 30 days: Redis CPU per request. A design that does not have one (the baseline) leaves it out.
ENDPOINT_CALLS = int(os.environ.get("BENCH_COST_ENDPOINT_CALLS", 200))
ENDPOINTS = [
    ("quality/metrics", "quality/metrics?agent_id=%s"),
    ("workflows/metrics", "workflows/metrics?agent_id=%s"),
    ("system/metrics", "system/metrics?agent_id=%s"),
    ("nlu/intents", "nlu/intents?agent_id=%s&threshold=0.6"),
    ("users/paths", "users/paths?agent_id=%s&depth=3"),
    ("users/funnel", "users/funnel?agent_id=%s&steps=greeting,order_status,refund"),
    ("breakdown (channel)", "breakdown?agent_id=%s&dimension=channel"),
    ("overview, channel=web", "dashboard/overview?agent_id=%s&timeframe=30d&channel=web"),
    ("overview, location=unknown", "dashboard/overview?agent_id=%s&timeframe=30d&location=unknown"),
]
IDLE_SECONDS = 5
# Each design runs this many times, alternating; the table shows each phase's least Redis CPU.
ROUNDS = int(os.environ.get("BENCH_COST_ROUNDS", 2))

TARGETS = {"cpu_us": 12.0, "mem_mb": 100.0, "overview_us": 100.0}


def phase_cost(b, root, events_file=None):
    """b: the bench.run module (helpers). Returns {"events": n, "designs": {name: figures}}."""
    work = os.path.join(root, ".build-bench")
    if events_file is None:
        events_file = os.path.join(work, "cost-mix.ndjson")
        out, _ = b.run([b.PY, os.path.join(root, "bench", "workload_mix.py"), events_file, str(COST_EVENTS)])
        b.log("cost: realistic mix %s" % out.strip())
    designs = []
    if BASELINE_COMMIT:
        designs.append(("baseline", baseline_binary(b, root), os.path.join(root, ".build-baseline", "src", "lua")))
    designs.append(("current", b.BIN, os.path.join(root, "lua")))
    res = {"events_file": os.path.basename(events_file), "rounds": ROUNDS, "designs": {}}
    runs = {name: [] for name, _, _ in designs}
    for _ in range(ROUNDS):  # alternating, so that a slow spell of the machine hits both designs
        for name, binary, lua in designs:
            runs[name].append(run_design(b, name, binary, lua, events_file))
    for name, figs in runs.items():
        res["designs"][name] = best_of(figs)
    return res


def best_of(figs):
    """One design's figures over its rounds: each phase's and the overview's least Redis CPU (the
    machine's noise only ever adds), memory from the last round; every round's totals kept."""
    best = dict(figs[-1])
    best["redis_us_per_event"] = {p: min(f["redis_us_per_event"].get(p, 0) for f in figs) for p in figs[-1]["redis_us_per_event"]}
    best["redis_us_per_event_total"] = sum(best["redis_us_per_event"].values())
    best["overview"] = min((f["overview"] for f in figs), key=lambda o: o["redis_us_per_request"])
    best["idle_redis_cpu_per_s"] = min(f["idle_redis_cpu_per_s"] for f in figs)
    best["endpoints"] = {ep: min(f["endpoints"][ep] for f in figs) for ep in figs[-1].get("endpoints", {})}
    best["rounds"] = [{"redis_us_per_event": f["redis_us_per_event"], "total": f["redis_us_per_event_total"],
                       "overview_us": f["overview"]["redis_us_per_request"], "mb_per_million": f["mb_per_million"]}
                      for f in figs]
    return best


def baseline_binary(b, root):
    """The baseline commit built in release mode from its own worktree (kept between runs)."""
    base = os.path.join(root, ".build-baseline")
    src = os.path.join(base, "src")
    binary = os.path.join(base, "build", "release", "insights")
    head = subprocess.run(["git", "-C", src, "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip() \
        if os.path.isdir(src) else ""
    if not head.startswith(BASELINE_COMMIT[:12]):
        b.log("cost: building the baseline %s (git worktree in .build-baseline/src)" % BASELINE_COMMIT[:12])
        subprocess.run(["git", "-C", root, "worktree", "remove", "--force", src], capture_output=True)
        subprocess.run(["rm", "-rf", src], check=True)
        subprocess.run(["git", "-C", root, "worktree", "add", "--detach", src, BASELINE_COMMIT], check=True,
                       capture_output=True)
    if not os.access(binary, os.X_OK) or not head.startswith(BASELINE_COMMIT[:12]):
        subprocess.run(["swift", "build", "-c", "release", "--product", "insights", "--scratch-path",
                        os.path.join(base, "build")], cwd=src, check=True)
    return binary


def command_stats(db):
    """INFO commandstats as {command: (calls, usec)}."""
    out = {}
    for k, v in db.info("commandstats").items():
        out[k[len("cmdstat_"):]] = (int(v["calls"]), float(v["usec"]))
    return out


def diff_stats(after, before):
    d = {}
    for k, (calls, usec) in after.items():
        c0, u0 = before.get(k, (0, 0.0))
        if calls - c0 > 0:
            d[k] = {"calls": calls - c0, "usec": usec - u0}
    return d


def run_design(b, name, binary, lua, events_file):
    env = b.child_env()
    env["INSIGHTS_LUA_DIR"] = lua
    help_text = subprocess.run([binary, "worker", "--help"], capture_output=True, text=True, env=env).stdout
    compacts = "--compact-interval-ms" in help_text
    off = str(10 ** 9)  # an interval no phase reaches: that part of the worker does not run

    def worker_cmd(r, consumer, sweep=off, trim=off, compact=off, grace="0"):
        cmd = [binary, "worker", "--redis-url", r.url, "--consumer", consumer, "--sweep-interval-ms", sweep,
               "--trim-interval-ms", trim, "--wall-clock-grace-ms", grace]
        if compacts:
            cmd += ["--compact-interval-ms", compact]
        return cmd

    fig = {"phases": {}}
    with b.RedisServer() as r:
        mem0 = r.used_memory()

        def phase(label, action):
            s0, c0, t0 = command_stats(r.db), r.cpu(), time.time()
            extra = action() or {}
            fig["phases"][label] = {"redis_cpu_s": r.cpu() - c0, "seconds": time.time() - t0,
                                    "commands": diff_stats(command_stats(r.db), s0), **extra}
            b.log("cost %s: %s %.3f s of Redis CPU in %.1f s" % (name, label, fig["phases"][label]["redis_cpu_s"],
                                                                  fig["phases"][label]["seconds"]))

        def ingest():
            out, _ = b.run([binary, "bench", "--redis-url", r.url, "--events-file", events_file, "--trackers", "2",
                            "--batch-size", "500", "--pipeline-depth", "4", "--worker-events", "0",
                            "--freshness-seconds", "0"], env=env)
            fig["events"] = sum(r.db.xlen("ins:{%s}:stream" % a.decode()) for a in r.db.smembers("ins:agents"))
            return {"output": out.strip().splitlines()[-1]}

        def with_workers(cmds, done, timeout=900):
            procs = [b.start(c, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for c in cmds]
            try:
                t0 = time.time()
                while not done():
                    if time.time() - t0 > timeout:
                        raise RuntimeError("cost %s: a phase did not finish in %d s" % (name, timeout))
                    time.sleep(0.05)
            finally:
                for p in procs:
                    b.stop(p)

        agents = lambda: [a.decode() for a in r.db.smembers("ins:agents")]  # noqa: E731
        idle_sessions = lambda: sum(r.db.zcard("ins:{%s}:idle" % a) for a in agents())  # noqa: E731
        compaction_left = lambda: sum(r.db.zcard("ins:{%s}:cq" % a) for a in agents())  # noqa: E731

        phase("ingest", ingest)
        phase("apply", lambda: with_workers([worker_cmd(r, "apply-%d" % i) for i in range(2)],
                                            lambda: b.group_backlog(r.db) == 0))
        phase("sweep", lambda: with_workers([worker_cmd(r, "sweep", sweep="200")], lambda: idle_sessions() == 0))
        if compacts:
            phase("compact", lambda: with_workers([worker_cmd(r, "compact", compact="200")],
                                                  lambda: compaction_left() == 0))
        phase("trim", lambda: with_workers([worker_cmd(r, "trim", trim="200")], lambda: b.stream_lengths(r.db) == 0))
        c0 = r.cpu()
        procs = [b.start(worker_cmd(r, "idle-%d" % i), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                 for i in range(2)]
        time.sleep(1)
        c1 = r.cpu()
        time.sleep(IDLE_SECONDS)
        fig["idle_redis_cpu_per_s"] = (r.cpu() - c1) / IDLE_SECONDS
        for p in procs:
            b.stop(p)
        del c0

        fig["used_memory"] = r.used_memory() - mem0
        fig["keys"] = r.db.dbsize()
        fig["memory_breakdown"] = b.memory_breakdown(r.db)
        # The overview reads every bucket of 2 × 30 days: it is measured on agents whose data covers
        # 60 days (the main mix covers 5 hours, where most buckets would be empty).
        ov_file = os.path.join(os.path.dirname(events_file), "cost-overview.ndjson")
        if not os.path.exists(ov_file):
            b.run([b.PY, os.path.join(b.ROOT, "bench", "workload_mix.py"), ov_file, str(OVERVIEW_EVENTS), "17",
                   "--span-hours", str(60 * 24), "--agent-prefix", "ov-"])
        before = set(agents())
        b.run([binary, "bench", "--redis-url", r.url, "--events-file", ov_file, "--trackers", "2", "--worker-events", "0",
               "--freshness-seconds", "0"], env=env)
        with_workers([worker_cmd(r, "ov-%d" % i, sweep="200", trim="1000", compact="200") for i in range(2)],
                     lambda: b.group_backlog(r.db) == 0 and idle_sessions() == 0)
        fig["overview"] = overview_cost(b, r, binary, env, sorted(set(agents()) - before))
        fig["endpoints"] = endpoint_costs(b, r, binary, env, sorted(set(agents()) - before), filters=name != "baseline")
    n = fig["events"]
    if not n:
        raise RuntimeError("cost %s: no event reached the streams (see the tracker's output above)" % name)
    fig["redis_us_per_event"] = {k: 1e6 * v["redis_cpu_s"] / n for k, v in fig["phases"].items()}
    fig["redis_us_per_event_total"] = sum(fig["redis_us_per_event"].values())
    fig["mb_per_million"] = fig["used_memory"] / n
    b.log("cost %s: %.2f µs of Redis CPU per event, %.0f MB per million events, overview %.0f µs"
          % (name, fig["redis_us_per_event_total"], fig["mb_per_million"], fig["overview"]["redis_us_per_request"]))
    return fig


def overview_cost(b, r, binary, env, agents):
    """Redis CPU of one computed 30-day dashboard/overview (a unique parameter per request defeats the
    front's 1 s shared answer), averaged over the agents and OVERVIEW_CALLS requests."""
    s = b.Server(lambda port: [binary, "serve", "--redis-url", r.url, "--host", "127.0.0.1", "--port", str(port)], env=env)
    try:
        for a in agents:
            s.latencies("/api/v1/analytics/dashboard/overview?agent_id=%s&timeframe=30d" % a, 5, nonce=True)
        s0, c0 = command_stats(r.db), r.cpu()
        per = max(1, OVERVIEW_CALLS // len(agents))
        lat = []
        for a in agents:
            lat += s.latencies("/api/v1/analytics/dashboard/overview?agent_id=%s&timeframe=30d" % a, per, nonce=True)
        calls = per * len(agents)
        cmds = diff_stats(command_stats(r.db), s0)
        return {"requests": calls, "redis_us_per_request": 1e6 * (r.cpu() - c0) / calls,
                "commands_per_request": {k: v["calls"] / calls for k, v in cmds.items()},
                "command_usec_per_request": sum(v["usec"] for v in cmds.values()) / calls,
                "p50_ms": b.pct(lat, 50)}
    finally:
        s.close()


def endpoint_costs(b, r, binary, env, agents, filters=True):
    """Redis CPU per request of each of ENDPOINTS over 30 days (start_date 30 days back), like
    overview_cost; {label: µs}. An endpoint the design answers 404 (it has none) is left out, and
    the filtered overviews when `filters` is false (a design before them ignores the parameter)."""
    s = b.Server(lambda port: [binary, "serve", "--redis-url", r.url, "--host", "127.0.0.1", "--port", str(port)], env=env)
    start = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 30 * 86400))
    out = {}
    try:
        for label, template in ENDPOINTS:
            if not filters and "=" in label:
                continue
            paths = ["/api/v1/analytics/" + template % a + ("" if "timeframe" in template else "&start_date=" + start) for a in agents]
            try:
                s.latencies(paths[0], 2, nonce=True)
            except RuntimeError as e:
                if "-> 404" in str(e):
                    continue
                raise
            per = max(1, ENDPOINT_CALLS // len(paths))
            c0 = r.cpu()
            for p in paths:
                s.latencies(p, per, nonce=True)
            out[label] = 1e6 * (r.cpu() - c0) / (per * len(paths))
    finally:
        s.close()
    return out


# ---------------------------------------------------------------------------


def cost_rows(cost, row):
    """Adds the cost table's rows through report.py's `row(area, measure, value, target, ok)`."""
    d = cost["designs"]
    names = list(d)
    cur = d[names[-1]]

    def both(f, fmt):
        return " / ".join(fmt % f(d[n]) for n in names)

    label = " / ".join(names)
    rounds = len(cur.get("rounds", [])) or 1
    row("6 cost", "realistic mix (bench/workload_mix.py): events, sessions through each design on its own Redis; "
        "CPU figures: each phase's least of %d alternating rounds (every round's totals: %s)"
        % (rounds, "; ".join("%s %s" % (n, ", ".join("%.2f µs" % r["total"] for r in d[n].get("rounds", []))) for n in names)),
        "%d events" % cur["events"])
    phases = ["ingest", "apply", "sweep", "compact", "trim"]
    for p in phases:
        if any(p in d[n]["phases"] for n in names):
            row("6 cost", "Redis CPU per event, %s (%s)" % (p, label),
                " / ".join("%.2f µs" % d[n]["redis_us_per_event"].get(p, 0) for n in names))
    tot = cur["redis_us_per_event_total"]
    row("6 cost", "Redis CPU per event end to end (%s)" % label, both(lambda x: x["redis_us_per_event_total"], "%.2f µs"),
        "≤ %.0f µs" % TARGETS["cpu_us"], tot <= TARGETS["cpu_us"])
    row("6 cost", "… events/s per Redis core that implies", both(lambda x: 1e6 / x["redis_us_per_event_total"], "%.0f"))
    row("6 cost", "idle: Redis CPU per second, 2 workers, nothing to do (%s)" % label,
        both(lambda x: 1e3 * x["idle_redis_cpu_per_s"], "%.1f ms/s"))
    mb = cur["mb_per_million"]
    row("6 cost", "Redis memory per million events retained (default retention, drained, trimmed) (%s)" % label,
        both(lambda x: x["mb_per_million"], "%.0f MB"), "≤ %.0f MB" % TARGETS["mem_mb"], mb <= TARGETS["mem_mb"])
    for n in names:
        parts = sorted(d[n]["memory_breakdown"].items(), key=lambda kv: -kv[1]["bytes"])
        row("6 cost", "… %s by key kind, MB per million events" % n,
            ", ".join("%s %.1f" % (k, v["bytes"] / d[n]["events"]) for k, v in parts if v["bytes"] / d[n]["events"] >= 0.1))
    ov = cur["overview"]["redis_us_per_request"]
    row("6 cost", "30-day dashboard/overview computed: Redis CPU per request (%s)" % label,
        both(lambda x: x["overview"]["redis_us_per_request"], "%.0f µs"), "≤ %.0f µs" % TARGETS["overview_us"],
        ov <= TARGETS["overview_us"])
    row("6 cost", "… commands per overview (%s)" % label,
        " / ".join(", ".join("%s %.0f" % kv for kv in sorted(d[n]["overview"]["commands_per_request"].items()))
                   for n in names))
    for ep, _ in ENDPOINTS:
        if ep in cur.get("endpoints", {}):
            row("6 cost", "30-day %s: Redis CPU per request (%s)" % (ep, label),
                " / ".join(("%.0f µs" % d[n]["endpoints"][ep]) if ep in d[n].get("endpoints", {}) else "–" for n in names))


if __name__ == "__main__":  # `python bench/cost.py`: this phase alone, printed as JSON
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import run as bench_run  # noqa: E402
    print(json.dumps(phase_cost(bench_run, bench_run.ROOT), indent=1, sort_keys=True))
