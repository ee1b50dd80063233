"""Deploy with the real AWS CDK CLI (npm aws-cdk, pinned to 2.x) onto the local cloud.

The CLI sees an ordinary AWS endpoint: ``AWS_ENDPOINT_URL=http://localhost:<port>`` (the host must be ``localhost``: moto
reads a CloudFormation TemplateURL's host as a bucket name), moto's fixed test credentials, and ``CDK_HOME`` inside the
project, because a shared ~/.cdk caches account ids across projects and breaks bootstrap.

The simulated providers' URLs come from the running cloud (``GET /_localcloud/simulators``: the OS picks their ports),
so a deploy works for any cloud, whatever its port or state folder.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from botocore.exceptions import ClientError

from devkit.state import ACCOUNT, OUTPUTS_FILE, PROJECT_ROOT, REGION, STACK_NAME
from localcloud.aws import local_client

BOOTSTRAP_QUALIFIER = "hnb659fds"
# The local cloud's deploys synthesize into their own folder, so a `cdk synth` elsewhere never races them.
CLOUD_ASSEMBLY = PROJECT_ROOT / ".localcloud" / "cdk.out"
QUIET_NODE = {
    "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
    "JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION": "1",
    "JSII_SILENCE_WARNING_UNTESTED_NODE_VERSION": "1",
    "JSII_SILENCE_WARNING_KNOWN_BROKEN_NODE_VERSION": "1",
    "CDK_DISABLE_VERSION_CHECK": "1",
    "CDK_DISABLE_CLI_TELEMETRY": "1",
    "NODE_NO_WARNINGS": "1",
}


class DeployFailed(Exception):
    pass


@dataclass
class DeployResult:
    seconds: float
    bootstrapped: bool
    outputs_file: Path
    migrations: dict[str, object] | None = None


MIGRATE_OUTPUT = "MigrateFunctionName"


def migrate(endpoint_url: str, outputs_file: Path, region: str = REGION) -> dict[str, object]:
    """Invoke the deployed migrate function (after every deploy): the versioned SQL is applied under an advisory lock,
    so a second run applies nothing. On AWS the same invoke is the post-deploy step (docs/patterns/14)."""
    outputs = json.loads(outputs_file.read_text()).get(STACK_NAME, {})
    name = outputs.get(MIGRATE_OUTPUT)
    if not name:
        raise DeployFailed(f"the stack has no {MIGRATE_OUTPUT} output")
    response = local_client("lambda", endpoint_url, region=region).invoke(FunctionName=name, Payload=b"{}")
    payload = json.loads(response["Payload"].read() or b"null")
    if response.get("FunctionError"):
        raise DeployFailed(f"the migrations failed: {payload}")
    return dict(payload)


def outputs_file_for(region: str) -> Path:
    """Each region's stack outputs in their own file: the home region's keeps its name (every tool reads it)."""
    return OUTPUTS_FILE if region == REGION else OUTPUTS_FILE.with_name(f"outputs-{region}.json")


def cdk_environment(endpoint_url: str, region: str = REGION) -> dict[str, str]:
    """The CDK CLI's environment. The app is environment-agnostic: the region comes from here alone, so the same app
    deploys to any region of the cloud (one stack named Marquee per region, as CloudFormation names are regional)."""
    env = dict(os.environ)
    env.update(QUIET_NODE)
    env.update(
        {
            "AWS_ENDPOINT_URL": endpoint_url,
            # S3 by IP: the SDK then addresses buckets path-style (bucket.localhost does not resolve everywhere),
            # while CloudFormation keeps "localhost" (moto reads a TemplateURL's host as a bucket name otherwise).
            "AWS_ENDPOINT_URL_S3": endpoint_url.replace("//localhost:", "//127.0.0.1:"),
            "AWS_ACCESS_KEY_ID": "test",
            "AWS_SECRET_ACCESS_KEY": "test",
            "AWS_REGION": region,
            "AWS_DEFAULT_REGION": region,
            "CDK_DEFAULT_ACCOUNT": ACCOUNT,
            "CDK_DEFAULT_REGION": region,
            "CDK_HOME": str(PROJECT_ROOT / ".cdk"),
        }
    )
    env.pop("AWS_PROFILE", None)
    env.pop("AWS_SESSION_TOKEN", None)
    return env


def cdk_binary() -> Path:
    binary = PROJECT_ROOT / "node_modules" / ".bin" / "cdk"
    if not binary.exists():
        raise DeployFailed("The CDK CLI is not installed: run `make setup` (npm install of the pinned aws-cdk 2.x).")
    return binary


def is_bootstrapped(endpoint_url: str, region: str = REGION) -> bool:
    ssm = local_client("ssm", endpoint_url, region=region)
    try:
        ssm.get_parameter(Name=f"/cdk-bootstrap/{BOOTSTRAP_QUALIFIER}/version")
    except ClientError:
        return False
    return True


def _run(args: list[str], env: dict[str, str], quiet: bool) -> None:
    result = subprocess.run(args, cwd=PROJECT_ROOT, env=env, capture_output=quiet, text=True, check=False)
    if result.returncode != 0:
        detail = (result.stderr or result.stdout or "")[-4000:] if quiet else ""
        raise DeployFailed(
            f"`{' '.join(Path(a).name if i == 0 else a for i, a in enumerate(args))}` failed (exit {result.returncode})\n{detail}"
        )


# CDK context the stack reads (infra/constants.py): the simulated providers' URLs, and the cloud's endpoint for the
# output LocalApiUrl.
PAYMENT_URL_CONTEXT = {"primary": "marquee:paymentPrimaryUrl", "secondary": "marquee:paymentSecondaryUrl"}
NOTIFICATION_URL_CONTEXT_PREFIX = "marquee:notificationProvider:"
LOCAL_ENDPOINT_CONTEXT = "marquee:localEndpoint"


def simulator_context(endpoint_url: str) -> list[str]:
    """The running cloud's simulated providers (their ports come from the OS) as CDK context: asked over HTTP.

    The simulators come with Marquee's extension of the cloud (devkit/simulators.py): a bare `python -m localcloud`
    has none, and the deploy says so.
    """
    import requests

    from devkit.state import fetch_simulators

    try:
        simulators = fetch_simulators(endpoint_url)
    except requests.HTTPError as exc:
        raise DeployFailed(
            f"the cloud at {endpoint_url} does not report its simulated providers ({exc}): is it this project's "
            "local cloud, of this version, with its extension? Restart it with `marquee cloud down` and "
            "`marquee cloud up --detach`."
        ) from exc
    except requests.RequestException as exc:
        raise DeployFailed(f"no local cloud answers at {endpoint_url} ({type(exc).__name__}): start one first") from exc
    args: list[str] = []
    for name, url in simulators.get("payment", {}).items():
        if name in PAYMENT_URL_CONTEXT:
            args += ["-c", f"{PAYMENT_URL_CONTEXT[name]}={url}"]
    for name, url in simulators.get("notification", {}).items():
        args += ["-c", f"{NOTIFICATION_URL_CONTEXT_PREFIX}{name}={url}"]
    return args


def local_endpoint_context(endpoint_url: str) -> list[str]:
    """The cloud's endpoint as CDK context: the stack then outputs ``LocalApiUrl`` (the API on this cloud)."""
    return ["-c", f"{LOCAL_ENDPOINT_CONTEXT}={endpoint_url.rstrip('/')}"]


# Multi-region (design question 1, infra/constants.py): the regions, and the replica stream a non-home region's stack
# reads (its label exists only once the home region's deploy made the replica).
REGIONS_CONTEXT = "marquee:regions"
MAIN_TABLE_STREAM_ARN_CONTEXT = "marquee:mainTableStreamArn"
# Services whose routes API Gateway answers with the maintenance 503 (infra/constants.py, design question 9).
MOCK_SERVICES_CONTEXT = "marquee:mockServices"
GLOBAL_TABLE_NAME = "marquee-main"


def regions_context(endpoint_url: str, region: str, regions: tuple[str, ...] | None) -> list[str]:
    """``-c marquee:regions=...`` and, outside the home region (the first), the main table's replica stream ARN there:
    looked up with DescribeTable, as a CDK context lookup would (deploy the home region first)."""
    if not regions:
        return []
    if region not in regions:
        raise DeployFailed(f"region {region} is not one of the deploy's regions {', '.join(regions)}")
    args = ["-c", f"{REGIONS_CONTEXT}={','.join(regions)}"]
    if region != regions[0]:
        try:
            table = local_client("dynamodb", endpoint_url, region=region).describe_table(TableName=GLOBAL_TABLE_NAME)
        except ClientError as exc:
            raise DeployFailed(
                f"no replica of {GLOBAL_TABLE_NAME} in {region} ({exc.response['Error']['Code']}): deploy the home "
                f"region {regions[0]} first, it creates the replicas"
            ) from exc
        args += ["-c", f"{MAIN_TABLE_STREAM_ARN_CONTEXT}={table['Table']['LatestStreamArn']}"]
    return args


# Expand and contract (design question 2, infra/hold_shape.py): the hold item's shape phase to deploy.
HOLD_SHAPE_PHASE_CONTEXT = "marquee:holdShapePhase"
HOLD_SHAPE_PHASES = ("expand", "migrate", "contract")


def hold_shape_context(phase: str | None, old_holds: Callable[[], int | None]) -> list[str]:
    """``-c marquee:holdShapePhase=PHASE``. A ``contract`` deploy is refused while ``old_holds()`` counts any hold
    still in the old shape (None: no stack deployed yet, nothing to count): run ``marquee migrate-items holds``."""
    if phase is None:
        return []
    if phase not in HOLD_SHAPE_PHASES:
        raise DeployFailed(f"hold shape phase {phase!r}: expected one of {', '.join(HOLD_SHAPE_PHASES)}")
    if phase == "contract":
        left = old_holds()
        if left:
            raise DeployFailed(
                f"{left} hold item(s) still have the old seats list: a contract deploy would refuse them; run "
                "`marquee migrate-items holds` first"
            )
    return ["-c", f"{HOLD_SHAPE_PHASE_CONTEXT}={phase}"]


def _old_holds(endpoint_url: str, outputs_file: Path, region: str) -> int | None:
    if not outputs_file.exists():
        return None
    outputs = json.loads(outputs_file.read_text()).get(STACK_NAME, {})
    if not outputs:
        return None
    from devkit.migrate_items import count_old_holds

    return count_old_holds(endpoint_url, outputs, region=region)


def deploy(
    endpoint_url: str,
    *,
    quiet: bool = False,
    outputs_file: Path | None = None,
    assembly: Path = CLOUD_ASSEMBLY,
    region: str = REGION,
    regions: tuple[str, ...] | None = None,
    mock_services: tuple[str, ...] = (),
    hold_shape_phase: str | None = None,
) -> DeployResult:
    """`cdk bootstrap` once per local cloud lifetime and region, then `cdk deploy --require-approval never`.

    ``regions`` (home first) deploys the stack as one regional cell of a multi-region pair (design question 1).
    ``mock_services`` deploys those services' routes as MOCK maintenance answers (``marquee:mockServices``, design
    question 9: for a function that cannot run); a deploy without it routes them to their functions again.
    ``hold_shape_phase`` deploys that phase of the hold item's shape change (``hold_shape_context``)."""
    started = time.perf_counter()
    outputs_file = outputs_file or outputs_file_for(region)
    env = cdk_environment(endpoint_url, region)
    cdk = str(cdk_binary())
    bootstrapped = False
    if not is_bootstrapped(endpoint_url, region):
        _run(
            [cdk, "bootstrap", f"aws://{ACCOUNT}/{region}", "-c", "marquee:target=local", "--output", str(assembly)],
            env,
            quiet,
        )
        bootstrapped = True
    outputs_file.parent.mkdir(parents=True, exist_ok=True)
    _run(
        [
            cdk,
            "deploy",
            STACK_NAME,
            "--require-approval",
            "never",
            "-c",
            "marquee:target=local",
            *simulator_context(endpoint_url),
            *local_endpoint_context(endpoint_url),
            *regions_context(endpoint_url, region, regions),
            *(["-c", f"{MOCK_SERVICES_CONTEXT}={','.join(mock_services)}"] if mock_services else []),
            *hold_shape_context(hold_shape_phase, lambda: _old_holds(endpoint_url, outputs_file, region)),
            "--outputs-file",
            str(outputs_file),
            "--output",
            str(assembly),
            "--progress",
            "events",
        ],
        env,
        quiet,
    )
    migrations = migrate(endpoint_url, outputs_file, region)
    if not quiet:
        print(f"migrations: applied {migrations.get('applied')}, already applied {migrations.get('already')}")
    from devkit.contracts import publish  # the event schemas, into the schema registry (a version per change)

    schemas = publish(local_client("schemas", endpoint_url, region=region))
    if not quiet:
        print(f"event schemas: {sorted(n for n, s in schemas.items() if s['action'] != 'unchanged') or 'unchanged'}")
    return DeployResult(time.perf_counter() - started, bootstrapped, outputs_file, migrations)
