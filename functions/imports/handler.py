"""Imports (challenge 15): staff create an import job and upload its file straight to S3 with presigned multipart
URLs; the bucket's ObjectCreated notification starts the streamed validation (functions/import_validator)."""

# No `from __future__ import annotations` here: Powertools reads the route annotations at run time.
from http import HTTPStatus
from typing import Annotated

from aws_lambda_powertools import Metrics, Tracer
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Path
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from marquee.core.env import load_env
from marquee.core.logs import Logger
from marquee.http import ApiResolver, accepted_response, created_response
from marquee.tenancy.tenant import current_tenant

from . import logic
from .models import CompleteRequest, ImportCreated, ImportRequest, ImportsEnv, ImportView, PartsRequest, PartsResponse

env = load_env(ImportsEnv)
logger = Logger()
tracer = Tracer()
metrics = Metrics()
app = ApiResolver()

ImportId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,64}$")]


@app.post("/imports", responses={201: created_response(ImportCreated)})
@tracer.capture_method
def post_import(body: ImportRequest) -> tuple[ImportCreated, int]:
    return logic.create(body, tenant=current_tenant(app), env=env), 201


@app.get("/imports/<importId>")
@tracer.capture_method
def get_import(importId: ImportId) -> ImportView:  # noqa: N803 - the route's parameter name
    return logic.get(importId, tenant=current_tenant(app), env=env)


@app.delete(
    "/imports/<importId>",
    responses={204: {"description": "Aborted: the upload is gone, the job is ABORTED (also when it already was)"}},
)
@tracer.capture_method
def delete_import(importId: ImportId) -> Response[str]:  # noqa: N803
    """Abort an import whose upload is unfinished. 409 once the upload is complete (the validation owns it)."""
    logic.abort(importId, tenant=current_tenant(app), env=env)
    return Response(status_code=HTTPStatus.NO_CONTENT, body="")


@app.post("/imports/<importId>/parts")
@tracer.capture_method
def post_parts(importId: ImportId, body: PartsRequest) -> PartsResponse:  # noqa: N803
    return logic.parts(importId, body, tenant=current_tenant(app), env=env)


@app.post("/imports/<importId>/complete", responses={202: accepted_response(ImportView)})
@tracer.capture_method
def post_complete(importId: ImportId, body: CompleteRequest) -> tuple[ImportView, int]:  # noqa: N803
    return logic.complete(importId, body, tenant=current_tenant(app), env=env), 202


@app.post("/imports/<importId>/resume", responses={202: accepted_response(ImportView)})
@tracer.capture_method
def post_resume(importId: ImportId) -> tuple[ImportView, int]:  # noqa: N803
    """Restart a stalled publish: a PUBLISHING import (or a VALIDATED one that is not a dry run) is handed to a fresh
    validator invocation, which publishes on from its cursor. 409 in any other state."""
    return logic.resume(importId, tenant=current_tenant(app), env=env), 202


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
