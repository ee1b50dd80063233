"""Every curl command in the README and the docs pages works when pasted: it names a route the API has (checked against
docs/openapi.json), with that route's method, and a body it sends is JSON with ``Content-Type: application/json`` and
only fields the route accepts. A local cloud admin URL must not hard-code a simulator port (the OS picks those)."""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass
from pathlib import Path

import pytest

from tools.openapi import OPENAPI_FILE

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
DOCUMENT = json.loads(OPENAPI_FILE.read_text())
API_BASE = re.compile(
    r"^.*?(?:/_aws/execute-api/[^/]+/v1|/restapis/[^/]+/v1/_user_request_"
    r"|^\$\{?(?:API|API_URL|LocalApiUrl)\}?|\$\(.*?\))"
)


@dataclass(frozen=True)
class Curl:
    page: str
    line: int
    text: str


def curl_commands() -> list[Curl]:
    found = []
    for page in PAGES:
        lines = page.read_text().splitlines()
        for number, line in enumerate(lines, start=1):
            for match in re.finditer(r"`(curl [^`]+)`", line):  # inline code
                found.append(Curl(page.name, number, match.group(1)))
            stripped = line.strip()
            if stripped.startswith("curl ") and "`" not in stripped:  # a shell block, maybe continued with '\'
                text, follow = stripped, number
                while text.endswith("\\") and follow < len(lines):
                    text = text[:-1] + " " + lines[follow].strip()
                    follow += 1
                found.append(Curl(page.name, number, text.split("  #")[0]))
    return found


def parse(command: str) -> tuple[str, str, dict[str, str], str | None]:
    words = shlex.split(command, comments=True)
    method, url, headers, body = "GET", "", {}, None
    i = 1
    while i < len(words):
        word = words[i]
        if word in ("-X", "--request"):
            method, i = words[i + 1].upper(), i + 2
        elif word in ("-H", "--header"):
            name, _, value = words[i + 1].partition(":")
            headers[name.strip().lower()] = value.strip()
            i += 2
        elif word in ("-d", "--data", "--data-raw", "--data-binary", "--json"):
            body = words[i + 1]
            if word == "--json":
                headers.setdefault("content-type", "application/json")
            method = method if method != "GET" else "POST"
            i += 2
        elif word.startswith("-"):
            i += 1
        else:
            url, i = word, i + 1
    return method, url, headers, body


def route_of(url: str) -> str | None:
    """The API path of ``url`` (None for a URL that is not the API), e.g. ``/orders/<orderId>`` -> ``/orders/{x}``."""
    match = API_BASE.match(url)
    if match is None or "/_localcloud/" in url or "/_admin/" in url:
        return None
    return url[match.end() :].split("?")[0] or "/"


def operation_for(method: str, path: str) -> dict | None:
    for template, operations in DOCUMENT["paths"].items():
        pattern = "^" + re.sub(r"\\\{[^}]+\\\}", r"[^/]+", re.escape(template)) + "$"
        if re.match(pattern, path):
            return operations.get(method.lower())
    return None


COMMANDS = curl_commands()


def test_the_docs_have_curl_commands_to_check() -> None:
    assert len(COMMANDS) >= 8


@pytest.mark.parametrize("curl", COMMANDS, ids=lambda c: f"{c.page}:{c.line}")
def test_a_documented_curl_command_names_a_real_route_with_a_valid_request(curl: Curl) -> None:
    method, url, headers, body = parse(curl.text)
    assert not re.search(r"localhost:45(6[7-9]|7\d)\b|127\.0\.0\.1:45(6[7-9]|7\d)\b", url), (
        f"{url}: simulator ports are picked by the OS; show how to find them (`marquee cloud status`)"
    )
    path = route_of(url)
    if path is None:
        return
    operation = operation_for(method, path)
    assert operation is not None, f"{method} {path} is not an operation of docs/openapi.json"
    if body is not None:
        assert headers.get("content-type") == "application/json", f"{method} {path} sends a body without its type"
        document = json.loads(body)
        schema_ref = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        schema = DOCUMENT["components"]["schemas"][schema_ref.rsplit("/", 1)[1]]
        assert set(document) <= set(schema["properties"]), f"{method} {path}: unknown fields"
        assert set(schema.get("required", [])) <= set(document), f"{method} {path}: required fields missing"
    if operation.get("security") != []:
        assert "authorization" in headers, f"{method} {path} needs a token"
