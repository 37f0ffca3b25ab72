"""The dashboard page at `/`, in a real headless Chromium (Debian's chromium + chromium-driver, selenium).

One private Redis, one `insights serve` and one `insights worker` for the module; known events are
posted with timestamps relative to now, the worker finalizes the sessions, and the page must show
the numbers computed by hand below. Screenshots go to e2e/artifacts/.
"""
from __future__ import annotations

import json
import math
import os
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select, WebDriverWait

from service import Front, Insights, Redis, wait_until

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
CHROMIUM = os.environ.get("CHROMIUM_BIN", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("CHROMEDRIVER_BIN", "/usr/bin/chromedriver")
AGENT = "shop"


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
        self.session("s1", n - 2 * H, [
            ("conversation_start",), ("user_message",), ("intent_classified", "book_flight", 0.9),
            ("bot_response", 100), ("workflow_started",), ("workflow_completed",), ("user_message",),
            ("intent_classified", "fallback", 0.4), ("bot_response", 300, True), ("conversation_end",)])
        self.session("s2", n - 90 * M, [
            ("conversation_start",), ("user_message",), ("intent_classified", "check_status", 0.8),
            ("bot_response", 200), ("workflow_started",)])
        self.session("s3", n - 60 * M, [
            ("conversation_start",), ("user_message",), ("intent_classified", "book_flight", 0.95),
            ("bot_response", 100), ("user_message",), ("intent_classified", "refund", 0.85), ("bot_response", 100),
            ("conversation_end",)])
        self.session("s5", n - 45 * M, [("conversation_start",), ("user_message",)])
        self.session("s4", n - 10 * M, [
            ("conversation_start",), ("user_message",), ("intent_classified", "greeting", 0.99),
            ("bot_response", 200), ("user_message",), ("intent_classified", "weather", 0.75), ("bot_response", 200),
            ("conversation_end",)])
        self.session("p1", n - 30 * H, [
            ("conversation_start",), ("user_message",), ("intent_classified", "book_flight", 0.9),
            ("bot_response", 100), ("conversation_end",)])
        self.session("p2", n - 29 * H, [
            ("conversation_start",), ("user_message",), ("intent_classified", "fallback", 0.3),
            ("bot_response", 100, True), ("user_message",), ("bot_response", 100), ("conversation_end",)])
        self.session("o1", n - 4 * D, [
            ("conversation_start",), ("user_message",), ("intent_classified", "book_flight", 0.9),
            ("bot_response", 100), ("conversation_end",)])
        self.session("b1", n - 3 * H, [("conversation_start",), ("user_message",), ("conversation_end",)],
                     agent="bot-b")

    def session(self, sid: str, start: datetime, steps: list[tuple], agent: str = AGENT):
        self.first[sid] = start
        for i, step in enumerate(steps):
            ev = {"event_id": f"{sid}-{i}", "agent_id": agent, "session_id": sid, "event_type": step[0],
                  "timestamp": iso(start + timedelta(seconds=i))}
            if step[0] == "intent_classified":
                ev["data"] = {"intent": step[1]}
                ev["confidence"] = step[2]
            if step[0] == "bot_response":
                ev["response_time_ms"] = step[1]
                if len(step) > 2:
                    ev["data"] = {"escalated_to_human": True}
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


# ---------------------------------------------------------------- fixtures

@pytest.fixture(scope="module")
def world():
    redis = Redis()
    front = Front(redis.url)
    worker = Insights("worker", "--redis-url", redis.url, "--session-timeout", "60")
    data = Data()
    try:
        status, body = front.post_events(data.events)
        assert status == 200 and body["accepted"] == len(data.events), body
        since = iso(data.now - timedelta(days=8))

        def finalized():
            c = front.get_json(f"/api/v1/analytics/business/cost-savings?agent_id={AGENT}&start_date={since}")
            d = front.get_json(f"/api/v1/analytics/users/drop-off?agent_id={AGENT}&start_date={since}")
            b = front.get_json(f"/api/v1/analytics/business/cost-savings?agent_id=bot-b&start_date={since}")
            return c["total_conversations"] == 8 and d["total_incomplete_sessions"] == 2 and b["total_conversations"] == 1

        wait_until(finalized, 30, "the worker to finalize every session", interval=0.2)
        yield redis, front, worker, data
    finally:
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

def test_cards_charts_timeframe_and_agent(world, browser):
    _, front, _, data = world
    browser.get(f"{front.base}/?agent={AGENT}&timeframe=24h&refresh=1")
    loaded(browser, f"{AGENT}/24h")

    for cid, expected in EXPECTED_24H.items():
        assert card(browser, cid) == expected, cid
    assert "4 automated of 5 finished" in browser.find_element(By.ID, "card-savings").text

    # Good and bad changes have different colours, both readable on the card (WCAG AA ≥ 4.5:1).
    white = (255, 255, 255)
    good = rgb(browser.find_element(By.CSS_SELECTOR, "#card-conversations .change").value_of_css_property("color"))
    bad = rgb(browser.find_element(By.CSS_SELECTOR, "#card-avg-rt .change").value_of_css_property("color"))
    assert good != bad and good[1] > good[0] and bad[0] > bad[1]
    for c in (good, bad, rgb(browser.find_element(By.CSS_SELECTOR, "#card-conversations .value").value_of_css_property("color"))):
        assert contrast(c, white) >= 4.5, c
    # Every control has a label.
    for el in browser.find_elements(By.CSS_SELECTOR, "select, input:not([type=hidden])"):
        assert browser.execute_script("return arguments[0].labels.length", el) > 0, el.get_attribute("id")

    # Conversation trend: hourly points over the last 24 h; each conversation in the hour of its first event.
    trend = chart(browser, "trend-chart")
    assert trend["type"] == "line"
    assert len(trend["labels"]) in (24, 25)
    per_hour: dict[str, int] = {}
    for sid in ("s1", "s2", "s3", "s4", "s5"):
        h = hour_floor(data.first[sid])
        per_hour[h] = per_hour.get(h, 0) + 1
    drawn = {label: v for label, v in zip(trend["labels"], trend["data"]) if v}
    assert drawn == per_hour
    assert trend["labels"][-1] == hour_floor(datetime.now(timezone.utc)) or \
        trend["labels"][-1] == hour_floor(datetime.now(timezone.utc) - timedelta(minutes=1))

    # Intents: top 5 by count (ties by name) plus "other" (weather).
    intents = chart(browser, "intents-chart")
    assert intents["type"] == "doughnut"
    assert intents["labels"] == ["book_flight", "check_status", "fallback", "greeting", "refund", "other"]
    assert intents["data"] == [2, 1, 1, 1, 1, 1]

    # Drop-off: s2 at check_status, s5 without any intent.
    drop = chart(browser, "dropoff-chart")
    assert drop["type"] == "bar"
    assert drop["labels"] == ["check_status", "unknown"] and drop["data"] == [1, 1]

    screenshot(browser, "dashboard.png")

    # Keyboard: the timeframe radios move with the arrow keys (24h → 7d).
    browser.find_element(By.ID, "tf-24h").send_keys(Keys.ARROW_RIGHT)
    loaded(browser, f"{AGENT}/7d")
    assert "timeframe=7d" in browser.current_url and f"agent={AGENT}" in browser.current_url
    # 7 days: the 5 current, the 2 of the day before and o1; nothing in the 7 days before → no changes.
    assert card(browser, "conversations") == ("8", "none", "no data for the previous 7 days")
    assert card(browser, "automation")[0] == "75.0%"  # 6 of 8 finalized without escalation (s1, p2 escalated)
    assert card(browser, "savings")[0] == "$30.00"
    trend7 = chart(browser, "trend-chart")
    assert sum(trend7["data"]) == 8 and len(trend7["labels"]) in (168, 169)
    assert chart(browser, "intents-chart")["data"] == [4, 2, 1, 1, 1, 1]  # book_flight 4, fallback 2, then 4 singles → top 5 + other

    # 90 days: daily points (91 or 92 buckets), same 8 conversations.
    browser.find_element(By.CSS_SELECTOR, "label[for=tf-90d]").click()
    loaded(browser, f"{AGENT}/90d")
    assert card(browser, "conversations") == ("8", "none", "no data for the previous 90 days")
    trend90 = chart(browser, "trend-chart")
    assert sum(trend90["data"]) == 8 and len(trend90["labels"]) in (90, 91)
    assert all(label.endswith("T00:00:00.000Z") for label in trend90["labels"])

    # Agent picker (from /api/v1/agents).
    sel = Select(browser.find_element(By.ID, "agent"))
    assert [o.text for o in sel.options] == ["bot-b", AGENT]
    sel.select_by_value("bot-b")
    loaded(browser, "bot-b/90d")
    assert "agent=bot-b" in browser.current_url and "timeframe=90d" in browser.current_url
    assert card(browser, "conversations")[0] == "1"
    assert card(browser, "avg-length")[0] == "1.0 messages"
    assert chart(browser, "intents-chart")["data"] == []

    # A shared link opens the same view.
    browser.get(f"{front.base}/?agent={AGENT}&timeframe=24h&refresh=1")
    loaded(browser, f"{AGENT}/24h")
    assert card(browser, "conversations") == EXPECTED_24H["conversations"]
    assert browser.find_element(By.ID, "tf-24h").is_selected()

    assert console_errors(browser) == []


def test_journey_lookup(world, browser):
    _, front, _, data = world
    browser.get_log("browser")  # only this test's entries
    browser.get(f"{front.base}/?agent={AGENT}&timeframe=24h&refresh=1")
    loaded(browser, f"{AGENT}/24h")
    box = browser.find_element(By.ID, "session-id")
    box.send_keys("s1", Keys.ENTER)
    wait(browser, lambda d: len(d.find_elements(By.CSS_SELECTOR, "#journey-timeline li")) == 10, what="10 journey events")
    items = browser.find_elements(By.CSS_SELECTOR, "#journey-timeline li")
    expected = data.journey("s1")
    for li, ev in zip(items, expected):
        assert li.find_element(By.TAG_NAME, "time").get_attribute("datetime") == ev["timestamp"]
        assert li.find_element(By.CSS_SELECTOR, ".ev-type").text == ev["event_type"].replace("_", " ")
        intents = li.find_elements(By.CSS_SELECTOR, ".ev-intent")
        if ev["event_type"] == "intent_classified":
            assert intents[0].text == "intent: " + ev["data"]["intent"]
        else:
            assert intents == []
        rts = li.find_elements(By.CSS_SELECTOR, ".ev-rt")
        assert [r.text for r in rts] == ([f"{ev['response_time_ms']} ms"] if "response_time_ms" in ev else [])
    assert "10 events" in browser.find_element(By.ID, "journey-message").text
    assert "session=s1" in browser.current_url
    browser.find_element(By.ID, "tf-7d").find_element(By.XPATH, "following-sibling::label[1]").click()
    loaded(browser, f"{AGENT}/7d")
    assert len(browser.find_elements(By.CSS_SELECTOR, "#journey-timeline li")) == 10  # kept across views
    screenshot(browser, "dashboard-journey.png")

    # An unknown session says so (the 404 is the API's answer, not a page error).
    box.clear()
    box.send_keys("nope", Keys.ENTER)
    wait(browser, lambda d: "No journey for session nope" in d.find_element(By.ID, "journey-message").text)
    assert browser.find_elements(By.CSS_SELECTOR, "#journey-timeline li") == []
    time.sleep(2.5)  # two refresh cycles: a session not found is not polled again
    errors = console_errors(browser)
    assert len(errors) == 1 and "/users/journey/nope" in errors[0]["message"] and "404" in errors[0]["message"], errors


def test_phone_width(world):
    _, front, _, _ = world
    phone = make_browser(390, 844, phone=True)
    try:
        phone.get(f"{front.base}/?agent={AGENT}&timeframe=24h&refresh=1")
        loaded(phone, f"{AGENT}/24h")
        assert card(phone, "savings") == EXPECTED_24H["savings"]
        width = phone.execute_script("return window.innerWidth")
        assert width == 390
        assert phone.execute_script("return document.documentElement.scrollWidth") <= width
        for el in phone.find_elements(By.CSS_SELECTOR, ".card, .chart-panel, #agent, #timeframe"):
            r = el.rect
            assert r["x"] >= 0 and r["x"] + r["width"] <= width + 1, (el.get_attribute("id"), r)
        screenshot(phone, "dashboard-phone.png")
        assert console_errors(phone) == []
    finally:
        phone.quit()


def test_live_refresh_then_unreachable(world, browser):
    _, front, _, data = world
    browser.get_log("browser")  # only this test's entries
    browser.get(f"{front.base}/?agent={AGENT}&timeframe=24h&refresh=1")
    loaded(browser, f"{AGENT}/24h")
    browser.execute_script("window.__samePage = true; window.__card = document.getElementById('card-conversations');")
    first = browser.find_element(By.ID, "last-updated").get_attribute("datetime")

    # A new conversation appears without reloading the page, in the same card element.
    t = datetime.now(timezone.utc) - timedelta(seconds=5)
    status, body = front.post_events([{"event_id": "live-1", "agent_id": AGENT, "session_id": "live",
                                       "event_type": "conversation_start", "timestamp": iso(t)}])
    assert status == 200 and body["accepted"] == 1
    wait(browser, lambda d: card(d, "conversations")[0] == "6", what="the live update to 6 conversations")
    assert browser.execute_script(
        "return window.__samePage === true && window.__card === document.getElementById('card-conversations')")
    assert browser.find_element(By.ID, "last-updated").get_attribute("datetime") > first
    assert not browser.find_element(By.ID, "offline").is_displayed()
    assert console_errors(browser) == []

    # The front goes away: the page says so plainly and keeps the last numbers.
    front.stop()
    banner = wait(browser, lambda d: d.find_element(By.ID, "offline").is_displayed() and d.find_element(By.ID, "offline"),
                  what="the offline banner")
    assert "Cannot reach the Insights service" in banner.text
    assert "Showing data from" in banner.text
    assert card(browser, "conversations")[0] == "6"
    assert "Not updated since" in browser.find_element(By.ID, "updated").text
    screenshot(browser, "dashboard-offline.png")
    browser.get("about:blank")


def test_empty_state(front, browser):
    """A fresh Redis: no agents yet → how to send the first events (conftest's function-scoped front)."""
    browser.get_log("browser")  # drop what the previous test's stopped front left
    browser.get(f"{front.base}/?refresh=1")
    wait(browser, lambda d: d.find_element(By.ID, "empty").is_displayed(), what="the empty state")
    text = browser.find_element(By.ID, "empty").text
    assert "No data yet" in text and "POST /api/v1/events" in text and front.base in text
    assert not browser.find_element(By.ID, "dashboard").is_displayed()
    assert browser.find_element(By.ID, "agent").get_attribute("disabled") is not None
    time.sleep(1.5)  # one more refresh cycle
    assert console_errors(browser) == []
    browser.get("about:blank")  # stop polling before the fixture stops this front


def test_static_files(front):
    for path, ctype in (("/", "text/html"), ("/assets/app.js", "text/javascript"), ("/assets/charts.js", "text/javascript"),
                        ("/assets/util.js", "text/javascript"), ("/assets/style.css", "text/css"),
                        ("/vendor/chart.min.js", "text/javascript")):
        status, headers, body = front.request("GET", path)
        assert status == 200 and headers["Content-Type"].startswith(ctype), (path, status, headers)
        assert "Cache-Control" in headers and body
        if path == "/":  # no CDN, no inline script: the page works offline and under a strict policy
            assert "script-src 'self'" in headers["Content-Security-Policy"]
            assert b'src="http' not in body and b'href="http' not in body and b"//cdn" not in body
    for path in ("/assets/index.html", "/assets/..%2FPackage.swift", "/assets/../../Package.swift", "/vendor/chart.js"):
        status, headers, body = front.request("GET", path)
        assert status == 404 and headers["Content-Type"].startswith("application/json"), (path, status)
        assert json.loads(body)["error"]


def test_missing_web_dir_keeps_api(redis_server, tmp_path):
    """No web directory and no Chart.js: the page's paths answer a JSON 404, the API still works."""
    f = Front(redis_server.url, env={"INSIGHTS_WEB_DIR": str(tmp_path), "INSIGHTS_CHARTJS": str(tmp_path / "none.js")})
    try:
        for path in ("/", "/assets/app.js", "/vendor/chart.min.js"):
            status, headers, body = f.request("GET", path)
            assert status == 404 and headers["Content-Type"].startswith("application/json"), (path, status)
            assert "dashboard" in json.loads(body)["error"]
        assert f.get_json("/api/v1/agents") == {"agents": []}
    finally:
        f.stop()


WRITER, VIEWER, INGESTER = "writer-key-0123456789", "viewer-key-0123456789", "ingest-key-0123456789"


def test_api_key_flow(redis_server, browser):
    """With API keys: the page asks for one, keeps it in sessionStorage, asks again when refused,
    and says plainly when a key may not read."""
    keys = ";".join([f"key:{WRITER} scopes=ingest,read agents=* name=writer rate=0",
                     f"key:{VIEWER} scopes=read agents={AGENT} name=viewer",
                     f"key:{INGESTER} scopes=ingest agents=* name=ingester rate=0"])
    f = Front(redis_server.url, env={"INSIGHTS_API_KEYS": keys})
    try:
        now = datetime.now(timezone.utc) - timedelta(minutes=5)
        evs = [{"event_id": f"k{i}", "agent_id": a, "session_id": f"k{i}", "event_type": "conversation_start",
                "timestamp": iso(now)} for i, a in enumerate([AGENT, "bot-b"])]
        assert f.post_events(evs)[0] == 401
        status, body = f.post_events(evs, headers={"Authorization": f"Bearer {WRITER}"})
        assert status == 200 and body["accepted"] == 2

        browser.get_log("browser")  # only this test's entries
        browser.get(f"{f.base}/?timeframe=24h&refresh=1")
        key_box = wait(browser, lambda d: d.find_element(By.ID, "auth").is_displayed() and d.find_element(By.ID, "api-key"),
                       what="the API key form")
        assert "asks for an API key" in browser.find_element(By.ID, "auth-message").text
        assert not browser.find_element(By.ID, "dashboard").is_displayed()

        key_box.send_keys("not-a-key-000000000000", Keys.ENTER)
        wait(browser, lambda d: "refused" in d.find_element(By.ID, "auth-message").text, what="the refused message")
        assert browser.execute_script("return sessionStorage.getItem('insights.apiKey')") is None

        browser.find_element(By.ID, "api-key").send_keys(VIEWER, Keys.ENTER)
        loaded(browser, f"{AGENT}/24h")
        assert card(browser, "conversations")[0] == "1"
        assert [o.text for o in Select(browser.find_element(By.ID, "agent")).options] == [AGENT]  # only the key's agents
        assert browser.execute_script("return sessionStorage.getItem('insights.apiKey')") == VIEWER
        assert browser.execute_script("return localStorage.length") == 0
        browser.refresh()  # same tab: the key is kept
        loaded(browser, f"{AGENT}/24h")
        assert not browser.find_element(By.ID, "auth").is_displayed()

        # A key without the read scope: plainly refused, and another key can be given.
        browser.execute_script(f"sessionStorage.setItem('insights.apiKey', '{INGESTER}')")
        browser.refresh()
        denied = wait(browser, lambda d: d.find_element(By.ID, "denied").is_displayed() and d.find_element(By.ID, "denied"),
                      what="the 403 message")
        assert "may not read" in denied.text and "read" in denied.text
        browser.find_element(By.ID, "other-key").click()
        assert browser.find_element(By.ID, "auth").is_displayed()
        assert browser.execute_script("return sessionStorage.getItem('insights.apiKey')") is None
        errors = [e for e in console_errors(browser) if f.base in e["message"]]
        assert errors and all(" 401 " in e["message"] or " 403 " in e["message"] for e in errors), errors
        browser.get("about:blank")
    finally:
        f.stop()
