"""The multi-region failover drill on Marquee itself (design question 1): its stack in two regions, failed over under
catalog traffic, then failed back.

One local cloud (its own process, with the simulated providers), Marquee deployed twice with the same CDK app:
us-east-1 (home: it declares the global tables, with a replica in eu-west-1) and eu-west-1 (it uses its replicas).
Route 53: an HTTP health check per region against its API and a PRIMARY/SECONDARY failover pair ``api.{zone}``
(tests/localcloud/failover_helpers.py). A staff client goes through the global name only:
- writes: ``POST /movies`` (the catalog item, its history version and its outbox event, in one transaction on the
  global main table);
- reads: ``GET /movies/{id}`` of a movie acknowledged at least ``--read-age`` seconds earlier, whichever region took it.

Then the primary fails (``POST /_localcloud/chaos/region/us-east-1?state=down``: its API answers 503 and its replicas
stop replicating), and comes back. Figures, never assertions:
- **detection** (fault -> the primary's health check unhealthy), **RTO** (fault -> first write acknowledged by the
  secondary), failed requests in between;
- **RPO**: movies the primary acknowledged that the secondary did not hold at failover (counted, with the oldest's age),
  and reads of acknowledged movies that answered 404 while the secondary served;
- **failback** (restore -> first write served by the primary again) and convergence (both replicas hold every
  acknowledged movie; none lost);
- **events published twice**: every movie's event must reach the audit log through exactly one region's relay. Each
  region's audit consumer records the event ids it saw in its own (regional) inbox; an id in both inboxes, or an id in
  the inbox of the region that did not take the write, is a duplicate publication.

Tokens (Cognito user pools are regional): the drill provisions the staff user in both regions' pools and signs in to
both; the client sends the token of the region it last reached and, on a 401 (the other region's authorizer refuses
a token its pool did not issue), switches to the other session once and retries. The re-authentications are counted.
On AWS the same holds: a pool per region with the users replicated (a migration trigger or a provisioning job), and a
client that re-authenticates on 401; or one identity provider both regions' authorizers trust.

Health checks: Route 53 probes carry no token, and ``/v1/health/deep`` is staff-only (Cognito), so the checks probe
``/v1/health/ready``: public, the deep check's verdict without its details, the dependencies probed at most once per
instance per 10 s. A regional outage fails it, and so does one failed dependency inside a region.

    python -m bench.failover_marquee [--interval 10] [--threshold 3] [--lag-ms 1000] [--rate 5]

Two full deploys: run it alone (``make drill-failover-marquee``).
"""

from __future__ import annotations

import argparse
import json
import secrets
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from devkit.deploy import deploy
from localcloud.aws import local_client
from tests.cloud_process import CloudProcess
from tests.localcloud.failover_helpers import Cell, failover

PRIMARY, SECONDARY = "us-east-1", "eu-west-1"
REGIONS = (PRIMARY, SECONDARY)
TENANT, USER = "drill", "ops"
AUDIT_CONSUMER = "audit-log"  # functions/audit_log/models.py: the inbox key is "{consumer}#{event id}"


def regional_token(endpoint: str, region: str, outputs: dict[str, Any], password: str) -> str:
    """The staff user in this region's pool (created there too: pools are regional) and a fresh id token."""
    cognito = local_client("cognito-idp", endpoint, region=region)
    pool, client = outputs["UserPoolId"], outputs["UserPoolClientId"]
    username = f"{TENANT}.{USER}"
    cognito.admin_create_user(
        UserPoolId=pool,
        Username=username,
        UserAttributes=[
            {"Name": "custom:tenant_id", "Value": TENANT},
            {"Name": "email", "Value": f"{USER}@{TENANT}.example"},
        ],
        MessageAction="SUPPRESS",
    )
    cognito.admin_set_user_password(UserPoolId=pool, Username=username, Password=password, Permanent=True)
    cognito.admin_add_user_to_group(UserPoolId=pool, Username=username, GroupName="staff")
    result = cognito.admin_initiate_auth(
        UserPoolId=pool,
        ClientId=client,
        AuthFlow="ADMIN_USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": username, "PASSWORD": password},
    )
    return str(result["AuthenticationResult"]["IdToken"])


@dataclass
class Op:
    kind: str  # "write" | "read"
    sent: float
    acked: float
    status: int
    region: str | None  # the failover record's set id that served it (the region)
    movie: str | None = None


@dataclass
class Client:
    port: int
    record: str
    tokens: dict[str, str]
    rate: float
    read_age: float
    ops: list[Op] = field(default_factory=list)
    reauths: int = 0
    stop: threading.Event = field(default_factory=threading.Event)
    session_region: str = PRIMARY

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> tuple[requests.Response, str | None]:
        url = f"http://127.0.0.1:{self.port}/v1{path}"
        for attempt in range(2):
            response = self.http.request(
                method,
                url,
                headers={
                    "Host": f"{self.record}:{self.port}",
                    "Authorization": f"Bearer {self.tokens[self.session_region]}",
                },
                json=body,
                timeout=15,
            )
            served = response.headers.get("X-Localcloud-Resolved-To", "").split(" ")[0] or None
            if response.status_code == 401 and attempt == 0:
                # the other region's authorizer refused this region's token: use the session of the other pool
                self.session_region = SECONDARY if self.session_region == PRIMARY else PRIMARY
                self.reauths += 1
                continue
            return response, served
        return response, served

    def run(self) -> None:
        self.http = requests.Session()
        n = 0
        while not self.stop.is_set():
            n += 1
            started = time.time()
            try:
                response, served = self.call("POST", "/movies", {"title": f"Drill {n:05d}", "runtimeMinutes": 100})
                movie = response.json().get("movieId") if response.status_code == 201 else None
                self.ops.append(Op("write", started, time.time(), response.status_code, served, movie))
            except requests.RequestException:
                self.ops.append(Op("write", started, time.time(), 0, None))
            old = [o for o in self.ops if o.kind == "write" and o.movie and o.acked <= time.time() - self.read_age]
            if old:
                target = old[n % len(old)].movie
                sent = time.time()
                try:
                    response, served = self.call("GET", f"/movies/{target}")
                    self.ops.append(Op("read", sent, time.time(), response.status_code, served, target))
                except requests.RequestException:
                    self.ops.append(Op("read", sent, time.time(), 0, None, target))
            time.sleep(max(0.0, 1 / self.rate - (time.time() - started)))


def wait_until(predicate: Any, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not predicate():
        time.sleep(0.2)


def first_write(ops: list[Op], after: float, region: str) -> Op | None:
    return next(
        (o for o in ops if o.kind == "write" and o.sent >= after and o.status == 201 and o.region == region), None
    )


def movie_key(movie: str) -> dict[str, Any]:
    return {"pk": {"S": f"TENANT#{TENANT}#MOVIE#{movie}"}, "sk": {"S": "META"}}


def drill(
    interval: int, threshold: int, lag_ms: int, rate: float, steady_s: float, read_age: float, keep_state: bool = False
) -> dict[str, Any]:
    state = Path(tempfile.mkdtemp(prefix="failover-marquee-"))
    cloud = CloudProcess(state)
    endpoint = cloud.endpoint_url
    figures: dict[str, Any] = {}
    try:
        requests.post(f"{endpoint}/_localcloud/replication?lagMs={lag_ms}", timeout=5).raise_for_status()
        outputs: dict[str, dict[str, Any]] = {}
        for region in REGIONS:  # the home region first: it creates the replicas the other one uses
            result = deploy(
                endpoint,
                quiet=True,
                region=region,
                regions=REGIONS,
                outputs_file=state / f"outputs-{region}.json",
                assembly=state / f"cdk.out-{region}",
            )
            outputs[region] = json.loads(result.outputs_file.read_text())["Marquee"]
            figures[f"deployS[{region}]"] = round(result.seconds, 1)
        table = outputs[PRIMARY]["TableName"]
        figures["globalTable"] = table
        figures["replicas"] = [
            r["RegionName"]
            for r in local_client("dynamodb", endpoint, region=SECONDARY).describe_table(TableName=table)["Table"][
                "Replicas"
            ]
        ]
        password = "Mq-" + secrets.token_urlsafe(18) + "9a!"
        tokens = {r: regional_token(endpoint, r, outputs[r], password) for r in REGIONS}
        cells = {r: Cell(r, outputs[r]["ApiId"], "") for r in REGIONS}
        for region in REGIONS:  # warm both regions: the drill measures routing, not cold starts
            base = f"{endpoint}/_aws/execute-api/{outputs[region]['ApiId']}/v1"
            requests.get(f"{base}/health", timeout=60).raise_for_status()
            headers = {"Authorization": f"Bearer {tokens[region]}"}
            requests.post(f"{base}/movies", json={"title": "Warm", "runtimeMinutes": 90}, headers=headers, timeout=60)
            # ready before exposure, as a pipeline checks before it adds a region's record: the first run starts
            # each region's engines (Aurora, Valkey), slower than a checker waits
            wait_until(lambda b=base: requests.get(f"{b}/health/ready", timeout=30).status_code == 200, timeout=90)
        pair = failover(
            endpoint,
            cloud.port,
            cells[PRIMARY],
            cells[SECONDARY],
            interval=interval,
            threshold=threshold,
            health_path="health/ready",
        )

        client = Client(cloud.port, pair.record, tokens, rate, read_age)
        worker = threading.Thread(target=client.run, daemon=True)
        worker.start()
        time.sleep(steady_s)

        fault = time.time()
        requests.post(f"{endpoint}/_localcloud/chaos/region/{PRIMARY}?state=down", timeout=5).raise_for_status()
        wait_until(lambda: first_write(client.ops, fault, SECONDARY) is not None, timeout=interval * (threshold + 4))
        recovered = first_write(client.ops, fault, SECONDARY)
        secondary_ddb = local_client("dynamodb", endpoint, region=SECONDARY)
        acked_primary = [o for o in client.ops if o.kind == "write" and o.status == 201 and o.region == PRIMARY]
        missing = [
            o
            for o in acked_primary
            if "Item" not in secondary_ddb.get_item(TableName=table, Key=movie_key(o.movie or ""))
        ]
        time.sleep(steady_s)

        restored = time.time()
        requests.post(f"{endpoint}/_localcloud/chaos/region/{PRIMARY}?state=up", timeout=5).raise_for_status()
        wait_until(lambda: first_write(client.ops, restored, PRIMARY) is not None, timeout=interval * (threshold + 4))
        back = first_write(client.ops, restored, PRIMARY)
        time.sleep(steady_s / 2)
        client.stop.set()
        worker.join(timeout=30)
        time.sleep(lag_ms / 1000 * 3 + 5)  # replication, then the relays and the audit consumers

        acked = [o for o in client.ops if o.kind == "write" and o.status == 201 and o.movie]
        held = {
            r: {
                o.movie
                for o in acked
                if "Item"
                in local_client("dynamodb", endpoint, region=r).get_item(TableName=table, Key=movie_key(o.movie or ""))
            }
            for r in REGIONS
        }
        inbox = {r: audit_inbox(endpoint, r) for r in REGIONS}
        event_region = event_regions(endpoint, table, acked)
        figures["primaryTransitionsBeforeFault"] = [
            t["healthy"] for t in transitions(endpoint, pair.checks[PRIMARY]) if t["at"] < fault
        ]
        down = [t for t in transitions(endpoint, pair.checks[PRIMARY]) if t["at"] >= fault]
        up = [t for t in transitions(endpoint, pair.checks[PRIMARY]) if t["at"] >= restored and t["healthy"]]
        window = [o for o in client.ops if fault <= o.sent and (recovered is None or o.sent < recovered.sent)]
        on_secondary = [o for o in client.ops if o.kind == "read" and o.region == SECONDARY and o.sent >= fault]
        figures.update(
            {
                "healthCheck": f"HTTP /v1/health/ready every {interval} s, failure threshold {threshold}",
                "replicationLagMs": lag_ms,
                "writesPerSecond": rate,
                "writes": sum(1 for o in client.ops if o.kind == "write"),
                "reads": sum(1 for o in client.ops if o.kind == "read"),
                "detectionS": round(down[0]["at"] - fault, 2) if down else None,
                "rtoS": round(recovered.acked - fault, 2) if recovered else None,
                "failedDuringFailover": sum(1 for o in window if o.status not in (200, 201)),
                "rpoWrites": len(missing),
                "rpoOldestS": round(fault - min(o.acked for o in missing), 2) if missing else 0.0,
                "readsOfAckedMovies404OnSecondary": sum(1 for o in on_secondary if o.status == 404),
                "readsOnSecondary": len(on_secondary),
                "failbackS": round(back.acked - restored, 2) if back else None,
                "failbackDetectionS": round(up[0]["at"] - restored, 2) if up else None,
                "reauthentications": client.reauths,
                "otherErrors": sorted(
                    {o.status for o in client.ops if o.status not in (200, 201, 503) and o.sent < fault}
                ),
                "acknowledgedMovies": len(acked),
                "acknowledgedLost": sum(1 for o in acked if o.movie not in held[PRIMARY] | held[SECONDARY]),
                "replicasConverged": held[PRIMARY] == held[SECONDARY] == {o.movie for o in acked},
                "eventsAudited": {r: len(inbox[r]) for r in REGIONS},
                "eventsPublishedTwice": len(inbox[PRIMARY] & inbox[SECONDARY]),
                "eventsPublishedByTheOtherRegion": sum(
                    1 for r in REGIONS for e in inbox[r] if event_region.get(e) not in (None, r)
                ),
                "eventsNotAudited": sum(1 for e in event_region if e not in inbox[PRIMARY] | inbox[SECONDARY]),
            }
        )
        for region in REGIONS:  # what the checks saw last, and each dependency as deep health sees it now
            base = f"{endpoint}/_aws/execute-api/{outputs[region]['ApiId']}/v1"
            ready = requests.get(f"{base}/health/ready", timeout=30)
            deep = requests.get(
                f"{base}/health/deep", headers={"Authorization": f"Bearer {tokens[region]}"}, timeout=30
            )
            checks = (
                deep.json().get("checks", {})
                if deep.headers.get("Content-Type", "").startswith("application/health")
                else {}
            )
            figures[f"readyAtEnd[{region}]"] = f"{ready.status_code} {ready.elapsed.total_seconds():.2f} s"
            figures[f"deepAtEnd[{region}]"] = {
                k.split(":")[0]: f"{v[0]['status']} {v[0].get('observedValue')} {v[0].get('output', '')[:60]}".strip()
                for k, v in checks.items()
                if v[0]["status"] != "pass"
            } or f"{deep.status_code} all pass"
        route53 = local_client("route53", endpoint)
        for region, check in pair.checks.items():
            status = route53.get_health_check_status(HealthCheckId=check)["HealthCheckObservations"]
            figures[f"lastCheckReport[{region}]"] = [o["StatusReport"]["Status"][:90] for o in status][:1]
        return figures
    finally:
        cloud.stop()
        if keep_state:
            print(f"the cloud's state and log: {state}")
        else:
            shutil.rmtree(state, ignore_errors=True)  # two deployed stacks: about 90 MB


def transitions(endpoint: str, check_id: str) -> list[dict[str, Any]]:
    checks = requests.get(f"{endpoint}/_localcloud/dns", timeout=5).json()["healthChecks"]
    found: list[dict[str, Any]] = checks.get(check_id, {}).get("transitions", [])
    return found


def audit_inbox(endpoint: str, region: str) -> set[str]:
    """The event ids this region's audit consumer recorded in its (regional) inbox table."""
    ddb = local_client("dynamodb", endpoint, region=region)
    ids: set[str] = set()
    for name in ddb.list_tables()["TableNames"]:
        if "InboxTable" not in name:
            continue
        for page in ddb.get_paginator("scan").paginate(TableName=name, ProjectionExpression="pk"):
            ids |= {
                i["pk"]["S"].split("#", 1)[1] for i in page["Items"] if i["pk"]["S"].startswith(f"{AUDIT_CONSUMER}#")
            }
    return ids


def event_regions(endpoint: str, table: str, acked: list[Op]) -> dict[str, str]:
    """Every outbox item of the drill's tenant (the home replica holds them all once converged): event id -> the
    region that wrote it (``origin_region``)."""
    ddb = local_client("dynamodb", endpoint, region=PRIMARY)
    found: dict[str, str] = {}
    pages = ddb.get_paginator("scan").paginate(
        TableName=table,
        FilterExpression="sk = :outbox AND begins_with(pk, :tenant)",
        ExpressionAttributeValues={":outbox": {"S": "OUTBOX"}, ":tenant": {"S": f"TENANT#{TENANT}#"}},
    )
    for page in pages:
        for item in page["Items"]:
            found[item["pk"]["S"].rsplit("#", 1)[1]] = item.get("origin_region", {}).get("S", "")
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--interval", type=int, default=10, choices=(10, 30), help="RequestInterval (AWS: 10 or 30)")
    parser.add_argument("--threshold", type=int, default=3, help="FailureThreshold (AWS default 3)")
    parser.add_argument("--lag-ms", type=int, default=1000, help="replication lag of the global tables")
    parser.add_argument("--rate", type=float, default=5.0, help="movie writes per second through the global name")
    parser.add_argument("--steady", type=float, default=8.0, help="seconds of steady traffic around each step")
    parser.add_argument("--read-age", type=float, default=2.0, help="reads pick movies acknowledged this long ago")
    parser.add_argument("--keep-state", action="store_true", help="keep the cloud's state folder and log")
    args = parser.parse_args(argv)
    figures = drill(args.interval, args.threshold, args.lag_ms, args.rate, args.steady, args.read_age, args.keep_state)
    width = max(len(k) for k in figures)
    for key, value in figures.items():
        print(f"{key:<{width}}  {value}")
    ok = figures["replicasConverged"] and figures["acknowledgedLost"] == 0 and figures["eventsPublishedTwice"] == 0
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
