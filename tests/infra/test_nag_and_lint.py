from __future__ import annotations

import json

import pytest
from aws_cdk import App, Stack
from aws_cdk import aws_sqs as sqs
from aws_cdk.assertions import Annotations, Match
from cfnlint.api import ManualArgs, lint

from infra.nag import apply_checks


def test_cdk_nag_reports_no_unacknowledged_errors(synthesis) -> None:  # noqa: ANN001
    violations = [
        f"{v['ruleName']} at {c['constructPath']}: {v['description']}"
        for report in synthesis.validation_report["pluginReports"]
        for v in report.get("violations", [])
        if v.get("severity", "error") == "error"
        for c in v["violatingConstructs"]
    ]
    assert synthesis.error is None, synthesis.error
    assert violations == []


def test_cdk_nag_checks_are_live_and_fail_the_synth(tmp_path) -> None:  # noqa: ANN001
    """Canary: the same wiring on a deliberately non-compliant stack must fail synthesis with the rule's name."""
    app = App(outdir=str(tmp_path))
    stack = Stack(app, "Canary")
    sqs.Queue(stack, "PlainQueue")  # no DLQ, no TLS enforcement
    apply_checks(app)
    with pytest.raises(RuntimeError, match="ValidationFailed"):
        app.synth()
    report = json.loads((tmp_path / "validation-report.json").read_text())
    rules = {v["ruleName"] for r in report["pluginReports"] for v in r["violations"]}
    assert {"AwsSolutions-SQS3", "AwsSolutions-SQS4"} <= rules


def test_no_error_annotations(synthesis) -> None:  # noqa: ANN001
    synthesis.require()
    errors = Annotations.from_stack(synthesis.stack).find_error("*", Match.any_value())
    assert [e.entry.data for e in errors] == []


def test_cfn_lint_finds_no_errors(synthesis) -> None:  # noqa: ANN001
    synthesis.require()
    matches = lint(json.dumps(synthesis.template_json), config=ManualArgs(regions=["us-east-1"]))
    errors = [f"{m.rule.id} {m.message} ({'/'.join(map(str, m.path))})" for m in matches if m.rule.id.startswith("E")]
    assert errors == []
