"""Log lines for a pipeline: one JSON object per line, with the step's fields."""

from __future__ import annotations

import json
import logging

from offsite.logs import JsonFormatter


def test_a_json_log_line_carries_the_message_and_the_extra_fields() -> None:
    record = logging.LogRecord("offsite.cases", logging.INFO, __file__, 1, "case %s: %s", (7, "file"), None)
    record.case_id = 7
    record.action = "file"
    line = json.loads(JsonFormatter().format(record))
    assert line["message"] == "case 7: file"
    assert (line["level"], line["logger"], line["case_id"], line["action"]) == ("info", "offsite.cases", 7, "file")
    assert line["time"].endswith("+00:00")


def test_chinese_text_stays_readable_in_json_lines() -> None:
    record = logging.LogRecord("offsite", logging.WARNING, __file__, 1, "跨门经营 %s", ("浦东小面馆",), None)
    assert "跨门经营 浦东小面馆" in JsonFormatter().format(record)
