"""Infra tests: the CDK app is synthesized ONCE per session (target ``local``: the layer is pip-built for the host
and cached under .cache/layers), then asserted on: template, cdk-nag report, cfn-lint."""

from __future__ import annotations

import os
import shutil
import subprocess


# jsii prints Node end-of-life banners on stderr unless silenced; set before aws_cdk is imported. The end-of-life
# switch wants the Node major version(s) to silence, so name the one installed ("1" alone does not silence it).
def _node_major() -> str:
    node = shutil.which("node")
    if node is None:
        return "1"
    version = subprocess.run([node, "--version"], capture_output=True, text=True, check=False).stdout
    return version.strip().lstrip("v").split(".")[0] or "1"


os.environ["JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION"] = f"1,{_node_major()}"
os.environ["JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION"] = "1"
os.environ["JSII_SILENCE_WARNING_UNTESTED_NODE_VERSION"] = "1"

import json  # noqa: E402
from collections.abc import Iterator  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import pytest  # noqa: E402
from aws_cdk import App, Stack  # noqa: E402
from aws_cdk.assertions import Template  # noqa: E402

from infra import constants  # noqa: E402
from infra.app import build  # noqa: E402


@dataclass(frozen=True)
class Synthesis:
    stack: Stack | None
    outdir: Path
    template: Template | None
    template_json: dict[str, Any]
    error: str | None

    def require(self) -> Template:
        if self.template is None:
            pytest.fail(f"synthesis failed: {self.error}")
        return self.template

    @property
    def validation_report(self) -> dict[str, Any]:
        path = self.outdir / "validation-report.json"
        return json.loads(path.read_text()) if path.exists() else {"pluginReports": []}


@pytest.fixture(scope="session")
def synthesis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Synthesis]:
    outdir = tmp_path_factory.mktemp("cdk.out")
    app = App(context={constants.TARGET_CONTEXT_KEY: constants.TARGET_LOCAL}, outdir=str(outdir))
    stack = build(app)
    try:
        assembly = app.synth()
    except RuntimeError as exc:  # cdk-nag failures surface as a jsii RuntimeError("ValidationFailed: ...")
        yield Synthesis(stack, outdir, None, {}, str(exc))
        return
    template_json = assembly.get_stack_by_name(stack.stack_name).template
    yield Synthesis(stack, outdir, Template.from_json(template_json), template_json, None)


@pytest.fixture(scope="session")
def template(synthesis: Synthesis) -> Template:
    return synthesis.require()


@pytest.fixture(scope="session")
def resources(synthesis: Synthesis) -> dict[str, dict[str, Any]]:
    synthesis.require()
    return synthesis.template_json["Resources"]


def of_type(resources: dict[str, dict[str, Any]], resource_type: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in resources.items() if v["Type"] == resource_type}
