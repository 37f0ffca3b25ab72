"""The Swift tracker as a dependency (issue 17, docs/tracker.md): an outside package depends on
Insights by path, exactly as the README shows, builds, and its binary tracks from another
directory with the source tree gone and no INSIGHTS_LUA_DIR: the Lua scripts are compiled in."""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import storage
from service import REPO, Redis

MAIN = '''
import InsightsModel
import InsightsTracker
import RedisClient

// The README's snippet, against the Redis named on the command line.
let client = RedisClient(configuration: try RedisConfiguration(url: CommandLine.arguments[1]), poolSize: 2)
let tracker = try Tracker(client: client, configuration: TrackerConfiguration(defaultAgentID: "outside-bot"))
_ = try await tracker.track(AnalyticsEvent(eventType: .conversationStart, sessionID: "out-1"))
_ = try await tracker.track(AnalyticsEvent(eventType: .userMessage, sessionID: "out-1"))
_ = try await tracker.track(AnalyticsEvent(eventType: .botResponse, sessionID: "out-1", responseTimeMs: 120))
await tracker.shutdown()
print("tracked 3")
'''

PACKAGE = '''// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "Outside",
    platforms: [.macOS(.v15)],
    dependencies: [.package(path: "{src}")],
    targets: [.executableTarget(name: "outside", dependencies: [.product(name: "InsightsTracker", package: "insights")])]
)
'''


def copy_sources(dst: Path):
    """The repository's files as a fresh clone has them (tracked and not ignored), without build products."""
    files = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"], cwd=REPO, check=True,
                           capture_output=True).stdout.decode().split("\0")
    for f in files:
        if f and (REPO / f).is_file():
            (dst / f).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / f, dst / f, follow_symlinks=False)


def test_outside_package_tracks_without_the_source_tree():
    tmp = Path(tempfile.mkdtemp(prefix="insights-outside-"))
    try:
        src, app, run = tmp / "src" / "insights", tmp / "app", tmp / "run"
        src.mkdir(parents=True)
        copy_sources(src)
        (app / "Sources" / "outside").mkdir(parents=True)
        (app / "Package.swift").write_text(PACKAGE.replace("{src}", str(src)))
        (app / "Sources" / "outside" / "main.swift").write_text(MAIN)
        env = {k: v for k, v in os.environ.items() if k != "INSIGHTS_LUA_DIR"}
        build = subprocess.run(["swift", "build", "--package-path", str(app)], env=env, capture_output=True, text=True, timeout=1200)
        assert build.returncode == 0, build.stdout[-4000:] + build.stderr[-4000:]
        run.mkdir()
        shutil.copy2(app / ".build" / "debug" / "outside", run / "outside")
        # The source tree and the build are gone: nothing but the binary is left to find scripts in.
        shutil.rmtree(tmp / "src")
        shutil.rmtree(app)
        r = Redis()
        try:
            clean = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(run)}
            out = subprocess.run([str(run / "outside"), r.url], cwd=run, env=clean, capture_output=True, text=True, timeout=60)
            assert out.returncode == 0 and "tracked 3" in out.stdout, out.stdout + out.stderr
            db = r.client(decode=False)
            assert db.xlen("ins:{outside-bot}:stream") == 3
            days = [k for k in db.keys("ins:{outside-bot}:c:d:*")]
            assert len(days) == 1
            c = storage.counters(db.get(days[0]))
            assert (c["events"], c["messages"], c["rt_sum"], c["conversations"]) == (3, 2, 120, 1)
        finally:
            r.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
