"""The contract deploy's check (devkit/deploy.py ``hold_shape_context``, docs/design/02-zero-downtime-deploys.md):
``marquee deploy --hold-shape-phase contract`` is refused while a hold item still has the old shape."""

from __future__ import annotations

import pytest

from devkit.deploy import DeployFailed, hold_shape_context


def never_counted() -> int:
    raise AssertionError("only a contract deploy counts old-shape holds")


@pytest.mark.parametrize("phase", ["expand", "migrate"])
def test_expand_and_migrate_deploy_without_counting(phase: str) -> None:
    assert hold_shape_context(phase, never_counted) == ["-c", f"marquee:holdShapePhase={phase}"]


def test_no_phase_leaves_the_stacks_default() -> None:
    assert hold_shape_context(None, never_counted) == []


def test_contract_is_refused_while_an_old_shape_hold_remains() -> None:
    with pytest.raises(DeployFailed, match="3 hold item"):
        hold_shape_context("contract", lambda: 3)


@pytest.mark.parametrize("left", [0, None])  # none left, or no stack deployed yet
def test_contract_deploys_once_none_remains(left: int | None) -> None:
    assert hold_shape_context("contract", lambda: left) == ["-c", "marquee:holdShapePhase=contract"]


def test_an_unknown_phase_is_refused() -> None:
    with pytest.raises(DeployFailed, match="expected one of expand, migrate, contract"):
        hold_shape_context("shrink", never_counted)
