"""The seed's own design, for comparison: `GET /api/v1/analytics/dashboard/overview` computed at
query time by scanning every stored event, with the guide's classes (ConversationAnalytics,
NLUAnalytics, BusinessMetrics; ../shared/seed/insights-analytics-guide.txt), behind FastAPI.

The event store is an in-memory list of the seed's pydantic AnalyticsEvent, as its
`event_store.query(...)` implies. `POST /bench/load?redis_url=...&agent_id=...` appends the entries
of that agent's Redis stream it has not read yet (so it holds exactly the events the Swift service
stores). Run: uvicorn bench.seed_api:app, or `python bench/seed_api.py PORT`.

One deliberate change: `datetime.utcnow()` (naive) becomes `datetime.now(timezone.utc)`, because
events carry aware timestamps and Python refuses to compare the two.
"""
import json
import os
import sys
import uuid
from collections import Counter, defaultdict
from datetime import datetime, timedelta, timezone
from enum import Enum
from typing import Any, Dict, List, Optional

import redis

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
import storage  # noqa: E402  reading the stream entries (docs/keys.md)
from fastapi import FastAPI, Query
from pydantic import BaseModel, ConfigDict, Field


class EventType(str, Enum):
    CONVERSATION_START = "conversation_start"
    CONVERSATION_END = "conversation_end"
    USER_MESSAGE = "user_message"
    BOT_RESPONSE = "bot_response"
    INTENT_CLASSIFIED = "intent_classified"
    ENTITY_EXTRACTED = "entity_extracted"
    WORKFLOW_STARTED = "workflow_started"
    WORKFLOW_COMPLETED = "workflow_completed"
    WORKFLOW_FAILED = "workflow_failed"
    API_CALL = "api_call"
    ERROR = "error"
    USER_FEEDBACK = "user_feedback"
    CUSTOM = "custom"


class AnalyticsEvent(BaseModel):
    model_config = ConfigDict(use_enum_values=True)
    event_id: str = Field(default_factory=lambda: str(uuid.uuid4()))
    event_type: EventType
    timestamp: datetime = Field(default_factory=lambda: datetime.now(timezone.utc))
    session_id: str
    user_id: Optional[str] = None
    agent_id: Optional[str] = None
    data: Dict[str, Any] = Field(default_factory=dict)
    channel: Optional[str] = None
    platform: Optional[str] = None
    location: Optional[str] = None
    duration_ms: Optional[int] = None
    response_time_ms: Optional[int] = None
    confidence: Optional[float] = None
    sentiment: Optional[str] = None


class EventStore:
    """What the seed's classes call: query(agent_id, start_date, end_date, event_type=None) scans every event."""

    def __init__(self):
        self.events: List[AnalyticsEvent] = []

    async def batch_insert(self, events):
        self.events.extend(events)

    async def query(self, agent_id, start_date, end_date, event_type=None):
        return [
            e for e in self.events
            if e.agent_id == agent_id and start_date <= e.timestamp <= end_date
            and (event_type is None or e.event_type == event_type)
        ]


class ConversationAnalytics:
    def __init__(self, event_store):
        self.event_store = event_store

    async def get_conversation_metrics(self, agent_id, start_date, end_date):
        events = await self.event_store.query(agent_id=agent_id, start_date=start_date, end_date=end_date)
        return {
            "total_conversations": self._count_unique_sessions(events),
            "avg_conversation_length": self._calculate_avg_length(events),
            "completion_rate": self._calculate_completion_rate(events),
            "avg_response_time_ms": self._calculate_avg_response_time(events),
            "total_messages": len(events),
        }

    def _count_unique_sessions(self, events):
        return len(set(e.session_id for e in events))

    def _calculate_avg_length(self, events):
        session_lengths = defaultdict(int)
        for event in events:
            if event.event_type in [EventType.USER_MESSAGE, EventType.BOT_RESPONSE]:
                session_lengths[event.session_id] += 1
        if not session_lengths:
            return 0
        return sum(session_lengths.values()) / len(session_lengths)

    def _calculate_completion_rate(self, events):
        started = sum(1 for e in events if e.event_type == EventType.WORKFLOW_STARTED)
        completed = sum(1 for e in events if e.event_type == EventType.WORKFLOW_COMPLETED)
        if started == 0:
            return 0
        return (completed / started) * 100

    def _calculate_avg_response_time(self, events):
        response_times = [e.response_time_ms for e in events if e.event_type == EventType.BOT_RESPONSE and e.response_time_ms]
        if not response_times:
            return 0
        return sum(response_times) / len(response_times)


class NLUAnalytics:
    def __init__(self, event_store):
        self.event_store = event_store

    async def get_intent_metrics(self, agent_id, start_date, end_date):
        events = await self.event_store.query(agent_id=agent_id, event_type=EventType.INTENT_CLASSIFIED,
                                              start_date=start_date, end_date=end_date)
        intent_counts = self._count_intents(events)
        return {
            "intent_distribution": intent_counts,
            "avg_confidence": self._calculate_avg_confidence(events),
            "low_confidence_rate": self._calculate_low_confidence_rate(events),
            "fallback_rate": self._calculate_fallback_rate(intent_counts),
            "total_classifications": len(events),
        }

    def _count_intents(self, events):
        return dict(Counter(e.data.get("intent") for e in events if e.data.get("intent")))

    def _calculate_avg_confidence(self, events):
        confidences = [e.confidence for e in events if e.confidence]
        return sum(confidences) / len(confidences) if confidences else 0

    def _calculate_low_confidence_rate(self, events, threshold=0.7):
        total = len(events)
        low = sum(1 for e in events if e.confidence and e.confidence < threshold)
        return (low / total) * 100 if total else 0

    def _calculate_fallback_rate(self, intent_counts):
        total = sum(intent_counts.values())
        return (intent_counts.get("fallback", 0) / total) * 100 if total else 0


class BusinessMetrics:
    def __init__(self, event_store):
        self.event_store = event_store

    async def get_automation_rate(self, agent_id, start_date, end_date):
        events = await self.event_store.query(agent_id=agent_id, start_date=start_date, end_date=end_date)
        sessions = defaultdict(list)
        for event in events:
            sessions[event.session_id].append(event)
        automated = 0
        total = len(sessions)
        for session_events in sessions.values():
            if not any(e.data.get("escalated_to_human", False) for e in session_events):
                automated += 1
        return (automated / total) * 100 if total else 0


event_store = EventStore()
app = FastAPI(title="seed design (bench peer)")
_cursor: Dict[str, str] = {}


@app.get("/health")
async def health():
    return {"status": "ok"}


@app.post("/bench/load")
async def load(redis_url: str, agent_id: str):
    """Appends the agent's stream entries not loaded yet (XRANGE in pages)."""
    r = redis.Redis.from_url(redis_url)
    key = "ins:{%s}:stream" % agent_id
    start = _cursor.get(agent_id)
    added = 0
    while True:
        page = r.xrange(key, min="(" + start if start else "-", max="+", count=10000)
        if not page:
            break
        for entry_id, fields in page:
            # A stream entry holds the session and the event's journey record (docs/keys.md): the
            # seed's model is rebuilt from them (confidence and channel are not in a record: absent here).
            rec = storage.decode_records(fields[b"r"])[0]
            event_store.events.append(AnalyticsEvent(
                event_id=rec["event_id"], event_type=rec["type"], session_id=fields[b"s"].decode(), agent_id=agent_id,
                timestamp=datetime.fromtimestamp(rec["ts"] / 1000, timezone.utc),
                data=json.loads(rec["data"]) if rec["data"] else {}, response_time_ms=rec["rt"]))
        added += len(page)
        start = page[-1][0].decode()
    if start:
        _cursor[agent_id] = start
    r.close()
    return {"added": added, "stored": len(event_store.events)}


@app.get("/api/v1/analytics/dashboard/overview")
async def get_dashboard_overview(agent_id: str, timeframe: str = Query("30d", pattern="^(24h|7d|30d|90d)$")):
    now = datetime.now(timezone.utc)
    days = {"24h": 1, "7d": 7, "30d": 30}.get(timeframe, 90)
    start_date = now - timedelta(days=days)
    conv_metrics = await ConversationAnalytics(event_store).get_conversation_metrics(agent_id, start_date, now)
    nlu_metrics = await NLUAnalytics(event_store).get_intent_metrics(agent_id, start_date, now)
    automation_rate = await BusinessMetrics(event_store).get_automation_rate(agent_id, start_date, now)
    return {
        "timeframe": timeframe,
        "conversation_metrics": conv_metrics,
        "nlu_metrics": nlu_metrics,
        "automation_rate": automation_rate,
    }


if __name__ == "__main__":
    import uvicorn

    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
