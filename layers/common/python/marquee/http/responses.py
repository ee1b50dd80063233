"""Documented responses for routes whose status is not a plain 200 (OpenAPI ``responses=`` of a route decorator).

Powertools documents a route's return annotation as its 200; a route that answers 201, 202 or 204 declares it here, so
the published OpenAPI document says what the route really answers.
"""

from __future__ import annotations

from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
from pydantic import BaseModel


def _json(model: type[BaseModel], description: str) -> OpenAPIResponse:
    return {"description": description, "content": {"application/json": {"model": model}}}


def ok_response(model: type[BaseModel], description: str = "OK") -> OpenAPIResponse:
    return _json(model, description)


def created_response(model: type[BaseModel], description: str = "Created") -> OpenAPIResponse:
    return _json(model, description)


def accepted_response(
    model: type[BaseModel], description: str = "Accepted: the work goes on asynchronously"
) -> OpenAPIResponse:
    return _json(model, description)
