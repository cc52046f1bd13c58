"""The `offsite` command line, run as a user runs it: the installed console script in a subprocess."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from offsite.settings import PROJECT_ROOT
from tests.support.session_demos import learned_demo, offsite

run = offsite  # the installed command in a subprocess, as a user runs it (other modules import it from here)


def test_the_demo_runs_the_cameras_and_finds_what_the_videos_hold(tmp_path_factory: pytest.TempPathFactory) -> None:
    """`offsite demo --once --json`: generated videos through the real pipeline and model, checked against the
    videos' own ground truth (read here from their sidecars, not from the demo's report). The session runs the
    command once: the browser's learning-loop test serves the folder it leaves."""
    from offsite.demo import EARLIER, FOOTAGE_CACHE, TODAY

    demo = learned_demo(tmp_path_factory)
    summary = demo.summary()
    truth: dict[str, int] = {}
    for footage in (*EARLIER, *TODAY):
        for violation in footage.true_violations(FOOTAGE_CACHE):
            truth[violation["violation_code"]] = truth.get(violation["violation_code"], 0) + 1
    assert {"street_stall", "cross_door", "construction_dust"} <= set(truth)
    assert summary["ground_truth"] == truth
    # every event is a distinct true violation, and every true violation is found
    events = sum(summary["events"].values())
    assert summary["events_matching_truth"] == events
    assert summary["true_violations_found"] == events
    assert summary["events"] == truth
    assert summary["detections"] == events
    # each event's evidence, and each document the cases' stages issued (notice, pre-penalty notice, decision of
    # the cross-door case; notice and no-penalty decision of the stall case; the dust case's notice)
    assert summary["documents_sealed"] == 3 + 2 + 1
    # and the key frames of each automatic re-check that could look at its camera
    looked = sum(1 for recheck in summary["automatic_rechecks"] if recheck["present"] is not None)
    assert summary["packages_sealed"] == events + summary["documents_sealed"] + looked
    assert summary["verify_ok"] is True
    # today's stall, two cross-door and dust detections wait; today's bare pile was turned down
    assert summary["pending_review"] == 4
    assert summary["cases"] == {"closed": 2, "notice_issued": 1, "draft": 1}
    assert summary["case_events"] >= 14 + 8 + 3 + 1  # penalty path, no-penalty path, notice, draft
    # the dust notice's deadline has passed: the service looked at the site camera again on its own
    assert [(r["camera_id"], r["zone_id"]) for r in summary["automatic_rechecks"]] == [("cam-site-03", "site-1")]
    assert isinstance(summary["automatic_rechecks"][0]["present"], bool)
    assert [login["party"] for login in summary["party_logins"]] == ["上海建工示例有限公司"]
    assert summary["notifications_sent"] > 0
    assert isinstance(summary["seconds"], float)
    assert (demo.folder / "offsite-demo.db").exists()
    # the learning loop: the reviews became labels, their validation side the exam, a two-epoch CPU training a
    # candidate, which the gate refused with its reasons (a few dozen images do not beat the shipped model)
    learned = summary["learning"]
    assert learned["labelled_frames"] > learned["golden_frames"] > 0
    assert (learned["job_status"], learned["problem"]) == ("finished", None)
    assert learned["candidate"] is not None
    assert learned["promoted"] is False
    assert any("not better than the active model" in reason for reason in learned["reasons"])


@pytest.mark.parametrize(
    "command",
    [
        [],
        ["demo"],
        ["serve"],
        ["db"],
        ["db", "upgrade"],
        ["db", "current"],
        ["users", "create"],
        ["import"],
        ["notify"],
        ["config", "check"],
        ["camera", "run"],
        ["bench", "pipeline"],
        ["model", "train"],
        ["model", "dataset", "generate"],
        ["model", "dataset", "export"],
        ["model", "dataset", "import"],
        ["model", "register"],
        ["model", "registry"],
        ["model", "promote"],
        ["model", "rollback"],
        ["model", "shadow"],
        ["model", "shadow-report"],
        ["model", "golden", "freeze"],
    ],
)
def test_every_command_explains_itself(command: list[str]) -> None:
    result = run(*command, "--help")
    assert result.returncode == 0, result.stderr
    assert "Usage" in result.stdout


def test_the_command_line_starts_without_the_tracker_s_plotting_libraries_or_the_service_s_wiring() -> None:
    """Every `offsite` command (a help, a role's start) pays for what its modules import before it does anything.
    supervision's package import brings matplotlib and scipy, most of a second: only a camera that tracks loads it.
    The service's wiring (``offsite.roles``: the database, the web app, the detector) is imported by the commands
    that run it, not by a --help or a refused argument (0.4 s of CPU instead of 1.9 s here)."""
    heavy = ("supervision", "matplotlib", "scipy", "torch", "offsite.roles", "sqlalchemy", "fastapi", "onnxruntime")
    probe = f"import sys, offsite.cli; print(sorted(m for m in {heavy!r} if m in sys.modules))"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


@pytest.mark.parametrize(("initial", "problem"), [("nothing.onnx", "does not exist"), ("weights.h5", "neither")])
def test_training_from_an_unfit_initial_model_is_refused_naming_it(tmp_path: Path, initial: str, problem: str) -> None:
    data = tmp_path / "data.yaml"
    data.write_text("path: .\ntrain: images/train\nval: images/val\nnames: {0: stall}\n", encoding="utf-8")
    (tmp_path / "weights.h5").write_bytes(b"not a model")
    result = run("model", "train", str(data), "--workdir", str(tmp_path / "runs"), "--initial", str(tmp_path / initial))
    assert result.returncode == 2
    assert initial in result.stderr
    assert problem in result.stderr
    assert not (tmp_path / "runs").exists()


def test_a_bad_config_stops_start_up_naming_the_file_and_the_field(tmp_path: Path) -> None:
    configs = tmp_path / "configs"
    shutil.copytree(PROJECT_ROOT / "configs", configs)
    text = (configs / "deadlines.yaml").read_text(encoding="utf-8")
    (configs / "deadlines.yaml").write_text(
        text.replace("percent_per_day: 3", "percent_per_day: lots"), encoding="utf-8"
    )
    result = run("config", "check", "--config-dir", str(configs))
    assert result.returncode == 2
    assert "deadlines.yaml" in result.stderr
    assert "late_surcharge.percent_per_day" in result.stderr
    upgrade = run(
        "db", "upgrade", env={"OFFSITE_CONFIG_DIR": str(configs), "OFFSITE_DATABASE_URL": f"sqlite:///{tmp_path}/x.db"}
    )
    assert upgrade.returncode == 2
    assert "late_surcharge.percent_per_day" in upgrade.stderr
    assert not (tmp_path / "x.db").exists()


@pytest.mark.parametrize(("on", "missing"), [("2026-03-02", None), ("2026-12-05", "2027")])
def test_config_check_names_a_calendar_year_a_deadline_reaches_that_is_missing(on: str, missing: str | None) -> None:
    result = run("config", "check", "--on", on)
    assert result.returncode == 0, result.stderr
    assert "calendar 2026: holidays library" in result.stdout
    (candidate,) = [line.split() for line in result.stdout.splitlines() if line.startswith("unknown_object ")]
    assert candidate[1:5] == ["不明物体滞留", "review", "candidate", "(待审核认定):"]
    if missing is None:
        assert "MISSING" not in result.stdout
        assert "warning" not in result.stdout
    else:
        assert f"calendar {missing}: MISSING" in result.stdout
        assert f"warning: the holiday arrangement of {missing} is missing" in result.stdout


def test_production_refuses_to_start_with_development_secrets(tmp_path: Path) -> None:
    result = run(
        "db", "upgrade", env={"OFFSITE_ENVIRONMENT": "production", "OFFSITE_DATABASE_URL": f"sqlite:///{tmp_path}/p.db"}
    )
    assert result.returncode == 2
    assert "OFFSITE_GATEWAY_MASTER_KEY" in result.stderr
    assert "OFFSITE_ADMIN_PASSWORD" in result.stderr
    assert "OFFSITE_SESSION_SECRET" in result.stderr
    assert "OFFSITE_PUBLIC_BASE_URL" in result.stderr
    secrets = {
        "OFFSITE_GATEWAY_MASTER_KEY": "k" * 40,
        "OFFSITE_ADMIN_PASSWORD": "a-real-admin-password",
        "OFFSITE_SESSION_SECRET": "s" * 40,
        "OFFSITE_PUBLIC_BASE_URL": "https://zhifa.example.gov.cn",
    }
    ok = run(
        "db",
        "upgrade",
        env={"OFFSITE_ENVIRONMENT": "production", "OFFSITE_DATABASE_URL": f"sqlite:///{tmp_path}/p.db", **secrets},
    )
    assert ok.returncode == 0, ok.stderr


def older_database(path: Path) -> str:
    """A SQLite database at the first migration: the schema of an earlier release (a database that does not exist
    yet, or holds nothing, would be made ready in development)."""
    from cases.persistence import migrate
    from cases.persistence.database import create_database_engine

    url = f"sqlite:///{path}"
    engine = create_database_engine(url)
    migrate.upgrade(engine, "0001")
    engine.dispose()
    return url


def test_serve_refuses_an_unmigrated_database_and_db_upgrade_fixes_it(tmp_path: Path) -> None:
    env = {"OFFSITE_DATABASE_URL": older_database(tmp_path / "s.db")}
    refused = run("serve", "--port", "0", env=env)
    assert refused.returncode == 2
    assert "offsite db upgrade" in refused.stderr
    assert run("db", "upgrade", env=env).returncode == 0
    current = run("db", "current", env=env)
    head = sorted(p.name[:4] for p in (PROJECT_ROOT / "cases/persistence/migrations/versions").glob("0*.py"))[-1]
    assert current.stdout.count(head) == 2  # the database's revision and the code's


def test_db_upgrade_refuses_accounts_named_alike_but_for_case_naming_them_and_changes_nothing(tmp_path: Path) -> None:
    """A database from before usernames ignored case, holding ``Li`` and ``li``: migration 0016's unique index
    cannot be made. The upgrade says which name to settle, without a traceback, and leaves the database as it was;
    once one account is renamed it goes through."""
    from cases.persistence import migrate
    from cases.persistence.database import create_database_engine

    url = f"sqlite:///{tmp_path / 'twins.db'}"
    engine = create_database_engine(url)
    migrate.upgrade(engine, "0015")
    with engine.begin() as connection:
        for name in ("li", "Li"):
            connection.exec_driver_sql(
                "INSERT INTO users (username, display_name, role, password_hash, active, created_at) "
                f"VALUES ('{name}', '李强', 'officer', 'scrypt$x', 1, '2026-12-01 00:00:00.000000')"
            )
    env = {"OFFSITE_DATABASE_URL": url}
    refused = run("db", "upgrade", env=env)
    assert refused.returncode == 1
    assert "'li'" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert migrate.current_revision(engine) == "0015"
    with engine.begin() as connection:
        connection.exec_driver_sql("UPDATE users SET username = 'li2' WHERE username = 'Li'")
    engine.dispose()
    assert run("db", "upgrade", env=env).returncode == 0
    assert migrate.current_revision(engine) == migrate.head_revision(engine)


@pytest.mark.parametrize(
    "command",
    [
        ["users", "create", "li", "--role", "officer", "--display-name", "李强"],
        ["users", "unlock", "li"],
        ["import", "merchants", "{folder}/shops.csv"],
        ["notify"],
        ["model", "registry"],
        ["model", "jobs", "list"],
        ["camera", "history", "cam-1"],
        ["camera", "run", "{folder}/cameras.yaml"],
    ],
    ids=lambda command: " ".join(command[:2]),
)
def test_a_command_on_a_database_not_migrated_yet_says_to_upgrade_it_without_a_traceback(
    command: list[str], tmp_path: Path
) -> None:
    """The database holds the schema of an earlier release: each command that works on it stops with exit 2 and says
    what to do, instead of a traceback from its first query, and changes nothing."""
    from cases.persistence import migrate
    from cases.persistence.database import create_database_engine

    database = tmp_path / "old.db"
    url = older_database(database)
    (tmp_path / "shops.csv").write_text("code,name,address,mobile\nS-1,甲店,一号,13800138000\n", encoding="utf-8")
    (tmp_path / "cameras.yaml").write_text(
        "cameras:\n  - camera_id: cam-1\n    source: {url: x.mp4}\n"
        "    zones: [{id: Z, kind: no_vending, polygon: [[0, 0.4], [1, 0.4], [1, 1], [0, 1]]}]\n"
        "    rules: [{id: s, kind: stall, zones: [Z]}]\n"
    )
    env = {"OFFSITE_DATABASE_URL": url, "OFFSITE_EVIDENCE_DIR": str(tmp_path / "evidence"),
           "OFFSITE_NEW_PASSWORD": "Li-password-1234"}  # fmt: skip
    result = run(*(part.format(folder=tmp_path) for part in command), env=env)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "offsite db upgrade" in result.stderr
    assert "Traceback" not in result.stderr
    engine = create_database_engine(url)
    assert migrate.current_revision(engine) == "0001"  # nothing migrated
    engine.dispose()
    with sqlite3.connect(database) as connection:  # nor written
        assert connection.execute("SELECT count(*) FROM users").fetchone() == (0,)


def test_a_database_whose_folder_cannot_be_made_is_named_without_a_traceback() -> None:
    result = run("model", "registry", env={"OFFSITE_DATABASE_URL": "sqlite:////proc/no-such-folder/offsite.db"})
    assert result.returncode == 2, result.stdout + result.stderr
    assert "cannot start" in result.stderr
    assert "/proc/no-such-folder" in result.stderr
    assert "Traceback" not in result.stderr


def test_import_reports_rejected_rows_and_writes_nothing_unless_partial(tmp_path: Path) -> None:
    env = {"OFFSITE_DATABASE_URL": f"sqlite:///{tmp_path}/i.db"}
    assert run("db", "upgrade", env=env).returncode == 0
    csv = tmp_path / "shops.csv"
    csv.write_text("code,name,address,mobile\nS-1,甲店,一号,13800138000\nS-2,乙店,二号,12345\n", encoding="utf-8")
    strict = run("import", "merchants", str(csv), env=env)
    assert strict.returncode == 1
    assert "line 3 (S-2)" in strict.stderr
    assert "nothing written" in strict.stdout
    partial = run("import", "merchants", str(csv), "--allow-partial", env=env)
    assert partial.returncode == 0
    assert "1 inserted, 0 updated, 1 rejected" in partial.stdout


def test_camera_run_reads_a_video_and_prints_its_events_and_figures(tmp_path: Path) -> None:
    from vision.synthetic import VideoSpec, render_video

    video = tmp_path / "stall.mp4"
    render_video(VideoSpec(out=video, scenario="stall", seconds=12, width=320, height=180, seed=4))
    cameras = tmp_path / "cameras.yaml"
    cameras.write_text(
        "cameras:\n"
        "  - camera_id: cam-1\n"
        f"    source: {{url: {video}, interval_s: 2.0, start: '2026-11-30T08:00:00+08:00'}}\n"
        "    zones: [{id: Z-ROAD, kind: no_vending, polygon: [[0, 0.4], [1, 0.4], [1, 1], [0, 1]]}]\n"
        "    rules: [{id: stall-road, kind: stall, zones: [Z-ROAD], min_dwell_s: 4, min_median_score: 0.01}]\n"
    )
    # the database does not exist yet (a fresh checkout's embedded default): it is made, and the run goes on
    database = tmp_path / "var" / "c.db"
    env = {"OFFSITE_DATABASE_URL": f"sqlite:///{database}", "OFFSITE_EVIDENCE_DIR": str(tmp_path / "evidence")}
    result = run("camera", "run", str(cameras), "--json", env=env)
    assert result.returncode == 0, result.stderr
    *events, summary = (json.loads(line) for line in result.stdout.strip().splitlines())
    figures = summary["cameras"]["cam-1"]
    assert figures["frames_in"] == figures["frames_analysed"] == 6  # a key frame every 2 s of 12 s
    assert figures["failed"] is None
    assert figures["events"] == len(events) >= 1
    for event in events:
        assert (tmp_path / "evidence" / "objects" / "packages" / f"{event['evidence_package_id']}.json").exists()
    with sqlite3.connect(database) as connection:  # made with its schema and first admin, as db upgrade makes it
        assert connection.execute("SELECT username FROM users").fetchall() == [("admin",)]
        assert connection.execute("SELECT count(*) FROM detections").fetchone() == (0,)  # cam-1 is not registered
    assert "camera 'cam-1' is not registered" in result.stderr


def test_verify_help_names_its_exit_statuses() -> None:
    shown = run("evidence", "verify", "--help")
    assert shown.returncode == 0
    for status in ("0 every check passed", "1 tampering", "3 nothing wrong found", "4 nothing wrong found"):
        assert status in " ".join(shown.stdout.split())


def test_camera_run_on_an_evidence_store_it_cannot_open_says_why_without_a_traceback(tmp_path: Path) -> None:
    """Another process seals into the same folder (it holds the store's lock): the cameras cannot seal, and the
    command says so and stops, exit 2, instead of dying with a traceback."""
    from tests.unit.evidence.test_store import open_store

    cameras = tmp_path / "cameras.yaml"
    cameras.write_text(
        "cameras:\n"
        "  - camera_id: cam-1\n"
        f"    source: {{url: {tmp_path / 'any.mp4'}, interval_s: 2.0}}\n"
        "    zones: [{id: Z-ROAD, kind: no_vending, polygon: [[0, 0.4], [1, 0.4], [1, 1], [0, 1]]}]\n"
        "    rules: [{id: stall-road, kind: stall, zones: [Z-ROAD], min_dwell_s: 4}]\n"
    )
    held = open_store(tmp_path / "evidence")  # the writer another process would be
    try:
        env = {"OFFSITE_DATABASE_URL": f"sqlite:///{tmp_path}/c.db", "OFFSITE_EVIDENCE_DIR": str(tmp_path / "evidence")}
        result = run("camera", "run", str(cameras), "--no-record", env=env)
    finally:
        held.close()
    assert result.returncode == 2, result.stdout + result.stderr
    assert "cannot open the evidence store" in result.stderr
    assert "Traceback" not in result.stderr


def camera_on_noise(folder: Path, url: str) -> Path:
    """A cameras file in ``folder`` whose one camera (cam-1) reads ``url``: noise.mp4 there, random bytes, no video."""
    (folder / "noise.mp4").write_bytes(os.urandom(5000))
    cameras = folder / "cameras.yaml"
    cameras.write_text(
        "cameras:\n"
        "  - camera_id: cam-1\n"
        f"    source: {{url: {url}, interval_s: 2.0}}\n"
        "    zones: [{id: Z-ROAD, kind: no_vending, polygon: [[0, 0.4], [1, 0.4], [1, 1], [0, 1]]}]\n"
        "    rules: [{id: stall-road, kind: stall, zones: [Z-ROAD], min_dwell_s: 4}]\n"
    )
    return cameras


def test_camera_run_whose_video_cannot_be_read_names_it_and_exits_1(tmp_path: Path) -> None:
    """A camera whose file is no video stops; the others run to their end; the summary names the failure and the
    exit status says a camera failed (a script running clips must not take it for a clip without events)."""
    cameras = camera_on_noise(tmp_path, str(tmp_path / "noise.mp4"))
    env = {"OFFSITE_DATABASE_URL": f"sqlite:///{tmp_path}/c.db", "OFFSITE_EVIDENCE_DIR": str(tmp_path / "evidence")}
    result = run("camera", "run", str(cameras), "--no-record", "--json", env=env)
    assert result.returncode == 1, result.stdout + result.stderr
    figures = json.loads(result.stdout.strip().splitlines()[-1])["cameras"]["cam-1"]
    assert "noise.mp4" in figures["failed"]
    assert figures["frames_in"] == 0
    assert "Traceback" not in result.stderr


def test_camera_run_from_another_folder_finds_the_shipped_model_and_names_a_missing_one(tmp_path: Path) -> None:
    """The default model is the project's shipped one wherever the command is run from; a --model that is not there
    is named as missing (it was "no manifest beside the model"), exit 2."""
    camera_on_noise(tmp_path, "noise.mp4")
    env = {"OFFSITE_DATABASE_URL": f"sqlite:///{tmp_path}/c.db", "OFFSITE_EVIDENCE_DIR": str(tmp_path / "evidence")}
    found = run("camera", "run", "cameras.yaml", "--no-record", "--json", env=env, cwd=tmp_path)
    assert found.returncode == 1, found.stdout + found.stderr  # the model loaded; the camera's file is no video
    assert "noise.mp4" in json.loads(found.stdout.strip().splitlines()[-1])["cameras"]["cam-1"]["failed"]
    missing = run("camera", "run", "cameras.yaml", "--model", "models/x.onnx", "--no-record", env=env, cwd=tmp_path)
    assert missing.returncode == 2
    assert "no model file at models/x.onnx" in missing.stderr
    assert "Traceback" not in missing.stderr


def test_camera_run_names_a_bad_cameras_file(tmp_path: Path) -> None:
    cameras = tmp_path / "cameras.yaml"
    cameras.write_text("cameras:\n  - camera_id: cam-1\n    source: {url: x.mp4}\n    zones: []\n    rules: []\n")
    env = {"OFFSITE_DATABASE_URL": f"sqlite:///{tmp_path}/c.db"}
    result = run("camera", "run", str(cameras), env=env)
    assert result.returncode == 2
    assert "camera cam-1" in result.stderr
    assert "zones" in result.stderr


def test_evidence_seal_verify_tamper_and_export_from_the_command_line(tmp_path: Path) -> None:
    env = {"OFFSITE_EVIDENCE_DIR": str(tmp_path / "evidence")}
    (tmp_path / "notice.pdf").write_bytes(b"%PDF-1.7 the notice")
    (tmp_path / "photo.jpg").write_bytes(b"\xff\xd8 the photo")
    sealed = run("evidence", "seal", str(tmp_path / "notice.pdf"), str(tmp_path / "photo.jpg"), "--json", env=env)
    assert sealed.returncode == 0, sealed.stderr
    result = json.loads(sealed.stdout.strip().splitlines()[-1])
    assert result["leaf_index"] == 0
    assert result["package_id"] == result["manifest_sha256"]
    package = result["package_id"]

    assert run("evidence", "keys", "rotate", env=env).returncode == 0
    ok = run("evidence", "verify", "--all", env=env)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert f"OK   {package}" in ok.stdout
    assert len(run("evidence", "keys", "list", env=env).stdout.strip().splitlines()) == 2

    bundle = run("evidence", "export", package, "--out", str(tmp_path / "bundle"), env=env)
    assert bundle.returncode == 0, bundle.stderr
    assert (tmp_path / "bundle" / "VERIFY.md").exists()
    listed = subprocess.run(  # VERIFY.md's step 1, as written there
        "python3 -c 'import json; [print(i[\"sha256\"] + \"  items/\" + i[\"sha256\"]) for i in "
        "json.load(open(\"manifest.json\"))[\"items\"]]' | sha256sum -c",
        shell=True, cwd=tmp_path / "bundle", capture_output=True, text=True,
    )  # fmt: skip
    assert listed.returncode == 0, listed.stdout + listed.stderr
    assert listed.stdout.count(": OK") == 2

    sealed_again = run("evidence", "seal", str(tmp_path / "notice.pdf"), "--json", env=env)
    assert sealed_again.returncode == 0
    consistency = run("evidence", "consistency", "1", env=env)
    assert consistency.returncode == 0, consistency.stderr
    assert json.loads(consistency.stdout)["new_size"] == 2

    photo = tmp_path / "evidence" / "objects" / "items" / hashlib.sha256(b"\xff\xd8 the photo").hexdigest()
    os.chmod(photo, 0o644)
    photo.write_bytes(b"\xff\xd8 another photo")
    bad = run("evidence", "verify", package, env=env)
    assert bad.returncode == 1
    assert "item photo.jpg: SHA-256" in bad.stdout
    refused = run("evidence", "export", package, "--out", str(tmp_path / "bundle2"), env=env)
    assert refused.returncode == 2
    assert "does not verify" in refused.stderr
    assert run("evidence", "verify", env=env).returncode == 2  # neither an id nor --all


def test_serving_cameras_the_registry_does_not_know_says_which_without_a_traceback(tmp_path: Path) -> None:
    env = {"OFFSITE_DATABASE_URL": f"sqlite:///{tmp_path}/s.db", "OFFSITE_EVIDENCE_DIR": str(tmp_path / "evidence"),
           "OFFSITE_MODEL_STORE": str(tmp_path / "models")}  # fmt: skip
    assert run("db", "upgrade", env=env).returncode == 0
    result = run("serve", "--port", "0", "--cameras", str(PROJECT_ROOT / "configs" / "cameras.example.yaml"), env=env)
    assert result.returncode == 1
    assert "camera 'cam-zhangyang-001' is not registered" in result.stderr
    assert "Traceback" not in result.stderr
    assert (tmp_path / "models").is_dir()  # the cameras would have run the registry's model: the shipped one
