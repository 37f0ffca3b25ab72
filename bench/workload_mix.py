"""The realistic event mix of the cost phase (`make bench`, bench/cost.py), written as NDJSON.

    python bench/workload_mix.py OUT.ndjson [EVENTS] [SEED] [--span-hours H] [--agent-prefix P]

Three agents (a support bot on web/mobile/WhatsApp, a sales bot on the web, a voice bot), about 18
events per session: user messages and bot answers with their text in `data`, intents with confidence
and extracted entities, entity_extracted events, upstream API calls, workflows, errors, feedback
(ratings, thumbs), escalations and a conversation_end for three sessions in four. Event ids are random
UUIDs (what the tracker and most SDKs send), session ids random too, user ids from a pool; channel,
platform, location and sentiment as platforms send them. Sessions start between 5 h and 2 h 15 min
ago and run for a few minutes each, so that many are open at once: the file is in event-time order,
the events of concurrent sessions interleaved as a live platform emits them (a batch of 100 touches
dozens of sessions). Deterministic for a seed.
"""
from __future__ import annotations

import argparse
import json
import random
import sys
import time
import uuid
from datetime import datetime, timezone

AGENTS = [  # (agent, share of sessions, channels)
    ("support-bot", 0.5, ["web", "mobile", "whatsapp"]),
    ("sales-bot", 0.3, ["web"]),
    ("voice-bot", 0.2, ["voice"]),
]
PLATFORMS = {"web": ["web"], "mobile": ["ios", "android"], "whatsapp": ["whatsapp"], "voice": ["twilio", "genesys"]}
CITIES = ["Berlin", "Paris", "Madrid", "Lisbon", "London", "Dublin", "Rome", "Milan", "Vienna", "Prague", "Warsaw",
          "Amsterdam", "Brussels", "Zurich", "Oslo", "Stockholm", "Helsinki", "Athens", "Istanbul", "New York",
          "Chicago", "Toronto", "Austin", "Seattle", "Sao Paulo", "Mexico City", "Tokyo", "Seoul", "Sydney", "Mumbai"]
INTENTS = {  # intent -> (entity types it extracts, user utterances)
    "order_status": (["order_id"], ["where is my order {order}", "my package {order} still hasn't arrived",
                                    "can you check order {order} please", "tracking for {order}?"]),
    "refund": (["order_id", "amount"], ["I want a refund for {order}", "please refund the {amount} you charged me",
                                        "the item from order {order} is broken, I need my money back"]),
    "billing": (["amount", "date"], ["why was I charged {amount} on {date}", "I see two charges of {amount}",
                                     "my invoice from {date} looks wrong"]),
    "book_appointment": (["date", "city"], ["book me an appointment in {city} on {date}",
                                            "do you have a slot on {date}?", "I need to see someone in {city}"]),
    "change_address": (["city"], ["I moved to {city}, update my address", "ship to my new place in {city} instead"]),
    "product_question": (["product"], ["does the {product} come in black?", "is the {product} waterproof",
                                       "how long does the {product} battery last"]),
    "cancel_subscription": ([], ["cancel my subscription", "I don't want the plan anymore, stop it",
                                 "how do I end my membership"]),
    "greeting": ([], ["hi", "hello there", "good morning", "hey, anyone here?"]),
    "human_agent": ([], ["let me talk to a human", "I want a real person", "agent please"]),
    "fallback": ([], ["asdf", "hmm not sure", "what about the other thing I said yesterday", "?"]),
}
ANSWERS = [
    "Thanks {name}! Order {order} left our warehouse on {date} and should arrive within 2 business days.",
    "I've started a refund of {amount} to your original payment method; it usually takes 3-5 days.",
    "I can see a charge of {amount} on {date}. It was for your monthly plan renewal.",
    "I found a slot on {date} at {hour}:00 in our {city} store. Shall I book it?",
    "Your address is now updated to {city}. Future orders will ship there.",
    "The {product} is available in black, white and blue, and it is water resistant (IP67).",
    "Sorry to see you go. Your subscription will end on {date}; you keep access until then.",
    "Hello {name}, how can I help you today?",
    "I'm connecting you with a member of our team, please hold on a moment.",
    "Sorry, I didn't quite get that. Could you rephrase, or pick one of the options below?",
]
PRODUCTS = ["Aero 2 headphones", "Nimbus smartwatch", "Volt charger", "Trail backpack", "Orbit speaker", "Flex mat"]
NAMES = ["Anna", "Ben", "Chloe", "David", "Emma", "Felix", "Grace", "Hugo", "Ines", "Jonas", "Kira", "Liam", "Maya"]
ENDPOINTS = ["/orders/lookup", "/payments/refund", "/billing/invoices", "/calendar/slots", "/crm/customer",
             "/catalog/search", "/subscriptions/cancel"]
WORKFLOWS = {"refund": "refund_flow", "book_appointment": "booking_flow", "change_address": "address_update",
             "cancel_subscription": "cancellation_flow"}


def iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


class Mix:
    def __init__(self, seed: int):
        self.rng = random.Random(seed)

    def uid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def slots(self) -> dict:
        r = self.rng
        return {"order": f"#{r.randint(100000, 999999)}", "amount": f"${r.randint(5, 400)}.{r.randint(0, 99):02d}",
                "date": f"2026-{r.randint(1, 12):02d}-{r.randint(1, 28):02d}", "city": r.choice(CITIES),
                "product": r.choice(PRODUCTS), "name": r.choice(NAMES), "hour": r.randint(9, 17)}

    def session(self, agent: str, channels: list[str], start_ms: int) -> list[dict]:
        r = self.rng
        channel = r.choice(channels)
        platform = r.choice(PLATFORMS[channel])
        location = r.choice(CITIES) if r.random() < 0.7 else None
        sid = f"{channel}-{self.uid().replace('-', '')[:20]}"
        user = f"u-{r.randint(0, 20000):06d}"
        t = start_ms
        out: list[dict] = []

        def add(etype: str, data: dict | None = None, gap: tuple[int, int] = (300, 1500), **fields):
            nonlocal t
            t += r.randint(*gap)
            e = {"event_id": self.uid(), "event_type": etype, "timestamp": iso(t), "session_id": sid, "user_id": user,
                 "agent_id": agent, "data": data or {}, "channel": channel, "platform": platform}
            if location:
                e["location"] = location
            e.update({k: v for k, v in fields.items() if v is not None})
            out.append(e)

        add("conversation_start", {"entry_point": r.choice(["widget", "deeplink", "push", "ivr"])}, gap=(0, 1))
        escalated = False
        for _ in range(r.randint(2, 7)):
            intent = r.choices(list(INTENTS), weights=[14, 8, 8, 7, 4, 9, 4, 10, 4, 7])[0]
            entity_types, utterances = INTENTS[intent]
            s = self.slots()
            add("user_message", {"text": r.choice(utterances).format(**s)}, gap=(3000, 25000),
                sentiment=r.choices(["positive", "neutral", "negative"], weights=[3, 6, 2])[0])
            conf = round(r.uniform(0.35, 0.99), 2) if intent != "fallback" else round(r.uniform(0.1, 0.5), 2)
            entities = [{"type": et, "value": str(s[{"order_id": "order", "amount": "amount"}.get(et, et)])}
                        for et in entity_types]
            add("intent_classified", {"intent": intent, **({"entities": entities} if entities else {})},
                gap=(40, 300), confidence=conf)
            if entities and r.random() < 0.4:
                add("entity_extracted", {"entities": entities}, gap=(10, 80))
            if r.random() < 0.35:
                ok = r.random() < 0.92
                add("api_call", {"endpoint": r.choice(ENDPOINTS), "method": r.choice(["GET", "POST"]),
                                 "status_code": 200 if ok else r.choice([500, 502, 503, 504])},
                    gap=(20, 200), duration_ms=r.randint(30, 1800))
            if intent in WORKFLOWS and r.random() < 0.6:
                add("workflow_started", {"workflow": WORKFLOWS[intent]}, gap=(10, 100))
                add(r.choices(["workflow_completed", "workflow_failed"], weights=[8, 2])[0],
                    {"workflow": WORKFLOWS[intent]}, gap=(500, 8000), duration_ms=r.randint(400, 9000))
            if r.random() < 0.03:
                add("error", {"code": r.choice(["TIMEOUT", "UPSTREAM_5XX", "NLU_UNAVAILABLE"]),
                              "message": "upstream did not answer in time"}, gap=(10, 100))
            rt = r.randint(180, 2600)
            esc = intent == "human_agent" and r.random() < 0.7
            add("bot_response", {"text": r.choice(ANSWERS).format(**s), **({"escalated_to_human": True} if esc else {})},
                gap=(rt, rt + 50), response_time_ms=rt)
            if esc:
                escalated = True
                break
        if r.random() < 0.35:
            add("user_feedback", {"rating": r.choices([1, 2, 3, 4, 5], weights=[1, 1, 2, 4, 5])[0],
                                  "thumbs": r.choices(["up", "down"], weights=[4, 1])[0]}, gap=(2000, 15000))
        if escalated or r.random() < 0.75:
            add("conversation_end", {"reason": "escalated" if escalated else r.choice(["resolved", "user_left"])},
                gap=(1000, 20000))
        return out

    def events(self, n: int, now_ms: int, span_hours: float = 5, agent_prefix: str = "") -> list[dict]:
        """About n events of sessions starting between `span_hours` and 2 h 15 min ago."""
        events: list[dict] = []
        weights = [a[1] for a in AGENTS]
        while len(events) < n:
            agent, _, channels = self.rng.choices(AGENTS, weights=weights)[0]
            start = now_ms - self.rng.randint(2 * 3_600_000 + 15 * 60_000, int(span_hours * 3_600_000))
            events.extend(self.session(agent_prefix + agent, channels, start))
        events.sort(key=lambda e: e["timestamp"])  # ISO-8601 UTC with ms: text order is time order
        return events


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("out")
    p.add_argument("events", type=int, nargs="?", default=200_000)
    p.add_argument("seed", type=int, nargs="?", default=13)
    p.add_argument("--span-hours", type=float, default=5, help="sessions start up to this long ago (default 5)")
    p.add_argument("--agent-prefix", default="", help="prefix of the three agent ids")
    a = p.parse_args()
    events = Mix(a.seed).events(a.events, int(time.time() * 1000), a.span_hours, a.agent_prefix)
    with open(a.out, "w") as f:
        for e in events:
            f.write(json.dumps(e, separators=(",", ":"), ensure_ascii=False) + "\n")
    sessions = len({(e["agent_id"], e["session_id"]) for e in events})
    print(json.dumps({"events": len(events), "sessions": sessions, "events_per_session": len(events) / sessions,
                      "bytes_per_event": sum(len(json.dumps(e, separators=(",", ":"))) for e in events) / len(events)}))


if __name__ == "__main__":
    main()
