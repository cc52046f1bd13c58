"""Load and validate the YAML files of ``configs/``. A bad file stops start-up with the file and field named."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from cases.law.config import CalendarConfig, Catalogue, Deadlines, DiscretionTable, LawConfig, LegalReviewRule
from vision.text_files import NotUtf8, read_utf8

M = TypeVar("M", bound=BaseModel)

LAW_FILES: dict[str, tuple[str, type[BaseModel]]] = {
    "catalogue": ("violations.yaml", Catalogue),
    "deadlines": ("deadlines.yaml", Deadlines),
    "calendar": ("calendar.yaml", CalendarConfig),
    "discretion": ("discretion.yaml", DiscretionTable),
    "legal_review": ("legal_review.yaml", LegalReviewRule),
}


class ConfigError(Exception):
    """A config file is missing, is not YAML, or does not match its schema. The message names file and field."""


def _describe(exc: ValidationError) -> str:
    lines = []
    for error in exc.errors():
        where = ".".join(str(part) for part in error["loc"]) or "(top level)"
        lines.append(f"  {where}: {error['msg']}")
    return "\n".join(lines)


# libyaml's parser where PyYAML was built with it (its wheels are): the law's files parse ten times faster than with
# the pure-Python one, and every start-up (and every test's wiring) reads them.
if TYPE_CHECKING:
    _SafeLoader = yaml.SafeLoader
else:
    _SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _UniqueKeyLoader(_SafeLoader):
    """YAML that refuses a key written twice in one mapping, instead of silently keeping the last."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _value in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    "while reading a mapping", node.start_mark, f"found the key {key!r} twice", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def load_yaml(path: Path) -> Any:
    try:
        return yaml.load(read_utf8(path), Loader=_UniqueKeyLoader)
    except FileNotFoundError as exc:
        raise ConfigError(f"{path}: file not found") from exc
    except NotUtf8 as exc:
        raise ConfigError(str(exc)) from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from exc


def load_model(path: Path, model: type[M]) -> M:
    data = load_yaml(path)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(f"{path}: invalid {model.__name__}:\n{_describe(exc)}") from exc


def load_law(config_dir: Path) -> LawConfig:
    """Each file on its own first (so errors name it), then the cross-checks between them."""
    parts = {key: load_model(config_dir / name, model) for key, (name, model) in LAW_FILES.items()}
    try:
        return LawConfig.model_validate(parts)
    except ValidationError as exc:
        files = ", ".join(str(config_dir / name) for name, _ in LAW_FILES.values())
        raise ConfigError(f"configs disagree with each other ({files}):\n{_describe(exc)}") from exc
