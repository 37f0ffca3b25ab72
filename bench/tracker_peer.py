"""The Python peer of the Swift tracker: redis-py + hiredis running lua/ingest.lua exactly as
EventIngestor does (same script text: common.lua + ingest.lua, same KEYS/ARGV layout, the same
batches per EVALSHA and calls pipelined per round trip), one process per Swift tracker, on the
events `insights bench --dump-events` wrote (tracker t's share = the t-th contiguous slice).

The timed part does what the Swift tracker does per event after the caller hands it over: check
it, derive what is stored (stored id, journey record, bucket counters: e2e/storage.py mirrors
Sources/InsightsModel), build the arguments, send. Parsing the file is not timed (the Swift
benchmark loads the same file before its clock starts).

Prints one JSON object: events, seconds, rate, server µs/event (INFO commandstats), ceiling,
ratio, client CPU seconds.
"""
import argparse
import hashlib
import json
import multiprocessing as mp
import os
import re
import time
from datetime import datetime

import msgpack
import redis

import sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
import storage  # noqa: E402

# Retention defaults (Sources/InsightsModel/Retention.swift) and the stream cap
# (EventIngestor.defaultStreamCap): the same trailing ARGV the Swift tracker sends.
MINUTE_TTL, HOUR_TTL, DAY_TTL, SESSION_TTL = 48 * 3600, 35 * 86400, 400 * 86400, 35 * 86400
STREAM_CAP = 5_000_000
EVENT_TYPES = {
    "conversation_start", "conversation_end", "user_message", "bot_response", "intent_classified",
    "entity_extracted", "workflow_started", "workflow_completed", "workflow_failed", "api_call", "error",
    "user_feedback", "custom",
}
ID_RE = re.compile(r"^[A-Za-z0-9._:@-]{1,128}$")


def script_source(lua_dir):
    """common.lua + ingest.lua with ingest's shebang line first, as RedisScript(concatenating:) builds it."""
    parts = []
    for name in ("common", "ingest"):
        with open(os.path.join(lua_dir, name + ".lua"), encoding="utf-8") as f:
            parts.append(f.read())
    shebang = ""
    if parts[-1].startswith("#!"):
        shebang, _, parts[-1] = parts[-1].partition("\n")
        shebang += "\n"
    return shebang + "".join(parts)


def ts_ms(iso):
    return int(datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp() * 1000 + 0.5)


def load(path):
    out = []
    with open(path, "rb") as f:
        for line in f:
            if line.strip():
                ev = json.loads(line)
                out.append((ev, ts_ms(ev["timestamp"])))
    return out


def event_args(ev, ms):
    """The 7 ARGV fields of one event (lua/ingest.lua header) and its counters, as EventIngestor.command builds them."""
    etype = ev["event_type"]
    if etype not in EVENT_TYPES or not ID_RE.match(ev["event_id"]) or not ID_RE.match(ev["session_id"]):
        raise ValueError("invalid event %r" % ev.get("event_id"))
    counters = storage.event_counters(ev)
    dims = storage.dims(ev)
    contribution = coded(counters)
    if dims:
        contribution["@"] = coded(storage.slice_fields(counters))
    return (storage.stored_id(ev["event_id"]), ev["session_id"], ms,
            str(storage.TYPES.index(etype)),
            storage.encode_record(ev, ms), msgpack.packb(contribution), dims), (ms // 60000 * 60, counters, ev)


def coded(counters):
    """Counters under their stored codes (storage.field_code), as EventIngestor.command sends them."""
    return {storage.field_code(k): v for k, v in counters.items()}


def batch_counters(rows):
    """The batch's counters per minute (MessagePack: minute start -> {field -> delta}) and per minute,
    dimension and value (slice fields only), as EventIngestor.command sums them."""
    per = {}
    for _, (minute, counters, ev) in rows:
        sums = per.setdefault(str(minute), {})
        for k, v in counters.items():
            sums[k] = sums.get(k, 0) + v
        for code, value in storage.dim_values(ev):
            ss = per.setdefault(f"{minute // 3600 * 3600}\x1f{code}\x1f{value}", {})
            for k, v in storage.slice_fields(counters).items():
                ss[k] = ss.get(k, 0) + v
    return msgpack.packb({k: coded(v) for k, v in per.items()})


def tracker(share, url, sha, batch, depth, start_at, out):
    r = redis.Redis.from_url(url)
    known = set()
    accepted = duplicates = 0
    while time.time() < start_at:
        time.sleep(0.001)
    t0, c0 = time.time(), time.process_time()
    step = batch * depth
    for first in range(0, len(share), step):
        chunk = share[first:first + step]
        by_agent = {}
        for ev, ms in chunk:
            by_agent.setdefault(ev.get("agent_id") or "", []).append(event_args(ev, ms))
        new = [a for a in by_agent if a not in known]
        if new:
            r.sadd("ins:agents", *new)
            known.update(new)
        pipe = r.pipeline(transaction=False)
        for agent, rows in by_agent.items():
            prefix = "ins:{%s}:" % agent
            for b in range(0, len(rows), batch):
                part = rows[b:b + batch]
                args = [prefix, MINUTE_TTL, HOUR_TTL, DAY_TTL, SESSION_TTL, len(part), batch_counters(part)]
                for row, _ in part:
                    args.extend(row)
                args.append(STREAM_CAP)
                pipe.execute_command("EVALSHA", sha, 1, prefix + "stream", *args)
        for a, d in pipe.execute():
            accepted += a
            duplicates += d
    out.put((accepted, duplicates, t0, time.time(), time.process_time() - c0))


def commandstats(info, command):
    s = info.get("cmdstat_" + command) or {}
    return int(s.get("calls", 0)), float(s.get("usec", 0))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--redis-url", required=True)
    p.add_argument("--events-file", required=True)
    p.add_argument("--trackers", type=int, default=2)
    p.add_argument("--batch-size", type=int, default=500)
    p.add_argument("--pipeline-depth", type=int, default=4)
    p.add_argument("--lua-dir", default=os.path.join(os.path.dirname(__file__), "..", "lua"))
    a = p.parse_args()

    source = script_source(a.lua_dir)
    r = redis.Redis.from_url(a.redis_url)
    sha = r.script_load(source)
    assert sha == hashlib.sha1(source.encode()).hexdigest()
    events = load(a.events_file)
    per = len(events) // a.trackers
    shares = [events[t * per:(t + 1) * per] for t in range(a.trackers)]
    r.config_resetstat()
    out = mp.Queue()
    start_at = time.time() + 0.5
    procs = [mp.Process(target=tracker, args=(s, a.redis_url, sha, a.batch_size, a.pipeline_depth, start_at, out))
             for s in shares]
    for pr in procs:
        pr.start()
    results = [out.get() for _ in procs]
    for pr in procs:
        pr.join()
    accepted = sum(x[0] for x in results)
    seconds = max(x[3] for x in results) - min(x[2] for x in results)
    calls, usec = commandstats(r.info("commandstats"), "evalsha")
    us = usec / max(accepted, 1)
    rate = accepted / seconds
    ceiling = 1e6 / us
    print(json.dumps({
        "events": accepted, "duplicates": sum(x[1] for x in results), "seconds": seconds, "rate": rate,
        "trackers": a.trackers, "batch": a.batch_size, "pipeline": a.pipeline_depth, "evalsha_calls": calls,
        "server_us_per_event": us, "ceiling": ceiling, "ratio": rate / ceiling,
        "client_cpu_seconds": sum(x[4] for x in results), "sha": sha,
        "hiredis": redis.utils.HIREDIS_AVAILABLE,
    }))


if __name__ == "__main__":
    main()
