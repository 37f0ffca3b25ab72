"""The chaos suite's machinery: a cluster of real processes (redis-server, `insights serve`,
`insights worker`), HTTP producers that keep a ledger of acknowledged events, and the run of one
scenario (fault, drain, verification against the ledger). The scenarios are in run.py."""
from __future__ import annotations

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
from ledger import Ledger, Workload, binary, known_ids, verify, wait_drained, wire  # noqa: E402
import storage  # noqa: E402
from service import Cluster as RedisCluster, Front, Insights, Redis, wait_until  # noqa: E402

DEFAULT_EVENTS = {1: 200_000, 2: 30_000, 3: 40_000, 4: 40_000, 5: 30_000, 6: 12_000, 7: 20_000,
                  8: 30_000, 9: 30_000, 10: 30_000, 11: 30_000, 12: 40_000}
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


def add_to_counter(r, key: str, field: str, delta: int):
    """Changes one bucket counter by hand (the self-check), keeping its expiry."""
    raw = binary(r)
    counters = storage.counters(raw.get(key))
    counters[field] = counters.get(field, 0) + delta
    raw.set(key, storage.msgpack.packb({storage.field_code(k): v for k, v in counters.items()}), keepttl=True)
    raw.close()


class Cluster:
    """redis-server + front + workers for one scenario; every process stopped by PID at the end."""

    def __init__(self, name: str, workers: int = 3, appendonly: bool = False, fsync: str = "everysec",
                 front_args: tuple[str, ...] = (), start_workers: bool = True, session_timeout: int = 60,
                 redis_cluster: bool = False):
        self.name = name
        self.session_timeout = session_timeout
        # A plain redis-server, or a private Redis Cluster (3 primaries, 3 replicas) for scenarios 8-12.
        self.redis = RedisCluster() if redis_cluster else Redis(appendonly=appendonly, fsync=fsync)
        self.log_dir = self.redis.dir / "logs"
        self.log_dir.mkdir()
        self.front = Front(self.redis.url, *front_args)
        self.n_workers = workers
        self.workers: list[Insights] = []
        self.kills = 0
        self.orphaned = 0  # pending entries left by killed workers
        self.orphaned_by_agent: dict[str, int] = {}
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
                    self.orphaned_by_agent[a] = self.orphaned_by_agent.get(a, 0) + int(cons["pending"])
        self.workers.remove(victim)
        self.start_workers(1)

    def journey_ids(self, agent: str, session: str) -> list[str]:
        """The session's event ids as the front's users/journey answers them ([] if 404)."""
        if getattr(self, "_conn", None) is None:
            self._conn = http.client.HTTPConnection("127.0.0.1", self.front.port, timeout=30)
        for attempt in range(2):
            try:
                self._conn.request("GET", f"/api/v1/analytics/users/journey/{session}?agent_id={agent}")
                r = self._conn.getresponse()
                body = r.read()
                return [e["event_id"] for e in json.loads(body)["journey"]] if r.status == 200 else []
            except (OSError, http.client.HTTPException):
                self._conn.close()
                self._conn = http.client.HTTPConnection("127.0.0.1", self.front.port, timeout=30)
        return []

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
                 self_check: bool = False, pace: float = 0.0, quiet_logs: bool = False, lossy: bool = False) -> dict:
    """The common frame: start, produce while `fault(ctx)` runs, drain, verify.

    `lossy`: the fault may lose acknowledged events (a primary killed without --replica-acks). The
    loss is counted (`lost`) and Redis is checked against the acknowledged events that survived:
    every one of them counted exactly once, nothing counted that was not acknowledged."""
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
        acked = ledger.snapshot()
        if lossy:
            survived = known_ids(c.redis.client(), wl.agents)
            result["lost"] = len(acked - survived)
            result["notes"].append(f"{result['lost']} acknowledged events lost")
            acked = acked & survived
        bad, figures = verify(c.redis.client(), wl, acked, ctx["poison"], journey=c.journey_ids)
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
            bad1, _ = verify(rc, wl, ids - {one}, ctx["poison"], journey=c.journey_ids)
            key = sorted(rc.scan_iter(match=f"ins:{{{wl.agents[0]}}}:c:h:*"))[0]
            add_to_counter(rc, key, "out:ended", 1)
            bad2, _ = verify(rc, wl, ids, ctx["poison"], journey=c.journey_ids)
            add_to_counter(rc, key, "out:ended", -1)
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
