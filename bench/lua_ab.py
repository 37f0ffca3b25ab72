"""A/B of ingest script variants: the ingest phase of the cost mix (bench/cost.py) for each given
directory of Lua scripts, alternating rounds, each on a fresh redis-server; prints Redis CPU per
event (INFO cpu) and by command (INFO commandstats, commands the script calls included).

    .venv/bin/python bench/lua_ab.py lua /tmp/variant-lua [--rounds 2]

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


def ingest(lua: str, events: str) -> dict:
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
            c0 = cpu()
            subprocess.run([BIN, "bench", "--redis-url", "unix://" + sock, "--events-file", events, "--trackers", "2",
                            "--batch-size", "500", "--pipeline-depth", "4", "--worker-events", "0", "--freshness-seconds", "0"],
                           check=True, capture_output=True, env={**os.environ, "INSIGHTS_LUA_DIR": lua})
            used = cpu() - c0
            n = sum(db.xlen("ins:{%s}:stream" % a.decode()) for a in db.smembers("ins:agents"))
            stats = {k[len("cmdstat_"):]: v for k, v in db.info("commandstats").items()}
            return {"events": n, "us_per_event": 1e6 * used / n,
                    "commands": {k: (v["calls"], v["usec"] / n) for k, v in stats.items()}}
        finally:
            server.terminate()
            server.wait()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("lua", nargs="+", help="directories of Lua scripts (each a column)")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--events", default=EVENTS)
    args = ap.parse_args()
    if not os.path.exists(args.events):
        subprocess.run([sys.executable, os.path.join(ROOT, "bench", "workload_mix.py"), args.events, "200000"], check=True)
    runs = {d: [] for d in args.lua}
    for r in range(args.rounds):
        for d in args.lua:
            res = ingest(os.path.abspath(d), args.events)
            runs[d].append(res)
            print("round %d  %-40s %.2f µs of Redis CPU per event (%d events)" % (r + 1, d, res["us_per_event"], res["events"]),
                  flush=True)
    for d, rs in runs.items():
        best = min(rs, key=lambda x: x["us_per_event"])
        print("\n%s: least %.2f µs per event; by command (calls, µs per event):" % (d, best["us_per_event"]))
        for name, (calls, us) in sorted(best["commands"].items(), key=lambda kv: -kv[1][1]):
            if us >= 0.05:
                print("  %-12s %8d  %6.2f" % (name, calls, us))


if __name__ == "__main__":
    main()
