"""The dashboard's files (content types, allow-list, missing web dir) and its API-key flow, in headless
Chromium against `insights serve` (fixtures in dashboard_support.py and conftest.py)."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select

from service import Front

from dashboard_support import (  # noqa: F401  (world and browser are pytest fixtures)
    AGENT, browser, card, console_errors, iso, loaded, wait,
)


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
