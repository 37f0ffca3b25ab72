"""Issue 12: agents that stop sending. Their last idle sessions must still be counted as dropped.

Before the fix the sweep compared a session's last event with its agent's newest *event* time, which
stops moving when the agent goes quiet: the sessions idle in the agent's last hour of traffic were
never finalized, and drop-off, automation and cost savings stayed short. Now the Redis server clock
counts too (`insights worker --wall-clock-grace-ms`, default 60 s). Everything here is real
processes: a private redis-server, `insights serve` and two `insights worker` with default options.
"""
import random
import time
from datetime import datetime, timedelta, timezone

import pytest

from service import Front, Insights, Redis, wait_until

AGENTS = ["quiet-a", "quiet-b", "quiet-c"]
SESSIONS = 40
INTENTS = ["billing", "book_flight", "cancel", "greeting"]


def iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def generate(now_ms: int):
    """Sessions between about 6 h and 3 h ago (the agents' traffic stopped 3 h ago), with the expected
    outcome of each computed here: ended if it has a conversation_end, else dropped at its last intent."""
    rng = random.Random(12)
    events, expected = [], {}
    for agent in AGENTS:
        drops, ended, dropped, escalated = {}, 0, 0, 0
        for s in range(SESSIONS):
            sid = f"{agent}-s{s}"
            # Start times spread over [now-6h, now-3h-5min]: the last sessions end right before the stop.
            t = now_ms - 6 * 3_600_000 + s * (3 * 3_600_000 - 300_000) // SESSIONS
            seq = [("conversation_start", {})]
            last_intent = None
            for _ in range(rng.randint(1, 3)):
                intent = rng.choice(INTENTS)
                seq += [("user_message", {}), ("intent_classified", {"intent": intent}), ("bot_response", {})]
                last_intent = intent
            esc = rng.random() < 0.15
            if esc:
                seq.append(("custom", {"escalated_to_human": True}))
                escalated += 1
            has_end = rng.random() < 0.5
            if has_end:
                seq.append(("conversation_end", {}))
                ended += 1
            else:
                dropped += 1
                drops[last_intent] = drops.get(last_intent, 0) + 1
            for i, (etype, data) in enumerate(seq):
                events.append({"event_id": f"{sid}-e{i}", "agent_id": agent, "session_id": sid, "event_type": etype,
                               "timestamp": iso(t + i * 4000), "data": data,
                               **({"response_time_ms": 120} if etype == "bot_response" else {})})
        expected[agent] = {"drops": drops, "dropped": dropped, "ended": ended, "escalated": escalated}
    rng.shuffle(events)
    return events, expected


@pytest.fixture
def deployment():
    r = Redis()
    front = Front(r.url)
    workers = [Insights("worker", "--redis-url", r.url, "--session-timeout", "3600") for _ in range(2)]
    yield r, front, workers
    for w in workers:
        w.stop()
    front.stop()
    r.close()


def test_the_last_idle_sessions_of_quiet_agents_are_dropped(deployment):
    r, front, _ = deployment
    now = int(time.time() * 1000)
    events, expected = generate(now)
    for i in range(0, len(events), 500):
        status, body = front.post_events(events[i:i + 500])
        assert status == 200 and not body["rejected"], body
    windows = ["", f"&start_date={iso(now - 7 * 86_400_000)}&end_date={iso(now + 60_000)}"]

    def settled():
        status = front.get_json("/api/v1/status")
        if status["lag"] or status["pending"]:
            return False
        return all(front.get_json(f"/api/v1/analytics/users/drop-off?agent_id={a}")["total_incomplete_sessions"]
                   == expected[a]["dropped"] for a in AGENTS)

    # Without the server clock this never holds: the sessions in each agent's last hour stay idle.
    wait_until(settled, 60, "every idle session finalized")
    for agent in AGENTS:
        e = expected[agent]
        for w in windows:
            d = front.get_json(f"/api/v1/analytics/users/drop-off?agent_id={agent}{w}")
            assert d["drop_off_points"] == e["drops"], (agent, w)
            assert d["total_incomplete_sessions"] == e["dropped"]
            a = front.get_json(f"/api/v1/analytics/business/automation-rate?agent_id={agent}{w}")
            assert a["automation_rate"] == pytest.approx(100 * (SESSIONS - e["escalated"]) / SESSIONS)
            c = front.get_json(f"/api/v1/analytics/business/cost-savings?agent_id={agent}{w}")
            assert c["total_conversations"] == SESSIONS
            assert c["automated_conversations"] == SESSIONS - e["escalated"]
            assert c["cost_savings"] == pytest.approx(5.0 * (SESSIONS - e["escalated"]))
    # Nothing is left waiting in the idle sets.
    client = r.client()
    assert all(client.zcard(f"ins:{{{a}}}:idle") == 0 for a in AGENTS)
