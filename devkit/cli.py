"""`marquee`: the one command surface of the local cloud (the Makefile targets call it)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from devkit import state

app = typer.Typer(help="Marquee: the local cloud, deploys, invokes and the scenario tour.", no_args_is_help=True)
cloud_app = typer.Typer(help="Start, stop and inspect the Docker-free local cloud.", no_args_is_help=True)
auth_app = typer.Typer(help="Tenants, users and tokens (Cognito on the local cloud).", no_args_is_help=True)
app.add_typer(cloud_app, name="cloud")
app.add_typer(auth_app, name="auth")
console = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)

PortOption = Annotated[int, typer.Option(help="Port on 127.0.0.1 (LocalStack's default).")]


def _fail(message: str, code: int = 1) -> typer.Exit:
    err.print(f"[bold red]error:[/] {message}")
    return typer.Exit(code)


def require_cloud() -> state.CloudState:
    running = state.running_cloud()
    if running is None:
        raise _fail("no local cloud is running: start one with `marquee cloud up --detach` (or `make up`).")
    return running


# ---- cloud ------------------------------------------------------------------------------------------------------------
@cloud_app.command("up")
def cloud_up(
    port: PortOption = 4566,
    detach: Annotated[
        bool, typer.Option("--detach", "-d", help="Run in the background; `marquee cloud down` stops it.")
    ] = False,
    drain_deadline: Annotated[float, typer.Option(help="Seconds in-flight work may take to finish on SIGTERM.")] = 10.0,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log every HTTP request.")] = False,
    postgres_url: Annotated[
        str | None, typer.Option(help="Run Aurora PostgreSQL on this server instead of the embedded one.")
    ] = None,
    redis_url: Annotated[
        str | None,
        typer.Option(
            help="Run ElastiCache Serverless caches on this server (redis://host:port/N, a database each from N) "
            "instead of a valkey-server each."
        ),
    ] = None,
) -> None:
    """Start the local cloud on localhost:PORT."""
    running = state.running_cloud()
    if running is not None:
        if running.port == port and state.is_healthy(port):
            console.print(f"local cloud already running (pid {running.pid}) at {running.endpoint_url}")
            return
        raise _fail(
            f"a local cloud is already running (pid {running.pid}, port {running.port}); `marquee cloud down` first."
        )
    if detach:
        _start_detached(port, drain_deadline, postgres_url, redis_url)
        return
    from devkit.simulators import Simulators
    from localcloud.http import PortInUse
    from localcloud.server import LocalCloud, Settings

    simulators = Simulators()  # Marquee's simulated providers, plugged in through the cloud's extension hook
    try:
        cloud = LocalCloud(
            Settings(
                port=port,
                state_dir=state.STATE_DIR,
                drain_deadline_s=drain_deadline,
                verbose=verbose,
                extensions=[simulators],
                postgres_url=postgres_url,
                redis_url=redis_url,
            )
        ).start()
    except PortInUse as exc:
        raise _fail(str(exc)) from exc
    state.write_state(state.CloudState(pid=_pid(), port=port, started_at=time.time(), simulators=simulators.urls()))
    console.print(f"local cloud listening on {cloud.settings.endpoint_url} (Ctrl-C drains and stops)")
    try:
        code = cloud.serve_until_signal()
    finally:
        current = state.read_state()
        if current is not None and current.pid == _pid():
            state.clear_state()
    raise typer.Exit(code)


def _pid() -> int:
    import os

    return os.getpid()


def port_in_use_message(port: int) -> str:
    from localcloud.http import port_holder

    holder = port_holder(port)
    by = f" by {holder}" if holder else ""
    return f"port {port} on 127.0.0.1 is already in use{by}. Is LocalStack or another local cloud running? Use --port."


def _start_detached(
    port: int, drain_deadline: float, postgres_url: str | None = None, redis_url: str | None = None
) -> None:
    from localcloud.server import port_is_free

    if not port_is_free(port):
        raise _fail(port_in_use_message(port))
    state.STATE_DIR.mkdir(parents=True, exist_ok=True)
    log = state.LOG_FILE.open("ab")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "devkit",
            "cloud",
            "up",
            "--port",
            str(port),
            "--drain-deadline",
            str(drain_deadline),
            *(("--postgres-url", postgres_url) if postgres_url else ()),
            *(("--redis-url", redis_url) if redis_url else ()),
        ],
        cwd=state.PROJECT_ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    if not state.wait_healthy(port, timeout=30):
        proc.terminate()
        raise _fail(f"the local cloud did not become healthy; see {_shown(state.LOG_FILE)}")
    state.write_state(
        state.CloudState(pid=proc.pid, port=port, started_at=time.time(), simulators=state.fetch_simulators(port))
    )
    console.print(f"local cloud running in the background (pid {proc.pid}) at http://localhost:{port}")


def _shown(path: Path) -> Path:
    """A path as the user should read it: relative to the project when inside it."""
    try:
        return path.relative_to(state.PROJECT_ROOT)
    except ValueError:
        return path


@cloud_app.command("down")
def cloud_down(timeout: Annotated[float, typer.Option(help="Seconds to wait for the drain.")] = 20.0) -> None:
    """Stop a detached local cloud gracefully (SIGTERM: drain, then exit)."""
    running = state.running_cloud()
    if running is None:
        state.clear_state()
        console.print("no local cloud running")
        return
    if not state.stop_cloud(running, timeout):
        raise _fail(f"pid {running.pid} did not exit within {timeout:.0f} s; send a second SIGTERM to force it.")
    state.clear_state()
    console.print(f"local cloud stopped (pid {running.pid})")


@cloud_app.command("status")
def cloud_status(as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False) -> None:
    """Is it running, where, and what is deployed (stack outputs)."""
    running = state.running_cloud()
    info: dict[str, Any] = {
        "running": running is not None and state.is_healthy(running.port),
        "pid": running.pid if running else None,
        "endpoint": running.endpoint_url if running else None,
        "outputs": state.read_outputs(),
    }
    if info["running"] and running is not None:
        import requests

        info["workers"] = requests.get(f"http://127.0.0.1:{running.port}/_localcloud/stats", timeout=5).json()[
            "workers"
        ]
        info["engines"] = requests.get(f"http://127.0.0.1:{running.port}/_localcloud/engines", timeout=5).json()
        try:
            info["simulators"] = state.fetch_simulators(running.port)
        except requests.RequestException:  # a cloud of an older version: what its state file recorded, if anything
            info["simulators"] = running.simulators
    if as_json:
        print(json.dumps(info, indent=2))
        return
    console.print(
        f"local cloud: {'[green]running[/]' if info['running'] else '[red]stopped[/]'}"
        + (f" at {info['endpoint']} (pid {info['pid']})" if info["running"] else "")
    )
    if info.get("simulators"):
        table = Table("simulated provider", "url", title="simulators (ports from the OS)")
        for kind, urls in info["simulators"].items():
            for name, url in urls.items():
                table.add_row(f"{kind} {name}", url)
        console.print(table)
    if info.get("engines"):
        table = Table("engine", "state", "version", "where", "databases", title="data engines (started on first use)")
        for name, engine in info["engines"].items():
            databases = ", ".join(d["database"] for d in engine.get("databases", [])) or "-"
            table.add_row(name, engine["state"], engine.get("version") or "-", engine["where"], databases)
        console.print(table)
    if info["outputs"]:
        table = Table("output", "value", title=f"stack {state.STACK_NAME}")
        for key, value in sorted(info["outputs"].items()):
            table.add_row(key, str(value))
        console.print(table)
    if not info["running"]:
        raise typer.Exit(1)


@cloud_app.command("reset")
def cloud_reset() -> None:
    """Forget every deployed resource (the cloud keeps running)."""
    import requests

    running = require_cloud()
    requests.post(f"http://127.0.0.1:{running.port}/_localcloud/reset", timeout=30).raise_for_status()
    state.OUTPUTS_FILE.unlink(missing_ok=True)
    console.print("local cloud reset: no resources, no warm workers")


@cloud_app.command("logs")
def cloud_logs(
    function: Annotated[
        str | None, typer.Argument(help="A function (e.g. health); omit for the cloud's own log.")
    ] = None,
    lines: Annotated[int, typer.Option("--lines", "-n")] = 50,
) -> None:
    """Show a function's CloudWatch log lines, or the local cloud's console log."""
    if function is None:
        if not state.LOG_FILE.exists():
            raise _fail("no log yet: the cloud writes one when started with --detach")
        for line in state.LOG_FILE.read_text(errors="replace").splitlines()[-lines:]:
            print(line)
        return
    running = require_cloud()
    from devkit.functions import resolve_function_name

    name = resolve_function_name(function, running.endpoint_url)
    logs = _client("logs", running.endpoint_url)
    events = logs.filter_log_events(logGroupName=f"/aws/lambda/{name}")["events"]
    for event in events[-lines:]:
        print(event["message"])


def _client(service: str, endpoint: str) -> Any:
    from localcloud.aws import local_client

    return local_client(service, endpoint)


# ---- deploy and invoke ------------------------------------------------------------------------------------------------
@app.command("deploy")
def deploy_command(
    port: PortOption = 4566,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Show the CDK CLI's output only if it fails.")] = False,
    mock: Annotated[
        str | None,
        typer.Option(
            help="Comma-separated services whose routes API Gateway answers with the maintenance 503 itself (MOCK "
            "integrations), for a function that cannot run; deploy again without it to route them back."
        ),
    ] = None,
    hold_shape_phase: Annotated[
        str | None,
        typer.Option(
            help="expand, migrate or contract: the hold item's shape phase (docs/design/02); contract is refused while "
            "an old-shape hold remains."
        ),
    ] = None,
) -> None:
    """Deploy the stack with the real CDK CLI (bootstrap once), starting the local cloud if needed."""
    from devkit.deploy import DeployFailed, deploy

    running = state.running_cloud()
    if running is None:
        _start_detached(port, 10.0)
        running = require_cloud()
    try:
        mocked = tuple(name.strip() for name in (mock or "").split(",") if name.strip())
        result = deploy(running.endpoint_url, quiet=quiet, mock_services=mocked, hold_shape_phase=hold_shape_phase)
    except DeployFailed as exc:
        raise _fail(str(exc)) from exc
    console.print(
        f"deployed {state.STACK_NAME} in {result.seconds:.1f} s"
        + (" (bootstrapped first)" if result.bootstrapped else "")
        + f"; outputs in {_shown(result.outputs_file)}"
    )


@app.command("invoke")
def invoke_command(
    function: Annotated[str, typer.Argument(help="The function: its folder under functions/ (e.g. health).")],
    event: Annotated[Path, typer.Option("--event", "-e", help="A JSON event file, e.g. events/health/liveness.json.")],
    local: Annotated[
        bool,
        typer.Option(
            "--local", help="Run the handler in this process (debuggable); AWS calls still go to the local cloud."
        ),
    ] = False,
) -> None:
    """Invoke a function with a sample event and print the response."""
    from devkit.functions import EventFileError, FunctionLookupError, invoke_deployed, invoke_in_process, load_event

    try:
        payload = load_event(event)
    except EventFileError as exc:
        raise _fail(str(exc), code=2) from exc
    running = require_cloud()
    try:
        run = invoke_in_process if local else invoke_deployed
        result = run(function, payload, running.endpoint_url)
    except FunctionLookupError as exc:
        raise _fail(str(exc), code=2) from exc
    print(json.dumps(result, indent=2))


# ---- auth -------------------------------------------------------------------------------------------------------------
@auth_app.command("token")
def auth_token(
    tenant: Annotated[str, typer.Option(help="Tenant id (a cinema chain).")],
    user: Annotated[str, typer.Option(help="User name.")],
    group: Annotated[str, typer.Option(help="customer or staff.")] = "customer",
) -> None:
    """Create the tenant's user if needed and print an id token for it."""
    from devkit.identity import IdentityError, token_for

    running = require_cloud()
    try:
        print(token_for(running.endpoint_url, tenant=tenant, user=user, group=group))
    except IdentityError as exc:
        raise _fail(str(exc)) from exc


# ---- feature flags ----------------------------------------------------------------------------------------------------
flags_app = typer.Typer(
    help="Feature flags (AppConfig): change them at run time, without a deploy.", no_args_is_help=True
)
app.add_typer(flags_app, name="flags")


@flags_app.command("list")
def flags_list() -> None:
    """The deployed flags, with the configuration version that is live."""
    from devkit.flags import FlagError, FlagsClient

    try:
        version, flags = FlagsClient(require_cloud().endpoint_url).current()
    except FlagError as exc:
        raise _fail(str(exc)) from exc
    console.print(f"flags version {version}:")
    print(json.dumps(flags, indent=2))


@flags_app.command("set")
def flags_set(
    name: Annotated[str, typer.Argument(help="The flag, e.g. sms_notifications.")],
    value: Annotated[str | None, typer.Argument(help="Its default: true or false.")] = None,
    tenants: Annotated[
        str | None, typer.Option(help="Comma-separated tenants it is on for ('' removes the rule).")
    ] = None,
    percent: Annotated[int | None, typer.Option(help="Percentage rollout by user (0 removes the rule).")] = None,
) -> None:
    """Change a flag and deploy the new flags: running functions see it within their cache age."""
    from devkit.flags import FlagError, FlagsClient, parse_bool, set_flag

    try:
        client = FlagsClient(require_cloud().endpoint_url)
        _, flags = client.current()
        default = None if value is None else parse_bool(value)
        tenant_list = None if tenants is None else [t.strip() for t in tenants.split(",") if t.strip()]
        version = client.deploy(set_flag(flags, name, default=default, tenants=tenant_list, percent=percent))
    except FlagError as exc:
        raise _fail(str(exc), code=2) from exc
    console.print(f"deployed flags version {version}: {name} changed")


# ---- maintenance mode -------------------------------------------------------------------------------------------------
maintenance_app = typer.Typer(
    help="Maintenance mode: a service behind the API answers 503 with Retry-After, switched at run time (no deploy).",
    no_args_is_help=True,
)
app.add_typer(maintenance_app, name="maintenance")
ServiceArgument = Annotated[str, typer.Argument(help="The service (its functions' name: payments, holds, orders...).")]
TenantOption = Annotated[str | None, typer.Option(help="Only this tenant's requests (default: every tenant).")]
WritesOnlyOption = Annotated[bool, typer.Option("--writes-only", help="Only writes: the service stays readable.")]


@maintenance_app.command("on")
def maintenance_on(
    service: ServiceArgument,
    tenant: TenantOption = None,
    writes_only: WritesOnlyOption = False,
    retry_after: Annotated[int, typer.Option(help="Seconds clients are told to wait (Retry-After).")] = 300,
    detail: Annotated[str | None, typer.Option(help="The problem's detail, shown to clients.")] = None,
) -> None:
    """Put a service (or one tenant's use of it, or its writes) into maintenance."""
    from devkit.flags import FlagError, FlagsClient
    from devkit.maintenance import MaintenanceError, api_services, deployed_api_id, switch_on

    running = require_cloud()
    try:
        client = FlagsClient(running.endpoint_url)
        _, flags = client.current()
        api_id = deployed_api_id(running.endpoint_url)
        known = api_services(running.endpoint_url, api_id) if api_id else None
        updated = switch_on(
            flags,
            service=service,
            tenant=tenant,
            writes_only=writes_only,
            retry_after_s=retry_after,
            detail=detail,
            known_services=known,
        )
        version = client.deploy(updated)
    except (FlagError, MaintenanceError) as exc:
        raise _fail(str(exc), code=2) from exc
    console.print(f"deployed flags version {version}: {service} in maintenance (live within the flags cache age)")


@maintenance_app.command("off")
def maintenance_off(
    service: ServiceArgument, tenant: TenantOption = None, writes_only: WritesOnlyOption = False
) -> None:
    """End a service's maintenance (the same scope that was switched on)."""
    from devkit.flags import FlagError, FlagsClient
    from devkit.maintenance import MaintenanceError, switch_off

    try:
        client = FlagsClient(require_cloud().endpoint_url)
        _, flags = client.current()
        version = client.deploy(switch_off(flags, service=service, tenant=tenant, writes_only=writes_only))
    except (FlagError, MaintenanceError) as exc:
        raise _fail(str(exc), code=2) from exc
    console.print(f"deployed flags version {version}: {service} out of maintenance")


@maintenance_app.command("status")
def maintenance_status() -> None:
    """Every scope in maintenance, as JSON."""
    from devkit.flags import FlagError, FlagsClient
    from devkit.maintenance import status

    try:
        _, flags = FlagsClient(require_cloud().endpoint_url).current()
    except FlagError as exc:
        raise _fail(str(exc)) from exc
    print(json.dumps(status(flags), indent=2))


# ---- dead-letter queues -----------------------------------------------------------------------------------------------
dlq_app = typer.Typer(help="Dead-letter queues: list, peek, redrive (back to the source queue).", no_args_is_help=True)
app.add_typer(dlq_app, name="dlq")
QueueArgument = Annotated[
    str, typer.Argument(help="A source queue's name, or a notification channel (email, sms, push).")
]


@dlq_app.command("list")
def dlq_list() -> None:
    """Every queue with a DLQ, and how many messages its DLQ holds."""
    from devkit.dlq import Dlqs

    print(json.dumps(Dlqs(require_cloud().endpoint_url).summary(), indent=2))


@dlq_app.command("show")
def dlq_show(
    queue: QueueArgument, limit: Annotated[int, typer.Option(help="At most this many (max 10).")] = 10
) -> None:
    """Peek at a queue's dead letters: group, receive count, the recorded error, the body."""
    from devkit.dlq import DlqError, Dlqs

    try:
        print(json.dumps(Dlqs(require_cloud().endpoint_url).show(queue, limit), indent=2))
    except DlqError as exc:
        raise _fail(str(exc), code=2) from exc


@dlq_app.command("redrive")
def dlq_redrive(queue: QueueArgument) -> None:
    """Move a queue's dead letters back to it, and report the counts."""
    from devkit.dlq import DlqError, Dlqs

    try:
        print(json.dumps(Dlqs(require_cloud().endpoint_url).redrive(queue), indent=2))
    except DlqError as exc:
        raise _fail(str(exc), code=2) from exc


# ---- secrets ----------------------------------------------------------------------------------------------------------
secrets_app = typer.Typer(help="Secrets Manager: rotate a secret now (the four-step rotation).", no_args_is_help=True)
app.add_typer(secrets_app, name="secrets")


ROTATE_HELP = (
    "primary, secondary (payment providers), email-primary .. push-backup (notification providers), or a name."
)


@secrets_app.command("rotate")
def secrets_rotate(
    name: Annotated[str, typer.Argument(help=ROTATE_HELP)],
) -> None:
    """Rotate a secret now: createSecret, setSecret, testSecret, finishSecret. Prints versions, never values."""
    from devkit.secrets_cli import RotationFailed, rotate

    try:
        print(json.dumps(rotate(require_cloud().endpoint_url, name).as_json(), indent=2))
    except RotationFailed as exc:
        raise _fail(str(exc), code=2) from exc


# ---- contracts --------------------------------------------------------------------------------------------------------
contracts_app = typer.Typer(
    help="Event and API contracts: compatibility check, release, schema registry.", no_args_is_help=True
)
app.add_typer(contracts_app, name="contracts")


@contracts_app.command("check")
def contracts_check() -> None:
    """List every breaking change of the current contracts against the released ones (exit 1 if any)."""
    from devkit.contracts import all_breaks

    breaks = all_breaks()
    for line in breaks:
        console.print(f"[red]breaking:[/] {line}")
    if breaks:
        raise typer.Exit(1)
    console.print("no breaking change against docs/contracts/released/")


@contracts_app.command("release")
def contracts_release(
    accept_breaking: Annotated[
        bool, typer.Option("--accept-breaking", help="Release even though a released contract breaks.")
    ] = False,
) -> None:
    """Make the current event schemas and OpenAPI the released contracts (docs/contracts/released/)."""
    from devkit.contracts import BreakingChange, release

    try:
        print(json.dumps(release(accept_breaking=accept_breaking), indent=2))
    except BreakingChange as exc:
        raise _fail(
            f"{exc}\nship it compatibly, or pass --accept-breaking once the deprecation window is over"
        ) from exc


@contracts_app.command("publish")
def contracts_publish() -> None:
    """Publish every event type's schema to the running cloud's schema registry (marquee-events)."""
    from devkit.contracts import publish

    print(json.dumps(publish(_client("schemas", require_cloud().endpoint_url)), indent=2))


# ---- projections (CQRS read models) ----------------------------------------------------------------------------------
projections_app = typer.Typer(help="The CQRS read models: status, lag and rebuild.", no_args_is_help=True)
app.add_typer(projections_app, name="projections")


def _read_models() -> Any:
    from devkit.projections import data_api

    running = require_cloud()
    outputs = state.read_outputs()
    if not outputs:
        raise _fail("the stack is not deployed: run `marquee deploy` first")
    return data_api(running.endpoint_url, outputs)


@projections_app.command("status")
def projections_status(
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Each read model's generations, the event log, and the commit-to-read-model lag of the last events."""
    from devkit.projections import status

    report = status(_read_models())
    if as_json:
        print(json.dumps(report, indent=2, default=str))
        return
    table = Table("read model", "generation", "state")
    for generation in report["generations"]:
        table.add_row(generation["projection"], str(generation["generation"]), generation["state"])
    console.print(table)
    lag = report["lagMs"]
    console.print(
        f"{report['eventsLogged']:,} events projected; lag over the last {lag['events']}: "
        f"p50 {lag['p50']:.0f} ms, p99 {lag['p99']:.0f} ms, max {lag['max']:.0f} ms"
    )


@projections_app.command("rebuild")
def projections_rebuild(
    name: Annotated[str, typer.Argument(help="availability, orders or sales")],
) -> None:
    """Replay the event log into a new generation beside the live one, prove them equal, and swap it in (no
    downtime: reads go on through the views)."""
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from marquee.projections.rebuild import RebuildError, rebuild

    api = _read_models()
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=console) as progress:
        task = progress.add_task(f"{name}: replaying", total=None)
        try:
            report = rebuild(
                api, name, progress=lambda n: progress.update(task, description=f"{name}: {n:,} events replayed")
            )
        except RebuildError as exc:
            raise _fail(str(exc)) from exc
    console.print(
        f"{name}: generation {report.new_generation} is live (was {report.old_generation}); "
        f"{report.events_replayed:,} events replayed in {report.replay_seconds:.2f} s; compared and swapped in "
        f"{report.swap_seconds * 1000:.0f} ms; rows {report.rows}; differences {report.differences}"
    )


# ---- the seat race ----------------------------------------------------------------------------------------------------
def console_url(endpoint_url: str, page: str = "") -> str:
    """The local cloud's web console (localcloud/console), at one of its pages (``#panel/seat-map/...``)."""
    return f"{endpoint_url}/_localcloud/console/{page}"


@app.command("race")
def race_command(
    showtime: Annotated[str, typer.Argument(help="A showtime id, or `new` for a fresh showtime of tenant `race`.")],
    seat: Annotated[str, typer.Argument(help="The seat every racer asks for, e.g. A1.")],
    racers: Annotated[int, typer.Option(min=1, max=2000, help="Concurrent customers.")] = 200,
    concurrency: Annotated[int, typer.Option(min=1, max=200, help="Requests in flight at once.")] = 48,
    tenant: Annotated[str | None, typer.Option(help="The showtime's tenant (found by a scan when omitted).")] = None,
) -> None:
    """Race RACERS holds of one seat through the front door (exactly one wins); watch it in the console's seat map."""
    from devkit.race import RaceError, race

    running = require_cloud()
    outputs = state.read_outputs()
    if not outputs:
        raise _fail("the stack is not deployed: run `marquee deploy` first")
    try:
        result = race(
            running.endpoint_url, outputs, showtime=showtime, seat=seat, racers=racers, concurrency=concurrency,
            tenant=tenant,
        )  # fmt: skip
    except RaceError as exc:
        raise _fail(str(exc)) from exc
    counts = ", ".join(f"{n} x {status}" for status, n in sorted(result.statuses.items()))
    console.print(
        f"{result.racers} racers for {result.seat} of {result.showtime_id} in {result.seconds:.1f} s: {counts}"
    )
    if result.winner:
        console.print(f"winner: hold {result.winner['holdId']}, fencing token {result.winner['seats'][0]['fence']}")
    page = f"#panel/seat-map/{result.showtime_id}/{result.tenant}"
    console.print(f"seat map: {console_url(running.endpoint_url, page)}")
    if result.winners != 1:
        raise typer.Exit(1)


# ---- expand and contract: the backfill ---------------------------------------------------------------------------------
@app.command("migrate-items")
def migrate_items_command(
    kind: Annotated[str, typer.Argument(help="What to migrate: holds (their seats list -> the seat_fences map).")],
    rate: Annotated[float, typer.Option(min=0.1, max=10_000, help="Writes a second, at most.")] = 50.0,
    page_size: Annotated[int, typer.Option(min=1, max=1000, help="Items read per Scan page.")] = 100,
    max_pages: Annotated[int | None, typer.Option(min=1, help="Stop after this many pages (resume later).")] = None,
    verify: Annotated[bool, typer.Option("--verify", help="Only count old-shape items; exit 1 if any remain.")] = False,
) -> None:
    """Backfill old-shape items into the new shape (resumable, idempotent, paced, conditional), or --verify that
    none remain before a contract deploy (docs/design/02-zero-downtime-deploys.md)."""
    from devkit.migrate_items import KINDS, MigrationNotPossible, count_old_holds, migrate_holds

    if kind not in KINDS:
        raise _fail(f"unknown kind {kind!r}: expected one of {', '.join(KINDS)}", code=2)
    running = require_cloud()
    outputs = state.read_outputs()
    if not outputs:
        raise _fail("the stack is not deployed: run `marquee deploy` first")
    try:
        if verify:
            left = count_old_holds(running.endpoint_url, outputs)
            console.print(f"{kind}: {left} item(s) in the old shape" + ("; safe to contract" if left == 0 else ""))
            if left:
                raise typer.Exit(1)
            return

        def progress(report: Any) -> None:
            console.print(
                f"page {report.pages}: scanned {report.scanned}, old {report.matched}, migrated {report.migrated}, "
                f"already new {report.already}, gone {report.gone}, re-read {report.reread}"
            )

        report = migrate_holds(
            running.endpoint_url, outputs, rate=rate, page_size=page_size, max_pages=max_pages, progress=progress
        )
    except MigrationNotPossible as exc:
        raise _fail(str(exc)) from exc
    state_word = "complete" if report.complete else "stopped; run again to resume"
    console.print(
        f"{kind}: {state_word}{' (resumed)' if report.resumed else ''}: migrated {report.migrated} of {report.matched} "
        f"old item(s) in {report.pages} page(s)"
    )


# ---- shards (tenant sharding) ----------------------------------------------------------------------------------------
shards_app = typer.Typer(help="Tenant shards: status, moving a tenant, balance.", no_args_is_help=True)
app.add_typer(shards_app, name="shards")
ControlTableOption = Annotated[str | None, typer.Option(help="The control table (default: the stack's output).")]
TablesOption = Annotated[str | None, typer.Option(help="Shard tables, comma-separated, s0 first (default: outputs).")]


@shards_app.command("status")
def shards_status(
    control_table: ControlTableOption = None,
    tables: TablesOption = None,
    window: Annotated[float, typer.Option(help="Seconds of stream records counted as load.")] = 300.0,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Tenants, items and recent writes per shard, moves in flight, and the moves a balance would suggest."""
    from devkit.shards import ShardsNotConfigured, status_report

    try:
        report = status_report(
            require_cloud().endpoint_url, state.read_outputs(), control_table=control_table, tables=tables,
            window_s=window,
        )  # fmt: skip
    except ShardsNotConfigured as exc:
        raise _fail(str(exc)) from exc
    if as_json:
        print(json.dumps(report, indent=2, default=str))
        return
    table = Table("shard", "role", "table", "tenants", "items", f"writes/{window:.0f}s", "top tenants",
                  "read-model rows")  # fmt: skip
    for row in report["shards"]:
        top = ", ".join(f"{t} {n}" for t, n in row["topTenants"])
        table.add_row(row["shard"], row["role"], row["table"], str(row["tenants"]), str(row["items"]),
                      str(row["writesInWindow"]), top, str(row["readModels"]["schema_rows"]))  # fmt: skip
    console.print(f"shard map version {report['mapVersion']}; moving: {report['moving'] or 'none'}")
    console.print(table)
    for s in report["suggestions"]:
        console.print(f"suggest: marquee shards move {s['tenant']} --to {s['target']}  "
                      f"({s['source']}: {s['writes']} writes, {s['items']} items)")  # fmt: skip
    for e in report["readModelsElsewhere"]:
        console.print(f"read models of {e['tenant']} are on {e['readModels']}, its items on {e['items']}: "
                      f"marquee shards move {e['tenant']} --to {e['items']} moves only the read models")  # fmt: skip


@shards_app.command("move")
def shards_move(
    tenant: Annotated[str, typer.Argument(help="The tenant to move.")],
    to: Annotated[str, typer.Option("--to", help="The target shard (s0, s1, ...).")] = "",
    silo: Annotated[bool, typer.Option(help="Pin the tenant to this shard as a silo (off the ring).")] = False,
    abort: Annotated[bool, typer.Option(help="Roll back the tenant's unfinished move instead.")] = False,
    control_table: ControlTableOption = None,
    tables: TablesOption = None,
) -> None:
    """Move TENANT to another shard under live traffic (or resume its unfinished move), showing each step."""
    from devkit.shards import ShardsNotConfigured, move_tenant

    def progress(step: str, record: dict[str, Any]) -> None:
        copied = f" ({record.get('copied', 0):,} items copied)" if step in ("COPYING", "COPIED") else ""
        console.print(f"  {tenant}: {step}{copied}")

    if not to and not abort:
        raise _fail("say where: --to SHARD (or --abort)")
    try:
        report = move_tenant(
            require_cloud().endpoint_url, state.read_outputs(), tenant, to, control_table=control_table,
            tables=tables, silo=silo, abort=abort, progress=progress,
        )  # fmt: skip
    except ShardsNotConfigured as exc:
        raise _fail(str(exc)) from exc
    console.print(
        f"{tenant}: {report.state} ({report.source} -> {report.target}); {report.items:,} items verified "
        f"(checksum {report.checksum or '-'}); fence {report.fence_ms:.0f} ms; {report.applied} stream records "
        f"applied; {report.repaired} repaired; {report.late} late; {report.deleted} deleted; {report.total_s:.1f} s"
    )
    if report.read_model_rows:
        console.print(
            f"  read models: {sum(report.read_model_rows.values()):,} rows copied to {report.target}'s schema and "
            f"checked in {report.read_model_s * 1000:.0f} ms; {report.read_model_rows_deleted:,} deleted from "
            f"{report.source}'s"
        )


# ---- demo -------------------------------------------------------------------------------------------------------------
@app.command("demo")
def demo(port: PortOption = 4566) -> None:
    """Start the local cloud, deploy with the real CDK CLI and run the scenario tour."""
    from devkit.tour import run_tour

    if state.running_cloud() is None:
        _start_detached(port, 10.0)
    console.print("deploying the stack with the real CDK CLI (bootstrap first on a new cloud)...")
    deploy_command(port, quiet=True)
    running = require_cloud()
    console.print(f"watch it live in the console: {console_url(running.endpoint_url)}")
    passed, failed = run_tour(running.endpoint_url, console)
    console.print(f"demo: {passed} scenarios passed, {failed} failed")
    console.print("the local cloud is still running: try the README's curl examples, and `make down` to stop it")
    console.print(f"console: {console_url(running.endpoint_url)} (seat map, order journeys, flags, breakers)")
    if failed:
        raise typer.Exit(1)


@app.command("import")
def import_command(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="A .csv, .ndjson or .jsonl file, or .gz.")],
    kind: Annotated[str, typer.Option(help="showtimes, movies or cinemas.")],
    tenant: Annotated[str, typer.Option(help="The tenant to import into.")] = "demo",
    user: Annotated[str, typer.Option(help="The staff user who imports.")] = "importer",
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Validate only: a report, never a write.")] = False,
    workers: Annotated[int, typer.Option(min=1, max=16, help="Parts uploaded in parallel.")] = 4,
) -> None:
    """Upload FILE to S3 with presigned multipart URLs (parts in parallel, resumable: run it again after an
    interruption), then follow the job until its validation, and publishing, end."""
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn

    from devkit.identity import ApiClient, IdentityError, token_for
    from devkit.imports import ImportError_, upload, wait

    running = require_cloud()
    outputs = state.read_outputs()
    if not outputs:
        raise _fail("the stack is not deployed: run `marquee deploy` first")
    api = ApiClient(running.endpoint_url, outputs)
    try:
        token = token_for(running.endpoint_url, tenant=tenant, user=user, group="staff", outputs=outputs)
        with Progress(
            TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TransferSpeedColumn(), console=console
        ) as progress:
            task = progress.add_task(f"upload {file.name}", total=file.stat().st_size)
            import_id, resumed = upload(
                api, token, file, kind=kind, tenant=tenant, dry_run=dry_run, workers=workers,
                on_bytes=lambda n: progress.advance(task, n),
            )  # fmt: skip
            validating = progress.add_task("validate", total=file.stat().st_size)
            view = wait(
                api, token, import_id, on_status=lambda v: progress.update(validating, completed=v["validatedBytes"])
            )
    except (IdentityError, ImportError_) as exc:
        raise _fail(str(exc)) from exc
    console.print(
        f"import {import_id}{' (resumed)' if resumed else ''}: {view['status']}, {view['rows']:,} rows, "
        f"{view['invalidRows']:,} invalid, {view['publishedRows']:,} written, {view['alreadyPresentRows']:,} already there"
    )
    if view["rejected"]:
        console.print(f"  rejected: {view['rejected']['detail']} (line {view['rejected']['line']})")
    for error in view["errors"]:
        console.print(f"  line {error['line']}: {error['field']}: {error['reason']}")
    if view["reportUrl"]:
        console.print(f"  full report: {view['reportUrl']}")
    if view["status"] == "FAILED":
        raise typer.Exit(1)


@app.command("seed")
def seed_command(
    tenants: Annotated[int, typer.Option(min=1, max=20, help="Tenants to create (seed-1, seed-2, ...).")] = 3,
    showtimes: Annotated[int, typer.Option(min=1, max=500, help="Showtimes per tenant.")] = 50,
    search_docs: Annotated[
        int | None,
        typer.Option(
            "--search-docs",
            min=1000,
            max=5_000_000,
            help="Instead: bulk-load N search documents for tenant `bulk` (plus `bulk-pt` and `bulk-small`) with COPY.",
        ),
    ] = None,
) -> None:
    """Create realistic catalog data through the deployed API (staff tokens, the real request path), or with
    --search-docs a search corpus straight into the cluster's database (the bulk path)."""
    running = require_cloud()
    outputs = state.read_outputs()
    if not outputs:
        raise _fail("the stack is not deployed: run `marquee deploy` first")
    if search_docs is not None:
        _seed_search_docs(running.endpoint_url, outputs, search_docs)
        return
    from devkit.seed import SeedError, seed

    try:
        report = seed(running.endpoint_url, outputs, tenants=tenants, showtimes=showtimes, console=console)
    except SeedError as exc:
        raise _fail(str(exc)) from exc
    console.print(
        f"seeded {report.tenants} tenants: {report.cinemas} cinemas, {report.auditoriums} auditoriums, "
        f"{report.movies} movies, {report.showtimes} showtimes, {report.seats} seats"
    )


def _seed_search_docs(endpoint_url: str, outputs: dict[str, str], documents: int) -> None:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from devkit.search_corpus import default_corpora, load, local_conninfo

    corpora = default_corpora(documents)
    try:
        conninfo = local_conninfo(endpoint_url, outputs)
    except (RuntimeError, KeyError, OSError) as exc:
        raise _fail(str(exc)) from exc
    with Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console
    ) as progress:
        task = progress.add_task("search documents", total=sum(c.documents for c in corpora))
        report = load(
            conninfo,
            corpora,
            on_rows=lambda n: progress.advance(task, n),
            on_phase=lambda phase: progress.update(task, description=phase),
        )
    for corpus in corpora:
        console.print(f"  {corpus.tenant_id}: {corpus.documents:,} documents ({corpus.language})")
    console.print(
        f"loaded {report.documents:,} search documents in {report.total_seconds:.1f} s "
        f"(COPY {report.copy_seconds:.1f} s, indexes and ANALYZE {report.index_seconds:.1f} s)"
    )


def main() -> None:
    app()


if __name__ == "__main__":
    main()
