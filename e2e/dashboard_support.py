"""What the dashboard tests share: the known data and its hand-computed numbers, a module-scoped
world (private Redis, `insights serve`, `insights worker`), a headless Chromium, and helpers that
read the page (cards, Chart.js data, console, contrast)."""
from __future__ import annotations

import json
import math
import os
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from service import Front, Insights, Redis, wait_until

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
CHROMIUM = os.environ.get("CHROMIUM_BIN", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("CHROMEDRIVER_BIN", "/usr/bin/chromedriver")
AGENT = "shop"
LIVE_AGENT = "live-bot"
# The alert rule the world starts with (before its worker, whose alert engine judges it at once):
# conversations of the last 30 complete minutes above 0 — s4 (−10 min) only: value 1.
RULE = {"name": "shop conversations", "agent_id": AGENT, "metric": "total_conversations", "window_minutes": 30,
        "condition": "above", "threshold": 0}


def iso(dt: datetime) -> str:
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


# ---------------------------------------------------------------- the known data

class Data:
    """Events relative to `now` (truncated to the millisecond).

    Current 24 h: s1 (−2 h) ended + escalated, 4 messages, workflow started+completed, intents
    book_flight + fallback, rt 100 and 300; s2 (−90 min) dropped at check_status, 2 messages,
    workflow started, rt 200; s3 (−60 min) ended, 4 messages, book_flight + refund, rt 100 + 100;
    s4 (−10 min) ended, 4 messages, greeting + weather, rt 200 + 200; s5 (−45 min) dropped with no
    intent (point `unknown`), 1 message.
    Previous 24 h: p1 (−30 h) ended, 2 messages, book_flight, rt 100; p2 (−29 h) ended, escalated,
    4 messages, fallback, rt 100 + 100.
    Older: o1 (−4 days) ended, 2 messages, book_flight, rt 100 (in 7d, not in 24h).
    Agent bot-b: one ended conversation (−3 h).
    """

    def __init__(self):
        now = datetime.now(timezone.utc)
        self.now = now.replace(microsecond=now.microsecond // 1000 * 1000)
        self.events: list[dict] = []
        self.first: dict[str, datetime] = {}
        n = self.now
        H, M, D = timedelta(hours=1), timedelta(minutes=1), timedelta(days=1)
        # Channels (the breakdown switch): s1, s2, s4 and p1 on web, s3 and p2 on voice, s5 none.
        self.session("s1", n - 2 * H, channel="web", steps=[
            ("conversation_start",), ("user_message", "positive"), ("intent_classified", "book_flight", 0.9),
            ("bot_response", 100), ("workflow_started", "booking"), ("workflow_completed", "booking"), ("user_message",),
            ("intent_classified", "fallback", 0.4), ("bot_response", 300, True), ("conversation_end",)])
        self.session("s2", n - 90 * M, channel="web", steps=[
            ("conversation_start",), ("user_message",), ("intent_classified", "check_status", 0.8),
            ("bot_response", 200), ("workflow_started", "status-check")])
        self.session("s3", n - 60 * M, channel="voice", steps=[
            ("conversation_start",), ("user_message", "negative"), ("intent_classified", "book_flight", 0.95),
            ("bot_response", 100), ("user_message",), ("intent_classified", "refund", 0.85), ("bot_response", 100),
            ("api_call", "/orders", 200, 120), ("error", "timeout"), ("user_feedback", 2, "down"), ("conversation_end",)])
        self.session("s5", n - 45 * M, [("conversation_start",), ("user_message",)])
        self.session("s4", n - 10 * M, channel="web", steps=[
            ("conversation_start",), ("user_message", "neutral"), ("intent_classified", "greeting", 0.99),
            ("bot_response", 200), ("user_message",), ("intent_classified", "weather", 0.75), ("bot_response", 200),
            ("api_call", "/orders", 503, 80), ("user_feedback", 4, "up"), ("conversation_end",)])
        self.session("p1", n - 30 * H, channel="web", steps=[
            ("conversation_start",), ("user_message",), ("intent_classified", "book_flight", 0.9),
            ("bot_response", 100), ("conversation_end",)])
        self.session("p2", n - 29 * H, channel="voice", steps=[
            ("conversation_start",), ("user_message",), ("intent_classified", "fallback", 0.3),
            ("bot_response", 100, True), ("user_message",), ("bot_response", 100), ("conversation_end",)])
        self.session("o1", n - 4 * D, [
            ("conversation_start",), ("user_message",), ("intent_classified", "book_flight", 0.9),
            ("bot_response", 100), ("conversation_end",)])
        self.session("b1", n - 3 * H, [("conversation_start",), ("user_message",), ("conversation_end",)],
                     agent="bot-b")
        # Agent live-bot, for the live card: w1 waits for the bot since −40 s (stuck: over 30 s), w2
        # was answered (user −20 s, bot −19 s). Both active.
        self.session("w1", n - 40 * timedelta(seconds=1), [("user_message",)], agent=LIVE_AGENT)
        self.session("w2", n - 20 * timedelta(seconds=1), [("user_message",), ("bot_response", 150)], agent=LIVE_AGENT)

    def session(self, sid: str, start: datetime, steps: list[tuple], agent: str = AGENT, channel: str | None = None):
        self.first[sid] = start
        for i, step in enumerate(steps):
            ev = {"event_id": f"{sid}-{i}", "agent_id": agent, "session_id": sid, "event_type": step[0],
                  "timestamp": iso(start + timedelta(seconds=i))}
            if channel:
                ev["channel"] = channel
            if step[0] == "intent_classified":
                ev["data"] = {"intent": step[1]}
                ev["confidence"] = step[2]
            if step[0] == "bot_response":
                ev["response_time_ms"] = step[1]
                if len(step) > 2:
                    ev["data"] = {"escalated_to_human": True}
            if step[0] == "user_message" and len(step) > 1:
                ev["sentiment"] = step[1]
            if step[0].startswith("workflow_") and len(step) > 1:
                ev["data"] = {"workflow": step[1]}
            if step[0] == "user_feedback":
                ev["data"] = {"rating": step[1], "thumbs": step[2]}
            if step[0] == "api_call":
                ev["data"] = {"endpoint": step[1], "status_code": step[2]}
                ev["duration_ms"] = step[3]
            if step[0] == "error":
                ev["data"] = {"code": step[1]}
            self.events.append(ev)

    def journey(self, sid: str) -> list[dict]:
        return [e for e in self.events if e["session_id"] == sid]


def bin_mid(rt: float) -> float:
    """The latency histogram's bin midpoint (docs/metrics.md): bin floor(4·log2 rt), 2^((bin+0.5)/4)."""
    return 2 ** ((math.floor(4 * math.log2(rt)) + 0.5) / 4)


# Hand-computed from Data (24 h): value text, change class, change text.
P95_NOW, P95_BEFORE = bin_mid(300), bin_mid(100)  # 7 samples: rank ⌈0.95·7⌉ = 7 → 300 ms; before: 100 ms
EXPECTED_24H = {
    # 5 conversations against 2 before.
    "conversations": ("5", "up good", "150.0%"),
    # 15 messages / 5 conversations against 6 / 2.
    "avg-length": ("3.0 messages", "flat neutral", "0.0%"),
    # 1 completed / 2 started; none started before → no change.
    "completion": ("50.0%", "none", "no data for the previous 24 hours"),
    # (100+300+200+100+100+200+200)/7 = 171.4 against 100: a rise is worse.
    "avg-rt": ("171 ms", "up bad", "71.4%"),
    "p95-rt": (f"{round(P95_NOW)} ms", "up bad", f"{(P95_NOW / P95_BEFORE - 1) * 100:.1f}%"),
    # 4 of 5 finalized sessions without escalation against 1 of 2.
    "automation": ("80.0%", "up good", "60.0%"),
    # 1 fallback of 7 classified intents against 1 of 2: a fall is better.
    "fallback": ("14.3%", "down good", "71.4%"),
    # 4 automated × $5 against 1 × $5.
    "savings": ("$20.00", "up good", "300.0%"),
}


# Quality and workflows over the current 24 h (issue 16): feedback in s3 (rating 2, down) and s4
# (rating 4, up): 2 ratings, average 3.0, CSAT 100·1/2 = 50 %, thumbs up 50 %; sentiments positive
# (s1), negative (s3), neutral (s4): negative 100·1/3 = 33.3 %. Workflows: booking started and
# completed (100 %, no duration: shown as –), status-check started (0 %).
EXPECTED_QUALITY_24H = {"quality-csat": "50.0%", "quality-rating": "3.0", "quality-thumbs": "50.0%",
                        "quality-negative": "33.3%", "quality-feedback": "2"}
EXPECTED_WORKFLOWS_24H = [["booking", "1", "1", "0", "100.0%", "–"], ["status-check", "1", "0", "0", "0.0%", "–"]]

# System over the current 24 h: api calls in s3 (/orders 200, 120 ms) and s4 (/orders 503, 80 ms):
# 2 calls, 1 failed (50 %), p95 rank ⌈0.95·2⌉ = 2 → the 120 ms bin; one error (s3): 1 of the 5
# finalized sessions (s1–s5) had an error = 20 %.
EXPECTED_SYSTEM_24H = {"system-calls": "2", "system-failures": "50.0%", "system-p95": f"{round(bin_mid(120))} ms",
                       "system-errors": "1", "system-conv-errors": "20.0%"}
# Intents over the current 24 h, most classified first, ties by name: book_flight 0.9 + 0.95, the
# others once: check_status 0.8, fallback 0.4, greeting 0.99, refund 0.85, weather 0.75. Low
# confidence at 0.70: only fallback; at 0.80 also weather (0.8 itself is not below 0.8).
EXPECTED_INTENTS_070 = [["book_flight", "2", "0.93", "0.0%"], ["check_status", "1", "0.80", "0.0%"], ["fallback", "1", "0.40", "100.0%"],
                        ["greeting", "1", "0.99", "0.0%"], ["refund", "1", "0.85", "0.0%"], ["weather", "1", "0.75", "0.0%"]]
EXPECTED_INTENTS_080 = [r[:3] + ["100.0%" if r[0] in ("fallback", "weather") else "0.0%"] for r in EXPECTED_INTENTS_070]
# Paths of the finalized sessions of the current 24 h (s5 has no intent): s1 book_flight → fallback
# (ended, escalated), s2 check_status (dropped), s3 book_flight → refund (ended), s4 greeting →
# weather (ended). Depth 1: book_flight 2 sessions; then check_status, greeting (1 each, by name).
EXPECTED_PATHS_3 = [["book_flight → fallback", "1", "1", "0", "1"], ["book_flight → refund", "1", "1", "0", "0"],
                    ["check_status", "1", "0", "1", "0"], ["greeting → weather", "1", "1", "0", "0"]]
EXPECTED_PATHS_1 = [["book_flight", "2", "2", "0", "1"], ["check_status", "1", "0", "1", "0"], ["greeting", "1", "1", "0", "0"]]
# Breakdown by channel over the current 24 h, most conversations first: web (s1, s2, s4: 10
# messages, rt 100 300 200 200 200 → 200 ms, 1 fallback of 5 intents, 2 of 3 automated), voice (s3:
# 4 messages, 100 ms, no fallback, automated), unknown (s5: 1 message, no bot response, automated).
EXPECTED_BREAKDOWN = [["web", "3", "10", "200 ms", "20.0%", "66.7%"], ["unknown", "1", "1", "–", "0.0%", "100.0%"],
                      ["voice", "1", "4", "100 ms", "0.0%", "100.0%"]]
# The cards for web only: 3 conversations against p1 before (+200 %), automation 2 of 3 against 1 of 1.
EXPECTED_WEB_CARDS = {"conversations": ("3", "up good", "200.0%"), "automation": ("66.7%", "down bad", "33.3%")}

# Funnel book_flight → refund: s1 and s3 ask for book_flight, s3 then refund: 2, 1 (50 %).
EXPECTED_FUNNEL = [["1. book_flight", "2", "100.0%"], ["2. refund", "1", "50.0%"]]


# ---------------------------------------------------------------- fixtures

@pytest.fixture(scope="module")
def world():
    redis = Redis()
    front = Front(redis.url)
    data = Data()
    worker = None
    try:
        status, body = front.post_events(data.events)
        assert status == 200 and body["accepted"] == len(data.events), body
        status, _, raw = front.request("POST", "/api/v1/alerts/rules", json.dumps(RULE).encode(), {"Content-Type": "application/json"})
        assert status == 201, raw
        worker = Insights("worker", "--redis-url", redis.url, "--session-timeout", "60")
        since = iso(data.now - timedelta(days=8))

        def finalized():
            c = front.get_json(f"/api/v1/analytics/business/cost-savings?agent_id={AGENT}&start_date={since}")
            d = front.get_json(f"/api/v1/analytics/users/drop-off?agent_id={AGENT}&start_date={since}")
            b = front.get_json(f"/api/v1/analytics/business/cost-savings?agent_id=bot-b&start_date={since}")
            return c["total_conversations"] == 8 and d["total_incomplete_sessions"] == 2 and b["total_conversations"] == 1

        wait_until(finalized, 30, "the worker to finalize every session", interval=0.2)
        yield redis, front, worker, data
    finally:
        if worker:
            worker.stop()
        front.stop()
        redis.close()


def make_browser(width: int, height: int, phone: bool = False):
    opts = webdriver.ChromeOptions()
    if phone:  # a real phone viewport (a desktop window cannot be narrower than ~500 px)
        opts.add_experimental_option("mobileEmulation", {"deviceMetrics": {"width": width, "height": height, "pixelRatio": 2}})
    opts.binary_location = CHROMIUM
    for a in ("--headless=new", "--disable-gpu", "--disable-dev-shm-usage", f"--window-size={width},{height}",
              "--disable-extensions", "--no-first-run", "--lang=en-US"):
        opts.add_argument(a)
    # Chromium's sandbox needs root-less user namespaces, which CI containers often lack (and it
    # refuses to run as root with it): this browser only ever loads the test's own local page.
    opts.add_argument("--no-sandbox")
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=opts)


@pytest.fixture(scope="module")
def browser():
    d = make_browser(1280, 1000)
    try:
        yield d
    finally:
        d.quit()


# ---------------------------------------------------------------- helpers

def wait(driver, predicate, timeout: float = 15, what: str = "condition"):
    return WebDriverWait(driver, timeout, poll_frequency=0.1).until(lambda d: predicate(d), message=what)


def loaded(driver, view: str):
    wait(driver, lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-loaded") == view,
         what=f"the dashboard to show {view}")


def card(driver, cid: str) -> tuple[str, str, str]:
    li = driver.find_element(By.ID, f"card-{cid}")
    change = li.find_element(By.CSS_SELECTOR, ".change")
    cls = " ".join(c for c in change.get_attribute("class").split() if c != "change")
    return li.find_element(By.CSS_SELECTOR, ".value").text, cls, change.find_element(By.CSS_SELECTOR, ".pct").text


def chart(driver, canvas_id: str) -> dict:
    return driver.execute_script(
        "const c = Chart.getChart(document.getElementById(arguments[0]));"
        "return c ? {type: c.config.type, labels: c.data.labels, data: c.data.datasets[0].data} : null;", canvas_id)


def screenshot(driver, name: str):
    """The whole page, not just the viewport."""
    import base64
    ARTIFACTS.mkdir(exist_ok=True)
    shot = driver.execute_cdp_cmd("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True})
    (ARTIFACTS / name).write_bytes(base64.b64decode(shot["data"]))


def console_errors(driver) -> list[dict]:
    return [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]


def hour_floor(dt: datetime) -> str:
    return iso(dt.replace(minute=0, second=0, microsecond=0))


def contrast(rgb1, rgb2) -> float:
    def lum(c):
        def ch(v):
            v /= 255
            return v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4
        r, g, b = (ch(x) for x in c)
        return 0.2126 * r + 0.7152 * g + 0.0722 * b
    a, b = sorted((lum(rgb1), lum(rgb2)), reverse=True)
    return (a + 0.05) / (b + 0.05)


def rgb(css: str) -> tuple[int, int, int]:
    nums = css[css.index("(") + 1:css.index(")")].split(",")
    return tuple(int(float(x)) for x in nums[:3])


# ---------------------------------------------------------------- tests
