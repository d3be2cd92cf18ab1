#!/usr/bin/env python3
"""Fault-injection run: `switchyard serve` on DynamoDB (the emulator) under
steady load with 1% malformed requests and SSE clients coming and going,
while the store becomes unreachable for 10 s mid-run.

The store is cut by a TCP proxy between the server and the emulator (the
proxy refuses and drops connections while "down"): stopping the emulator
itself would erase its in-memory tables, which is not what an outage of
DynamoDB does.

Checks: the server never panics or exits; while the store is down dispatches
get 503 with Retry-After; they succeed again after; every accepted action
(200) is audited exactly once and every refused one (503) not at all,
reconciled by the client's own action ids against `GET /v1/audit`.

Usage: bench/faults.py [--seconds 60] [--down-at 20] [--down-for 10]
Writes target/faults.md (and prints it). Standard library only.
"""

import argparse
import http.client
import json
import os
import pathlib
import random
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid

ROOT = pathlib.Path(__file__).resolve().parent.parent
EMULATOR = ("127.0.0.1", int(os.environ.get("SWITCHYARD_EMULATOR_PORT", "4566")))


class Proxy:
    """A TCP forwarder to the emulator that can be cut and restored."""

    def __init__(self):
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(256)
        self.port = self.listener.getsockname()[1]
        self.down = False
        self.lock = threading.Lock()
        self.open = set()
        threading.Thread(target=self._accept, daemon=True).start()

    def cut(self):
        with self.lock:
            self.down = True
            # As a stopped emulator would: open connections are reset.
            for s in list(self.open):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                    s.close()
                except OSError:
                    pass
            self.open.clear()

    def restore(self):
        with self.lock:
            self.down = False

    def _accept(self):
        while True:
            client, _ = self.listener.accept()
            with self.lock:
                if self.down:
                    client.close()
                    continue
                try:
                    upstream = socket.create_connection(EMULATOR, timeout=5)
                except OSError:
                    client.close()
                    continue
                self.open.update((client, upstream))
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _pump(self, source, sink):
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for s in (source, sink):
                try:
                    s.close()
                except OSError:
                    pass
            with self.lock:
                self.open.discard(source)
                self.open.discard(sink)


def config(proxy_port, suffix):
    endpoint = f"http://127.0.0.1:{proxy_port}"
    return f"""
[server]
max_concurrent_dispatch = 5000

[state]
backend = "dynamodb"
endpoint_url = "{endpoint}"
region = "us-east-1"
table_name = "faults-state-{suffix}"

[audit]
enabled = true
backend = "dynamodb"
endpoint_url = "{endpoint}"
region = "us-east-1"
table_name = "faults-audit-{suffix}"

[executor]
max_retries = 0

[[providers]]
name = "log"
type = "log"
"""


class Results:
    def __init__(self):
        self.lock = threading.Lock()
        self.by_id = {}  # action id -> (status, retry_after, t)
        self.malformed = {}  # status -> count
        self.sse = {"opened": 0, "refused": 0, "errors": 0}


def dispatch_worker(base, results, stop, worker):
    host, port = base
    conn = http.client.HTTPConnection(host, port, timeout=30)
    n = 0
    while not stop.is_set():
        n += 1
        action_id = f"f-{worker}-{n}"
        malformed = random.random() < 0.01
        body = (
            '{"namespace": "shop", "tenant": "acme", "provider": "log", "action_type": "order", "payload": {'
            if malformed
            else json.dumps({"id": action_id, "namespace": "shop", "tenant": "acme", "provider": "log",
                             "action_type": "order", "payload": {"n": n}})
        )
        started = time.monotonic()
        try:
            conn.request("POST", "/v1/dispatch", body=body, headers={"Content-Type": "application/json"})
            response = conn.getresponse()
            response.read()
            status, retry_after = response.status, response.getheader("Retry-After")
            if response.getheader("Connection", "").lower() == "close":
                conn.close()
                conn = http.client.HTTPConnection(host, port, timeout=30)
        except (OSError, http.client.HTTPException) as e:
            status, retry_after = f"client error: {type(e).__name__}", None
            conn.close()
            conn = http.client.HTTPConnection(host, port, timeout=30)
        with results.lock:
            if malformed:
                results.malformed[status] = results.malformed.get(status, 0) + 1
            else:
                results.by_id[action_id] = (status, retry_after, started)


def sse_worker(base, results, stop):
    host, port = base
    while not stop.is_set():
        try:
            s = socket.create_connection((host, port), timeout=5)
            s.sendall(b"GET /v1/stream?namespace=shop HTTP/1.1\r\nHost: x\r\n\r\n")
            head = s.recv(256)
            with results.lock:
                if head.startswith(b"HTTP/1.1 200"):
                    results.sse["opened"] += 1
                else:
                    results.sse["refused"] += 1
            until = time.monotonic() + random.uniform(0.2, 2.0)
            s.settimeout(0.2)
            while time.monotonic() < until and not stop.is_set():
                try:
                    s.recv(65536)
                except socket.timeout:
                    pass
            s.close()
        except OSError:
            with results.lock:
                results.sse["errors"] += 1
            time.sleep(0.2)


def get_json(base, path):
    conn = http.client.HTTPConnection(*base, timeout=30)
    conn.request("GET", path)
    response = conn.getresponse()
    return response.status, json.loads(response.read() or b"null")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--down-at", type=float, default=20)
    parser.add_argument("--down-for", type=float, default=10)
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--binary", default=str(ROOT / "target/release/switchyard"))
    args = parser.parse_args()

    started_here = subprocess.run(["curl", "-s", "-o", "/dev/null", "--max-time", "2",
                                   f"http://{EMULATOR[0]}:{EMULATOR[1]}"]).returncode != 0
    subprocess.run([str(ROOT / "localstack/start")], check=True, stdout=subprocess.DEVNULL)
    proxy = Proxy()
    work = pathlib.Path(tempfile.mkdtemp(prefix="switchyard-faults-"))
    (work / "gateway.toml").write_text(config(proxy.port, uuid.uuid4().hex[:10]))
    log = open(work / "server.log", "w")
    server = subprocess.Popen([args.binary, "--log-format", "json", "serve", "--port", "0", "--config",
                               str(work / "gateway.toml")], stdout=subprocess.PIPE, stderr=log, text=True,
                              env={**os.environ, "RUST_LOG": "warn"})
    line = server.stdout.readline()
    match = re.search(r"http://([\d.]+):(\d+)", line)
    if not match:
        sys.exit(f"server did not start: {line}")
    base = (match.group(1), int(match.group(2)))

    results = Results()
    stop = threading.Event()
    threads = [threading.Thread(target=dispatch_worker, args=(base, results, stop, w)) for w in range(args.workers)]
    threads += [threading.Thread(target=sse_worker, args=(base, results, stop)) for _ in range(4)]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    time.sleep(args.down_at)
    down_from = time.monotonic()
    proxy.cut()
    time.sleep(args.down_for)
    proxy.restore()
    up_at = time.monotonic()
    time.sleep(max(0.0, args.seconds - (time.monotonic() - t0)))
    stop.set()
    for t in threads:
        t.join()
    alive = server.poll() is None
    time.sleep(3)  # let retried audit writes land

    outcomes = {}
    phases = {"before": {}, "down": {}, "after": {}}
    missing_retry_after = 0
    for action_id, (status, retry_after, at) in results.by_id.items():
        outcomes[status] = outcomes.get(status, 0) + 1
        phase = "before" if at < down_from else "down" if at < up_at else "after"
        phases[phase][status] = phases[phase].get(status, 0) + 1
        if status == 503 and not retry_after:
            missing_retry_after += 1

    # Reconcile: the audit holds each accepted id once, each refused id never.
    wrong = {"accepted, not audited once": [], "refused, yet audited": []}
    for action_id, (status, _, _) in results.by_id.items():
        if status not in (200, 503):
            continue
        code, page = get_json(base, f"/v1/audit?namespace=shop&tenant=acme&action_id={action_id}&limit=10")
        total = page.get("total") if code == 200 else None
        if status == 200 and total != 1:
            wrong["accepted, not audited once"].append((action_id, total))
        if status == 503 and total not in (0,):
            wrong["refused, yet audited"].append((action_id, total))
    _, metrics = get_json(base, "/metrics")
    server.terminate()
    server.wait(timeout=30)
    log.close()
    log_text = (work / "server.log").read_text()
    panics = log_text.count("panicked")
    proxy.cut()
    if started_here:
        subprocess.run([str(ROOT / "localstack/stop")], stdout=subprocess.DEVNULL)

    def row(counts):
        return ", ".join(f"{k}: {v}" for k, v in sorted(counts.items(), key=lambda kv: str(kv[0]))) or "–"

    accepted = outcomes.get(200, 0)
    report = f"""| measure | value |
|---|---|
| run | {args.seconds:.0f} s, {args.workers} dispatch clients, 4 SSE clients reconnecting every 0.2–2 s, 1% malformed bodies |
| store outage | unreachable from {args.down_at:.0f} s to {args.down_at + args.down_for:.0f} s (proxy cut) |
| dispatches (well-formed) | {len(results.by_id)}: {row(outcomes)} |
| before the outage | {row(phases['before'])} |
| during the outage | {row(phases['down'])} |
| after the outage | {row(phases['after'])} |
| 503 without Retry-After | {missing_retry_after} |
| malformed requests | {row(results.malformed)} |
| SSE connections | opened {results.sse['opened']}, refused {results.sse['refused']}, errors {results.sse['errors']} |
| server alive at the end / panics in its log | {'yes' if alive else 'NO'} / {panics} |
| accepted (200) audited exactly once | {accepted - len(wrong['accepted, not audited once'])} of {accepted} |
| refused (503) found in the audit | {len(wrong['refused, yet audited'])} |
| gateway metrics | store_unavailable {metrics.get('store_unavailable')}, audit_errors {metrics.get('audit_errors')}, audit_retried {metrics.get('audit_retried')}, audit_dropped {metrics.get('audit_dropped')} |
"""
    for kind, items in wrong.items():
        if items:
            report += f"\n{kind}: {items[:10]}{' …' if len(items) > 10 else ''}\n"
    print(report)
    (ROOT / "target").mkdir(exist_ok=True)
    (ROOT / "target/faults.md").write_text(report)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                            cwd=ROOT).stdout.strip()
    ok = alive and panics == 0 and missing_retry_after == 0 and not any(wrong.values())
    section = f"""## Fault injection (`bench/faults.py`, against the release binary on the emulator)

`switchyard serve` on DynamoDB (the emulator behind a TCP proxy), commit `{commit}`. Steady
load with 1% malformed bodies and SSE clients connecting and leaving; the proxy cuts the store
off for {args.down_for:.0f} s mid-run (open connections reset, new ones refused: what a stopped
emulator does, without erasing its in-memory tables). Afterwards every client-side action id is
reconciled against `GET /v1/audit`. Target: every accepted action audited exactly once, no
refused one audited, every 503 with `Retry-After`, the server alive with no panic:
**{"PASS" if ok else "MISS"}**.

{report}"""
    subprocess.run([str(ROOT / "bench/section.py")], input=section, text=True, check=True)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
