"""The API Gateway (REST API, v1) front door: deployed routes served at LocalStack's URLs.

AWS behaviour mirrored (parity tests in tests/localcloud/test_front_door.py):
- routes come from the deployed REST API (resources, methods, integrations) in moto's API Gateway backend;
- path templates ``{param}`` and greedy ``{proxy+}``; method ``ANY``; an unknown route answers 403
  ``Missing Authentication Token`` and an unknown stage 403 ``Forbidden``, as API Gateway does;
- Lambda proxy integration with the payload 1.0 format, ``multiValueHeaders`` and ``multiValueQueryStringParameters``;
  a body whose Content-Type is in the API's ``binaryMediaTypes`` (or that is not UTF-8) arrives base64-encoded;
  a function error or a malformed proxy response (not an object, no ``statusCode``, a non-string ``body``) is 502
  ``Internal server error``, and a throttled function 500 ``Internal server error`` (Lambda's 429 is not forwarded);
- a ``COGNITO_USER_POOLS`` authorizer verifies the JWT's signature against moto's Cognito JWKS, its expiry, its issuer
  (one of the authorizer's pools) and, for id tokens, its audience (a client of that pool); the claims reach the handler
  in ``requestContext.authorizer.claims``, every value a string, as on AWS. Missing or bad token: 401;
- API keys, usage plans (throttle, quota) and stage/method throttling, before the authorizer: ``throttling.py``;
- MOCK integrations (``mock_response``): the request template chosen by Content-Type (``application/json`` when there
  is none; no template for the type: 415 ``Unsupported Media Type`` unless the passthrough behavior is
  ``WHEN_NO_MATCH``) gives ``{"statusCode": N}``; the integration response whose selection pattern matches N (else the
  one without a pattern; none: 500) gives the status, its response template the body (and Content-Type), and its
  response parameters the headers (``'literal'`` or ``context.*``). Mapping templates are evaluated for static text and
  ``$context`` variables only; a template with other VTL (``$input``, ``$util``, ``#set``...) is a 500, logged.
"""

from __future__ import annotations

import base64
import gzip
import json
import logging
import re
import time
import uuid
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from functools import cache
from http import HTTPStatus
from importlib import resources
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, unquote

if TYPE_CHECKING:
    import jwt

from localcloud.apigateway.throttling import Limited, Throttles
from localcloud.lambda_.runner import DEFAULT_ACCOUNT, LambdaError, LambdaRunner, Throttled

log = logging.getLogger("localcloud.front_door")
EXECUTE_API = re.compile(r"^/_aws/execute-api/(?P<api>[^/]+)/(?P<stage>[^/]+)(?P<path>/.*)?$")
# The host form LocalStack and MiniStack serve beside the path forms: http://{apiId}.execute-api.localhost:{port}/{stage}/...
# (LocalStack's own domain localhost.localstack.cloud resolves to 127.0.0.1 too). The path then starts with the stage.
API_HOST = re.compile(
    r"^(?P<api>[a-z0-9]+)\.execute-api\.(?:localhost|localhost\.localstack\.cloud)(?::\d+)?$", re.IGNORECASE
)
HOST_FORM_PATH = re.compile(r"^/(?P<stage>[^/]+)(?P<path>/.*)?$")
USER_REQUEST = re.compile(r"^/restapis/(?P<api>[^/]+)/(?P<stage>[^/]+)/_user_request_(?P<path>/.*)?$")
LAMBDA_URI = re.compile(r"functions/(?P<arn>arn:[^/]+)/invocations")
POOL_ARN = re.compile(r"^arn:[^:]+:cognito-idp:(?P<region>[^:]+):[^:]+:userpool/(?P<pool>.+)$")

StartResponse = Callable[[str, list[tuple[str, str]]], Any]


class GatewayResponse(Exception):
    """An API Gateway-generated response (not the integration's)."""

    def __init__(self, status: int, message: str, error_type: str) -> None:
        super().__init__(message)
        self.status, self.message, self.error_type = status, message, error_type


@cache
def cognito_jwks() -> jwt.PyJWKSet:
    """moto signs every Cognito token with one fixed key pair; this is its public JWKS."""
    import jwt

    data = resources.files("moto.cognitoidp").joinpath("resources/jwks-public.json.gz").read_bytes()
    return jwt.PyJWKSet.from_dict(json.loads(gzip.decompress(data)))


def api_host(environ: dict[str, Any]) -> str | None:
    """The API id when the request came to the host form ``{apiId}.execute-api.localhost[:port]``, else None."""
    match = API_HOST.match(environ.get("HTTP_HOST") or "")
    return match["api"].lower() if match else None


def handles(environ: dict[str, Any], path: str) -> bool:
    """Whether the front door serves this request: one of LocalStack's two path forms, or the API host form."""
    return path.startswith("/_aws/execute-api/") or "/_user_request_" in path or api_host(environ) is not None


class FrontDoor:
    def __init__(self, runner: LambdaRunner) -> None:
        self.runner = runner
        self.throttles = Throttles()
        self.regions_down: set[str] = set()  # a regional outage (localcloud/regions.py): every API there answers 503

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        try:
            status, headers, body = self.handle(environ)
        except GatewayResponse as exc:
            status, body = exc.status, json.dumps({"message": exc.message}).encode()
            headers = [("Content-Type", "application/json"), ("x-amzn-ErrorType", exc.error_type)]
        except Exception:  # noqa: BLE001 - API Gateway answers its own JSON 500, never a stack trace
            log.exception("front door failure on %s", environ.get("PATH_INFO"))
            status, body = 500, json.dumps({"message": "Internal server error"}).encode()
            headers = [("Content-Type", "application/json"), ("x-amzn-ErrorType", "InternalServerErrorException")]
        if not any(name.lower() == "content-length" for name, _ in headers):
            headers = [*headers, ("Content-Length", str(len(body)))]  # one write, not chunks
        start_response(f"{status} {_reason(status)}", headers)
        return [body]

    # ---- routing --------------------------------------------------------------------------------------------------
    def handle(self, environ: dict[str, Any]) -> tuple[int, list[tuple[str, str]], bytes]:
        # The undecoded path: path parameters are URL-decoded exactly once, below (PATH_INFO is decoded already).
        raw_path = (environ.get("RAW_URI") or environ.get("REQUEST_URI") or environ.get("PATH_INFO", "")).split("?", 1)[
            0
        ]
        host = api_host(environ)
        if host is not None:
            match = HOST_FORM_PATH.match(raw_path)
            if match is None:
                raise GatewayResponse(403, "Forbidden", "ForbiddenException")  # no stage: AWS answers Forbidden
            api_id, stage_name, path = host, match["stage"], match["path"] or "/"
        else:
            match = EXECUTE_API.match(raw_path) or USER_REQUEST.match(raw_path)
            if match is None:
                raise GatewayResponse(404, "Not Found", "NotFoundException")
            api_id, stage_name, path = match["api"], match["stage"], match["path"] or "/"
        api, region = self._find_api(api_id)
        if region in self.regions_down:
            raise GatewayResponse(503, "Service Unavailable", "ServiceUnavailableException")
        stage = api.stages.get(stage_name)
        if stage is None:
            raise GatewayResponse(403, "Forbidden", "ForbiddenException")
        http_method = environ.get("REQUEST_METHOD", "GET").upper()
        resource, method, path_params = self._route(api, path, http_method)
        api_key = self._throttle(api, region, stage_name, stage, resource, http_method, method, environ)
        claims = self._authorize(api, method, environ, region)
        event = self._proxy_event(environ, api, stage_name, stage, path, resource, http_method, path_params, claims)
        if api_key is not None:
            event["requestContext"]["identity"]["apiKeyId"], event["requestContext"]["identity"]["apiKey"] = api_key
        return self._integrate(method, event, region)

    def _find_api(self, api_id: str) -> tuple[Any, str]:
        from moto.apigateway.models import apigateway_backends

        for region, backend in apigateway_backends[DEFAULT_ACCOUNT].items():
            api = backend.apis.get(api_id)
            if api is not None:
                return api, region
        raise GatewayResponse(403, "Forbidden", "ForbiddenException")

    @staticmethod
    def _route(api: Any, path: str, http_method: str) -> tuple[Any, Any, dict[str, str]]:
        segments = [s for s in path.split("/") if s]
        best: tuple[tuple[int, ...], Any, dict[str, str]] | None = None
        for resource in api.resources.values():
            template = [s for s in resource.get_path().split("/") if s]
            params = _match_template(template, segments)
            if params is None:
                continue
            # Exact segments beat {param}, which beats {proxy+}: rank by kind per segment.
            rank = tuple(0 if not t.startswith("{") else (2 if t.endswith("+}") else 1) for t in template)
            if best is None or rank < best[0]:
                best = (rank, resource, params)
        if best is None:
            raise GatewayResponse(403, "Missing Authentication Token", "MissingAuthenticationTokenException")
        _, resource, params = best
        method = resource.resource_methods.get(http_method) or resource.resource_methods.get("ANY")
        if method is None:
            raise GatewayResponse(403, "Missing Authentication Token", "MissingAuthenticationTokenException")
        return resource, method, params

    def _throttle(
        self,
        api: Any,
        region: str,
        stage_name: str,
        stage: Any,
        resource: Any,
        http_method: str,
        method: Any,
        environ: dict[str, Any],
    ) -> tuple[str, str] | None:
        from moto.apigateway.models import apigateway_backends

        try:
            return self.throttles.admit(
                apigateway_backends[DEFAULT_ACCOUNT][region],
                api,
                stage_name,
                stage,
                resource.get_path(),
                http_method,
                method,
                environ.get("HTTP_X_API_KEY"),
            )
        except Limited as exc:
            raise GatewayResponse(exc.status, exc.message, exc.error_type) from exc

    # ---- authorization --------------------------------------------------------------------------------------------
    def _authorize(self, api: Any, method: Any, environ: dict[str, Any], region: str) -> dict[str, str] | None:
        kind = (method.authorization_type or "NONE").upper()
        if kind == "NONE":
            return None
        if kind != "COGNITO_USER_POOLS":
            raise GatewayResponse(
                500, f"Authorization type {kind} is not emulated by the local cloud", "AuthorizerConfigurationException"
            )
        authorizer = api.authorizers.get(method.authorizer_id)
        if authorizer is None:
            raise GatewayResponse(500, "Authorizer not found", "AuthorizerConfigurationException")
        source = (authorizer.identity_source or "method.request.header.Authorization").rsplit(".", 1)[-1]
        token = environ.get("HTTP_" + source.upper().replace("-", "_"), "")
        if token.lower().startswith("bearer "):
            token = token[7:]
        if not token:
            raise GatewayResponse(401, "Unauthorized", "UnauthorizedException")
        claims = verify_cognito_token(token, authorizer.provider_arns or [], method.authorization_scopes)
        return {k: _claim_string(v) for k, v in claims.items()}

    # ---- the proxy event --------------------------------------------------------------------------------------------
    @staticmethod
    def _proxy_event(
        environ: dict[str, Any],
        api: Any,
        stage_name: str,
        stage: Any,
        path: str,
        resource: Any,
        http_method: str,
        path_params: dict[str, str],
        claims: dict[str, str] | None,
    ) -> dict[str, Any]:
        api_id = api.id
        multi_headers: dict[str, list[str]] = {}
        for key, value in environ.items():
            if key.startswith("HTTP_"):
                name = "-".join(part.capitalize() for part in key[5:].split("_"))
                multi_headers.setdefault(name, []).append(value)
        for key, name in (("CONTENT_TYPE", "Content-Type"), ("CONTENT_LENGTH", "Content-Length")):
            if environ.get(key):
                multi_headers[name] = [environ[key]]
        multi_query: dict[str, list[str]] = {}
        for key, value in parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True):
            multi_query.setdefault(key, []).append(value)
        length = int(environ.get("CONTENT_LENGTH") or 0)
        raw = environ["wsgi.input"].read(length) if length else b""
        # AWS base64-encodes a body whose Content-Type is one of the API's binaryMediaTypes; locally a body that is
        # not UTF-8 is base64-encoded too (AWS would mangle it as text), so binary uploads work without the setting.
        body: str | None = None
        is_b64 = False
        if raw:
            binary_types = getattr(api, "binaryMediaTypes", None) or []
            binary_type = _is_binary_media_type(environ.get("CONTENT_TYPE", ""), binary_types)
            try:
                body = None if binary_type else raw.decode("utf-8")
            except UnicodeDecodeError:
                binary_type = True
            if binary_type:
                body, is_b64 = base64.b64encode(raw).decode(), True
        now = datetime.now(UTC)
        request_context: dict[str, Any] = {
            "resourceId": resource.id,
            "resourcePath": resource.get_path(),
            "httpMethod": http_method,
            "extendedRequestId": uuid.uuid4().hex[:16],
            "requestTime": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "path": f"/{stage_name}{path}",
            "accountId": DEFAULT_ACCOUNT,
            "protocol": environ.get("SERVER_PROTOCOL", "HTTP/1.1"),
            "stage": stage_name,
            "domainPrefix": api_id,
            "requestTimeEpoch": int(now.timestamp() * 1000),
            "requestId": str(uuid.uuid4()),
            "identity": {
                "sourceIp": environ.get("REMOTE_ADDR", "127.0.0.1"),
                "userAgent": environ.get("HTTP_USER_AGENT"),
            },
            "domainName": environ.get("HTTP_HOST", "localhost"),
            "apiId": api_id,
        }
        if claims is not None:
            request_context["authorizer"] = {"claims": claims}
        return {
            "resource": resource.get_path(),
            "path": path,
            "httpMethod": http_method,
            "headers": {k: v[-1] for k, v in multi_headers.items()} or None,
            "multiValueHeaders": multi_headers or None,
            "queryStringParameters": {k: v[-1] for k, v in multi_query.items()} or None,
            "multiValueQueryStringParameters": multi_query or None,
            "pathParameters": path_params or None,
            "stageVariables": dict(stage.variables) or None,
            "requestContext": request_context,
            "body": body,
            "isBase64Encoded": is_b64,
        }

    # ---- the integration ------------------------------------------------------------------------------------------
    def _integrate(self, method: Any, event: dict[str, Any], region: str) -> tuple[int, list[tuple[str, str]], bytes]:
        integration = method.method_integration
        kind = (integration.integration_type or "").upper() if integration is not None else ""
        if kind == "MOCK":
            return mock_response(integration, event)
        if kind != "AWS_PROXY":
            raise GatewayResponse(
                500, "Only Lambda proxy and MOCK integrations are emulated by the local cloud", "IntegrationFailure"
            )
        match = LAMBDA_URI.search(integration.uri or "")
        if match is None:
            raise GatewayResponse(500, "Integration URI is not a Lambda function", "IntegrationFailure")
        try:
            result = self.runner.invoke(match["arn"], json.dumps(event).encode(), region=region)
        except Throttled as exc:
            # A REST API proxy integration does not forward Lambda's 429: the client gets a plain 500.
            raise GatewayResponse(500, "Internal server error", "InternalServerErrorException") from exc
        except LambdaError as exc:
            raise GatewayResponse(502, "Internal server error", "IntegrationFailure") from exc
        if result.function_error:
            raise GatewayResponse(502, "Internal server error", "IntegrationFailure")
        return _proxy_response(result.payload)


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


def _match_template(template: list[str], segments: list[str]) -> dict[str, str] | None:
    params: dict[str, str] = {}
    for i, part in enumerate(template):
        if part.startswith("{") and part.endswith("+}"):
            rest = segments[i:]
            if not rest:
                return None
            params[part[1:-2]] = "/".join(unquote(s) for s in rest)
            return params
        if i >= len(segments):
            return None
        if part.startswith("{") and part.endswith("}"):
            params[part[1:-1]] = unquote(segments[i])
        elif part != segments[i]:
            return None
    return params if len(template) == len(segments) else None


def _is_binary_media_type(content_type: str, binary_media_types: list[str]) -> bool:
    """Whether a Content-Type matches one of the API's binaryMediaTypes (``*/*`` and ``image/*`` wildcards too)."""
    media_type = content_type.split(";", 1)[0].strip().lower()
    if not media_type:
        return False
    major = media_type.split("/", 1)[0]
    return any(t.lower() in (media_type, f"{major}/*", "*/*") for t in binary_media_types)


_CONTEXT_REF = re.compile(r"\$(?:\{context\.([A-Za-z.]+)\}|context\.([A-Za-z][A-Za-z.]*[A-Za-z]))")
_OTHER_VTL = re.compile(r"\$(?:input|util|stageVariables|method|\{)|#(?:set|if|foreach|else|end)\b")


def _context_value(event: dict[str, Any], name: str) -> str:
    value: Any = event.get("requestContext") or {}
    for part in name.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return "" if value is None else str(value)


def _render(template: str, event: dict[str, Any]) -> str:
    """A mapping template with ``$context.x`` / ``${context.x}`` variables substituted; other VTL is refused."""
    rendered = _CONTEXT_REF.sub(lambda m: _context_value(event, m.group(1) or m.group(2)), template)
    if _OTHER_VTL.search(rendered):
        log.warning("a mapping template uses VTL the local cloud does not evaluate: %r", template[:200])
        raise GatewayResponse(500, "Internal server error", "InternalServerErrorException")
    return rendered


def mock_response(integration: Any, event: dict[str, Any]) -> tuple[int, list[tuple[str, str]], bytes]:
    """A MOCK integration's answer, as API Gateway makes it (see the module's docstring)."""
    headers = event.get("headers") or {}
    content_type = next((v for k, v in headers.items() if k.lower() == "content-type"), "") or "application/json"
    media_type = content_type.split(";", 1)[0].strip().lower()
    templates = {k.lower(): v for k, v in (integration.request_templates or {}).items()}
    passthrough = (integration.passthrough_behaviour or "WHEN_NO_MATCH").upper()
    if media_type in templates:
        request = _render(templates[media_type] or "", event)
    elif passthrough == "WHEN_NO_MATCH" or (passthrough == "WHEN_NO_TEMPLATES" and not templates):
        request = event.get("body") or ""
    else:
        raise GatewayResponse(415, "Unsupported Media Type", "UnsupportedMediaTypeException")
    try:
        status = int(json.loads(request)["statusCode"])
    except (ValueError, TypeError, KeyError) as exc:
        log.warning("a MOCK integration's request mapped to no statusCode: %r", request[:200])
        raise GatewayResponse(500, "Internal server error", "InternalServerErrorException") from exc
    responses = list((integration.integration_responses or {}).values())
    chosen = next(
        (r for r in responses if r.selection_pattern and re.fullmatch(r.selection_pattern, str(status))), None
    ) or next((r for r in responses if not r.selection_pattern), None)
    if chosen is None:  # "No match for output mapping and no default output mapping configured"
        raise GatewayResponse(500, "Internal server error", "InternalServerErrorException")
    response_templates = chosen.response_templates or {}
    body_type = "application/json" if "application/json" in response_templates else next(iter(response_templates), "")
    body = _render(response_templates.get(body_type) or "", event) if body_type else ""
    out: list[tuple[str, str]] = [("Content-Type", body_type or "application/json")]
    for target, source in (chosen.response_parameters or {}).items():
        if not target.startswith("method.response.header."):
            continue
        name = target.removeprefix("method.response.header.")
        if source.startswith("'") and source.endswith("'") and len(source) >= 2:
            value = source[1:-1]
        elif source.startswith("context."):
            value = _context_value(event, source.removeprefix("context."))
        else:
            continue  # integration.response.* has nothing to map from a MOCK
        out = [h for h in out if h[0].lower() != name.lower()] + [(name, value)]
    return int(chosen.status_code), out, body.encode("utf-8")


def _proxy_response(payload: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
    # "Malformed Lambda proxy response" (502): not an object, no statusCode, or a body that is not a string.
    try:
        response = json.loads(payload)
        status = int(response["statusCode"])
    except (ValueError, TypeError, KeyError) as exc:
        raise GatewayResponse(502, "Internal server error", "IntegrationFailure") from exc
    if not isinstance(response.get("body"), str | None):
        raise GatewayResponse(502, "Internal server error", "IntegrationFailure")
    headers: list[tuple[str, str]] = []
    single = response.get("headers") or {}
    multi = response.get("multiValueHeaders") or {}
    for name, value in single.items():
        if name not in multi:
            headers.append((name, str(value)))
    for name, values in multi.items():
        headers.extend((name, str(v)) for v in values)
    if not any(h[0].lower() == "content-type" for h in headers):
        headers.append(("Content-Type", "application/json"))
    body = response.get("body") or ""
    data = base64.b64decode(body) if response.get("isBase64Encoded") else str(body).encode("utf-8")
    return status, headers, data


def _claim_string(value: Any) -> str:
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    return str(value)


def verify_cognito_token(token: str, provider_arns: list[str], scopes: list[str] | None = None) -> dict[str, Any]:
    """Verify a Cognito token as a COGNITO_USER_POOLS authorizer does; raise a 401/403 GatewayResponse otherwise."""
    import jwt  # pyjwt and cryptography: imported by the first authorized request, not at start
    from moto.cognitoidp.models import cognitoidp_backends

    try:
        header = jwt.get_unverified_header(token)
        key = cognito_jwks()[header["kid"]]
        unverified = jwt.decode(token, options={"verify_signature": False})
    except (jwt.PyJWTError, KeyError) as exc:
        raise GatewayResponse(401, "Unauthorized", "UnauthorizedException") from exc
    pools = [m for m in (POOL_ARN.match(arn) for arn in provider_arns) if m]
    issuer = str(unverified.get("iss", ""))
    pool = next((p for p in pools if issuer == f"https://cognito-idp.{p['region']}.amazonaws.com/{p['pool']}"), None)
    if pool is None:
        raise GatewayResponse(401, "Unauthorized", "UnauthorizedException")
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            key=key,
            algorithms=["RS256"],
            issuer=issuer,
            options={"verify_aud": False, "require": ["exp", "iat"]},
        )
    except jwt.ExpiredSignatureError as exc:
        raise GatewayResponse(401, "The incoming token has expired", "UnauthorizedException") from exc
    except jwt.PyJWTError as exc:
        raise GatewayResponse(401, "Unauthorized", "UnauthorizedException") from exc
    user_pool = cognitoidp_backends[DEFAULT_ACCOUNT][pool["region"]].user_pools.get(pool["pool"])
    if user_pool is None:
        raise GatewayResponse(401, "Unauthorized", "UnauthorizedException")
    use = claims.get("token_use")
    if use == "id":
        if scopes:
            raise GatewayResponse(401, "Unauthorized", "UnauthorizedException")
        if claims.get("aud") not in user_pool.clients:
            raise GatewayResponse(401, "Unauthorized", "UnauthorizedException")
    elif use == "access":
        granted = set(str(claims.get("scope", "")).split())
        if not scopes or not granted.intersection(scopes):
            raise GatewayResponse(401, "Unauthorized", "UnauthorizedException")
    else:
        raise GatewayResponse(401, "Unauthorized", "UnauthorizedException")
    if claims["exp"] < time.time():
        raise GatewayResponse(401, "The incoming token has expired", "UnauthorizedException")
    return claims
