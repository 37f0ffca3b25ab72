"""The fixtures themselves: a front on a private Redis accepts an event and counts it."""
from datetime import datetime, timezone


def test_front_ingests_and_counts(front, redis_server):
    now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    ev = {"event_id": "smoke-1", "agent_id": "smoke", "session_id": "s1", "event_type": "conversation_start",
          "timestamp": now}
    status, body = front.post_events([ev, {**ev, "event_id": "smoke-2", "event_type": "nope"}])
    assert status == 200
    assert body["accepted"] == 1 and body["duplicates"] == 0
    assert body["rejected"][0]["index"] == 1
    assert front.get_json("/api/v1/agents")["agents"] == ["smoke"]
    m = front.get_json("/api/v1/analytics/conversations/metrics?agent_id=smoke")
    assert m["total_conversations"] == 1
    assert redis_server.client().xlen("ins:{smoke}:stream") == 1
