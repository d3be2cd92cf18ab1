"""What runs the Lambda functions on one machine needs besides `cargo lambda
watch`: invoking a function through watch's Invoke API, and handing SQS
messages to a function as Lambda's event source mapping does (used by
infra/local_pump.py and tests/lambda_smoke_work.py)."""

import json
import urllib.request


def invoke(port, function, event, timeout=120):
    """The function's answer to `event` (Lambda's Invoke API on `cargo lambda watch`)."""
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/2015-03-31/functions/{function}/invocations",
        data=json.dumps(event).encode(), method="POST",
        headers={"content-type": "application/json"})
    with urllib.request.urlopen(request, timeout=timeout) as answer:
        return json.loads(answer.read() or b"null")


def queue_arn(url):
    return "arn:aws:sqs:us-east-1:000000000000:" + url.rsplit("/", 1)[-1]


def deliver(sqs, port, function, queue_url, wait_seconds):
    """Receive what is visible on a queue and hand it to `function` as one
    SQS batch event; delete what it did not report failed. Returns how many
    messages were handed over."""
    got = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10,
                              WaitTimeSeconds=wait_seconds,
                              AttributeNames=["All"]).get("Messages", [])
    if not got:
        return 0
    records = [{
        "messageId": m["MessageId"], "receiptHandle": m["ReceiptHandle"],
        "body": m["Body"], "attributes": m.get("Attributes", {}),
        "messageAttributes": {}, "md5OfBody": m["MD5OfBody"],
        "eventSource": "aws:sqs", "eventSourceARN": queue_arn(queue_url),
        "awsRegion": "us-east-1"} for m in got]
    answer = invoke(port, function, {"Records": records}) or {}
    failed = {f["itemIdentifier"] for f in answer.get("batchItemFailures", [])}
    for m in got:
        if m["MessageId"] not in failed:
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=m["ReceiptHandle"])
    return len(got)


def function_env(outputs, endpoint, admin_key_parameter):
    """The environment the template gives the functions, from a stack's
    outputs, pointed at the emulator."""
    o = outputs
    return {
        "ADMIN_KEY_HASH_PARAMETER": admin_key_parameter,
        "STATE_TABLE": o["StateTableName"], "AUDIT_TABLE": o["AuditTableName"],
        "CHAIN_QUEUE_URL": o["ChainQueueUrl"], "DELAY_QUEUE_URL": o["DelayQueueUrl"],
        "SCHEDULE_GROUP": o["ScheduleGroupName"], "SCHEDULER_TARGET_ARN": o["SchedulerFunctionArn"],
        "SCHEDULER_ROLE_ARN": o["SchedulerRoleArn"], "SCHEDULER_DLQ_ARN": o["DelayDeadLetterQueueArn"],
        "APPROVAL_SECRET_PARAMETER": o["ApprovalSecretParameter"],
        "AWS_LAMBDA_HTTP_IGNORE_STAGE_IN_PATH": "true",
        "AWS_ENDPOINT_URL": endpoint, "AWS_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "RUST_LOG": "info",
    }


def put_admin_key_hash(endpoint, parameter, key):
    """The SHA-256 of an admin key in SSM, as infra/create-admin-key does on AWS."""
    import hashlib

    import boto3
    ssm = boto3.client("ssm", endpoint_url=endpoint, region_name="us-east-1",
                       aws_access_key_id="test", aws_secret_access_key="test")
    ssm.put_parameter(Name=parameter, Type="SecureString", Overwrite=True,
                      Value=hashlib.sha256(key.encode()).hexdigest())


if __name__ == "__main__":
    # infra/local_lambda.py env OUTPUTS_JSON ENDPOINT PARAMETER KEY
    #   stores the admin key's hash under PARAMETER and prints the env file.
    import sys
    _, command, outputs_path, endpoint, parameter, key = sys.argv
    if command != "env":
        sys.exit(f"unknown command {command}")
    put_admin_key_hash(endpoint, parameter, key)
    for name, value in function_env(json.load(open(outputs_path)), endpoint, parameter).items():
        print(f"{name}={value}")
