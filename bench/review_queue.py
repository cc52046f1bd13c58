"""The review queue on a million detections, and case transitions per second.

``run`` creates a throw-away PostgreSQL database, migrates it, fills it server-side with registry rows and
``rows`` detections, and then times the real service call, ``DetectionService.queue``, over a seeded mix of
filters: first with the schema's three ``ix_detections_queue_*`` indexes, then again (same filters, same
cursors) after dropping them. ``ratio`` = unindexed p50 / indexed p50: how many times faster the indexes make
the median queue request. ``deep_page`` checks that keyset paging keeps a deep page as cheap as the first
(its ``ratio`` = deep p50 / first p50 is 1 when it does). It also walks cases from a confirmed detection to
closing through the services, on that database and on a SQLite file, and reports transitions per second. The
database is dropped at the end.
"""

from __future__ import annotations

import datetime as dt
import math
import random
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url

from bench.machine import machine
from cases.clock import ManualClock
from cases.law.config import SubjectType
from cases.model.case import Case, DeliveryMethod, RecheckOutcome
from cases.model.detection import DetectionStatus, ReviewChecklist
from cases.model.registry import Camera, Merchant, Zone, ZoneSubject, uscc_check_character
from cases.model.staff import Role
from cases.persistence import migrate, tables
from cases.services.base import Actor
from cases.services.detections import QueueFilter, encode_cursor
from offsite.bootstrap import Components, build
from offsite.settings import Settings
from vision.events import SubjectKind, SubjectRef, ViolationEvent

SHANGHAI = ZoneInfo("Asia/Shanghai")
# A Monday with the 2026 working-day calendar in force, 10:00 in Shanghai: the benchmark's "now".
START = dt.datetime(2026, 3, 2, 10, 0, tzinfo=SHANGHAI)
CAMERAS = 200
PAGE = 50
# ix_detections_queue_status / _camera / _violation: the indexes the review queue is meant to use
QUEUE_INDEXES = sorted(str(i.name) for i in tables.detections.indexes if str(i.name).startswith("ix_detections_queue_"))
SHAPES = ("status", "status+camera", "status+violation", "status+camera+violation", "page 2")
# How the queue is asked: mostly for what waits for review, sometimes for what was confirmed or rejected.
STATUS_WEIGHTS = {DetectionStatus.PENDING_REVIEW: 6, DetectionStatus.CONFIRMED: 2, DetectionStatus.REJECTED: 2}
SUBJECT_KINDS = {
    SubjectType.MERCHANT: SubjectKind.MERCHANT,
    SubjectType.SITE: SubjectKind.SITE,
    SubjectType.UNKNOWN_VENDOR: SubjectKind.UNKNOWN,
}
DEEP_PAGE_ROWS = 50_000  # the cursor of page 1,001 (50 a page) for the keyset check
BASELINE_QUERIES = 40  # the unindexed queries each scan the table: fewer of them
CASES = 200

OPERATOR = Actor("bench_operator", Role.OPERATOR)
OFFICER = Actor("bench_officer", Role.OFFICER)
LEGAL = Actor("bench_legal_reviewer", Role.LEGAL_REVIEWER)
DIRECT = DeliveryMethod.DIRECT
ALL_PASS = ReviewChecklist(authentic=True, clear=True, complete=True, accurate=True)


@dataclass(frozen=True)
class QuerySpec:
    shape: str
    criteria: QueueFilter
    cursor: str | None = None


def run(
    database_url: str, rows: int = 1_000_000, queries: int = 200, seed: int = 1, cases: int = CASES
) -> dict[str, Any]:
    """Run the benchmark against the PostgreSQL server that ``database_url`` (an admin URL, e.g. database
    ``postgres``) reaches. A database ``offsite_bench_<random>`` is created in it and dropped at the end.
    ``cases`` cases are walked through their steps on it, and again on a SQLite file."""
    if rows < 1 or queries < 1 or cases < 1:
        raise ValueError("rows, queries and cases must be positive")
    rng = random.Random(seed)
    admin = create_engine(database_url, isolation_level="AUTOCOMMIT")
    name = f"offsite_bench_{uuid.uuid4().hex[:10]}"
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        url = make_url(database_url).set(database=name).render_as_string(hide_password=False)
        return _run_on(url, rows, queries, rng, cases)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _migrated_components(url: str) -> tuple[Components, ManualClock]:
    """The services on a freshly migrated database, on a clock the benchmark moves."""
    clock = ManualClock(SHANGHAI, START.astimezone(dt.UTC))
    # the bare state machine's transitions are measured: no notice or decision is rendered and sealed. Filling and
    # vacuuming a million rows are single statements far longer than a request's statement timeout (10 s)
    settings = Settings(environment="development", database_url=url, database_statement_timeout_s=3600)
    components = build(settings, clock=clock, issue_documents=False)
    migrate.upgrade(components.engine)
    return components, clock


def _run_on(url: str, rows: int, queries: int, rng: random.Random, cases: int) -> dict[str, Any]:
    components, clock = _migrated_components(url)
    try:
        started = time.perf_counter()
        populate(components, rows)
        load_s = time.perf_counter() - started

        # The case walk runs on the full database with the schema as migrated; its confirmed detections are
        # then part of the queue for both query runs below.
        transitions, walk_s = walk_cases(components, clock, cases)

        specs = query_specs(components, rows, queries, rng)
        indexed = time_queries(components, specs)
        indexed_plans = queue_plans(components, specs)
        deep = deep_page(components, DEEP_PAGE_ROWS)

        drop_queue_indexes(components.engine)
        baseline_specs = specs[: min(queries, BASELINE_QUERIES)]
        unindexed = time_queries(components, baseline_specs, compare_with=indexed.items)
        unindexed_plans = queue_plans(components, specs)
        machine = describe_machine(components.engine)
    finally:
        components.close()
    sqlite_transitions, sqlite_walk_s = _walk_on_sqlite(cases)

    indexed_p50 = percentile(indexed.latencies, 50)
    unindexed_p50 = percentile(unindexed.latencies, 50)
    return {
        "rows": rows,
        "queries": len(specs),
        "unindexed_queries": len(baseline_specs),
        "indexed_p50_ms": round(indexed_p50 * 1000, 3),
        "indexed_p99_ms": round(percentile(indexed.latencies, 99) * 1000, 3),
        "unindexed_p50_ms": round(unindexed_p50 * 1000, 3),
        "unindexed_p99_ms": round(percentile(unindexed.latencies, 99) * 1000, 3),
        "ratio": round(unindexed_p50 / indexed_p50, 1),
        "by_shape_p50_ms": {
            shape: {
                "indexed": round(percentile(indexed.by_shape(shape), 50) * 1000, 3),
                "unindexed": round(percentile(unindexed.by_shape(shape), 50) * 1000, 3),
            }
            for shape in SHAPES
            if indexed.by_shape(shape) and unindexed.by_shape(shape)
        },
        "plans": {
            shape: {"indexed": indexed_plans[shape], "unindexed": unindexed_plans[shape]} for shape in indexed_plans
        },
        "deep_page": deep,
        "cases": cases,
        "transitions": transitions,
        "transitions_per_s": round(transitions / walk_s, 1),
        "transitions_per_s_sqlite": round(sqlite_transitions / sqlite_walk_s, 1),
        "load_s": round(load_s, 1),
        "machine": machine,
    }


# ---- the data -------------------------------------------------------------------------------------------
def populate(components: Components, rows: int) -> None:
    """Gateways, ``CAMERAS`` certified cameras with one zone each, and ``rows`` detections over the year
    before ``START``: a random camera and catalogue violation each, ~5 % pending review, the rest confirmed
    (~79 %) or rejected (~16 %). Generated server-side, in physical order of first_seen (as they arrive)."""
    violations = components.law.config.catalogue.violations
    codes = [v.code for v in violations]
    kinds = [SUBJECT_KINDS[v.subject].value for v in violations]
    today = START.date()
    with components.engine.begin() as connection:
        connection.execute(text("SET LOCAL work_mem = '256MB'"))
        connection.execute(
            text(
                "INSERT INTO gateways (device_id, name, key_version, active, created_at) "
                "SELECT 'bench-gw-' || lpad(g::text, 2, '0'), '基准网关 ' || g, 1, true, :now - interval '400 days' "
                "FROM generate_series(1, 10) AS g"
            ),
            {"now": START},
        )
        connection.execute(
            text(
                "INSERT INTO cameras (device_id, gbt28181_id, name, address, longitude, latitude, "
                "legal_review_date, legal_review_ref, technical_review_date, technical_review_ref, "
                "next_maintenance_due, published, status, gateway_id, version) "
                "SELECT 'bench-cam-' || lpad(g::text, 4, '0'), '31011500001320' || lpad(g::text, 6, '0'), "
                "'基准点位 ' || g, '浦东新区 基准路 ' || g || ' 号', 121.5 + g / 10000.0, 31.2 + g / 10000.0, "
                ":reviewed, '法审〔2025〕' || g, :reviewed, '技审〔2025〕' || g, :maintenance, true, 'active', "
                "'bench-gw-' || lpad((1 + g % 10)::text, 2, '0'), 1 "
                "FROM generate_series(1, :cameras) AS g"
            ),
            {
                "reviewed": today - dt.timedelta(days=400),
                "maintenance": today + dt.timedelta(days=200),
                "cameras": CAMERAS,
            },
        )
        connection.execute(
            text(
                "INSERT INTO zones (camera_id, code, name, subject, polygon) "
                "SELECT id, 'Z-1', '禁止设摊区 ' || id, 'public_space', "
                "CAST('[[0.1, 0.5], [0.9, 0.5], [0.9, 1.0], [0.1, 1.0]]' AS jsonb) "
                "FROM cameras WHERE device_id LIKE 'bench-cam-%'"
            )
        )
        connection.execute(
            text(
                """
                WITH r AS MATERIALIZED (  -- materialised: each row's random draws are made once
                    SELECT g,
                        1 + floor(random() * :cameras)::int AS camera_no,
                        1 + floor(random() * :codes_n)::int AS code_no,
                        random() AS roll,
                        :now - interval '1 hour' - random() * interval '365 days' AS first_seen,
                        (2 + floor(random() * 28)::int) * interval '1 minute' AS dwell,
                        floor(random() * 60)::int * interval '1 second' AS lag,
                        floor(random() * 480)::int * interval '1 minute' AS review_delay,
                        round((0.5 + random() * 0.49)::numeric, 3)::float AS confidence
                    FROM generate_series(1, :rows) AS g
                ), c AS (
                    SELECT row_number() OVER (ORDER BY id) AS n, id FROM cameras WHERE device_id LIKE 'bench-cam-%'
                ), v AS (
                    SELECT * FROM unnest(CAST(:codes AS text[]), CAST(:kinds AS text[])) WITH ORDINALITY
                        AS v(code, kind, n)
                )
                INSERT INTO detections (event_id, camera_id, zone_id, rule_id, violation_code, subject_kind,
                    subject_ref, first_seen, last_seen, evidence_package_id, confidence, received_at, status,
                    reviewed_by, reviewed_at, review_reason, check_authentic, check_clear, check_complete,
                    check_accurate, case_id, version)
                SELECT 'bench-evt-' || r.g, c.id, z.id, v.code || '-dwell', v.code, v.kind,
                    CASE v.kind WHEN 'merchant' THEN 'SHOP-' || c.n WHEN 'site' THEN 'PERMIT-' || c.n END,
                    r.first_seen, r.first_seen + r.dwell, 'pkg-' || md5(r.g::text), r.confidence,
                    r.first_seen + r.dwell + r.lag,
                    CASE WHEN r.roll < 0.05 THEN 'pending_review' WHEN r.roll < 0.84 THEN 'confirmed'
                         ELSE 'rejected' END,
                    CASE WHEN r.roll >= 0.05 THEN 'operator' || (1 + r.g % 8) END,
                    CASE WHEN r.roll >= 0.05 THEN r.first_seen + r.dwell + r.lag + r.review_delay END,
                    CASE WHEN r.roll >= 0.84 THEN '画面不清晰，无法辨认当事人' END,
                    CASE WHEN r.roll >= 0.05 THEN true END,
                    CASE WHEN r.roll >= 0.84 THEN false WHEN r.roll >= 0.05 THEN true END,
                    CASE WHEN r.roll >= 0.05 THEN true END,
                    CASE WHEN r.roll >= 0.05 THEN true END,
                    NULL,
                    CASE WHEN r.roll < 0.05 THEN 1 ELSE 2 END
                FROM r
                JOIN c ON c.n = r.camera_no
                JOIN zones AS z ON z.camera_id = c.id
                JOIN v ON v.n = r.code_no
                ORDER BY r.first_seen
                """
            ),
            {
                "rows": rows,
                "cameras": CAMERAS,
                "codes": codes,
                "kinds": kinds,
                "codes_n": len(codes),
                "now": START,
            },
        )
    with components.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("VACUUM ANALYZE"))


def drop_queue_indexes(engine: Engine) -> None:
    with engine.begin() as connection:
        for name in QUEUE_INDEXES:
            connection.execute(text(f"DROP INDEX {name}"))
        connection.execute(text("ANALYZE detections"))


# ---- the queries ----------------------------------------------------------------------------------------
def query_specs(components: Components, rows: int, queries: int, rng: random.Random) -> list[QuerySpec]:
    """``queries`` requests, the shapes in turn (so that any prefix mixes them evenly). A "page 2" request
    carries the cursor its filter's first page returned (fetched here, untimed)."""
    codes = [v.code for v in components.law.config.catalogue.violations]
    with components.engine.connect() as connection:
        camera_ids = list(
            connection.scalars(text("SELECT id FROM cameras WHERE device_id LIKE 'bench-cam-%' ORDER BY id"))
        )

    def criteria(shape: str) -> QueueFilter:
        status = rng.choices(list(STATUS_WEIGHTS), weights=list(STATUS_WEIGHTS.values()))[0]
        camera = rng.choice(camera_ids) if "camera" in shape else None
        code = rng.choice(codes) if "violation" in shape else None
        return QueueFilter(status=status, camera_id=camera, violation_code=code)

    specs = []
    for i in range(queries):
        shape = SHAPES[i % len(SHAPES)]
        if shape != "page 2":
            specs.append(QuerySpec(shape, criteria(shape)))
            continue
        for _attempt in range(20):  # a filter with a second page; small ones may have none
            first = criteria(rng.choice(SHAPES[:3]))
            cursor = components.detections.queue(first, None, PAGE).next_cursor
            if cursor is not None:
                break
        else:
            first = QueueFilter(status=DetectionStatus.CONFIRMED)
            cursor = components.detections.queue(first, None, PAGE).next_cursor
        specs.append(QuerySpec(shape, first, cursor))
    return specs


@dataclass
class Timings:
    specs: list[QuerySpec]
    latencies: list[float]  # seconds, in the order of ``specs``
    items: list[list[int]]  # the detection ids each request returned

    def by_shape(self, shape: str) -> list[float]:
        return [t for spec, t in zip(self.specs, self.latencies, strict=True) if spec.shape == shape]


def time_queries(
    components: Components, specs: list[QuerySpec], compare_with: list[list[int]] | None = None
) -> Timings:
    """Time each request through ``DetectionService.queue`` (session, transaction, SQL, mapping), after a
    warm-up of a few untimed ones. With ``compare_with``, check that each request returned the same page."""
    queue = components.detections.queue
    for spec in specs[: len(SHAPES)]:
        queue(spec.criteria, spec.cursor, PAGE)
    latencies, items = [], []
    for spec in specs:
        started = time.perf_counter()
        page = queue(spec.criteria, spec.cursor, PAGE)
        latencies.append(time.perf_counter() - started)
        items.append([d.id or 0 for d in page.items])
    if compare_with is not None:
        for i, (got, expected) in enumerate(zip(items, compare_with, strict=False)):
            if got != expected:
                raise AssertionError(f"request {i} ({specs[i].shape}) returned another page without the indexes")
    return Timings(specs, latencies, items)


def deep_page(components: Components, depth: int, repeat: int = 20) -> dict[str, Any]:
    """Keyset paging should make a deep page cost what the first page costs: time the newest page of confirmed
    detections and the page whose cursor lies ``depth`` rows further (fewer on a small database), with the
    indexes in place. ``ratio`` = deep p50 / first p50: 1 when paging is truly keyset."""
    status = DetectionStatus.CONFIRMED
    with components.engine.connect() as connection:
        total = connection.execute(
            text("SELECT count(*) FROM detections WHERE status = :status"), {"status": status.value}
        ).scalar_one()
        depth = max(1, min(depth, total - PAGE - 1))
        first_seen, ident = connection.execute(  # the last row before the deep page: its cursor
            text(
                "SELECT first_seen, id FROM detections WHERE status = :status "
                "ORDER BY first_seen DESC, id DESC OFFSET :offset LIMIT 1"
            ),
            {"status": status.value, "offset": depth - 1},
        ).one()
    cursor = encode_cursor(first_seen, ident)
    first_specs = [QuerySpec("first page", QueueFilter(status=status))] * repeat
    deep_specs = [QuerySpec("deep page", QueueFilter(status=status), cursor)] * repeat
    first_p50 = percentile(time_queries(components, first_specs).latencies, 50)
    deep_p50 = percentile(time_queries(components, deep_specs).latencies, 50)
    return {
        "rows_skipped": depth,
        "first_page_p50_ms": round(first_p50 * 1000, 3),
        "deep_page_p50_ms": round(deep_p50 * 1000, 3),
        "ratio": round(deep_p50 / first_p50, 1),
        "plan": queue_plans(components, deep_specs[:1], shapes=("deep page",))["deep page"],
    }


def queue_plans(components: Components, specs: list[QuerySpec], shapes: tuple[str, ...] = SHAPES) -> dict[str, str]:
    """For the first request of each shape, the plan PostgreSQL chooses for the SQL the service sends:
    node types, outermost first, with the index each scan uses."""
    captured: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool) -> None:
        if "FROM detections" in statement:
            captured.append((statement, parameters))

    plans: dict[str, str] = {}
    for shape in shapes:
        spec = next((s for s in specs if s.shape == shape), None)
        if spec is None:
            continue
        captured.clear()
        event.listen(components.engine, "before_cursor_execute", capture)
        try:
            components.detections.queue(spec.criteria, spec.cursor, PAGE)
        finally:
            event.remove(components.engine, "before_cursor_execute", capture)
        statement, parameters = captured[-1]
        with components.engine.connect() as connection:
            plan = connection.exec_driver_sql("EXPLAIN (FORMAT JSON) " + statement, parameters).scalar_one()
        plans[shape] = " > ".join(_plan_nodes(plan[0]["Plan"]))
    return plans


def _plan_nodes(node: dict[str, Any]) -> Iterator[str]:
    label = node["Node Type"]
    if "Scan Direction" in node and node["Scan Direction"] == "Backward":
        label += " Backward"
    if "Index Name" in node:
        label += f" using {node['Index Name']}"
    if "Filter" in node:  # rows read, then thrown away: a condition the index could not answer
        label += " (+ Filter)"
    yield label
    for child in node.get("Plans", []):
        yield from _plan_nodes(child)


def percentile(samples: list[float], p: float) -> float:
    """The p-th percentile, interpolated between the nearest ranks."""
    if not samples:
        raise ValueError("no samples")
    ordered = sorted(samples)
    rank = (len(ordered) - 1) * p / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


# ---- the case walk --------------------------------------------------------------------------------------
def walk_cases(components: Components, clock: ManualClock, n: int) -> tuple[int, float]:
    """Walk ``n`` cases, stage by stage, from confirmed detection to closing: open → file → rectification
    notice → re-check (persisting, after the deadline) → penalty notice → (statement period over) → legal review
    requested → approved by a legal reviewer → decision → delivery → payment → close. Returns (transitions,
    seconds spent in the service calls); preparing the detections is not timed."""
    violation = next(
        v
        for v in components.law.config.catalogue.violations
        if v.subject is SubjectType.MERCHANT and v.listed_for_non_site
    )
    fine = components.law.fine_band(violation, 0).min_fen
    detection_ids = _confirmed_detections(components, violation.code, n)
    cases = components.cases
    walk = _Walk()

    current = walk.opened(lambda: [cases.open_draft([ident], OFFICER) for ident in detection_ids])
    current = walk.stage(current, lambda c: cases.file(_id(c), OFFICER, c.version))
    current = walk.stage(current, lambda c: cases.issue_rectification_notice(_id(c), OFFICER, c.version, DIRECT))
    _move_past(clock, max(c.rectification_deadline or clock.today() for c in current))
    current = walk.stage(
        current,
        lambda c: cases.record_recheck(
            _id(c), OFFICER, c.version, RecheckOutcome.PERSISTING, clock.today(), inspection_note="复查：仍在门外经营"
        ),
    )
    current = walk.stage(current, lambda c: cases.issue_penalty_notice(_id(c), OFFICER, c.version, fine, DIRECT))
    _move_past(clock, max(_rights_period_end(c) for c in current))
    current = walk.stage(current, lambda c: cases.request_legal_review(_id(c), OFFICER, c.version, fine))
    current = walk.stage(current, lambda c: cases.approve_legal_review(_id(c), LEGAL, c.version, "同意"))
    current = walk.stage(current, lambda c: cases.decide_penalty(_id(c), OFFICER, c.version, fine))
    current = walk.stage(
        current, lambda c: cases.record_delivery(_id(c), OFFICER, c.version, DeliveryMethod.DIRECT, clock.today())
    )
    current = walk.stage(
        current,
        lambda c: cases.record_payment(
            _id(c), OFFICER, c.version, sum(c.amount_due_fen(components.law, clock.today())), clock.today()
        ),
    )
    walk.stage(current, lambda c: cases.close(_id(c), OFFICER, c.version, "已缴纳罚款"))
    return walk.transitions, walk.seconds


class _Walk:
    def __init__(self) -> None:
        self.transitions = 0
        self.seconds = 0.0

    def opened(self, open_all: Callable[[], list[Case]]) -> list[Case]:
        started = time.perf_counter()
        opened = open_all()
        self.seconds += time.perf_counter() - started
        self.transitions += len(opened)
        return opened

    def stage(self, current: list[Case], step: Callable[[Case], Case]) -> list[Case]:
        started = time.perf_counter()
        moved = [step(case) for case in current]
        self.seconds += time.perf_counter() - started
        self.transitions += len(moved)
        return moved


def _id(case: Case) -> int:
    assert case.id is not None
    return case.id


def _rights_period_end(case: Case) -> dt.date:
    """The last day the party may still file a statement or request a hearing."""
    assert case.statement_deadline is not None
    return max(case.statement_deadline, case.hearing_deadline or case.statement_deadline)


def _move_past(clock: ManualClock, day: dt.date) -> None:
    """To 10:00 local time on the day after ``day``."""
    clock.set(dt.datetime.combine(day + dt.timedelta(days=1), dt.time(10), tzinfo=clock.tz).astimezone(dt.UTC))


def _uscc(n: int) -> str:
    first17 = f"91310115MA2B{n:05d}"
    return first17 + uscc_check_character(first17)


def _confirmed_detections(components: Components, violation_code: str, n: int) -> list[int]:
    """One certified camera watching ``n`` shop fronts, each with a detection pushed and confirmed."""
    c = components
    today = c.clock.today()
    c.accounts.register_gateway("walk-gw", "基准网关 (case walk)")
    camera = c.registry.create_camera(
        Camera(
            "walk-cam-1",
            "基准商业街",
            "浦东新区 基准商业街 1 号",
            legal_review_date=today - dt.timedelta(days=100),
            legal_review_ref="法审〔2025〕基准",
            technical_review_date=today - dt.timedelta(days=100),
            technical_review_ref="技审〔2025〕基准",
            next_maintenance_due=today + dt.timedelta(days=200),
            published=True,
            gateway_id="walk-gw",
        )
    )
    assert camera.id is not None
    ids = []
    for i in range(1, n + 1):
        merchant = c.registry.create_merchant(
            Merchant(f"WALK-SHOP-{i}", f"基准商户 {i}", f"基准商业街 {i} 号", _uscc(i), f"139{i:08d}", False)
        )
        zone = c.registry.create_zone(
            Zone(camera.id, f"Z-SHOP-{i}", f"基准商户 {i} 门前", ZoneSubject.MERCHANT, merchant_id=merchant.id)
        )
        first_seen = c.clock.now() - dt.timedelta(hours=1)
        event_ = ViolationEvent(
            event_id=f"walk-evt-{i}",
            camera_id=camera.device_id,
            zone_id=zone.code,
            rule_id=f"{violation_code}-dwell",
            violation_code=violation_code,
            subject=SubjectRef(SubjectKind.MERCHANT, merchant.code),
            first_seen=first_seen,
            last_seen=first_seen + dt.timedelta(minutes=10),
            evidence_package_id=f"walk-pkg-{i}",
            confidence=0.9,
        )
        detection, _ = c.detections.intake(event_, c.registry)
        assert detection.id is not None
        confirmed = c.detections.review(detection.id, OPERATOR, detection.version, True, ALL_PASS, None)
        assert confirmed.id is not None
        ids.append(confirmed.id)
    return ids


def _walk_on_sqlite(n: int) -> tuple[int, float]:
    with tempfile.TemporaryDirectory(prefix="offsite-bench-") as folder:
        components, clock = _migrated_components(f"sqlite:///{Path(folder) / 'bench.db'}")
        try:
            return walk_cases(components, clock, n)
        finally:
            components.close()


# ---- the machine ----------------------------------------------------------------------------------------
def describe_machine(engine: Engine) -> dict[str, Any]:
    with engine.connect() as connection:
        server = connection.scalar(text("SHOW server_version"))
        settings = {
            name: connection.scalar(text(f"SHOW {name}"))
            for name in ("shared_buffers", "work_mem", "max_parallel_workers_per_gather", "jit")
        }
    return machine() | {
        "postgresql": server,
        "postgresql_settings": settings,
    }
