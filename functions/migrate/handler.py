"""Apply the versioned SQL migrations (``sql/NNNN_name.sql``) to the Aurora database, idempotently, under an advisory
lock (``marquee.relational.migrations``), then give every read model without one its live generation
(``marquee.projections.store.install``). Invoked after every deploy: by ``marquee deploy`` on the local cloud, and as
the documented post-deploy step on AWS (docs/patterns/14-full-text-search.md). Answers what it applied."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aws_lambda_powertools import Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from marquee.core.env import load_env
from marquee.core.logs import Logger
from marquee.projections import store
from marquee.relational import migrations
from marquee.relational.client import data_api

from .models import MigrateEnv

SQL_DIR = Path(__file__).resolve().parent / "sql"

env = load_env(MigrateEnv)
logger = Logger()
tracer = Tracer()


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    found = migrations.load(SQL_DIR)
    outcome = migrations.apply(data_api(env), found)
    installed = store.install(data_api(env))
    logger.info("migrations", extra={"applied": outcome.applied, "already": outcome.already, "read_models": installed})
    return {
        "applied": outcome.applied,
        "already": outcome.already,
        "latest": found[-1].version if found else None,
        "readModelsInstalled": installed,
    }
