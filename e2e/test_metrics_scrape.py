"""`GET /metrics` of `insights run` read by Prometheus' own parser (prometheus_client): the text is
valid exposition format, and the counters move as events arrive (docs/operations.md, *Metrics*)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from prometheus_client.parser import text_string_to_metric_families

from service import Run, wait_until

AGENT = "prom"


@pytest.fixture
def deployment(redis_server, insights_run):
    return redis_server, insights_run()


def scrape(run: Run) -> dict[tuple[str, tuple], float]:
    status, headers, body = run.request("GET", "/metrics")
    assert status == 200 and headers["Content-Type"].startswith("text/plain; version=0.0.4")
    out = {}
    for family in text_string_to_metric_families(body.decode()):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def events(n: int, prefix: str) -> list[dict]:
    t0 = datetime.now(timezone.utc) - timedelta(minutes=5)
    return [{"event_id": f"{prefix}{i}", "event_type": "user_message", "session_id": f"{prefix}-s", "agent_id": AGENT,
             "timestamp": (t0 + timedelta(seconds=i)).isoformat().replace("+00:00", "Z")} for i in range(n)]


def test_prometheus_parses_metrics_and_counters_move(deployment):
    _, run = deployment
    accepted = ("insights_events_total", (("outcome", "accepted"), ("source", "http")))
    duplicate = ("insights_events_total", (("outcome", "duplicate"), ("source", "http")))
    before = scrape(run)
    status, r1 = run.post_events(events(5, "p"))
    assert status == 200 and r1["accepted"] == 5
    status, r2 = run.post_events(events(5, "p"))  # the same batch again: 5 duplicates
    assert status == 200 and r2["duplicates"] == 5
    after = scrape(run)
    assert after[accepted] - before.get(accepted, 0) == 5
    assert after[duplicate] - before.get(duplicate, 0) == 5
    # Requests by route and status, with the latency histogram (Hummingbird's middleware).
    route = (("http_request_method", "POST"), ("http_response_status_code", "200"), ("http_route", "/api/v1/events"))
    assert after[("hb_requests_total", route)] >= 2
    assert after[("http_server_request_duration_count", route)] >= 2
    # The workers of `insights run` drain the stream: the lag from Redis goes to 0, applied entries move.
    wait_until(lambda: scrape(run).get(("insights_worker_lag", (("agent", AGENT),))) == 0, 20, "worker lag 0")
    final = scrape(run)
    assert final[("insights_worker_entries_applied_total", ())] - before.get(("insights_worker_entries_applied_total", ()), 0) >= 5
    assert final[("insights_dead_letters", (("agent", AGENT),))] == 0
    assert final[("insights_redis_up", ())] == 1
