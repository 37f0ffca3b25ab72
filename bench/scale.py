"""`make bench` phases 7 and 8 (issue 14): many quiet tenants, and ingest and workers on Redis Cluster.

`b` is the bench.run module (its helpers: swift_bench, RedisServer, start, stop, log, ROOT).
"""
from __future__ import annotations

import os
import subprocess
import tempfile
import time

import redis

# (agents, the workers' background cycle in s; 0 = every agent every pass)
TENANT_RUNS = [tuple(map(int, r.split(":"))) for r in os.environ.get("BENCH_TENANT_RUNS", "5000:0,5000:600,50000:600,5000:60").split(",")]
CLUSTER_EVENTS = int(os.environ.get("BENCH_CLUSTER_EVENTS", 120_000))
CLUSTER_AGENTS = 24


def phase_tenants(b):
    """Many quiet tenants (issue 14): idle Redis CPU and freshness with 2 workers."""
    out = []
    for agents, scan in TENANT_RUNS:
        b.log("tenants: %d agents, background cycle %s" % (agents, "%d s" % scan if scan else "off (every agent every pass)"))
        with b.RedisServer() as r:
            res, _ = b.swift_bench(r, "--tenants", agents, "--tenants-full-scan-s", scan)
            out.append(res["tenants"])
    return out


class LocalCluster:
    """`n` primaries, no replicas, slots split evenly by hand (redis-cli --cluster create wants 3 or more)."""

    def __init__(self, b, n):
        from service import free_cluster_ports
        self.dir = tempfile.mkdtemp(prefix="bench-cluster-", dir=os.path.join(b.ROOT, ".build-bench"))
        self.ports = free_cluster_ports(n)
        self.b, self.procs = b, []
        for p in self.ports:
            d = os.path.join(self.dir, str(p))
            os.makedirs(d)
            self.procs.append(b.start(["redis-server", "--port", str(p), "--bind", "127.0.0.1", "--cluster-enabled", "yes",
                                     "--cluster-config-file", os.path.join(d, "nodes.conf"), "--dir", d, "--save", "",
                                     "--appendonly", "no", "--logfile", os.path.join(d, "redis.log")],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        self.nodes = [redis.Redis(host="127.0.0.1", port=p) for p in self.ports]
        for node in self.nodes:
            for _ in range(200):
                try:
                    node.ping()
                    break
                except redis.ConnectionError:
                    time.sleep(0.05)
        per = 16384 // n
        for i, node in enumerate(self.nodes):
            first, last = i * per, (16383 if i == n - 1 else (i + 1) * per - 1)
            node.execute_command("CLUSTER", "ADDSLOTSRANGE", first, last)
            if i:
                node.execute_command("CLUSTER", "MEET", "127.0.0.1", self.ports[0])
        deadline = time.time() + 30
        while time.time() < deadline:
            if all(b"cluster_state:ok" in node.execute_command("CLUSTER", "INFO") and
                   len(node.execute_command("CLUSTER", "NODES").splitlines()) == n for node in self.nodes):
                return
            time.sleep(0.1)
        raise RuntimeError("bench cluster of %d did not become ok" % n)

    @property
    def url(self):
        return "redis://" + ",".join("127.0.0.1:%d" % p for p in self.ports)

    def close(self):
        for p in self.procs:
            self.b.stop(p)
        subprocess.run(["rm", "-rf", self.dir])


def phase_cluster(b):
    """Ingest and workers on a plain Redis and on 1, 2 and 3 primaries: events/s, and Redis CPU per
    event on each primary."""
    out = []
    with b.RedisServer() as r:
        b.log("cluster: plain Redis, %d events of %d agents" % (CLUSTER_EVENTS, CLUSTER_AGENTS))
        res, _ = b.swift_bench(r, "--cluster-load", CLUSTER_AGENTS, "--events", CLUSTER_EVENTS)
        res["cluster"]["plain"] = True
        out.append(res["cluster"])
    for n in (1, 2, 3):
        b.log("cluster: %d primaries, %d events of %d agents" % (n, CLUSTER_EVENTS, CLUSTER_AGENTS))
        c = LocalCluster(b, n)
        try:
            res, _ = b.swift_bench(c, "--cluster-load", CLUSTER_AGENTS, "--events", CLUSTER_EVENTS)
            out.append(res["cluster"])
        finally:
            c.close()
    return out


