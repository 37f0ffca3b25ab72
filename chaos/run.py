"""Chaos suite (issue 7): faults injected into real processes; the ledger must match Redis exactly.

    .venv/bin/python chaos/run.py                 # every scenario
    .venv/bin/python chaos/run.py --scenario 4    # one (repeat --scenario for several)
    CHAOS_EVENTS=200000 .venv/bin/python chaos/run.py --scenario 1

Each scenario starts its own redis-server (unix socket, temp dir), one `insights serve` front and
`insights worker` processes, sends realistic conversations through `POST /api/v1/events` from
several producer threads (a 5xx, timeout or connection error → the same batch again, like a real
platform), injects its fault, waits until the workers have drained (lag 0, pending 0, every
session finalized) and compares every counter, outcome, journey, seen set and dead letter with
what the ledger of acknowledged event_ids implies (chaos/ledger.py). Exit status 1 on any mismatch.
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import queue
import random
import shutil
import signal
import sys
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "e2e"))
from ledger import Ledger, Workload, verify, wait_drained, wire  # noqa: E402
from service import Front, Insights, Redis, wait_until  # noqa: E402

DEFAULT_EVENTS = {1: 200_000, 2: 30_000, 3: 40_000, 4: 40_000, 5: 30_000, 6: 12_000, 7: 20_000}
# Workers claim entries of dead consumers after 2 s (default 30 s) so a scenario drains in seconds;
# sessions idle 60 s (event time, or wall clock: grace 0) are finalized, so outcomes are final.
WORKER_ARGS = ["--wall-clock-grace-ms", "0", "--claim-idle-ms", "2000",
               "--claim-interval-ms", "1000", "--trim-interval-ms", "2000", "--max-deliveries", "5"]


def log(msg: str):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


class Producers:
    """Producer threads posting batches until each gets a 2xx; acknowledged ids go to the ledger."""

    def __init__(self, port: int, batches: list[list[dict]], ledger: Ledger, threads: int = 4,
                 sends: int = 1, timeout: float = 3.0, retry_delay: float = 0.2, pace: float = 0.0):
        self.port, self.ledger, self.timeout, self.retry_delay, self.pace = port, ledger, timeout, retry_delay, pace
        self.queue: queue.Queue = queue.Queue()
        for b in batches:
            for _ in range(sends):
                self.queue.put(b)
        self.lock = threading.Lock()
        self.stats = {"posts": 0, "ok": 0, "retries": 0, "first_try_failures": 0, "status": {}, "errors": {}}
        self.threads = [threading.Thread(target=self._run, daemon=True) for _ in range(threads)]
        self.stop_flag = False

    def start(self):
        for t in self.threads:
            t.start()
        return self

    def alive(self) -> bool:
        return any(t.is_alive() for t in self.threads)

    def join(self, timeout: float | None = None):
        deadline = None if timeout is None else time.monotonic() + timeout
        for t in self.threads:
            t.join(None if deadline is None else max(0.0, deadline - time.monotonic()))

    def add(self, batches):
        for b in batches:
            self.queue.put(b)

    def _count(self, kind: str, key: str):
        with self.lock:
            self.stats[kind][key] = self.stats[kind].get(key, 0) + 1

    def _run(self):
        try:
            self._produce()
        except Exception as e:  # noqa: BLE001 - reported as a mismatch by run_scenario
            with self.lock:
                self.stats.setdefault("fatal", []).append(repr(e))

    def _produce(self):
        conn = None
        while not self.stop_flag:
            try:
                batch = self.queue.get_nowait()
            except queue.Empty:
                break
            body = wire(batch)
            if self.pace:
                time.sleep(self.pace)  # spread ingest over time so the fault lands mid-ingest
            attempt = 0
            while not self.stop_flag:
                attempt += 1
                with self.lock:
                    self.stats["posts"] += 1
                    if attempt > 1:
                        self.stats["retries"] += 1
                try:
                    if conn is None:
                        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
                    conn.request("POST", "/api/v1/events", body, {"Content-Type": "application/json"})
                    resp = conn.getresponse()
                    data = resp.read()
                    status = resp.status
                except Exception as e:  # noqa: BLE001 - timeout, reset, refused: retry the same batch
                    if conn is not None:
                        conn.close()
                    conn = None
                    self._count("errors", type(e).__name__)
                    if attempt == 1:
                        with self.lock:
                            self.stats["first_try_failures"] += 1
                    time.sleep(self.retry_delay)
                    continue
                self._count("status", str(status))
                if status >= 300:
                    with self.lock:
                        samples = self.stats.setdefault("samples", {})
                        if len(samples.setdefault(str(status), [])) < 3:
                            samples[str(status)].append(data[:300].decode(errors="replace"))
                if 200 <= status < 300:
                    reply = json.loads(data)
                    rejected = {r["index"] for r in reply["rejected"]}
                    self.ledger.ack(e["event_id"] for i, e in enumerate(batch) if i not in rejected)
                    with self.lock:
                        self.stats["ok"] += 1
                    break
                if attempt == 1:
                    with self.lock:
                        self.stats["first_try_failures"] += 1
                if status < 500:
                    raise RuntimeError(f"unexpected {status}: {data[:300]!r}")
                time.sleep(self.retry_delay)
        if conn is not None:
            conn.close()


class Cluster:
    """redis-server + front + workers for one scenario; every process stopped by PID at the end."""

    def __init__(self, name: str, workers: int = 3, appendonly: bool = False, fsync: str = "everysec",
                 front_args: tuple[str, ...] = (), start_workers: bool = True, session_timeout: int = 60):
        self.name = name
        self.session_timeout = session_timeout
        self.redis = Redis(appendonly=appendonly, fsync=fsync)
        self.log_dir = self.redis.dir / "logs"
        self.log_dir.mkdir()
        self.front = Front(self.redis.url, *front_args)
        self.n_workers = workers
        self.workers: list[Insights] = []
        self.kills = 0
        self.orphaned = 0  # pending entries left by killed workers
        if start_workers:
            self.start_workers()

    def start_workers(self, n: int | None = None):
        for _ in range(n if n is not None else self.n_workers):
            self.workers.append(Insights("worker", "--redis-url", self.redis.url, "--session-timeout", str(self.session_timeout),
                                         *WORKER_ARGS, log_dir=self.log_dir))

    def kill_worker(self, rng: random.Random, agents: list[str] = ()):
        live = [w for w in self.workers if w.alive()]
        victim = rng.choice(live)
        os.kill(victim.proc.pid, signal.SIGKILL)
        victim.proc.wait()
        self.kills += 1
        # Entries the dead consumer had read but not acknowledged: others must claim them (XAUTOCLAIM).
        rc = self.redis.client()
        for a in agents:
            try:
                summary = rc.xpending(f"ins:{{{a}}}:stream", "workers")
            except Exception:  # noqa: BLE001 - no group yet
                continue
            for cons in summary.get("consumers") or []:
                if f"-{victim.proc.pid}-" in cons["name"]:
                    self.orphaned += int(cons["pending"])
        self.workers.remove(victim)
        self.start_workers(1)

    def dead_processes(self) -> list[str]:
        out = []
        if not self.front.alive():
            out.append("front exited:\n" + self.front.output()[-2000:])
        for w in self.workers:
            if not w.alive():
                out.append("worker exited:\n" + w.output()[-2000:])
        return out

    def stop(self, keep_files: bool):
        for w in self.workers:
            w.stop()
        self.front.stop()
        self.redis.stop()
        if not keep_files:
            shutil.rmtree(self.redis.dir, ignore_errors=True)
            shutil.rmtree(self.front.log_dir, ignore_errors=True)


def run_scenario(n: int, name: str, events: int, fault, *, cluster_kwargs=None, sends: int = 1,
                 threads: int = 4, batch_size: int = 200, timeout: float = 3.0, drain_timeout: float = 180,
                 poison=None, third_send: float = 0.0, require_first_try: bool = False, seed: int = 7,
                 self_check: bool = False, pace: float = 0.0, quiet_logs: bool = False) -> dict:
    """The common frame: start, produce while `fault(ctx)` runs, drain, verify."""
    log(f"scenario {n}: {name} ({events} events)")
    t0 = time.monotonic()
    run_id = f"{n}x{int(time.time()) % 100000}"
    wl = Workload(run_id, events, seed=seed + n)
    ledger = Ledger()
    c = Cluster(name, **(cluster_kwargs or {}))
    result = {"n": n, "name": name, "events": len(wl.events), "mismatches": [], "notes": []}
    try:
        batches = wl.batches(batch_size)
        prod = Producers(c.front.port, batches, ledger, threads=threads, sends=sends, timeout=timeout, pace=pace).start()
        ctx = {"cluster": c, "producers": prod, "ledger": ledger, "workload": wl, "result": result,
               "rng": random.Random(seed), "poison": {}, "after_ingest": []}
        if poison:
            poison(ctx)
        fault(ctx)
        prod.join()
        if third_send:
            # "some a third time later": a share of the batches once more, after everything else.
            again = random.Random(seed).sample(batches, int(len(batches) * third_send))
            prod2 = Producers(c.front.port, again, ledger, threads=threads, timeout=timeout).start()
            prod2.join()
            for k in ("posts", "ok", "retries", "first_try_failures"):
                prod.stats[k] += prod2.stats[k]
            for k in ("status", "errors"):
                for code, count in prod2.stats[k].items():
                    prod.stats[k][code] = prod.stats[k].get(code, 0) + count
            result["notes"].append(f"{len(again)} batches sent a third time")
        ingest_s = time.monotonic() - t0
        for code in prod.stats["status"]:
            if code not in ("200", "503"):
                result["mismatches"].append(f"{prod.stats['status'][code]} answers {code} (only 200, or 503 + retry, are expected): "
                                            f"{prod.stats.get('samples', {}).get(code)}")
        for hook in ctx.get("after_ingest", []):
            hook(ctx)
        ok, state, drain_s = wait_drained(c.redis.client(), wl.agents, drain_timeout)
        if not ok:
            result["mismatches"].append(f"workers did not drain in {drain_timeout}s: {state}")
        result["mismatches"] += c.dead_processes()
        if quiet_logs:
            # Redis was never disturbed here: no worker or front may have logged an error.
            for p in [c.front, *c.workers]:
                errors = [line for line in p.output().splitlines() if " error insights." in line]
                if errors:
                    result["mismatches"].append(f"{len(errors)} error lines in {p.log}: {errors[:3]}")
        bad, figures = verify(c.redis.client(), wl, ledger.snapshot(), ctx["poison"])
        result["mismatches"] += bad
        # Producers retry until a 2xx: every generated event must end up acknowledged.
        never = len(wl.by_id.keys() - ledger.snapshot())
        if never or prod.stats.get("fatal"):
            result["mismatches"].append(f"{never} generated events never acknowledged; producer failures: {prod.stats.get('fatal')}")
        if require_first_try and prod.stats["first_try_failures"]:
            result["mismatches"].append(f"{prod.stats['first_try_failures']} requests failed on their first try")
        if self_check and not bad:
            # The check itself must be able to fail: one event missing from the ledger, one counter off by one.
            rc = c.redis.client()
            ids = ledger.snapshot()
            one = sorted(ids)[len(ids) // 2]
            bad1, _ = verify(rc, wl, ids - {one}, ctx["poison"])
            key = sorted(rc.scan_iter(match=f"ins:{{{wl.agents[0]}}}:b:h:*"))[0]
            rc.hincrby(key, "out:ended", 1)
            bad2, _ = verify(rc, wl, ids, ctx["poison"])
            rc.hincrby(key, "out:ended", -1)
            if len(bad1) < 4 or len(bad2) != 1:
                result["mismatches"].append(f"self-check: the verifier missed injected errors ({bad1[:5]}, {bad2})")
            else:
                result["notes"].append(f"self-check: an unacknowledged event gave {len(bad1)} mismatches, "
                                       f"a counter +1 gave {len(bad2)}")
        result.update(figures)
        result["events"] = len(wl.events)
        result["producer"] = prod.stats
        result["ingest_s"] = round(ingest_s, 1)
        result["drain_s"] = round(drain_s, 1)
        result["kills"] = c.kills
    except Exception as e:  # noqa: BLE001 - reported as a failure of the scenario
        import traceback
        result["mismatches"].append("exception: " + "".join(traceback.format_exception(e))[-3000:])
    finally:
        c.stop(keep_files=bool(result["mismatches"]))
    result["seconds"] = round(time.monotonic() - t0, 1)
    status = "PASS" if not result["mismatches"] else "FAIL"
    log(f"scenario {n}: {status} in {result['seconds']} s; producer {result.get('producer')}; notes {result['notes']}")
    for m in result["mismatches"][:30]:
        log("  MISMATCH " + m)
    if result["mismatches"]:
        log(f"  logs kept in {c.log_dir}")
    return result


def while_producing(ctx, every: float, action, first_after: float = 0.0):
    """Runs action(ctx) every `every` seconds while the producers are still sending."""
    prod = ctx["producers"]
    time.sleep(first_after)
    while prod.alive():
        action(ctx)
        deadline = time.monotonic() + every
        while prod.alive() and time.monotonic() < deadline:
            time.sleep(0.05)


def wait_for_acks(ctx, share: float, timeout: float = 120):
    """Waits until `share` of the generated events are acknowledged (mid-ingest)."""
    want = int(len(ctx["workload"].events) * share)
    wait_until(lambda: len(ctx["ledger"].snapshot()) >= want or not ctx["producers"].alive(), timeout, "acks")


# ---------------------------------------------------------------------------
# Scenarios
# ---------------------------------------------------------------------------

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
            seen = set()
            rc = c.redis.client()
            for a in ctx["workload"].agents:
                for k in rc.scan_iter(match=f"ins:{{{a}}}:seen:*"):
                    seen.update(rc.smembers(k))
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
        for a in wl.agents:
            key = f"ins:{{{a}}}:stream"
            n = rc.xlen(key)
            if n > cap:
                ctx["result"]["mismatches"].append(f"{key} holds {n} entries > cap {cap}")
            in_streams.update(json.loads(f["j"])["event_id"] for _, f in rc.xrange(key))
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
                                              "timestamp": "2026-01-01T00:00:00Z"})})]
        ctx["poison"][a] = ids
        ctx["result"]["notes"].append(f"{len(ids)} poison entries")

    def fault(ctx):
        ctx["producers"].join()
    return run_scenario(7, "poison entries", events, fault, poison=poison, quiet_logs=True)


SCENARIOS = {1: s1_kill_workers, 2: s2_duplicates, 3: s3_sigstop, 4: s4_redis_restart, 5: s5_script_flush,
             6: s6_stream_cap, 7: s7_poison}


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
