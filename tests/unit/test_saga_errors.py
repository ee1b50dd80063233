"""The order saga's Retry/Catch rules name Python exception classes as strings (Lambda's ``errorType`` is the raised
exception's class ``__name__``, and Step Functions matches it exactly: a subclass does NOT match its base's name).
This test ties the names in statemachines/order_saga.asl.json to the classes the step functions can raise:

- every ``ErrorEquals`` name that is not an AWS name (``States.*``, ``Lambda.*``, ``Runtime.*``, ``Sandbox.*``) is the
  ``__name__`` of an exception class raised by the saga's code (functions/order_saga/ and the layer modules it
  imports, transitively) or by the AWS SDK (botocore) that code calls;
- every exception class raised there on purpose is named in some Retry, or is listed in ``NOT_RETRIED`` with the
  reason (the Catch on ``States.ALL`` then compensates, or the error never leaves the layer).

Substituting the names from Python constants (infra/asl.py's ``${Name}`` placeholders) would put a JSON list where the
file holds a string, so the ASL file would no longer be JSON on its own: the names stay in the file and this test
checks them. Source files are read with ``ast`` (a function's modules are never imported here); the layer's modules
are imported to resolve each raised name to its class.
"""

from __future__ import annotations

import ast
import builtins
import importlib
import importlib.util
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import botocore.exceptions

ROOT = Path(__file__).resolve().parents[2]
ASL = ROOT / "statemachines" / "order_saga.asl.json"
SAGA = ROOT / "functions" / "order_saga"
AWS_ERROR_PREFIXES = ("States.", "Lambda.", "Runtime.", "Sandbox.")

# Raised on the saga's code path but named in no Retry, each with the reason. A step's Catch (States.ALL) sends what
# leaves it to compensation; a compensation step retries States.ALL. Keep this list exact: the test fails on an entry
# that is no longer raised, or that a Retry names.
NOT_RETRIED: dict[str, str] = {
    # business outcomes: retrying gives the same answer, the saga compensates (refund, release, mark failed)
    "PaymentDeclined": "business: the card was declined",
    "HoldExpired": "business: the hold's fence moved on (ConflictError's subclass, so the Retry on ConflictError "
    "does not match it)",
    "ShowtimeStarted": "business: sales closed when the showtime started",
    "HoldNotFound": "business: the order's hold is gone",
    "ShowtimeNotFound": "business: the order's showtime is gone",
    # saga bugs: retrying cannot fix them, compensating is the safe end
    "OrderStateConflict": "a step met the order in a state it cannot act on (a saga bug if ever seen)",
    "OrderNotFound": "the step's order does not exist (a saga bug)",
    "IdempotencyKeyReused": "the saga's charge key order:{orderId} always carries the same request (a bug if seen)",
    "ConfigurationError": "the function's environment is invalid (a deploy bug)",
    "RetiredItemShape": "a contract-phase step met an old-shape hold: contract deployed before the backfill (a deploy "
    "bug; marquee migrate-items holds --verify prevents it)",
    "BackfillStuck": "raised only by the backfill's loop, which the saga never runs (hold_shape imports its Shape)",
    "CredentialsUnusable": "the provider's credentials secret is unusable: an operator must fix it",
    "ForbiddenError": "the saga builds its own tenant context from the order (a bug if seen)",
    "TenantClaimError": "the saga builds its own tenant context from the order (a bug if seen)",
    # raised only by RefundPayment, whose Retry is States.ALL
    "ChargeMayBeInFlight": "RefundPayment only: its Retry on States.ALL waits for the charge to settle",
    # caught inside the layer: they never leave a step
    "PaymentNotFound": "RefundPayment catches it (nothing captured: SKIPPED)",
    "PaymentNotRefundable": "RefundPayment catches it (declined: SKIPPED)",
    "BreakerOpen": "marquee.payments.service turns it into ProviderUnavailable",
    "BreakerStoreError": "the breaker catches it and fails open",
    "ProviderNotReached": "marquee.payments.service turns it into ProviderUnavailable",
    "ProviderOutcomeUnknown": "marquee.payments.service turns it into ProviderUnavailable",
    "ProviderDeclined": "marquee.payments.service turns it into PaymentDeclined",
    "NotSent": "the provider client turns it into ProviderNotReached",
    "NoAnswer": "the provider client turns it into ProviderOutcomeUnknown",
    # hold API errors of marquee.booking.seats that the saga's calls (convert_hold, release_sold) do not raise
    "SeatsTaken": "creating a hold only",
    "UnknownSeats": "creating a hold only",
    "HoldNotActive": "releasing a hold by its customer only",
    # tenant sharding's router (marquee.sharding, pattern 9): off in the deployed stack (no SHARD_CONTROL_TABLE_NAME)
    "ShardFenced": "only while a tenant moves between shards, which the deployed stack cannot do yet; once sharding "
    "is wired, a Retry must name it (a retryable fence of under a second)",
    "CrossShardRequest": "a transaction naming several tenants: the saga's are within one tenant (a bug if seen)",
    "MapVersionConflict": "raised by the shard mover's map writes, never by a routed call",
    "_Refused": "the router's own control flow: caught inside marquee.sharding.routing",
}


# ---- the ASL --------------------------------------------------------------------------------------------------------
def _states(states: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for name, state in states.items():
        yield name, state
        for branch in state.get("Branches", []):
            yield from _states(branch["States"])
        for key in ("Iterator", "ItemProcessor"):
            if key in state:
                yield from _states(state[key]["States"])


def _asl_names(kind: str) -> dict[str, set[str]]:
    """``ErrorEquals`` names of every ``kind`` (Retry or Catch) rule, by state."""
    document = json.loads(ASL.read_text())
    return {
        name: {error for rule in state.get(kind, []) for error in rule["ErrorEquals"]}
        for name, state in _states(document["States"])
    }


# ---- what the saga's code raises ------------------------------------------------------------------------------------
def _marquee_imports(tree: ast.Module) -> set[str]:
    modules: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names if alias.name.split(".")[0] == "marquee")
        elif isinstance(node, ast.ImportFrom) and not node.level and (node.module or "").split(".")[0] == "marquee":
            module = str(node.module)
            modules.add(module)
            for alias in node.names:  # ``from marquee.booking import seats``: a module, not a name
                if importlib.util.find_spec(module).submodule_search_locations is not None:  # type: ignore[union-attr]
                    if importlib.util.find_spec(f"{module}.{alias.name}") is not None:
                        modules.add(f"{module}.{alias.name}")
    return modules


def _saga_trees() -> list[ast.Module]:
    return [ast.parse(path.read_text(), filename=str(path)) for path in sorted(SAGA.glob("*.py"))]


def _layer_closure() -> dict[str, ast.Module]:
    """The layer modules the saga imports, transitively: name -> parsed source."""
    seen: dict[str, ast.Module] = {}
    pending = sorted(set().union(*(_marquee_imports(tree) for tree in _saga_trees())))
    while pending:
        module = pending.pop()
        if module in seen:
            continue
        spec = importlib.util.find_spec(module)
        assert spec is not None and spec.origin, module
        seen[module] = tree = ast.parse(Path(spec.origin).read_text(), filename=spec.origin)
        pending.extend(_marquee_imports(tree) - seen.keys())
    return seen


def _raised_names(tree: ast.Module) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Raise) and node.exc is not None:
            target = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
            if isinstance(target, ast.Name):
                names.add(target.id)
            elif isinstance(target, ast.Attribute):
                names.add(target.attr)
    return names


def _raised_exception_classes() -> set[str]:
    """The ``__name__`` of every non-builtin exception class raised by the saga's code (names bound to something else,
    ``raise exc`` or a factory call, are not classes and are skipped)."""
    closure = _layer_closure()
    modules = [importlib.import_module(name) for name in closure]
    classes: set[str] = set()
    for name in set().union(*(_raised_names(tree) for tree in closure.values())):
        found = [getattr(module, name) for module in modules if isinstance(getattr(module, name, None), type)]
        classes.update(c.__name__ for c in found if issubclass(c, BaseException))
    # The saga's own classes: defined in functions/order_saga/, on a base the layer defines.
    local = {
        node.name: [base.id for base in node.bases if isinstance(base, ast.Name)]
        for tree in _saga_trees()
        for node in ast.walk(tree)
        if isinstance(node, ast.ClassDef)
    }
    for name in set().union(*(_raised_names(tree) for tree in _saga_trees())):
        if name in local:
            bases = [getattr(m, b) for b in local[name] for m in modules if isinstance(getattr(m, b, None), type)]
            assert any(issubclass(b, BaseException) for b in bases), f"{name} raised by the saga is no exception"
            classes.add(name)
        else:
            found = [getattr(m, name) for m in modules if isinstance(getattr(m, name, None), type)]
            assert found, f"cannot resolve {name}, raised in functions/order_saga/, to a layer class"
            classes.update(c.__name__ for c in found)
    return {name for name in classes if not hasattr(builtins, name)}


def _sdk_exception(name: str) -> bool:
    value = getattr(botocore.exceptions, name, None)
    return isinstance(value, type) and issubclass(value, Exception)


# ---- the tests --------------------------------------------------------------------------------------------------------
def test_every_python_name_in_the_asl_is_an_exception_the_steps_can_raise() -> None:
    raised = _raised_exception_classes()
    named = set().union(*_asl_names("Retry").values(), *_asl_names("Catch").values())
    python_names = {n for n in named if not n.startswith(AWS_ERROR_PREFIXES)}
    assert python_names, "no Python exception named in the saga's ASL: has the file moved?"
    unknown = sorted(n for n in python_names if n not in raised and not _sdk_exception(n))
    assert not unknown, f"ErrorEquals names no exception the saga's steps raise (renamed? dead?): {unknown}"


def test_every_exception_the_saga_raises_is_retried_or_listed_with_its_reason() -> None:
    raised = _raised_exception_classes()
    retried = set().union(*_asl_names("Retry").values())
    unaccounted = sorted(raised - retried - NOT_RETRIED.keys())
    assert not unaccounted, f"raised on the saga's path, named in no Retry and not in NOT_RETRIED: {unaccounted}"
    assert not NOT_RETRIED.keys() & retried, (
        f"listed as not retried, yet a Retry names them: {NOT_RETRIED.keys() & retried}"
    )
    assert not NOT_RETRIED.keys() - raised, f"NOT_RETRIED lists what nothing raises: {NOT_RETRIED.keys() - raised}"


def test_every_task_ends_in_a_catch_all_and_compensations_retry_everything() -> None:
    """What no Retry names goes to compensation (forward steps) or is retried until it passes (compensations)."""
    catches, retries = _asl_names("Catch"), _asl_names("Retry")
    document = json.loads(ASL.read_text())
    tasks = [name for name, state in _states(document["States"]) if state["Type"] == "Task"]
    assert tasks
    for name in tasks:
        assert "States.ALL" in catches[name], f"{name} has no Catch on States.ALL"
    for name in ("RefundPayment", "ReleaseSeats", "MarkFailed"):
        assert "States.ALL" in retries[name], f"compensation {name} must retry every error"
