"""Deploy infra/template.yaml to an AWS emulator (moto or LocalStack).

What `sam package && sam deploy` does on AWS, done here with boto3 against the
emulator's endpoint:
  1. the approval secret exists in SSM Parameter Store (created once, random);
  2. "package": every function's CodeUri (the workspace) becomes an S3 zip in
     an artifacts bucket: the cargo-lambda build (target/lambda/<fn>/bootstrap)
     when there is one, else a placeholder (the emulator cannot run Lambda code
     either way; tests run the handlers as local processes);
  3. translate SAM to plain CloudFormation (aws-sam-translator, what the
     AWS::Serverless transform runs on AWS); create or update the stack, wait for it, print its outputs as JSON.
Then it says which resources the emulator accepted without building them.
"""
import argparse
import hashlib
import io
import json
import os
import secrets
import sys
import time
import zipfile

import boto3
import yaml
from botocore.exceptions import ClientError
from samtranslator.translator.managed_policy_translator import ManagedPolicyLoader
from samtranslator.translator.transform import transform

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def log(message: str) -> None:
    print(message, file=sys.stderr)


def package(template: dict, s3, bucket: str) -> dict:
    """Replace each function's CodeUri with an uploaded zip (`sam package`)."""
    try:
        s3.create_bucket(Bucket=bucket)
    except ClientError as err:
        if err.response["Error"]["Code"] not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
            raise
    template.get("Globals", {}).get("Function", {}).pop("CodeUri", None)
    for name, resource in template["Resources"].items():
        if resource.get("Type") != "AWS::Serverless::Function":
            continue
        binary = resource["Metadata"]["BuildProperties"]["Binary"]
        built = os.path.join(ROOT, "target", "lambda", binary, "bootstrap")
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            if os.path.exists(built):
                archive.write(built, "bootstrap")
                source = built
            else:
                archive.writestr("bootstrap", "#!/bin/sh\necho 'placeholder: build with cargo lambda build --release --arm64' >&2\nexit 1\n")
                source = "placeholder (no cargo lambda build found)"
        key = f"{binary}.zip"
        s3.put_object(Bucket=bucket, Key=key, Body=buffer.getvalue())
        resource["Properties"]["CodeUri"] = f"s3://{bucket}/{key}"
        log(f"  {name}: {source} -> s3://{bucket}/{key}")
    return template


def ensure_secret(ssm, name: str) -> None:
    try:
        ssm.get_parameter(Name=name)
    except ClientError as err:
        if err.response["Error"]["Code"] != "ParameterNotFound":
            raise
        try:
            ssm.put_parameter(Name=name, Type="SecureString", Value=secrets.token_hex(32))
            log(f"  created SecureString {name}")
        except ClientError as race:
            # Another deploy (tests deploy stacks in parallel) created it first.
            if race.response["Error"]["Code"] != "ParameterAlreadyExists":
                raise


def ensure_admin_key(ssm, name: str) -> None:
    """The first admin key: its SHA-256 in SSM, the key itself shown once."""
    try:
        ssm.get_parameter(Name=name)
        return
    except ClientError as err:
        if err.response["Error"]["Code"] != "ParameterNotFound":
            raise
    key = "syk_admin_" + secrets.token_hex(32)
    digest = hashlib.sha256(key.encode()).hexdigest()
    try:
        ssm.put_parameter(Name=name, Type="SecureString", Value=digest)
    except ClientError as race:
        if race.response["Error"]["Code"] == "ParameterAlreadyExists":
            return
        raise
    log(f"  created SecureString {name} (SHA-256 of a new admin key)")
    log(f"  admin API key, shown once, keep it: {key}")


def deploy(cfn, stack: str, body: str, parameters: dict) -> None:
    params = [{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()]
    caps = ["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"]
    try:
        cfn.describe_stacks(StackName=stack)
        exists = True
    except ClientError:
        exists = False
    if exists:
        try:
            cfn.update_stack(StackName=stack, TemplateBody=body, Parameters=params, Capabilities=caps)
        except ClientError as err:
            if "No updates" not in str(err):
                raise
    else:
        cfn.create_stack(StackName=stack, TemplateBody=body, Parameters=params, Capabilities=caps)
    for _ in range(240):
        status = cfn.describe_stacks(StackName=stack)["Stacks"][0]["StackStatus"]
        if status.endswith("_COMPLETE") and "ROLLBACK" not in status:
            return
        if "FAILED" in status or "ROLLBACK" in status:
            events = cfn.describe_stack_events(StackName=stack)["StackEvents"]
            reasons = [f"{e['LogicalResourceId']}: {e.get('ResourceStatusReason')}" for e in events if "FAILED" in e["ResourceStatus"]]
            raise SystemExit(f"stack {stack} ended in {status}: {reasons}")
        time.sleep(0.5)
    raise SystemExit(f"stack {stack} did not finish within 2 minutes")


def fill_gaps(client, stack: str, outputs: dict, keep_event_sources: bool) -> None:
    """Build, through the service APIs, what the emulator accepted in the
    template but did not create, and say so; name what cannot be built."""
    cfn = client("cloudformation")
    resources = {
        r["LogicalResourceId"]: r
        for r in cfn.list_stack_resources(StackName=stack)["StackResourceSummaries"]
    }
    missing = lambda logical: not resources.get(logical, {}).get("PhysicalResourceId")  # noqa: E731
    scheduler = client("scheduler")
    group = stack  # the template names the group after the stack
    if missing("ScheduleGroup"):
        try:
            scheduler.create_schedule_group(Name=group)
        except ClientError as err:
            if err.response["Error"]["Code"] != "ConflictException":
                raise
        log(f"  ScheduleGroup: not built by the emulator; created schedule group {group} via the Scheduler API")
    outputs.setdefault("ScheduleGroupName", group)
    if missing("ReaperSchedule"):
        reaper = client("lambda").get_function(FunctionName=f"{stack}-reaper")["Configuration"]["FunctionArn"]
        try:
            scheduler.create_schedule(
                Name=f"{stack}-reaper",
                GroupName=group,
                ScheduleExpression="rate(1 minute)",
                FlexibleTimeWindow={"Mode": "OFF"},
                Target={"Arn": reaper, "RoleArn": outputs["SchedulerRoleArn"], "Input": '{"task":"reap"}'},
            )
        except ClientError as err:
            if err.response["Error"]["Code"] != "ConflictException":
                raise
        log("  ReaperSchedule: not built by the emulator; created via the Scheduler API (stored, never fired: tests invoke the reaper)")
    if "${" in outputs.get("ApiUrl", "${"):
        outputs.pop("ApiUrl", None)
        log("  HttpApi: accepted but not built by the emulator (tests serve the dispatch function's router locally)")
    log("  Lambda functions: created, but the emulator cannot run their code (tests run the")
    log("    handlers locally)")
    if not keep_event_sources:
        # moto's mapping receives each message, fails to start the function
        # (no Docker) and so eats deliveries the redrive policy counts.
        lam = client("lambda")
        for name in (f"{stack}-chain-step", f"{stack}-scheduler"):
            for mapping in lam.list_event_source_mappings(FunctionName=name)["EventSourceMappings"]:
                lam.update_event_source_mapping(UUID=mapping["UUID"], Enabled=False)
                log(f"  {name}: SQS event source mapping disabled (the test harness polls the queue instead)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoint", default=os.environ.get("AWS_ENDPOINT_URL", "http://127.0.0.1:4566"))
    parser.add_argument("--stack", default="switchyard-local")
    parser.add_argument("--region", default=os.environ.get("AWS_DEFAULT_REGION", "us-east-1"))
    parser.add_argument("--stage", default="local")
    parser.add_argument("--outputs", help="also write the outputs JSON to this file")
    parser.add_argument(
        "--keep-event-sources",
        action="store_true",
        help="leave the SQS event source mappings enabled (an emulator that can run the functions)",
    )
    args = parser.parse_args()

    session = boto3.session.Session(
        aws_access_key_id=os.environ.get("AWS_ACCESS_KEY_ID", "test"),
        aws_secret_access_key=os.environ.get("AWS_SECRET_ACCESS_KEY", "test"),
        region_name=args.region,
    )
    client = lambda service: session.client(service, endpoint_url=args.endpoint)  # noqa: E731
    with open(os.path.join(HERE, "template.yaml"), encoding="utf-8") as f:
        template = yaml.safe_load(f)
    secret = template["Parameters"]["ApprovalSecretParameter"]["Default"]
    log(f"deploying {args.stack} to {args.endpoint}")
    ensure_secret(client("ssm"), secret)
    admin_key_hash = template["Parameters"]["AdminKeyHashParameter"]["Default"]
    ensure_admin_key(client("ssm"), admin_key_hash)
    template = package(template, client("s3"), f"{args.stack}-artifacts")
    # CloudFormation applies the SAM transform server-side on AWS; emulators
    # do not, so translate here with the same library (aws-sam-translator).
    # The emulator answers one request at a time and a list or feed read
    # queries every shard: 4 shards keep it quick and still spread the keys.
    parameters = {"Stage": args.stage, "StateShards": "4", "AuditShards": "4"}
    os.environ.setdefault("AWS_DEFAULT_REGION", args.region)
    translated = transform(template, parameters, ManagedPolicyLoader(client("iam")))
    deploy(client("cloudformation"), args.stack, json.dumps(translated), parameters)
    stack = client("cloudformation").describe_stacks(StackName=args.stack)["Stacks"][0]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
    outputs["_stack"] = args.stack
    outputs["_endpoint"] = args.endpoint
    outputs["_region"] = args.region
    outputs["ApprovalSecretParameter"] = secret
    outputs["AdminKeyHashParameter"] = admin_key_hash
    fill_gaps(client, args.stack, outputs, args.keep_event_sources)
    text = json.dumps(outputs, indent=2, sort_keys=True)
    if args.outputs:
        with open(args.outputs, "w", encoding="utf-8") as f:
            f.write(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
