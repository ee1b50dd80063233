"""A local cloud for the parity tests: started once per session on a free loopback port, stopped at the end."""

from __future__ import annotations

import io
import json
import os
import socket
import textwrap
import uuid
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from localcloud.aws import local_client
from localcloud.server import LocalCloud, Settings
from tests.cloud_process import SIMULATORS

ROLE = "arn:aws:iam::123456789012:role/local-test"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCloud]:
    settings = Settings(
        port=free_port(),
        state_dir=tmp_path_factory.mktemp("localcloud"),
        async_retry_delays=(0.2, 0.4),
        quiet=True,
        extensions=[SIMULATORS],  # Marquee's simulated providers, as `marquee cloud up` runs the cloud
        # Aurora PostgreSQL: the embedded engine, or the server LOCALCLOUD_TEST_POSTGRES_URL names.
        postgres_url=os.environ.get("LOCALCLOUD_TEST_POSTGRES_URL") or None,
        # ElastiCache Serverless: a valkey-server per cache, or databases of the server LOCALCLOUD_TEST_REDIS_URL names.
        redis_url=os.environ.get("LOCALCLOUD_TEST_REDIS_URL") or None,
    )
    local = LocalCloud(settings).start()
    yield local
    local.shutdown(deadline_s=5)


@pytest.fixture(scope="session")
def endpoint(cloud: LocalCloud) -> str:
    return cloud.settings.endpoint_url


@pytest.fixture(scope="session")
def aws(endpoint: str) -> Callable[[str], Any]:
    """aws("sqs") -> a boto3 client pointed at the test's local cloud."""
    clients: dict[str, Any] = {}

    def client(service: str) -> Any:
        if service not in clients:
            clients[service] = local_client(service, endpoint)
        return clients[service]

    ensure_role(client)
    return client


TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}


def ensure_role(aws: Callable[[str], Any]) -> None:
    """The functions' role, created if missing. Checked per function, not once per session: an in-process
    ``moto.mock_aws()`` test (test_cfn_fillins) resets moto's backends when it ends, and the session's local cloud
    serves those same in-process backends."""
    try:
        aws("iam").get_role(RoleName="local-test")
    except aws("iam").exceptions.NoSuchEntityException:
        aws("iam").create_role(RoleName="local-test", AssumeRolePolicyDocument=json.dumps(TRUST))


def zip_code(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, source in files.items():
            archive.writestr(name, textwrap.dedent(source))
    return buffer.getvalue()


@pytest.fixture
def make_function(aws: Callable[[str], Any]) -> Callable[..., str]:
    """make_function(source, **config) deploys a Python handler (module `app`, function `handler`); returns its name."""

    def make(source: str, *, name: str | None = None, files: dict[str, str] | None = None, **config: Any) -> str:
        fn_name = name or f"fn-{uuid.uuid4().hex[:10]}"
        ensure_role(aws)
        code = zip_code({"app.py": source, **(files or {})})
        aws("lambda").create_function(
            FunctionName=fn_name,
            Runtime="python3.11",
            Role=ROLE,
            Handler=config.pop("Handler", "app.handler"),
            Code={"ZipFile": code},
            Timeout=config.pop("Timeout", 5),
            **config,
        )
        return fn_name

    return make


def invoke(aws: Callable[[str], Any], name: str, event: Any, **kwargs: Any) -> tuple[dict[str, Any], Any]:
    response = aws("lambda").invoke(FunctionName=name, Payload=json.dumps(event).encode(), **kwargs)
    body = response["Payload"].read()
    return response, json.loads(body) if body else None


def log_messages(aws: Callable[[str], Any], name: str) -> list[str]:
    events = aws("logs").filter_log_events(logGroupName=f"/aws/lambda/{name}")["events"]
    return [e["message"] for e in events]


FIXTURES = Path(__file__).parent / "fixtures"
