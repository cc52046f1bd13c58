"""Text files people write and hand to the system (cameras files, law configs, recipes, label tables): UTF-8, with
or without the byte order mark Excel, WPS and Notepad write. Anything else, GBK above all (what Chinese Windows
saves by default), is refused naming the file and the line where it stops being UTF-8, never decoded by a guess:
a guessed encoding turns a zone's or a holiday's name into other characters without a word."""

from __future__ import annotations

from pathlib import Path


class NotUtf8(ValueError):
    """A text file that is not UTF-8."""

    def __init__(self, path: Path, line: int) -> None:
        super().__init__(f"{path}: not UTF-8 text (line {line}); save it as UTF-8")
        self.path, self.line = path, line


def read_utf8(path: Path) -> str:
    """The file's text (``OSError`` when it cannot be read, ``NotUtf8`` when it is not UTF-8)."""
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise NotUtf8(path, data[: exc.start].count(b"\n") + 1) from exc
