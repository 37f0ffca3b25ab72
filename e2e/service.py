"""Real processes for the end-to-end tests: a private redis-server, the `insights` front and workers.

Every process is started here in a temp dir and stopped by its PID; nothing touches a server it
did not start. The `insights` binary is `$INSIGHTS_BIN` or `.build/debug/insights` (built by
`make test` before pytest runs).
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
INSIGHTS_BIN = Path(os.environ.get("INSIGHTS_BIN", REPO / ".build" / "debug" / "insights"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(predicate, timeout: float, what: str, interval: float = 0.05):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            value = predicate()
            if value:
                return value
        except Exception as e:  # noqa: BLE001 - retried until the deadline
            last = e
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout}s waiting for {what} (last error: {last!r})")


class Redis:
    """A private redis-server on a unix socket in its own temp dir."""

    def __init__(self, appendonly: bool = False, fsync: str = "everysec", extra: list[str] | None = None):
        self.dir = Path(tempfile.mkdtemp(prefix="insights-e2e-redis-"))
        self.socket = self.dir / "redis.sock"
        self.appendonly, self.fsync, self.extra = appendonly, fsync, extra or []
        self.proc: subprocess.Popen | None = None
        self.start()

    @property
    def url(self) -> str:
        return f"unix://{self.socket}"

    def start(self):
        args = ["redis-server", "--port", "0", "--unixsocket", str(self.socket), "--unixsocketperm", "700",
                "--dir", str(self.dir), "--save", "", "--appendonly", "yes" if self.appendonly else "no",
                "--appendfsync", self.fsync, "--logfile", str(self.dir / "redis.log"), *self.extra]
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_until(lambda: self.cli("PING") == "PONG", 10, "redis-server")

    def cli(self, *args: str) -> str:
        out = subprocess.run(["redis-cli", "-s", str(self.socket), *args], capture_output=True, text=True, timeout=10)
        return out.stdout.strip()

    def client(self, decode: bool = True):
        import redis  # redis-py, from e2e/requirements.txt
        return redis.Redis(unix_socket_path=str(self.socket), decode_responses=decode)

    def stop(self, sig: int = signal.SIGTERM):
        """Stops the server; its directory stays (a restart on the same data uses it)."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def close(self):
        """Stops the server and removes its directory."""
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


class Cluster:
    """A private Redis Cluster: `masters` primaries with `replicas` replicas each, on free loopback
    ports (cluster bus port + 10000 free too), one temp dir, joined with `redis-cli --cluster create`."""

    def __init__(self, masters: int = 3, replicas: int = 1, node_timeout_ms: int = 2000):
        self.dir = Path(tempfile.mkdtemp(prefix="insights-e2e-cluster-"))
        self.ports = free_cluster_ports(masters * (1 + replicas))
        self.procs: dict[int, subprocess.Popen] = {}
        self.node_timeout_ms = node_timeout_ms
        for port in self.ports:
            self.start_node(port)
        for port in self.ports:
            wait_until(lambda p=port: self.cli(p, "PING") == "PONG", 10, f"cluster node {port}")
        out = subprocess.run(["redis-cli", "--cluster", "create", *[f"127.0.0.1:{p}" for p in self.ports],
                              "--cluster-replicas", str(replicas), "--cluster-yes"],
                             capture_output=True, text=True, timeout=60)
        if out.returncode != 0:
            self.close()
            raise RuntimeError(f"redis-cli --cluster create failed:\n{out.stdout}\n{out.stderr}")
        wait_until(self.healthy, 30, "cluster_state:ok on every node")

    @property
    def url(self) -> str:
        return "redis://" + ",".join(f"127.0.0.1:{p}" for p in self.ports[:2])

    def start_node(self, port: int):
        d = self.dir / str(port)
        d.mkdir(exist_ok=True)
        self.procs[port] = subprocess.Popen(
            ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--cluster-enabled", "yes",
             "--cluster-config-file", str(d / "nodes.conf"), "--cluster-node-timeout", str(self.node_timeout_ms),
             "--dir", str(d), "--save", "", "--appendonly", "no", "--repl-diskless-sync-delay", "0",
             "--logfile", str(d / "redis.log")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def cli(self, port: int, *args: str) -> str:
        out = subprocess.run(["redis-cli", "-p", str(port), *args], capture_output=True, text=True, timeout=10)
        return out.stdout.strip()

    def healthy(self) -> bool:
        views = set()
        for port, proc in self.procs.items():
            if proc.poll() is not None:
                continue
            if "cluster_state:ok" not in self.cli(port, "CLUSTER", "INFO"):
                return False
            info = self.cli(port, "INFO", "replication")
            if "role:slave" in info and "master_link_status:up" not in info:
                return False
            views.add(tuple(sorted(self.primary_ports(port))))
        return len(views) == 1

    def primary_ports(self, port: int | None = None) -> list[int]:
        port = port or next(p for p, proc in self.procs.items() if proc.poll() is None)
        out = []
        for line in self.cli(port, "CLUSTER", "NODES").splitlines():
            f = line.split()
            if len(f) >= 9 and "master" in f[2] and "fail" not in f[2]:
                out.append(int(f[1].split("@")[0].rsplit(":", 1)[1]))
        return out

    def client(self, decode: bool = True):
        import redis  # redis-py's cluster client, only to inspect keys in tests
        live = next(p for p, proc in self.procs.items() if proc.poll() is None)
        return redis.RedisCluster(host="127.0.0.1", port=live, decode_responses=decode)

    def node(self, port: int):
        """A plain redis-py client on one node."""
        import redis
        return redis.Redis(host="127.0.0.1", port=port, decode_responses=True)

    def owner(self, key: str) -> int:
        """The port of the primary serving `key`'s slot now."""
        live = next(p for p, proc in self.procs.items() if proc.poll() is None)
        n = self.node(live)
        slot = n.execute_command("CLUSTER", "KEYSLOT", key)
        for start, end, primary, *_ in n.execute_command("CLUSTER", "SLOTS"):
            if start <= slot <= end:
                return int(primary[1])
        raise RuntimeError(f"no node serves slot {slot}")

    def replica_of(self, port: int) -> int:
        for p, proc in self.procs.items():
            if p != port and proc.poll() is None:
                info = self.node(p).info("replication")
                if info.get("role") == "slave" and int(info.get("master_port", 0)) == port:
                    return p
        raise RuntimeError(f"{port} has no replica")

    def kill(self, port: int, sig: int = signal.SIGKILL):
        proc = self.procs[port]
        proc.send_signal(sig)
        proc.wait(10)

    def stop(self):
        """Stops every node; the directory stays."""
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs.values():
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def close(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


def free_cluster_ports(n: int) -> list[int]:
    """n loopback ports, each with its cluster bus port (+10000) free as well; both below the kernel's
    ephemeral range (32768 and up), so that no outgoing connection takes one before the node binds it."""
    import random
    ports, candidate = [], random.randint(12000, 21000)
    while len(ports) < n:
        candidate = 12000 if candidate >= 21999 else candidate + 1
        ok = True
        for p in (candidate, candidate + 10000):
            with socket.socket() as s:
                try:
                    s.bind(("127.0.0.1", p))
                except OSError:
                    ok = False
        if ok:
            ports.append(candidate)
    return ports


class Insights:
    """One `insights <command>` process (serve, worker, ...), output kept in a log file."""

    def __init__(self, command: str, *args: str, env: dict[str, str] | None = None, log_dir: Path | None = None):
        self.log_dir = log_dir or Path(tempfile.mkdtemp(prefix="insights-e2e-"))
        self.log = self.log_dir / f"{command}-{time.monotonic_ns()}.log"
        full_env = {**os.environ, "INSIGHTS_LUA_DIR": str(REPO / "lua"), **(env or {})}
        with open(self.log, "wb") as f:
            self.proc = subprocess.Popen([str(INSIGHTS_BIN), command, *args], stdout=f, stderr=subprocess.STDOUT,
                                         env=full_env, cwd=REPO)

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class Front(Insights):
    """`insights serve` on a free loopback port; ready when /health answers."""

    def __init__(self, redis_url: str, *args: str, env: dict[str, str] | None = None, port: int | None = None):
        self.port = port or free_port()
        super().__init__("serve", "--redis-url", redis_url, "--host", "127.0.0.1", "--port", str(self.port),
                         *args, env=env)
        self.base = f"http://127.0.0.1:{self.port}"
        try:
            wait_until(lambda: self.get("/health")[0] == 200, 20, "insights serve /health")
        except TimeoutError:
            self.stop()
            raise RuntimeError(f"insights serve did not start:\n{self.output()}")

    def request(self, method: str, path: str, body: bytes | None = None,
                headers: dict[str, str] | None = None, timeout: float = 10) -> tuple[int, dict, bytes]:
        req = urllib.request.Request(self.base + path, data=body, method=method, headers=headers or {})
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                return r.status, dict(r.headers), r.read()
        except urllib.error.HTTPError as e:
            return e.code, dict(e.headers), e.read()

    def get(self, path: str, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
        status, _, body = self.request("GET", path, headers=headers)
        return status, body

    def get_json(self, path: str, headers: dict[str, str] | None = None):
        status, body = self.get(path, headers)
        assert status == 200, f"GET {path}: {status} {body[:300]!r}"
        return json.loads(body)

    def post_events(self, events: list[dict], headers: dict[str, str] | None = None) -> tuple[int, dict]:
        h = {"Content-Type": "application/json", **(headers or {})}
        status, _, body = self.request("POST", "/api/v1/events", json.dumps(events).encode(), h)
        return status, json.loads(body) if body else {}


class Run(Front):
    """`insights run` (front and workers in one process) against a given Redis, without the demo;
    ready when /health answers."""

    def __init__(self, redis_url: str, *args: str, env: dict[str, str] | None = None):
        self.port = free_port()
        Insights.__init__(self, "run", "--redis-url", redis_url, "--port", str(self.port), "--no-demo", *args, env=env)
        self.base = f"http://127.0.0.1:{self.port}"
        wait_until(lambda: self.get("/health")[0] == 200, 30, "insights run /health")

