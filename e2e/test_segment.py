"""Segment's own Python SDK (segment-analytics-python, from PyPI) pointed at `insights run`: the
events it sends are counted by value, a re-sent batch counts once (docs/ingest.md, *Segment*)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from segment.analytics import Client

from service import Run, wait_until

AGENT, DEFAULT = "support", "seg-default"


@pytest.fixture
def deployment(redis_server, insights_run):
    return redis_server, insights_run("--default-agent", DEFAULT)


def sdk(run: Run, errors: list) -> Client:
    # gzip as many deployments set it; small uploads so that several batches are sent.
    return Client("any-write-key", host=run.base, gzip=True, upload_size=3, on_error=lambda e, batch: errors.append((e, batch)),
                  max_retries=1)


def send(client: Client, t0: datetime):
    props = {"session_id": "seg-s1", "agent_id": AGENT}
    steps = [
        ("Conversation Start", {}), ("User Message", {"channel": "web"}),
        ("Intent Classified", {"intent": "billing", "confidence": 0.9}), ("Bot Response", {"responseTimeMs": 300}),
        ("Order Completed", {"total": 30}), ("conversation_end", {}),
    ]
    for i, (name, extra) in enumerate(steps):
        client.track(user_id="u-1", event=name, properties={**props, **extra}, timestamp=t0 + timedelta(seconds=i),
                     message_id=f"seg-m{i}")
    # No agent_id: the --default-agent; identify carries no event.
    client.track(anonymous_id="anon-7", event="User Message", properties={"sessionId": "seg-s2"}, timestamp=t0, message_id="seg-m9")
    client.identify(user_id="u-1", traits={"plan": "pro"})
    client.flush()


def test_segment_sdk_events_are_counted_once(deployment):
    r, run = deployment
    errors: list = []
    client = sdk(run, errors)
    t0 = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(minutes=30)
    send(client, t0)
    send(client, t0)  # the SDK re-sends the same messages (same messageIds): duplicates
    client.shutdown()
    assert errors == []
    m = run.get_json(f"/api/v1/analytics/conversations/metrics?agent_id={AGENT}")
    assert (m["total_conversations"], m["total_messages"], m["total_events"], m["avg_response_time_ms"]) == (1, 2, 6, 300)
    n = run.get_json(f"/api/v1/analytics/nlu/metrics?agent_id={AGENT}")
    assert n["intent_distribution"] == {"billing": 1} and n["avg_confidence"] == 0.9
    assert run.get_json(f"/api/v1/analytics/conversations/metrics?agent_id={DEFAULT}")["total_messages"] == 1
    # The journey holds each event once, typed by its name; the custom event keeps its name.
    wait_until(lambda: run.get("/api/v1/analytics/users/journey/seg-s1")[0] == 200, 15, "the journey of seg-s1")
    j = run.get_json(f"/api/v1/analytics/users/journey/seg-s1?agent_id={AGENT}")
    events = j["journey"]
    assert [e["type"] for e in events] == ["conversation_start", "user_message", "intent_classified", "bot_response",
                                                 "custom", "conversation_end"]
    assert [e["event_id"] for e in events] == [f"seg-m{i}" for i in range(6)]
    assert events[4]["data"] == {"name": "Order Completed", "total": 30} and events[2]["intent"] == "billing"
    assert events[3]["response_time_ms"] == 300
    # Corrected for the sender's clock (timestamp + receivedAt − sentAt): off by the time the request took.
    got = datetime.strptime(events[0]["timestamp"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)
    assert abs((got - t0).total_seconds()) < 2
    assert r.client().xlen(f"ins:{{{AGENT}}}:stream") <= 6
