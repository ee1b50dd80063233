"""The published OpenAPI document and the deployed API Gateway agree: same routes, same public/authorized split."""

from __future__ import annotations

import json
import re

from tests.infra.test_template import Resources, method_paths
from tools.openapi import OPENAPI_FILE, PUBLIC_ROUTES


def documented() -> set[tuple[str, str]]:
    paths = json.loads(OPENAPI_FILE.read_text())["paths"]
    return {(method.upper(), path) for path, operations in paths.items() for method in operations}


def test_every_documented_route_is_deployed_and_every_deployed_route_documented(resources: Resources) -> None:
    deployed = {(method, path) for method, path in method_paths(resources) if method != "OPTIONS"}
    assert deployed == documented()


def test_the_routes_without_the_authorizer_are_exactly_the_documented_public_ones(resources: Resources) -> None:
    public = {route for route, props in method_paths(resources).items() if props.get("AuthorizationType") == "NONE"}
    assert public == set(PUBLIC_ROUTES)
    for path, operations in json.loads(OPENAPI_FILE.read_text())["paths"].items():
        for method, operation in operations.items():
            assert (operation["security"] == []) == ((method.upper(), path) in PUBLIC_ROUTES), (method, path)


def test_path_parameters_are_written_the_same_way() -> None:
    for _, path in documented():
        assert not re.search(r"<\w+>", path), path
