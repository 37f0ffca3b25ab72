"""Chaos suite (issue 7): faults injected into real processes; the ledger must match Redis exactly.

    .venv/bin/python chaos/run.py                 # every scenario
    .venv/bin/python chaos/run.py --scenario 4    # one (repeat --scenario for several)
    CHAOS_EVENTS=200000 .venv/bin/python chaos/run.py --scenario 1

Each scenario starts its own redis-server (unix socket, temp dir), one `insights serve` front and
`insights worker` processes, sends realistic conversations through `POST /api/v1/events` from
several producer threads (a 5xx, timeout or connection error → the same batch again, like a real
platform), injects its fault, waits until the workers have drained (lag 0, pending 0, every
session finalized) and compares every counter, outcome, journey, de-dup id and dead letter with
what the ledger of acknowledged event_ids implies (chaos/ledger.py). Exit status 1 on any mismatch.
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import signal
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "e2e"))
from harness import DEFAULT_EVENTS, log, run_scenario, wait_for_acks, while_producing  # noqa: E402
from ledger import binary, known_ids  # noqa: E402
import storage  # noqa: E402
from service import Insights, wait_until  # noqa: E402


def s1_kill_workers(events):
    """kill -9 one of 3 workers every few seconds during the run (and start a fresh one)."""
    def fault(ctx):
        agents = ctx["workload"].agents
        while_producing(ctx, 3.0, lambda c: c["cluster"].kill_worker(c["rng"], agents), first_after=2.0)
        # Keep killing for a while after ingest, while the workers are still catching up.
        for _ in range(3):
            ctx["cluster"].kill_worker(ctx["rng"], agents)
            time.sleep(3.0)
        ctx["result"]["notes"].append(f"{ctx['cluster'].kills} workers killed with {ctx['cluster'].orphaned} "
                                      "entries pending on them (claimed by the others)")
    return run_scenario(1, "kill -9 a worker every 3 s", events, fault, threads=4, batch_size=500, drain_timeout=300,
                        quiet_logs=True)


def s2_duplicates(events):
    """Every batch sent twice; 10 % of them a third time after the rest."""
    def fault(ctx):
        ctx["producers"].join()
    return run_scenario(2, "every batch twice, 10 % a third time", events, fault, sends=2, third_send=0.1,
                        self_check=True, quiet_logs=True)


def s3_sigstop(events):
    """SIGSTOP redis-server for 5 s mid-ingest, then SIGCONT."""
    def fault(ctx):
        wait_for_acks(ctx, 0.3)
        r = ctx["cluster"].redis
        os.kill(r.proc.pid, signal.SIGSTOP)
        log("  redis-server stopped (SIGSTOP) for 5 s")
        time.sleep(5)
        os.kill(r.proc.pid, signal.SIGCONT)
        log("  redis-server continued (SIGCONT)")
        ctx["result"]["notes"].append("SIGSTOP 5 s")
    return run_scenario(3, "SIGSTOP redis 5 s, SIGCONT", events, fault, timeout=2.0)


def s4_redis_restart(events):
    """kill -9 redis-server (AOF, appendfsync always) mid-ingest and restart it on the same socket/dir."""
    def fault(ctx):
        c = ctx["cluster"]
        # The Swift Tracker too: `insights simulate` (3 platforms, each its own Tracker) writes the events it
        # has delivered (after each successful flush) to a ledger file; they join the ledger after it exits.
        sim_agent = ctx["workload"].agents[0].rsplit("-", 1)[0] + "-sim"
        sim_ledger = c.log_dir / "simulate-ledger.jsonl"
        sim = Insights("simulate", "--redis-url", c.redis.url, "--agent", sim_agent, "--platforms", "3", "--rate", "400",
                       "--duration", "24", "--ledger", str(sim_ledger), log_dir=c.log_dir)

        def collect_simulate(ctx):
            sim.proc.wait(120)
            ids = ctx["workload"].add_external(sim_ledger.read_text().splitlines())
            ctx["ledger"].ack(ids)
            last = [line for line in sim.output().replace("\r", "\n").splitlines() if line.startswith("sent ")]
            ctx["result"]["notes"].append(f"simulate (Swift Tracker): {len(ids)} events in its ledger, exit "
                                          f"{sim.proc.returncode}, final line: {last[-1] if last else '?'}")
            if sim.proc.returncode != 0:
                ctx["result"]["mismatches"].append("insights simulate failed:\n" + sim.output()[-2000:])
        ctx["after_ingest"].append(collect_simulate)
        statuses_while_down = []
        for round_ in range(2):
            wait_for_acks(ctx, 0.25 + 0.35 * round_)
            acked_before = ctx["ledger"].snapshot()
            os.kill(c.redis.proc.pid, signal.SIGKILL)
            c.redis.proc.wait()
            c.redis.proc = None
            log(f"  redis-server killed (-9), round {round_ + 1}; {len(acked_before)} events acknowledged so far")
            # While it is down the front must refuse (503), never claim an acceptance.
            conn = http.client.HTTPConnection("127.0.0.1", c.front.port, timeout=10)
            probe = [{"event_id": f"probe-{round_}", "agent_id": ctx["workload"].agents[0], "session_id": "probe",
                      "event_type": "custom", "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())}]
            conn.request("POST", "/api/v1/events", json.dumps(probe).encode(), {"Content-Type": "application/json"})
            resp = conn.getresponse()
            resp.read()
            conn.close()
            statuses_while_down.append(resp.status)
            if resp.status != 503 or resp.getheader("Retry-After") is None:
                ctx["result"]["mismatches"].append(f"front answered {resp.status} while Redis was down (want 503 + Retry-After)")
            time.sleep(1.5)
            c.redis.start()
            log("  redis-server restarted from its AOF")
            # Every event acknowledged before the crash is still there (appendfsync always).
            seen = known_ids(c.redis.client(), ctx["workload"].agents)
            lost = acked_before - seen
            if lost:
                ctx["result"]["mismatches"].append(f"{len(lost)} acknowledged events lost by the restart")
        ctx["result"]["notes"].append(f"2 kill -9 + restarts; front while down: {statuses_while_down}")
    return run_scenario(4, "kill -9 redis (AOF always), restart", events, fault,
                        cluster_kwargs={"appendonly": True, "fsync": "always", "session_timeout": 10}, timeout=5.0,
                        pace=0.4 * DEFAULT_EVENTS[4] / max(events, 1))


def s5_script_flush(events):
    """SCRIPT FLUSH every 2 s during ingest: no request may fail (NOSCRIPT is reloaded)."""
    flushes = []

    def fault(ctx):
        rc = ctx["cluster"].redis.client()
        while_producing(ctx, 1.0, lambda c: flushes.append(rc.script_flush()), first_after=0.5)
        ctx["result"]["notes"].append(f"{len(flushes)} SCRIPT FLUSH")
    # Paced so that ingest lasts ~15 s: about 15 flushes land between requests and worker batches.
    return run_scenario(5, "SCRIPT FLUSH every 1 s", events, fault, require_first_try=True, quiet_logs=True,
                        pace=0.4 * DEFAULT_EVENTS[5] / max(events, 1))


def s6_stream_cap(events):
    """Workers stopped while ingest passes the stream cap: refused (503), never trimmed; then drained."""
    cap = 2000

    def fault(ctx):
        c, prod, wl = ctx["cluster"], ctx["producers"], ctx["workload"]
        rc = c.redis.client()
        # Wait until ingest is refused: every agent's stream near the cap and 503s coming back.
        wait_until(lambda: prod.stats["status"].get("503", 0) >= 20 or not prod.alive(), 120, "refusals")
        # Then until nothing more gets through (every producer stuck on a refused batch).
        acked, stable_since = ctx["ledger"].snapshot(), time.monotonic()
        while time.monotonic() - stable_since < 1.0:
            time.sleep(0.1)
            now_acked = ctx["ledger"].snapshot()
            if now_acked != acked:
                acked, stable_since = now_acked, time.monotonic()
        refusals_before = prod.stats["status"].get("503", 0)
        time.sleep(1)
        acked_after = ctx["ledger"].snapshot()
        if prod.stats["status"].get("503", 0) <= refusals_before:
            ctx["result"]["mismatches"].append("producers were not being refused while every stream was full")
        in_streams = set()
        raw = binary(rc)
        for a in wl.agents:
            key = f"ins:{{{a}}}:stream"
            n = rc.xlen(key)
            if n > cap:
                ctx["result"]["mismatches"].append(f"{key} holds {n} entries > cap {cap}")
            in_streams.update(storage.decode_records(f[b"r"])[0]["event_id"] for _, f in raw.xrange(key))
        missing = acked - in_streams
        if missing:
            ctx["result"]["mismatches"].append(f"{len(missing)} acknowledged unread events are not in the stream (trimmed?)")
        if acked_after != acked:
            ctx["result"]["mismatches"].append("events were acknowledged while every stream was full")
        # What a platform sees: 503, Retry-After, a JSON body saying the stream is full.
        # 1000 new events for the fullest agent: more than any room left under the cap.
        fullest = max(wl.agents, key=lambda a: rc.xlen(f"ins:{{{a}}}:stream"))
        probe = [{"event_id": f"probe-cap-{i}", "agent_id": fullest, "session_id": "probe", "event_type": "custom",
                  "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())} for i in range(1000)]
        conn = http.client.HTTPConnection("127.0.0.1", c.front.port, timeout=10)
        conn.request("POST", "/api/v1/events", json.dumps(probe).encode(), {"Content-Type": "application/json"})
        resp = conn.getresponse()
        body = json.loads(resp.read())
        conn.close()
        if resp.status != 503 or not resp.getheader("Retry-After") or body.get("error") != "stream full":
            ctx["result"]["mismatches"].append(f"full stream answered {resp.status} {resp.getheader('Retry-After')} {body}")
        else:
            ctx["result"]["notes"].append(f"full stream: 503, Retry-After {resp.getheader('Retry-After')}, {body['detail'][:60]}...")
        ctx["result"]["notes"].append(f"cap {cap}: {len(acked)} of {len(wl.events)} acknowledged before workers started, "
                                      f"{prod.stats['status'].get('503', 0)} refusals (503)")
        log(f"  streams full: {len(acked)} acknowledged, starting workers")
        c.start_workers()
    return run_scenario(6, "stream cap with workers stopped", events, fault,
                        cluster_kwargs={"start_workers": False, "front_args": ("--stream-cap", str(cap))},
                        batch_size=100, threads=2)


def s7_poison(events):
    """Poison entries (not decodable) XADDed mid-ingest: dead-lettered after 5 deliveries, the rest exact."""
    def poison(ctx):
        time.sleep(1.0)
        rc = ctx["cluster"].redis.client()
        a = ctx["workload"].agents[0]
        key = f"ins:{{{a}}}:stream"
        rc.sadd("ins:agents", a)
        ids = [rc.xadd(key, {"j": "{not json"}), rc.xadd(key, {"x": "no j field"}),
               rc.xadd(key, {"j": json.dumps({"event_id": "p1", "event_type": "nope", "session_id": "s",
                                              "timestamp": "2026-01-01T00:00:00Z"})}),
               rc.xadd(key, {"s": "s1", "r": "not a journey record"})]
        ctx["poison"][a] = ids
        ctx["result"]["notes"].append(f"{len(ids)} poison entries")

    def fault(ctx):
        ctx["producers"].join()
    return run_scenario(7, "poison entries", events, fault, poison=poison, quiet_logs=True)


from cluster_scenarios import (s8_graceful_failover, s9_kill_primary_acked, s10_kill_primary_unacked,  # noqa: E402
                               s11_reshard, s12_kill_workers_cluster)


SCENARIOS = {1: s1_kill_workers, 2: s2_duplicates, 3: s3_sigstop, 4: s4_redis_restart, 5: s5_script_flush,
             6: s6_stream_cap, 7: s7_poison, 8: s8_graceful_failover, 9: s9_kill_primary_acked,
             10: s10_kill_primary_unacked, 11: s11_reshard, 12: s12_kill_workers_cluster}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scenario", type=int, action="append", choices=sorted(SCENARIOS),
                    help="run only this scenario (repeatable); default: all")
    ap.add_argument("--events", type=int, default=int(os.environ.get("CHAOS_EVENTS", "0")),
                    help="events per scenario (env CHAOS_EVENTS; default per scenario, 200 000 for scenario 1)")
    ap.add_argument("--json", help="also write the results to this file")
    args = ap.parse_args()
    chosen = args.scenario or sorted(SCENARIOS)
    results = []
    t0 = time.monotonic()
    for n in chosen:
        results.append(SCENARIOS[n](args.events or DEFAULT_EVENTS[n]))
    print()
    print(f"{'#':>2}  {'scenario':<40} {'events':>8} {'acked':>8} {'posts':>6} {'retries':>7} {'kills':>5} "
          f"{'ingest s':>8} {'drain s':>7}  result")
    for r in results:
        p = r.get("producer", {})
        print(f"{r['n']:>2}  {r['name']:<40} {r['events']:>8} {r.get('acknowledged', 0):>8} {p.get('posts', 0):>6} "
              f"{p.get('retries', 0):>7} {r.get('kills', 0):>5} {r.get('ingest_s', 0):>8} {r.get('drain_s', 0):>7}  "
              f"{'PASS' if not r['mismatches'] else 'FAIL (%d)' % len(r['mismatches'])}")
    print(f"total {time.monotonic() - t0:.0f} s")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1, default=str))
    return 0 if all(not r["mismatches"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
