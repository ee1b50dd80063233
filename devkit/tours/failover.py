"""Tour scenario of design question 1 (multi-region failover): the drill of bench/failover.py, shortened to one failed
health check (about 40 s): two regional cells on a global table in a cloud of its own, steady writes through the
Route 53 failover name, the primary region failed then restored; its detection, RTO, RPO and failback are the
evidence. The drill on Marquee's own stack in two regions takes minutes: `make drill-failover-marquee`."""

from __future__ import annotations

import subprocess
import sys

from devkit.state import PROJECT_ROOT
from devkit.tour import Tour, expect, scenario

ARGS = ["--threshold", "1", "--steady", "2", "--lag-ms", "500", "--rate", "10"]


@scenario("failover: the primary region fails under steady writes; Route 53 moves them to the secondary, then back")
def _failover(tour: Tour) -> list[str]:
    del tour  # the drill runs its own two-region cloud: a region of the tour's cloud must stay up
    run = subprocess.run(  # noqa: S603 - this interpreter and the repo's own module
        [sys.executable, "-m", "bench.failover", *ARGS],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    figures = dict(line.split(None, 1) for line in run.stdout.splitlines() if line.strip() and " " in line.strip())
    expect(run.returncode == 0, f"the drill failed ({run.returncode}): {run.stdout[-400:]} {run.stderr[-400:]}")
    expect(figures.get("acknowledgedLost") == "0", f"acknowledged writes lost: {figures.get('acknowledgedLost')}")
    return [
        f"health check {figures.get('healthCheck')}; replication lag {figures.get('replicationLagMs')} ms",
        f"detection {figures.get('detectionS')} s, RTO {figures.get('rtoS')} s "
        f"({figures.get('failedDuringFailover')} writes failed meanwhile)",
        f"RPO: {figures.get('rpoWrites')} acknowledged writes only in the lag (oldest {figures.get('rpoOldestS')} s)",
        f"failback {figures.get('failbackS')} s; replicas converged: {figures.get('replicasConverged')}, "
        f"acknowledged writes lost: {figures.get('acknowledgedLost')}",
    ]
