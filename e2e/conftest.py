"""Shared pytest fixtures: a private Redis and an `insights serve` front on it (see service.py)."""
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from service import Front, Redis, Run  # noqa: E402


@pytest.fixture
def redis_server():
    r = Redis()
    yield r
    r.close()


@pytest.fixture
def front(redis_server):
    f = Front(redis_server.url)
    yield f
    f.stop()


@pytest.fixture
def insights_run(redis_server):
    """Starts `insights run` (front and workers, no demo) on the private Redis with extra CLI
    arguments; every one started is stopped after the test."""
    runs = []

    def start(*args: str) -> Run:
        runs.append(Run(redis_server.url, *args))
        return runs[-1]
    yield start
    for run in runs:
        run.stop()
