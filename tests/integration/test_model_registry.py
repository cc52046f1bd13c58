"""Issue 15, the gate: models registered by hash, judged by the real ONNX runtime on a frozen golden set, a worse model
refused and a better one promoted (the old one retired), rollback, and every decision recorded; on SQLite and
PostgreSQL. The models here are the shipped network itself, told apart by their files and set to work at other
thresholds: a model that needs 0.97 to call anything is a worse model as deployed."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import shutil
import threading
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from cases.errors import ConcurrentModification, IllegalTransition
from cases.model.detector_release import GateAction, ReleaseStatus
from cases.model.staff import Role
from cases.services.base import Actor
from cases.services.detections import QueueFilter
from offsite import model_registry, roles
from offsite.bootstrap import Components
from offsite.settings import SHIPPED_MODEL, Settings
from tests.conftest import SHANGHAI
from tests.integration.conftest import Staff, problem_of
from tests.integration.test_cli import run
from tests.integration.test_console import csrf, sign_in
from tests.integration.test_gateway_frames import jpeg, push_frame
from tests.integration.test_serve_cameras import supervisor, until
from tests.integration.world import ALL_PASS, OPERATOR, World
from vision.manifest import ModelManifest, manifest_path_for
from vision.model_gate import freeze
from vision.synthetic import DatasetSpec, write_dataset

ADMIN = Actor("admin1", Role.ADMIN)


@pytest.fixture(scope="module")
def golden(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Generated street scenes, frozen as the exam (train and val sides)."""
    root = tmp_path_factory.mktemp("golden")
    write_dataset(DatasetSpec(root / "scenes", images=12, val_fraction=0.5, imgsz=640, seed=23))
    freeze(root / "scenes", root / "golden", ("train", "val"))
    return root / "golden"


def variant(folder: Path, name: str, tag: int, threshold: float | None = None) -> Path:
    """The shipped network in a file of its own (an unknown protobuf field appended, which ONNX Runtime skips),
    with its manifest; at ``threshold`` for every class when given."""
    folder.mkdir(parents=True, exist_ok=True)
    model = folder / f"{name}.onnx"
    model.write_bytes(SHIPPED_MODEL.read_bytes() + bytes([0xC0, 0x3E, tag]))
    shipped = ModelManifest.read(manifest_path_for(SHIPPED_MODEL))
    thresholds = shipped.thresholds if threshold is None else dict.fromkeys(shipped.classes, threshold)
    manifest = dataclasses.replace(
        shipped, name=name, file=model.name, sha256=model_registry.file_sha256(model), thresholds=thresholds
    )
    manifest.write(manifest_path_for(model))
    return model


def actions(components: Components) -> list[tuple[str, GateAction, str | None]]:
    return [(d.sha256[:8], d.action, d.replaced and d.replaced[:8]) for d in components.releases.decisions()]


def test_a_worse_model_is_refused_stays_a_candidate_and_the_figures_are_recorded(
    components: Components, golden: Path, tmp_path: Path
) -> None:
    worse = variant(tmp_path / "made", "timid", 1, threshold=0.97)
    release, created = model_registry.register(components, worse, ADMIN)
    assert (created, release.status) == (True, ReleaseStatus.CANDIDATE)
    assert model_registry.register(components, worse, ADMIN)[1] is False  # the same file is the same release

    result = model_registry.gate(components, release.sha256, ADMIN, golden)

    assert not result.verdict.passed
    keys = {reason.key for reason in result.verdict.reasons}
    assert "term.gate.not_better" in keys
    assert "term.gate.class_worse" in keys  # F1 at 0.97 falls for the classes the scenes hold
    assert components.releases.get(release.sha256).status is ReleaseStatus.CANDIDATE
    shipped = components.releases.active()
    assert shipped is not None
    assert shipped.sha256 == model_registry.file_sha256(SHIPPED_MODEL)
    assert (
        actions(components)
        == [
            (release.sha256[:8], GateAction.REGISTERED, None),
            (shipped.sha256[:8], GateAction.REGISTERED, None),
            (shipped.sha256[:8], GateAction.PROMOTED, None),  # the shipped model, first active of a new registry
            (release.sha256[:8], GateAction.REFUSED, None),
        ]
    )
    figures = components.releases.decisions(release.sha256)[-1].figures
    assert figures is not None
    assert figures["golden"]["frames"] == 12
    stall = {side: figures["golden"][side]["per_class"]["stall"]["recall"] for side in ("candidate", "active")}
    assert stall["candidate"] < stall["active"]  # at 0.97 it calls fewer of the scenes' stalls
    assert figures["golden"]["active"]["map50"] > 0.5  # the shipped model knows the generated scenes
    assert figures["verdict"]["passed"] is False
    stored = model_registry.model_file(components, release)
    assert stored.read_bytes() == worse.read_bytes()
    assert manifest_path_for(stored).exists()


def test_a_better_model_is_promoted_the_old_one_retires_and_a_rollback_brings_it_back(
    components: Components, golden: Path, tmp_path: Path
) -> None:
    timid = variant(tmp_path / "made", "timid", 2, threshold=0.97)
    sha, path, manifest = model_registry.store(timid, components.settings.model_store)
    components.releases.adopt_shipped(sha, manifest.name, path, ADMIN)  # a bureau whose active model is poor
    better, _ = model_registry.register(components, variant(tmp_path / "made", "keen", 3), ADMIN)

    result = model_registry.gate(components, better.sha256, ADMIN, golden)

    assert result.verdict.passed, [model_registry.told(r).english for r in result.verdict.reasons]
    assert [r.key for r in result.verdict.reasons] == ["term.gate.better"]
    assert components.releases.get(better.sha256).status is ReleaseStatus.ACTIVE
    assert components.releases.get(sha).status is ReleaseStatus.RETIRED
    assert actions(components)[-1] == (better.sha256[:8], GateAction.PROMOTED, sha[:8])

    back = components.releases.rollback(ADMIN)
    assert back.sha256 == sha
    assert components.releases.get(better.sha256).status is ReleaseStatus.RETIRED
    assert [r.sha256 for r in components.releases.releases() if r.status is ReleaseStatus.ACTIVE] == [sha]
    assert actions(components)[-1] == (sha[:8], GateAction.ROLLED_BACK, better.sha256[:8])
    with pytest.raises(IllegalTransition):  # a retired model does not go before the gate again
        model_registry.gate(components, better.sha256, ADMIN, golden)


def test_there_is_nothing_to_roll_back_to_on_a_new_registry(components: Components) -> None:
    model_registry.active_release(components, ADMIN)
    with pytest.raises(IllegalTransition) as refused:
        components.releases.rollback(ADMIN)
    assert refused.value.told("zh_CN") == "没有可回退到的上一个启用模型"


def test_a_store_without_the_shipped_model_gets_it_back_from_this_machine_s_own_copy(components: Components) -> None:
    active = model_registry.active_release(components, ADMIN)  # the shipped model, on a new registry
    stored = model_registry.model_file(components, active)
    stored.unlink()  # a new worker machine, whose store is empty
    detector = roles.active_detector(components)
    assert detector.manifest.sha256 == active.sha256
    assert model_registry.file_sha256(stored) == active.sha256


def test_a_role_whose_active_model_is_missing_from_the_store_does_not_start_and_names_the_release_and_store(
    components: Components, settings: Settings, tmp_path: Path
) -> None:
    keen = variant(tmp_path / "made", "keen", 7)
    sha, path, manifest = model_registry.store(keen, components.settings.model_store)
    active = components.releases.adopt_shipped(sha, manifest.name, path, ADMIN)  # promoted on another machine
    (components.settings.model_store / path).unlink()  # a store not shared with this machine, or removed by hand
    with pytest.raises(roles.CannotStart) as refused:
        roles.active_detector(components)
    told = str(refused.value)
    assert f"{active.sha256[:12]} {active.name}" in told
    assert str(settings.model_store) in told
    assert "OFFSITE_MODEL_STORE" in told
    assert components.releases.active() == active  # nothing changed: the registry still names it


def test_a_promoted_model_missing_from_the_store_is_not_taken_up_and_one_line_says_why(
    components: Components, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    keen = variant(tmp_path / "made", "keen", 6)
    sha, path, manifest = model_registry.store(keen, components.settings.model_store)
    components.releases.adopt_shipped(sha, manifest.name, path, ADMIN)  # promoted: the registry's active model
    (components.settings.model_store / path).unlink()
    taken: list[object] = []
    with caplog.at_level("ERROR", logger="offsite.models"):
        assert model_registry.take_up_promoted(components, lambda d: taken.append(d) or True, "0" * 64) is False
    assert taken == []  # the cameras keep their model
    [line] = [r for r in caplog.records if r.name == "offsite.models"]
    assert f"model {sha[:12]} keen (active) is not in the model store" in line.getMessage()
    assert line.exc_info is None  # a line, not a traceback


def test_the_command_line_registers_judges_and_lists_models(
    components: Components, settings: Settings, golden: Path, tmp_path: Path
) -> None:
    env = {
        "OFFSITE_DATABASE_URL": settings.database_url,
        "OFFSITE_EVIDENCE_DIR": str(settings.evidence_dir),
        "OFFSITE_MODEL_STORE": str(settings.model_store),
    }
    worse = variant(tmp_path / "made", "timid", 4, threshold=0.97)
    registered = run("model", "register", str(worse), env=env)
    assert registered.returncode == 0, registered.stderr
    sha = model_registry.file_sha256(worse)
    assert f"registered: {sha[:12]} timid (candidate)" in registered.stdout
    refused = run("model", "promote", sha[:10], "--golden", str(golden), env=env)
    assert refused.returncode == 1, refused.stderr
    assert "not better than the active model's" in refused.stdout
    assert f"refused: {sha[:12]} stays candidate" in refused.stdout
    listed = run("model", "registry", env=env)
    assert listed.returncode == 0, listed.stderr
    assert f"{sha[:12]}  candidate" in listed.stdout
    assert "refused by cli:" in listed.stdout
    unknown = run("model", "promote", "00000000", "--golden", str(golden), env=env)
    assert (unknown.returncode, "matches 0 registered models" in unknown.stderr) == (2, True)
    nothing = run("model", "rollback", env=env)
    assert nothing.returncode == 1
    assert "no earlier active model" in nothing.stderr
    shutil.rmtree(tmp_path / "made")
    gone = run("model", "register", str(worse), env=env)
    assert (gone.returncode, "does not exist" in gone.stderr) == (2, True)
    assert json.loads((settings.model_store / sha[:16] / "timid.manifest.json").read_text())["sha256"] == sha


def test_a_promoted_model_whose_stored_file_was_changed_is_not_taken_up(
    components: Components, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    keen = variant(tmp_path / "made", "keen", 6)
    sha, path, manifest = model_registry.store(keen, components.settings.model_store)
    components.releases.adopt_shipped(sha, manifest.name, path, ADMIN)
    other = variant(tmp_path / "other", "keen", 7)
    (components.settings.model_store / path).write_bytes(other.read_bytes())  # another file under its name
    taken: list[object] = []
    with caplog.at_level("ERROR", logger="offsite.models"):
        assert model_registry.take_up_promoted(components, lambda d: taken.append(d) or True, "0" * 64) is False
    assert taken == []
    [line] = [r.getMessage() for r in caplog.records if r.name == "offsite.models"]
    assert "is not the registered file; the cameras keep their model" in line


def test_a_follower_says_once_that_a_promoted_model_is_missing_and_takes_it_up_once_it_is_back(
    components: Components, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A worker looks for a newly promoted model every few seconds: a file missing from its store is one line in its
    log, not one a look, and the file put back is taken up."""
    keen = variant(tmp_path / "made", "keen", 6)
    sha, path, manifest = model_registry.store(keen, components.settings.model_store)
    components.releases.adopt_shipped(sha, manifest.name, path, ADMIN)
    kept = tmp_path / "kept.onnx"
    (components.settings.model_store / path).rename(kept)
    taken: list[str] = []
    looks = threading.Semaphore(0)

    def current() -> str:
        looks.release()
        return taken[-1] if taken else "0" * 64

    stop = threading.Event()
    follower = threading.Thread(
        target=model_registry.follow_active_model,
        args=(components, lambda d: taken.append(d.manifest.sha256) or True, current, stop, 0.01),
    )
    with caplog.at_level("ERROR", logger="offsite.models"):
        follower.start()
        try:
            for _ in range(20):  # twenty looks while the file is missing
                assert looks.acquire(timeout=5)
            (components.settings.model_store / path).parent.mkdir(parents=True, exist_ok=True)
            kept.rename(components.settings.model_store / path)
            assert until(lambda: taken == [sha])
        finally:
            stop.set()
            follower.join(5)
    lines = [r.getMessage() for r in caplog.records if r.name == "offsite.models"]
    assert len(lines) == 1, lines
    assert f"model {sha[:12]} keen (active) is not in the model store" in lines[0]


def test_running_pipelines_take_up_a_promoted_model_without_a_restart(
    client: TestClient, components: Components, world: World, tmp_path: Path
) -> None:
    cameras, counting = supervisor(components, tmp_path, "push")
    try:
        pipeline = cameras.runner.pipelines["cam-1"]
        push_frame(client, components, jpeg(96, 54), components.clock.now().isoformat())
        assert until(lambda: len(counting.sizes) == 1)
        keen = variant(tmp_path / "made", "keen", 5)
        sha, path, manifest = model_registry.store(keen, components.settings.model_store)
        components.releases.adopt_shipped(sha, manifest.name, path, ADMIN)  # promoted: the registry's active model
        stop = threading.Event()
        follower = threading.Thread(
            target=model_registry.follow_active_model,
            args=(components, cameras.use_model, lambda: cameras.detector.manifest.sha256, stop, 0.05),
        )
        follower.start()
        try:
            assert until(lambda: pipeline.detector.manifest.sha256 == sha)
        finally:
            stop.set()
            follower.join(5)
        assert cameras.runner.pipelines["cam-1"] is pipeline  # the same pipeline, not restarted
        assert (cameras.sealer.model_name, cameras.sealer.model_sha256) == ("keen", sha)  # what is sealed names it
        later = (components.clock.now() + dt.timedelta(seconds=1)).isoformat()
        assert push_frame(client, components, jpeg(96, 54), later).status_code == 202
        assert until(lambda: pipeline.metrics.frames_analysed == 2)
        assert len(counting.sizes) == 1  # the second frame went to the promoted model
        assert pipeline.metrics.failed is None
    finally:
        assert cameras.stop(10)


def test_a_promoted_model_of_other_classes_is_not_taken_up(components: Components, tmp_path: Path) -> None:
    class Other:
        class_names = ("stall", "person")

        class manifest:  # noqa: N801
            name, sha256 = "other", "1" * 64

    cameras, _counting = supervisor(components, tmp_path, "push")
    try:
        assert cameras.use_model(Other()) is False  # type: ignore[arg-type]
        assert cameras.detector.manifest.name == "counting"
    finally:
        assert cameras.stop(10)


def test_the_api_judges_a_candidate_on_a_golden_set_it_names_and_refuses_an_unknown_or_changed_set(
    client: TestClient, components: Components, staff: Staff, golden: Path, tmp_path: Path
) -> None:
    store = components.settings.golden_store
    shutil.copytree(golden, store / "spring")
    shutil.copytree(golden, store / "touched")
    label = next((store / "touched" / "labels").iterdir())
    label.write_text(label.read_text() + "0 0.5 0.5 0.1 0.1\n")
    worse, _ = model_registry.register(components, variant(tmp_path / "made", "timid", 6, threshold=0.97), ADMIN)
    admin = staff.headers(Role.ADMIN)
    promote = f"/api/v1/models/{worse.sha256[:10]}/promote"

    unknown = client.post(promote, json={"golden": "autumn"}, headers=admin)
    assert (unknown.status_code, "autumn" in problem_of(unknown)["detail"]) == (404, True)
    changed = client.post(promote, json={"golden": "touched"}, headers=admin)
    assert changed.status_code == 409
    assert f"labels/{label.name}" in problem_of(changed)["detail"]
    assert components.releases.get(worse.sha256).status is ReleaseStatus.CANDIDATE  # nothing was decided
    judged = client.post(promote, json={"golden": "spring"}, headers={**admin, "Accept-Language": "zh-CN"})
    assert judged.status_code == 200, judged.text
    verdict = judged.json()
    assert verdict["passed"] is False
    assert verdict["release"]["status"] == "candidate"
    assert any("未优于启用模型" in reason for reason in verdict["reasons"])

    listed = client.get("/api/v1/models", headers=admin).json()
    assert listed["golden_sets"] == ["spring", "touched"]
    assert {r["status"] for r in listed["releases"]} == {"active", "candidate"}
    newest = listed["decisions"][0]
    assert (newest["action"], newest["sha256"]) == ("refused", worse.sha256)
    assert newest["reasons"]
    assert client.get("/api/v1/models", headers=staff.headers(Role.OPERATOR)).status_code == 403
    assert client.post("/api/v1/models/rollback", headers=admin).status_code == 409  # nothing active before


def test_the_console_page_shows_the_registry_and_its_rollback_button_brings_the_earlier_model_back(
    client: TestClient, components: Components, tmp_path: Path
) -> None:
    shipped = model_registry.active_release(components, ADMIN)
    keen, _ = model_registry.register(components, variant(tmp_path / "made", "keen", 7), ADMIN)
    components.releases.decide(keen.sha256, ADMIN, True, {"verdict": {"passed": True, "reasons": []}})
    sign_in(client, components, Role.ADMIN)
    html = client.get("/console/models").text
    assert "检测模型" in html
    assert f'id="model-{keen.sha256[:12]}"' in html
    assert 'href="/console/models"' in html  # in the admin's menu
    rolled = client.post("/console/models/rollback", data={"csrf": csrf(html)}, follow_redirects=True)
    assert rolled.status_code == 200
    assert f"已回退：模型 {shipped.sha256[:12]} 重新启用" in rolled.text
    active = components.releases.active()
    assert active is not None
    assert active.sha256 == shipped.sha256
    sign_in(client, components, Role.OPERATOR)
    assert client.get("/console/models").status_code == 403


def test_the_console_models_page_reads_in_english(client: TestClient, components: Components, tmp_path: Path) -> None:
    model_registry.active_release(components, ADMIN)
    keen, _ = model_registry.register(components, variant(tmp_path / "made", "keen", 11), ADMIN)
    sign_in(client, components, Role.ADMIN)
    client.get("/console/language/en")
    html = client.get("/console/models").text
    for english in ("Detection models", "Model registry: each model is registered by its file", "Candidate",
                    "Shadow run", "Roll back to the previously active model", "Training jobs", "No training jobs yet",
                    "Training datasets", "Class mapping", "YOLO (with data.yaml)", "Decisions", "Registered",
                    'class="here">Models</a>'):  # fmt: skip
        assert english in html, english
    assert f'id="model-{keen.sha256[:12]}"' in html
    for chinese in (
        "检测模型",
        "候选",
        "影子运行",
        "回退到上一个启用的模型",
        "训练任务",
        "尚无训练任务",
        "决定记录",
        "登记",
    ):
        assert chinese not in html, chinese


def test_an_admin_uploads_a_labelled_set_in_the_console_and_a_bad_one_is_listed_problem_by_problem(
    client: TestClient, components: Components, tmp_path: Path
) -> None:
    from tests.unit.vision.test_label_import import coco_file, label_studio_file, pictures, zipped

    good, bad = tmp_path / "good", tmp_path / "bad"
    good.mkdir()
    bad.mkdir()
    label_studio_file(good)
    pictures(good / "upload")
    source = coco_file(bad)
    source.write_text(source.read_text().replace('"name": "car"', '"name": "tram"'))
    pictures(bad)
    sign_in(client, components, Role.ADMIN)
    token = csrf(client.get("/console/models").text)

    def upload(name: str, folder: Path, label_format: str, mapping: str = "") -> Any:
        archive = zipped(folder, tmp_path / f"{name}.zip")
        fields = {"csrf": token, "name": name, "format": label_format, "mapping": mapping}
        with archive.open("rb") as file:
            return client.post("/console/models/datasets", data=fields,
                               files={"archive": (archive.name, file, "application/zip")})  # fmt: skip

    done = upload("market-2026", good, "labelstudio")
    assert done.status_code == 200
    assert "已导入数据集 market-2026：2 张图片" in done.text
    assert "行人 1" in done.text  # the class named for people (person)
    refused = upload("trams", bad, "coco")
    assert refused.status_code == 422
    assert "数据集 trams 未导入：发现 1 处问题" in refused.text
    assert "instances.json:" in refused.text
    assert "类别 &#39;tram&#39; 不是本系统的类别" in refused.text
    assert not (components.settings.dataset_store / "trams").exists()
    again = upload("market-2026", good, "labelstudio")
    assert "数据集 market-2026 已存在" in again.text
    garbled = upload("trams", bad, "coco", "tram")
    assert "类别映射应写成" in garbled.text
    mapped = upload("trams", bad, "coco", "tram=vehicle，person=-")
    assert "已导入数据集 trams：2 张图片" in mapped.text
    assert "车辆 1" in mapped.text
    assert "person" not in mapped.text.split('id="datasets"')[1].split("</table>")[0].split("trams")[1]


def test_a_shadow_model_on_a_camera_records_what_it_would_raise_and_the_report_sets_it_against_the_reviews(
    components: Components, world: World, tmp_path: Path
) -> None:
    from offsite.cameras import build_runner, intake_sink
    from tests.integration.test_camera_pipeline import SealedOracle, registered_stall_camera
    from tests.unit.vision.test_pipeline import Clocked
    from vision.rules import RuleEngine
    from vision.shadow import ShadowLane
    from vision.synthetic import CLASS_NAMES, VideoSpec, render_video
    from vision.tracking import Tracker

    keen, _ = model_registry.register(components, variant(tmp_path / "made", "keen", 8), ADMIN)
    components.releases.shadow(keen.sha256, ADMIN)
    video = tmp_path / "stall.mp4"
    render_video(VideoSpec(out=video, scenario="stall", seconds=40, width=480, height=270, seed=31))
    start = components.clock.now()  # the camera's frames come after shadowing began
    spec = registered_stall_camera(json.loads(video.with_suffix(".json").read_text()), video, start)
    oracle = SealedOracle(video, origin=start)

    class ShadowOracle(SealedOracle):
        class manifest:  # noqa: N801 (the shadow model's manifest, as the registry knows it)
            name, sha256 = "keen", keen.sha256

    intake = intake_sink(lambda event: components.detections.intake(event, components.registry))
    runner = build_runner([spec], oracle, components.evidence(), intake, tmp_path / "work", caption_tz=SHANGHAI)  # type: ignore[arg-type]
    pipeline = runner.pipelines["cam-1"]
    shadow = ShadowOracle(video, origin=start)
    pipeline.source = Clocked(Clocked(pipeline.source, shadow), oracle)  # each oracle learns each frame's time
    pipeline.shadow = ShadowLane("cam-1", shadow, Tracker(spec.tracker), RuleEngine(spec.zones, spec.rules, CLASS_NAMES),
                                 components.releases.record_shadow)  # fmt: skip
    runner.start()
    assert runner.wait(120)
    assert pipeline.metrics.failed is None

    (found,) = components.releases.shadow_findings(keen.sha256)
    assert (found.camera_id, found.zone_id, found.violation_code) == ("cam-1", "Z-ROAD", "street_stall")
    (detection,) = [d for d in components.detections.queue(QueueFilter()).items if d.rule_id == "stall-road"]
    assert detection.id is not None
    assert model_registry.shadow_report(components, keen.sha256).both_pending == 1
    components.detections.review(detection.id, OPERATOR, detection.version, True, ALL_PASS, None)
    report = model_registry.shadow_report(components, keen.sha256)
    assert (report.both_confirmed, report.shadow_only, report.missed_confirmed) == (1, 0, 0)


def test_the_cameras_run_a_shadow_model_beside_the_active_one_and_stop_it(
    client: TestClient, components: Components, world: World, tmp_path: Path
) -> None:
    from tests.integration.test_serve_cameras import CountingDetector

    cameras, active = supervisor(components, tmp_path, "push")
    shadow = CountingDetector()
    recorded: list[object] = []
    try:
        assert cameras.use_shadow(shadow, recorded.append)  # type: ignore[arg-type]
        push_frame(client, components, jpeg(96, 54), components.clock.now().isoformat())
        assert until(lambda: len(shadow.sizes) == 1)
        assert len(active.sizes) == 1  # the same frame, through both models
        assert cameras.use_shadow(None, recorded.append)
        later = (components.clock.now() + dt.timedelta(seconds=1)).isoformat()
        push_frame(client, components, jpeg(96, 54), later)
        assert until(lambda: len(active.sizes) == 2)
        assert len(shadow.sizes) == 1
        assert recorded == []  # nothing stayed long enough to be a finding
    finally:
        assert cameras.stop(10)


def test_an_admin_puts_a_candidate_in_shadow_from_the_console_and_sees_its_report(
    client: TestClient, components: Components, tmp_path: Path
) -> None:
    from vision.shadow import ShadowFinding

    keen, _ = model_registry.register(components, variant(tmp_path / "made", "keen", 9), ADMIN)
    sign_in(client, components, Role.ADMIN)
    html = client.get("/console/models").text
    assert f'action="/console/models/{keen.sha256}/shadow"' in html
    shadowed = client.post(f"/console/models/{keen.sha256}/shadow", data={"csrf": csrf(html)})
    assert shadowed.status_code == 200
    assert f"模型 {keen.sha256[:12]} 已进入影子运行" in shadowed.text
    assert components.releases.get(keen.sha256).status is ReleaseStatus.SHADOW
    now = components.clock.now()
    components.releases.record_shadow(ShadowFinding(keen.sha256, "cam-1", "Z-ROAD", "street_stall", now, now, 0.8))
    page = client.get("/console/models").text
    report = page.split(f'id="shadow-{keen.sha256[:12]}">')[1].split("</div>")[0]
    assert "仅影子模型报出 1" in report
    again = client.post(f"/console/models/{keen.sha256}/shadow", data={"csrf": csrf(page)})
    assert f"模型 {keen.sha256[:12]} 当前为“影子运行”，此操作要求其为：候选" in again.text  # refused, and told why


def test_a_shadow_runs_for_its_period_and_its_report_goes_with_the_gate_s_decision(
    components: Components, golden: Path, tmp_path: Path
) -> None:
    from cases.errors import InvalidInput
    from vision.shadow import ShadowFinding

    timid = variant(tmp_path / "made", "timid", 12, threshold=0.97)
    sha, path, manifest = model_registry.store(timid, components.settings.model_store)
    components.releases.adopt_shipped(sha, manifest.name, path, ADMIN)
    keen, _ = model_registry.register(components, variant(tmp_path / "made", "keen", 13), ADMIN)
    for hours in (0.0, -1.0, 24.0 * 91, float("nan")):
        with pytest.raises(InvalidInput):
            components.releases.shadow(keen.sha256, ADMIN, hours)
    components.releases.shadow(keen.sha256, ADMIN, 2.0)
    now = components.clock.now()
    assert components.releases.shadow_until(keen.sha256) == now + dt.timedelta(hours=2)
    cameras: list[str | None] = []

    def use_shadow(detector: Any, record: Any) -> bool:
        cameras.append(None if detector is None else detector.manifest.sha256)
        return True

    assert model_registry.take_up_shadow(components, use_shadow, None)  # the cameras start running it
    assert not model_registry.take_up_shadow(components, use_shadow, keen.sha256)  # and keep it within its period
    components.releases.record_shadow(ShadowFinding(keen.sha256, "cam-1", "Z-ROAD", "street_stall", now, now, 0.8))
    components.clock.advance(dt.timedelta(hours=2, seconds=1))  # type: ignore[attr-defined]
    assert model_registry.take_up_shadow(components, use_shadow, keen.sha256)  # its period is over: stopped
    assert cameras == [keen.sha256, None]
    assert components.releases.get(keen.sha256).status is ReleaseStatus.SHADOW  # for the gate to judge

    result = model_registry.gate(components, keen.sha256, ADMIN, golden)

    assert result.verdict.passed
    recorded = components.releases.decisions(keen.sha256)[-1].figures
    assert recorded is not None
    assert recorded["shadow"]["shadow_only"] == 1  # what it raised on the cameras, kept with the decision


def test_two_workers_starting_on_a_new_install_both_start_on_the_shipped_model(
    components: Components, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two `offsite worker`s started at once on a new install both see no active model and adopt the shipped one;
    the one whose adoption loses the race starts on the winner's. (A CI run saw the loser's activation refused as a
    stale write, ConcurrentModification, and the worker died at start.)"""
    winner = model_registry.active_release(components, ADMIN)
    looks = iter([None])  # the loser looked before the winner committed

    def stale_then_real() -> Any:
        return next(looks, winner)

    def refused(*_args: Any) -> Any:
        raise ConcurrentModification(variant="meanwhile")

    monkeypatch.setattr(components.releases, "active", stale_then_real)
    monkeypatch.setattr(components.releases, "adopt_shipped", refused)
    loser = model_registry.active_release(components, Actor("cli:worker-2", Role.ADMIN))
    assert loser.sha256 == winner.sha256
    assert [r.sha256 for r in components.releases.releases()] == [winner.sha256]  # registered once


def test_two_workers_adopting_at_the_same_moment_on_postgresql_or_sqlite_end_on_one_active_model(
    components: Components,
) -> None:
    """The same race for real: threads adopting the shipped model at once; none fails, all answer the same model."""
    answers: list[str] = []
    failures: list[BaseException] = []

    def adopt(n: int) -> None:
        try:
            answers.append(model_registry.active_release(components, Actor(f"cli:worker-{n}", Role.ADMIN)).sha256)
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=adopt, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert failures == []
    assert len(set(answers)) == 1
    assert len(answers) == 4
