"""The one error the generator raises for bad input, so callers can turn it into a clear message."""

from __future__ import annotations


class SyntheticInputError(ValueError):
    """A request the generator cannot honour (no images, negative duration, unknown scenario …); the message
    names the parameter at fault."""
