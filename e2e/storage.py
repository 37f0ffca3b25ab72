"""Reading (and, for the benchmark's Python peer, writing) what Insights stores in Redis, for the
end-to-end tests, the chaos checker and the benchmarks. The formats are defined in docs/keys.md and
in Sources/InsightsModel (AgentKeys, StoredEventID, JourneyRecord, EventCounters); this module
mirrors them so that the tests compare values, not encodings.
"""
from __future__ import annotations

import json
import math
import struct
import unicodedata
import uuid

import msgpack

TYPES = ["conversation_start", "conversation_end", "user_message", "bot_response", "intent_classified",
         "entity_extracted", "workflow_started", "workflow_completed", "workflow_failed", "api_call", "error",
         "user_feedback", "custom"]
STATE_FIELDS = ["first", "last", "turns", "li", "lit", "esc", "end", "wfs", "wfc", "wff", "fs", "fo", "fd", "fe", "ft"]


def prefix(agent: str) -> str:
    return f"ins:{{{agent}}}:"


# --- event ids ---------------------------------------------------------------------------------

def stored_id(event_id: str) -> bytes:
    """StoredEventID.field: 0x01 + 16 bytes for a lowercase canonical UUID, else '#' + id."""
    try:
        u = uuid.UUID(event_id)
        if str(u) == event_id:
            return b"\x01" + u.bytes
    except ValueError:
        pass
    return b"#" + event_id.encode()


def event_id(field: bytes) -> str:
    if field[:1] == b"\x01" and len(field) == 17:
        return str(uuid.UUID(bytes=field[1:]))
    return field[1:].decode()


# --- journey records ---------------------------------------------------------------------------

def encode_record(e: dict, ts_ms: int) -> bytes:
    """JourneyRecord of an event in the API's JSON form."""
    data = e.get("data") or {}
    data_b = json.dumps(data, separators=(",", ":"), sort_keys=True, ensure_ascii=False).encode() if data else b""
    idf = stored_id(e["event_id"])
    intent = data.get("intent") if e["event_type"] == "intent_classified" else None
    intent_b = intent.encode() if isinstance(intent, str) and intent else b""
    rt = e.get("response_time_ms")
    flags = (1 if data.get("escalated_to_human") is True else 0) | (2 if rt is not None else 0)
    body = struct.pack("<Q", ts_ms)[:6] + bytes([TYPES.index(e["event_type"]), flags, len(idf)]) + idf
    body += struct.pack("<H", len(intent_b)) + intent_b + (struct.pack("<I", rt) if rt is not None else b"") + data_b
    return struct.pack("<H", len(body)) + body


def decode_records(blob: bytes) -> list[dict]:
    out, pos = [], 0
    while pos < len(blob):
        n = struct.unpack_from("<H", blob, pos)[0]
        end = pos + 2 + n
        ts = int.from_bytes(blob[pos + 2:pos + 8], "little")
        code, flags, k = blob[pos + 8], blob[pos + 9], blob[pos + 10]
        at = pos + 11
        idf = blob[at:at + k]
        at += k
        i = struct.unpack_from("<H", blob, at)[0]
        at += 2 + i
        rt = None
        if flags & 2:
            rt = struct.unpack_from("<I", blob, at)[0]
            at += 4
        out.append({"ts": ts, "type": TYPES[code], "flags": flags, "event_id": event_id(idf), "rt": rt, "data": blob[at:end]})
        pos = end
    return out


# --- counters, sessions ------------------------------------------------------------------------

def counters(blob: bytes | None) -> dict[str, int]:
    """A counters bucket (c:<m|h|d>:<start>): a MessagePack map field -> integer."""
    if not blob:
        return {}
    value = msgpack.unpackb(blob, raw=True, strict_map_key=False)
    if value == []:
        return {}
    return {k.decode(): int(v) for k, v in value.items()}


def session_state(r, agent: str, sid: str) -> dict[str, str] | None:
    """The finalized state of a session (its hash's `st`, or a compacted value's header), None if not finalized."""
    st = r.hget(prefix(agent) + "s:" + sid, "st")
    if st is None:
        blob = r.get(prefix(agent) + "jz:" + sid)
        if blob is None:
            return None
        h = struct.unpack_from("<I", blob, 2)[0]
        header = msgpack.unpackb(blob[6:6 + h], raw=True, strict_map_key=False)
        st = header.get(b"h", {}).get(b"st")
        if st is None:
            return None
    values = msgpack.unpackb(st, raw=False)
    return {k: str(v) for k, v in zip(STATE_FIELDS, values)}


def rt_bin(rt: int) -> int:
    """EventCounters.responseTimeBin: floor(4*log2(rt)), corrected against the bin's bounds."""
    b = math.floor(4 * math.log(rt) / math.log(2))
    while 2 ** ((b + 1) / 4) <= rt:
        b += 1
    while 2 ** (b / 4) > rt:
        b -= 1
    return b


def event_counters(e: dict) -> dict[str, int]:
    """EventCounters.contribution: the bucket counters an event adds by its own timestamp."""
    t = e["event_type"]
    data = e.get("data") or {}
    out = {"events": 1, "ev:" + t: 1}
    if t in ("user_message", "bot_response"):
        out["messages"] = 1
    rt = e.get("response_time_ms")
    if t == "bot_response" and rt:
        out["rt_sum"], out["rt_count"], out[f"rt:{rt_bin(rt)}"] = rt, 1, 1
    if t == "intent_classified":
        intent = data.get("intent")
        if isinstance(intent, str) and intent:
            out["intents"], out["intent:" + intent] = 1, 1
        conf = e.get("confidence")
        if conf is not None:
            if conf > 0:
                micro = math.floor(conf * 1e6 + 0.5)
                if micro:
                    out["conf_sum_u"] = micro
                out["conf_count"] = 1
            if conf < 0.7:
                out["low_conf"] = 1
    if data.get("escalated_to_human") is True:
        out["escalations"] = 1
    if e.get("channel"):
        out["ch:" + e["channel"]] = 1
    if t == "user_feedback":
        out["fb:n"] = 1
        r = data.get("rating")
        if isinstance(r, (int, float)) and not isinstance(r, bool) and r == int(r) and 1 <= r <= 5:
            out["fb:rating_sum"], out["fb:rating_n"] = int(r), 1
            if r >= 4:
                out["fb:csat"] = 1
        if data.get("thumbs") in ("up", "down"):
            out["fb:" + data["thumbs"]] = 1
    if e.get("sentiment"):
        s = e["sentiment"].lower()
        out["sent:" + (s if s in ("positive", "neutral", "negative", "mixed") else "other")] = 1
    name = data.get("workflow")
    stage = {"workflow_started": "started", "workflow_completed": "completed", "workflow_failed": "failed"}.get(t)
    if stage and isinstance(name, str) and 0 < len(name) <= 64 and not any(unicodedata.category(c) == "Cc" for c in name):
        out[f"wf:{stage}:{name}"] = 1
        if t == "workflow_completed" and e.get("duration_ms") is not None:
            out["wfd:sum:" + name], out["wfd:n:" + name] = e["duration_ms"], 1
    return out
