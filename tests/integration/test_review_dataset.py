"""Issue 15, labels from review: a camera's violation, sealed with the boxes the detector saw, reviewed by an operator,
is in the very next training export, on SQLite and PostgreSQL; the export is logged as a read of personal data, a
pending detection stays out, and a package sealed before key frames kept their boxes is named, not half-read."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from cases.model.staff import Role
from cases.persistence import tables
from cases.services.base import Actor
from cases.services.detections import QueueFilter
from offsite import learning
from offsite.bootstrap import Components
from offsite.cameras import build_runner, intake_sink
from offsite.settings import Settings
from tests.conftest import SHANGHAI
from tests.integration.test_camera_pipeline import SealedOracle, registered_stall_camera
from tests.integration.test_cli import run
from tests.integration.test_console import csrf, sign_in
from tests.integration.world import ALL_PASS, OPERATOR, World
from tests.unit.vision.test_pipeline import Clocked
from vision.synthetic import CLASS_NAMES, VideoSpec, render_video

ADMIN = Actor("admin1", Role.ADMIN)


@pytest.fixture(scope="module")
def stall_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    video = tmp_path_factory.mktemp("stall") / "stall.mp4"
    render_video(VideoSpec(out=video, scenario="stall", seconds=40, width=480, height=270, seed=31))
    return video


def camera_detection(components: Components, video: Path, work: Path) -> int:
    """The stall video through the pipeline (the oracle for a detector), sealed in the components' own store:
    the id of the one detection it raises."""
    sidecar = json.loads(video.with_suffix(".json").read_text())
    start = components.clock.now() - dt.timedelta(hours=1)
    oracle = SealedOracle(video, origin=start)
    intake = intake_sink(lambda event: components.detections.intake(event, components.registry))
    spec = registered_stall_camera(sidecar, video, start)
    runner = build_runner([spec], oracle, components.evidence(), intake, work, caption_tz=SHANGHAI)  # type: ignore[arg-type]
    pipeline = runner.pipelines["cam-1"]
    pipeline.source = Clocked(pipeline.source, oracle)
    runner.start()
    assert runner.wait(120)
    assert pipeline.metrics.failed is None
    (detection,) = [d for d in components.detections.queue(QueueFilter()).items if d.rule_id == "stall-road"]
    assert detection.id is not None
    return detection.id


def test_a_reviewed_detection_is_in_the_next_export_with_who_when_and_the_model(
    components: Components, world: World, stall_video: Path, tmp_path: Path
) -> None:
    ident = camera_detection(components, stall_video, tmp_path / "work")
    pending = world.detection("cross_door", confirmed=False)
    before_boxes = world.detection("stall")  # its package was sealed before key frames kept their boxes
    detection = components.detections.get(ident)
    components.detections.review(ident, OPERATOR, detection.version, True, ALL_PASS, None)

    summary, found = learning.export(components, ADMIN, tmp_path / "ds", CLASS_NAMES, 0.2)

    assert summary.images["train"] + summary.images["val"] == 3  # the three key frames of the reviewed stall
    assert found.detections == 2
    assert [(s.detection_id, "boxes.json" in s.reason) for s in found.skipped] == [(before_boxes.id, True)]
    provenance = [json.loads(line) for line in (tmp_path / "ds" / "provenance.jsonl").read_text().splitlines()]
    assert {(p["detection_id"], p["labelled_by"], p["model_sha256"]) for p in provenance} == {
        (ident, "operator1", "0" * 64)
    }
    assert pending.id not in {p["detection_id"] for p in provenance}
    for entry in provenance:
        lines = (tmp_path / "ds" / entry["image"].replace("images", "labels").replace(".jpg", ".txt")).read_text()
        assert any(line.split()[0] == str(CLASS_NAMES.index("stall")) for line in lines.splitlines())
        assert (tmp_path / "ds" / entry["image"]).read_bytes()[:2] == b"\xff\xd8"  # the sealed JPEG itself
    with components.engine.connect() as connection:
        reads = connection.execute(select(tables.personal_data_reads)).mappings().all()
    assert [(r["actor"], r["record_type"], r["fields"]) for r in reads] == [("admin1", "training_frames", "key_frames")]


def test_the_command_line_writes_the_dataset_and_refuses_what_it_cannot_do(
    components: Components, world: World, settings: Settings, tmp_path: Path
) -> None:
    world.detection("stall")
    env = {"OFFSITE_DATABASE_URL": settings.database_url, "OFFSITE_EVIDENCE_DIR": str(settings.evidence_dir)}
    unsaid = run("model", "dataset", "export", "--out", str(tmp_path / "a"), env=env)
    assert unsaid.returncode == 2
    assert "--from-reviews" in unsaid.stderr
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "notes.txt").write_text("mine")
    taken = run("model", "dataset", "export", "--from-reviews", "--out", str(tmp_path / "taken"), env=env)
    assert taken.returncode == 2
    assert "not empty" in taken.stderr
    assert [p.name for p in (tmp_path / "taken").iterdir()] == ["notes.txt"]
    with components.engine.connect() as connection:  # a refused export read nothing
        assert connection.execute(select(tables.personal_data_reads)).first() is None
    done = run("model", "dataset", "export", "--from-reviews", "--out", str(tmp_path / "ds"), env=env)
    assert done.returncode == 0, done.stderr
    assert "of 1 reviewed detections" in done.stdout
    assert "skipped detection" in done.stdout  # the world's package has no boxes.json
    assert (tmp_path / "ds" / "data.yaml").exists()


def test_the_command_line_imports_a_coco_file_and_names_each_problem_of_a_bad_one(tmp_path: Path) -> None:
    from tests.unit.vision.test_label_import import coco_file, pictures

    source, images = coco_file(tmp_path), pictures(tmp_path / "pictures")
    good = run("model", "dataset", "import", str(source), "--format", "coco", "--images", str(images),
               "--out", str(tmp_path / "set"))  # fmt: skip
    assert good.returncode == 0, good.stderr
    assert "imported 2 images" in good.stdout
    assert "vehicle 1" in good.stdout  # COCO's car
    source.write_text(source.read_text().replace('"name": "car"', '"name": "tram"'))
    bad = run("model", "dataset", "import", str(source), "--format", "coco", "--images", str(images),
              "--out", str(tmp_path / "again"))  # fmt: skip
    assert bad.returncode == 2
    assert "nothing imported" in bad.stderr
    assert "instances.json:" in bad.stderr
    assert "class 'tram' is not ours" in bad.stderr
    assert not (tmp_path / "again").exists()
    mapped = run("model", "dataset", "import", str(source), "--format", "coco", "--images", str(images),
                 "--out", str(tmp_path / "again"), "--map", "tram=vehicle")  # fmt: skip
    assert mapped.returncode == 0, mapped.stderr
    wrong = run("model", "dataset", "import", str(source), "--format", "voc", "--out", str(tmp_path / "x"))
    assert (wrong.returncode, "not one of yolo, coco, labelstudio, cvat" in wrong.stderr) == (2, True)


def test_an_operator_redraws_a_frames_boxes_in_the_console_and_the_export_takes_them(
    client: TestClient, components: Components, stall_video: Path, tmp_path: Path, world: World
) -> None:
    ident = camera_detection(components, stall_video, tmp_path / "work")
    sign_in(client, components, Role.OPERATOR)
    html = client.get(f"/console/detections/{ident}").text
    assert 'class="label-editor"' in html
    assert html.count('name="frame" value=') == 3
    # the classes named for people, the model's names kept as the values the boxes are saved with
    assert '<option value="stall">摊位</option>' in html
    assert '<option value="bare_pile">裸土堆</option>' in html
    token = csrf(html)
    drawn = [{"class": "stall", "xyxy": [10, 20, 110, 120]}, {"class": "goods", "xyxy": [200.5, 50, 260, 90]}]
    saved = client.post(f"/console/detections/{ident}/labels",
                        data={"csrf": token, "frame": "middle", "boxes": json.dumps(drawn)})  # fmt: skip
    assert saved.status_code == 200
    assert "已保存中间帧的 2 个框" in saved.text
    outside = client.post(f"/console/detections/{ident}/labels",
                          data={"csrf": token, "frame": "first", "boxes": json.dumps([{"class": "stall", "xyxy": [0, 0, 9999, 10]}])})  # fmt: skip
    assert "第 1 个框须在 480×270 的画面内" in outside.text
    kiosk = client.post(f"/console/detections/{ident}/labels",
                        data={"csrf": token, "frame": "first", "boxes": json.dumps([{"class": "kiosk", "xyxy": [0, 0, 9, 9]}])})  # fmt: skip
    assert "不是模型的类别" in kiosk.text
    assert set(components.detections.labels_of(ident)) == {"middle"}  # the refused ones changed nothing
    detection = components.detections.get(ident)
    components.detections.review(ident, OPERATOR, detection.version, False, ALL_PASS, "不是摊位")

    learning.export(components, ADMIN, tmp_path / "ds", CLASS_NAMES, 0.2)

    provenance = {
        p["role"]: p for p in map(json.loads, (tmp_path / "ds" / "provenance.jsonl").read_text().splitlines())
    }
    middle = tmp_path / "ds" / provenance["middle"]["image"].replace("images", "labels").replace(".jpg", ".txt")
    assert [line.split()[0] for line in middle.read_text().splitlines()] == ["0", "1"]  # as drawn, though rejected
    assert provenance["middle"]["drawn"] is True
    assert "drawn" not in provenance["first"]
