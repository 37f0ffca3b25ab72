"""The dashboard page at `/`, in a real headless Chromium (Debian's chromium + chromium-driver, selenium).

One private Redis, one `insights serve` and one `insights worker` for the module; known events are
posted with timestamps relative to now, the worker finalizes the sessions, and the page must show
the numbers computed by hand in dashboard_support.py. Screenshots go to e2e/artifacts/
"""
from __future__ import annotations

import time
import urllib.request
from datetime import datetime, timedelta, timezone

from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select

from dashboard_support import (  # noqa: F401  (world and browser are pytest fixtures)
    AGENT, EXPECTED_24H, EXPECTED_BREAKDOWN, EXPECTED_FUNNEL, EXPECTED_WEB_CARDS, EXPECTED_INTENTS_070, EXPECTED_INTENTS_080, EXPECTED_PATHS_1, EXPECTED_PATHS_3,
    EXPECTED_QUALITY_24H, EXPECTED_SYSTEM_24H, EXPECTED_WORKFLOWS_24H, LIVE_AGENT, browser, card, chart, console_errors, contrast, hour_floor, iso, loaded, make_browser, rgb, screenshot, wait, world,
)


def test_alerts_live_card_anomalies_and_rules(world, browser):
    """Runs first: the live card's sessions are finalized by the worker about 80 s after the data."""
    _, front, _, data = world
    # Live card of live-bot: w1 and w2 active, w1 waiting since −40 s (stuck), w2 answered.
    browser.get(f"{front.base}/?agent={LIVE_AGENT}&timeframe=24h&refresh=1")
    loaded(browser, f"{LIVE_AGENT}/24h")
    wait(browser, lambda d: d.find_element(By.ID, "live-active").text == "2", what="the live card")
    assert browser.find_element(By.ID, "live-waiting").text == "1"
    waited = int(browser.find_element(By.ID, "live-oldest").get_attribute("data-ms"))
    expected = (datetime.now(timezone.utc) - (data.now - timedelta(seconds=40))).total_seconds() * 1000
    assert expected - 5000 <= waited <= expected + 1000, (waited, expected)
    stuck = browser.find_elements(By.CSS_SELECTOR, "#live-stuck li")
    assert [li.get_attribute("data-session") for li in stuck] == ["w1"]
    assert "last event user message" in stuck[0].text
    assert browser.find_element(By.ID, "alerts-firing").is_displayed() is False  # live-bot has no rule

    # shop: the rule the world started with fired on its first judgement (s4: 1 conversation).
    browser.get(f"{front.base}/?agent={AGENT}&timeframe=24h&refresh=1")
    loaded(browser, f"{AGENT}/24h")
    wait(browser, lambda d: d.find_element(By.ID, "alerts-firing").is_displayed(), what="the firing alert")
    items = browser.find_elements(By.CSS_SELECTOR, "#alerts-list li")
    assert len(items) == 1 and items[0].text.startswith("shop conversations — total_conversations 1 (threshold 0) · firing since ")
    assert browser.find_element(By.ID, "alerts-count").text == "1 alert firing"

    # Anomaly marks on the 24 h trend: every hour's baseline (the 24 before it, the same hour 2-7 days
    # back) is mostly empty (median 0, MAD 0, floor 1), so an hour is anomalous when it has at least 4
    # messages or 4 new conversations (score = the count > 3); rates have fewer than 20 events.
    messages: dict[str, int] = {}
    conversations: dict[str, int] = {}
    for e in data.events:
        if e["agent_id"] != AGENT:
            continue
        h = hour_floor(datetime.fromisoformat(e["timestamp"].replace("Z", "+00:00")))
        if e["event_type"] in ("user_message", "bot_response"):
            messages[h] = messages.get(h, 0) + 1
    for sid, first in data.first.items():
        if sid.startswith(("s", "p", "o")):
            conversations[hour_floor(first)] = conversations.get(hour_floor(first), 0) + 1
    trend = browser.execute_script(
        "const c = Chart.getChart(document.getElementById('trend-chart'));"
        "return {labels: c.data.labels, marks: c.data.datasets[1].data};")
    marked = {label for label, v in zip(trend["labels"], trend["marks"]) if v is not None}
    expected_marks = {h for h in trend["labels"] if messages.get(h, 0) >= 4 or conversations.get(h, 0) >= 4}
    assert marked == expected_marks and marked, (marked, expected_marks)
    assert f"{len(marked)} point" in browser.find_element(By.ID, "trend-sub").text

    # Rules: the world's rule is listed (firing); one created through the form appears, then is deleted.
    rows = browser.find_elements(By.CSS_SELECTOR, "#rules-body tr")
    assert len(rows) == 1 and rows[0].find_elements(By.TAG_NAME, "td")[4].text == "firing"
    browser.find_element(By.ID, "rule-name").send_keys("slow bot")
    Select(browser.find_element(By.ID, "rule-metric")).select_by_value("avg_response_time_ms")
    browser.find_element(By.ID, "rule-window").clear()
    browser.find_element(By.ID, "rule-window").send_keys("10")
    browser.find_element(By.ID, "rule-threshold").send_keys("500")
    browser.find_element(By.CSS_SELECTOR, "#rule-form button[type=submit]").click()
    wait(browser, lambda d: len(d.find_elements(By.CSS_SELECTOR, "#rules-body tr")) == 2, what="the new rule listed")
    assert "webhook secret" in browser.find_element(By.ID, "rule-message").text
    rules = front.get_json(f"/api/v1/alerts/rules?agent_id={AGENT}")["rules"]
    slow = next(r for r in rules if r["name"] == "slow bot")
    assert (slow["metric"], slow["window_minutes"], slow["condition"], slow["threshold"]) == ("avg_response_time_ms", 10, "above", 500)
    row = browser.find_element(By.CSS_SELECTOR, f"#rules-body tr[data-rule='{slow['id']}']")
    assert [td.text for td in row.find_elements(By.TAG_NAME, "td")[:5]] == ["slow bot", "avg_response_time_ms", "above 500", "10 min", "ok"]
    # An invalid rule: the service's 400 is shown, nothing is created.
    browser.find_element(By.ID, "rule-name").send_keys("bad hook")
    browser.find_element(By.ID, "rule-threshold").send_keys("1")
    browser.find_element(By.ID, "rule-webhook").send_keys("http://10.0.0.1/hook")
    browser.find_element(By.CSS_SELECTOR, "#rule-form button[type=submit]").click()
    wait(browser, lambda d: "invalid field webhook_url" in d.find_element(By.ID, "rule-message").text, what="the refusal shown")
    browser.find_element(By.ID, "rule-webhook").clear()
    row.find_element(By.CSS_SELECTOR, "button.delete-rule").click()
    wait(browser, lambda d: len(d.find_elements(By.CSS_SELECTOR, "#rules-body tr")) == 1, what="the rule deleted")
    assert [r["name"] for r in front.get_json(f"/api/v1/alerts/rules?agent_id={AGENT}")["rules"]] == ["shop conversations"]
    screenshot(browser, "dashboard-alerts.png")
    # The browser logs the refused rule's 400 (expected above); nothing else.
    refused = "/api/v1/alerts/rules - Failed to load resource: the server responded with a status of 400"
    assert [e for e in console_errors(browser) if refused not in e["message"]] == []


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
    assert [o.text for o in sel.options] == ["bot-b", LIVE_AGENT, AGENT]
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


def test_quality_and_workflows(world, browser):
    _, front, _, _ = world
    browser.get(f"{front.base}/?agent={AGENT}&timeframe=24h&refresh=1")
    loaded(browser, f"{AGENT}/24h")
    for fid, text in EXPECTED_QUALITY_24H.items():
        assert browser.find_element(By.ID, fid).text == text, fid
    rows = [[c.text for c in tr.find_elements(By.CSS_SELECTOR, "th, td")] for tr in browser.find_elements(By.CSS_SELECTOR, "#workflows-body tr")]
    assert rows == EXPECTED_WORKFLOWS_24H
    # The download links fetch the same window as CSV.
    href = browser.find_element(By.ID, "workflows-csv").get_attribute("href")
    assert "format=csv" in href and f"agent_id={AGENT}" in href
    with urllib.request.urlopen(href, timeout=10) as r:
        assert r.headers["Content-Type"].startswith("text/csv")
        lines = r.read().decode().split("\r\n")
    assert lines[:3] == ["workflow,started,completed,failed,completion_rate,avg_duration_ms", "booking,1,1,0,100,0", "status-check,1,0,0,0,0"]
    with urllib.request.urlopen(browser.find_element(By.ID, "quality-csv").get_attribute("href"), timeout=10) as r:
        quality = dict(line.split(",") for line in r.read().decode().split("\r\n")[1:] if line)
    assert quality["csat"] == "50" and quality["avg_rating"] == "3" and quality["sentiment.negative"] == "1"
    # 7 days: the same feedback (nothing older has any).
    browser.find_element(By.CSS_SELECTOR, "label[for=tf-7d]").click()
    loaded(browser, f"{AGENT}/7d")
    assert browser.find_element(By.ID, "quality-csat").text == "50.0%"
    assert console_errors(browser) == []


def table(browser, body_id: str) -> list[list[str]]:
    """A table body's cell texts, read in one script (the page may redraw it between two WebDriver calls)."""
    return browser.execute_script(
        "return [...document.querySelectorAll('#' + arguments[0] + ' tr')].map((tr) => [...tr.querySelectorAll('th, td')].map((c) => c.innerText))",
        body_id)


def csv_rows(href: str) -> list[list[str]]:
    with urllib.request.urlopen(href, timeout=10) as r:
        assert r.headers["Content-Type"].startswith("text/csv")
        return [line.split(",") for line in r.read().decode().split("\r\n") if line]


def test_system_intents_paths_and_funnel(world, browser):
    _, front, _, _ = world
    browser.get(f"{front.base}/?agent={AGENT}&timeframe=24h&refresh=1")
    loaded(browser, f"{AGENT}/24h")
    for fid, text in EXPECTED_SYSTEM_24H.items():
        wait(browser, lambda d: d.find_element(By.ID, fid).text == text, what=f"{fid} = {text}")
    assert "/orders" in browser.find_element(By.ID, "system-sub").text
    system = {(r[0], r[1]): r[2] for r in csv_rows(browser.find_element(By.ID, "system-csv").get_attribute("href"))[1:]}
    assert system[("api_calls", "")] == "2" and system[("endpoint_failures", "/orders")] == "1" and system[("error_code", "timeout")] == "1"

    # Intents at the default threshold, then at 0.80 (the slider moves in 0.05 steps).
    assert table(browser, "intents-body") == EXPECTED_INTENTS_070
    slider = browser.find_element(By.ID, "intents-threshold")
    slider.send_keys(Keys.ARROW_RIGHT, Keys.ARROW_RIGHT)
    wait(browser, lambda d: table(d, "intents-body") == EXPECTED_INTENTS_080, what="the intents at threshold 0.80")
    assert browser.find_element(By.ID, "intents-threshold-value").text == "0.80"
    href = browser.find_element(By.ID, "intents-csv").get_attribute("href")
    assert "threshold=0.80" in href
    assert ["intent", "weather", "1", "0.75", "100"] in csv_rows(href)

    # Paths (finalized sessions: s2 and s5 are dropped by the worker's sweep), depth 3 then 1.
    wait(browser, lambda d: table(d, "paths-body") == EXPECTED_PATHS_3, what="the intent paths of depth 3")
    Select(browser.find_element(By.ID, "paths-depth")).select_by_visible_text("1")
    wait(browser, lambda d: table(d, "paths-body") == EXPECTED_PATHS_1, what="the intent paths of depth 1")
    assert "depth=1" in browser.current_url
    assert csv_rows(browser.find_element(By.ID, "paths-csv").get_attribute("href"))[:2] == [
        ["intent_1", "sessions", "ended", "dropped", "escalated"], ["book_flight", "2", "2", "0", "1"]]

    # The funnel builder: a refused funnel says why, a valid one shows its steps and a CSV.
    steps = browser.find_element(By.ID, "funnel-steps")
    steps.send_keys("refund, refund")
    steps.send_keys(Keys.ENTER)
    wait(browser, lambda d: "repeats the step before" in d.find_element(By.ID, "funnel-message").text, what="the refused funnel")
    assert not browser.find_element(By.ID, "funnel-table").is_displayed()
    steps.clear()
    steps.send_keys("book_flight, refund")
    steps.send_keys(Keys.ENTER)
    wait(browser, lambda d: table(d, "funnel-body") == EXPECTED_FUNNEL, what="the funnel")
    assert "funnel=book_flight%2Crefund" in browser.current_url
    assert csv_rows(browser.find_element(By.ID, "funnel-csv").get_attribute("href")) == [
        ["step", "intent", "sessions", "conversion_rate"], ["1", "book_flight", "2", "100"], ["2", "refund", "1", "50"]]
    # The browser logs the refused funnel's 400 as a network error; the page itself logged nothing.
    assert [e for e in console_errors(browser) if not (e["source"] == "network" and "/users/funnel?" in e["message"])] == []


def test_breakdown_switch_filters_the_cards(world, browser):
    _, front, _, _ = world
    browser.get(f"{front.base}/?agent={AGENT}&timeframe=24h&refresh=1")
    loaded(browser, f"{AGENT}/24h")
    assert not browser.find_element(By.ID, "breakdown-table").is_displayed()
    Select(browser.find_element(By.ID, "breakdown-by")).select_by_visible_text("channel")
    wait(browser, lambda d: table(d, "breakdown-body") == EXPECTED_BREAKDOWN, what="the breakdown by channel")
    assert "by=channel" in browser.current_url
    rows = csv_rows(browser.find_element(By.ID, "breakdown-csv").get_attribute("href"))
    assert rows[0][0] == "channel" and ["web", "3", "10", "200", "20", str(200 / 3)] in rows
    Select(browser.find_element(By.ID, "breakdown-value")).select_by_visible_text("web")
    for cid, want in EXPECTED_WEB_CARDS.items():
        wait(browser, lambda d: card(d, cid) == want, what=f"the {cid} card for web")
    assert "value=web" in browser.current_url and "channel “web”" in browser.find_element(By.ID, "cards-filter").text
    # Back to every value: the unfiltered cards.
    Select(browser.find_element(By.ID, "breakdown-value")).select_by_visible_text("every channel")
    wait(browser, lambda d: card(d, "conversations") == EXPECTED_24H["conversations"], what="the unfiltered cards")
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
