"""Training, export and evaluation of the detector with Ultralytics (the ``train`` extra: torch CPU + ultralytics).

Everything runs offline: Ultralytics is told not to download or install anything, its settings live in a folder
of the project's, and the font its dataset check would fetch is copied there from matplotlib. Nothing here is
needed to run the service or its tests.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vision.manifest import ClassMetrics, ModelManifest, manifest_path_for, sha256_of
from vision.real_eval import COCO_ALIASES
from vision.warm_start import lineage_path

ARCHITECTURE = "yolov8n.yaml"  # trained from scratch: no pretrained weights can be fetched here
OPSET = 18
# Continuing from a trained model: a short warm-up (the weights are already good), and mosaic only in the
# early epochs so that the last ones see whole frames at the scale the cameras give.
CONTINUED = {"warmup_epochs": 0.5, "close_mosaic": 3}
FROZEN_AT_MOST = 22  # YOLOv8's layers before its detection head
PSEUDO_LABELLED = ("person", "vehicle")  # the classes a COCO model labels where a real source did not box them


class TrainingUnavailable(RuntimeError):
    """The ``train`` extra is not installed."""


def _ultralytics(settings_dir: Path) -> Any:
    """Import Ultralytics with offline settings and the torchvision shim in place."""
    settings_dir.mkdir(parents=True, exist_ok=True)
    os.environ.update({"YOLO_OFFLINE": "1", "YOLO_AUTOINSTALL": "0", "YOLO_CONFIG_DIR": str(settings_dir)})
    try:
        import matplotlib

        from vision import torch_compat

        torch_compat.install()
        import ultralytics
    except ImportError as exc:
        raise TrainingUnavailable(
            "training needs the train extra: pip install torch==2.13.0 (the CPU build), then "
            "pip install --no-deps torchvision==0.28.0 ultralytics==8.4.190 and their requirements"
        ) from exc
    fonts = settings_dir / "Ultralytics"
    fonts.mkdir(exist_ok=True)
    dejavu = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"
    for name in ("Arial.ttf", "Arial.Unicode.ttf"):  # the dataset check downloads these otherwise
        if not (fonts / name).exists():
            shutil.copyfile(dejavu, fonts / name)
    return ultralytics


@dataclass(frozen=True)
class Evaluation:
    map50: float
    map50_95: float
    per_class: dict[str, ClassMetrics]

    def as_dict(self) -> dict[str, Any]:
        return {
            "map50": round(self.map50, 4),
            "map50_95": round(self.map50_95, 4),
            "per_class": {name: {k: round(v, 4) for k, v in vars(m).items()} for name, m in self.per_class.items()},
        }


def train(
    data_yaml: Path,
    workdir: Path,
    epochs: int,
    imgsz: int,
    batch: int = 16,
    seed: int = 0,
    hours: float | None = None,
    threads: int | None = None,
    initial: Path | None = None,
    device: str = "cpu",
    callbacks: dict[str, Callable[[Any], None]] | None = None,
    freeze: int = 0,
) -> tuple[Path, float]:
    """Train from scratch, or from ``initial`` (an Ultralytics .pt, or an exported ONNX model with its manifest);
    returns the best weights and the seconds it took.

    ``hours`` bounds the run by time instead of epochs: Ultralytics re-estimates the epoch count after each epoch
    and fits its learning-rate schedule to the time, so a run planned for a sitting ends with a finished schedule.
    ``threads`` overrides Ultralytics' choice of cores minus one, which leaves one of two cores idle. ``device`` is
    ``cpu`` or a CUDA device (``0``); ``callbacks`` are Ultralytics' (``on_train_batch_end``…, given the trainer).
    ``freeze`` keeps the first layers as the initial model has them (10: YOLOv8's whole backbone), so what it
    learned of the world (COCO's people and vehicles) is not worn away by the new classes.
    """
    if epochs < 1 or imgsz % 32:
        raise ValueError("epochs must be at least 1 and imgsz a multiple of 32")
    if hours is not None and not hours > 0:
        raise ValueError("hours must be positive")
    if threads is not None and threads < 1:
        raise ValueError("threads must be at least 1")
    if freeze and initial is None:
        raise ValueError("freeze keeps an initial model's layers: give the initial model")
    if not 0 <= freeze <= FROZEN_AT_MOST:
        raise ValueError(f"freeze must be between 0 and {FROZEN_AT_MOST} layers")
    if initial is not None:
        _check_initial(initial)
    ultralytics = _ultralytics(workdir / "settings")
    _use_threads(threads)
    start = _initial_weights(initial, workdir, _names_of(data_yaml)) if initial is not None else None
    model = ultralytics.YOLO(str(start) if start is not None else ARCHITECTURE)
    _add_callbacks(model, callbacks)
    started = time.perf_counter()
    model.train(
        data=str(data_yaml),
        epochs=epochs,
        imgsz=imgsz,
        batch=batch,
        seed=seed,
        device=device,
        workers=0,
        project=str(workdir.resolve()),  # Ultralytics puts a relative project under runs/detect/
        name="train",
        exist_ok=True,
        pretrained=initial is not None,  # False would make Ultralytics drop the initial weights
        amp=device != "cpu",
        cache="ram",  # decode each image once: on two CPU cores, JPEG decoding would otherwise dominate an epoch
        plots=False,
        verbose=False,
        **({"time": hours} if hours is not None else {}),
        **(CONTINUED if initial is not None else {}),
        **({"freeze": freeze} if freeze else {}),
    )
    return _best_of(model), time.perf_counter() - started


def resume(
    last: Path, workdir: Path, threads: int | None = None, callbacks: dict[str, Callable[[Any], None]] | None = None
) -> tuple[Path, float]:
    """Go on with an interrupted run from its last finished epoch (Ultralytics' ``last.pt``: weights, optimiser
    and schedule), with the arguments it started with; returns the best weights and the seconds it took."""
    ultralytics = _ultralytics(workdir / "settings")
    _use_threads(threads)
    model = ultralytics.YOLO(str(last))
    _add_callbacks(model, callbacks)
    started = time.perf_counter()
    model.train(resume=str(last))
    return _best_of(model), time.perf_counter() - started


def cuda_device() -> str:
    """``0`` where torch sees a CUDA GPU, else ``cpu`` (needs the train extra)."""
    import torch

    return "0" if torch.cuda.is_available() else "cpu"


def _use_threads(threads: int | None) -> None:
    if threads is not None:
        from ultralytics.utils import torch_utils

        torch_utils.NUM_THREADS = threads  # select_device() applies it with torch.set_num_threads


def _add_callbacks(model: Any, callbacks: dict[str, Callable[[Any], None]] | None) -> None:
    for event, callback in (callbacks or {}).items():
        model.add_callback(event, callback)


def _best_of(model: Any) -> Path:
    best = Path(model.trainer.save_dir) / "weights" / "best.pt"
    if not best.exists():
        raise RuntimeError(f"training finished without {best}")
    return best


def _check_initial(initial: Path) -> None:
    if not initial.is_file():
        raise ValueError(f"initial model {initial} does not exist")
    if initial.suffix not in (".pt", ".onnx"):
        raise ValueError(f"initial model {initial} is neither an Ultralytics .pt nor an exported .onnx")


def _initial_weights(initial: Path, workdir: Path, names: tuple[str, ...]) -> Path:
    """The checkpoint to start from: ``initial`` itself, one rebuilt from an exported ONNX model, or a copy whose
    classes are renamed so that ours start from theirs (COCO's car becomes our vehicle)."""
    if initial.suffix == ".onnx":
        from vision.warm_start import checkpoint_from_onnx

        return checkpoint_from_onnx(initial, ARCHITECTURE, workdir / "initial" / f"{initial.stem}.pt")
    return renamed_for(initial, names, workdir / "initial" / initial.name)


def _names_of(data_yaml: Path) -> tuple[str, ...]:
    import yaml

    names = (yaml.safe_load(data_yaml.read_text(encoding="utf-8")) or {}).get("names", {})
    return tuple(str(names[k]) for k in sorted(names)) if isinstance(names, dict) else tuple(map(str, names))


def renamed_for(weights: Path, names: tuple[str, ...], out: Path) -> Path:
    """``weights`` with each of our classes it lacks named after its first alias there (``COCO_ALIASES``), so
    that Ultralytics starts that class's head rows from the alias's; ``weights`` itself when nothing is renamed."""
    import torch

    checkpoint = torch.load(str(weights), map_location="cpu", weights_only=False)
    model = checkpoint.get("ema") or checkpoint["model"]
    theirs = {str(name): index for index, name in model.names.items()}
    renamed = dict(model.names)
    for ours, aliases in COCO_ALIASES.items():
        alias = next((a for a in aliases if a in theirs), None)
        if ours in names and ours not in theirs and alias is not None:
            renamed[theirs[alias]] = ours
    if renamed == model.names:
        return weights
    model.names = renamed
    checkpoint["model"], checkpoint["ema"] = model, None
    out.parent.mkdir(parents=True, exist_ok=True)
    torch.save(checkpoint, out)
    return out


def coco_pseudo_labeller(weights: Path, workdir: Path, confidence: float = 0.4) -> Any:
    """A function from a photo to the person and vehicle boxes a COCO model finds in it at ``confidence``
    (``vision.training_mix.PseudoLabeller``)."""
    from vision.real_photos import Box

    predict, _classes = pt_predictor(weights, workdir)

    def label(photo: Path) -> list[Box]:
        return [Box(f.name, f.xyxy) for f in predict(photo) if f.name in PSEUDO_LABELLED and f.confidence >= confidence]

    return label


def pt_predictor(weights: Path, workdir: Path) -> tuple[Any, list[str]]:
    """Ultralytics weights (.pt, any class names) as a real-photo predictor (``vision.real_eval.Predict``), with the
    classes it names (ours: COCO's car, truck and bus are vehicles)."""
    from vision.real_eval import LOWEST, Finding, ours
    from vision.real_photos import read_image

    ultralytics = _ultralytics(workdir / "settings")
    model = ultralytics.YOLO(str(weights), task="detect")
    names = {index: ours(str(name)) for index, name in model.names.items()}

    def predict(photo: Path) -> list[Finding]:
        (result,) = model.predict(read_image(photo), conf=LOWEST, device="cpu", verbose=False, max_det=300)
        boxes = result.boxes
        return [
            Finding(str(names[int(c)]), float(conf), tuple(float(v) for v in xyxy))  # type: ignore[arg-type]
            for c, conf, xyxy in zip(boxes.cls.tolist(), boxes.conf.tolist(), boxes.xyxyn.tolist(), strict=True)
            if names[int(c)] is not None
        ]

    return predict, sorted({name for name in names.values() if name is not None})


def evaluate(model_path: Path, data_yaml: Path, imgsz: int, workdir: Path) -> Evaluation:
    """mAP50, mAP50-95 and per-class precision/recall on the dataset's validation split (.pt or .onnx)."""
    ultralytics = _ultralytics(workdir / "settings")
    results = ultralytics.YOLO(str(model_path), task="detect").val(
        data=str(data_yaml), imgsz=imgsz, batch=1, device="cpu", workers=0, plots=False, verbose=False,
        project=str(workdir.resolve()), name="val", exist_ok=True,
    )  # fmt: skip
    box = results.box
    names = results.names
    per_class = {
        names[int(index)]: ClassMetrics(
            precision=float(box.p[i]), recall=float(box.r[i]), map50=float(box.ap50[i]), map50_95=float(box.ap[i])
        )
        for i, index in enumerate(box.ap_class_index)
    }
    return Evaluation(float(box.map50), float(box.map), per_class)


def export(
    weights: Path, out_dir: Path, name: str, imgsz: int, training_data: dict[str, Any], training: dict[str, Any],
    evaluation: Evaluation, workdir: Path,
) -> Path:  # fmt: skip
    """ONNX (opset 18) plus its manifest in ``out_dir``; returns the manifest's path."""
    ultralytics = _ultralytics(workdir / "settings")
    model = ultralytics.YOLO(str(weights))
    exported = Path(model.export(format="onnx", imgsz=imgsz, opset=OPSET, simplify=True, dynamic=False))
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"{name}.onnx"
    shutil.copyfile(exported, target)
    names = model.names
    manifest = ModelManifest(
        name=name,
        file=target.name,
        sha256=sha256_of(target),
        classes=tuple(names[i] for i in sorted(names)),
        input_size=imgsz,
        architecture=ARCHITECTURE.removesuffix(".yaml"),
        created=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        training_data=training_data,
        training=training,
        metrics=evaluation.as_dict(),
    )
    path = manifest_path_for(target)
    manifest.write(path)
    return path


def training_record(weights: Path) -> dict[str, Any]:
    """What the run that made ``weights`` did, from the files Ultralytics left beside them (args.yaml, results.csv):
    epochs completed, input size, batch, seed, time limit, wall seconds and the device."""
    run = weights.parent.parent
    record: dict[str, Any] = {}
    args: dict[str, Any] = {}
    args_file = run / "args.yaml"
    if args_file.exists():
        import yaml

        args = yaml.safe_load(args_file.read_text(encoding="utf-8")) or {}
        record |= {key: args[key] for key in ("imgsz", "batch", "seed", "time", "model") if args.get(key) is not None}
        if args.get("freeze"):
            record["freeze"] = args["freeze"]
    results = run / "results.csv"
    if results.exists():
        rows = [line.split(",") for line in results.read_text(encoding="utf-8").splitlines() if line.strip()]
        header, body = [h.strip() for h in rows[0]], rows[1:]
        record["epochs"] = len(body)
        if body and "time" in header:
            record["seconds"] = round(float(body[-1][header.index("time")]))
    device = str(args.get("device") or "cpu")
    record["device"] = f"cpu ({os.cpu_count()} cores)" if device == "cpu" else f"cuda:{device}"
    start = Path(str(record.get("model", "")))
    if start.suffix == ".pt" and lineage_path(start).exists():  # the run continued from a rebuilt checkpoint
        record["continued_from"] = json.loads(lineage_path(start).read_text(encoding="utf-8"))
    elif start.suffix == ".pt" and _run_of(start) not in (None, run):  # an earlier run's weights (a first stage);
        record["continued_from"] = _earlier_run(start)  # a resumed run names its own last.pt: not a model below it
    return record


def _run_of(weights: Path) -> Path | None:
    """The Ultralytics run that wrote ``weights`` (``RUN/weights/best.pt`` beside ``RUN/args.yaml``), if any."""
    run = weights.parent.parent
    return run if weights.parent.name == "weights" and (run / "args.yaml").is_file() else None


def _earlier_run(weights: Path) -> dict[str, Any]:
    """An earlier run's weights as a model of the lineage: how they were made (and from what), on which data."""
    return {
        "file": weights.name,
        "sha256": sha256_of(weights),
        "created": dt.datetime.fromtimestamp(weights.stat().st_mtime, dt.UTC).isoformat(timespec="seconds"),
        "training": training_record(weights),
        "training_data": _run_data(weights),
        "map50": None,
    }


def _run_data(weights: Path) -> dict[str, Any]:
    import yaml

    run = _run_of(weights)
    data = (yaml.safe_load((run / "args.yaml").read_text(encoding="utf-8")) or {}).get("data") if run else None
    return dataset_description(Path(str(data)).parent) if data else {}


def real_photos_trained_on(weights: Path) -> list[str]:
    """The real photos the run that made ``weights`` trained on, from its dataset's generator.json (a mix)."""
    args_file = weights.parent.parent / "args.yaml"
    if not args_file.exists():
        return []
    import yaml

    data = (yaml.safe_load(args_file.read_text(encoding="utf-8")) or {}).get("data")
    description = dataset_description(Path(str(data)).parent) if data else {}
    return list(description.get("real_photos_trained_on", []))


def dataset_description(dataset_dir: Path) -> dict[str, Any]:
    """What a generated dataset says about itself (vision.synthetic writes generator.json beside data.yaml)."""
    info = dataset_dir / "generator.json"
    return json.loads(info.read_text(encoding="utf-8")) if info.exists() else {"path": str(dataset_dir)}


@dataclass(frozen=True)
class Ancestor:
    """One model of a lineage, as the card's table shows it."""

    file: str
    sha256: str
    created: str
    trained_on: str  # the generated data it was trained on
    training: str  # epochs, time and input size of its run
    map50: float | None
    started_from: str  # what its run started from: the model below it, or an architecture or weights file


def lineage_of(manifest: ModelManifest) -> list[Ancestor]:
    """The model and every model it continued from, newest first (the manifest nests them in
    ``training.continued_from``)."""
    chain = [
        Ancestor(manifest.file, manifest.sha256, manifest.created, _trained_on(manifest.training_data),
                 _run_summary(manifest.training), manifest.metrics.get("map50"),
                 str(manifest.training.get("model", "")))
    ]  # fmt: skip
    previous = manifest.training.get("continued_from")
    while isinstance(previous, dict):
        training = previous.get("training", {})
        chain.append(
            Ancestor(str(previous.get("file", "?")), str(previous.get("sha256", "")), str(previous.get("created", "")),
                     _trained_on(previous.get("training_data", {})), _run_summary(training), previous.get("map50"),
                     str(training.get("model", "")))
        )  # fmt: skip
        previous = training.get("continued_from")
    return chain


def _trained_on(data: dict[str, Any]) -> str:
    if not data:
        return "?"
    if data.get("generator") == "vision.training_mix":
        generated = data.get("generated", {})
        return (f"{generated.get('images', '?')} generated images (seed {generated.get('seed', '?')}), "
                f"{len(data.get('real_photos_trained_on', []))} real photos ×{data.get('real_copies', '?')}, "
                f"{len(data.get('negatives', []))} real negatives ×{data.get('real_copies', '?')}")  # fmt: skip
    source = "generated images" if data.get("generator", "vision.synthetic") == "vision.synthetic" else "images"
    return f"{data.get('images', '?')} {source} at {data.get('imgsz', '?')} px, seed {data.get('seed', '?')}"


def _run_summary(training: dict[str, Any]) -> str:
    parts = [f"{training['epochs']} epochs" if "epochs" in training else None,
             f"{training['seconds'] / 3600:.1f} h" if "seconds" in training else None,
             f"input {training['imgsz']}" if "imgsz" in training else None,
             f"batch {training['batch']}" if "batch" in training else None,
             f"seed {training['seed']}" if "seed" in training else None,
             f"first {training['freeze']} layers frozen" if training.get("freeze") else None,
             str(training["device"]) if "device" in training else None]  # fmt: skip
    return ", ".join(p for p in parts if p) or "?"


def _short(sha256: str) -> str:
    return f"`{sha256[:12]}…`" if sha256 else ""


def _lineage_table(chain: list[Ancestor]) -> str:
    rows = ["| | file | SHA-256 | created (UTC) | trained on | run | mAP50 |", "|---|---|---|---|---|---|---|"]
    for generation, model in enumerate(chain):
        name = "this model" if generation == 0 else f"{generation} back"
        map50 = "" if model.map50 is None else f"{model.map50:.4f}"
        created = model.created.replace("T", " ")[:16]
        rows.append(f"| {name} | `{model.file}` | {_short(model.sha256)} | {created} | {model.trained_on} | "
                    f"{model.training} | {map50} |")  # fmt: skip
    root = chain[-1].started_from
    rows.append(f"| started from | `{root or '?'}` | | | {_start_description(root)} | | |")
    return "\n".join(rows)


def _start_description(start: str) -> str:
    if start.endswith(".yaml"):
        return "the architecture alone, random weights (from scratch)"
    if _from_coco(start):
        return "Ultralytics YOLOv8n pretrained on COCO (80 classes); person kept, vehicle started from car"
    if start.endswith(".pt"):
        return "pretrained weights"
    return "?"


def _from_coco(start: str) -> bool:
    return start.endswith(".pt") and "coco" in Path(start).name.lower()


def _licence_section(chain: list[Ancestor]) -> str:
    """Which licences the weights carry: those of the weights the first run started from, if any, and of the
    code that trained them."""
    root = chain[-1].started_from
    generated = all("generated images" in model.trained_on for model in chain)
    if root.endswith(".yaml") and generated:
        start = (
            f"The first model of the lineage was trained from scratch: its run started from `{root}`, the "
            "architecture alone with random weights. No pretrained weights and no third-party data set were used: "
            "every model was trained only on images this project generates (`vision/synthetic`), so no licence of "
            "anyone's weights or data applies."
        )
    elif _from_coco(root):
        start = (
            f"The first run started from `{Path(root).name}`, Ultralytics' YOLOv8n trained on COCO (the weights are "
            "Ultralytics' release, AGPL-3.0, as both of the exports they were rebuilt from state; COCO's annotations "
            "are CC BY 4.0 and its images Flickr's under their own terms), and trained on generated scenes and on "
            "real photos whose sources and licences `../shared/data/*/labels.csv` lists (none of them ships with the "
            "project). AGPL-3.0 applies to this model."
        )
    else:
        start = (
            f"The first run started from `{root or '?'}`{'' if generated else ', and not only on generated data'}: "
            "the licence of those weights (and of the data they were trained on) applies to this model as well; "
            "record it here before shipping."
        )
    return (
        f"{start} The weights were made with Ultralytics (YOLOv8 architecture and training code, AGPL-3.0), "
        "and are distributed with this project under its licence, AGPL-3.0-or-later (`LICENSE`; the reasons "
        "are in the licence's decision record in `docs/decisions/`)."
    )


GENERATED_SECTIONS = (
    "Lineage", "Licence", "Training data", "Real photos", "Evaluation", "Intended use and limits",
)  # fmt: skip


def _training_data_section(data: dict[str, Any]) -> str:
    boxes = json.dumps(data.get("boxes_per_class", {}), ensure_ascii=False)
    if data.get("generator") != "vision.training_mix":
        return (
            "Street scenes rendered by the project's own generator (`vision/synthetic`, `offsite model dataset generate`): "
            f"{data.get('images', '?')} images ({data.get('val_images', '?')} held out for validation) at "
            f"{data.get('imgsz', '?')} px, seed {data.get('seed', '?')}; boxes per class {boxes}. Nothing was downloaded."
        )
    generated = data.get("generated", {})
    trained = data.get("real_photos_trained_on", [])
    held = data.get("real_photos_held_out", [])
    # mixes written before the flag was kept were all pseudo-labelled (`offsite model mix --coco`)
    labelled = "with COCO person and vehicle pseudo-labels" if data.get("pseudo_labelled", True) else "unlabelled"
    groups = "; ".join(
        f"{folder}: {', '.join(names) or 'none'}" for folder, names in data.get("held_out_groups", {}).items()
    )
    return (
        "A mix (`offsite model mix`, recipe `configs/training/real-mix.yaml`) of:\n"
        f"- {generated.get('images', '?')} street scenes rendered by the project's generator (`vision/synthetic`, seed "
        f"{generated.get('seed', '?')}, {generated.get('imgsz', '?')} px; its {data.get('val_images', '?')} validation "
        "images chose the best epoch);\n"
        f"- {len(trained)} real photos with real boxes, each {data.get('real_copies', '?')} times an epoch: "
        f"{', '.join(trained)};\n"
        f"- {len(data.get('negatives', []))} plain real photos as negatives ({', '.join(data.get('negatives', []))}), "
        f"{labelled};\n"
        f"- the sources boxed for stalls only ({', '.join(data.get('pseudo_label_sources', [])) or 'none'}), "
        f"{labelled}{_laid_in_line(data.get('laid_in'))}.\n\n"
        f"Held out of training by source (groups {groups}): {len(held)} photos, on which the real figures below "
        f"count. Boxes per class in training {boxes}. Nothing was downloaded."
    )


def _laid_in_line(laid: Any) -> str:
    """The mix's pictures with real objects laid in (``vision.laid_in``), as the last item of its list."""
    if not isinstance(laid, dict):
        return ""
    objects = ", ".join(f"{photo} {count}" for photo, count in laid.get("objects", {}).items())
    low, high = laid.get("height", ["?", "?"])
    return (
        f";\n- {laid.get('images', '?')} pictures made from the plain photos, with real {' and '.join(laid.get('classes', []))} "
        f"laid in, cut from the training photos ({objects} objects) and standing at {low:.0%} to {high:.0%} of the "
        "picture's height (`vision/laid_in.py`)"
    )


def _real_section(metrics: dict[str, Any]) -> str:
    """The real-photo figures (``offsite model eval --real FOLDER --record``): the metric of record."""
    real = metrics.get("real")
    if not isinstance(real, dict):
        return "## Real photos\nNot measured yet: score it with `offsite model eval MODEL --real FOLDER --record`.\n\n"

    def figure(value: Any) -> str:
        return "–" if value is None else f"{value:.2f}"

    parts = []
    for key, title in (("held_out", "never seen in training (these count)"), ("trained_on", "trained on")):
        part = real.get(key) or {}
        if not part.get("photos"):
            continue
        rows = "\n".join(
            f"| {name} | {m['images_with']} | {figure(m['precision'])} | {figure(m['recall'])} | "
            f"{figure(m['box_ap50'])} |"
            for name, m in part["per_class"].items()
        )
        parts.append(
            f"**{part['photos']} photos {title}**: false violation boxes "
            f"**{part['false_violation_boxes_per_image']:.2f} per photo**, box mAP50 {figure(part['map50'])}.\n\n"
            "| class | photos with it | image precision | image recall | box AP50 |\n|---|---|---|---|---|\n"
            f"{rows}\n"
        )
    thresholds = ", ".join(f"{name} {value:g}" for name, value in (real.get("thresholds") or {}).items())
    return (
        f"## Real photos (`{real.get('folder', '?')}`: the metric of record)\n"
        "Image-level precision and recall at the shipped thresholds (a class is predicted in a photo when any box "
        "of it reaches its threshold); false violation boxes are stall, goods, dust or pile boxes in photos "
        "without that violation. `offsite model eval MODEL --real FOLDER` gives these figures again.\n\n"
        f"Shipped thresholds: {thresholds}.\n\n" + "\n".join(parts) + "\n"
    )


def model_card(manifest: ModelManifest, manifest_name: str, goal_map50: float = 0.85) -> str:
    """The model card's text, from the manifest's own figures (so the two cannot disagree)."""
    metrics = manifest.metrics
    per_class = metrics.get("per_class", {})
    rows = "\n".join(
        f"| {name} | {m['precision']:.3f} | {m['recall']:.3f} | {m['map50']:.3f} | {m['map50_95']:.3f} |"
        + (" below goal |" if m["map50"] < goal_map50 else " |")
        for name, m in per_class.items()
    )
    data = manifest.training_data
    below = [name for name, m in per_class.items() if m["map50"] < goal_map50]
    status = (
        f"**Status: below the goal** on the generated set for {', '.join(below)}. Shipped so that the runtime and "
        "its tests run on a real model; a model trained longer on more data replaces it."
        if below
        else "**Status: meets the goal** on the generated set for every class."
    )
    if manifest.metrics.get("real"):
        status += " Real photos are the metric of record: see their figures below, and what is not measured."
    chain = lineage_of(manifest)
    if _from_coco(chain[-1].started_from):
        runs = " (see Licence)" if len(chain) == 1 else f", in {len(chain)} runs (see Lineage and Licence)"
        origin = f"started from YOLOv8n pretrained on COCO{runs}"
    elif len(chain) > 1:
        earlier = "an earlier model" if len(chain) == 2 else f"{len(chain) - 1} earlier models"
        origin = f"continued from {earlier} of this project (see Lineage); no pretrained weights"
    else:
        origin = "trained from scratch (no pretrained weights)"
    return f"""# Model card: {manifest.name}

{status}

- **File**: `{manifest.file}` (SHA-256 `{manifest.sha256}`), manifest `{manifest_name}`
- **Architecture**: {manifest.architecture}, input {manifest.input_size}×{manifest.input_size}; {origin}
- **Classes**: {", ".join(manifest.classes)}
- **Created**: {manifest.created}; this run: {chain[0].training}

## Lineage
Each model continued training the one on the row below it.

{_lineage_table(chain)}

## Licence
{_licence_section(chain)}

## Training data
{_training_data_section(data)}

{_real_section(metrics)}## Evaluation (the generated set's validation split: never trained on; it chose the best epoch)
mAP50 **{metrics.get("map50", 0):.3f}**, mAP50-95 {metrics.get("map50_95", 0):.3f}. Goal: mAP50 ≥ {goal_map50} for every class.

| class | precision | recall | mAP50 | mAP50-95 | |
|---|---|---|---|---|---|
{rows}

## Intended use and limits
Finds stalls, goods outside shops, people, vehicles, dust plumes and bare or netted piles in fixed street
cameras, as the first stage of dwell-time rules whose every finding a person reviews before it can become
evidence. {_limits(data)}
"""


def _limits(data: dict[str, Any]) -> str:
    if data.get("generator") != "vision.training_mix":
        return "Trained on generated scenes only: its figures on real camera footage are unknown until measured there."
    return (
        "Its real figures come from few photos (see Real photos: a class present in three or four held-out photos "
        "gives a figure, not a measurement). Not measured at all, because no real photo of them exists here: goods "
        "outside a shop seen from a street camera, and netted (covered) piles; the generated set is the only "
        "evidence for those. What it does not name, the static-object path (`vision/static_objects.py`) raises "
        "as an unknown object staying, for the zones that ask for it."
    )


def written_by_hand(card: str) -> str:
    """The sections of an existing card that the generator does not write (measurements added after export),
    kept when the card is written again."""
    kept: list[str] = []
    keeping = False
    for line in card.splitlines(keepends=True):
        if line.startswith("## "):
            heading = line[3:].strip()
            keeping = not any(heading.startswith(name) for name in GENERATED_SECTIONS)
        if keeping:
            kept.append(line)
    return "".join(kept)


def write_model_card(manifest_path: Path, goal_map50: float = 0.85) -> Path:
    """Write the model card beside the manifest, keeping the sections a person added to an earlier card."""
    path = manifest_path.with_name(manifest_path.name.replace(".manifest.json", ".md"))
    added = written_by_hand(path.read_text(encoding="utf-8")) if path.exists() else ""
    card = model_card(ModelManifest.read(manifest_path), manifest_path.name, goal_map50)
    path.write_text(card + ("\n" + added if added else ""), encoding="utf-8")
    return path
