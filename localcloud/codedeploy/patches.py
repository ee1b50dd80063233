"""The moto patch behind localcloud/codedeploy/deployments.py (applied when moto's CodeDeploy is imported).

- ``create_deployment``: a deployment of a Lambda application starts its run on the shifter;
- ``StopDeployment``, ``CreateDeploymentConfig``, ``GetDeploymentConfig``, ``DeleteDeploymentConfig`` and
  ``ListDeploymentConfigs`` are added (custom configurations kept on the backend, so moto's reset clears them);
- GetDeployment/BatchGetDeployments answer ``errorInformation`` and ``rollbackInfo``, GetDeploymentGroup its
  ``alarmConfiguration``, which moto leaves empty.
"""

from __future__ import annotations

from typing import Any

from localcloud.codedeploy import configs
from localcloud.codedeploy.deployments import SHIFTER

_installed = {"done": False}


def install() -> None:
    if _installed["done"]:
        return
    _installed["done"] = True
    from moto.codedeploy import models, responses
    from moto.codedeploy.exceptions import DeploymentDoesNotExistException
    from moto.core.exceptions import JsonRESTError
    from moto.core.responses import ActionResult, EmptyResult

    original_create = models.CodeDeployBackend.create_deployment

    def create_deployment(self: Any, *args: Any, **kwargs: Any) -> str:
        deployment_id: str = original_create(self, *args, **kwargs)
        deployment = self.deployments[deployment_id]
        if deployment.application.compute_platform == "Lambda":
            SHIFTER.start(self, deployment)
        return deployment_id

    models.CodeDeployBackend.create_deployment = create_deployment  # type: ignore[method-assign]

    original_info = responses._deployment_info
    original_group_info = responses._deployment_group_info

    def deployment_info(deployment: Any) -> dict[str, Any]:
        info: dict[str, Any] = original_info(deployment)
        info["errorInformation"] = getattr(deployment, "error_information", {})
        info["rollbackInfo"] = getattr(deployment, "rollback_info", {})
        return info

    def deployment_group_info(group: Any) -> dict[str, Any]:
        info: dict[str, Any] = original_group_info(group)
        alarms = group.alarm_configuration
        info["alarmConfiguration"] = alarms if isinstance(alarms, dict) else {}
        return info

    responses._deployment_info = deployment_info  # type: ignore[assignment]
    responses._deployment_group_info = deployment_group_info  # type: ignore[assignment]

    class ConfigExists(JsonRESTError):
        def __init__(self, name: str) -> None:
            super().__init__("DeploymentConfigAlreadyExistsException", f"Deployment config {name} already exists.")

    class ConfigMissing(JsonRESTError):
        def __init__(self, name: str) -> None:
            super().__init__("DeploymentConfigDoesNotExistException", f"Deployment config {name} does not exist.")

    class ConfigInUse(JsonRESTError):
        def __init__(self, name: str) -> None:
            super().__init__("InvalidOperationException", f"{name} is a predefined configuration.")

    def stop_deployment(self: Any) -> ActionResult:
        deployment = self.codedeploy_backend.get_deployment(self._get_param("deploymentId"))
        if deployment.status in ("Succeeded", "Failed", "Stopped"):
            raise DeploymentDoesNotExistException(f"The deployment {deployment.deployment_id} is not in progress.")
        SHIFTER.request_stop(deployment.deployment_id, bool(self._get_param("autoRollbackEnabled")))
        return ActionResult({"status": "Pending", "statusMessage": "Stop request is pending"})

    def create_deployment_config(self: Any) -> ActionResult:
        name = self._get_param("deploymentConfigName")
        store = _configs(self.codedeploy_backend)
        if name in store or name in configs.PREDEFINED:
            raise ConfigExists(name)
        store[name] = {
            "deploymentConfigName": name,
            "deploymentConfigId": f"{len(store) + 1:08d}-local",
            "computePlatform": self._get_param("computePlatform") or "Server",
            "trafficRoutingConfig": self._get_param("trafficRoutingConfig") or {"type": "AllAtOnce"},
        }
        return ActionResult({"deploymentConfigId": store[name]["deploymentConfigId"]})

    def get_deployment_config(self: Any) -> ActionResult:
        name = self._get_param("deploymentConfigName")
        if name in configs.PREDEFINED:
            info = {"deploymentConfigName": name, "computePlatform": "Lambda"}
            return ActionResult({"deploymentConfigInfo": {**info, "trafficRoutingConfig": configs.PREDEFINED[name]}})
        store = _configs(self.codedeploy_backend)
        if name not in store:
            raise ConfigMissing(name)
        return ActionResult({"deploymentConfigInfo": store[name]})

    def delete_deployment_config(self: Any) -> EmptyResult:
        name = self._get_param("deploymentConfigName")
        if name in configs.PREDEFINED:
            raise ConfigInUse(name)
        _configs(self.codedeploy_backend).pop(name, None)
        return EmptyResult()

    def list_deployment_configs(self: Any) -> ActionResult:
        names = [*configs.PREDEFINED, *_configs(self.codedeploy_backend)]
        return ActionResult({"deploymentConfigsList": names})

    for method in (
        stop_deployment,
        create_deployment_config,
        get_deployment_config,
        delete_deployment_config,
        list_deployment_configs,
    ):
        setattr(responses.CodeDeployResponse, method.__name__, method)


def _configs(backend: Any) -> dict[str, dict[str, Any]]:
    if not hasattr(backend, "lambda_deployment_configs"):
        backend.lambda_deployment_configs = {}
    store: dict[str, dict[str, Any]] = backend.lambda_deployment_configs
    return store
