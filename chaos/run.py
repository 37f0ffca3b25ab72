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


# ---------------------------------------------------------------------------
# Redis Cluster (issue 14): a private 3-primary, 3-replica cluster; the front and workers are given
# only its URL. Every agent's keys live on the primary of its slot; the agents spread over all three.
# ---------------------------------------------------------------------------

def wait_failover(c, old_primary: int, key: str, timeout: float = 30) -> int:
    """Waits until another node serves `key`'s slot and the cluster is ok; returns the new primary."""
    wait_until(lambda: c.redis.owner(key) != old_primary and "cluster_state:ok" in c.redis.cli(c.redis.owner(key), "CLUSTER", "INFO"),
               timeout, "the failover")
    return c.redis.owner(key)


def spread(ctx) -> str:
    """Which primary serves each agent (the note shows the agents are spread)."""
    c = ctx["cluster"]
    owners = {}
    for a in ctx["workload"].agents:
        owners.setdefault(c.redis.owner(f"ins:{{{a}}}:stream"), []).append(a.rsplit("-", 1)[1])
    return "agents per primary " + ", ".join(f"{p}: {'/'.join(v)}" for p, v in sorted(owners.items()))


def s8_graceful_failover(events):
    """CLUSTER FAILOVER on a replica of each primary in turn, mid-ingest and while workers drain."""
    def fault(ctx):
        c = ctx["cluster"]
        ctx["result"]["notes"].append(spread(ctx))
        agents = ctx["workload"].agents
        done = 0
        for i in range(3):
            wait_for_acks(ctx, 0.2 + 0.25 * i)
            key = f"ins:{{{agents[i % len(agents)]}}}:stream"
            primary = c.redis.owner(key)
            replica = c.redis.replica_of(primary)
            c.redis.cli(replica, "CLUSTER", "FAILOVER")
            wait_failover(c, primary, key)
            done += 1
            log(f"  failover {done}: {replica} took over from {primary}")
        ctx["result"]["notes"].append(f"{done} graceful failovers")
    return run_scenario(8, "cluster: graceful failovers", events, fault, cluster_kwargs={"redis_cluster": True},
                        pace=0.3 * DEFAULT_EVENTS[8] / max(events, 1))


def kill_primaries(ctx, rounds: int):
    """kill -9 the primary of an agent mid-ingest, wait for its replica to take over, restart the
    killed node (it rejoins as a replica of the new primary), `rounds` times."""
    c = ctx["cluster"]
    ctx["result"]["notes"].append(spread(ctx))
    agents = ctx["workload"].agents
    for i in range(rounds):
        wait_for_acks(ctx, 0.15 + 0.7 * i / rounds)
        key = f"ins:{{{agents[i % len(agents)]}}}:stream"
        primary = c.redis.owner(key)
        c.redis.kill(primary)
        log(f"  primary {primary} killed (-9), round {i + 1}; {len(ctx['ledger'].snapshot())} events acknowledged so far")
        new = wait_failover(c, primary, key)
        log(f"  {new} promoted")
        c.redis.start_node(primary)
        wait_until(c.redis.healthy, 60, "the killed node back as a replica")
        log(f"  {primary} rejoined as a replica")
    ctx["result"]["notes"].append(f"{rounds} primaries killed (-9) and restarted")


def s9_kill_primary_acked(events):
    """kill -9 a primary mid-ingest with --replica-acks 1: nothing acknowledged is lost or doubled."""
    return run_scenario(9, "cluster: kill -9 primary, --replica-acks 1", events, lambda ctx: kill_primaries(ctx, 2),
                        cluster_kwargs={"redis_cluster": True, "front_args": ("--replica-acks", "1")}, timeout=5.0,
                        pace=0.4 * DEFAULT_EVENTS[9] / max(events, 1))


def s10_kill_primary_unacked(events):
    """The same without --replica-acks: the loss window, measured (what survived is exact)."""
    return run_scenario(10, "cluster: kill -9 primary, no replica acks", events, lambda ctx: kill_primaries(ctx, 3),
                        cluster_kwargs={"redis_cluster": True}, timeout=5.0, lossy=True,
                        pace=0.4 * DEFAULT_EVENTS[10] / max(events, 1))


def move_slot(c, key: str, target: int, batch: int = 5, pause: float = 0.02) -> int:
    """Moves `key`'s slot to the primary `target` the way `redis-cli --cluster reshard` does (SETSLOT
    IMPORTING / MIGRATING, MIGRATE the keys in batches, SETSLOT NODE everywhere), slowly, so that
    commands meet the migration half-way. Returns the keys moved."""
    source = c.redis.owner(key)
    s, t = c.redis.node(source), c.redis.node(target)
    slot = s.execute_command("CLUSTER", "KEYSLOT", key)
    sid, tid = s.execute_command("CLUSTER", "MYID"), t.execute_command("CLUSTER", "MYID")
    t.execute_command("CLUSTER", "SETSLOT", slot, "IMPORTING", sid)
    s.execute_command("CLUSTER", "SETSLOT", slot, "MIGRATING", tid)
    moved = 0
    while True:
        keys = s.execute_command("CLUSTER", "GETKEYSINSLOT", slot, batch)
        if not keys:
            break
        s.execute_command("MIGRATE", "127.0.0.1", target, "", 0, 5000, "KEYS", *keys)
        moved += len(keys)
        time.sleep(pause)
    for p in c.redis.primary_ports():
        c.redis.node(p).execute_command("CLUSTER", "SETSLOT", slot, "NODE", tid)
    return moved


def redirections(c) -> dict[str, int]:
    """ASK, MOVED and TRYAGAIN replies the primaries have sent (INFO errorstats)."""
    out = {"ASK": 0, "MOVED": 0, "TRYAGAIN": 0}
    for p in c.redis.primary_ports():
        stats = c.redis.node(p).info("errorstats")
        for k in out:
            out[k] += int(stats.get(f"errorstat_{k}", {}).get("count", 0))
    return out


def s11_reshard(events):
    """Moves the slots of two live agents to another primary and back, mid-ingest and while workers
    drain: ASK and MOVED both happen, scripts wait out each migration (TRYAGAIN), all exact."""
    def fault(ctx):
        c = ctx["cluster"]
        ctx["result"]["notes"].append(spread(ctx))
        agents = ctx["workload"].agents[:2]
        moves = []
        for i in range(4):
            wait_for_acks(ctx, 0.1 + 0.2 * i)
            key = f"ins:{{{agents[i % 2]}}}:stream"
            source = c.redis.owner(key)
            target = next(p for p in c.redis.primary_ports() if p != source)
            n = move_slot(c, key, target)
            moves.append(n)
            log(f"  slot of {agents[i % 2]} moved {source} -> {target} ({n} keys)")
        seen = redirections(c)
        ctx["result"]["notes"].append(f"{len(moves)} slot moves ({moves} keys); primaries answered {seen}")
        if not seen["ASK"] or not seen["MOVED"]:
            ctx["result"]["mismatches"].append(f"no ASK or no MOVED during the moves ({seen}): the scenario tested nothing")
    return run_scenario(11, "cluster: resharding live agents", events, fault, cluster_kwargs={"redis_cluster": True},
                        timeout=10.0, pace=0.4 * DEFAULT_EVENTS[11] / max(events, 1))


def s12_kill_workers_cluster(events):
    """kill -9 a worker every 3 s while the agents' streams are spread over three primaries."""
    def fault(ctx):
        c = ctx["cluster"]
        ctx["result"]["notes"].append(spread(ctx))
        agents = ctx["workload"].agents
        # A worker that dies holding entries of every agent, so on every primary: entries read (as a
        # consumer of the group) and never acknowledged. The live workers must claim them on each node.
        wait_for_acks(ctx, 0.3)
        live = [w for w in c.workers if w.alive()]
        for w in live:  # paused, so that entries wait undelivered while ingest goes on
            os.kill(w.proc.pid, signal.SIGSTOP)
        time.sleep(1.5)
        rc = binary(c.redis.client())  # entries hold binary journey records
        for a in agents:
            got = rc.xreadgroup("workers", "crashed-0-worker", {f"ins:{{{a}}}:stream": ">"}, count=100)
            n = sum(len(entries) for _, entries in got)
            c.orphaned += n
            c.orphaned_by_agent[a] = c.orphaned_by_agent.get(a, 0) + n
        for w in live:
            os.kill(w.proc.pid, signal.SIGCONT)
        while_producing(ctx, 3.0, lambda x: c.kill_worker(x["rng"], agents), first_after=0.5)
        for _ in range(2):
            c.kill_worker(ctx["rng"], agents)
            time.sleep(3.0)
        by_node: dict[int, int] = {}
        for a, n in c.orphaned_by_agent.items():
            node = c.redis.owner(f"ins:{{{a}}}:stream")
            by_node[node] = by_node.get(node, 0) + n
        ctx["result"]["notes"].append(f"{c.kills} workers killed with {c.orphaned} entries pending on them, per primary "
                                      f"{dict(sorted(by_node.items()))} (claimed by the others)")
        if len(by_node) < 3:
            ctx["result"]["mismatches"].append(f"dead consumers held pending entries on {len(by_node)} primary(ies) only: "
                                               "the scenario did not test claims on every node")
    return run_scenario(12, "cluster: kill -9 a worker every 3 s", events, fault, batch_size=500,
                        cluster_kwargs={"redis_cluster": True}, quiet_logs=True,
                        pace=0.5 * DEFAULT_EVENTS[12] / max(events, 1))


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
