"""What AWS does around the functions, on one machine (infra/run-local):

- the SQS event source mappings: messages on the chain queue go to
  chain-step, those on the delay queue to scheduler, in batches of 10, and
  only the ones a function did not report failed are deleted;
- EventBridge Scheduler: a one-time schedule (`at(...)`, for delays past
  SQS's 15 minutes) fires at its time, invokes the scheduler function with
  its input, and is deleted (the emulator stores schedules but never fires
  them);
- the reaper's `rate(1 minute)` schedule.

Usage: local_pump.py PORT ENDPOINT OUTPUTS_JSON   (runs until killed)
"""

import datetime
import json
import os
import sys
import time

import boto3

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import local_lambda  # noqa: E402

port, endpoint, outputs_path = sys.argv[1:4]
outputs = json.load(open(outputs_path))
session = boto3.session.Session(aws_access_key_id="test", aws_secret_access_key="test",
                                region_name="us-east-1")
sqs = session.client("sqs", endpoint_url=endpoint)
scheduler = session.client("scheduler", endpoint_url=endpoint)


def say(what):
    print(f"[pump {datetime.datetime.now():%H:%M:%S}] {what}", flush=True)


def due_schedules(now):
    """One-time schedules of the stack's group whose time has come."""
    group = outputs["ScheduleGroupName"]
    for summary in scheduler.list_schedules(GroupName=group).get("Schedules", []):
        schedule = scheduler.get_schedule(Name=summary["Name"], GroupName=group)
        expression = schedule.get("ScheduleExpression", "")
        if not (expression.startswith("at(") and expression.endswith(")")):
            continue
        at = datetime.datetime.fromisoformat(expression[3:-1])
        # Switchyard writes them in UTC (ScheduleExpressionTimezone UTC or unset).
        at = at.replace(tzinfo=datetime.timezone.utc)
        if at <= now:
            yield summary["Name"], schedule["Target"].get("Input", "{}")


def pump():
    last_reap = 0.0
    while True:
        for function, queue in (("chain-step", "ChainQueueUrl"), ("scheduler", "DelayQueueUrl")):
            handed = local_lambda.deliver(sqs, port, function, outputs[queue], 1)
            if handed:
                say(f"{handed} message(s) from {queue[:-3]} to {function}")
        for name, payload in due_schedules(datetime.datetime.now(datetime.timezone.utc)):
            answer = local_lambda.invoke(port, "scheduler", json.loads(payload))
            scheduler.delete_schedule(Name=name, GroupName=outputs["ScheduleGroupName"])
            say(f"schedule {name} fired: {json.dumps(answer)[:120]}")
        if time.time() - last_reap >= 60:
            local_lambda.invoke(port, "reaper", {})
            last_reap = time.time()


if __name__ == "__main__":
    try:
        pump()
    except KeyboardInterrupt:
        pass
