"""What the operations team watches: liveness, readiness, and Prometheus metrics."""

from __future__ import annotations

import datetime as dt

from fastapi.testclient import TestClient

from cases.clock import ManualClock
from cases.model.staff import Role
from cases.persistence import migrate
from tests.integration.conftest import Staff
from tests.integration.world import World


def test_health_says_up_and_readiness_checks_the_schema(client: TestClient, world: World) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json() == {"status": "ready"}
    migrate.downgrade(world.components.engine, "base")
    try:
        not_ready = client.get("/readyz")
        assert not_ready.status_code == 503
        assert "offsite db upgrade" in not_ready.json()["reason"]
    finally:
        migrate.upgrade(world.components.engine)


def test_readiness_says_plainly_when_a_year_a_deadline_reaches_has_no_holiday_arrangement(
    client: TestClient, clock: ManualClock
) -> None:
    """Still ready (deadlines are counted, marked provisional), but the missing year is named."""
    clock.set(dt.datetime(2026, 12, 5, 2, 0, tzinfo=dt.UTC))
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["calendar_missing_years"] == [2027]
    assert "holiday arrangement of 2027 is missing" in ready.json()["calendar"]


def test_metrics_count_requests_by_route_and_show_the_work_waiting(
    client: TestClient, world: World, staff: Staff, clock: ManualClock
) -> None:
    officer = staff.headers(Role.OFFICER)
    world.detection("stall", confirmed=False)
    case = world.draft("dust")
    client.post(f"/api/v1/cases/{case.id}/file", json={"version": case.version}, headers=officer)
    notice = client.post(
        f"/api/v1/cases/{case.id}/rectification-notice",
        json={"version": case.version + 1, "method": "direct"},
        headers=officer,
    )
    assert notice.status_code == 200
    client.get("/api/v1/cases/999", headers=officer)
    client.get("/api/v1/no-such-thing/42", headers=officer)
    clock.advance(dt.timedelta(days=10))

    text = client.get("/metrics").text
    assert 'offsite_http_requests_total{method="POST",route="/api/v1/cases/{case_id}/file",status="200"} 1.0' in text
    assert 'offsite_http_requests_total{method="GET",route="/api/v1/cases/{case_id}",status="404"} 1.0' in text
    assert 'offsite_http_requests_total{method="GET",route="unmatched",status="404"} 1.0' in text
    assert 'offsite_detections{status="pending_review"} 1.0' in text
    assert 'offsite_detections{status="confirmed"} 1.0' in text
    assert 'offsite_cases{status="notice_issued"} 1.0' in text
    assert 'offsite_deadlines_overdue{deadline="rectification"} 1.0' in text
