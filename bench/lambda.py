"""Lambda figures for BENCHMARKS.md, written to target/lambda-bench.md.

1. Sizes: each release arm64 bootstrap (infra/build-functions) and its zip.
2. Cold start of `dispatch` (the same `lambda` profile built for x86-64, since
   this machine cannot run arm64): from process start to the first request served,
   under a minimal Lambda Runtime API served here (the runtime polls
   /invocation/next, answers /invocation/{id}/response), with the bundled 6
   rules and with 1,000 rules read from S3; then resident memory at idle.
3. Work per dispatch and per 4-step chain, counted by a proxy between the
   functions and the emulator (every DynamoDB / SQS request by operation, with
   request sizes for write units), and the invocation durations measured here;
   with AWS list prices this gives the cost model.

Needs the emulator (localstack/start), infra/build-functions and the x86-64
`lambda` builds of dispatch and chain-step, unstripped and non-PIE (bench/run
does all of it).
"""
import hashlib
import io
import json
import math
import os
import queue
import re
import shutil
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import boto3

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FUNCTIONS = ["dispatch", "chain-step", "scheduler", "reaper"]
ENDPOINT = os.environ.get("SWITCHYARD_DYNAMODB_ENDPOINT", "http://127.0.0.1:4566")
SESSION = boto3.session.Session(aws_access_key_id="test", aws_secret_access_key="test", region_name="us-east-1")

# AWS list prices, us-east-1, as published in 2026 (they change: re-check).
PRICE = {
    "lambda_gb_second_arm64": 0.0000133334,
    "lambda_request": 0.20 / 1e6,
    "http_api_request": 1.00 / 1e6,
    "dynamodb_wru": 0.625 / 1e6,
    "dynamodb_rru": 0.125 / 1e6,
    "sqs_request": 0.40 / 1e6,
}
MEMORY_MB = 256  # the template's MemorySize


def client(service):
    return SESSION.client(service, endpoint_url=ENDPOINT)


# ------------------------------------------------------------------ sizes
def sizes():
    rows = []
    for name in FUNCTIONS:
        path = os.path.join(ROOT, "target", "lambda", name, "bootstrap")
        if not os.path.exists(path):
            return None
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
            z.write(path, "bootstrap")
        rows.append((name, os.path.getsize(path), len(buffer.getvalue())))
    return rows


# Where a bootstrap's bytes go: symbol sizes of the unstripped x86-64 build of
# the same profile, grouped by the crate a symbol's path starts with
# (monomorphised generics count towards the crate that defines them).
FUNCTION_CRATES = ("dispatch", "chain_step", "scheduler", "reaper")
CRATE_GROUPS = [
    ("AWS SDK service clients (`aws_sdk_*`)", lambda c: c.startswith("aws_sdk_")),
    ("AWS SDK runtime (`aws_smithy_*`, `aws_config`, `aws_runtime`, `aws_sigv4`, …)",
     lambda c: c.startswith(("aws_smithy", "aws_config", "aws_runtime", "aws_sigv4", "aws_credential", "aws_types"))),
    ("TLS (`rustls`, aws-lc, `webpki`)", lambda c: c in ("rustls", "aws_lc_rs", "aws_lc", "webpki", "rustls_pki_types", "rustls_native_certs")),
    ("HTTP (`hyper*`, `h2`, `http*`, `reqwest`, `tower*`, `axum*`)",
     lambda c: c.startswith(("hyper", "h2", "http", "reqwest", "tower", "axum", "lambda_http"))),
    ("Switchyard crates", lambda c: c.startswith("switchyard") or c in FUNCTION_CRATES),
    ("YAML, TOML, JSON (`serde*`, `granit_parser`, `toml*`, `encoding_rs`)",
     lambda c: c.startswith(("serde", "granit", "toml", "encoding_rs", "winnow"))),
    ("regex", lambda c: c.startswith(("regex", "aho_corasick", "memchr"))),
    ("Rust std, core, alloc and generics they instantiate", lambda c: c in ("core", "alloc", "std", "hashbrown")),
]


def crate_sizes(binary):
    if not os.path.exists(binary) or not shutil.which("nm"):
        return None
    out = subprocess.run(["nm", "-S", "--size-sort", "-C", binary], capture_output=True, text=True).stdout
    by_group = {name: 0 for name, _ in CRATE_GROUPS}
    by_group["other crates and C code"] = 0
    total = 0
    for line in out.splitlines():
        parts = line.split(" ", 3)
        if len(parts) < 4:
            continue
        size = int(parts[1], 16)
        total += size
        found = re.search(r"([A-Za-z_][A-Za-z0-9_]*)::", parts[3])
        crate = found.group(1) if found else ("aws_lc" if "aws_lc" in parts[3] else "")
        group = next((name for name, test in CRATE_GROUPS if test(crate)), "other crates and C code")
        by_group[group] += size
    return total, sorted(by_group.items(), key=lambda kv: -kv[1])


# ------------------------------------------------------ counting proxy
class Counts:
    def __init__(self):
        self.lock = threading.Lock()
        self.reset()

    def reset(self):
        with self.lock:
            self.ops = {}
            self.wru = 0.0
            self.rru = 0.0

    def add(self, op, body):
        with self.lock:
            self.ops[op] = self.ops.get(op, 0) + 1
            wru, rru = units(op, body)
            self.wru += wru
            self.rru += rru

    def snapshot(self):
        with self.lock:
            return dict(self.ops), self.wru, self.rru


AUDIT_INDEX_KEYS = ("scope", "ns", "feed", "action_id", "chain_id")


def kb_units(obj):
    return max(1, math.ceil(len(json.dumps(obj)) / 1024))


def units(op, body):
    """Estimated DynamoDB capacity units of one request, from its JSON body
    (type descriptors make this a slight over-estimate)."""
    try:
        req = json.loads(body or b"{}")
    except ValueError:
        return 0, 0
    if op == "DynamoDB.PutItem":
        item = req.get("Item", {})
        n = kb_units(item)
        if req.get("TableName", "").endswith("-audit"):
            n += sum(kb_units(item) for k in AUDIT_INDEX_KEYS if k in item)
        return n, 0
    if op in ("DynamoDB.UpdateItem", "DynamoDB.DeleteItem"):
        return kb_units(req.get("ExpressionAttributeValues", {})), 0
    if op == "DynamoDB.TransactWriteItems":
        return sum(2 * kb_units(i) for i in req.get("TransactItems", [])), 0
    if op in ("DynamoDB.GetItem", "DynamoDB.Query"):
        return 0, 1
    return 0, 0


COUNTS = Counts()


class Proxy(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def _forward(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        target = self.headers.get("X-Amz-Target", "")
        service = target.split("_")[0].split(".")[0] if target else ""
        op = target.split(".")[-1] if target else self.command + " " + self.path.split("?")[0]
        label = {"DynamoDB": "DynamoDB", "AmazonSQS": "SQS", "AmazonSSM": "SSM"}.get(service, "other")
        COUNTS.add(f"{label}.{op}", body)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")}
        request = urllib.request.Request(ENDPOINT + self.path, data=body or None, method=self.command, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                status, data, out = response.status, response.read(), response.headers
        except urllib.error.HTTPError as err:
            status, data, out = err.code, err.read(), err.headers
        self.send_response(status)
        for k, v in out.items():
            if k.lower() not in ("content-length", "transfer-encoding", "connection", "server", "date"):
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _forward


# ------------------------------------------------- runtime API emulator
class RuntimeApi:
    """The Lambda Runtime API, enough for lambda_runtime: one event at a time."""

    def __init__(self):
        self.events = queue.Queue()
        self.responses = queue.Queue()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _reply(self, status, body, headers=()):
                self.send_response(status)
                for k, v in headers:
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):
                if self.path.endswith("/invocation/next"):
                    request_id, event = outer.events.get()
                    deadline = str(int((time.time() + 30) * 1000))
                    self._reply(200, json.dumps(event).encode(), [
                        ("Lambda-Runtime-Aws-Request-Id", request_id),
                        ("Lambda-Runtime-Deadline-Ms", deadline),
                        ("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:us-east-1:123456789012:function:bench"),
                        ("Lambda-Runtime-Trace-Id", "Root=1-00000000-000000000000000000000000"),
                    ])
                else:
                    self._reply(404, b"{}")

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                outer.responses.put((self.path, time.perf_counter(), body))
                self._reply(202, b"{}")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.address = f"127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def invoke(self, event, timeout=60):
        """Send one event; return (seconds from now to the response, response body)."""
        start = time.perf_counter()
        self.events.put((str(uuid.uuid4()), event))
        path, at, body = self.responses.get(timeout=timeout)
        if "/error" in path:
            raise RuntimeError(f"function error: {body.decode()}")
        return at - start, json.loads(body)


def spawn(binary, api, env):
    full = dict(os.environ)
    full.update(env)
    full.update({
        "AWS_LAMBDA_RUNTIME_API": api.address,
        "AWS_LAMBDA_FUNCTION_NAME": os.path.basename(binary),
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(MEMORY_MB),
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_LOG_STREAM_NAME": "bench",
        "AWS_LAMBDA_LOG_GROUP_NAME": "bench",
        "RUST_LOG": "warn",
    })
    return subprocess.Popen([binary], env=full, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


# --------------------------------------------------------------- stack
def deploy(stack):
    out = subprocess.run([os.path.join(ROOT, "infra", "deploy-local"), "--stack", stack],
                         env={**os.environ, "AWS_ENDPOINT_URL": ENDPOINT}, check=True,
                         capture_output=True, text=True)
    return json.loads(out.stdout)


# The functions run as deployed: authentication on, the first admin key's
# hash in SSM (the dispatch cold start reads it beside the approval key).
ADMIN_KEY = "syk_bench_" + uuid.uuid4().hex


def admin_key_parameter(stack):
    name = f"/{stack}/admin-key-hash"
    client("ssm").put_parameter(Name=name, Type="SecureString", Overwrite=True,
                                Value=hashlib.sha256(ADMIN_KEY.encode()).hexdigest())
    return name


def function_env(outputs, proxy_url, rules_uri=""):
    return {
        "ADMIN_KEY_HASH_PARAMETER": outputs["AdminKeyHashParameter"],
        "STATE_TABLE": outputs["StateTableName"], "AUDIT_TABLE": outputs["AuditTableName"],
        "CHAIN_QUEUE_URL": outputs["ChainQueueUrl"], "DELAY_QUEUE_URL": outputs["DelayQueueUrl"],
        "SCHEDULE_GROUP": outputs["ScheduleGroupName"], "SCHEDULER_TARGET_ARN": outputs["SchedulerFunctionArn"],
        "SCHEDULER_ROLE_ARN": outputs["SchedulerRoleArn"], "APPROVAL_SECRET_PARAMETER": outputs["ApprovalSecretParameter"],
        "RULES_S3_URI": rules_uri, "AWS_ENDPOINT_URL": proxy_url, "AWS_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
    }


def generated_rules(count):
    """1,000 rules shaped like the criterion benchmark's generated set."""
    lines = ["rules:"]
    for i in range(count):
        if i % 200 == 0:
            cond = f"      field: action.payload.amount\n      gt: {1_000_000 + i}"
        elif i % 100 < 61:
            cond = (f"      all:\n        - field: action.tenant\n          eq: tenant-{i % 250}\n"
                    f"        - field: action.payload.amount\n          gte: {i}")
        else:
            cond = (f"      all:\n        - field: action.action_type\n          in_list: [type-{i % 40}, type-{(i + 1) % 40}]\n"
                    f"        - field: action.payload.region\n          eq: region-{i % 7}")
        action = ["      type: deny", "      type: throttle\n      max_count: 10\n      window_seconds: 60",
                  "      type: reroute\n      target_provider: warehouse"][i % 3]
        lines.append(f"  - name: generated-{i}\n    priority: {(i % 200) - 50}\n    condition:\n{cond}\n    action:\n{action}")
    return "\n".join(lines) + "\n"


COST_CONFIG = """
[[providers]]
name = "orders"
type = "log"

[[chains.on_executed]]
action_type = "order"
chain = "four-steps"

[[chains.definitions]]
name = "four-steps"
timeout_seconds = 600
""" + "".join(f"""
[[chains.definitions.steps]]
name = "step-{n}"
provider = "orders"
action_type = "step_{n}"
payload_template = {{ order_id = "{{{{origin.payload.order_id}}}}" }}
""" for n in range(1, 5))

COST_RULES = """rules:
  - name: one-per-order
    priority: 1
    condition:
      field: action.action_type
      eq: order
    action:
      type: deduplicate
      ttl_seconds: 3600
"""


def upload(bucket, files):
    s3 = client("s3")
    try:
        s3.create_bucket(Bucket=bucket)
    except Exception:  # noqa: BLE001 - exists already
        pass
    for key, text in files.items():
        s3.put_object(Bucket=bucket, Key=key, Body=text.encode())


def http_event(method, path, body=None):
    with open(os.path.join(ROOT, "functions", "dispatch", "events", "http-api-health.json")) as f:
        event = json.load(f)
    event["rawPath"] = path
    event["requestContext"]["http"]["method"] = method
    event["requestContext"]["http"]["path"] = path
    event["headers"]["x-api-key"] = ADMIN_KEY
    if body is not None:
        event["headers"]["content-type"] = "application/json"
        event["body"] = json.dumps(body)
    return event


def main():
    report = {}
    report["sizes"] = sizes()
    # The size-optimised profile the arm64 bootstraps use, built for this
    # machine (unstripped: symbols are not loaded, so they do not change the
    # cold start, and they tell where the bytes go).
    host_build = os.path.join(ROOT, "target", "x86_64-unknown-linux-gnu", "lambda")
    report["crates"] = crate_sizes(os.path.join(host_build, "dispatch"))
    proxy = ThreadingHTTPServer(("127.0.0.1", 0), Proxy)
    threading.Thread(target=proxy.serve_forever, daemon=True).start()
    proxy_url = f"http://127.0.0.1:{proxy.server_address[1]}"
    stack = f"sy-bench-{int(time.time())}"
    outputs = deploy(stack)
    outputs["AdminKeyHashParameter"] = admin_key_parameter(stack)
    bucket = f"{stack}-rules"
    upload(bucket, {"r1000/generated.yaml": generated_rules(1000),
                    "cost/gateway.toml": COST_CONFIG, "cost/rules.yaml": COST_RULES})

    # Cold starts: process start → first /health served. One Runtime API per
    # process: a killed process's pending /next must not swallow the next event.
    cold = {}
    for label, uri in [("bundled e-commerce, 6 rules", ""), ("1,000 rules from S3", f"s3://{bucket}/r1000/")]:
        times, rss = [], []
        for _ in range(7):
            api = RuntimeApi()
            start = time.perf_counter()
            proc = spawn(os.path.join(host_build, "dispatch"), api, function_env(outputs, proxy_url, uri))
            _, response = api.invoke(http_event("GET", "/health"))
            times.append(time.perf_counter() - start)
            assert response["statusCode"] == 200, response
            time.sleep(0.3)  # idle: blocked on /invocation/next
            rss.append(rss_kb(proc.pid))
            proc.kill()
            proc.wait()
        cold[label] = (statistics.median(times) * 1000, min(times) * 1000, statistics.median(rss) / 1024)
    report["cold"] = cold

    # Work per dispatch: 200 orders, each executed and starting a 4-step chain.
    env = function_env(outputs, proxy_url, f"s3://{bucket}/cost/")
    api = RuntimeApi()
    dispatch = spawn(os.path.join(host_build, "dispatch"), api, env)
    api.invoke(http_event("GET", "/health"))
    orders = 200
    COUNTS.reset()
    durations = []
    for n in range(orders):
        seconds, response = api.invoke(http_event("POST", "/v1/dispatch", {
            "namespace": "shop", "tenant": "t1", "provider": "orders", "action_type": "order",
            "dedup_key": f"order-{n}", "payload": {"order_id": f"o-{n}"}}))
        assert response["statusCode"] == 200 and "Executed" in response["body"], response
        durations.append(seconds)
    ops, wru, rru = COUNTS.snapshot()
    report["dispatch"] = (orders, ops, wru, rru, statistics.median(durations) * 1000)
    dispatch.kill()

    # The chains: the chain-step function fed the way the SQS event source
    # mapping feeds it (receive ≤ 10, invoke, delete what succeeded).
    api = RuntimeApi()
    chain_step = spawn(os.path.join(host_build, "chain-step"), api, env)
    sqs = client("sqs")
    COUNTS.reset()
    mapping_requests = 0
    invocations = []
    idle_rounds = 0
    while idle_rounds < 3:
        got = sqs.receive_message(QueueUrl=outputs["ChainQueueUrl"], MaxNumberOfMessages=10,
                                  WaitTimeSeconds=1, AttributeNames=["All"]).get("Messages", [])
        mapping_requests += 1
        if not got:
            idle_rounds += 1
            continue
        idle_rounds = 0
        records = [{"messageId": m["MessageId"], "receiptHandle": m["ReceiptHandle"], "body": m["Body"],
                    "attributes": m.get("Attributes", {}), "messageAttributes": {}, "md5OfBody": m["MD5OfBody"],
                    "eventSource": "aws:sqs", "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:q",
                    "awsRegion": "us-east-1"} for m in got]
        seconds, response = api.invoke({"Records": records})
        invocations.append((seconds, len(records)))
        failed = {f["itemIdentifier"] for f in response.get("batchItemFailures", [])}
        done = [m for m in got if m["MessageId"] not in failed]
        if done:
            sqs.delete_message_batch(QueueUrl=outputs["ChainQueueUrl"], Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)])
            mapping_requests += 1
    ops, wru, rru = COUNTS.snapshot()
    chain_step.kill()
    steps = sum(n for _, n in invocations)
    report["chains"] = (orders, steps, len(invocations), ops, wru, rru,
                        sum(s for s, _ in invocations) * 1000, mapping_requests)
    write(report)


def money(x):
    return f"${x:,.2f}"


# The scale issue's cold-start target for `dispatch`, process start to first answer.
COLD_START_TARGET_MS = 25


def write(report):
    out = []
    if report["sizes"]:
        out.append("| function | bootstrap | zip | target |\n|---|---|---|---|")
        for name, raw, zipped in report["sizes"]:
            verdict = "PASS" if raw <= 8e6 and zipped <= 3e6 else "MISS"
            out.append(f"| `{name}` | {raw / 2**20:.1f} MiB | {zipped / 2**20:.1f} MiB | ≤ 8 MB / ≤ 3 MB: **{verdict}** |")
    else:
        out.append("(no arm64 build found: run infra/build-functions)")
    if report["crates"]:
        total, groups = report["crates"]
        out.append(f"\n**Where `dispatch`'s code goes** (symbol sizes of the same profile built for x86-64, {total / 2**20:.1f} MiB of symbols in all):\n")
        out.append("| crates | size | share |\n|---|---|---|")
        for name, size in groups:
            out.append(f"| {name} | {size / 2**20:.2f} MiB | {size / total:.0%} |")
    out.append("\n**Cold start of `dispatch`** (process start → first request served; median of 7, min in brackets) and resident memory at idle:\n")
    out.append("| rules | init → first response | RSS idle | target |\n|---|---|---|---|")
    for label, (median, best, rss) in report["cold"].items():
        verdict = "PASS" if median <= COLD_START_TARGET_MS else "MISS"
        out.append(f"| {label} | {median:.1f} ms ({best:.1f}) | {rss:.1f} MiB | ≤ {COLD_START_TARGET_MS} ms: **{verdict}** |")

    orders, ops, wru, rru, dispatch_ms = report["dispatch"]
    _, steps, invocations, chain_ops, chain_wru, chain_rru, chain_ms, mapping = report["chains"]
    per = lambda d, n: ", ".join(f"{k.split('.', 1)[1]} {v / n:.2f}" for k, v in sorted(d.items()) if k.startswith(("DynamoDB", "SQS")))  # noqa: E731
    out.append(f"\n**Work counted by a proxy in front of the emulator** ({orders} orders, each executed and starting a 4-step chain of log-provider steps; {steps} steps in {invocations} `chain-step` invocations):\n")
    out.append("| unit | requests per unit | est. WRU | est. RRU | measured duration |\n|---|---|---|---|---|")
    out.append(f"| dispatch | {per(ops, orders)} | {wru / orders:.1f} | {rru / orders:.1f} | {dispatch_ms:.1f} ms median |")
    out.append(f"| 4-step chain | {per(chain_ops, orders)}; event source mapping: ReceiveMessage + DeleteMessageBatch {mapping / orders:.2f} | {chain_wru / orders:.1f} | {chain_rru / orders:.1f} | {chain_ms / orders:.1f} ms of `chain-step` time |")

    gb = MEMORY_MB / 1024
    def lambda_cost(ms, requests):
        return math.ceil(ms) / 1000 * gb * PRICE["lambda_gb_second_arm64"] + requests * PRICE["lambda_request"]
    dispatch_sqs = sum(v for k, v in ops.items() if k.startswith("SQS")) / orders
    d = {
        "Lambda (256 MB arm64, duration + request)": lambda_cost(dispatch_ms, 1),
        "API Gateway HTTP API": PRICE["http_api_request"],
        "DynamoDB on-demand": wru / orders * PRICE["dynamodb_wru"] + rru / orders * PRICE["dynamodb_rru"],
        "SQS (chain start)": dispatch_sqs * PRICE["sqs_request"],
    }
    chain_sqs = sum(v for k, v in chain_ops.items() if k.startswith("SQS")) / orders + mapping / orders
    c = {
        # Billed per invocation (a batch of up to 10 steps), by the millisecond.
        "Lambda (`chain-step` time + invocations)": (chain_ms / orders) / 1000 * gb * PRICE["lambda_gb_second_arm64"]
        + invocations / orders * PRICE["lambda_request"],
        "DynamoDB on-demand": chain_wru / orders * PRICE["dynamodb_wru"] + chain_rru / orders * PRICE["dynamodb_rru"],
        "SQS (sends, mapping receives and deletes)": chain_sqs * PRICE["sqs_request"],
    }
    out.append("\n**Cost model** (AWS list prices, us-east-1: Lambda arm64 $0.0000133334/GB-s + $0.20/M requests, HTTP API $1.00/M, DynamoDB on-demand $0.625/M WRU and $0.125/M RRU, SQS $0.40/M requests; free tiers ignored):\n")
    out.append("| per million | " + " | ".join(["component", "cost"]) + " |\n|---|---|---|")
    for name, table in [("dispatches", d), ("4-step chains", c)]:
        for component, cost in table.items():
            out.append(f"| {name} | {component} | {money(cost * 1e6)} |")
        out.append(f"| **{name}** | **total** | **{money(sum(table.values()) * 1e6)}** |")
    with open(os.path.join(ROOT, "target", "lambda-bench.md"), "w") as f:
        f.write("\n".join(out) + "\n")
    print("\n".join(out))


if __name__ == "__main__":
    sys.exit(main())
