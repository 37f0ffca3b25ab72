"""Issue 15: alert rules, evaluated once a minute, notified by webhook exactly once per transition.

Real processes: a private redis-server, `insights run` (a front, 2 in-process workers and an alert
engine), a second front (`insights serve`) and two `insights worker` processes (two more engines),
and a real webhook receiver (an HTTP server in this test) that is down at first. Expected values are
computed by hand below. Takes about two minutes: rules are judged at minute boundaries.
"""
import hashlib
import hmac
import json
import threading
import time
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from service import Front, Insights, Redis, Run, free_port, wait_until


def iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


class Receiver:
    """Answers 503 to the first `failures` requests, then 200; records every request."""

    def __init__(self, failures: int):
        self.requests, self.failures, self.lock = [], failures, threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with receiver.lock:
                    status = 503 if len(receiver.requests) < receiver.failures else 200
                    receiver.requests.append({"headers": dict(self.headers), "body": body, "status": status})
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.port = free_port()
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def delivered(self):
        with self.lock:
            return [r for r in self.requests if r["status"] == 200]

    def close(self):
        self.server.shutdown()


ALERT_ARGS = ["--webhook-allow-private", "--webhook-retry-ms", "500"]


@pytest.fixture
def deployment():
    r = Redis()
    receiver = Receiver(failures=2)
    run = Run(r.url, *ALERT_ARGS)
    front = Front(r.url, "--webhook-allow-private")
    workers = [Insights("worker", "--redis-url", r.url, *ALERT_ARGS) for _ in range(2)]
    yield r, receiver, run, front, workers
    for p in [*workers, front, run]:
        p.stop()
    receiver.close()
    r.close()


def classify(agent, sid, ts, intent, n):
    return {"event_id": n, "agent_id": agent, "session_id": sid, "event_type": "intent_classified",
            "timestamp": iso(ts), "data": {"intent": intent}}


def test_a_rule_fires_and_resolves_once_through_a_receiver_that_was_down(deployment):
    r, receiver, run, front, workers = deployment
    now = int(time.time() * 1000)
    C = now // 60_000 * 60_000
    # Minutes C-5 ... C: 10 classifications each, 6 of them `fallback` (60 %). Minute C+1: 10 greetings (0 %).
    # Agent `calm` gets the same minutes with 1 fallback in 10 (10 %).
    events = []
    for k in range(-5, 1):
        for i in range(10):
            events.append(classify("acme", f"s{k}", C + k * 60_000 + i * 1000, "fallback" if i < 6 else "greeting", f"a{k}-{i}"))
            events.append(classify("calm", f"s{k}", C + k * 60_000 + i * 1000, "fallback" if i < 1 else "greeting", f"c{k}-{i}"))
    for i in range(10):
        events.append(classify("acme", "s1", C + 60_000 + i * 1000, "greeting", f"a1-{i}"))
    status, body = run.post_events(events)
    assert status == 200 and body["accepted"] == len(events), body
    status, body = front.post_events(events[:20])  # a re-send through the other front: duplicates
    assert status == 200 and body["duplicates"] == 20, body

    rule = {"name": "fallback spike", "agent_id": "acme", "metric": "fallback_rate", "window_minutes": 1,
            "condition": "above", "threshold": 50, "min_count": 5, "webhook_url": receiver.url}
    status, _, raw = front.request("POST", "/api/v1/alerts/rules", json.dumps(rule).encode(), {"Content-Type": "application/json"})
    assert status == 201, raw
    created = json.loads(raw)
    secret, rule_id = created["secret"], created["id"]
    calm = {**rule, "agent_id": "calm", "name": "calm"}
    status, _, raw = run.request("POST", "/api/v1/alerts/rules", json.dumps(calm).encode(), {"Content-Type": "application/json"})
    assert status == 201, raw
    # Forbidden and invalid rules are 400s, here as over the API.
    status, _, raw = run.request("POST", "/api/v1/alerts/rules", json.dumps({**rule, "window_minutes": 90}).encode(),
                                 {"Content-Type": "application/json"})
    assert status == 400 and json.loads(raw)["error"] == "invalid field window_minutes"

    # Judged at minute boundaries: fired on a 60 % minute, resolved on minute C+1 (0 %): about 2 minutes.
    wait_until(lambda: len(receiver.delivered()) >= 2, 200, "firing and resolved notifications delivered")
    time.sleep(3)  # any duplicate would arrive now
    delivered = receiver.delivered()
    assert len(delivered) == 2, delivered
    bodies = [json.loads(d["body"]) for d in delivered]
    assert [b["state"] for b in bodies] == ["firing", "resolved"]
    assert bodies[0]["value"] == 60 and bodies[1]["value"] == 0
    assert bodies[0]["threshold"] == 50 and bodies[0]["rule_id"] == rule_id and bodies[0]["agent_id"] == "acme"
    assert bodies[1]["window_start"] == iso(C + 60_000) and bodies[1]["window_end"] == iso(C + 120_000)
    for d in delivered:
        expected = "sha256=" + hmac.new(secret.encode(), d["body"], hashlib.sha256).hexdigest()
        assert hmac.compare_digest(d["headers"]["X-Insights-Signature"], expected)
    # The receiver was down twice (503) for the first notification: 3 requests for it, one delivery.
    firing_requests = [q for q in receiver.requests if json.loads(q["body"])["state"] == "firing"]
    assert [q["status"] for q in firing_requests] == [503, 503, 200]
    assert len({q["headers"]["X-Insights-Delivery"] for q in receiver.requests}) == 2

    attempts = run.get_json(f"/api/v1/alerts/deliveries?rule_id={rule_id}")["deliveries"]
    assert [a["outcome"] for a in attempts] == ["delivered", "delivered", "retry", "retry"]
    alerts = front.get_json("/api/v1/alerts?agent_id=acme")["alerts"]
    assert len(alerts) == 1 and alerts[0]["state"] == "resolved" and alerts[0]["value"] == 60
    assert front.get_json("/api/v1/alerts?agent_id=calm")["alerts"] == []  # 10 % never fires
    assert front.get_json(f"/api/v1/alerts/rules/{rule_id}")["state"] == "ok"
    assert all(p.alive() for p in [run, front, *workers])
