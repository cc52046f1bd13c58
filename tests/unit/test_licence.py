"""The project states one licence, AGPL-3.0-or-later, everywhere it is read (pyproject, LICENSE, README), with the
licence's full text; and every package the service installs carries a licence that may be combined with it."""

from __future__ import annotations

import hashlib
import re
import tomllib
from importlib.metadata import PackageNotFoundError, distribution

from packaging.requirements import Requirement

from offsite.settings import PROJECT_ROOT

# The FSF's agpl-3.0.txt, byte for byte.
AGPL_3_SHA256 = "0d96a4ff68ad6d4b6f1f30f713b18d5184912ba8dd389f86aa7710db079abcb0"
# Licences that may be combined with AGPL-3.0 code (permissive ones, the LGPL-3.0, the MPL-2.0 with its GPL
# secondary licence clause, the (A)GPL-3.0 itself). Anything else needs a look, and a line in the decision record.
COMPATIBLE = re.compile(
    r"\b(MIT|MIT-0|MIT-CMU|BSD|0BSD|ISC|Apache|Python Software Foundation|PSF|Zlib|CC0|Unlicense|"
    r"LGPL-3\.0|LGPLv3|MPL[- ]2\.0|Mozilla Public License 2\.0|AGPL-3\.0|GPL-3\.0)"
)


def _pyproject() -> dict[str, object]:
    return tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def test_the_project_states_agpl_3_or_later_in_pyproject_license_and_readme() -> None:
    project = _pyproject()["project"]
    assert isinstance(project, dict)
    assert project["license"] == "AGPL-3.0-or-later"
    assert project["license-files"] == ["LICENSE"]
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    assert "## Licence" in readme
    assert "AGPL-3.0-or-later" in readme


def test_the_licence_file_is_the_full_agpl_3_text() -> None:
    text = (PROJECT_ROOT / "LICENSE").read_bytes()
    assert text.startswith(b"                    GNU AFFERO GENERAL PUBLIC LICENSE\n")
    assert hashlib.sha256(text).hexdigest() == AGPL_3_SHA256


def _licence_of(name: str) -> str:
    metadata = distribution(name).metadata
    classifiers = [c for c in metadata.get_all("Classifier") or [] if c.startswith("License ::")]
    free_text = (metadata.get("License") or "").splitlines()[:1]  # some packages paste the whole text here
    return " ".join([metadata.get("License-Expression") or "", *classifiers, *free_text])


def _runtime_packages() -> set[str]:
    """The service's dependencies and theirs, as installed (extras left out: dev tools and training)."""
    project = _pyproject()["project"]
    assert isinstance(project, dict)
    seen: set[str] = set()
    todo = [Requirement(r).name for r in project["dependencies"]]
    while todo:
        name = todo.pop().lower().replace("_", "-")
        if name in seen:
            continue
        seen.add(name)
        try:
            requires = distribution(name).requires or []
        except PackageNotFoundError:
            continue  # a marker excluded it here (another platform or Python)
        for line in requires:
            requirement = Requirement(line)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                todo.append(requirement.name)
    return seen


def test_every_runtime_dependency_has_a_licence_compatible_with_the_agpl() -> None:
    packages = _runtime_packages()
    assert {"fastapi", "sqlalchemy", "psycopg", "starlette"} <= packages
    unfit = {}
    for name in sorted(packages):
        try:
            licence = _licence_of(name)
        except PackageNotFoundError:
            continue
        if not COMPATIBLE.search(licence):
            unfit[name] = licence
    assert unfit == {}, "licences to look at (and record in docs/decisions/) before depending on these"
