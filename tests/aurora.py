"""An Aurora PostgreSQL cluster with the Data API on a local cloud, as a stack would have it: the cluster, its writer
instance and its credentials' secret (tests and benches that need a database of their own)."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

SQL_DIR = Path(__file__).resolve().parents[1] / "functions" / "migrate" / "sql"


def new_cluster(
    endpoint: str, *, password: str, username: str = "app_admin", prefix: str = "rm", region: str | None = None
) -> tuple[str, str]:
    """A new cluster (its own database ``app`` on the cloud's engine): its ARN and its secret's ARN."""
    from localcloud.aws import local_client

    regional: dict[str, Any] = {"region": region} if region else {}
    name = f"{prefix}-{uuid.uuid4().hex[:8]}"
    rds = local_client("rds", endpoint, **regional)
    arn = rds.create_db_cluster(
        DBClusterIdentifier=name, Engine="aurora-postgresql", EngineVersion="16.6", MasterUsername=username,
        MasterUserPassword=password, DatabaseName="app", EnableHttpEndpoint=True,
        ServerlessV2ScalingConfiguration={"MinCapacity": 0.5, "MaxCapacity": 2},
    )["DBCluster"]["DBClusterArn"]  # fmt: skip
    rds.create_db_instance(
        DBInstanceIdentifier=f"{name}-w", DBClusterIdentifier=name, Engine="aurora-postgresql",
        DBInstanceClass="db.serverless",
    )  # fmt: skip
    secret = local_client("secretsmanager", endpoint, **regional).create_secret(
        Name=f"{name}-credentials", SecretString=json.dumps({"username": username, "password": password})
    )["ARN"]
    return str(arn), str(secret)


def migrated_database(endpoint: str, *, password: str) -> Any:
    """A new cluster's ``DataApi``, with the migrations applied and every read model installed."""
    from localcloud.aws import local_client
    from marquee.projections import store
    from marquee.relational import migrations
    from marquee.relational.client import DataApi

    arn, secret = new_cluster(endpoint, password=password)
    api = DataApi(cluster_arn=arn, secret_arn=secret, database="app", client=local_client("rds-data", endpoint))
    migrations.apply(api, migrations.load(SQL_DIR))
    store.install(api)
    return api
