"""Chaos suite: the events we generate, the ledger of what the service acknowledged, and the check.

The expected Redis state is computed here, in Python, from the acknowledged events alone
(docs/keys.md, docs/worker.md): bucket counters of every minute/hour/day bucket, session
outcomes, journeys, seen sets, pending entries and dead letters. `verify` compares it with
what is in Redis and returns a list of mismatches (empty = exact).
"""
from __future__ import annotations

import json
import random
import threading
import time
from collections import Counter, defaultdict
from datetime import datetime, timedelta, timezone
from pathlib import Path
import sys

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "e2e"))
import storage  # noqa: E402  reading what Insights stores (docs/keys.md)

MESSAGE_TYPES = {"user_message", "bot_response"}
INTENTS = ["book_flight", "cancel", "refund", "greeting", "baggage", "seat_change"]
CHANNELS = ["web", "slack", "whatsapp"]
GRANULARITIES = (("m", 60), ("h", 3600), ("d", 86400))
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


class Workload:
    """Realistic conversations for a few agents, timestamps in the last few hours (buckets exist).

    Each event is a dict in the API's JSON form plus the private key `_ts` (ms). Deterministic per seed.
    """

    def __init__(self, run_id: str, n_events: int, agents: int = 4, seed: int = 7, end_ratio: float = 0.8):
        rng = random.Random(seed)
        now = int(time.time() * 1000)
        self.agents = [f"chaos{run_id}-{i}" for i in range(agents)]
        self.events: list[dict] = []
        self.by_id: dict[str, dict] = {}
        sess = 0
        while len(self.events) < n_events:
            agent = self.agents[sess % agents]
            sid = f"s{sess}"
            sess += 1
            # Sessions start between 3 h and 20 min ago; events 1-20 s apart.
            ts = now - rng.randint(20 * 60_000, 3 * 3600_000)
            channel = rng.choice(CHANNELS)
            evs: list[tuple[str, dict, dict]] = [("conversation_start", {}, {})]
            for _ in range(rng.randint(1, 4)):
                evs.append(("user_message", {}, {}))
                intent = rng.choice(INTENTS)
                evs.append(("intent_classified", {"intent": intent}, {"confidence": rng.randint(30, 99) / 100}))
                if rng.random() < 0.1:
                    evs.append(("workflow_started", {"workflow": "w"}, {}))
                    evs.append((rng.choice(["workflow_completed", "workflow_failed"]), {"workflow": "w"}, {}))
                data = {"escalated_to_human": True} if rng.random() < 0.05 else {}
                evs.append(("bot_response", data, {"response_time_ms": rng.randint(20, 4000)}))
                if rng.random() < 0.05:
                    evs.append((rng.choice(["api_call", "error", "entity_extracted", "user_feedback", "custom"]), {}, {}))
            if rng.random() < end_ratio:
                evs.append(("conversation_end", {}, {}))
            for i, (etype, data, extra) in enumerate(evs):
                ts += rng.randint(1000, 20_000)
                e = {"event_id": f"{run_id}-{agent}-{sid}-{i}", "agent_id": agent, "session_id": sid,
                     "event_type": etype, "timestamp": iso(ts), "channel": channel, "data": data, **extra}
                e["_ts"] = ts
                self.events.append(e)
                self.by_id[e["event_id"]] = e
        self.sessions = sess

    def add_external(self, lines: list[str]) -> set[str]:
        """Events another producer delivered (JSON lines of `insights simulate --ledger`); returns their ids."""
        ids = set()
        for line in lines:
            if not line.strip():
                continue
            e = json.loads(line)
            ts = datetime.strptime(e["timestamp"].replace("Z", "+0000"), "%Y-%m-%dT%H:%M:%S.%f%z")
            e["_ts"] = (ts - EPOCH) // timedelta(milliseconds=1)
            e.setdefault("data", {})
            self.events.append(e)
            self.by_id[e["event_id"]] = e
            if e["agent_id"] not in self.agents:
                self.agents.append(e["agent_id"])
            ids.add(e["event_id"])
        return ids

    def batches(self, size: int, rng_seed: int = 11) -> list[list[dict]]:
        """Batches mixing agents, roughly in time order per session (a platform sends as it goes)."""
        evs = sorted(self.events, key=lambda e: e["_ts"])
        return [evs[i:i + size] for i in range(0, len(evs), size)]


def wire(batch: list[dict]) -> bytes:
    return json.dumps([{k: v for k, v in e.items() if k != "_ts"} for e in batch]).encode()


class Ledger:
    """event_ids the service acknowledged (a 2xx for their batch, not rejected). Thread-safe."""

    def __init__(self):
        self.ids: set[str] = set()
        self.lock = threading.Lock()

    def ack(self, ids):
        with self.lock:
            self.ids.update(ids)

    def snapshot(self) -> set[str]:
        with self.lock:
            return set(self.ids)


# ---------------------------------------------------------------------------
# Expected state
# ---------------------------------------------------------------------------

def expected_buckets(events: list[dict]) -> dict[str, Counter]:
    """key ('ins:{a}:c:<g>:<start>') -> Counter of fields, from the acknowledged events."""
    out: dict[str, Counter] = defaultdict(Counter)

    def add(agent, ts_ms, field, n, suffix=None, coarse=False):
        """coarse: hour and day buckets only (slices, their summary, paths: docs/keys.md)."""
        if n == 0:
            return
        # Counter families (docs/keys.md): the workloads use fewer than 50 names of each kind, so
        # every name is counted by name (checked below). The workers' family fields come stored.
        if suffix is None:
            suffix, field = storage.family_field(field)
        for g, width in GRANULARITIES:
            if coarse and g == "m":
                continue
            start = (ts_ms // 1000 // width) * width
            out[f"ins:{{{agent}}}:c:{g}:{start}{suffix}"][field] += n

    names: dict[tuple[str, str], set[str]] = defaultdict(set)
    for e in events:
        for field in storage.event_counters(e):
            if "\x1f" in field:
                _, kind, name = field.split("\x1f", 2)
                names[(e["agent_id"], kind)].add(name)
    assert all(len(v) <= 50 for v in names.values()), "the ledger assumes fewer than 50 names per agent and kind"

    summary = {"conversations", "messages", "rt_sum", "rt_count", "intents", "intent:fallback", "out:sessions", "out:automated"}

    def add_sliced(agent, ts_ms, values, field, n):
        """A field of the bucket's own map, also in the slices of `values` and their summary (docs/keys.md)."""
        add(agent, ts_ms, field, n)
        for code, v in values:
            add(agent, ts_ms, field, n, f":{code}={v}", coarse=True)
            if field in summary:
                add(agent, ts_ms, f"{code}\x1f{field}\x1f{v}", n, ":b", coarse=True)

    sessions: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for e in events:
        sessions[(e["agent_id"], e["session_id"])].append(e)
        # The per-event counters (EventCounters, mirrored in e2e/storage.py), sliced by the event's values.
        counters = storage.event_counters(e)
        sliced = storage.slice_fields(counters)
        for field, n in counters.items():
            add_sliced(e["agent_id"], e["_ts"], storage.dim_values(e) if field in sliced else [], field, n)
    for (a, _sid), evs in sessions.items():
        first = min(e["_ts"] for e in evs)
        # The session's values: those of its first event (of several at that time, the smaller dims string).
        values = storage.dim_values(min((e for e in evs if e["_ts"] == first), key=storage.dims))
        msgs = sum(1 for e in evs if e["event_type"] in MESSAGE_TYPES)
        add_sliced(a, first, values, "conversations", 1)
        add_sliced(a, first, values, "conv_msg", 1 if msgs else 0)
        add_sliced(a, first, values, "sess_msgs", msgs)
        # Outcome (workers): every session is finalized at the end of a run.
        ended = any(e["event_type"] == "conversation_end" for e in evs)
        add_sliced(a, first, values, "out:sessions", 1)
        add(a, first, "out:ended" if ended else "out:dropped", 1)
        if not ended:
            intents = [(e["_ts"], e["data"]["intent"]) for e in evs
                       if e["event_type"] == "intent_classified" and e["data"].get("intent")]
            add(a, first, "drop:" + (max(intents)[1] if intents else "unknown"), 1)
        esc = any(e["data"].get("escalated_to_human") is True for e in evs)
        if esc:
            add(a, first, "out:escalated", 1)
        else:
            add_sliced(a, first, values, "out:automated", 1)
        add(a, first, "out:turns", sum(1 for e in evs if e["event_type"] == "user_message"))
        # Family counters of the outcome: conversations with an error, intent paths.
        if any(e["event_type"] == "error" for e in evs):
            add(a, first, "conv_err", 1, ":x")
        path = storage.intent_path([(e["_ts"], e["data"]["intent"]) for e in evs
                                    if e["event_type"] == "intent_classified" and e["data"].get("intent")])
        if path:
            add(a, first, "s:" + path, 1, ":p", coarse=True)
            if ended:
                add(a, first, "e:" + path, 1, ":p", coarse=True)
            if esc:
                add(a, first, "x:" + path, 1, ":p", coarse=True)
    return out


# ---------------------------------------------------------------------------
# Reading Redis
# ---------------------------------------------------------------------------

def group_state(r, agent: str) -> tuple[int, int]:
    """(lag, pending) of the `workers` group on the agent's stream; (XLEN, 0) without a group."""
    key = f"ins:{{{agent}}}:stream"
    try:
        groups = r.xinfo_groups(key)
    except Exception:  # noqa: BLE001 - no stream yet
        return 0, 0
    for g in groups:
        if g["name"] == "workers":
            lag = g.get("lag")
            if lag is None:
                lag = len(r.xrange(key, "(" + g["last-delivered-id"], "+"))
            # Undelivered entries are in the stream: at most XLEN (Redis' entries-read counter can come
            # out short on a replica promoted by a failover, making its lag too high; Worker+Lag.swift).
            return min(int(lag), r.xlen(key)), int(g["pending"])
    return r.xlen(key), 0


def drained(r, agents: list[str]) -> tuple[bool, str]:
    """Lag 0, pending 0, no session left unfinalized or waiting for compaction, for every agent."""
    parts = []
    ok = True
    for a in agents:
        lag, pending = group_state(r, a)
        idle = r.zcard(f"ins:{{{a}}}:idle")
        cq = r.zcard(f"ins:{{{a}}}:cq")
        if lag or pending or idle or cq:
            ok = False
        parts.append(f"{a}: lag={lag} pending={pending} idle={idle} compaction={cq}")
    return ok, "; ".join(parts)


def binary(r):
    """A client on the same server (or cluster) as `r` that returns bytes (stored values are binary)."""
    import redis as redis_py
    if isinstance(r, redis_py.RedisCluster):
        node = r.get_default_node()
        return redis_py.RedisCluster(host=node.host, port=node.port, decode_responses=False)
    return redis_py.Redis(connection_pool=redis_py.ConnectionPool(
        connection_class=r.connection_pool.connection_class,
        **{**r.connection_pool.connection_kwargs, "decode_responses": False}))


def known_ids(r, agents: list[str]) -> set[str]:
    """Every event id Redis knows it accepted: in a de-dup day set, or applied to a finalized
    session (its finalized records `jf:`, its hash's iu/it if reopened, or its compacted value's
    header). `r` decodes responses."""
    raw = binary(r)
    ids: set[str] = set()
    for a in agents:
        p = storage.prefix(a)
        for k in raw.scan_iter(match=p + "d:*", count=1000):
            ids.update(storage.event_id(m) for m in raw.smembers(k))
        for k in raw.scan_iter(match=p + "jz:*", count=1000):
            ids.update(storage.compacted_ids(raw.get(k)))
        for k in raw.scan_iter(match=p + "s:*", count=1000):
            ids.update(storage.packed_ids(*raw.hmget(k, "iu", "it")))
        for k in raw.scan_iter(match=p + "jf:*", count=1000):
            ids.update(rec["event_id"] for rec in storage.decode_records(raw.get(k) or b""))
    raw.close()
    return ids


def wait_drained(r, agents: list[str], timeout: float) -> tuple[bool, str, float]:
    t0 = time.monotonic()
    state = ""
    while time.monotonic() - t0 < timeout:
        try:
            ok, state = drained(r, agents)
            if ok:
                return True, state, time.monotonic() - t0
        except Exception as e:  # noqa: BLE001 - Redis may be restarting
            state = repr(e)
        time.sleep(0.5)
    return False, state, time.monotonic() - t0


def scan(r, pattern: str) -> list[str]:
    return list(r.scan_iter(match=pattern, count=1000))


def verify(r, workload: Workload, ledger_ids: set[str], poison_ids: dict[str, list[str]] | None = None,
           max_report: int = 20, journey=None) -> tuple[list[str], dict]:
    """Compares Redis with the ledger. `journey(agent, session)` gives a session's event ids as the
    front's users/journey answers them. Returns (mismatches, figures)."""
    poison_ids = poison_ids or {}
    bad: list[str] = []
    unknown = ledger_ids - workload.by_id.keys()
    if unknown:
        bad.append(f"{len(unknown)} acknowledged ids were never generated")
    events = [workload.by_id[i] for i in ledger_ids if i in workload.by_id]
    figures = {"acknowledged": len(ledger_ids), "generated": len(workload.events)}

    # 1. Nothing pending, nothing unread, every session finalized.
    ok, state = drained(r, workload.agents)
    if not ok:
        bad.append("not drained: " + state)

    # 2. Bucket counters (every minute, hour and day bucket of every agent), zero fields ignored.
    expected = expected_buckets(events)
    actual_keys = set()
    for a in workload.agents:
        actual_keys.update(scan(r, f"ins:{{{a}}}:c:*"))
    keys = sorted(actual_keys | expected.keys())
    raw = binary(r)
    pipe = raw.pipeline(transaction=False)
    for k in keys:
        # Path buckets are hashes (lua/common.lua paths_write), the others MessagePack maps.
        pipe.hgetall(k) if k.endswith(":p") else pipe.get(k)
    field_diffs = 0
    for k, blob in zip(keys, pipe.execute()):
        parsed = storage.path_counters(blob) if isinstance(blob, dict) else storage.counters(blob)
        got = {f: v for f, v in parsed.items() if v != 0}
        want = {f: v for f, v in expected.get(k, Counter()).items() if v != 0}
        if got != want:
            for f in sorted(got.keys() | want.keys()):
                if got.get(f, 0) != want.get(f, 0):
                    field_diffs += 1
                    if field_diffs <= max_report:
                        bad.append(f"{k} {f}: redis {got.get(f, 0)} != ledger {want.get(f, 0)}")
    raw.close()
    if field_diffs > max_report:
        bad.append(f"... {field_diffs} bucket field mismatches in all")
    figures["buckets_checked"] = len(keys)

    # 3. Journeys (as users/journey answers them): each session's journey holds exactly its
    # acknowledged events, once each, and the session is finalized.
    by_session: dict[tuple[str, str], list[str]] = defaultdict(list)
    for e in events:
        by_session[(e["agent_id"], e["session_id"])].append(e["event_id"])
    journey_bad = 0
    for (a, s), want_ids in sorted(by_session.items()):
        got = sorted(journey(a, s)) if journey else []
        if got != sorted(want_ids):
            journey_bad += 1
            if journey_bad <= max_report:
                bad.append(f"journey {a}/{s}: {len(got)} events (ledger {len(want_ids)})")
    raw = binary(r)
    for (a, s) in sorted(by_session):
        if storage.session_state(raw, a, s) is None:
            journey_bad += 1
            if journey_bad <= max_report:
                bad.append(f"session {a}/{s} is not finalized")
    # No journey for a session the ledger does not know.
    journeys = 0
    for a in workload.agents:
        for kind in ("j", "jf", "jz"):
            for k in scan(r, f"ins:{{{a}}}:{kind}:*"):
                sid = k.split(f":{kind}:", 1)[1]
                journeys += kind == "jz"
                if (a, sid) not in by_session:
                    journey_bad += 1
                    bad.append(f"journey {k} is not in the ledger")
    raw.close()
    if journey_bad > max_report:
        bad.append(f"... {journey_bad} journey mismatches in all")
    figures["sessions"] = len(by_session)
    figures["journeys"] = journeys

    # 4. Dedupe: Redis knows exactly the acknowledged ids (de-dup sets and compacted sessions).
    seen = known_ids(r, workload.agents)
    if seen != ledger_ids:
        bad.append(f"known ids: {len(seen - ledger_ids)} ids not acknowledged, {len(ledger_ids - seen)} acknowledged ids missing")

    # 5. Dead letters: exactly the poison entries.
    for a in workload.agents:
        dl = r.xrange(f"ins:{{{a}}}:deadletter")
        got = sorted(f["id"] for _, f in dl)
        want = sorted(poison_ids.get(a, []))
        if got != want:
            bad.append(f"deadletter of {a}: {got} != expected {want}")
    figures["deadletters"] = sum(len(v) for v in poison_ids.values())
    return bad, figures
