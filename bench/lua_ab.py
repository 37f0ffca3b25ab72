"""A/B of ingest script variants: the ingest phase of the cost mix (bench/cost.py) for each given
directory of Lua scripts, alternating rounds, each on a fresh redis-server; prints Redis CPU per
event (INFO cpu) and by command (INFO commandstats, commands the script calls included).

    .venv/bin/python bench/lua_ab.py lua /tmp/variant-lua [--rounds 2] [--drain]

With `--drain`, two `insights worker`s then apply, sweep and compact everything (the same scripts),
and the columns also show the workers' Redis CPU per event and the memory per million events once
drained (`used_memory` over the empty server; compacted sessions, `jz`, apart).

The binary is `$INSIGHTS_BIN` or `.build-bench/release/insights` (`make bench` builds it); only the
scripts differ between the columns (INSIGHTS_LUA_DIR), so an edit of lua/ is measured without a
rebuild. The events are bench/cost.py's mix (`.build-bench/cost-mix.ndjson`, written by the cost
phase or here). Noise on this shared machine is a few µs per event: compare the columns of one
run, over several rounds.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time

import redis

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.environ.get("INSIGHTS_BIN", os.path.join(ROOT, ".build-bench", "release", "insights"))
EVENTS = os.path.join(ROOT, ".build-bench", "cost-mix.ndjson")


def ingest(lua: str, events: str, drain: bool = False) -> dict:
    with tempfile.TemporaryDirectory(prefix="insights-lua-ab-") as d:
        sock = os.path.join(d, "redis.sock")
        server = subprocess.Popen(["redis-server", "--port", "0", "--unixsocket", sock, "--save", "", "--appendonly", "no",
                                   "--dir", d], stdout=subprocess.DEVNULL)
        try:
            db = redis.Redis(unix_socket_path=sock)
            deadline = time.time() + 10
            while True:
                try:
                    db.ping()
                    break
                except redis.ConnectionError:
                    if time.time() > deadline:
                        raise
                    time.sleep(0.05)

            def cpu() -> float:
                i = db.info("cpu")
                return i["used_cpu_user"] + i["used_cpu_sys"]
            db.config_resetstat()
            mem0 = db.info("memory")["used_memory"]
            c0 = cpu()
            subprocess.run([BIN, "bench", "--redis-url", "unix://" + sock, "--events-file", events, "--trackers", "2",
                            "--batch-size", "500", "--pipeline-depth", "4", "--worker-events", "0", "--freshness-seconds", "0"],
                           check=True, capture_output=True, env={**os.environ, "INSIGHTS_LUA_DIR": lua})
            used = cpu() - c0
            agents = [a.decode() for a in db.smembers("ins:agents")]
            n = sum(db.xlen("ins:{%s}:stream" % a) for a in agents)
            stats = {k[len("cmdstat_"):]: v for k, v in db.info("commandstats").items()}
            out = {"events": n, "us_per_event": 1e6 * used / n,
                   "commands": {k: (v["calls"], v["usec"] / n) for k, v in stats.items()}}
            if drain:
                out.update(drained(db, sock, lua, agents, n, cpu, mem0))
            return out
        finally:
            server.terminate()
            server.wait()


def drained(db, sock: str, lua: str, agents: list[str], n: int, cpu, mem0: int) -> dict:
    """Two workers until every stream is read, every session swept and compacted; their Redis CPU
    per event and the memory per million events then."""
    c0 = cpu()
    workers = [subprocess.Popen([BIN, "worker", "--redis-url", "unix://" + sock, "--consumer", "ab-%d" % i,
                                 "--sweep-interval-ms", "200", "--trim-interval-ms", "1000", "--compact-interval-ms", "200",
                                 "--wall-clock-grace-ms", "0"], env={**os.environ, "INSIGHTS_LUA_DIR": lua},
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for i in range(2)]
    try:
        deadline = time.time() + 600
        while sum(db.xlen("ins:{%s}:stream" % a) + db.zcard("ins:{%s}:idle" % a) + db.zcard("ins:{%s}:cq" % a) for a in agents):
            if time.time() > deadline:
                raise RuntimeError("the workers did not drain in 600 s")
            time.sleep(0.5)
        used = cpu() - c0
    finally:
        for w in workers:
            w.terminate()
            w.wait()
    jz = sum(db.memory_usage(k, samples=0) or 0 for k in db.scan_iter(match="*:jz:*", count=1000))
    return {"workers_us_per_event": 1e6 * used / n, "mb_per_million": (db.info("memory")["used_memory"] - mem0) / n,
            "jz_mb_per_million": jz / n}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("lua", nargs="+", help="directories of Lua scripts (each a column)")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--events", default=EVENTS)
    ap.add_argument("--drain", action="store_true", help="then drain with two workers: their CPU and the memory")
    args = ap.parse_args()
    if not os.path.exists(args.events):
        subprocess.run([sys.executable, os.path.join(ROOT, "bench", "workload_mix.py"), args.events, "200000"], check=True)
    runs = {d: [] for d in args.lua}
    for r in range(args.rounds):
        for d in args.lua:
            res = ingest(os.path.abspath(d), args.events, args.drain)
            runs[d].append(res)
            extra = ("; workers %.2f µs per event; %.1f MB per million events (jz %.1f)"
                     % (res["workers_us_per_event"], res["mb_per_million"], res["jz_mb_per_million"]) if args.drain else "")
            print("round %d  %-40s %.2f µs of Redis CPU per event (%d events)%s" % (r + 1, d, res["us_per_event"], res["events"], extra),
                  flush=True)
    for d, rs in runs.items():
        best = min(rs, key=lambda x: x["us_per_event"])
        print("\n%s: least %.2f µs per event; by command (calls, µs per event):" % (d, best["us_per_event"]))
        for name, (calls, us) in sorted(best["commands"].items(), key=lambda kv: -kv[1][1]):
            if us >= 0.05:
                print("  %-12s %8d  %6.2f" % (name, calls, us))


if __name__ == "__main__":
    main()
