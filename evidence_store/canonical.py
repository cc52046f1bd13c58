"""Canonical JSON (RFC 8785, JCS) for what manifests and tree heads hold.

Keys are sorted by code point and there is no insignificant whitespace; strings are UTF-8 with JSON's minimal
escaping. Floats are refused rather than formatted: JCS formats numbers as ECMAScript does, which Python's json
does not, and nothing signed here needs a fraction (scores travel as strings).
"""

from __future__ import annotations

import json
from typing import Any


class CanonicalJsonError(ValueError):
    """A value that has no canonical form here (a float, a non-string key); names where it is."""


def canonical_json(value: Any) -> bytes:
    """The canonical bytes of strings, integers, booleans, null, arrays and objects."""

    def check(node: Any, where: str) -> None:
        if isinstance(node, float):
            raise CanonicalJsonError(f"manifest field {where} is a float; use an integer or a string")
        if isinstance(node, dict):
            for key, child in node.items():
                if not isinstance(key, str):
                    raise CanonicalJsonError(f"manifest key {key!r} at {where} is not a string")
                check(child, f"{where}.{key}")
        elif isinstance(node, list):
            for index, child in enumerate(node):
                check(child, f"{where}[{index}]")

    check(value, "$")
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")
