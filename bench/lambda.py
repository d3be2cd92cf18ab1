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
def sizes(build_dir="lambda"):
    rows = []
    for name in FUNCTIONS:
        path = os.path.join(ROOT, "target", build_dir, name, "bootstrap")
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
            self.wru_by_op = {}
            self.rru = 0.0
            # Seconds during which at least one request was waiting on the
            # emulator (overlapping requests count once).
            self.waiting = 0.0
            self.in_flight = 0
            self.since = 0.0

    def begin(self):
        with self.lock:
            if self.in_flight == 0:
                self.since = time.perf_counter()
            self.in_flight += 1

    def end(self):
        with self.lock:
            self.in_flight -= 1
            if self.in_flight == 0:
                self.waiting += time.perf_counter() - self.since

    def add(self, op, body, write_units=None):
        with self.lock:
            self.ops[op] = self.ops.get(op, 0) + 1
            wru, rru = (write_units, 0) if write_units is not None else units(op, body)
            self.wru += wru
            if wru:
                self.wru_by_op[op] = self.wru_by_op.get(op, 0) + wru
            self.rru += rru

    def snapshot(self):
        with self.lock:
            return dict(self.ops), self.wru, self.rru

    def write_units_by_op(self):
        with self.lock:
            return dict(self.wru_by_op)

    def waited(self):
        with self.lock:
            return self.waiting


def audit_indexes():
    """The audit table's indexes in the template, as (hash key, the
    attributes a copy holds or None for all): a put writes one more copy
    for each index whose key the item has."""
    import yaml
    with open(os.path.join(ROOT, "infra", "template.yaml")) as f:
        table = yaml.safe_load(f)["Resources"]["AuditTable"]["Properties"]
    table_keys = [k["AttributeName"] for k in table["KeySchema"]]
    indexes = []
    for index in table["GlobalSecondaryIndexes"]:
        keys = [k["AttributeName"] for k in index["KeySchema"]]
        projection = index["Projection"]
        kept = None if projection["ProjectionType"] == "ALL" else set(
            table_keys + keys + projection.get("NonKeyAttributes", []))
        indexes.append((keys[0], kept))
    return indexes


AUDIT_INDEXES = audit_indexes()
# DynamoDB counts 100 bytes of overhead in every index entry.
INDEX_ENTRY_OVERHEAD = 100


def kb_units(obj, extra=0):
    return max(1, math.ceil((len(json.dumps(obj)) + extra) / 1024))


def index_copy(item, kept):
    return item if kept is None else {k: v for k, v in item.items() if k in kept}


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
        # `<stack>-audit-v3` (the table's name carries its layout).
        if "-audit" in req.get("TableName", ""):
            n += sum(kb_units(index_copy(item, kept), INDEX_ENTRY_OVERHEAD)
                     for key, kept in AUDIT_INDEXES if key in item)
        return n, 0
    if op == "DynamoDB.TransactWriteItems":
        return sum(2 * kb_units(i) for i in req.get("TransactItems", [])), 0
    if op in ("DynamoDB.GetItem", "DynamoDB.Query"):
        return 0, 1
    return 0, 0


COUNTS = Counts()
# Reads the proxy makes for itself (never counted).
SIZER = None


def stored_item_units(body):
    """Write units of the item an UpdateItem or DeleteItem names, as stored
    now (0 when there is none)."""
    global SIZER
    try:
        req = json.loads(body or b"{}")
        if SIZER is None:
            SIZER = SESSION.client("dynamodb", endpoint_url=ENDPOINT)
        item = SIZER.get_item(TableName=req["TableName"], Key=req["Key"], ConsistentRead=True).get("Item")
        return kb_units(item) if item else 0
    except Exception:  # the request itself reports its own errors
        return 0


class Proxy(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes: with Nagle's algorithm the
    # second waits for the client's delayed ACK (about 40 ms a request).
    disable_nagle_algorithm = True

    def log_message(self, *args):
        pass

    def _forward(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        target = self.headers.get("X-Amz-Target", "")
        service = target.split("_")[0].split(".")[0] if target else ""
        op = target.split(".")[-1] if target else self.command + " " + self.path.split("?")[0]
        label = {"DynamoDB": "DynamoDB", "AmazonSQS": "SQS", "AmazonSSM": "SSM"}.get(service, "other")
        # An update or delete is billed on the whole item (the larger of
        # before and after), which its request does not show: read it.
        sized = op in ("UpdateItem", "DeleteItem") and label == "DynamoDB"
        before = stored_item_units(body) if sized else 0
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")}
        request = urllib.request.Request(ENDPOINT + self.path, data=body or None, method=self.command, headers=headers)
        COUNTS.begin()
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                status, data, out = response.status, response.read(), response.headers
        except urllib.error.HTTPError as err:
            status, data, out = err.code, err.read(), err.headers
        finally:
            COUNTS.end()
        if sized:
            COUNTS.add(f"{label}.{op}", body, max(before, stored_item_units(body), 1))
        else:
            COUNTS.add(f"{label}.{op}", body)
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
            disable_nagle_algorithm = True  # as the proxy's

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
  - name: no-spam
    priority: 0
    condition:
      field: action.action_type
      eq: spam
    action:
      type: deny
  - name: one-per-key
    priority: 1
    condition:
      field: action.action_type
      in_list: [order, event]
    action:
      type: deduplicate
      ttl_seconds: 3600
"""


def compiled_artifact(text):
    """`switchyard rules compile` of one file (the CLI that SWITCHYARD_BIN names)."""
    import tempfile
    with tempfile.TemporaryDirectory() as tmp:
        with open(os.path.join(tmp, "generated.yaml"), "w") as f:
            f.write(text)
        subprocess.run([os.environ["SWITCHYARD_BIN"], "rules", "compile", tmp], check=True, capture_output=True)
        with open(os.path.join(tmp, "rules.compiled.json")) as f:
            return f.read()


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
    report["sizes_lean"] = sizes("lambda-lean")
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
    generated = generated_rules(1000)
    upload(bucket, {"r1000/generated.yaml": generated, "r1000c/generated.yaml": generated,
                    "r1000c/rules.compiled.json": compiled_artifact(generated),
                    "cost/gateway.toml": COST_CONFIG, "cost/rules.yaml": COST_RULES})

    # Cold starts: process start → first /health served. One Runtime API per
    # process: a killed process's pending /next must not swallow the next event.
    cold = {}
    for label, uri in [("bundled e-commerce, 6 rules", ""), ("1,000 rules from S3", f"s3://{bucket}/r1000/"),
                       ("1,000 rules from S3, compiled artifact beside them", f"s3://{bucket}/r1000c/")]:
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
    report.setdefault("wru_by_op", {})["dispatch starting a chain"] = COUNTS.write_units_by_op()

    # One dispatch per outcome, no chain: executed (dedup claim + audit),
    # the same keys again (deduplicated), and a deny rule's suppression.
    outcomes = {}
    for label, action_type, expected in [("executed (dedup + audit)", "event", "Executed"),
                                         ("deduplicated", "event", "Deduplicated"),
                                         ("suppressed (deny rule)", "spam", "Suppressed")]:
        count = 100
        COUNTS.reset()
        durations = []
        for n in range(count):
            seconds, response = api.invoke(http_event("POST", "/v1/dispatch", {
                "namespace": "shop", "tenant": "t1", "provider": "orders", "action_type": action_type,
                "dedup_key": f"{action_type}-{n}", "payload": {"order_id": f"o-{n}"}}))
            assert response["statusCode"] == 200 and expected in response["body"], response
            durations.append(seconds)
        ops, wru, rru = COUNTS.snapshot()
        outcomes[label] = (count, ops, wru, rru, sum(durations), COUNTS.waited())
        report.setdefault("wru_by_op", {})[label] = COUNTS.write_units_by_op()
    report["outcomes"] = outcomes
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
    report["wru_by_op"]["4-step chain"] = COUNTS.write_units_by_op()
    report["chains"] = (orders, steps, len(invocations), ops, wru, rru,
                        sum(s for s, _ in invocations) * 1000, mapping_requests, COUNTS.waited() * 1000)
    with open(REPORT_FILE, "w") as f:
        json.dump(report, f)
    write(report)


def money(x):
    return f"${x:,.2f}"


# The scale issue's targets: cold start of `dispatch` (process start to
# first answer), and cost per million (list prices, all-in).
COLD_START_TARGET_MS = 25
COST_TARGETS = {"executed (dedup + audit)": 3.00, "deduplicated": 2.50, "suppressed (deny rule)": 2.50}
CHAIN_TARGET = 10.00
# DynamoDB answers in single-digit milliseconds; the emulator (one Python
# process) takes far longer. The estimated Lambda time is the function's own
# time (invocation time minus the time a request was waiting on the
# emulator) plus this much per request it sent.
ROUND_TRIP_MS = 5
# The same script's figures before the 2026-12 layout (audit table keyed by
# id with 5 indexes, the origin action inside the chain record), as
# published in BENCHMARKS.md then: order dispatch (starting a chain), 4-step chain.
BEFORE = {"dispatch starting a chain": (9.0, 5.64), "4-step chain": (77.0, 48.67)}
# AWS Step Functions, us-east-1 list prices: Standard $0.025 per 1,000 state
# transitions; Express $1.00 per million requests + $0.00001667 per GB-second
# (billed in 100 ms steps at 64 MB at least).
SFN_STANDARD_TRANSITION = 0.025 / 1000
SFN_EXPRESS_REQUEST = 1.00 / 1e6
SFN_EXPRESS_GB_SECOND = 0.00001667

INTRO = """Sizes are the arm64 bootstraps `infra/build-functions` builds with the `lambda` profile
(`opt-level = "s"` except the rule parser at 3, fat LTO, one codegen unit, stripped,
linked non-PIE; zip at deflate level 9). Cold starts use the same profile built for x86-64
(this machine cannot run arm64) under a minimal Lambda Runtime API served by the script: the
clock starts when the process is spawned and stops when the first response (`GET /health`
through `lambda_http`) reaches the Runtime API, so it covers SDK configuration, the SSM read
of the approval key, the S3 read and compile of the rules, and the router. The emulator
answers from loopback: S3 and SSM in AWS add their own latency to the S3 row.
Request counts come from a proxy between the functions and the emulator; write and read
units are estimated from the request sizes (an audit item also counts one copy per index of
the template whose key it has, of the attributes the index projects plus DynamoDB's 100 bytes
of index overhead; an update or delete counts the whole item, the larger of before and after,
which the proxy reads from the emulator around the request; transactions count double). Durations are measured against
the emulator, which serves one request at a time and is far slower than DynamoDB; the proxy
also measures how long the function waited on it, so each unit has a second, estimated
duration: its own time plus """ + str(ROUND_TRIP_MS) + """ ms per request it sent."""

READING = """Reading the figures (the verdicts are in the tables above):
- **Writes.** An audit record is written to the table and to each index whose key it has.
  The 2026-12 layout keys the table by action (a lookup by action needs no index) and reads
  namespace-wide queries from the sharded feed, so a dispatch's record is written 3 times
  (table, `by_tenant`, `by_time`), a chain step's 4 (and `by_chain`), where each was
  written 5 and 6 times before. The indexes project a summary of the filtered fields, not
  the record, so each copy is one write unit however large the record (a chain step's
  record is about 2 KB: two units in the table, one in each index). A chain's origin action
  is stored once, in its own record, and the chain record that every step rewrites twice
  leaves its empty fields out.
- **What is left of a dispatch**: one gate write (the dedup claim; a refused conditional
  write is billed too, so a duplicate costs as much as the original), one audit record and
  its two index copies, the HTTP API's $1.00 and Lambda's $0.20 per million requests. The
  index copies ($0.625 per million each) are what the floor of one gate and one audit write
  leaves out, and the distance to the targets: `by_tenant` serves every scoped query and
  `by_time` the change feed and unscoped queries. Closing it means reading one of them from
  elsewhere (e.g. the feed from a DynamoDB Stream of the table), not a smaller index.
- **A chain** pays, per step, the chain record's claim and result (two conditional writes:
  the claim is what keeps two handlers from running one step), the step's audit record and
  its three index copies, and one SQS message; then the completion record. The claim and the
  result in one write would let a redelivered message run a step twice.
- **Step Functions** prices only the orchestration (each step's own Lambda task is extra);
  Express also caps a run at 5 minutes and runs it at least once, not exactly once.
- **Sizes.** Every function links the AWS SDK (its service clients for DynamoDB, SQS,
  Scheduler, SSM, S3, STS and the SNS/SQS/EventBridge/Lambda/S3/SES providers, with their
  runtime, HTTP and TLS stacks) and the generic code instantiated for them: the breakdown
  above is where the bytes go. Each provider type beyond log and webhook is a Cargo
  feature: the second row of each function is a build with none of them, which links no
  SMTP client and no SNS, EventBridge, Lambda or SES client (the S3 and SQS clients stay:
  the functions read their rules and carry their delays with them). What remains is the
  SDK's runtime with the DynamoDB, S3, SQS, Scheduler, SSM and STS clients, the rules
  engine with its YAML and regex code, and the HTTP and TLS stacks. `panic = "abort"` would drop
  most unwind tables but turn a panic in one request into a dead instance, so we keep
  unwinding.
- **Cold start with 1,000 rules.** The function sends its first requests at once: the S3
  listing, the compiled artifact and `gateway.toml` (absent here, so a 404), and one SSM
  `GetParameters` for the approval and admin keys. It compiles the artifact as soon as it
  arrives, while the other answers are on their way, and reads no YAML when each rule file's
  listed ETag is the MD5 the artifact recorded. The emulator answers one request at a time,
  so here the start waits for its four requests in a row (the 6-rule start sends one);
  against AWS they overlap, and what the start waits for is the slowest of them plus the
  gateway's assembly. Without the artifact, parsing the YAML is the bulk of the difference
  to the 6-rule start (*Rule evaluation* above measures the load alone)."""


def lambda_cost(ms, requests):
    gb = MEMORY_MB / 1024
    return math.ceil(ms) / 1000 * gb * PRICE["lambda_gb_second_arm64"] + requests * PRICE["lambda_request"]


def requests_of(ops, prefix):
    return sum(v for k, v in ops.items() if k.startswith(prefix))


def per(ops, n):
    return ", ".join(f"{k.split('.', 1)[1]} {v / n:.2f}" for k, v in sorted(ops.items()) if k.startswith(("DynamoDB", "SQS")))


def verdict(total, target):
    return f"≤ {money(target)}: **{'PASS' if total <= target else 'MISS'}**"


def write(report):
    out = ["## Lambda functions (`bench/lambda-run`, against the emulator)", "", INTRO, ""]
    if report["sizes"]:
        out.append("| function | provider types | bootstrap | zip | target |\n|---|---|---|---|---|")
        builds = [("all (default)", report["sizes"]),
                  ("log, webhook (`--no-default-features`)", report.get("sizes_lean") or [])]
        for name in FUNCTIONS:
            for types, rows in builds:
                for row_name, raw, zipped in rows:
                    if row_name == name:
                        ok = "PASS" if raw <= 8e6 and zipped <= 3e6 else "MISS"
                        out.append(f"| `{name}` | {types} | {raw / 2**20:.1f} MiB | {zipped / 2**20:.1f} MiB | ≤ 8 MB / ≤ 3 MB: **{ok}** |")
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
        ok = "PASS" if median <= COLD_START_TARGET_MS else "MISS"
        out.append(f"| {label} | {median:.1f} ms ({best:.1f}) | {rss:.1f} MiB | ≤ {COLD_START_TARGET_MS} ms: **{ok}** |")
    # The absolute times move with the host's load (and the emulator's, which
    # runs beside it); the ratios to the 6-rule start within one run do not.
    base = next(iter(report["cold"].values()))[0]
    ratios = ", ".join(f"{label}: {median / base:.2f}×" for label, (median, _, _) in list(report["cold"].items())[1:])
    out.append(f"\nAgainst the 6-rule start of the same run (medians): {ratios}.")

    # Work per unit, and each unit's cost: measured Lambda time, and estimated.
    rows = []  # (unit, n, ops, wru, rru, measured ms, estimated ms, lambda requests, sqs requests, api)
    for label, (n, ops, wru, rru, seconds, waited) in report["outcomes"].items():
        own = (seconds - waited) * 1000 / n
        trips = requests_of(ops, "DynamoDB") / n + requests_of(ops, "SQS") / n
        rows.append((label, n, ops, wru, rru, seconds * 1000 / n, own + trips * ROUND_TRIP_MS, 1,
                     requests_of(ops, "SQS") / n, 1))
    orders, ops, wru, rru, dispatch_ms = report["dispatch"]
    rows.append(("dispatch starting a chain", orders, ops, wru, rru, dispatch_ms, None, 1,
                 requests_of(ops, "SQS") / orders, 1))
    _, steps, invocations, chain_ops, chain_wru, chain_rru, chain_ms, mapping, chain_waited = report["chains"]
    chain_trips = (requests_of(chain_ops, "DynamoDB") + requests_of(chain_ops, "SQS")) / orders
    chain_own = (chain_ms - chain_waited) / orders
    rows.append(("4-step chain", orders, chain_ops, chain_wru, chain_rru, chain_ms / orders,
                 chain_own + chain_trips * ROUND_TRIP_MS, invocations / orders,
                 requests_of(chain_ops, "SQS") / orders + mapping / orders, 0))

    out.append(f"\n**Work counted by a proxy in front of the emulator** (100 dispatches per outcome without a chain; {orders} orders, each executed and starting a 4-step chain of log-provider steps, whose {steps} steps ran in {invocations} `chain-step` invocations; the chain's SQS count includes the event source mapping's ReceiveMessage and DeleteMessageBatch):\n")
    out.append("| unit | requests per unit | est. WRU (by request) | est. RRU | Lambda time measured | estimated |\n|---|---|---|---|---|---|")
    for unit, n, ops, wru, rru, measured, estimated, *_ in rows:
        est = f"{estimated:.1f} ms" if estimated is not None else "–"
        split = ", ".join(f"{op.split('.')[-1]} {units / n:.1f}" for op, units in
                          sorted(report["wru_by_op"].get(unit, {}).items(), key=lambda kv: -kv[1]))
        out.append(f"| {unit} | {per(ops, n)} | {wru / n:.1f} ({split}) | {rru / n:.1f} | {measured:.1f} ms | {est} |")

    out.append(f"\n**Cost per million** (AWS list prices, us-east-1: Lambda arm64 {MEMORY_MB} MB $0.0000133334/GB-s + $0.20/M requests, billed per started ms; HTTP API $1.00/M; DynamoDB on-demand $0.625/M WRU, $0.125/M RRU; SQS $0.40/M requests; free tiers ignored). The Lambda column uses the estimated time, the measured one in brackets:\n")
    out.append("| unit | DynamoDB | API Gateway | Lambda | SQS | total | target |\n|---|---|---|---|---|---|---|")
    totals = {}
    for unit, n, ops, wru, rru, measured, estimated, lambda_requests, sqs, api in rows:
        dynamodb = wru / n * PRICE["dynamodb_wru"] + rru / n * PRICE["dynamodb_rru"]
        if unit == "4-step chain":
            # Billed per invocation (a batch of up to 10 steps), by the millisecond.
            gb = MEMORY_MB / 1024
            measured_lambda = measured / 1000 * gb * PRICE["lambda_gb_second_arm64"] + lambda_requests * PRICE["lambda_request"]
            estimated_lambda = estimated / 1000 * gb * PRICE["lambda_gb_second_arm64"] + lambda_requests * PRICE["lambda_request"]
        else:
            measured_lambda = lambda_cost(measured, 1)
            estimated_lambda = lambda_cost(estimated, 1) if estimated is not None else measured_lambda
        fixed = dynamodb + api * PRICE["http_api_request"] + sqs * PRICE["sqs_request"]
        total, total_measured = fixed + estimated_lambda, fixed + measured_lambda
        totals[unit] = (total, dynamodb)
        target = COST_TARGETS.get(unit) or (CHAIN_TARGET if unit == "4-step chain" else None)
        out.append(f"| {unit} | {money(dynamodb * 1e6)} | {money(api * PRICE['http_api_request'] * 1e6)} | "
                   f"{money(estimated_lambda * 1e6)} ({money(measured_lambda * 1e6)}) | {money(sqs * PRICE['sqs_request'] * 1e6)} | "
                   f"**{money(total * 1e6)}** ({money(total_measured * 1e6)}) | {verdict(total * 1e6, target) if target else '–'} |")

    out.append("\n**Before and after** (the same script's estimate of write units and DynamoDB cost per unit):\n")
    out.append("| unit | est. WRU before | now | DynamoDB per million before | now |\n|---|---|---|---|---|")
    units = {row[0]: row for row in rows}
    for unit, (wru_before, cost_before) in BEFORE.items():
        _, n, _, wru, _, *_ = units[unit]
        out.append(f"| {unit} | {wru_before:.1f} | {wru / n:.1f} | {money(cost_before)} | {money(totals[unit][1] * 1e6)} |")

    chain_seconds = max(chain_ms / orders / 1000, 0.1)
    standard = 4 * SFN_STANDARD_TRANSITION
    express = SFN_EXPRESS_REQUEST + math.ceil(chain_seconds * 10) / 10 * (64 / 1024) * SFN_EXPRESS_GB_SECOND
    out.append("\n**The same 4-step chain on AWS Step Functions** (orchestration only: each step's own Lambda task comes on top):\n")
    out.append("| orchestrator | per million chains |\n|---|---|")
    out.append(f"| Switchyard (`chain-step`, DynamoDB, SQS; everything) | {money(totals['4-step chain'][0] * 1e6)} |")
    out.append(f"| Step Functions Standard (4 state transitions at $0.025 per 1,000) | {money(standard * 1e6)} |")
    out.append(f"| Step Functions Express ($1.00/M requests + 64 MB for {math.ceil(chain_seconds * 10) / 10:.1f} s) | {money(express * 1e6)} |")
    out.append("")
    out.append(READING)
    text = "\n".join(out) + "\n"
    with open(os.path.join(ROOT, "target", "lambda-bench.md"), "w") as f:
        f.write(text)
    print(text)


# The measurements as JSON, so that `--rewrite` can render the section again
# (after a change to its prose) without measuring again.
REPORT_FILE = os.path.join(ROOT, "target", "lambda-report.json")

if __name__ == "__main__":
    if sys.argv[1:] == ["--rewrite"]:
        with open(REPORT_FILE) as f:
            write(json.load(f))
    else:
        sys.exit(main())
