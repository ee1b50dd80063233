"""The cloud's own operations (`/_localcloud/...`) cannot be driven by a web page in the developer's browser: a
cross-site POST (a form on another origin) and a DNS-rebinding request (another Host) are refused with 403, and
nothing changes. The CLI, the SDKs and the tests send no Origin and keep working."""

from __future__ import annotations

from typing import Any

import requests

from localcloud.server import LocalCloud


def _post(cloud: LocalCloud, path: str, **headers: str) -> requests.Response:
    return requests.post(f"{cloud.settings.endpoint_url}{path}", headers=headers, timeout=30)


def test_a_cross_site_reset_is_refused_and_resets_nothing(cloud: LocalCloud, aws: Any) -> None:
    queue = aws("sqs").create_queue(QueueName="survives-a-cross-site-reset")["QueueUrl"]
    refused = _post(cloud, "/_localcloud/reset", Origin="http://evil.example")
    assert refused.status_code == 403
    assert refused.headers["Content-Type"] == "application/problem+json"
    assert "origin" in refused.json()["detail"]
    assert queue in aws("sqs").list_queues(QueueNamePrefix="survives-a-cross-site-reset").get("QueueUrls", [])


def test_a_cross_site_kill_and_an_extension_route_are_refused(cloud: LocalCloud) -> None:
    for path in ("/_localcloud/chaos/kill/any-function", "/_localcloud/simulators"):
        assert _post(cloud, path, Origin="null").status_code == 403, path


def test_a_rebinding_host_is_refused_even_for_reads(cloud: LocalCloud) -> None:
    answer = requests.get(
        f"{cloud.settings.endpoint_url}/_localcloud/stats", headers={"Host": "evil.example"}, timeout=30
    )
    assert answer.status_code == 403 and "Host" in answer.json()["detail"]


def test_the_cli_and_a_same_origin_page_still_reach_the_operations(cloud: LocalCloud) -> None:
    port = cloud.settings.port
    assert _post(cloud, "/_localcloud/chaos/kill/none").status_code == 200  # no Origin: the CLI, an SDK, a test
    assert _post(cloud, "/_localcloud/chaos/kill/none", Origin=f"http://localhost:{port}").status_code == 200
    assert requests.get(f"{cloud.settings.endpoint_url}/_localcloud/health", timeout=30).status_code == 200
