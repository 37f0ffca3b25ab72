"""Issue 14: the same data set gives identical answers on a plain Redis and on a Redis Cluster.

One deployment is a plain redis-server with one front and one worker; the other is a private
3-primary, 3-replica cluster with two fronts and two workers, the batches spread over both fronts
(and some sent twice, to both). Nothing is configured for the cluster but the URL: `insights serve`
and `insights worker` find it. Every endpoint is then compared field by field.
"""
import json
import random
import shutil
import subprocess
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest

from service import Cluster, Front, Insights, Redis, free_port, wait_until

AGENTS = [f"cl-{name}" for name in ("acme", "globex", "initech", "umbrella", "hooli", "stark", "wayne", "tyrell")]
SESSIONS = 30
INTENTS = ["billing", "book_flight", "cancel", "greeting", "refund"]
HOUR = 3_600_000


def iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def generate(now_ms: int):
    """Sessions over the last 3 days, the newest ending 2 h ago (all finalize with a 1 h timeout):
    every event type, entities, workflows, api calls, errors, feedback, escalations, low confidence."""
    rng = random.Random(14)
    events, dropped = [], {}
    for agent in AGENTS:
        dropped[agent] = 0
        for s in range(SESSIONS):
            sid = f"{agent}-s{s}"
            t = now_ms - 72 * HOUR + s * (70 * HOUR) // SESSIONS + rng.randint(0, 600_000)
            seq = [("conversation_start", {}, {})]
            for _ in range(rng.randint(1, 4)):
                intent = rng.choice(INTENTS)
                conf = round(rng.uniform(0.3, 0.99), 2)
                seq += [("user_message", {"text": "hi"}, {}),
                        ("intent_classified", {}, {"intent": intent, "confidence": conf}),
                        ("bot_response", {}, {"response_time_ms": rng.randint(50, 2500)})]
                if rng.random() < 0.3:
                    seq.append(("entity_extracted", {"entities": {"city": "Paris"}}, {}))
            if rng.random() < 0.4:
                seq.append(("workflow_started", {"workflow": "payment"}, {}))
                seq.append((rng.choice(["workflow_completed", "workflow_failed"]), {"workflow": "payment"},
                            {"duration_ms": rng.randint(100, 5000)}))
            if rng.random() < 0.3:
                seq.append(("api_call", {"endpoint": "/crm", "status_code": rng.choice([200, 200, 503])},
                            {"duration_ms": rng.randint(5, 900)}))
            if rng.random() < 0.1:
                seq.append(("error", {"code": "E42"}, {}))
            if rng.random() < 0.3:
                seq.append(("user_feedback", {"rating": rng.randint(1, 5)}, {}))
            if rng.random() < 0.15:
                seq.append(("custom", {"escalated_to_human": True}, {}))
            if rng.random() < 0.6:
                seq.append(("conversation_end", {}, {}))
            else:
                dropped[agent] += 1
            for i, (etype, data, extra) in enumerate(seq):
                events.append({"event_id": f"{sid}-e{i}", "agent_id": agent, "session_id": sid, "event_type": etype,
                               "timestamp": iso(t + i * 7000), "user_id": f"u{s % 7}", "channel": rng.choice(["web", "voice"]),
                               "data": data, **extra})
    rng.shuffle(events)
    return events, dropped


@pytest.fixture
def deployments():
    plain_redis, cluster = Redis(), Cluster()
    plain = [Front(plain_redis.url)]
    fronts = [Front(cluster.url), Front(cluster.url)]
    workers = [Insights("worker", "--redis-url", plain_redis.url, "--session-timeout", "3600")]
    workers += [Insights("worker", "--redis-url", cluster.url, "--session-timeout", "3600") for _ in range(2)]
    yield plain, fronts, workers, cluster
    for p in workers + plain + fronts:
        p.stop()
    plain_redis.close()
    cluster.close()


def endpoints(now_ms: int, sessions: list[tuple[str, str]]) -> list[str]:
    week = f"&start_date={iso(now_ms - 7 * 24 * HOUR)}&end_date={iso(now_ms + 60_000)}"
    day = f"&start_date={iso(now_ms - 30 * HOUR)}&end_date={iso(now_ms - 6 * HOUR)}"
    paths = ["/api/v1/agents"]
    for a in AGENTS:
        for w in ["", week, day]:
            paths += [f"/api/v1/analytics/conversations/metrics?agent_id={a}{w}",
                      f"/api/v1/analytics/nlu/metrics?agent_id={a}{w}",
                      f"/api/v1/analytics/users/drop-off?agent_id={a}{w}",
                      f"/api/v1/analytics/business/automation-rate?agent_id={a}{w}",
                      f"/api/v1/analytics/business/cost-savings?agent_id={a}&cost_per_interaction=2.5{w}"]
        for interval in ["hour", "day"]:
            paths.append(f"/api/v1/analytics/conversations/timeseries?agent_id={a}&interval={interval}{week}")
        for timeframe in ["24h", "7d", "30d"]:
            paths.append(f"/api/v1/analytics/dashboard/overview?agent_id={a}&timeframe={timeframe}")
    for agent, sid in sessions:
        paths += [f"/api/v1/analytics/users/journey/{sid}?agent_id={agent}", f"/api/v1/analytics/users/journey/{sid}"]
    return paths


def test_a_cluster_answers_exactly_as_a_plain_redis(deployments):
    plain, fronts, _, cluster = deployments
    now = int(time.time() * 1000)
    events, dropped = generate(now)
    batches = [events[i:i + 200] for i in range(0, len(events), 200)]
    for i, batch in enumerate(batches):
        status, body = plain[0].post_events(batch)
        assert status == 200 and not body["rejected"] and body["accepted"] == len(batch), body
        status, body = fronts[i % 2].post_events(batch)
        assert status == 200 and not body["rejected"] and body["accepted"] == len(batch), body
    # Retries through the other front: exact de-dup on the cluster too.
    for i, batch in enumerate(batches[:3]):
        status, body = fronts[(i + 1) % 2].post_events(batch)
        assert status == 200 and body["accepted"] == 0 and body["duplicates"] == len(batch), body

    def settled(front):
        s = front.get_json("/api/v1/status")
        if s["lag"] or s["pending"]:
            return False
        return all(front.get_json(f"/api/v1/analytics/users/drop-off?agent_id={a}")["total_incomplete_sessions"]
                   == dropped[a] for a in AGENTS)

    for f in plain + fronts:
        wait_until(lambda f=f: settled(f), 90, f"every session finalized behind {f.base}")

    # The agents' keys are spread over the three primaries.
    holding = [p for p in cluster.primary_ports() if int(cluster.cli(p, "DBSIZE")) > 0]
    assert len(holding) == 3, holding

    rng = random.Random(7)
    sample = [(a, f"{a}-s{rng.randrange(SESSIONS)}") for a in AGENTS for _ in range(3)]
    paths = endpoints(now, sample)
    differences = []
    for path in paths:
        expected = plain[0].get_json(path)
        for f in fronts:
            got = f.get_json(path)
            if got != expected:
                differences.append((path, f.base, json.dumps(expected, sort_keys=True)[:400], json.dumps(got, sort_keys=True)[:400]))
    assert not differences, f"{len(differences)} of {len(paths) * 2} answers differ; first: {differences[:3]}"
    # The comparison compares something: every agent has its conversations and its dropped sessions.
    for a in AGENTS:
        m = plain[0].get_json(f"/api/v1/analytics/conversations/metrics?agent_id={a}")
        assert m["total_conversations"] == SESSIONS
        assert plain[0].get_json(f"/api/v1/analytics/users/drop-off?agent_id={a}")["total_incomplete_sessions"] == dropped[a] > 0


def test_replica_acks_refuse_a_batch_no_replica_confirmed():
    """`insights serve --replica-acks 1`: without a replica the batch is written but not acknowledged
    (503 with a JSON body and Retry-After); once a replica is attached the retry is answered 200 and
    counts the events once."""
    primary = Redis()
    front = Front(primary.url, "--replica-acks", "1", "--replica-ack-timeout-ms", "1000")
    replica_dir = None
    replica = None
    try:
        now = int(time.time() * 1000)
        batch = [{"event_id": f"ra-{i}", "agent_id": "ra", "session_id": "ra-s", "event_type": "user_message",
                  "timestamp": iso(now - 1000 + i)} for i in range(5)]
        status, headers, body = front.request("POST", "/api/v1/events", json.dumps(batch).encode(),
                                              {"Content-Type": "application/json"})
        assert status == 503, (status, body)
        assert headers.get("Retry-After") == "1"
        err = json.loads(body)
        assert err["error"] == "redis unavailable" and "replica" in err["detail"], err
        # Written on the primary all the same (not acknowledged is not the same as not written).
        assert primary.client().xlen("ins:{ra}:stream") == 5

        # A replica of the primary (over TCP: give the primary a port).
        port = free_port()
        primary.cli("CONFIG", "SET", "port", str(port))
        replica_dir = Path(tempfile.mkdtemp(prefix="insights-e2e-replica-"))
        replica = subprocess.Popen(["redis-server", "--port", str(free_port()), "--dir", str(replica_dir),
                                    "--save", "", "--replicaof", "127.0.0.1", str(port),
                                    "--logfile", str(replica_dir / "redis.log")],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_until(lambda: primary.cli("WAIT", "1", "100") == "1", 20, "the replica in sync and acknowledging")
        status, body = front.post_events(batch)
        assert status == 200 and body["accepted"] == 0 and body["duplicates"] == 5, body
        more = [{**e, "event_id": e["event_id"] + "-b"} for e in batch]
        status, body = front.post_events(more)
        assert status == 200 and body["accepted"] == 5, body
    finally:
        front.stop()
        if replica:
            replica.terminate()
            replica.wait(10)
        primary.close()
        if replica_dir:
            shutil.rmtree(replica_dir, ignore_errors=True)



def test_insights_run_starts_and_stops_a_local_cluster(tmp_path):
    """`insights run --cluster 3`: a managed 3-primary cluster under ./.insights/cluster, the front and
    workers on it; Ctrl-C stops everything, and a second run finds the same data."""
    from service import INSIGHTS_BIN, REPO
    import os
    import signal
    import urllib.request

    def start():
        port = free_port()
        log = open(tmp_path / f"run-{port}.log", "wb")
        proc = subprocess.Popen([str(INSIGHTS_BIN), "run", "--cluster", "3", "--no-demo", "--port", str(port),
                                 "--session-timeout", "60"], cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT,
                                env={**os.environ, "INSIGHTS_LUA_DIR": str(REPO / "lua")})
        base = f"http://127.0.0.1:{port}"
        wait_until(lambda: urllib.request.urlopen(base + "/health", timeout=2).status == 200, 60, "insights run --cluster 3")
        return proc, base

    def stop(proc):
        proc.send_signal(signal.SIGINT)
        assert proc.wait(30) == 0

    def get(base, path):
        with urllib.request.urlopen(base + path, timeout=10) as r:
            return json.loads(r.read())

    proc, base = start()
    try:
        layout = (tmp_path / ".insights" / "cluster" / "layout").read_text().split()
        assert len(layout) == 6
        now = int(time.time() * 1000)
        events = [{"event_id": f"run-{i}", "agent_id": f"run-{i % 3}", "session_id": f"s{i % 3}", "event_type": "user_message",
                   "timestamp": iso(now - 5000 + i)} for i in range(30)]
        req = urllib.request.Request(base + "/api/v1/events", data=json.dumps(events).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as r:
            assert json.loads(r.read())["accepted"] == 30
        wait_until(lambda: len(get(base, "/api/v1/analytics/users/journey/s1?agent_id=run-1")["journey"]) == 10, 30, "journey")
        # Every primary of the managed cluster serves slots; redis-cli sees the three.
        ports = [int(p) for p in layout]
        nodes = subprocess.run(["redis-cli", "-p", str(ports[0]), "CLUSTER", "NODES"], capture_output=True, text=True).stdout
        flags = [line.split()[2] for line in nodes.splitlines()]
        assert sum("master" in f for f in flags) == 3 and sum("slave" in f for f in flags) == 3, nodes
    finally:
        stop(proc)
    # Every node is gone with it.
    assert all(subprocess.run(["redis-cli", "-p", p, "PING"], capture_output=True, text=True).stdout.strip() != "PONG"
               for p in layout)
    proc, base = start()
    try:
        assert len(get(base, "/api/v1/analytics/users/journey/s1?agent_id=run-1")["journey"]) == 10
    finally:
        stop(proc)
