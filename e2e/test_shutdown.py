"""SIGTERM to `insights run` while clients are posting (docs/operations.md, *Shutdown*): the process
exits 0, every batch it acknowledged is stored (a re-send finds each of its events a duplicate) and
applied by the workers (its journey is whole after a restart), and the access log has a line per
answered request with a request id."""
from __future__ import annotations

import json
import re
import signal
import threading
import time
from datetime import datetime, timedelta, timezone

from service import Redis, Run, wait_until

AGENT = "stop"
PER_BATCH = 10


def batch(sender: int, n: int, t0: datetime) -> list[dict]:
    sid = f"stop-{sender}-{n}"  # one session per batch: its journey tells whether the workers applied it
    return [{"event_id": f"{sid}-{j}", "event_type": "user_message", "session_id": sid, "agent_id": AGENT,
             "timestamp": (t0 + timedelta(milliseconds=j)).isoformat().replace("+00:00", "Z")} for j in range(PER_BATCH)]


def test_sigterm_mid_ingest_loses_no_acknowledged_event():
    r = Redis()
    run = Run(r.url, "--workers", "2")
    t0 = datetime.now(timezone.utc) - timedelta(minutes=2)
    attempted: dict[str, list[dict]] = {}
    acked: set[str] = set()
    other: list[str] = []  # any answer but 200 (connection errors after the front closed are expected)
    lock, done = threading.Lock(), threading.Event()

    def sender(k: int):
        n = 0
        while not done.is_set():
            b = batch(k, n, t0)
            with lock:
                attempted[b[0]["session_id"]] = b
            try:
                status, body = run.post_events(b)
            except OSError:  # refused / reset: the front has stopped accepting
                return
            with lock:
                if status == 200 and body.get("accepted") == PER_BATCH:
                    acked.add(b[0]["session_id"])
                else:
                    other.append(f"{status} {body}")
            n += 1
            time.sleep(0.01)

    threads = [threading.Thread(target=sender, args=(k,)) for k in range(4)]
    try:
        for t in threads:
            t.start()
        wait_until(lambda: len(acked) >= 40, 30, "40 acknowledged batches")
        run.proc.send_signal(signal.SIGTERM)  # mid-ingest: the senders are still posting
        assert run.proc.wait(60) == 0, run.output()[-3000:]
        done.set()
        for t in threads:
            t.join(30)
        assert not other, other[:5]
        assert len(acked) >= 40
        log = run.output()
        # One access line per answered request, each with its id; every acknowledged batch among them.
        lines = [ln for ln in log.splitlines() if "insights.access" in ln and "route=/api/v1/events" in ln]
        ok = [ln for ln in lines if "status=200" in ln]
        assert len(ok) >= len(acked), (len(ok), len(acked))
        assert all(re.search(r"request_id=[0-9a-f]{16}\b", ln) for ln in lines)

        # A new process on the same Redis: every acknowledged event is there (a re-send of everything
        # attempted finds them duplicates), and the workers apply what the stopped ones left.
        run = Run(r.url, "--workers", "2")
        resent_new = 0
        for sid, b in attempted.items():
            status, body = run.post_events(b)
            assert status == 200, body
            if sid in acked:
                assert body["duplicates"] == PER_BATCH, (sid, body)
            resent_new += body["accepted"]
        # Stored now: every attempted batch exactly once (counted by ingest, not by the workers).
        m = run.get_json(f"/api/v1/analytics/conversations/metrics?agent_id={AGENT}")  # the last 30 days
        assert m["total_messages"] == PER_BATCH * len(attempted), (m, len(attempted), resent_new)
        assert resent_new <= PER_BATCH * (len(attempted) - len(acked))
        print(f"attempted {len(attempted)} acked {len(acked)} new on re-send {resent_new} access lines {len(ok)}")

        # Applied: every acknowledged batch's journey holds its 10 events once the workers drain.
        def whole(sid: str) -> bool:
            status, body = run.get(f"/api/v1/analytics/users/journey/{sid}?agent_id={AGENT}")
            return status == 200 and len(json.loads(body)["journey"]) == PER_BATCH
        for sid in sorted(acked):
            wait_until(lambda: whole(sid), 30, f"journey of {sid}")
    finally:
        done.set()
        run.stop()
        r.close()
