"""Bodies over the 1 MiB limit from ordinary HTTP clients (issue 12).

A client that writes its whole body before reading (Python's http.client, urllib, requests) must read
the 413 and its JSON within 3 s of starting to send, however big the body: the front answers with
then keeps reading and discarding the rest (a lingering close) instead of leaving the client writing
into a connection nobody reads (it would get BrokenPipeError and never see the 413); once the body's
end has been read the connection serves the next request. The lingering is bounded in time and bytes. `Expect: 100-continue` gets `100 Continue` at once
when the declared length fits, and the 413 before any body when it does not.
"""
from __future__ import annotations

import http.client
import json
import socket
import time

import pytest

from service import Front
# The module-scoped private Redis and front of the hostile-input tests (fixtures), and their helpers.
from test_hostile import assert_still_serving, event, front, read_reply, redis_server, redis_snapshot  # noqa: F401

LIMIT = 1 << 20
# LingeringCloseHandler's bounds (its defaults): 5 s and 256 MiB of discarded body.
LINGER_SECONDS = 5.0
LINGER_BYTES = 256 << 20


def body_of(size: int) -> bytes:
    """A JSON batch of about `size` bytes (one event with a big data member)."""
    head = json.dumps([event("big", data={"pad": ""})]).encode()
    return head.replace(b'"pad": ""', b'"pad": "' + b"x" * (size - len(head)) + b'"')


def post_with_http_client(conn: http.client.HTTPConnection, body: bytes, expect: bool) -> tuple[int, dict, dict, float]:
    headers = {"Content-Type": "application/json"}
    if expect:
        headers["Expect"] = "100-continue"  # http.client does not wait for 100 Continue: it sends at once
    started = time.monotonic()
    conn.request("POST", "/api/v1/events", body=body, headers=headers)
    r = conn.getresponse()
    data = r.read()
    elapsed = time.monotonic() - started
    return r.status, {k.lower(): v for k, v in r.getheaders()}, json.loads(data), elapsed


@pytest.mark.parametrize("mib", [20, 100])
@pytest.mark.parametrize("expect", [False, True], ids=["plain", "expect-100-continue"])
def test_http_client_reads_the_413_of_an_oversized_body(front, redis_server, mib, expect):
    before = redis_snapshot(redis_server)
    conn = http.client.HTTPConnection("127.0.0.1", front.port, timeout=30)
    try:
        status, headers, o, elapsed = post_with_http_client(conn, body_of(mib << 20), expect)
        assert status == 413 and elapsed < 3.0, (status, elapsed)
        assert o == {"error": "request body too large", "detail": f"the body may be at most {LIMIT} bytes"}
        assert redis_snapshot(redis_server) == before
        if expect:
            # 100 Continue was withheld (the declared length is over the limit), so the client may never
            # send the body: the connection closes once the answer is out and what did come is discarded.
            assert headers["connection"] == "close"
        else:
            # The whole body was read and discarded: the framing is intact and the connection goes on.
            assert "connection" not in headers
            status, _, o, _ = post_with_http_client(conn, json.dumps([event(f"after-{mib}")]).encode(), False)
            assert status == 200 and o["accepted"] == 1
    finally:
        conn.close()
    assert_still_serving(front)


def test_expect_100_continue_within_the_limit_gets_continue_at_once(front):
    body = json.dumps([event("x100")]).encode()
    with socket.create_connection(("127.0.0.1", front.port), timeout=5) as s:
        started = time.monotonic()
        s.sendall(b"POST /api/v1/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  b"Expect: 100-continue\r\nContent-Length: %d\r\n\r\n" % len(body))
        interim = s.recv(1024)
        assert interim.startswith(b"HTTP/1.1 100 Continue\r\n"), interim
        assert time.monotonic() - started < 1.0  # curl waits 1 s for this when nobody answers
        s.sendall(body)
        r = read_reply(s, time.monotonic(), time.monotonic() + 5)
    assert r.status == 200 and r.json()["accepted"] == 1, r


def test_expect_100_continue_over_the_limit_gets_the_413_before_the_body(front):
    with socket.create_connection(("127.0.0.1", front.port), timeout=5) as s:
        started = time.monotonic()
        s.sendall(b"POST /api/v1/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  b"Expect: 100-continue\r\nContent-Length: 20971520\r\n\r\n")
        r = read_reply(s, started, started + 5)  # no body sent at all
    assert r.status == 413 and r.elapsed < 1.0, r
    assert r.headers.get("connection") == "close"
    assert r.json()["error"] == "request body too large"


def test_a_slow_oversized_upload_is_not_drained_for_ever(front):
    """The lingering close is bounded in time: a client trickling an endless body is cut off."""
    with socket.create_connection(("127.0.0.1", front.port), timeout=5) as s:
        s.sendall(b"POST /api/v1/events HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000000\r\n\r\n" + b" " * (LIMIT + 1))
        started = time.monotonic()
        r = read_reply(s, started, started + 3)
        assert r.status == 413, r
        closed_after = None
        s.setblocking(False)
        while time.monotonic() - started < LINGER_SECONDS + 10:
            try:
                s.send(b" " * 1024)
                if s.recv(1) == b"":
                    closed_after = time.monotonic() - started
                    break
            except BlockingIOError:
                pass
            except (BrokenPipeError, ConnectionResetError):
                closed_after = time.monotonic() - started
                break
            time.sleep(0.1)
    assert closed_after is not None and closed_after < LINGER_SECONDS + 3, closed_after
    assert_still_serving(front)


def test_a_huge_oversized_upload_is_not_drained_without_bound(front):
    """The lingering close is bounded in bytes: past 256 MiB of discarded body the connection is closed."""
    chunk = b" " * (1 << 20)
    sent = 0
    with socket.create_connection(("127.0.0.1", front.port), timeout=10) as s:
        s.sendall(b"POST /api/v1/events HTTP/1.1\r\nHost: x\r\nContent-Length: 100000000000\r\n\r\n")
        try:
            while sent < 2 * LINGER_BYTES:
                s.sendall(chunk)
                sent += len(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass
    assert LINGER_BYTES <= sent < 2 * LINGER_BYTES, sent
    assert_still_serving(front)
