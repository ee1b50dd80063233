"""e2e: the real CDK CLI deploys the stack onto a local cloud started by the test session; then HTTP and SDK calls."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from devkit.deploy import deploy
from localcloud.aws import local_client
from tests.cloud_process import CloudProcess


@pytest.fixture(scope="session")
def deployed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    state_dir = tmp_path_factory.mktemp("e2e-cloud")
    cloud = CloudProcess(state_dir)
    try:
        outputs_file = state_dir / "outputs.json"
        result = deploy(cloud.endpoint_url, quiet=True, outputs_file=outputs_file, assembly=state_dir / "cdk.out")
        outputs = json.loads(outputs_file.read_text())["Marquee"]
        yield {"endpoint": cloud.endpoint_url, "outputs": outputs, "deploy_seconds": result.seconds, "cloud": cloud}
    finally:
        cloud.stop()


@pytest.fixture(scope="session")
def sdk(deployed: dict[str, Any]) -> Any:
    def client(service: str) -> Any:
        return local_client(service, deployed["endpoint"])

    return client


@pytest.fixture(scope="session")
def api(deployed: dict[str, Any]) -> str:
    outputs = deployed["outputs"]
    return f"{deployed['endpoint']}/_aws/execute-api/{outputs['ApiId']}/{outputs['StageName']}"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if Path(str(item.fspath)).parent.name == "e2e":
            item.add_marker(pytest.mark.e2e)
