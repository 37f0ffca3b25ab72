"""The compose deployment's Redis ACL, for real: a private redis-server started by
compose/redis-start.sh (the same script and rules as compose/docker-compose.yml), then ingest,
worker passes (read, claim, dead-letter, sweep, trim) and every query through the restricted
`insights` user. Any command the ACL lacks shows up in Redis' ACL LOG, which must stay empty.
Also: API keys on the real `insights serve` process, and its bind refusal."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import redis

from service import REPO, Front, Insights, free_port, wait_until
from test_alerts import Receiver

PASSWORD = "app-password-0123456789abcdef"
ADMIN_PASSWORD = "admin-password-0123456789abcdef"
API_KEY = "e2e-api-key-0123456789abcdef"


def iso(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


class AclRedis:
    """redis-server through compose/redis-start.sh on a loopback TCP port (the URL carries user:password)."""

    def __init__(self):
        self.dir = Path(tempfile.mkdtemp(prefix="insights-e2e-acl-"))
        self.port = free_port()
        env = {**os.environ, "INSIGHTS_REDIS_PASSWORD": PASSWORD, "INSIGHTS_REDIS_ADMIN_PASSWORD": ADMIN_PASSWORD,
               "INSIGHTS_REDIS_ACL_FILE": str(self.dir / "users.acl")}
        env.pop("INSIGHTS_REDIS_USER", None)
        self.proc = subprocess.Popen(
            ["sh", str(REPO / "compose" / "redis-start.sh"), "--port", str(self.port), "--bind", "127.0.0.1",
             "--dir", str(self.dir), "--save", "", "--appendonly", "no", "--logfile", str(self.dir / "redis.log")],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.admin = redis.Redis(port=self.port, username="admin", password=ADMIN_PASSWORD, decode_responses=True)
        wait_until(lambda: self.admin.ping(), 10, "redis-server (ACL)")

    @property
    def url(self) -> str:
        return f"redis://insights:{PASSWORD}@127.0.0.1:{self.port}"

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def acl_redis():
    r = AclRedis()
    yield r
    r.stop()


def test_acl_file_holds_only_digests(acl_redis):
    text = (acl_redis.dir / "users.acl").read_text()
    assert PASSWORD not in text and ADMIN_PASSWORD not in text
    assert "user default off" in text and "~ins:*" in text


def test_acl_restricts_the_app_user(acl_redis):
    app = redis.Redis(port=acl_redis.port, username="insights", password=PASSWORD, decode_responses=True)
    assert app.ping()
    for call in (lambda: app.set("other:key", "1"), lambda: app.get("secret"), lambda: app.flushall(),
                 lambda: app.keys("*"), lambda: app.config_get("*")):
        with pytest.raises(redis.exceptions.NoPermissionError):
            call()
    # A script runs with the same rights: EVAL is allowed, what the script calls is checked.
    assert app.execute_command("EVAL", "return redis.call('SET', KEYS[1], '1')", "1", "ins:{acl}:probe") == "OK"
    for script, key in (("return redis.call('GET', KEYS[1])", "secret"), ("return redis.call('FLUSHALL')", "ins:x")):
        with pytest.raises(redis.exceptions.ResponseError) as refused:
            app.execute_command("EVAL", script, "1", key)
        message = str(refused.value).lower()
        assert "noperm" in message or "no permissions" in message or "can't run this command" in message
    # No anonymous access, no wrong password.
    with pytest.raises(redis.exceptions.AuthenticationError):
        redis.Redis(port=acl_redis.port).ping()
    with pytest.raises(redis.exceptions.AuthenticationError):
        redis.Redis(port=acl_redis.port, username="insights", password="wrong-password-123456").ping()
    acl_redis.admin.acl_log_reset()


def test_redis_start_refuses_without_password(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("INSIGHTS_REDIS")}
    env["INSIGHTS_REDIS_ACL_FILE"] = str(tmp_path / "users.acl")
    out = subprocess.run(["sh", str(REPO / "compose" / "redis-start.sh"), "--port", "0"], env=env,
                         capture_output=True, text=True, timeout=10)
    assert out.returncode != 0 and "INSIGHTS_REDIS_PASSWORD" in out.stderr
    env["INSIGHTS_REDIS_PASSWORD"] = "has space 0123456789"
    out = subprocess.run(["sh", str(REPO / "compose" / "redis-start.sh"), "--port", "0"], env=env,
                         capture_output=True, text=True, timeout=10)
    assert out.returncode != 0 and "may contain only" in out.stderr


def test_ingest_workers_and_queries_through_the_acl_user(acl_redis):
    admin = acl_redis.admin
    admin.acl_log_reset()
    keys = f"key:{API_KEY} scopes=ingest,read,admin agents=acme name=e2e"
    front = Front(acl_redis.url, "--webhook-allow-private", env={"INSIGHTS_API_KEYS": keys})
    receiver = Receiver(failures=0)
    worker = None
    auth = {"Authorization": f"Bearer {API_KEY}"}
    try:
        t0 = datetime.now(timezone.utc) - timedelta(minutes=2)
        ev = lambda i, typ, sid, sec, **kw: {"event_id": f"e{i}", "agent_id": "acme", "session_id": sid,
                                               "event_type": typ, "timestamp": iso(t0 + timedelta(seconds=sec)), **kw}
        events = [  # s1 on channel web: its events are counted in that value's slices too (docs/keys.md)
            ev(1, "conversation_start", "s1", 0, channel="web"), ev(2, "user_message", "s1", 1, channel="web"),
            ev(3, "intent_classified", "s1", 2, confidence=0.9, data={"intent": "book"}, channel="web"),
            ev(4, "bot_response", "s1", 3, response_time_ms=120, channel="web"), ev(5, "conversation_end", "s1", 4, channel="web"),
            # s2 never ends: the sweep finalizes it as dropped at `cancel`.
            ev(6, "conversation_start", "s2", 10), ev(7, "user_message", "s2", 11),
            ev(8, "intent_classified", "s2", 12, confidence=0.4, data={"intent": "cancel"}),
        ]
        # Without a key: 401; with it: written through the ACL user (EVALSHA/SCRIPT LOAD/SADD + the script's commands).
        assert front.post_events(events)[0] == 401
        status, body = front.post_events(events, headers=auth)
        assert status == 200 and body["accepted"] == 8, body
        status, body = front.post_events(events[:1], headers=auth)
        assert status == 200 and body["duplicates"] == 1
        # A poison entry (no `s` and `r`): the worker must claim it and dead-letter it (XPENDING, XAUTOCLAIM, XADD in the script).
        admin.xadd("ins:{acme}:stream", {"x": "1"})
        # A consumer of a stopped worker: the trim pass forgets it (XINFO CONSUMERS, XGROUP DELCONSUMER in a script).
        admin.xgroup_create("ins:{acme}:stream", "workers", id="0")
        admin.xgroup_createconsumer("ins:{acme}:stream", "workers", "gone")

        # An alert rule (the worker's engine judges it when it starts) with a webhook: lua/alerts.lua's
        # transition, lease and attempt record run through the ACL user too.
        rule = {"name": "messages", "agent_id": "acme", "metric": "events:user_message", "window_minutes": 60,
                "condition": "above", "threshold": 0, "webhook_url": receiver.url}
        status, _, raw = front.request("POST", "/api/v1/alerts/rules", json.dumps(rule).encode(),
                                       {**auth, "Content-Type": "application/json"})
        assert status == 201, raw
        rule_id = json.loads(raw)["id"]

        worker = Insights("worker", "--redis-url", acl_redis.url, "--claim-idle-ms", "200", "--claim-interval-ms", "200",
                          "--webhook-allow-private",
                          "--max-deliveries", "2", "--trim-interval-ms", "300", "--session-timeout", "5",
                          "--wall-clock-grace-ms", "1000", "--consumer-expiry-ms", "0")

        def done():
            s = front.get_json("/api/v1/status", headers=auth)
            consumers = [c["name"] for c in admin.xinfo_consumers("ins:{acme}:stream", "workers")]
            return (s["lag"] == 0 and s["pending"] == 0 and admin.xlen("ins:{acme}:deadletter") == 1
                    and admin.xlen("ins:{acme}:stream") == 0 and (admin.exists("ins:{acme}:jz:s2") or admin.hexists("ins:{acme}:s:s2", "st"))
                    and "gone" not in consumers and len(consumers) == 1)
        wait_until(done, 30, "worker: drained, dead-lettered, trimmed, swept, gone consumer forgotten")
        assert worker.alive(), worker.output()

        q = "agent_id=acme&start_date=" + iso(t0 - timedelta(hours=1)).replace(":", "%3A") + \
            "&end_date=" + iso(t0 + timedelta(hours=1)).replace(":", "%3A")
        m = front.get_json(f"/api/v1/analytics/conversations/metrics?{q}", headers=auth)
        assert m["total_conversations"] == 2 and m["total_events"] == 8 and m["total_messages"] == 3
        assert m["completion_rate"] == 0 and m["avg_response_time_ms"] == 120  # no workflows; one response of 120 ms
        d = front.get_json(f"/api/v1/analytics/users/drop-off?{q}", headers=auth)
        assert d["drop_off_points"] == {"cancel": 1} and d["total_incomplete_sessions"] == 1
        n = front.get_json(f"/api/v1/analytics/nlu/metrics?{q}", headers=auth)
        assert n["total_classifications"] == 2
        j = front.get_json("/api/v1/analytics/users/journey/s1", headers=auth)
        assert [e["event_id"] for e in j["journey"]] == ["e1", "e2", "e3", "e4", "e5"]
        for path in ["conversations/timeseries", "business/automation-rate", "business/cost-savings", "dashboard/overview"]:
            front.get_json(f"/api/v1/analytics/{path}?agent_id=acme", headers=auth)
        assert front.get_json("/api/v1/agents", headers=auth)["agents"] == ["acme"]
        assert front.get("/ready", headers=auth)[0] == 200
        wait_until(lambda: len(receiver.delivered()) == 1, 30, "the alert's notification delivered")
        alerts = front.get_json("/api/v1/alerts?agent_id=acme", headers=auth)["alerts"]
        assert len(alerts) == 1 and alerts[0]["value"] == 2 and alerts[0]["state"] == "firing"
        wait_until(lambda: front.get_json(f"/api/v1/alerts/deliveries?rule_id={rule_id}", headers=auth)["deliveries"], 10,
                   "the delivery recorded")
        assert front.get_json("/api/v1/alerts/rules", headers=auth)["rules"][0]["state"] == "firing"
        live = front.get_json("/api/v1/analytics/live?agent_id=acme", headers=auth)
        assert live["waiting_for_bot"] == 0 and live["active_conversations"] == 0  # s1 ended, s2 swept
        front.get_json("/api/v1/analytics/anomalies?agent_id=acme", headers=auth)
        assert front.request("DELETE", f"/api/v1/alerts/rules/{rule_id}", headers=auth)[0] == 204
        # Counter families with capped names (endpoints, error codes: the registries P nm:<kind>) and
        # the issue-16 reads, through the ACL user too.
        extra = [ev(11, "api_call", "s3", 20, data={"endpoint": "/pay", "status_code": 503}, duration_ms=40),
                 ev(12, "error", "s3", 21, data={"code": "E1"})]
        status, body = front.post_events(extra, headers=auth)
        assert status == 200 and body["accepted"] == 2, body
        x = front.get_json(f"/api/v1/analytics/system/metrics?{q}", headers=auth)
        assert x["endpoints"]["/pay"]["failures"] == 1 and x["error_codes"] == {"E1": 1}
        b = front.get_json(f"/api/v1/analytics/breakdown?{q}&dimension=channel", headers=auth)
        assert b["values"]["web"]["total_conversations"] == 1
        for path in ["nlu/intents", "users/paths", "users/funnel?steps=book,cancel", "quality/metrics", "workflows/metrics"]:
            front.get_json(f"/api/v1/analytics/{path}{'&' if '?' in path else '?'}{q}", headers=auth)
        front.get_json("/api/v1/analytics/dashboard/overview?agent_id=acme&channel=unknown", headers=auth)

        log = admin.acl_log()
        assert log == [], f"commands or keys the ACL refused: {json.dumps(log, default=str)[:2000]}"
        assert "NOPERM" not in worker.output() and "NOPERM" not in front.output()
    finally:
        if worker:
            worker.stop()
        front.stop()
        receiver.close()


def test_serve_refuses_open_non_loopback_bind():
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("INSIGHTS_API_KEYS")}
    p = Insights("serve", "--redis-url", "redis://127.0.0.1:1", "--host", "0.0.0.0", "--port", str(port), env=env)
    try:
        p.proc.wait(20)
    finally:
        p.stop()
    assert p.proc.returncode != 0
    assert "refusing to listen on '0.0.0.0' without API keys" in p.output()
    # `insights run` too, before it starts anything (no managed Redis left behind).
    p = Insights("run", "--host", "0.0.0.0", "--port", str(port), "--no-demo", env=env)
    try:
        p.proc.wait(20)
    finally:
        p.stop()
    assert p.proc.returncode != 0 and "refusing to listen on '0.0.0.0'" in p.output()
    # A bad key configuration refuses to start too, naming the problem.
    p = Insights("serve", "--port", str(port), env={**env, "INSIGHTS_API_KEYS": "key:tooshort scopes=read agents=*"})
    try:
        p.proc.wait(20)
    finally:
        p.stop()
    assert p.proc.returncode != 0 and "at least 16 characters" in p.output()


def test_keys_new_round_trip_through_a_keys_file(redis_server, tmp_path):
    from service import INSIGHTS_BIN
    out = subprocess.run([str(INSIGHTS_BIN), "keys", "new", "--scopes", "read,ingest", "--agents", "acme",
                          "--name", "team-a", "--rate", "50"], capture_output=True, text=True, timeout=20, check=True).stdout
    lines = [l.strip() for l in out.splitlines()]
    key = lines[lines.index(next(l for l in lines if l.startswith("API key"))) + 1]
    entry = next(l for l in lines if l.startswith("sha256:"))
    assert key.startswith("ins_") and len(key) == 4 + 43 and key not in entry
    assert entry.endswith("scopes=ingest,read agents=acme name=team-a rate=50")
    keys_file = tmp_path / "keys"
    keys_file.write_text(f"# team A\n{entry}\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("INSIGHTS_API_KEYS")}
    front = Front(redis_server.url, "--api-keys-file", str(keys_file), env=env)
    try:
        auth = {"Authorization": f"Bearer {key}"}
        now = iso(datetime.now(timezone.utc))
        ev = {"event_id": "k1", "agent_id": "acme", "session_id": "s1", "event_type": "user_message", "timestamp": now}
        assert front.post_events([ev])[0] == 401
        assert front.post_events([ev], headers={"Authorization": "Bearer " + key[:-1] + "x"})[0] == 401
        assert front.post_events([{**ev, "agent_id": "beta"}], headers=auth)[0] == 403
        assert front.post_events([ev], headers=auth) == (200, {"accepted": 1, "duplicates": 0, "rejected": []})
        assert front.get_json("/api/v1/agents", headers=auth)["agents"] == ["acme"]
        assert front.get("/api/v1/status", headers=auth)[0] == 403  # no admin scope
        assert redis_server.client().xlen("ins:{acme}:stream") == 1 and redis_server.client().dbsize() > 0
    finally:
        front.stop()
