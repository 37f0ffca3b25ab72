"""Hostile input at the HTTP front (issue 7): every case gets a 4xx with a JSON error saying what is
wrong, quickly; a slow request is cut off at the request deadline (10 s by default); nothing rejected
reaches Redis; the front keeps serving; its memory stays bounded.

Each case talks to a real `insights serve` over raw sockets (so nothing is "fixed up" by a client
library) and checks the private Redis before and after.
"""
from __future__ import annotations

import json
import socket
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone

import pytest

import storage
from service import Front, Redis

# The front's default request deadline (ServerConfiguration.requestReadTimeout).
READ_TIMEOUT = 10.0
# How long a rejected request may take to be answered (debug build, 2-core machine, 1 MiB bodies).
QUICK = 2.0


@pytest.fixture(scope="module")
def redis_server():
    r = Redis()
    yield r
    r.close()


@pytest.fixture(scope="module")
def front(redis_server):
    f = Front(redis_server.url)
    yield f
    f.stop()


def now_iso() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def event(i: int | str = 0, **over) -> dict:
    e = {"event_id": f"h-{i}", "agent_id": "hostile", "session_id": "s1", "event_type": "user_message",
         "timestamp": now_iso()}
    e.update(over)
    return e


class Reply:
    def __init__(self, status: int | None, headers: dict[str, str], body: bytes, elapsed: float, closed: bool):
        self.status, self.headers, self.body, self.elapsed, self.closed = status, headers, body, elapsed, closed

    def json(self):
        return json.loads(self.body)

    def __repr__(self):
        return f"Reply({self.status}, {self.body[:300]!r}, {self.elapsed:.2f}s, closed={self.closed})"


def read_reply(sock: socket.socket, started: float, deadline: float) -> Reply:
    """Reads one HTTP/1.1 response (Content-Length framed) or until the peer closes."""
    buf = b""
    closed = False
    sock.settimeout(0.2)
    while time.monotonic() < deadline:
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            chunk = None
        except (ConnectionResetError, BrokenPipeError):
            closed = True
            break
        if chunk == b"":
            closed = True
            break
        if chunk:
            buf += chunk
            head, sep, rest = buf.partition(b"\r\n\r\n")
            if sep:
                lines = head.decode("latin-1").split("\r\n")
                headers = {k.strip().lower(): v.strip() for k, _, v in (l.partition(":") for l in lines[1:])}
                if len(rest) >= int(headers.get("content-length", "0")):
                    break
    elapsed = time.monotonic() - started
    head, sep, rest = buf.partition(b"\r\n\r\n")
    if not sep:
        return Reply(None, {}, b"", elapsed, closed)
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (l.partition(":") for l in lines[1:])}
    return Reply(int(lines[0].split()[1]), headers, rest, elapsed, closed)


def raw(front: Front, data: bytes, timeout: float = 15.0) -> Reply:
    """Sends `data` as is (ignoring a reset while sending) and reads the reply."""
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", front.port), timeout=timeout) as s:
        try:
            s.sendall(data)
        except (ConnectionResetError, BrokenPipeError):
            pass
        return read_reply(s, started, started + timeout)


def post(front: Front, body: bytes, extra_headers: str = "", content_length: int | None = None, timeout: float = 15.0) -> Reply:
    n = len(body) if content_length is None else content_length
    head = (f"POST /api/v1/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            f"Content-Length: {n}\r\n{extra_headers}\r\n").encode()
    return raw(front, head + body, timeout)


def redis_snapshot(redis_server: Redis) -> tuple[int, list[str]]:
    c = redis_server.client()
    return c.dbsize(), sorted(c.keys("*"))


def assert_still_serving(front: Front):
    status, body = front.get("/health")
    assert status == 200 and json.loads(body)["status"] == "ok"
    status, _ = front.get("/api/v1/agents")
    assert status == 200


def assert_rejected(front: Front, redis_server: Redis, body: bytes, status: int, mentions: list[str], **kw) -> Reply:
    """POSTs `body`: `status` within QUICK seconds, a JSON error naming every word of `mentions`,
    Redis unchanged, the front still serving."""
    before = redis_snapshot(redis_server)
    r = post(front, body, **kw)
    assert r.status == status, r
    assert r.elapsed < QUICK, r
    assert r.headers.get("content-type", "").startswith("application/json"), r
    o = r.json()
    assert set(o) == {"error", "detail"}, o
    text = f"{o['error']} {o['detail']}"
    for m in mentions:
        assert m in text, (m, text)
    assert redis_snapshot(redis_server) == before, "a rejected request wrote to Redis"
    assert_still_serving(front)
    return r


# --- bodies and JSON -------------------------------------------------------------------------------

def test_body_over_limit(front, redis_server):
    big = json.dumps([event(0, data={"pad": "x" * (2 << 20)})]).encode()
    assert_rejected(front, redis_server, big, 413, ["too large", "1048576"])


def test_declared_length_far_over_limit(front, redis_server):
    # Content-Length says 100 MB; the front stops at the limit (1 MiB) instead of waiting for it all.
    before = redis_snapshot(redis_server)
    r = post(front, b"[" + b" " * ((1 << 20) + 10), content_length=100_000_000)
    assert r.status == 413 and r.elapsed < QUICK, r
    assert "too large" in r.json()["error"]
    assert redis_snapshot(redis_server) == before
    assert_still_serving(front)


def test_deeply_nested_json(front, redis_server):
    deep = b"[" * 100_000 + b"]" * 100_000
    assert_rejected(front, redis_server, deep, 400, ["malformed JSON", "nesting deeper than 128"])
    # Within the parser's limit but deeper than data may be (32 levels).
    nested: dict = {}
    for _ in range(40):
        nested = {"a": nested}
    assert_rejected(front, redis_server, json.dumps([event(1, data=nested)]).encode(), 400,
                    ["invalid event", "event 0", "data", "nesting depth"])


def test_truncated_json(front, redis_server):
    body = json.dumps([event(i) for i in range(5)]).encode()
    cut = len(body) // 2
    assert_rejected(front, redis_server, body[:cut], 400, ["malformed JSON", "at byte"])
    cut = body.index(b"}, {") + 1  # after a complete element
    assert_rejected(front, redis_server, body[:cut], 400, ["malformed JSON", f"unexpected end of input at byte {cut}"])
    assert_rejected(front, redis_server, b"", 400, ["malformed JSON"])


def test_invalid_utf8(front, redis_server):
    body = json.dumps([event(2, session_id="SESSION")]).encode().replace(b"SESSION", b"s\xff\xfe1")
    assert_rejected(front, redis_server, body, 400, ["malformed JSON", "invalid UTF-8"])
    # Lone surrogate escape: valid JSON syntax, not a Unicode scalar.
    body = json.dumps([event(3)]).encode().replace(b'"s1"', b'"s\\ud800"')
    assert_rejected(front, redis_server, body, 400, ["malformed JSON"])


@pytest.mark.parametrize("field,value,words", [
    ("session_id", 42, ["session_id", "must be a string (got a number)"]),
    ("agent_id", ["a"], ["agent_id", "must be a string (got an array)"]),
    ("confidence", "high", ["confidence", "must be a number (got a string)"]),
    ("duration_ms", 1.5, ["duration_ms", "must be an integer"]),
    ("response_time_ms", True, ["response_time_ms", "(got a boolean)"]),
    ("data", [1, 2], ["data", "must be an object (got an array)"]),
    ("timestamp", 1700000000, ["timestamp", "ISO-8601"]),
    ("event_type", "no_such_type", ["event_type", "unknown event type"]),
])
def test_wrong_types(front, redis_server, field, value, words):
    assert_rejected(front, redis_server, json.dumps([event(4, **{field: value})]).encode(), 400, ["invalid event", *words])


def test_batch_of_wrong_shape(front, redis_server):
    assert_rejected(front, redis_server, b'{"events": 5}', 400, ["invalid batch", "must be an array"])
    assert_rejected(front, redis_server, b'"hello"', 400, ["invalid batch"])
    assert_rejected(front, redis_server, json.dumps([event(i) for i in range(1001)]).encode(), 413,
                    ["too many events", "1001"])


@pytest.mark.parametrize("field,value,words", [
    ("agent_id", "acme{1}", ["agent_id", "disallowed character '{'"]),
    ("session_id", "s}", ["session_id", "disallowed character '}'"]),
    ("session_id", "s1\r\nXADD evil", ["session_id", "carriage return (CR)"]),
    ("event_id", "e\n1", ["event_id", "line feed (LF)"]),
    ("user_id", "u" * 10_240, ["user_id", "at most 128 characters (got 10240)"]),
    ("agent_id", "a" * 10_240, ["agent_id", "at most 128 characters"]),
    ("channel", "web\r\n", ["channel", "control characters"]),
])
def test_hostile_ids(front, redis_server, field, value, words):
    assert_rejected(front, redis_server, json.dumps([event(5, **{field: value})]).encode(), 400, ["invalid event", *words])


@pytest.mark.parametrize("ts", ["9999-12-31T23:59:59Z", "2100-01-01T00:00:00Z"])
def test_far_future_timestamp(front, redis_server, ts):
    assert_rejected(front, redis_server, json.dumps([event(6, timestamp=ts)]).encode(), 400,
                    ["invalid event", "timestamp", "5 minutes in the future"])


def test_ancient_and_impossible_timestamps(front, redis_server):
    assert_rejected(front, redis_server, json.dumps([event(7, timestamp="1969-07-20T20:17:00Z")]).encode(), 400,
                    ["timestamp", "2000-01-01"])
    assert_rejected(front, redis_server, json.dumps([event(8, timestamp="2024-02-30T00:00:00Z")]).encode(), 400,
                    ["timestamp", "not a valid ISO-8601"])


def test_many_invalid_events_are_summarized(front, redis_server):
    body = json.dumps([event(i, agent_id="x{") for i in range(12)]).encode()
    r = assert_rejected(front, redis_server, body, 400, ["no valid events", "event 0: agent_id", "and 7 more"])
    assert len(r.body) < 2000


def test_valid_events_beside_invalid_ones_are_kept(front, redis_server):
    c = redis_server.client()
    before = c.xlen("ins:{keep}:stream")
    batch = [event("k0", agent_id="keep"), event("k1", agent_id="ke{ep}"), event("k2", agent_id="keep", timestamp="9999-01-01T00:00:00Z"),
             event("k3", agent_id="keep", session_id=7), event("k4", agent_id="keep", event_type="bot_response", response_time_ms=12)]
    r = post(front, json.dumps(batch).encode())
    assert r.status == 200, r
    o = r.json()
    assert o["accepted"] == 2 and o["duplicates"] == 0
    assert [x["index"] for x in o["rejected"]] == [1, 2, 3]
    assert c.xlen("ins:{keep}:stream") == before + 2
    ids = sorted(storage.decode_records(f[b"r"])[0]["event_id"] for _, f in redis_server.client(decode=False).xrange("ins:{keep}:stream"))
    assert ids == ["h-k0", "h-k4"], ids
    assert not c.exists("ins:{ke{ep}}:stream")


# --- headers ---------------------------------------------------------------------------------------

def test_oversized_header(front, redis_server):
    before = redis_snapshot(redis_server)
    r = raw(front, b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 100_000 + b"\r\n\r\n")
    # Rejected by the HTTP parser (NIO, 80 KiB limit): 400 without a body, connection closed.
    assert r.status == 400 and r.elapsed < QUICK, r
    r = raw(front, b"GET /health HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-H%d: v\r\n" % i for i in range(2000)) + b"\r\n")
    assert r.status == 400 and r.elapsed < QUICK, r
    assert redis_snapshot(redis_server) == before
    assert_still_serving(front)


def test_garbage_request_line(front):
    r = raw(front, b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03 not http\r\n\r\n")
    assert r.status == 400 and r.elapsed < QUICK, r
    assert_still_serving(front)


# --- slow clients ----------------------------------------------------------------------------------

def slow_post(front: Front, body: bytes, interval: float, budget: float) -> Reply:
    """Sends the head at once and then the body one byte every `interval` s until the front answers
    or closes, for at most `budget` s."""
    started = time.monotonic()
    s = socket.create_connection(("127.0.0.1", front.port), timeout=5)
    try:
        s.sendall((f"POST /api/v1/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                   f"Content-Length: {len(body)}\r\n\r\n").encode())
        s.setblocking(False)
        for b in body:
            if time.monotonic() - started > budget:
                break
            try:
                s.send(bytes([b]))
            except (BlockingIOError, ConnectionResetError, BrokenPipeError):
                break
            try:
                if s.recv(1, socket.MSG_PEEK) is not None:
                    break  # an answer (or EOF) arrived
            except BlockingIOError:
                pass
            except (ConnectionResetError, BrokenPipeError):
                break
            time.sleep(interval)
        s.setblocking(True)
        return read_reply(s, started, started + budget)
    finally:
        s.close()


def test_slow_body_is_cut_off(front, redis_server):
    before = redis_snapshot(redis_server)
    body = json.dumps([event("slow")]).encode()  # 150 bytes at 2 bytes/s would take ~75 s
    r = slow_post(front, body, 0.5, READ_TIMEOUT + 10)
    assert r.status == 408, r
    assert READ_TIMEOUT - 0.5 <= r.elapsed < READ_TIMEOUT + 3, r
    assert r.json()["error"] == "request body timeout" and "10.0 seconds" in r.json()["detail"]
    assert r.headers.get("connection") == "close"
    assert r.closed or r.status == 408
    assert redis_snapshot(redis_server) == before, "the partial event reached Redis"
    assert_still_serving(front)


def test_slow_headers_are_cut_off(front):
    """Slowloris: a header line a second never completes a request; the connection is closed."""
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", front.port), timeout=5) as s:
        s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n")
        closed_after = None
        s.setblocking(False)
        for i in range(40):
            try:
                s.send(b"X-%d: y\r\n" % i)
            except (BrokenPipeError, ConnectionResetError):
                closed_after = time.monotonic() - started
                break
            try:
                if s.recv(1) == b"":
                    closed_after = time.monotonic() - started
                    break
            except BlockingIOError:
                pass
            except ConnectionResetError:
                closed_after = time.monotonic() - started
                break
            time.sleep(0.5)
    assert closed_after is not None and closed_after < READ_TIMEOUT + 3, closed_after
    assert_still_serving(front)


def test_idle_connection_is_closed(front):
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", front.port), timeout=READ_TIMEOUT + 5) as s:
        assert s.recv(1) == b""  # EOF: the front closed it
    assert READ_TIMEOUT - 0.5 <= time.monotonic() - started < READ_TIMEOUT + 3


def test_keep_alive_connection_serves_requests_within_deadline(front):
    """The deadline is per request: a connection sending complete requests is served past 10 s in total."""
    with socket.create_connection(("127.0.0.1", front.port), timeout=5) as s:
        started = time.monotonic()
        for _ in range(4):
            s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
            r = read_reply(s, time.monotonic(), time.monotonic() + 5)
            assert r.status == 200, r
            time.sleep(3.5)
        assert time.monotonic() - started > READ_TIMEOUT


# --- memory ----------------------------------------------------------------------------------------

def rss_kb(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


# RSS may grow by at most this much over 200 × 1 MiB bodies and 50 concurrent slow connections
# (allocator caches and NIO buffer pools warm up; a leak of the bodies alone would be ≥ 200 MiB).
RSS_BOUND_KB = 64 * 1024


def test_memory_stays_bounded(redis_server):
    f = Front(redis_server.url)
    try:
        # Warm up (first requests allocate the pools), then measure.
        big_over = json.dumps([event(0, data={"pad": "x" * (1 << 20)})]).encode()  # just over 1 MiB: 413
        big_junk = b"[" + b'{"event_type":"user_message"},' * 33_000 + b"1"  # just under 1 MiB, truncated: 400
        assert len(big_junk) < (1 << 20) < len(big_over)
        for body in (big_over, big_junk):
            assert post(f, body).status in (400, 413)
        base = rss_kb(f.proc.pid)

        def one(i: int) -> int | None:
            return post(f, big_over if i % 2 else big_junk).status

        with ThreadPoolExecutor(8) as pool:
            statuses = list(pool.map(one, range(200)))
        assert statuses.count(413) == 100 and statuses.count(400) == 100, statuses
        after_big = rss_kb(f.proc.pid)

        # 50 concurrent slow connections, each holding a half-sent 512 KiB body.
        socks = []
        for _ in range(50):
            s = socket.create_connection(("127.0.0.1", f.port), timeout=5)
            s.sendall(b"POST /api/v1/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                      b"Content-Length: 1000000\r\n\r\n" + b" " * 512_000)
            socks.append(s)
        time.sleep(1)
        during_slow = rss_kb(f.proc.pid)
        assert_still_serving(f)  # a 51st client is served while 50 are stalled
        started = time.monotonic()
        replies = [read_reply(s, started, started + READ_TIMEOUT + 5) for s in socks]
        for s in socks:
            s.close()
        assert all(r.status == 408 or r.closed for r in replies), [r for r in replies if not (r.status == 408 or r.closed)][:3]
        assert time.monotonic() - started < READ_TIMEOUT + 5
        time.sleep(0.5)
        after_slow = rss_kb(f.proc.pid)
        print(f"front RSS: base {base} kB, after 200×1 MiB {after_big} kB, with 50 slow {during_slow} kB, after {after_slow} kB")
        assert after_big - base < RSS_BOUND_KB, (base, after_big)
        assert max(during_slow, after_slow) - base < RSS_BOUND_KB, (base, during_slow, after_slow)
        assert_still_serving(f)
        assert f.alive()
    finally:
        f.stop()
