"""Deploy with the real AWS CDK CLI (npm aws-cdk, pinned to 2.x) onto the local cloud.

The CLI sees an ordinary AWS endpoint: ``AWS_ENDPOINT_URL=http://localhost:<port>`` (the host must be ``localhost``: moto
reads a CloudFormation TemplateURL's host as a bucket name), moto's fixed test credentials, and ``CDK_HOME`` inside the
project, because a shared ~/.cdk caches account ids across projects and breaks bootstrap.
"""

from __future__ import annotations

import os
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from botocore.exceptions import ClientError

from localcloud.aws import local_client
from localcloud.state import ACCOUNT, OUTPUTS_FILE, PROJECT_ROOT, REGION, STACK_NAME

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


def cdk_environment(endpoint_url: str) -> dict[str, str]:
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
            "AWS_REGION": REGION,
            "AWS_DEFAULT_REGION": REGION,
            "CDK_DEFAULT_ACCOUNT": ACCOUNT,
            "CDK_DEFAULT_REGION": REGION,
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


def is_bootstrapped(endpoint_url: str) -> bool:
    ssm = local_client("ssm", endpoint_url)
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


def payment_provider_context(endpoint_url: str) -> list[str]:
    """The simulated payment providers' URLs (localcloud/providers.py: the cloud's port + 1 and + 2) as CDK context."""
    port = urlparse(endpoint_url).port or 4566
    return [
        "-c",
        f"marquee:paymentPrimaryUrl=http://127.0.0.1:{port + 1}",
        "-c",
        f"marquee:paymentSecondaryUrl=http://127.0.0.1:{port + 2}",
    ]


def notification_provider_context(endpoint_url: str) -> list[str]:
    """The simulated notification providers' URLs (localcloud/notification_providers.py: port + 3 .. + 8) as context."""
    from localcloud.notification_providers import provider_urls

    port = urlparse(endpoint_url).port or 4566
    args: list[str] = []
    for name, url in provider_urls(port).items():
        args += ["-c", f"marquee:notificationProvider:{name}={url}"]
    return args


def deploy(
    endpoint_url: str, *, quiet: bool = False, outputs_file: Path = OUTPUTS_FILE, assembly: Path = CLOUD_ASSEMBLY
) -> DeployResult:
    """`cdk bootstrap` once per local cloud lifetime, then `cdk deploy --require-approval never`."""
    started = time.perf_counter()
    env = cdk_environment(endpoint_url)
    cdk = str(cdk_binary())
    bootstrapped = False
    if not is_bootstrapped(endpoint_url):
        _run(
            [cdk, "bootstrap", f"aws://{ACCOUNT}/{REGION}", "-c", "marquee:target=local", "--output", str(assembly)],
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
            *payment_provider_context(endpoint_url),
            *notification_provider_context(endpoint_url),
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
    return DeployResult(time.perf_counter() - started, bootstrapped, outputs_file)
