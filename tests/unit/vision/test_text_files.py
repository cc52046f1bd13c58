"""Text files people hand to the system are read as UTF-8, with or without a byte order mark; anything else is
refused naming the file and the line."""

from __future__ import annotations

from pathlib import Path

import pytest

from vision.text_files import NotUtf8, read_utf8


def test_utf8_reads_with_and_without_a_byte_order_mark(tmp_path: Path) -> None:
    plain, marked = tmp_path / "plain.yaml", tmp_path / "marked.yaml"
    plain.write_bytes("name: 张杨路\n".encode())
    marked.write_bytes(b"\xef\xbb\xbf" + "name: 张杨路\n".encode())
    assert read_utf8(plain) == read_utf8(marked) == "name: 张杨路\n"


def test_gbk_is_refused_naming_the_file_and_the_first_line_that_is_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "cameras.yaml"
    path.write_bytes(b"cameras:\n  - camera_id: cam-1\n" + "    name: 张杨路\n".encode("gbk"))
    with pytest.raises(NotUtf8) as refused:
        read_utf8(path)
    assert refused.value.line == 3
    assert str(refused.value) == f"{path}: not UTF-8 text (line 3); save it as UTF-8"
    assert isinstance(refused.value, ValueError)
