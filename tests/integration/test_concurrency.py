"""Two people act on the same record at the same moment: exactly one wins, the other gets 409, nothing is lost."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from cases.model.staff import Role
from tests.integration.conftest import Staff, problem_of
from tests.integration.world import World


def _at_once(calls: list[Callable[[], Any]]) -> list[Any]:
    """Run the calls in threads released together by a barrier."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def run(index: int) -> None:
        barrier.wait()
        results[index] = calls[index]()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


@pytest.mark.parametrize("attempt", range(5))
def test_two_officers_filing_one_case_at_once_one_wins_and_the_other_gets_409(
    client: TestClient, world: World, staff: Staff, attempt: int
) -> None:
    first, second = staff.headers(Role.OFFICER, "officer1"), staff.headers(Role.OFFICER, "officer2")
    case = world.draft("cross_door")
    body = {"version": case.version}
    responses = _at_once(
        [lambda h=h: client.post(f"/api/v1/cases/{case.id}/file", json=body, headers=h) for h in (first, second)]
    )
    assert sorted(r.status_code for r in responses) == [200, 409]
    loser = next(r for r in responses if r.status_code == 409)
    assert problem_of(loser)["code"] == "version_conflict"
    stored = world.components.cases.get(case.id or 0)
    assert stored.status.value == "filed"
    assert stored.version == case.version + 1
    assert [e.action for e in stored.events] == ["open_draft", "file"]


def test_two_officers_opening_cases_from_one_detection_at_once_make_exactly_one_case(
    client: TestClient, world: World, staff: Staff
) -> None:
    detection = world.detection("cross_door")
    heads = [staff.headers(Role.OFFICER, "officer1"), staff.headers(Role.OFFICER, "officer2")]
    responses = _at_once(
        [lambda h=h: client.post("/api/v1/cases", json={"detection_ids": [detection.id]}, headers=h) for h in heads]
    )
    statuses = sorted(r.status_code for r in responses)
    assert statuses[0] == 201
    assert statuses[1] in (409, 422)  # stale detection version, or already in a case when read after the winner
    cases, total = world.components.cases.find()
    assert total == 1
    assert world.components.detections.get(detection.id or 0).case_id == cases[0].id


def test_a_reviewer_and_a_second_reviewer_confirming_one_detection_at_once_record_one_review(
    client: TestClient, world: World, staff: Staff
) -> None:
    detection = world.detection("stall", confirmed=False)
    body = {
        "version": detection.version,
        "decision": "confirm",
        "checklist": {"authentic": True, "clear": True, "complete": True, "accurate": True},
    }
    heads = [staff.headers(Role.OPERATOR, "operator1"), staff.headers(Role.OPERATOR, "operator2")]
    responses = _at_once(
        [lambda h=h: client.post(f"/api/v1/detections/{detection.id}/review", json=body, headers=h) for h in heads]
    )
    assert sorted(r.status_code for r in responses) == [200, 409]
    winner = next(r for r in responses if r.status_code == 200).json()
    assert world.components.detections.get(detection.id or 0).reviewed_by == winner["reviewed_by"]
