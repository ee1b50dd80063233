"""Lambda deployments that shift an alias's traffic over time, watch the group's alarms and roll back.

moto 5.2.5's CodeDeploy records a deployment and leaves it ``Created`` forever; it has no deployment configurations,
no StopDeployment, and answers ``errorInformation``, ``rollbackInfo`` and a group's ``alarmConfiguration`` empty.
:func:`install` (a moto patch, applied when moto's CodeDeploy is imported) adds, for the Lambda compute platform:

- a deployment's run (:class:`TrafficShifter`): the AppSpec's ``AWS::Lambda::Function`` resource names the function,
  alias, ``CurrentVersion`` and ``TargetVersion``; each step of the deployment configuration sets the alias's
  ``RoutingConfig`` (``AdditionalVersionWeights`` {TargetVersion: share}) and, at 100 %, points the alias at the target
  with no routing. Status goes ``Created`` → ``InProgress`` → ``Succeeded`` (CodeDeploy UG, "Deployments on an AWS
  Lambda compute platform");
- alarms: while it runs, the group's enabled alarms are evaluated every tick (localcloud/cloudwatch/alarms.py). One in
  ALARM stops the deployment (``Stopped``, ``errorInformation.code`` ``ALARM_ACTIVE``). With automatic rollback on
  ``DEPLOYMENT_STOP_ON_ALARM`` the alias goes back to ``CurrentVersion`` with no routing, through a rollback
  deployment (``creator`` ``codeDeployRollback``) named in ``rollbackInfo`` (CodeDeploy UG, "Redeploy and roll back a
  deployment with CodeDeploy"); without it the alias is left split, as the UG's troubleshooting page describes;
- StopDeployment (rolled back when ``autoRollbackEnabled`` is true or the group rolls back on
  ``DEPLOYMENT_STOP_ON_REQUEST``), and Create/Get/Delete/ListDeploymentConfigs for custom Lambda configurations.

Modelled on one machine: a configuration's minute lasts ``TrafficShifter.minute_s`` seconds (60 by default; the
local cloud's ``--deploy-minute`` shortens it for drills), alarms are polled every ``tick_s``, and lifecycle hooks
(BeforeAllowTraffic/AfterAllowTraffic) are not run: a deployment that names one fails with ``HOOK_NOT_SUPPORTED``
rather than skip a check silently.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from typing import Any

from localcloud.codedeploy import configs

log = logging.getLogger("localcloud.codedeploy")
FINISHED = ("Succeeded", "Failed", "Stopped")


class DeploymentError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def lambda_target(revision: dict[str, Any]) -> tuple[dict[str, str], dict[str, Any]]:
    """The AppSpec's Lambda resource properties (Name, Alias, CurrentVersion, TargetVersion) and its hooks."""
    kind = revision.get("revisionType")
    content = (revision.get("appSpecContent") or revision.get("string") or {}).get("content")
    if kind not in ("AppSpecContent", "String") or not content:
        raise DeploymentError("INVALID_REVISION", "A Lambda deployment needs an AppSpec (revisionType AppSpecContent)")
    try:
        spec = json.loads(content)
    except ValueError:
        import yaml  # an AppSpec may be YAML; moto's CloudFormation depends on PyYAML

        spec = yaml.safe_load(content)
    for resource in spec.get("Resources") or []:
        for body in resource.values():
            if body.get("Type") == "AWS::Lambda::Function":
                props = {k: str(v) for k, v in (body.get("Properties") or {}).items()}
                missing = {"Name", "Alias", "CurrentVersion", "TargetVersion"} - set(props)
                if missing:
                    raise DeploymentError("INVALID_REVISION", f"The AppSpec's Lambda resource lacks {sorted(missing)}")
                return props, {k: v for h in spec.get("Hooks") or [] for k, v in h.items()}
    raise DeploymentError("INVALID_REVISION", "The AppSpec has no AWS::Lambda::Function resource")


class TrafficShifter:
    """Runs each Lambda deployment in its own thread."""

    def __init__(self, minute_s: float = 60.0, tick_s: float = 1.0) -> None:
        self.minute_s = minute_s
        self.tick_s = tick_s
        self._stop_requests: dict[str, bool] = {}  # deployment id -> roll back
        self._lock = threading.Lock()

    def start(self, backend: Any, deployment: Any) -> None:
        threading.Thread(
            target=self._run, args=(backend, deployment), name=f"codedeploy-{deployment.deployment_id[:8]}", daemon=True
        ).start()

    def request_stop(self, deployment_id: str, rollback: bool) -> None:
        with self._lock:
            self._stop_requests[deployment_id] = rollback

    def wait(self, deployment: Any, timeout: float) -> str:
        end = time.monotonic() + timeout
        while deployment.status not in FINISHED and time.monotonic() < end:
            time.sleep(0.05)
        return str(deployment.status)

    # ---- one deployment -------------------------------------------------------------------------------------------
    def _run(self, backend: Any, deployment: Any) -> None:
        from moto.core.utils import utcnow

        deployment.status = "InProgress"
        deployment.start_time = utcnow()
        deployment.deployment_overview.update({"InProgress": 1})
        try:
            self._shift(backend, deployment)
        except DeploymentError as exc:
            self._finish(deployment, "Failed", exc.code, str(exc))
        except Exception as exc:  # noqa: BLE001 - a bug fails the deployment, never the cloud
            log.exception("deployment %s failed", deployment.deployment_id)
            self._finish(deployment, "Failed", "INTERNAL_ERROR", f"{type(exc).__name__}: {exc}")

    def _shift(self, backend: Any, deployment: Any) -> None:
        target, hooks = lambda_target(deployment.revision)
        if hooks:
            raise DeploymentError(
                "HOOK_NOT_SUPPORTED", f"Lifecycle hooks are not run by the local cloud: {sorted(hooks)}"
            )
        routing = configs.routing_of(backend, str(deployment.deployment_config_name))
        if routing is None:
            raise DeploymentError("DEPLOYMENT_CONFIG_DOES_NOT_EXIST", f"No config {deployment.deployment_config_name}")
        lam = _lambda_backend(backend)
        alias = lam.get_alias(target["Alias"], target["Name"])
        name, current, new = target["Name"], target["CurrentVersion"], target["TargetVersion"]
        lam.get_function(name, new)  # the target version must exist
        if str(alias.function_version) != current:
            raise DeploymentError(
                "INVALID_LAMBDA_CONFIGURATION",
                f"The alias {target['Alias']} points to version {alias.function_version}, not CurrentVersion {current}",
            )
        group = deployment.deployment_group
        for step in configs.steps(routing):
            if step.percent >= 100:
                lam.update_alias(target["Alias"], name, new, alias.description, {})
            else:
                weights = {"AdditionalVersionWeights": {new: round(step.percent / 100, 6)}}
                lam.update_alias(target["Alias"], name, current, alias.description, weights)
            deployment.deployment_status_messages.append(f"{step.percent:g}% of traffic on version {new}")
            end = time.monotonic() + step.wait_minutes * self.minute_s
            while True:
                stop = self._check(backend, deployment, group)
                if stop is not None:
                    code, message, rollback = stop
                    if rollback:
                        lam.update_alias(target["Alias"], name, current, alias.description, {})
                        self._record_rollback(backend, deployment, message)
                    self._finish(deployment, "Stopped", code, message)
                    return
                remaining = end - time.monotonic()
                if remaining <= 0:
                    break
                time.sleep(min(self.tick_s, remaining))
        self._finish(deployment, "Succeeded", None, None)

    def _check(self, backend: Any, deployment: Any, group: Any) -> tuple[str, str, bool] | None:
        """A reason to stop now (error code, message, roll back?), or None."""
        rollback_config = deployment.auto_rollback_configuration or group.auto_rollback_configuration or {}
        events = set(rollback_config.get("events") or []) if rollback_config.get("enabled") else set()
        with self._lock:
            requested = self._stop_requests.pop(deployment.deployment_id, None)
        if requested is not None:
            rollback = requested or "DEPLOYMENT_STOP_ON_REQUEST" in events
            return "MANUAL_STOP", "The deployment was stopped by a user", rollback
        alarm_config = deployment.override_alarm_configuration or group.alarm_configuration or {}
        if isinstance(alarm_config, dict) and alarm_config.get("enabled"):
            from localcloud.cloudwatch import alarms

            names = [a["name"] for a in alarm_config.get("alarms") or []]
            states = alarms.evaluate_named(backend.account_id, backend.region_name, names)
            active = [n for n, s in states.items() if s == "ALARM"]
            if active:
                message = (
                    "One or more alarms have been activated according to the Amazon CloudWatch metrics you "
                    f"selected, and the affected deployments have been stopped. Activated alarms: <{', '.join(active)}>"
                )
                return "ALARM_ACTIVE", message, "DEPLOYMENT_STOP_ON_ALARM" in events
        return None

    def _record_rollback(self, backend: Any, deployment: Any, reason: str) -> None:
        from moto.codedeploy.models import DeploymentInfo
        from moto.core.utils import utcnow

        target, _ = lambda_target(deployment.revision)
        back = {**target, "CurrentVersion": target["TargetVersion"], "TargetVersion": target["CurrentVersion"]}
        appspec = {"version": 0.0, "Resources": [{"rollback": {"Type": "AWS::Lambda::Function", "Properties": back}}]}
        rollback = DeploymentInfo(
            deployment.application,
            deployment.deployment_group,
            {"revisionType": "AppSpecContent", "appSpecContent": {"content": json.dumps(appspec)}},
            "CodeDeployDefault.LambdaAllAtOnce",
            f"Rollback of {deployment.deployment_id}",
            None, None, None, None, None, None,
            "codeDeployRollback",
        )  # fmt: skip
        rollback.status, rollback.start_time, rollback.complete_time = "Succeeded", utcnow(), utcnow()
        rollback.deployment_overview.update({"Succeeded": 1})
        rollback.rollback_info = {"rollbackTriggeringDeploymentId": deployment.deployment_id}  # type: ignore[attr-defined]
        backend.deployments[rollback.deployment_id] = rollback
        deployment.rollback_info = {
            "rollbackDeploymentId": rollback.deployment_id,
            "rollbackMessage": f"Deployment rolled back: {reason}"[:1000],
        }

    @staticmethod
    def _finish(deployment: Any, status: str, code: str | None, message: str | None) -> None:
        from moto.core.utils import utcnow

        if code is not None:
            deployment.error_information = {"code": code, "message": message or ""}
        deployment.complete_time = utcnow()
        deployment.deployment_overview.update({"InProgress": 0, {"Succeeded": "Succeeded"}.get(status, "Failed"): 1})
        deployment.status = status


def _lambda_backend(backend: Any) -> Any:
    from moto.awslambda.models import lambda_backends

    return lambda_backends[backend.account_id][backend.region_name]


SHIFTER = TrafficShifter()
