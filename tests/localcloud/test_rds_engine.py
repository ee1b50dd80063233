"""The local cloud's PostgreSQL engine over a cloud's lifetime (localcloud/rds/engine.py), in its own process.

Local mechanism, no AWS counterpart: the engine starts only when a cluster is first created, reset drops the
clusters' databases, and a SIGTERM stops the server with the cloud. It runs on the embedded engine, or on the server
``LOCALCLOUD_TEST_POSTGRES_URL`` names.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import requests

from localcloud.aws import local_client
from tests.cloud_process import CloudProcess

POSTGRES_URL = os.environ.get("LOCALCLOUD_TEST_POSTGRES_URL") or None


def engines(cloud: CloudProcess) -> dict[str, object]:
    answer: dict[str, object] = requests.get(f"{cloud.endpoint_url}/_localcloud/engines", timeout=5).json()["postgres"]
    return answer


def test_engine_starts_with_the_first_cluster_and_stops_with_the_cloud(tmp_path: Path) -> None:
    """The engine is not started by the cloud's start (nothing imported, no server running) but by the first
    CreateDBCluster; POST /_localcloud/reset drops the clusters' databases and keeps the engine; SIGTERM stops it."""
    extra = ("--postgres-url", POSTGRES_URL) if POSTGRES_URL else ()
    cloud = CloudProcess(tmp_path / "cloud", extensions=(), extra_args=extra)
    try:
        assert engines(cloud)["state"] == "stopped"
        assert not (tmp_path / "cloud" / "postgres").exists()
        rds = local_client("rds", cloud.endpoint_url)
        started = time.monotonic()
        rds.create_db_cluster(
            DBClusterIdentifier="first",
            Engine="aurora-postgresql",
            MasterUsername="owner_user",
            MasterUserPassword="owner-pass-123",
            EnableHttpEndpoint=True,
        )
        first_create_s = time.monotonic() - started
        status = engines(cloud)
        assert status["state"] == "running" and status["kind"] == ("external" if POSTGRES_URL else "embedded")
        assert [d["cluster"] for d in status["databases"]] == ["first"]  # type: ignore[attr-defined]
        print(json.dumps({"firstCreateDBCluster_s": round(first_create_s, 2), "engineStart_s": status["startSeconds"]}))
        pid_file = Path(str(status["where"])) / "postmaster.pid"  # the state dir, or a temporary one (as root)
        assert POSTGRES_URL or pid_file.exists()
        postmaster = int(pid_file.read_text().splitlines()[0]) if not POSTGRES_URL else None

        requests.post(f"{cloud.endpoint_url}/_localcloud/reset", timeout=30).raise_for_status()
        after_reset = engines(cloud)
        assert after_reset["state"] == "running" and after_reset["databases"] == []
    finally:
        code = cloud.stop()
    assert code == 0, cloud.log()
    if postmaster is not None:
        assert not pid_file.exists()
        assert not _alive(postmaster), f"the embedded PostgreSQL (pid {postmaster}) outlived the cloud"


def _alive(pid: int) -> bool:
    """Running, as opposed to gone or a zombie (a container's init may be slow to reap the detached postmaster)."""
    import psutil

    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
