"""The learning loop in Chromium, as an operator and an administrator (issue 15): the demo has turned its reviews into
labels, a golden set and a two-epoch CPU training, and put the candidate before the gate. The operator confirms one
more detection (a review is a label); the administrator finds the demo's job, candidate and refusal at
/console/models, starts the recipe again with the page's button, watches its progress until its candidate appears
(the frame confirmed a minute before is in its dataset), and puts that candidate before the gate, which refuses it
with its reasons. Screenshots in test-artifacts/browser/learning-*.png."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cases.model.detection import DetectionStatus
from offsite import training_jobs
from offsite.demo_learning import GOLDEN_SET, RECIPE
from tests.browser.conftest import Served, serve_learned_demo, sign_in


@pytest.fixture(scope="module")
def learned(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """The demo served after its learning loop."""
    yield from serve_learned_demo(tmp_path_factory)


def shot(page: Any, artefacts: Path, name: str) -> None:
    page.screenshot(path=str(artefacts / f"learning-{name}.png"), full_page=True)


def test_the_demo_s_learning_loop_as_an_operator_and_an_administrator(
    browser: Any, learned: Served, artefacts: Path
) -> None:
    components, base = learned.components, learned.base

    # 1. the operator confirms one of today's cross-door detections: the review is a label at once
    operator = sign_in(browser, base, "operator1")
    operator.goto(f"{base}/console/review?violation=cross_door")
    with operator.expect_navigation():
        operator.locator("table.list tbody tr.row a").first.click()
    operator.wait_for_selector("#review-form")
    detection_id = int(re.search(r"/console/detections/(\d+)", operator.url).group(1))  # type: ignore[union-attr]
    for key in "1234":
        operator.keyboard.press(key)
    with operator.expect_navigation():
        operator.keyboard.press("c")
    assert "已确认" in operator.locator(".flash.ok").inner_text()
    assert components.detections.get(detection_id).status is DetectionStatus.CONFIRMED
    assert operator.goto(f"{base}/console/models").status == 403  # training is the administrator's

    # 2. the administrator finds the demo's loop: its job finished, its candidate refused with the gate's reasons
    admin = sign_in(browser, base, "admin", password=components.settings.admin_password.get_secret_value())
    admin.goto(f"{base}/console/models")
    [first] = components.training_jobs.jobs()
    assert first.candidate_sha256 is not None
    job_row = admin.locator(f"#job-{first.id}")
    assert "已完成" in job_row.inner_text()
    assert first.candidate_sha256[:12] in job_row.inner_text()
    assert job_row.locator("progress").evaluate("p => p.value") == 1
    decisions = admin.locator("#decisions tbody tr").first.inner_text()
    assert "未通过考核" in decisions
    assert first.candidate_sha256[:12] in decisions
    assert "黄金集" in decisions
    assert admin.locator(f"#model-{first.candidate_sha256[:12]}").inner_text().count("候选") == 1
    shot(admin, artefacts, "1-demo-loop")

    # 3. the administrator trains the recipe again from the page and watches it until its candidate appears
    admin.locator("#start-training select[name=recipe]").select_option(RECIPE)
    with admin.expect_navigation():
        admin.locator("#start-training button[type=submit]").click()
    assert "已开始" in admin.locator(".flash.ok").inner_text()
    second = components.training_jobs.jobs()[0]
    assert second.id != first.id
    shot(admin, artefacts, "2-training-started")
    admin.wait_for_selector(f"#job-{second.id}[data-done=true]", timeout=600_000)  # the page reloads at the end
    second = components.training_jobs.get(second.id or 0)
    assert second.status.value == "finished", second.error
    assert second.candidate_sha256 is not None
    shot(admin, artefacts, "3-training-finished")
    provenance = training_jobs.job_folder(components.settings, second.id or 0) / "reviews" / "provenance.jsonl"
    exported = [json.loads(line)["detection_id"] for line in provenance.read_text(encoding="utf-8").splitlines()]
    assert detection_id in exported  # confirmed a minute before, it is in the next training's dataset

    # 4. the new candidate before the gate on the demo's golden set: refused, with its reasons
    candidate = admin.locator(f"#model-{second.candidate_sha256[:12]}")
    assert candidate.locator("select[name=golden] option").all_inner_texts() == [GOLDEN_SET]
    with admin.expect_navigation():
        candidate.locator("form[action$='/promote'] button[type=submit]").click()
    assert "未通过考核" in admin.locator(".flash.error").inner_text()
    assert second.candidate_sha256[:12] in admin.locator("#decisions tbody tr").first.inner_text()
    shot(admin, artefacts, "4-gate-refused")
