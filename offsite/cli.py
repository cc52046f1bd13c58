"""``offsite``: the command line. Every command has --help; only commands that work are here."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import getpass
import json
import logging
import signal
import sys
from collections.abc import Callable, Coroutine
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from cases.clock import Clock
from cases.errors import OffsiteError
from cases.model.staff import Role
from cases.model.training_job import JobStatus
from offsite.config_files import ConfigError
from offsite.settings import SHIPPED_MODEL, Settings

if TYPE_CHECKING:
    from cases.law import Law
    from cases.services.base import Actor
    from evidence_store.store import EvidenceStore, Verification
    from offsite.bootstrap import Components
    from offsite.demo_learning import LearningSummary
    from vision.capture import CapturedEvidence
    from vision.events import ViolationEvent

T = TypeVar("T")
app = typer.Typer(help="offsite — non-site enforcement for city management (城管非现场执法).", no_args_is_help=True)
db_app = typer.Typer(help="The case database: migrations.", no_args_is_help=True)
users_app = typer.Typer(help="Staff accounts.", no_args_is_help=True)
config_app = typer.Typer(help="The law's configuration files.", no_args_is_help=True)
model_app = typer.Typer(help="The detector: generated data, training, export and evaluation.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(users_app, name="users")
app.add_typer(config_app, name="config")
app.add_typer(model_app, name="model")
bench_app = typer.Typer(help="Benchmarks: figures against a baseline measured in the same run.", no_args_is_help=True)
app.add_typer(bench_app, name="bench")
camera_app = typer.Typer(help="The camera pipeline: from stream to violation events.", no_args_is_help=True)
app.add_typer(camera_app, name="camera")
evidence_app = typer.Typer(help="Sealed evidence: keys, sealing, verification, export.", no_args_is_help=True)
app.add_typer(evidence_app, name="evidence")
keys_app = typer.Typer(help="The instance's Ed25519 signing keys.", no_args_is_help=True)
evidence_app.add_typer(keys_app, name="keys")


class StaffRole(StrEnum):
    """The roles a staff account may hold: ``Role`` without those no one signs in as (system, party)."""

    OPERATOR = Role.OPERATOR.value
    OFFICER = Role.OFFICER.value
    LEGAL_REVIEWER = Role.LEGAL_REVIEWER.value
    SUPERVISOR = Role.SUPERVISOR.value
    ADMIN = Role.ADMIN.value
    MODEL_STEWARD = Role.MODEL_STEWARD.value


def _print_version(asked: bool) -> None:
    if asked:
        from importlib.metadata import version

        typer.echo(f"offsite {version('offsite')}")
        raise typer.Exit()


@app.callback()
def _main(
    show_version: Annotated[
        bool,
        typer.Option("--version", help="Print the version and exit", callback=_print_version, is_eager=True),
    ] = False,
) -> None:
    """offsite — non-site enforcement for city management (城管非现场执法)."""


def _configured(settings: Settings | None = None) -> Settings:
    """The environment's settings, the logging configured by them; a settings problem told with exit code 2."""
    from offsite.logs import configure_logging

    try:
        settings = settings or Settings()
    except ValueError as exc:
        typer.secho(f"offsite: cannot start: {exc}", fg="red", err=True)
        raise typer.Exit(2) from exc
    configure_logging(settings.log_level, settings.log_format == "json")
    return settings


def _components() -> Components:
    """The parts a command works on, on a reachable and migrated database (``offsite.roles.ready_parts``): a
    configuration problem, a database that cannot be reached or one not migrated yet is told with exit code 2 and
    what to do, never a traceback from the first query."""
    from offsite import roles

    configured = _configured()
    return _started(lambda: roles.ready_parts(configured))


def _unmigrated_components() -> Components:
    """The parts, whatever the database's migration (``offsite db upgrade`` and ``offsite db current`` need them)."""
    from offsite import roles

    configured = _configured()
    return _started(lambda: roles.parts(configured))


def _started(start: Callable[[], T]) -> T:
    """What a role's assembly returns, or its reason for not starting, told with exit code 2."""
    from offsite import roles

    try:
        return start()
    except roles.CannotStart as exc:
        typer.secho(f"offsite: {exc}", fg="red", err=True)
        raise typer.Exit(2) from exc


def _fail(exc: OffsiteError) -> typer.Exit:
    typer.secho(f"offsite: {exc.code}: {exc.message}", fg="red", err=True)
    return typer.Exit(1)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply every migration to the configured database (OFFSITE_DATABASE_URL)."""
    from cases.persistence.migrate import MigrationRefused
    from offsite.bootstrap import prepare_database

    components = _unmigrated_components()
    try:
        prepare_database(components)
    except MigrationRefused as exc:
        typer.secho(f"offsite: the database was not upgraded: {exc}", fg="red", err=True)
        raise typer.Exit(1) from exc
    typer.echo(f"database at {components.engine.url.render_as_string(hide_password=True)} is up to date")


@db_app.command("current")
def db_current() -> None:
    """Show the database's migration revision and the code's."""
    from cases.persistence import migrate

    components = _unmigrated_components()
    typer.echo(
        f"database: {migrate.current_revision(components.engine)}  code: {migrate.head_revision(components.engine)}"
    )


@config_app.command("check")
def config_check(
    config_dir: Annotated[Path | None, typer.Option(help="Folder of YAML configs (default: the settings')")] = None,
    on: Annotated[
        dt.datetime | None,
        typer.Option(formats=["%Y-%m-%d"], help="Count deadlines from this day (default: today, local time)"),
    ] = None,
) -> None:
    """Validate the law's configs; print what they define. Exit code 2 names the file and field at fault.

    Also names each calendar year a deadline counted from today reaches, and where its holidays come from; a
    year whose holiday arrangement is missing is named in a warning (deadlines reaching it are provisional)."""
    from cases.law import Law
    from offsite.config_files import load_law

    folder = config_dir or Settings().config_dir
    try:
        law = Law(load_law(folder))
    except ConfigError as exc:
        typer.secho(str(exc), fg="red", err=True)
        raise typer.Exit(2) from exc
    for violation in law.config.catalogue.violations:
        typer.echo(
            f"{violation.code:36} {violation.name:16} {violation.fine_min_yuan}–{violation.fine_max_yuan} 元  "
            f"{_listing(violation.listed_for_non_site)}"
        )
    for candidate in law.config.catalogue.candidates:
        typer.echo(
            f"{candidate.code:36} {candidate.name:16} review candidate (待审核认定): confirmed only as the violation "
            "its reviewer classifies it as; never a case by itself"
        )
    _echo_calendar(law, on.date() if on is not None else Clock(Settings().tz).today())


def _echo_calendar(law: Law, today: dt.date) -> None:
    """Where each year's holidays come from, from last year to the furthest a deadline counted today reaches."""
    for year in range(today.year - 1, law.furthest_due(today).year + 1):
        source = law.calendar.source_of(year)
        typer.echo(f"calendar {year}: {source or 'MISSING'}")
    warning = law.calendar_warning(today)
    if warning is not None:
        typer.secho(f"warning: {warning}", fg="yellow")


def _listing(listed: bool) -> str:
    """What the catalogue's ``listed_for_non_site`` means for a case, said in full."""
    if listed:
        return "on the non-site enforcement list (列入非现场执法事项清单): may become a non-site case"
    return "not on the non-site enforcement list (未列入非现场执法事项清单): reviewed, never a non-site case"


@users_app.command("create")
def users_create(
    username: str,
    role: Annotated[StaffRole, typer.Option(help="The account's role (staff roles only)")],
    display_name: Annotated[str, typer.Option(help="Name shown in the console and the case record")],
) -> None:
    """Create a staff account; the password is asked for (or read from OFFSITE_NEW_PASSWORD)."""
    import os

    password = os.environ.get("OFFSITE_NEW_PASSWORD") or getpass.getpass("password: ")
    try:
        user = _components().accounts.create_user(username, display_name, Role(role), password)
    except OffsiteError as exc:
        raise _fail(exc) from exc
    typer.echo(f"created {user.username} ({user.role.value})")


@users_app.command("unlock")
def users_unlock(username: str) -> None:
    """Lift an account's sign-in lock-out after wrong passwords (recorded as lifted by the operating system user)."""
    try:
        user = _components().accounts.unlock(username, f"cli:{getpass.getuser()}")
    except OffsiteError as exc:
        raise _fail(exc) from exc
    typer.echo(f"unlocked {user.username}: its wrong passwords so far no longer count")


@app.command("import")
def import_csv(
    kind: Annotated[str, typer.Argument(help="merchants, sites, cameras or zones")],
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    allow_partial: Annotated[bool, typer.Option(help="Import the good rows even if some are rejected")] = False,
    reason: Annotated[
        str, typer.Option(help="cameras from a YAML file: why, kept with each new version")
    ] = "imported from a cameras file",
) -> None:
    """Bulk import a registry from CSV (UTF-8, header row). All-or-nothing unless --allow-partial.

    `offsite import cameras FILE.yaml` takes a cameras file (as `serve --cameras` reads) into the database instead:
    each camera's source, zones and rules as its next configuration version, validated as the pipeline reads it;
    an unchanged camera makes no version, and one bad camera (or one the registry lacks) saves nothing.
    `offsite serve --cameras-from-db` runs them and takes up new versions without a restart."""
    if kind == "cameras" and file.suffix.lower() in (".yaml", ".yml"):
        _import_camera_configs(file, reason)
        return
    try:
        report = _components().imports.import_csv(kind, file.read_bytes(), allow_partial)
    except OffsiteError as exc:
        raise _fail(exc) from exc
    for row in report.rejected:
        typer.secho(f"line {row.line} ({row.key}): {row.error}", fg="yellow", err=True)
    typer.echo(
        f"{kind}: {report.inserted} inserted, {report.updated} updated, {len(report.rejected)} rejected"
        + ("" if report.written else " — nothing written")
    )
    if not report.written:
        raise typer.Exit(1)


@app.command("notify")
def notify() -> None:
    """Send the pending notifications of the outbox through the channel adapters once."""
    from cases.services import notifications

    components = _components()
    sent, failed = notifications.dispatch(components.session_factory, components.channels, components.clock.now())
    typer.echo(f"sent {sent}, failed {failed} (failed ones stay pending)")


@app.command("serve")
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port")] = 8000,
    cameras: Annotated[
        Path | None, typer.Option(exists=True, dir_okay=False, help="Also run these cameras' pipelines")
    ] = None,
    model: Annotated[
        Path | None,
        typer.Option(help="ONNX model for the cameras, pinned (default: the registry's active model, followed)"),
    ] = None,
    cameras_from_db: Annotated[
        bool,
        typer.Option("--cameras-from-db", help="Run the cameras saved in the database (offsite import cameras)"),
    ] = False,
    cluster: Annotated[
        bool,
        typer.Option(
            "--cluster",
            help="An API node of a cluster: gateways' pushed frames go to the worker holding the camera, via NATS",
        ),
    ] = False,
) -> None:
    """Serve the API (and OpenAPI docs at /docs). The database must be migrated (offsite db upgrade).

    With --cameras FILE (or --cameras-from-db) the same process runs the camera pipelines: pushed frames reach them
    through the gateway routes, and a gateway's newly registered stream address is pulled at once. They run the
    model registry's active model (the shipped one on a new registry) and take up a newly promoted one without a
    restart; from the database, a camera's newly saved configuration is taken up without a restart too.

    With --cluster it is one of a cluster's API nodes (docs/deployment.md): it runs no camera; a frame a gateway
    pushes goes to the `offsite worker` holding the camera's lease, through NATS (OFFSITE_NATS_URL), and is
    answered as that worker's pipeline answers it."""
    from offsite import roles

    if cameras is not None and cameras_from_db:
        typer.secho("offsite: give --cameras FILE or --cameras-from-db, not both", fg="red", err=True)
        raise typer.Exit(2)
    if cluster and (cameras is not None or cameras_from_db):
        typer.secho("offsite: an API node of a cluster (--cluster) runs no camera: its workers do", fg="red", err=True)
        raise typer.Exit(2)
    components = _components()
    if cameras is not None or cameras_from_db:
        from offsite.model_registry import active_model_file

        pinned = model or active_model_file(components, _cli_actor())
        components.cameras = _started(lambda: roles.serving_cameras(components, cameras, pinned))
        try:
            components.cameras.start()
        except OffsiteError as exc:  # a camera of the file the registry does not know, say
            components.close()
            raise _fail(exc) from exc
    running = components.cameras is not None
    roles.serve(components, host, port, follow_models=running and model is None, follow_configs=cameras_from_db,
                cluster=cluster)  # fmt: skip


@app.command("worker")
def worker(
    worker_id: Annotated[
        str | None, typer.Option("--id", help="This worker's name (default: host and process)")
    ] = None,
    model: Annotated[Path | None, typer.Option(help="ONNX model (default: the registry's active model)")] = None,
) -> None:
    """Run camera pipelines as one worker of many (issue 16): take the cameras this worker owns by lease in NATS
    JetStream (OFFSITE_NATS_URL), run them as saved in the database, and send their events to the sealer. A
    worker that dies gives its cameras up to the others within the lease time (OFFSITE_LEASE_S)."""
    from offsite import roles
    from offsite.cluster.worker import worker_id_default

    components = _components()
    running = _started(lambda: roles.camera_worker(components, worker_id or worker_id_default(), model))
    _run_until_signalled(running.run(), running.stopping)
    components.close()


@app.command("sealer")
def sealer(
    name: Annotated[str | None, typer.Option("--id", help="This sealer's name (default: host and process)")] = None,
) -> None:
    """Seal what the camera workers send (issue 16): the evidence log's single writer. One sealer seals at a time;
    another started beside it waits and takes over within the lease time when the first stops."""
    from offsite import roles
    from offsite.cluster.worker import worker_id_default

    components = _components()
    stopping = asyncio.Event()
    _run_until_signalled(roles.sealer(components, name or worker_id_default(), stopping), stopping)
    components.close()


@app.command("scheduler")
def scheduler(
    name: Annotated[str | None, typer.Option("--id", help="This scheduler's name (default: host and process)")] = None,
) -> None:
    """Run the cluster's periodic work (issue 16): automatic re-checks of cases past their rectification deadline
    (every OFFSITE_RECHECK_EVERY_S, their key frames sealed by the sealer), reconciliation of sealed packages, and
    notification dispatch. Re-checks run the registry's active model, a newly promoted one taken up between rounds.
    One scheduler works at a time; another started beside it waits and takes over within the lease time when the
    first stops."""
    from offsite import roles
    from offsite.cluster.worker import worker_id_default

    components = _components()
    stopping = asyncio.Event()
    _run_until_signalled(_started(lambda: roles.scheduler(components, name or worker_id_default(), stopping)), stopping)
    components.close()


def _run_until_signalled(work: Coroutine[Any, Any, None], stopping: asyncio.Event) -> None:
    """Run a role's loop until SIGTERM or SIGINT asks it to stop (it then finishes what it holds and gives it up)."""

    async def main() -> None:
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stopping.set)
        await work

    asyncio.run(main())


def _learning_line(learned: LearningSummary) -> str:
    said = f"  learning loop: {learned.labelled_frames} reviewed frames labelled, {learned.golden_frames} frozen as the exam"
    if learned.job is not None:
        said += f"; training job {learned.job} {learned.job_status}"
    if learned.candidate is not None:
        verdict = "promoted" if learned.promoted else "refused by the gate"
        said += f"; candidate {learned.candidate[:12]} {verdict}" + "".join(f"\n    {r}" for r in learned.reasons[:6])
    if learned.problem:
        said += f"\n    stopped short: {learned.problem}"
    return said + "\n    (see /console/models as admin)"


@app.command("demo")
def demo(
    once: Annotated[bool, typer.Option("--once", help="Build the demo data, print a summary, do not serve")] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the summary as one JSON object on the last line")
    ] = False,
    host: Annotated[str, typer.Option(help="Address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port")] = 8000,
    folder: Annotated[
        Path | None, typer.Option("--dir", help="Where the demo database lives (default var/demo)")
    ] = None,
    learning: Annotated[
        bool,
        typer.Option(
            help="Walk the learning loop: the reviews into a short CPU training, its candidate before the gate"
        ),
    ] = True,
) -> None:
    """Build a fresh demo database (SQLite, var/demo/) with registries, detections and cases walked through the
    law's stages, then serve the API on it."""
    from offsite import roles
    from offsite.demo import DEMO_ACCOUNTS, DEMO_PASSWORD, run_demo
    from offsite.logs import configure_logging

    configure_logging("warning", json_lines=False)
    components, summary = run_demo(folder, learning=learning)
    logging.getLogger().setLevel(logging.INFO)  # the demo's own steps are quiet; the server's requests are not
    if as_json:
        typer.echo(json.dumps(summary.as_json(), ensure_ascii=False))
    else:
        typer.echo(f"Demo database: {components.engine.url.database}")
        events = ", ".join(f"{n} {code}" for code, n in summary.events.items())
        typer.echo(
            f"  cameras found {events} (ground truth {summary.ground_truth}); {summary.detections} detections "
            f"({summary.pending_review} waiting for review); {summary.packages_sealed} evidence packages sealed "
            f"({summary.documents_sealed} of them documents), all verify: {summary.verify_ok}; cases by stage "
            f"{summary.cases}; {summary.notifications_sent} notifications sent through the logging adapter; "
            f"{summary.seconds:.0f} s."
        )
        if summary.learning is not None:
            typer.echo(_learning_line(summary.learning))
    if once:
        components.close()
        return
    base = f"http://{host}:{port}"
    typer.echo(f"\nThe console: {base}/console/   ·   the party's page: {base}/party   ·   API docs: {base}/docs")
    typer.echo("Demo accounts (password for each: " + DEMO_PASSWORD + "):")
    for role, (username, name) in DEMO_ACCOUNTS.items():
        typer.echo(f"  {role.value:15} {username:12} {name}")
    typer.echo(f"  {'admin':15} {'admin':12} 系统管理员 (password: OFFSITE_ADMIN_PASSWORD, default offsite-admin)")
    for login in summary.party_logins:
        typer.echo(f"Party page: case {login['case_number']}  code {login['code']}  ({login['party']})")
    typer.echo("Press Ctrl+C to stop.")
    sys.stdout.flush()
    roles.serve(components, host, port)


dataset_app = typer.Typer(
    help="Training datasets: generated street scenes, and the operators' reviews of real detections.",
    no_args_is_help=True,
)
model_app.add_typer(dataset_app, name="dataset")


@dataset_app.command("generate")
def model_dataset(
    out: Annotated[Path, typer.Option(help="Folder to write (must be new or empty)")],
    images: Annotated[int, typer.Option(help="How many images")] = 1000,
    val_fraction: Annotated[float, typer.Option(help="Share of images held out for validation")] = 0.2,
    imgsz: Annotated[int, typer.Option(help="Image width in pixels (height 9/16 or 3/4 of it)")] = 640,
    seed: Annotated[int, typer.Option(help="Seed: the same seed writes the same dataset")] = 0,
) -> None:
    """Generate a labelled YOLO dataset of street scenes (images/, labels/, data.yaml)."""
    from rich.progress import Progress

    from vision.synthetic import DatasetSpec, SyntheticInputError, write_dataset

    try:
        spec = DatasetSpec(out, images, val_fraction, imgsz, seed)
    except SyntheticInputError as exc:
        typer.secho(f"offsite: {exc}", fg="red", err=True)
        raise typer.Exit(2) from exc
    with Progress(transient=True) as progress:
        task = progress.add_task("rendering scenes", total=images)
        summary = write_dataset(spec, lambda: progress.advance(task))
    typer.echo(
        f"wrote {summary.train_images} train + {summary.val_images} val images to {summary.root} "
        f"in {summary.seconds:.1f} s"
    )
    typer.echo("boxes: " + ", ".join(f"{name} {count}" for name, count in summary.boxes_per_class.items()))
    typer.echo(f"data.yaml: {summary.root / 'data.yaml'}")


@dataset_app.command("export")
def model_dataset_export(
    out: Annotated[Path, typer.Option(help="Folder to write (must be new or empty)")],
    from_reviews: Annotated[
        bool, typer.Option("--from-reviews", help="Every reviewed detection's key frames, labelled by its review")
    ] = False,
    val_fraction: Annotated[float, typer.Option(help="Share of camera-minutes held out for validation")] = 0.2,
    model: Annotated[Path, typer.Option(help="The detector whose classes the labels use")] = SHIPPED_MODEL,
) -> None:
    """Write a YOLO dataset (data.yaml, images/, labels/, provenance.jsonl, report.csv) of the key frames the
    operators reviewed: confirmed detections as labels, rejected ones as hard negatives; split by camera and time,
    so that no camera-minute is in both train and val. The read is logged as a personal-data read."""
    from evidence_store.backends import BackendUnavailable
    from evidence_store.store import EvidenceError
    from offsite import learning
    from vision.manifest import ModelManifest, manifest_path_for
    from vision.review_dataset import ReviewDatasetError, report_rows

    if not from_reviews:
        typer.secho("offsite: say what to export: --from-reviews", fg="red", err=True)
        raise typer.Exit(2)
    try:
        classes = ModelManifest.read(manifest_path_for(model)).classes
    except (OSError, ValueError) as exc:
        typer.secho(f"offsite: {model}: its manifest cannot be read ({exc})", fg="red", err=True)
        raise typer.Exit(2) from exc
    components = _components()
    reader = _cli_actor()
    try:
        summary, found = learning.export(components, reader, out, classes, val_fraction)
    except ReviewDatasetError as exc:
        typer.secho(f"offsite: {exc}", fg="red", err=True)
        raise typer.Exit(2) from exc
    except (EvidenceError, BackendUnavailable) as exc:  # the store stopped answering: nothing was kept
        typer.secho(f"offsite: the evidence store cannot be read now, nothing was written: {exc}", fg="red", err=True)
        raise typer.Exit(1) from exc
    except OffsiteError as exc:
        raise _fail(exc) from exc
    finally:
        components.close()
    typer.echo(
        f"wrote {summary.images['train']} train + {summary.images['val']} val frames of {found.detections} reviewed "
        f"detections to {summary.root} ({summary.hard_negatives} hard negatives)"
    )
    for skip in found.skipped:
        typer.echo(f"skipped detection {skip.detection_id}: {skip.reason}")
    for class_name, camera, side, count in report_rows(summary):
        typer.echo(f"  {side:5}  {camera:24}  {class_name:14} {count}")
    typer.echo(f"data.yaml: {summary.data_yaml}")


@dataset_app.command("import")
def model_dataset_import(
    source: Annotated[
        Path, typer.Argument(help="The labelled data: a YOLO folder, or a COCO, Label Studio or CVAT file")
    ],
    label_format: Annotated[str, typer.Option("--format", help="yolo, coco, labelstudio or cvat")],
    out: Annotated[Path, typer.Option(help="Folder to write (must not exist)")],
    images: Annotated[
        Path | None,
        typer.Option(help="Where the pictures a COCO, Label Studio or CVAT file names lie (default: beside it)"),
    ] = None,
    mapping: Annotated[
        list[str] | None, typer.Option("--map", help="THEIRS=OURS: take their class as ours (repeatable)")
    ] = None,
    drop: Annotated[list[str] | None, typer.Option(help="A class of theirs to leave out (repeatable)")] = None,
    model: Annotated[Path, typer.Option(help="The detector whose classes the labels take")] = SHIPPED_MODEL,
) -> None:
    """Take labelled data in the formats people have into a YOLO dataset of the detector's classes, for a training
    recipe's datasets. Every problem is named by file, line and reason, and a file with any is refused whole."""
    from offsite.learning import told_problem
    from vision.label_import import ImportRefused, LabelFormat, import_labels
    from vision.manifest import ModelManifest, manifest_path_for

    formats = [f.value for f in LabelFormat]
    if label_format not in formats:
        typer.secho(f"offsite: --format {label_format!r} is not one of {', '.join(formats)}", fg="red", err=True)
        raise typer.Exit(2)
    table: dict[str, str | None] = dict.fromkeys(drop or [])
    for pair in mapping or []:
        theirs, sign, ours = pair.partition("=")
        if not sign or not theirs or not ours:
            typer.secho(f"offsite: --map {pair!r} is not THEIRS=OURS", fg="red", err=True)
            raise typer.Exit(2)
        table[theirs] = ours
    try:
        classes = ModelManifest.read(manifest_path_for(model)).classes
        summary = import_labels(source, LabelFormat(label_format), out, classes, images, table)
    except ImportRefused as exc:
        typer.secho(f"offsite: {source}: {len(exc.problems)} problem(s), nothing imported", fg="red", err=True)
        for problem in exc.problems:
            typer.secho(f"  {problem.where}: {told_problem(problem).english}", err=True)
        raise typer.Exit(2) from exc
    except (OSError, ValueError) as exc:
        typer.secho(f"offsite: {exc}", fg="red", err=True)
        raise typer.Exit(2) from exc
    typer.echo(f"imported {summary.images} images into {summary.root}")
    typer.echo("boxes: " + (", ".join(f"{k} {v}" for k, v in summary.boxes_per_class.items()) or "none"))
    if summary.dropped:
        typer.echo("dropped: " + ", ".join(f"{k} {v}" for k, v in summary.dropped.items()))


golden_app = typer.Typer(
    help="Golden sets: reviewed frames frozen as the exam a new model must pass.", no_args_is_help=True
)
model_app.add_typer(golden_app, name="golden")


@golden_app.command("freeze")
def model_golden_freeze(
    dataset: Annotated[Path, typer.Argument(help="A YOLO dataset: a review export (--from-reviews) or an import")],
    out: Annotated[Path, typer.Option(help="Folder to write (must not exist)")],
    side: Annotated[list[str] | None, typer.Option(help="Which sides to take (repeatable; default val)")] = None,
) -> None:
    """Freeze frames as a golden set: copied, and every file listed with its SHA-256, so the exam cannot change."""
    from vision.model_gate import GoldenSetError, freeze

    try:
        frames = freeze(dataset, out, tuple(side or ["val"]))
    except GoldenSetError as exc:
        typer.secho(f"offsite: {exc}", fg="red", err=True)
        raise typer.Exit(2) from exc
    typer.echo(f"froze {frames} frames into {out}")


@model_app.command("register")
def model_register(
    model: Annotated[Path, typer.Argument(help="An exported model (.onnx) with its manifest beside it")],
) -> None:
    """Register a model file as a candidate in the model registry (kept in the model store by its SHA-256)."""
    from offsite.model_registry import RegistryError, register

    components = _components()
    try:
        release, created = register(components, model, _cli_actor())
    except (RegistryError, ValueError) as exc:
        typer.secho(f"offsite: {exc}", fg="red", err=True)
        raise typer.Exit(2) from exc
    finally:
        components.close()
    said = "registered" if created else "already registered"
    typer.echo(f"{said}: {release.sha256[:12]} {release.name} ({release.status.value})")


@model_app.command("registry")
def model_registry() -> None:
    """The model registry: every release, where it stands, and the decisions taken on it."""
    from offsite.model_registry import active_release

    components = _components()
    try:
        active_release(components, _cli_actor())
        for release in components.releases.releases():
            typer.echo(f"{release.sha256[:12]}  {release.status.value:9}  {release.name}  "
                       f"registered {release.registered_at:%Y-%m-%d %H:%M} by {release.registered_by}")  # fmt: skip
            for decision in components.releases.decisions(release.sha256):
                replaced = f" (replacing {decision.replaced[:12]})" if decision.replaced else ""
                typer.echo(f"    {decision.at[:16]}  {decision.action.value}{replaced} by {decision.actor}")
    finally:
        components.close()


@model_app.command("promote")
def model_promote(
    model: Annotated[str, typer.Argument(help="The candidate's SHA-256 (or its first 8 or more digits)")],
    golden: Annotated[Path, typer.Option(help="The golden set (offsite model golden freeze)")],
    real: Annotated[Path | None, typer.Option(help="A folder of real photos with labels.csv, as a second exam")] = None,
    margin: Annotated[float, typer.Option(min=0.0, max=0.5, help="How much worse a class may be")] = 0.02,
) -> None:
    """Put a candidate through the gate: promoted only when it beats the active model on the golden set with no
    class worse than the margin (and none worse on the real photos). The decision and its figures are recorded."""
    from offsite.model_registry import RegistryError, gate, told
    from vision.model_gate import GoldenSetError
    from vision.real_photos import RealPhotoError

    components = _components()
    try:
        result = gate(components, _release_sha(components, model), _cli_actor(), golden, real, margin)
    except (GoldenSetError, RegistryError, RealPhotoError) as exc:
        typer.secho(f"offsite: {exc}", fg="red", err=True)
        raise typer.Exit(2) from exc
    except OffsiteError as exc:
        raise _fail(exc) from exc
    finally:
        components.close()
    for reason in result.verdict.reasons:
        typer.echo(f"  {told(reason).english}")
    if not result.verdict.passed:
        typer.secho(f"refused: {result.release.sha256[:12]} stays {result.release.status.value}", fg="red")
        raise typer.Exit(1)
    typer.echo(f"promoted: {result.release.sha256[:12]} is the active model")


@model_app.command("shadow")
def model_shadow(
    model: Annotated[str, typer.Argument(help="The candidate's SHA-256 (or its first 8 or more digits)")],
    hours: Annotated[float, typer.Option(help="How long it runs beside the active model")] = 24.0,
) -> None:
    """Run a candidate in shadow mode for --hours: beside the active model on every camera of `offsite serve
    --cameras`, its findings recorded, never sealed or queued (taken up within model_poll_s); then the cameras stop
    running it, and its report goes with the gate's decision."""
    components = _components()
    try:
        release = components.releases.shadow(_release_sha(components, model), _cli_actor(), hours)
    except OffsiteError as exc:
        raise _fail(exc) from exc
    finally:
        components.close()
    typer.echo(f"shadow: {release.sha256[:12]} {release.name} runs beside the active model for {hours:g} h")


@model_app.command("shadow-report")
def model_shadow_report(
    model: Annotated[str, typer.Argument(help="The shadow model's SHA-256 (or its first 8 or more digits)")],
) -> None:
    """What the shadow model raised against the active model's detections since shadowing began, and how
    operators decided on those."""
    from offsite.model_registry import shadow_report

    components = _components()
    try:
        report = shadow_report(components, _release_sha(components, model))
    except OffsiteError as exc:
        raise _fail(exc) from exc
    finally:
        components.close()
    typer.echo(f"raised by both, confirmed by the operator:   {report.both_confirmed}")
    typer.echo(f"raised by both, rejected by the operator:    {report.both_rejected}")
    typer.echo(f"raised by both, not yet reviewed:            {report.both_pending}")
    typer.echo(f"raised by the shadow model alone:            {report.shadow_only}")
    typer.echo(f"confirmed, but missed by the shadow model:   {report.missed_confirmed}")
    typer.echo(f"rejected, and not raised by the shadow model: {report.spared_rejected}")
    typer.echo(f"raised by the active model alone, pending:   {report.active_only_pending}")


@model_app.command("rollback")
def model_rollback() -> None:
    """Make the model that was active before the current one active again (recorded)."""
    components = _components()
    try:
        release = components.releases.rollback(_cli_actor())
    except OffsiteError as exc:
        raise _fail(exc) from exc
    finally:
        components.close()
    typer.echo(f"rolled back: {release.sha256[:12]} {release.name} is the active model again")


def _release_sha(components: Components, given: str) -> str:
    """A release's full SHA-256 from its first digits (8 or more), refusing an ambiguous or unknown prefix."""
    known = [r.sha256 for r in components.releases.releases() if r.sha256.startswith(given.lower())]
    if len(given) < 8 or len(known) != 1:
        why = "is too short (8 digits or more)" if len(given) < 8 else f"matches {len(known)} registered models"
        typer.secho(f"offsite: model {given!r} {why}", fg="red", err=True)
        raise typer.Exit(2)
    return known[0]


def _cli_actor() -> Actor:
    """Who runs a command that the record must name: the machine account, acting as an administrator."""
    from offsite import roles

    return roles.machine_actor()


@model_app.command("mix")
def model_mix(
    recipe: Annotated[Path, typer.Option(exists=True, dir_okay=False, help="The mix's recipe (YAML)")],
    out: Annotated[Path, typer.Option(help="Folder to write (must be new or empty)")],
    coco: Annotated[
        Path | None,
        typer.Option(
            help="A COCO model (.pt) whose person and vehicle boxes label what is not boxed (default: the "
            "recipe's pseudo_labels)"
        ),
    ] = None,
    workdir: Annotated[Path, typer.Option()] = Path("var/train"),
) -> None:
    """Mix generated scenes, real photos (less the held-out groups) and real negatives into one YOLO dataset."""
    from vision import training, training_mix

    try:
        mix = training_mix.MixRecipe.read(recipe)
        coco = coco or mix.pseudo_labels
        labeller = _training(lambda: training.coco_pseudo_labeller(coco, workdir)) if coco is not None else None
        summary = training_mix.build(mix, out, labeller)
    except training_mix.MixError as exc:
        from offsite.training_jobs import recipe_problem

        typer.secho(f"offsite: {recipe}: {recipe_problem(exc).english}", fg="red", err=True)
        raise typer.Exit(2) from exc
    typer.echo(f"wrote {summary.train_images} train + {summary.val_images} val images to {summary.root}")
    typer.echo(f"real photos: {len(summary.real_trained)} trained on, {len(summary.real_held_out)} held out")
    typer.echo("boxes: " + ", ".join(f"{name} {count}" for name, count in summary.boxes_per_class.items()))
    typer.echo(f"data.yaml: {summary.data_yaml}")


def _training(call: Callable[[], T]) -> T:
    """Run a training-extra function, turning a missing extra or a refused argument (a missing or unfit initial
    model, say) into a clear message and exit code 2."""
    from vision.training import TrainingUnavailable

    try:
        return call()
    except (TrainingUnavailable, ValueError) as exc:
        typer.secho(f"offsite: {exc}", fg="red", err=True)
        raise typer.Exit(2) from exc


@model_app.command("train")
def model_train(
    data: Annotated[
        Path | None, typer.Argument(exists=True, dir_okay=False, help="A YOLO data.yaml: train here, in the foreground")
    ] = None,
    recipe: Annotated[
        Path | None,
        typer.Option(exists=True, dir_okay=False, help="A training recipe: train it as a job, in the background"),
    ] = None,
    wait: Annotated[bool, typer.Option("--wait", help="With --recipe: follow the job until it ends")] = False,
    workdir: Annotated[Path, typer.Option(help="Where runs and weights go")] = Path("var/train"),
    epochs: Annotated[int, typer.Option(min=1, help="Training epochs (from scratch)")] = 40,
    imgsz: Annotated[int, typer.Option(min=32, help="Input size, a multiple of 32")] = 320,
    batch: Annotated[int, typer.Option(min=1)] = 16,
    seed: Annotated[int, typer.Option()] = 0,
    hours: Annotated[float | None, typer.Option(min=0.01, help="Train for this long instead of --epochs")] = None,
    threads: Annotated[int | None, typer.Option(min=1, help="CPU threads (default: cores minus one)")] = None,
    initial: Annotated[
        Path | None, typer.Option(help="Continue from this model: a .pt, or an exported .onnx with its manifest")
    ] = None,
    freeze: Annotated[
        int, typer.Option(min=0, help="With --initial: keep its first N layers as they are (10: the backbone)")
    ] = 0,
) -> None:
    """Train the detector offline. With --recipe: a job in the background (its dataset, the training on CUDA or
    the CPU, the export and a candidate in the registry), followed with `offsite model jobs show`, cancelled with
    `offsite model jobs cancel`, taken up again after a restart. With a data.yaml: in the foreground, on the CPU
    (needs the train extra), printing the best weights."""
    if (data is None) == (recipe is None):
        typer.secho("offsite: give either a data.yaml or --recipe", fg="red", err=True)
        raise typer.Exit(2)
    if recipe is not None:
        _train_job(recipe, wait)
        return
    assert data is not None
    from vision import training

    best, seconds = _training(
        lambda: training.train(
            data, workdir, epochs, imgsz, batch, seed, hours=hours, threads=threads, initial=initial, freeze=freeze
        )
    )
    typer.echo(f"trained in {seconds:.0f} s: {best}")


def _train_job(recipe: Path, wait: bool) -> None:
    from offsite import training_jobs
    from vision.training_mix import MixError

    components = _components()
    try:
        job = training_jobs.submit(components, recipe, _cli_actor())
    except MixError as exc:
        components.close()
        typer.secho(f"offsite: {recipe}: {training_jobs.recipe_problem(exc).english}", fg="red", err=True)
        raise typer.Exit(2) from exc
    assert job.id is not None
    waits_for = training_jobs.start_when_free(components, job.id)
    if waits_for is None:
        typer.echo(f"training job {job.id} started; its log: {training_jobs.log_file(components.settings, job.id)}")
    else:
        typer.echo(f"training job {job.id} queued: it starts when job {waits_for} ends")
    if wait:
        _follow_job(components, job.id)
    components.close()


def _follow_job(components: Components, job_id: int) -> None:
    from offsite import training_jobs

    try:
        job = training_jobs.follow(components, job_id, typer.echo)
    except KeyboardInterrupt:
        typer.echo(f"\nthe job goes on in the background: offsite model jobs show {job_id} --follow")
        return
    if job.status is not JobStatus.FINISHED:
        for line in training_jobs.log_tail(components.settings, job_id, 15):
            typer.echo(f"  {line}")
        raise typer.Exit(1)


jobs_app = typer.Typer(help="Training jobs: list, follow, cancel, take up after a restart.", no_args_is_help=True)
model_app.add_typer(jobs_app, name="jobs")


@jobs_app.command("list")
def jobs_list() -> None:
    """The latest training jobs, newest first."""
    from offsite import training_jobs

    components = _components()
    for job in components.training_jobs.jobs():
        typer.echo(f"{training_jobs.describe(job)} · {job.recipe_name} · {job.requested_by}")
    components.close()


@jobs_app.command("show")
def jobs_show(
    job_id: Annotated[int, typer.Argument(help="The job's number")],
    follow: Annotated[bool, typer.Option("--follow", help="Follow until the job ends")] = False,
    lines: Annotated[int, typer.Option(min=0, help="Lines of its log to print")] = 20,
) -> None:
    """A job's state, its last figures and the end of its log."""
    from offsite import training_jobs

    components = _components()
    try:
        job = components.training_jobs.get(job_id)
    except OffsiteError as exc:
        components.close()
        raise _fail(exc) from exc
    typer.echo(training_jobs.describe(job))
    typer.echo(f"recipe {job.recipe_name}, asked by {job.requested_by} at {job.requested_at:%Y-%m-%d %H:%M:%S}, "
               f"attempts {job.attempts}")  # fmt: skip
    if job.figures:
        typer.echo("last epoch: " + ", ".join(f"{k} {v}" for k, v in job.figures.items()))
    for line in training_jobs.log_tail(components.settings, job_id, lines):
        typer.echo(f"  {line}")
    if follow and not job.status.done:
        _follow_job(components, job_id)
    components.close()


@jobs_app.command("cancel")
def jobs_cancel(job_id: Annotated[int, typer.Argument(help="The job's number")]) -> None:
    """Cancel a job: a queued one at once, a running one at its worker's next beat (seconds)."""
    from offsite import training_jobs

    components = _components()
    try:
        job = components.training_jobs.cancel(job_id, _cli_actor())
    except OffsiteError as exc:
        components.close()
        raise _fail(exc) from exc
    typer.echo(training_jobs.describe(job))
    components.close()


@jobs_app.command("resume")
def jobs_resume() -> None:
    """Start a worker for the job that needs one: queued, or interrupted (its worker killed, the machine restarted):
    it goes on from its last finished stage and epoch. `offsite serve` does this on its own as it runs."""
    from offsite import training_jobs

    components = _components()
    started = training_jobs.Launcher(components).round()
    typer.echo(f"worker started for job {started[0]}" if started else "no job needs a worker")
    components.close()


@jobs_app.command("work", hidden=True)
def jobs_work(
    job_id: Annotated[int, typer.Argument(help="The job's number")],
    take_over: Annotated[bool, typer.Option("--take-over", help="Its worker is known dead: take it now")] = False,
) -> None:
    """The worker: claim the job and carry it to its end (started by `model train --recipe` and the launcher)."""
    from offsite import training_jobs
    from offsite.logs import configure_logging

    configure_logging("info", json_lines=False)
    components = _components()
    job = training_jobs.work(components, job_id, take_over)
    components.close()
    if job is not None:
        typer.echo(training_jobs.describe(job))
    if job is not None and job.status is JobStatus.FAILED:
        raise typer.Exit(1)


@model_app.command("eval")
def model_eval(
    model: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="Weights (.pt) or an exported .onnx")],
    data: Annotated[
        Path | None, typer.Argument(exists=True, dir_okay=False, help="A YOLO data.yaml: its val split")
    ] = None,
    real: Annotated[
        Path | None,
        typer.Option(exists=True, file_okay=False, help="A folder of real photos with labels.csv: score on them"),
    ] = None,
    threshold: Annotated[
        float | None, typer.Option(min=0.001, max=0.999, help="One threshold for every class (default: shipped)")
    ] = None,
    record: Annotated[
        bool,
        typer.Option(help="With --real and an .onnx: record the figures (and thresholds) in its manifest and card"),
    ] = False,
    choose_thresholds: Annotated[
        bool, typer.Option(help="With --real: score at each class's threshold of best image-level F1 on these photos")
    ] = False,
    imgsz: Annotated[int, typer.Option(min=32)] = 320,
    workdir: Annotated[Path, typer.Option()] = Path("var/train"),
) -> None:
    """Score a model, as JSON on the last line. With --real: image-level precision and recall per class, false
    violation boxes per photo and box mAP50 on real photos, for the photos it never saw and those it trained on
    (an .onnx needs nothing more; a .pt needs the train extra). With a data.yaml: mAP50, mAP50-95 and per-class
    precision/recall on its val split (needs the train extra)."""
    if (real is None) == (data is None):
        typer.secho("offsite: give either a data.yaml or --real FOLDER", fg="red", err=True)
        raise typer.Exit(2)
    if real is not None:
        figures = _real_eval(model, real, threshold, workdir, choose_thresholds)
        if record:
            _record_real(model, real, figures)
        return
    from vision import training

    assert data is not None
    evaluation = _training(lambda: training.evaluate(model, data, imgsz, workdir))
    typer.echo(json.dumps(evaluation.as_dict(), ensure_ascii=False))


def _real_eval(
    model: Path, folder: Path, threshold: float | None, workdir: Path, choose: bool = False
) -> dict[str, Any]:
    from vision import real_eval
    from vision.detector import ModelError
    from vision.real_photos import RealPhotoError, read_folder

    try:
        photos = read_folder(folder)
        if model.suffix == ".onnx":
            predict, thresholds, classes, trained_on = real_eval.onnx_predictor(model)
        else:
            from vision import training

            predict, classes = _training(lambda: training.pt_predictor(model, workdir))
            thresholds, trained_on = {}, training.real_photos_trained_on(model)
        if threshold is not None:
            thresholds = dict.fromkeys(classes, threshold)
        result = real_eval.evaluate(model.name, photos, predict, thresholds, classes, trained_on, choose)
    except (RealPhotoError, ModelError) as exc:
        typer.secho(f"offsite: {exc}", fg="red", err=True)
        raise typer.Exit(2) from exc
    for title, part in (("never seen", result.held_out), ("trained on", result.trained_on)):
        typer.echo(f"{title}: {part.photos} photos, false violation boxes {part.false_violation_boxes_per_image:.2f}"
                   f" per photo, box mAP50 {_figure(part.map50)}")  # fmt: skip
        for name, figures in part.per_class.items():
            typer.echo(f"  {name:13} P {_figure(figures.precision)}  R {_figure(figures.recall)}  "
                       f"AP50 {_figure(figures.box_ap50)}  ({figures.images_with} photos with it, "
                       f"predicted in {figures.images_predicted})")  # fmt: skip
    if result.disagreements:
        typer.echo("labels that disagree (the figures follow the rows' classes_present; box AP50 the boxes):")
    for photo, boxed in result.disagreements.items():
        typer.echo(f"  {photo}: boxes {', '.join(boxed)}, which its labels.csv row does not list")
    typer.echo(json.dumps(result.as_dict(), ensure_ascii=False))
    return result.as_dict()


def _record_real(model: Path, folder: Path, figures: dict[str, Any]) -> None:
    """The real-photo figures into the model's manifest (``metrics.real``) and its card."""
    from vision import training
    from vision.manifest import ModelManifest, manifest_path_for

    if model.suffix != ".onnx":
        typer.secho("offsite: --record needs an exported .onnx with its manifest", fg="red", err=True)
        raise typer.Exit(2)
    path = manifest_path_for(model)
    manifest = ModelManifest.read(path)
    real = {"folder": folder.name, **{key: figures[key] for key in ("thresholds", "held_out", "trained_on")}}
    thresholds = {name: value for name, value in figures["thresholds"].items() if name in manifest.classes}
    dataclasses.replace(manifest, metrics={**manifest.metrics, "real": real}, thresholds=thresholds).write(path)
    typer.echo(f"recorded in {path} and {training.write_model_card(path)}")


def _figure(value: float | None) -> str:
    return "  -  " if value is None else f"{value:.3f}"


@model_app.command("export")
def model_export(
    weights: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="Trained weights (.pt)")],
    data: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="The data.yaml it was trained on")],
    name: Annotated[str, typer.Option(help="Model name: NAME.onnx and NAME.manifest.json")] = "offsite-street",
    out: Annotated[Path, typer.Option(help="Folder for the model and its manifest")] = Path("models"),
    imgsz: Annotated[int, typer.Option(min=32)] = 320,
    epochs: Annotated[int, typer.Option(help="Epochs to record (default: counted from the run's results.csv)")] = 0,
    workdir: Annotated[Path, typer.Option()] = Path("var/train"),
) -> None:
    """Export to ONNX (opset 18) with a manifest: classes, input size, SHA-256, training data, metrics."""
    from vision import training

    def run() -> Path:
        evaluation = training.evaluate(weights, data, imgsz, workdir)
        description = training.dataset_description(data.parent)
        # the run's own input size (from its args.yaml) wins over the export's
        record = {"imgsz": imgsz} | training.training_record(weights) | ({"epochs": epochs} if epochs else {})
        return training.export(weights, out, name, imgsz, description, record, evaluation, workdir)

    manifest = _training(run)
    typer.echo(f"wrote {manifest} and {training.write_model_card(manifest)}")


@model_app.command("card")
def model_card(
    manifest: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="The model's NAME.manifest.json")],
) -> None:
    """Write the model card (NAME.md) again from its manifest: figures, lineage and licence; sections a person
    added to the card (measurements after export) are kept. Needs no training environment."""
    from vision import training
    from vision.manifest import ManifestError

    try:
        card = training.write_model_card(manifest)
    except ManifestError as exc:
        typer.secho(f"offsite: {exc}", fg="red", err=True)
        raise typer.Exit(2) from exc
    typer.echo(f"wrote {card}")


@model_app.command("video")
def model_video(
    out: Annotated[Path, typer.Option(help="The MP4 to write; the ground truth goes next to it as .json")],
    scenario: Annotated[str, typer.Option(help="stall, goods, dust, street, quiet or random")] = "street",
    seconds: Annotated[float, typer.Option(help="Length of the video")] = 60.0,
    fps: Annotated[int, typer.Option(help="Frames per second")] = 25,
    width: Annotated[int, typer.Option(help="Frame width (even)")] = 1280,
    height: Annotated[int, typer.Option(help="Frame height (even)")] = 720,
    keyframe_seconds: Annotated[float, typer.Option(help="Seconds between key frames")] = 2.0,
    seed: Annotated[int, typer.Option(help="Seed: the same seed writes the same video")] = 0,
) -> None:
    """Render a labelled street video (H.264 MP4) and its ground truth: zones, violation timeline, boxes."""
    from rich.progress import Progress

    from vision.synthetic import SyntheticInputError, VideoSpec, render_video

    try:
        spec = VideoSpec(out, scenario, seconds, fps, width, height, keyframe_seconds, seed)
    except SyntheticInputError as exc:
        typer.secho(f"offsite: {exc}", fg="red", err=True)
        raise typer.Exit(2) from exc
    with Progress(transient=True) as progress:
        task = progress.add_task("rendering frames", total=spec.frame_count)
        summary = render_video(spec, lambda: progress.advance(task))
    typer.echo(f"wrote {summary.video} ({summary.frames} frames in {summary.seconds:.1f} s) and {summary.sidecar}")
    for violation in summary.violations:
        typer.echo(f"  {violation}")
    for violation in summary.unseen:
        typer.echo(f"  not seen by the camera, so not in the truth: {violation}")


@bench_app.command("pipeline")
def bench_pipeline(
    as_json: Annotated[bool, typer.Option("--json", help="End with one line of JSON holding every figure")] = False,
    quick: Annotated[bool, typer.Option(help="Short videos: checks that it runs, figures not for the record")] = False,
    root: Annotated[Path, typer.Option(help="Where the generated videos are cached")] = Path("var/bench"),
) -> None:
    """Pipeline fps against a bare ONNX Runtime loop, Ultralytics' tracker, cameras per core, event accuracy."""
    from bench import pipeline

    result = pipeline.run(root, quick=quick, progress=lambda text: typer.echo(text + " …", err=True))
    typer.echo(pipeline.summary(result))
    if as_json:
        typer.echo(json.dumps(result, ensure_ascii=False, separators=(",", ":")))


@bench_app.command("cluster")
def bench_cluster(
    as_json: Annotated[bool, typer.Option("--json", help="End with one line of JSON holding every figure")] = False,
    quick: Annotated[bool, typer.Option(help="Short runs: checks that it runs, figures not for the record")] = False,
    root: Annotated[Path, typer.Option(help="Where the generated videos are cached")] = Path("var/bench"),
) -> None:
    """Cameras sustained by one and by two worker processes, an event's cost through NATS and the sealer against
    sealing it directly, and the failover time (issue 16; needs Debian's nats-server)."""
    from bench import cluster

    result = cluster.run(root, quick=quick, progress=lambda text: typer.echo(text + " …", err=True))
    typer.echo(cluster.summary(result))
    if as_json:
        typer.echo(json.dumps(result, ensure_ascii=False, separators=(",", ":")))


@bench_app.command("evidence")
def bench_evidence(
    as_json: Annotated[bool, typer.Option("--json", help="End with one line of JSON holding every figure")] = False,
    quick: Annotated[bool, typer.Option(help="Two packages and a 10,000-entry log: checks that it runs")] = False,
    s3: Annotated[
        bool, typer.Option(help="Also seal to a real S3 server (S3_ENDPOINT, or Ceph RGW started here)")
    ] = True,
    root: Annotated[Path, typer.Option(help="Where the generated files and the log are kept")] = Path(
        "var/bench/evidence"
    ),
) -> None:
    """Sealing MB/s against sha256sum over the same bytes, inclusion proofs in a log of 1,000,000, S3 sealing."""
    from bench import evidence

    result = evidence.run(root, quick=quick, with_s3=s3)
    typer.echo(evidence.summary(result))
    if as_json:
        typer.echo(json.dumps(result, ensure_ascii=False, separators=(",", ":")))


@camera_app.command("run")
def camera_run(
    cameras: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="A cameras YAML (configs/cameras.*)")],
    model: Annotated[Path, typer.Option(help="ONNX model with its manifest beside it")] = SHIPPED_MODEL,
    only: Annotated[list[str] | None, typer.Option("--camera", help="Run only these camera ids")] = None,
    record: Annotated[bool, typer.Option(help="Record events as detections pending review")] = True,
    threads: Annotated[int, typer.Option(min=0, help="Inference threads (0: ONNX Runtime decides)")] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="Print each event, then a summary, as JSON lines")] = False,
) -> None:
    """Run the camera pipelines until their sources end (files) or Ctrl-C (streams); events become detections.

    Exit status: 0 every camera ran to its end, 1 a camera stopped on an error (its source could not be read: the
    summary names it), 2 nothing ran (a bad cameras file, model, database or evidence store)."""
    from offsite import missed, roles
    from offsite.cameras import build_runner, camera_intake, intake_sink, registry_certification
    from vision.config import ConfigError as CameraConfigError
    from vision.config import load_cameras
    from vision.detector import DetectorConfig, ModelError, OnnxDetector

    components = _components() if record else _unmigrated_components()  # recording needs the detections table
    try:
        detector = OnnxDetector(DetectorConfig(model, threads=threads))
        specs = [s for s in load_cameras(cameras, detector.class_names) if not only or s.camera_id in only]
    except (ModelError, CameraConfigError) as exc:
        typer.secho(f"offsite: {exc}", fg="red", err=True)
        raise typer.Exit(2) from exc
    if not specs:
        typer.secho(f"offsite: no camera to run in {cameras}", fg="red", err=True)
        raise typer.Exit(2)
    record_event = intake_sink(camera_intake(components.detections, components.registry))

    def emit(event: ViolationEvent, evidence: CapturedEvidence) -> None:
        if record:
            record_event(event, evidence)
        if as_json:
            typer.echo(json.dumps(event.as_json(), ensure_ascii=False))

    store = _started(lambda: roles.sealing_store(components))
    if record:  # what a run killed between sealing and recording left behind
        roles.orphans(components).run()
    try:
        runner = build_runner(
            specs, detector, store, emit, components.settings.evidence_dir.parent / "work",
            certification=registry_certification(components.registry.find_camera),
            caption_tz=components.settings.tz, recent=missed.keeper(components.settings),
        )  # fmt: skip
    except ValueError as exc:
        typer.secho(f"offsite: {exc}", fg="red", err=True)
        raise typer.Exit(2) from exc
    runner.start()
    try:
        runner.wait()
    except KeyboardInterrupt:
        typer.echo("stopping …", err=True)
        runner.stop()
    finally:
        components.close()
    summary = {camera_id: vars(m) for camera_id, m in runner.metrics().items()}
    typer.echo(json.dumps({"cameras": summary}, ensure_ascii=False) if as_json else _metrics_text(summary))
    if any(figures["failed"] is not None for figures in summary.values()):
        raise typer.Exit(1)


def _metrics_text(summary: dict[str, dict[str, object]]) -> str:
    return "\n".join(
        f"{camera_id}: {m['frames_in']} frames in, {m['frames_analysed']} analysed, {m['frames_dropped']} dropped, "
        f"{m['events']} events" + (f", failed: {m['failed']}" if m["failed"] else "")
        for camera_id, m in summary.items()
    )


def _evidence(read_only: bool = False) -> EvidenceStore:
    from offsite.evidence import open_evidence

    settings = _settings()
    try:
        return open_evidence(settings, read_only=read_only)
    except Exception as exc:  # a backend or key problem: say which, exit 2
        typer.secho(f"offsite: cannot open the evidence store: {exc}", fg="red", err=True)
        raise typer.Exit(2) from exc


def _settings() -> Settings:
    try:
        return Settings()
    except ValueError as exc:
        typer.secho(f"offsite: cannot start: {exc}", fg="red", err=True)
        raise typer.Exit(2) from exc


@keys_app.command("list")
def keys_list() -> None:
    """Every signing key: id, created, retired (old public keys stay published so old packages verify)."""
    from evidence_store.keys import KeyRing

    for key in KeyRing(_settings().evidence_dir / "keys").entries():
        typer.echo(f"{key.key_id}  created {key.created}  " + ("active" if key.active else f"retired {key.retired}"))


@keys_app.command("generate")
def keys_generate() -> None:
    """Generate a new active signing key (the first one, or a rotation: the old key is retired, not deleted)."""
    from evidence_store.keys import KeyRing

    key = KeyRing(_settings().evidence_dir / "keys").generate()
    typer.echo(f"generated {key.key_id}: now the active signing key")


@keys_app.command("rotate")
def keys_rotate() -> None:
    """Retire the active key and sign from now on with a new one."""
    keys_generate()


@evidence_app.command("seal")
def evidence_seal(
    files: Annotated[list[Path], typer.Argument(exists=True, dir_okay=False, help="Files to seal as one package")],
    as_json: Annotated[
        bool, typer.Option("--json", help="End with package_id, manifest_sha256, leaf_index as JSON")
    ] = False,
    note: Annotated[str | None, typer.Option(help="A description recorded in the manifest's context")] = None,
    corrects: Annotated[
        str | None, typer.Option(help="The package this one corrects (sealed packages are never changed)")
    ] = None,
) -> None:
    """Seal arbitrary files (documents, corrections) as one package: hashed, signed, logged, written once."""
    import mimetypes

    from evidence_store.store import EvidenceError, ItemIn

    store = _evidence()
    items = [ItemIn(f.name, mimetypes.guess_type(f.name)[0] or "application/octet-stream", f) for f in files]
    try:
        sealed = store.seal(items, {"kind": "files", "note": note}, {"corrects": corrects} if corrects else None)
    except (EvidenceError, ValueError) as exc:
        typer.secho(f"offsite: {exc}", fg="red", err=True)
        raise typer.Exit(2) from exc
    typer.echo(
        f"{'sealed' if sealed.created else 'already sealed'} {sealed.package_id} (log entry {sealed.leaf_index})"
    )
    if as_json:
        typer.echo(json.dumps({"package_id": sealed.package_id, "manifest_sha256": sealed.manifest_sha256,
                               "leaf_index": sealed.leaf_index}))  # fmt: skip


VERIFIED, TAMPERED, UNAVAILABLE, INTERRUPTED = 0, 1, 3, 4  # exit statuses of `evidence verify` (2: cannot start)


@evidence_app.command("verify")
def evidence_verify(
    package_id: Annotated[str | None, typer.Argument(help="The package to verify")] = None,
    every: Annotated[bool, typer.Option("--all", help="Every package, the whole log and every tree head")] = False,
) -> None:
    """Recompute item hashes, the signature, the inclusion proof and consistency; name whatever is wrong.

    Exit status: 0 every check passed; 1 tampering or damage found; 3 nothing wrong found, but some checks could
    not be made because the evidence store (S3) cannot be reached; 4 nothing wrong found, but a seal was
    interrupted (a killed process: the next process that seals completes it); 2 bad usage or no evidence store.
    """
    if (package_id is None) == (not every):
        typer.secho("offsite: give a PACKAGE_ID or --all", fg="red", err=True)
        raise typer.Exit(2)
    store = _evidence(read_only=True)
    reports: list[Verification] = []
    if every:
        ids, unlisted = store.packages_to_verify()
        if unlisted is not None:
            typer.secho(f"UNAVAILABLE listing: only the log's packages are checked ({unlisted})", fg="yellow")
    else:
        ids, unlisted = [package_id or ""], None
    for pid in ids:
        reports.append(store.verify(pid))
        _print_verification(pid, reports[-1])
    if every:
        reports.append(store.log_report())
        _print_verification("log", reports[-1], quiet_when_ok=True)
        typer.echo(f"{len(ids)} packages, log of {store.log.size} entries, {len(store.heads())} tree heads")
    raise typer.Exit(_verify_status(reports, listing_failed=unlisted is not None))


def _print_verification(what: str, report: Verification, quiet_when_ok: bool = False) -> None:
    if report.problems:
        typer.secho(f"FAIL {what}", fg="red")
    elif report.unavailable:
        typer.secho(f"UNAVAILABLE {what}: not every check could be made", fg="yellow")
    elif report.interrupted:
        typer.secho(f"INTERRUPTED {what}", fg="yellow")
    elif not quiet_when_ok:
        typer.echo(f"OK   {what}: " + ", ".join(report.checks))
    for line in report.problems + report.unavailable + report.interrupted:
        typer.echo(f"     {line}")


def _verify_status(reports: list[Verification], listing_failed: bool) -> int:
    if any(r.problems for r in reports):
        return TAMPERED
    if listing_failed or any(r.unavailable for r in reports):
        return UNAVAILABLE
    if any(r.interrupted for r in reports):
        return INTERRUPTED
    return VERIFIED


@evidence_app.command("export")
def evidence_export(
    package_id: Annotated[str, typer.Argument(help="The package to export")],
    out: Annotated[Path, typer.Option(help="A new or empty folder for the bundle")],
) -> None:
    """A self-contained bundle for a court or a third party, with VERIFY.md (sha256sum, openssl, RFC 9162)."""
    from evidence_store.export import export_package
    from evidence_store.store import EvidenceError

    try:
        bundle = export_package(_evidence(read_only=True), package_id, out)
    except EvidenceError as exc:
        typer.secho(f"offsite: {exc}", fg="red", err=True)
        raise typer.Exit(2) from exc
    typer.echo(f"wrote {bundle} (see {bundle / 'VERIFY.md'})")


@evidence_app.command("consistency")
def evidence_consistency(
    old_size: Annotated[int, typer.Argument(min=1, help="The earlier tree size (from a tree_head.json)")],
    new_size: Annotated[int | None, typer.Argument(min=1, help="The later tree size (default: the latest)")] = None,
) -> None:
    """An RFC 9162 consistency proof between two tree sizes, as JSON, checked before it is printed."""
    from evidence_store.merkle import ProofError, verify_consistency

    store = _evidence(read_only=True)
    new = new_size or store.log.size
    try:
        proof = store.log.consistency_proof(old_size, new)
        verify_consistency(old_size, new, store.log.root(old_size), store.log.root(new), proof)
    except (ValueError, ProofError) as exc:
        typer.secho(f"offsite: {exc}", fg="red", err=True)
        raise typer.Exit(2) from exc
    typer.echo(json.dumps({
        "old_size": old_size, "new_size": new, "old_root": store.log.root(old_size).hex(),
        "new_root": store.log.root(new).hex(), "proof": [node.hex() for node in proof],
    }, indent=2))  # fmt: skip


@evidence_app.command("hold")
def evidence_hold(
    package_id: Annotated[str, typer.Argument(help="The package of a case under litigation")],
    on: Annotated[bool, typer.Option("--on/--off", help="Place or lift the legal hold")] = True,
) -> None:
    """Place (or lift) an S3 legal hold on every object of a package: kept even past its retention."""
    from evidence_store.store import EvidenceError

    try:
        keys = _evidence(read_only=True).set_legal_hold(package_id, on)
    except EvidenceError as exc:
        typer.secho(f"offsite: {exc}", fg="red", err=True)
        raise typer.Exit(2) from exc
    typer.echo(f"legal hold {'placed on' if on else 'lifted from'} {len(keys)} objects of {package_id}")


@evidence_app.command("backlog")
def evidence_backlog(
    flush: Annotated[bool, typer.Option(help="Try to upload what waits, in order")] = False,
) -> None:
    """Sealed objects waiting in the local spool for the S3 store to come back. Listing never waits for a
    process that is uploading; --flush does (it uploads in order after it)."""
    from evidence_store.backends import BackendError
    from evidence_store.spool import SpooledBackend
    from offsite.evidence import evidence_backend

    backend = evidence_backend(_settings())
    if not isinstance(backend, SpooledBackend):
        typer.echo("the evidence backend is local: nothing is ever spooled")
        return
    if flush:
        try:
            typer.echo(f"uploaded {backend.flush()}")
        except BackendError as exc:  # a missing or unlocked bucket, a refusal: waiting will not cure it
            typer.secho(f"offsite: cannot upload the backlog: {exc}", fg="red", err=True)
            raise typer.Exit(1) from exc
    waiting = backend.backlog()
    typer.echo(f"{len(waiting)} objects waiting" + "".join(f"\n  {key}" for key in waiting))


@evidence_app.command("init")
def evidence_init() -> None:
    """Create the S3 evidence bucket with versioning, Object Lock and a default COMPLIANCE retention of
    OFFSITE_S3_RETENTION_DAYS; if it exists, check it has Object Lock and say what was found. Run it once before
    sealing into S3: sealing refuses a missing bucket, or one without Object Lock."""
    from evidence_store.backends import BackendError
    from offsite.evidence import s3_backend

    settings = _settings()
    if settings.evidence_backend != "s3":
        typer.echo("the evidence backend is local (OFFSITE_EVIDENCE_BACKEND=local): there is no bucket to create")
        return
    try:
        report = s3_backend(settings).ensure_bucket()
    except BackendError as exc:
        typer.secho(f"offsite: {exc}", fg="red", err=True)
        raise typer.Exit(1) from exc
    typer.echo(report.describe())


def _import_camera_configs(file: Path, reason: str) -> None:
    from offsite.camera_configs import import_file
    from vision.config import ConfigError as CameraConfigError

    components = _components()
    try:
        saved = import_file(components, file, _model_classes(components), _cli_actor(), reason)
    except CameraConfigError as exc:
        typer.secho(f"offsite: {exc}", fg="red", err=True)
        raise typer.Exit(2) from exc
    except OffsiteError as exc:
        raise _fail(exc) from exc
    finally:
        components.close()
    for one in saved:
        typer.echo(f"{one.device_id}: version {one.version}" + ("" if one.changed else " (unchanged)"))


def _model_classes(components: Components) -> tuple[str, ...]:
    """The classes of the model the cameras run (the registry's active one): what rules may name."""
    from offsite.model_registry import active_model_file
    from vision.manifest import ModelManifest, manifest_path_for

    return ModelManifest.read(manifest_path_for(active_model_file(components, _cli_actor()))).classes


@camera_app.command("export")
def camera_export(
    out: Annotated[Path, typer.Option(dir_okay=False, help="The cameras file to write")],
) -> None:
    """Write the cameras' current configurations from the database as a cameras file."""
    from offsite.camera_configs import export_file

    components = _components()
    try:
        count = export_file(components, out)
    finally:
        components.close()
    typer.echo(f"wrote {count} cameras to {out}")


@camera_app.command("history")
def camera_history(device_id: Annotated[str, typer.Argument(help="The camera's device id")]) -> None:
    """A camera's configuration versions: who saved each, when and why."""
    components = _components()
    try:
        versions = components.camera_configs.history(device_id)
    finally:
        components.close()
    if not versions:
        typer.secho(f"offsite: camera {device_id} has no saved configuration", fg="red", err=True)
        raise typer.Exit(1)
    for config in versions:
        typer.echo(f"version {config.version}  {config.saved_at:%Y-%m-%d %H:%M:%S}  {config.saved_by}  "
                   f"{config.sha256[:12]}  {config.reason}")  # fmt: skip


if __name__ == "__main__":
    app()
