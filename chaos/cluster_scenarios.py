"""Chaos scenarios 8-12 (issue 14): faults of a private Redis Cluster (docs/reliability.md)."""
from __future__ import annotations

import os
import signal
import time

from harness import DEFAULT_EVENTS, log, run_scenario, wait_for_acks, while_producing  # noqa: E402
from ledger import binary  # noqa: E402
from service import wait_until  # noqa: E402


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


