"""Real work for the Lambda smoke test (tests/lambda-smoke).

The sample events only prove that each function parses its event. Here the
scheduler and chain-step functions get messages that the dispatch function
itself put on the stack's queues, and their effect is checked through the
API:

- a recurring action firing every minute (UTC, so at any hour of the run):
  its first tick arrives on the delay queue within a minute; the scheduler
  handles it and the action's fire_count becomes 1;
- an order: in New York business hours it executes and starts the
  order-processing chain; outside them it is Scheduled for 30 s, and the
  scheduler releases it from the delay queue first. Either way the chain's
  first step message reaches chain-step, which runs the step.

Usage: lambda_smoke_work.py PORT ENDPOINT OUTPUTS_JSON ADMIN_KEY TEMPLATE_EVENT
"""

import json
import os
import sys
import time
import uuid

import boto3

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "infra"))
import local_lambda  # noqa: E402

port, endpoint, outputs_path, admin_key, template_path = sys.argv[1:6]
outputs = json.load(open(outputs_path))
template = json.load(open(template_path))
sqs = boto3.client("sqs", endpoint_url=endpoint, region_name="us-east-1",
                   aws_access_key_id="test", aws_secret_access_key="test")


def invoke(function, event):
    try:
        return local_lambda.invoke(port, function, event)
    except Exception as e:  # noqa: BLE001 - any failure fails the smoke test
        sys.exit(f"FAIL invoke {function}: {e}")


def api(method, path, body=None, query=""):
    """An HTTP API v2 event for the dispatch function, with the admin key."""
    event = json.loads(json.dumps(template))
    event["rawPath"] = path
    event["rawQueryString"] = query
    event["requestContext"]["http"]["method"] = method
    event["requestContext"]["http"]["path"] = path
    event["pathParameters"] = {"proxy": path.lstrip("/")}
    event["queryStringParameters"] = dict(
        kv.split("=", 1) for kv in query.split("&") if kv) or None
    event["headers"]["x-api-key"] = admin_key
    event["body"] = json.dumps(body) if body is not None else None
    answer = invoke("dispatch", event)
    return answer["statusCode"], json.loads(answer.get("body") or "null")


def deliver(function, queue_url, wait_seconds):
    return local_lambda.deliver(sqs, port, function, queue_url, wait_seconds)


def ok(what):
    print(f"ok   {what}")


run = uuid.uuid4().hex[:8]
scope = "namespace=ecommerce&tenant=acme-store"

status, recurring = api("POST", "/v1/recurring", {
    "namespace": "ecommerce", "tenant": "acme-store", "cron_expression": "* * * * *",
    "timezone": "UTC", "provider": "warehouse", "action_type": "stock_check",
    "payload": {"run": run}})
if status != 201 and status != 200:
    sys.exit(f"FAIL create recurring: {status} {recurring}")
recurring_id = recurring["id"]

order_id = f"smoke-{run}"
status, outcome = api("POST", "/v1/dispatch", {
    "id": order_id, "namespace": "ecommerce", "tenant": "acme-store",
    "provider": "payment-gateway", "action_type": "place_order",
    "dedup_key": f"order-{run}",
    "payload": {"order_id": f"ORD-{run}", "total_cents": 4999, "shipping_country": "US"}})
if status != 200 or not ({"Executed", "Scheduled"} & set(outcome)):
    sys.exit(f"FAIL dispatch an order: {status} {outcome}")
scheduled = "Scheduled" in outcome
ok(f"dispatch: an order {'scheduled (after hours)' if scheduled else 'executed'}")


def fired():
    _, r = api("GET", f"/v1/recurring/{recurring_id}", query=scope)
    return (r or {}).get("fire_count", 0) >= 1


def released():
    _, r = api("GET", f"/v1/audit/{order_id}", query=scope)
    return (r or {}).get("outcome") == "executed"


# The scheduler: the recurring tick (and the scheduled order) from the delay queue.
deadline = time.time() + 90
while time.time() < deadline and not (fired() and (not scheduled or released())):
    deliver("scheduler", outputs["DelayQueueUrl"], 5)
if not fired():
    sys.exit("FAIL scheduler: the recurring tick never fired")
ok("scheduler: a recurring tick from the delay queue fired (fire_count 1)")
if scheduled:
    if not released():
        sys.exit("FAIL scheduler: the scheduled order was not released")
    ok("scheduler: the scheduled order released and executed")

# chain-step: the order's chain runs its first step.
chain = f"order-processing-{order_id}"


def first_step_done():
    _, c = api("GET", f"/v1/chains/{chain}", query=scope)
    steps = (c or {}).get("steps") or []
    return bool(steps) and steps[0].get("status") == "completed"


deadline = time.time() + 60
while time.time() < deadline and not first_step_done():
    deliver("chain-step", outputs["ChainQueueUrl"], 2)
if not first_step_done():
    _, c = api("GET", f"/v1/chains/{chain}", query=scope)
    sys.exit(f"FAIL chain-step: the first step did not run: {c}")
ok("chain-step: the order's first chain step ran from the chain queue")
