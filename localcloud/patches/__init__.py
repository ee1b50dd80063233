"""Every change the local cloud makes to moto, installed by one call: :func:`install` (LocalCloud calls it once).

The patches themselves live with their AWS service (``localcloud/<service>/``); the ones that redirect moto's
in-process work to the runner are in :mod:`localcloud.patches.redirects`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from localcloud.lambda_.runner import LambdaRunner


def install(runner: LambdaRunner, endpoint_url: str) -> None:
    """Install every moto patch; idempotent (a second call only points the redirects at ``runner``)."""
    from localcloud.cloudformation import resource_types
    from localcloud.dynamodb import atomicity, speed
    from localcloud.patches import redirects
    from localcloud.sqs import queue_urls
    from localcloud.sqs import speed as sqs_speed
    from localcloud.stepfunctions import patches as stepfunctions_patches

    redirects.install(runner)
    queue_urls.install(endpoint_url)
    resource_types.install()
    stepfunctions_patches.install()
    atomicity.install()  # serializable conditional writes and transactions under the threaded server
    speed.install()  # a Query reads its partition, not a sort of the whole table; dispatch per host cached
    sqs_speed.install()  # a send no longer scans the queue's messages three times
