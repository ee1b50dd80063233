"""RFC 9457 problem details (``application/problem+json``) and their wiring into Powertools' REST resolver.

``register_problem_handlers(app)`` maps, in one place:
- every ``MarqueeError`` to its own status and problem type;
- request validation errors to 422 (400 when the body is not JSON at all);
- unknown routes to 404; Powertools' ``ServiceError``s to their status;
- anything unexpected to a 500 problem that leaks nothing (and is logged: a 5xx is a bug).
"""

from __future__ import annotations

import json
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.exceptions import NotFoundError, ServiceError
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError

from marquee.core.errors import MarqueeError

PROBLEM_CONTENT_TYPE = "application/problem+json"
PROBLEM_TYPE_BASE = "urn:marquee:problem:"

logger = Logger(child=True)


def problem_body(
    *, status: int, title: str, detail: str, slug: str, instance: str | None = None, **extensions: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": f"{PROBLEM_TYPE_BASE}{slug}",
        "title": title,
        "status": int(status),
        "detail": detail,
        "instance": instance,
    }
    body.update(extensions)
    return body


def problem_response(
    *, status: int, title: str, detail: str, slug: str, instance: str | None = None, **extensions: Any
) -> Response:
    body = problem_body(status=status, title=title, detail=detail, slug=slug, instance=instance, **extensions)
    return Response(status_code=int(status), content_type=PROBLEM_CONTENT_TYPE, body=json.dumps(body))


def _slug(status: int) -> str:
    return HTTPStatus(status).phrase.lower().replace(" ", "-")


def register_problem_handlers(app: APIGatewayRestResolver) -> None:
    """Register problem+json exception handlers on ``app``."""

    def instance() -> str | None:
        try:
            return app.current_event.path
        except (AttributeError, KeyError):
            return None

    def malformed() -> Response:
        return problem_response(
            status=HTTPStatus.BAD_REQUEST,
            title="Malformed JSON body",
            detail="The request body is not valid JSON.",
            slug="malformed-json",
            instance=instance(),
        )

    def request_id() -> str | None:
        try:
            return app.current_event.request_context.request_id
        except (AttributeError, KeyError):
            return None

    @app.exception_handler(MarqueeError)
    def _domain(exc: MarqueeError) -> Response:
        detail = exc.detail
        retry_after = getattr(exc, "retry_after_s", None)  # a retryable 503 (a tenant's shard move) is no bug
        if exc.status >= HTTPStatus.INTERNAL_SERVER_ERROR and retry_after is None:
            # A 5xx is our bug: log everything, tell the caller nothing internal.
            logger.exception(
                "Domain error mapped to a 5xx", extra={"problem": exc.slug, "correlation_id": request_id()}
            )
            detail = "An internal error occurred. It has been logged."
        extensions = getattr(exc, "extensions", None) or {}  # e.g. the seats of a 409 SeatsTaken
        response = problem_response(
            status=exc.status, title=exc.title, detail=detail, slug=exc.slug, instance=instance(), **extensions
        )
        if retry_after is not None:
            response.headers["Retry-After"] = str(retry_after)
        return response

    @app.exception_handler(RequestValidationError)
    def _invalid(exc: RequestValidationError) -> Response:
        errors = [{"loc": list(e.get("loc", ())), "type": e.get("type"), "msg": e.get("msg")} for e in exc.errors()]
        if any(e["type"] == "json_invalid" for e in errors):
            return malformed()
        return problem_response(
            status=HTTPStatus.UNPROCESSABLE_ENTITY,
            title="Request validation failed",
            detail="The request does not match the operation's schema.",
            slug="validation-error",
            instance=instance(),
            errors=errors,
        )

    @app.exception_handler(json.JSONDecodeError)
    def _malformed(_: json.JSONDecodeError) -> Response:
        return malformed()

    @app.not_found
    def _not_found(_: NotFoundError) -> Response:
        try:
            method = app.current_event.http_method
        except (AttributeError, KeyError):
            method = "?"
        return problem_response(
            status=HTTPStatus.NOT_FOUND,
            title="Not found",
            detail=f"No route matches {method} {instance()}.",
            slug="not-found",
            instance=instance(),
        )

    @app.exception_handler(ServiceError)
    def _service(exc: ServiceError) -> Response:
        status = int(exc.status_code)
        return problem_response(
            status=status, title=HTTPStatus(status).phrase, detail=str(exc.msg), slug=_slug(status), instance=instance()
        )

    @app.exception_handler(Exception)
    def _unexpected(exc: Exception) -> Response:
        correlation_id = request_id()
        logger.exception("Unhandled error", extra={"error_type": type(exc).__name__, "correlation_id": correlation_id})
        return problem_response(
            status=HTTPStatus.INTERNAL_SERVER_ERROR,
            title="Internal error",
            detail="An unexpected error occurred. It has been logged.",
            slug="internal-error",
            instance=instance(),
            correlationId=correlation_id,
        )
