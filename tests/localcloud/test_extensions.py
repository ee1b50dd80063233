"""The extension hook: a bare `python -m localcloud` serves any AWS app, and an app plugs its pieces in by name."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests

from localcloud import extensions
from localcloud.aws import local_client
from tests.cloud_process import CloudProcess

EXAMPLE = "tests.localcloud.extension_example:Greeter"


def test_a_bare_cloud_serves_aws_and_an_extension_adds_its_admin_routes(tmp_path: Path) -> None:
    cloud = CloudProcess(tmp_path / "cloud", extensions=(EXAMPLE,))
    try:
        base = cloud.endpoint_url
        assert requests.get(f"{base}/_localcloud/health", timeout=5).json() == {"status": "running"}
        greeting = requests.get(f"{base}/_localcloud/greeting?name=ada", timeout=5)
        assert greeting.status_code == 200
        assert greeting.json() == {"hello": cloud.port, "method": "GET", "name": "ada"}
        # Marquee's simulators are Marquee's extension, not the cloud's: a cloud without it has no such route.
        assert requests.get(f"{base}/_localcloud/simulators", timeout=5).status_code == 404
        sqs = local_client("sqs", base)
        assert sqs.create_queue(QueueName="any-app")["QueueUrl"].endswith("/any-app")
    finally:
        assert cloud.stop() == 0
    assert (tmp_path / "cloud" / "greeter-stopped").read_text() == "bye"  # stop() ran on shutdown


@pytest.mark.parametrize("spec", ["no_colon", "json:no_such_attr", "no_such_module_here:Thing", "json:dumps"])
def test_a_bad_extension_name_is_refused_with_its_name(spec: str) -> None:
    with pytest.raises(extensions.ExtensionError, match=spec.split(":")[0]):
        extensions.load(spec)
