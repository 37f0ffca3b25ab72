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
# The finalized state `st` (lua/worker_lib.lua pack_state): the first 15 items of states before stop 25,
# and version 4 (times after the first relative to it, `li`/`lit` true when the intents' last pair).
STATE_FIELDS = ["first", "last", "turns", "li", "lit", "esc", "end", "wfs", "wfc", "wff", "fs", "fo", "fd", "fe", "ft"]
STATE_V4_FIELDS = ["first", "last", "turns", "li", "lit", "esc", "end", "wfs", "wfc", "wff", "err", "intents", "dm", "version"]


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

# CounterCode (Sources/InsightsModel/CounterCode.swift, docs/keys.md *Field codes*): the stored
# codes of the fields every event and session writes; CounterCodeTests checks this copy.
FIELD_CODES = {
    "events": "E", "messages": "M", "conversations": "C", "conv_msg": "V", "sess_msgs": "S",
    "rt_sum": "R", "rt_count": "N", "intents": "I", "conf_sum_u": "F", "conf_count": "K",
    "low_conf": "L", "escalations": "X", "tok_in": "T", "tok_out": "U",
    "out:sessions": "O", "out:ended": "OE", "out:dropped": "OD", "out:escalated": "OX",
    "out:automated": "OA", "out:turns": "OT",
}
FIELD_PREFIXES = {"intent:": "#", "rt:": "H", "drop:": "D", "ch:": "W"}
_NAME_OF_CODE = {c: n for n, c in FIELD_CODES.items()}
_PREFIX_OF_CODE = {c: n for n, c in FIELD_PREFIXES.items()}


def field_name(stored: str) -> str:
    """The field a stored counter key stands for (CounterCode.name): a code's name, else the key;
    a breakdown summary field `<dim>\x1f<code>\x1f<value>` with its middle part named."""
    if "\x1f" in stored:
        parts = stored.split("\x1f", 2)
        if len(parts) == 3 and parts[0] in ("ch", "pl", "lo"):
            return "\x1f".join((parts[0], field_name(parts[1]), parts[2]))
    if not stored or "a" <= stored[0] <= "z":
        return stored
    if stored in _NAME_OF_CODE:
        return _NAME_OF_CODE[stored]
    if stored[0] == "E" and stored[1:].isdigit() and int(stored[1:]) < len(TYPES):
        return "ev:" + TYPES[int(stored[1:])]
    if len(stored) > 1 and stored[0] in _PREFIX_OF_CODE:
        return _PREFIX_OF_CODE[stored[0]] + stored[1:]
    return stored


def field_code(name: str) -> str:
    """The stored form of a field (CounterCode.code): its code, or the field itself."""
    if name in FIELD_CODES:
        return FIELD_CODES[name]
    if name.startswith("ev:") and name[3:] in TYPES:
        return "E%d" % TYPES.index(name[3:])
    for prefix, code in FIELD_PREFIXES.items():
        if name.startswith(prefix) and len(name) > len(prefix):
            return code + name[len(prefix):]
    return name


def counters(blob: bytes | None) -> dict[str, int]:
    """A counters bucket (c:<m|h|d>:<start>): a MessagePack map field -> integer, by field name
    (a field stored both by name and by code, as in a bucket written before the codes, summed)."""
    if not blob:
        return {}
    value = msgpack.unpackb(blob, raw=True, strict_map_key=False)
    if value == []:
        return {}
    out: dict[str, int] = {}
    for k, v in value.items():
        name = field_name(k.decode())
        out[name] = out.get(name, 0) + int(v)
    return out


def path_counters(fields: dict[bytes, bytes]) -> dict[str, int]:
    """An intent paths bucket (c:<h|d>:<start>:p, a hash) as counters `s:<path>`, `e:<path>`,
    `x:<path>`: its packed fields `p:<path>` = "<sessions>:<ended>:<escalated>" and those of the
    form written before the packing (`s:<path>` etc., integers), added up."""
    out: dict[str, int] = {}
    for f, v in fields.items():
        name, value = f.decode(), v.decode()
        if name.startswith("p:"):
            for kind, n in zip("sex", value.split(":"), strict=True):
                out[kind + name[1:]] = out.get(kind + name[1:], 0) + int(n)
        elif name[:2] in ("s:", "e:", "x:"):
            out[name] = out.get(name, 0) + int(value)
        else:
            raise ValueError(f"not an intent path field: {name!r}")
    return out


def packed_ids(iu: bytes | None, it: bytes | None) -> list[str]:
    """Event ids in the forms of a session hash's `iu` (16-byte UUIDs back to back) and `it` ("\n"
    then each other id followed by "\n"), as a compacted value's header keeps them too (`u`, `t`)."""
    ids = [event_id(b"\x01" + iu[i:i + 16]) for i in range(0, len(iu or b""), 16)]
    return ids + [line.decode() for line in (it or b"").split(b"\n") if line]


def compacted_ids(blob: bytes) -> list[str]:
    """The event ids of a compacted session (`jz:`): version 2's header `u` / `t`, version 1's `i` list."""
    h = struct.unpack_from("<I", blob, 2)[0]
    header = msgpack.unpackb(blob[6:6 + h], raw=True, strict_map_key=False)
    if blob[1] == 1:
        return [event_id(f) for f in header.get(b"i", [])]
    return packed_ids(header.get(b"u"), header.get(b"t"))


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
    names = STATE_V4_FIELDS if len(values) == 14 and values[-1] == 4 else STATE_FIELDS
    return {k: str(v) for k, v in zip(names, values)}


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
        out["q/fb:n"] = 1
        r = data.get("rating")
        if isinstance(r, (int, float)) and not isinstance(r, bool) and r == int(r) and 1 <= r <= 5:
            out["q/fb:rating_sum"], out["q/fb:rating_n"] = int(r), 1
            if r >= 4:
                out["q/fb:csat"] = 1
        if data.get("thumbs") in ("up", "down"):
            out["q/fb:" + data["thumbs"]] = 1
    if e.get("sentiment"):
        s = e["sentiment"].lower()
        out["q/sent:" + (s if s in ("positive", "neutral", "negative", "mixed") else "other")] = 1
    name = data.get("workflow")
    stage = {"workflow_started": "started", "workflow_completed": "completed", "workflow_failed": "failed"}.get(t)
    if stage and isinstance(name, str) and 0 < len(name) <= 64 and not any(unicodedata.category(c) == "Cc" for c in name):
        out[f"q/wf:{stage}:{name}"] = 1
        if t == "workflow_completed" and e.get("duration_ms") is not None:
            out["q/wfd:sum:" + name], out["q/wfd:n:" + name] = e["duration_ms"], 1
    # LLM token usage (EventCounters.tokenCount): integers in 1..100 000 000 only.
    for key, field in (("input_tokens", "tok_in"), ("output_tokens", "tok_out")):
        n = data.get(key)
        if isinstance(n, (int, float)) and not isinstance(n, bool) and n == int(n) and 1 <= n <= 100_000_000:
            out[field] = int(n)
    # Counter families (docs/keys.md, *Counter families*): system events, intents in depth.
    if t == "api_call":
        ep = counter_name(data.get("endpoint")) or "unknown"
        out["x/calls"], out[capped("x/", "c", "ep", ep)] = 1, 1
        if (isinstance(data.get("status_code"), (int, float)) and not isinstance(data.get("status_code"), bool)
                and data["status_code"] >= 500) or data.get("success") is False:
            out["x/fail"], out[capped("x/", "f", "ep", ep)] = 1, 1
        d = e.get("duration_ms")
        if d is not None and d >= 0:
            b = rt_bin(d) if d >= 1 else -1
            out[f"x/l{b}"], out[capped("x/", f"h{b}", "ep", ep)] = 1, 1
    if t == "error":
        out["x/errors"] = 1
        out[capped("x/", "e", "ec", counter_name(data.get("code")) or "unknown")] = 1
    if t == "intent_classified" and isinstance(data.get("intent"), str) and data["intent"] and e.get("confidence") is not None:
        intent, conf = data["intent"], e["confidence"]
        if conf > 0:
            micro = math.floor(conf * 1e6 + 0.5)
            if micro:
                out["n/s:" + intent] = micro
            out["n/k:" + intent] = 1
        b = confidence_bin(conf)
        if b < 20:
            out[f"n/b{b}:{intent}"] = 1
    if t == "entity_extracted":
        types = [counter_name(x.get("type")) for x in data.get("entities") or [] if isinstance(x, dict) and isinstance(x.get("type"), str)]
        if isinstance(data.get("entity"), str):
            types.append(counter_name(data["entity"]))
        for ty in types:
            if ty:
                k = capped("n/", "e", "et", ty)
                out[k] = out.get(k, 0) + 1
    return out


DIMENSIONS = [("ch", "channel"), ("pl", "platform"), ("lo", "location")]


def dim_values(e: dict) -> list[tuple[str, str]]:
    """The event's breakdown values (Dimension): (code, value) for each dimension it has."""
    return [(code, e[name]) for code, name in DIMENSIONS if isinstance(e.get(name), str) and e[name]]


def dims(e: dict) -> str:
    """EventCounters.dims: '' or the three values joined by \\x1f (an absent one empty)."""
    values = [e.get(name) if isinstance(e.get(name), str) else "" for _, name in DIMENSIONS]
    return "" if not any(values) else "\x1f".join(v or "" for v in values)


SLICED = {"events", "messages", "rt_sum", "rt_count", "intents", "conf_sum_u", "conf_count", "low_conf", "tok_in", "tok_out",
          "ev:workflow_started", "ev:workflow_completed", "ev:intent_classified"}


def slice_fields(counters: dict[str, int]) -> dict[str, int]:
    """EventCounters.isSliceField: the bucket's own fields also counted in the event's slices (those the filters read)."""
    return {k: v for k, v in counters.items() if k in SLICED or k.startswith(("rt:", "intent:"))}


def family_field(field: str, admitted=None) -> tuple[str, str]:
    """Where lua/ingest.lua stores a contribution field: (key suffix, stored field). `<f>/<rest>`
    goes to `:<f>` as `<rest>`; a capped `<f>/<head>\x1f<kind>\x1f<name>` as `<head>:<name>`, or
    `<head>:other` when `admitted(kind, name)` says the name did not get a place (default: all did)."""
    if len(field) < 2 or field[1] != "/":
        return "", field
    rest = field[2:]
    if "\x1f" in rest:
        head, kind, name = rest.split("\x1f", 2)
        if admitted is not None and not admitted(kind, name):
            name = "other"
        return ":" + field[0], f"{head}:{name}"
    return ":" + field[0], rest


def intent_path(intents: list[tuple[int, str]], longest: int = 8) -> str:
    """A finalized session's stored intent path (lua/worker_lib.lua): its classified intents in
    (ts, intent) order, consecutive repeats collapsed, the first `longest`, joined by \x1f."""
    out: list[str] = []
    for _, name in sorted(intents):
        if not out or out[-1] != name:
            if len(out) == longest:
                break
            out.append(name)
    return "\x1f".join(out)


def capped(family: str, head: str, kind: str, name: str) -> str:
    """EventCounters.capped: a family field counted by a name whose number is capped per agent."""
    return f"{family}{head}\x1f{kind}\x1f{name}"


def counter_name(v) -> str | None:
    """AnalyticsEvent.counterName: a string of 1-64 characters without control characters, or an integer's text."""
    if isinstance(v, str):
        if 0 < len(v) <= 64 and not any(unicodedata.category(c) == "Cc" for c in v):
            return v
        return None
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return None
    return str(int(v)) if v == int(v) and abs(v) < 2 ** 63 else None


def confidence_bin(c: float) -> int:
    """EventCounters.confidenceBin: the k with k/20 <= c < (k+1)/20."""
    k = math.floor(c * 20)
    while k > 0 and k / 20 > c:
        k -= 1
    while (k + 1) / 20 <= c:
        k += 1
    return k
