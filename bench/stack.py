"""The stack a bench measures: a running local cloud with the stack deployed (``--endpoint``), or a fresh cloud in a
temporary folder with the stack deployed into it by the real CDK CLI, stopped when the bench ends."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Stack:
    endpoint: str
    outputs: dict[str, Any]
    deploy_seconds: float | None = None  # None: the stack was already deployed

    @property
    def api(self) -> str:
        """The API's base URL on the local cloud (its stage included)."""
        return f"{self.endpoint}/_aws/execute-api/{self.outputs['ApiId']}/{self.outputs['StageName']}"


@contextmanager
def deployed_stack(endpoint: str | None, *, prefix: str, outputs_file: Path | None = None) -> Iterator[Stack]:
    """``endpoint``: that cloud, with ``outputs_file``'s outputs (default: the deploy's under .localcloud). None: a
    fresh cloud (its state in a ``prefix`` temporary folder) and a fresh deploy, the cloud stopped on exit."""
    if endpoint:
        from devkit import state

        outputs = json.loads(outputs_file.read_text())["Marquee"] if outputs_file else state.read_outputs()
        yield Stack(endpoint, outputs)
        return
    from devkit.deploy import deploy
    from tests.cloud_process import CloudProcess

    state_dir = Path(tempfile.mkdtemp(prefix=prefix))
    cloud = CloudProcess(state_dir)
    try:
        written = state_dir / "outputs.json"
        deployed = deploy(cloud.endpoint_url, quiet=True, outputs_file=written, assembly=state_dir / "cdk.out")
        yield Stack(cloud.endpoint_url, json.loads(written.read_text())["Marquee"], deployed.seconds)
    finally:
        cloud.stop()
