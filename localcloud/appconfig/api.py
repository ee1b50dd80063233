"""The AppConfig APIs moto lacks, served by the local cloud on its own port.

moto serves AppConfig's applications, configuration profiles and hosted configuration versions. This module serves, over
the same REST-JSON protocol the AWS SDKs speak, what it lacks (state in ``appconfig_store``):
- AppConfig: ListApplications (moto lacks it), CreateEnvironment, GetEnvironment, ListEnvironments, DeleteEnvironment;
  CreateDeploymentStrategy,
  GetDeploymentStrategy, ListDeploymentStrategies; StartDeployment, GetDeployment, ListDeployments;
- AppConfig Data: StartConfigurationSession and GetLatestConfiguration, the session API Powertools' AppConfigStore uses.

AWS behaviour mirrored (parity tests in tests/localcloud/test_appconfig.py):
- a session starts with an initial token; each GetLatestConfiguration returns the next token and the poll interval;
- the configuration body is returned when it differs from what this session last received, and is EMPTY otherwise;
- a token may be used once: reusing a spent token is a BadRequestException, as is an unknown one;
- deployments complete at once (a strategy's duration and bake time are not played out).
"""

from __future__ import annotations

import json
import re
import secrets
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from localcloud.lambda_.runner import DEFAULT_ACCOUNT

StartResponse = Callable[[str, list[tuple[str, str]]], Any]

APPLICATIONS = re.compile(r"^/applications/?$")
ENVIRONMENTS = re.compile(r"^/applications/(?P<app>[^/]+)/environments/?$")
ENVIRONMENT = re.compile(r"^/applications/(?P<app>[^/]+)/environments/(?P<env>[^/]+)/?$")
DEPLOYMENTS = re.compile(r"^/applications/(?P<app>[^/]+)/environments/(?P<env>[^/]+)/deployments/?$")
DEPLOYMENT = re.compile(r"^/applications/(?P<app>[^/]+)/environments/(?P<env>[^/]+)/deployments/(?P<n>\d+)/?$")
STRATEGIES = re.compile(r"^/deploymentstrategies/?$")
STRATEGY = re.compile(r"^/deploymentstrategies/(?P<id>[^/]+)/?$")
SESSIONS = "/configurationsessions"
CONFIGURATION = "/configuration"
TOKEN_TTL_S = 24 * 3600


class _LazyStore:
    """``localcloud.appconfig.store`` (and moto's AppConfig with it), imported by the first AppConfig request."""

    def __getattr__(self, name: str) -> Any:
        from localcloud.appconfig import store

        return getattr(store, name)


if TYPE_CHECKING:
    from localcloud.appconfig import store as appconfig_store
else:
    appconfig_store = _LazyStore()


class AppConfigApiError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


@dataclass
class _Session:
    application: str
    environment: str
    profile: str
    poll_interval_s: int
    last_version: str | None = None


def handles(path: str, method: str) -> bool:
    """True for the routes this module serves (everything else under /applications is moto's)."""
    if path in (SESSIONS, CONFIGURATION) or (APPLICATIONS.match(path) and method == "GET"):
        return True
    return any(p.match(path) for p in (ENVIRONMENTS, ENVIRONMENT, DEPLOYMENTS, DEPLOYMENT, STRATEGIES, STRATEGY))


class AppConfigApi:
    def __init__(self) -> None:
        self._sessions: dict[str, _Session] = {}
        self._tokens: dict[str, tuple[str, float]] = {}  # token -> (session id, expires at)
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: StartResponse, region: str) -> Iterable[bytes]:
        path, method = environ.get("PATH_INFO", ""), environ.get("REQUEST_METHOD", "GET")
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body: dict[str, Any] = {}
        if length:
            try:
                body = json.loads(environ["wsgi.input"].read(length) or b"{}")
            except ValueError:
                return _error(start_response, AppConfigApiError(400, "BadRequestException", "Malformed JSON body"))
        store = appconfig_store.store(DEFAULT_ACCOUNT, region)
        try:
            if path == SESSIONS and method == "POST":
                return _json(start_response, 201, self._start_session(store, body))
            if path == CONFIGURATION and method == "GET":
                return self._latest(start_response, store, parse_qs(environ.get("QUERY_STRING", "")))
            return _json(start_response, *self._control_plane(store, path, method, body))
        except AppConfigApiError as exc:
            return _error(start_response, exc)
        except appconfig_store.AppConfigResourceNotFound as exc:
            return _error(start_response, AppConfigApiError(404, "ResourceNotFoundException", exc.message))

    # ---- control plane ---------------------------------------------------------------------------------------------
    def _control_plane(
        self, store: appconfig_store.AppConfigStore, path: str, method: str, body: dict[str, Any]
    ) -> tuple[int, dict[str, Any]]:
        if APPLICATIONS.match(path):  # ListApplications: moto 5.2.5 has Create/Get/Update/Delete only
            apps = store._moto.applications.values()
            return 200, {"Items": [{"Id": a.id, "Name": a.name, "Description": a.description} for a in apps]}
        if match := ENVIRONMENTS.match(path):
            if method == "POST":
                env = store.create_environment(
                    match["app"], _required(body, "Name"), body.get("Description"), body.get("Monitors")
                )
                return 201, _environment(env)
            return 200, {"Items": [_environment(e) for e in store.list_environments(match["app"])]}
        if match := ENVIRONMENT.match(path):
            if method == "DELETE":
                store.delete_environment(match["app"], match["env"])
                return 204, {}
            return 200, _environment(store.get_environment(match["app"], match["env"]))
        if match := DEPLOYMENTS.match(path):
            if method == "POST":
                deployment = store.start_deployment(
                    match["app"],
                    match["env"],
                    _required(body, "ConfigurationProfileId"),
                    _required(body, "ConfigurationVersion"),
                    _required(body, "DeploymentStrategyId"),
                    body.get("Description"),
                )
                return 201, _deployment(deployment)
            return 200, {"Items": [_deployment(d) for d in store.list_deployments(match["app"], match["env"])]}
        if match := DEPLOYMENT.match(path):
            for deployment in store.list_deployments(match["app"], match["env"]):
                if deployment.deployment_number == int(match["n"]):
                    return 200, _deployment(deployment)
            raise AppConfigApiError(404, "ResourceNotFoundException", f"Deployment {match['n']} not found")
        if STRATEGIES.match(path):
            if method == "POST":
                strategy = store.create_deployment_strategy(
                    _required(body, "Name"),
                    int(_required(body, "DeploymentDurationInMinutes")),
                    float(_required(body, "GrowthFactor")),
                    body.get("GrowthType", "LINEAR"),
                    int(body.get("FinalBakeTimeInMinutes", 0)),
                    body.get("ReplicateTo", "NONE"),
                    body.get("Description"),
                )
                return 201, _strategy(strategy)
            return 200, {"Items": [_strategy(s) for s in store.strategies.values()]}
        if match := STRATEGY.match(path):
            return 200, _strategy(store.get_deployment_strategy(match["id"]))
        raise AppConfigApiError(404, "ResourceNotFoundException", f"No route for {method} {path}")

    # ---- AppConfig Data --------------------------------------------------------------------------------------------
    def _start_session(self, store: appconfig_store.AppConfigStore, body: dict[str, Any]) -> dict[str, Any]:
        application = _required(body, "ApplicationIdentifier")
        environment = _required(body, "EnvironmentIdentifier")
        profile = _required(body, "ConfigurationProfileIdentifier")
        interval = int(body.get("RequiredMinimumPollIntervalInSeconds", 60))
        if not 15 <= interval <= 86400:
            raise AppConfigApiError(
                400, "BadRequestException", "RequiredMinimumPollIntervalInSeconds must be between 15 and 86400"
            )
        store.deployed_configuration(application, environment, profile)  # validates the identifiers
        session_id = secrets.token_hex(16)
        with self._lock:
            self._sessions[session_id] = _Session(application, environment, profile, interval)
            return {"InitialConfigurationToken": self._issue(session_id)}

    def _issue(self, session_id: str) -> str:
        token = secrets.token_urlsafe(48)
        self._tokens[token] = (session_id, time.time() + TOKEN_TTL_S)
        return token

    def _latest(
        self, start_response: StartResponse, store: appconfig_store.AppConfigStore, query: dict[str, list[str]]
    ) -> Iterable[bytes]:
        token = (query.get("configuration_token") or [""])[0]
        with self._lock:
            entry = self._tokens.pop(token, None)  # a token is spent by its use
            if entry is None or entry[1] < time.time():
                raise AppConfigApiError(400, "BadRequestException", "Invalid or expired configuration token")
            session = self._sessions[entry[0]]
            next_token = self._issue(entry[0])
        hosted = store.deployed_configuration(session.application, session.environment, session.profile)
        headers = [
            ("Next-Poll-Configuration-Token", next_token),
            ("Next-Poll-Interval-In-Seconds", str(session.poll_interval_s)),
        ]
        content = b""
        if hosted is not None:
            version = str(hosted.version)
            headers.append(("Content-Type", hosted.content_type or "application/octet-stream"))
            headers.append(("Version-Label", hosted.version_label or version))
            if version != session.last_version:
                content = hosted.content if isinstance(hosted.content, bytes) else str(hosted.content).encode()
                session.last_version = version
        start_response("200 OK", headers)
        return [content]


def _required(body: dict[str, Any], name: str) -> Any:
    if body.get(name) in (None, ""):
        raise AppConfigApiError(400, "BadRequestException", f"{name} is required")
    return body[name]


def _environment(env: appconfig_store.Environment) -> dict[str, Any]:
    return {
        "ApplicationId": env.application_id,
        "Id": env.id,
        "Name": env.name,
        "Description": env.description,
        "State": env.state,
        "Monitors": env.monitors,
    }


def _strategy(strategy: appconfig_store.DeploymentStrategy) -> dict[str, Any]:
    data = asdict(strategy)
    return {
        "Id": data["id"],
        "Name": data["name"],
        "Description": data["description"],
        "DeploymentDurationInMinutes": data["deployment_duration_in_minutes"],
        "GrowthType": data["growth_type"],
        "GrowthFactor": data["growth_factor"],
        "FinalBakeTimeInMinutes": data["final_bake_time_in_minutes"],
        "ReplicateTo": data["replicate_to"],
    }


def _deployment(deployment: appconfig_store.Deployment) -> dict[str, Any]:
    return {
        "ApplicationId": deployment.application_id,
        "EnvironmentId": deployment.environment_id,
        "DeploymentNumber": deployment.deployment_number,
        "ConfigurationProfileId": deployment.configuration_profile_id,
        "ConfigurationVersion": deployment.configuration_version,
        "DeploymentStrategyId": deployment.deployment_strategy_id,
        "Description": deployment.description,
        "State": deployment.state,
        "PercentageComplete": 100.0,
    }


def _json(start_response: StartResponse, status: int, body: dict[str, Any]) -> list[bytes]:
    reasons = {200: "OK", 201: "Created", 204: "No Content"}
    start_response(f"{status} {reasons.get(status, '')}", [("Content-Type", "application/json")])
    return [b"" if status == 204 else json.dumps(body).encode()]


def _error(start_response: StartResponse, exc: AppConfigApiError) -> list[bytes]:
    start_response(
        f"{exc.status} {'Not Found' if exc.status == 404 else 'Bad Request'}",
        [("Content-Type", "application/json"), ("x-amzn-ErrorType", exc.code)],
    )
    return [json.dumps({"Message": exc.message, "__type": exc.code}).encode()]
