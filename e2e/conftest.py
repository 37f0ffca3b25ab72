"""Shared pytest fixtures: a private Redis and an `insights serve` front on it (see service.py)."""
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from service import Front, Redis  # noqa: E402


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
