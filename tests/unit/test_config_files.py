"""The law's configuration files: the shipped ones load; a malformed one stops start-up with file and field named."""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from cases.law import Law
from cases.law.config import DayUnit, SubjectType
from offsite.config_files import LAW_FILES, ConfigError, load_law
from offsite.settings import PROJECT_ROOT

CONFIGS = PROJECT_ROOT / "configs"


@pytest.fixture
def configs(tmp_path: Path) -> Path:
    """A private copy of the shipped configs/ to break."""
    target = tmp_path / "configs"
    shutil.copytree(CONFIGS, target)
    return target


def rewrite(configs: Path, name: str, change: Callable[[Any], None]) -> None:
    path = configs / name
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")


# ---- the shipped files ---------------------------------------------------------------------------------------
def test_the_shipped_configs_load() -> None:
    config = load_law(CONFIGS)
    assert [v.code for v in config.catalogue.violations] == [
        "street_stall",
        "cross_door",
        "construction_dust",
        "site_materials_outside_enclosure",
        "bare_soil_uncovered",
    ]


def test_each_kind_is_named_in_english_where_the_catalogue_gives_it_and_in_chinese_otherwise(configs: Path) -> None:
    shipped = {kind.code: kind for kind in load_law(CONFIGS).catalogue.kinds}
    assert shipped["cross_door"].named("en") == "Cross-door operation"
    assert shipped["cross_door"].named("zh_CN") == "跨门经营"
    assert shipped["unknown_object"].named("en") == "Unknown object staying"
    rewrite(configs, "violations.yaml", lambda data: data["violations"][1].pop("name_en"))
    unnamed = next(kind for kind in load_law(configs).catalogue.violations if kind.code == "cross_door")
    assert unnamed.named("en") == "跨门经营"


def test_an_unchanged_copy_loads_like_the_original(configs: Path) -> None:
    rewrite(configs, "deadlines.yaml", lambda data: None)
    assert load_law(configs) == load_law(CONFIGS)


@pytest.mark.parametrize(
    ("name", "count", "unit"),
    [
        ("filing_to_decision", 90, DayUnit.CALENDAR_DAYS),  # 第六十条
        ("decision_delivery", 7, DayUnit.WORKING_DAYS),  # 第六十一条, 第八十五条
        ("payment", 15, DayUnit.CALENDAR_DAYS),  # 第六十七条
        ("publication", 7, DayUnit.WORKING_DAYS),
        ("statement", 3, DayUnit.WORKING_DAYS),
        ("hearing_request", 5, DayUnit.WORKING_DAYS),  # 第六十四条, 第八十五条
    ],
)
def test_the_shipped_periods_are_the_laws(law: Law, name: str, count: int, unit: DayUnit) -> None:
    period = getattr(law.config.deadlines, name)
    assert (period.count, period.unit) == (count, unit)


def test_the_shipped_surcharge_and_limitation_are_the_laws(law: Law) -> None:
    deadlines = law.config.deadlines
    assert (deadlines.late_surcharge.percent_per_day, deadlines.late_surcharge.capped_at_fine) == (3, True)
    assert deadlines.limitation_years == 2


@pytest.mark.parametrize(
    ("code", "fine_min", "fine_max", "listed", "subject"),
    [
        ("street_stall", 50, 500, True, SubjectType.UNKNOWN_VENDOR),
        ("cross_door", 50, 500, True, SubjectType.MERCHANT),
        ("construction_dust", 300, 3_000, True, SubjectType.SITE),
        ("site_materials_outside_enclosure", 3_000, 30_000, True, SubjectType.SITE),
        ("bare_soil_uncovered", 10_000, 100_000, False, SubjectType.SITE),  # 住建 jurisdiction: not on the list
    ],
)
def test_the_shipped_catalogue_has_the_legal_ranges(
    law: Law, code: str, fine_min: int, fine_max: int, listed: bool, subject: SubjectType
) -> None:
    violation = law.violation(code)
    assert (violation.fine_min_yuan, violation.fine_max_yuan, violation.listed_for_non_site, violation.subject) == (
        fine_min,
        fine_max,
        listed,
        subject,
    )


def _set(path: tuple[Any, ...], value: Any) -> Callable[[Any], None]:
    def change(data: Any) -> None:
        for key in path[:-1]:
            data = data[key]
        data[path[-1]] = value

    return change


# The 2026 arrangement as the State Council published it (国务院办公厅关于2026年部分节假日安排的通知, 2025-11-04),
# written out as configs/calendar.yaml would hold a year the holidays library does not carry yet.
PUBLISHED_2026: dict[str, Any] = {
    "legal_source": "国务院办公厅关于2026年部分节假日安排的通知（2025年11月4日）",
    "holidays": [
        {"name": "元旦", "first": dt.date(2026, 1, 1), "last": dt.date(2026, 1, 3)},
        {"name": "春节", "first": dt.date(2026, 2, 15), "last": dt.date(2026, 2, 23)},
        {"name": "清明节", "first": dt.date(2026, 4, 4), "last": dt.date(2026, 4, 6)},
        {"name": "劳动节", "first": dt.date(2026, 5, 1), "last": dt.date(2026, 5, 5)},
        {"name": "端午节", "first": dt.date(2026, 6, 19), "last": dt.date(2026, 6, 21)},
        {"name": "中秋节", "first": dt.date(2026, 9, 25), "last": dt.date(2026, 9, 27)},
        {"name": "国庆节", "first": dt.date(2026, 10, 1), "last": dt.date(2026, 10, 7)},
    ],
    "extra_working_days": [
        dt.date(2026, 1, 4),
        dt.date(2026, 2, 14),
        dt.date(2026, 2, 28),
        dt.date(2026, 5, 9),
        dt.date(2026, 9, 20),
        dt.date(2026, 10, 10),
    ],
}


@pytest.fixture
def written(configs: Path) -> Path:
    """The private copy with 2026 written out in calendar.yaml, to break."""
    rewrite(configs, "calendar.yaml", _set(("years", 2026), PUBLISHED_2026))
    return configs


def test_the_shipped_calendar_takes_every_year_from_the_library(law: Law) -> None:
    assert (law.config.calendar.years, law.config.calendar.days) == ({}, [])


def test_the_library_s_2026_is_the_state_council_s_notice(law: Law, written: Path) -> None:
    """The holidays library and the notice written out by hand agree on every day of 2026."""
    by_hand = Law(load_law(written))
    year = [dt.date(2026, 1, 1) + dt.timedelta(days=n) for n in range(365)]
    assert [law.calendar.is_working_day(day) for day in year] == [by_hand.calendar.is_working_day(day) for day in year]


# ---- malformed files: the error names the file and the field --------------------------------------------------
@pytest.mark.parametrize(
    ("name", "change", "field", "message"),
    [
        ("deadlines.yaml", _set(("colour",), "red"), "colour", "Extra inputs are not permitted"),
        ("deadlines.yaml", _set(("payment", "weeks"), 2), "payment.weeks", "Extra inputs are not permitted"),
        (
            "violations.yaml",
            _set(("violations", 0, "fine"), 100),
            "violations.0.fine",
            "Extra inputs are not permitted",
        ),
        (
            "calendar.yaml",
            _set(("days",), [{"date": dt.date(2026, 3, 4), "working": False, "legal_source": "某通知", "why": "x"}]),
            "days.0.why",
            "Extra inputs are not permitted",
        ),
        ("legal_review.yaml", _set(("min_fine",), 0), "min_fine", "Extra inputs are not permitted"),
    ],
)
def test_an_unknown_field_is_refused(
    configs: Path, name: str, change: Callable[[Any], None], field: str, message: str
) -> None:
    rewrite(configs, name, change)
    with pytest.raises(ConfigError, match=rf"{name}: invalid \w+:\n  {field}: {message}"):
        load_law(configs)


@pytest.mark.parametrize(
    ("name", "change", "field", "message"),
    [
        ("violations.yaml", _set(("violations", 1, "fine_min_yuan"), 600), "violations.1", "fine_min_yuan 600 exceeds"),
        ("discretion.yaml", _set(("violations", "cross_door", 0, "fine_min_yuan"), 300), "violations.cross_door.0", "tier 首次: fine_min_yuan exceeds"),
        ("deadlines.yaml", _set(("payment", "unit"), "fortnights"), "payment.unit", "Input should be 'working_days' or 'calendar_days'"),
        ("deadlines.yaml", _set(("payment", "count"), -1), "payment.count", "greater than or equal to 0"),
        ("deadlines.yaml", _set(("late_surcharge", "percent_per_day"), 101), "late_surcharge.percent_per_day", "less than or equal to 100"),
        ("deadlines.yaml", _set(("limitation_years",), 0), "limitation_years", "greater than or equal to 1"),
        ("violations.yaml", _set(("violations", 0, "code"), "Street Stall"), "violations.0.code", "should match pattern"),
        ("violations.yaml", _set(("violations", 1, "code"), "street_stall"), "(top level)", "duplicate violation codes: street_stall"),
        ("discretion.yaml", _set(("violations", "street_stall", 1, "min_priors"), 0), "(top level)", "street_stall: tiers must start at min_priors 0"),
        ("legal_review.yaml", _set(("min_fine_yuan",), -1), "min_fine_yuan", "greater than or equal to 0"),
        ("calendar.yaml", _set(("years", 2026), {**PUBLISHED_2026, "holidays": [{"name": "元旦", "first": dt.date(2026, 1, 1), "last": dt.date(2025, 12, 31)}]}), "years.2026.holidays.0", "holiday 元旦: last 2025-12-31 is before first"),
    ],
)  # fmt: skip
def test_a_value_outside_its_bounds_is_refused(
    configs: Path, name: str, change: Callable[[Any], None], field: str, message: str
) -> None:
    rewrite(configs, name, change)
    with pytest.raises(ConfigError) as caught:
        load_law(configs)
    text = str(caught.value)
    assert str(configs / name) in text
    assert f"\n  {field}: " in text
    assert message in text


def test_fine_min_above_fine_max_names_the_file_and_the_violation(configs: Path) -> None:
    rewrite(configs, "violations.yaml", _set(("violations", 1, "fine_min_yuan"), 600))
    with pytest.raises(
        ConfigError,
        match=r"violations\.yaml: invalid Catalogue:\n  violations\.1: .*fine_min_yuan 600 exceeds fine_max_yuan 500",
    ):
        load_law(configs)


@pytest.mark.parametrize(
    ("tier", "bound", "value", "message"),
    [
        (
            2,
            "fine_max_yuan",
            600,
            r"discretion tier street_stall/多次 \(350–600 yuan\) is outside the legal range 50–500",
        ),
        (
            0,
            "fine_min_yuan",
            40,
            r"discretion tier street_stall/首次 \(40–200 yuan\) is outside the legal range 50–500",
        ),
    ],
)
def test_a_discretion_tier_outside_the_legal_range_is_refused(
    configs: Path, tier: int, bound: str, value: int, message: str
) -> None:
    rewrite(configs, "discretion.yaml", _set(("violations", "street_stall", tier, bound), value))
    with pytest.raises(ConfigError, match=message) as caught:
        load_law(configs)
    assert str(configs / "discretion.yaml") in str(caught.value)
    assert str(configs / "violations.yaml") in str(caught.value)


def test_a_violation_without_discretion_tiers_is_refused(configs: Path) -> None:
    rewrite(configs, "discretion.yaml", lambda data: data["violations"].pop("cross_door"))
    with pytest.raises(ConfigError, match="discretion table has no tiers for violation cross_door"):
        load_law(configs)


def test_discretion_tiers_for_an_unknown_violation_are_refused(configs: Path) -> None:
    def add(data: Any) -> None:
        data["violations"]["littering"] = [{"name": "首次", "min_priors": 0, "fine_min_yuan": 50, "fine_max_yuan": 200}]

    rewrite(configs, "discretion.yaml", add)
    with pytest.raises(ConfigError, match="discretion table names unknown violations: littering"):
        load_law(configs)


@pytest.mark.parametrize(
    ("path", "stray"),
    [
        (("years", 2026, "holidays", 0, "first"), dt.date(2025, 12, 31)),
        (("years", 2026, "holidays", 6, "last"), dt.date(2027, 10, 7)),
        (("years", 2026, "extra_working_days", 0), dt.date(2027, 1, 4)),
    ],
)
def test_a_calendar_date_in_the_wrong_year_is_refused(written: Path, path: tuple[Any, ...], stray: dt.date) -> None:
    rewrite(written, "calendar.yaml", _set(path, stray))
    with pytest.raises(
        ConfigError, match=rf"calendar\.yaml: invalid CalendarConfig:\n.*year 2026 lists dates of another year: {stray}"
    ):
        load_law(written)


# ---- review candidates: no violation's fields of their own, a violation all of them ---------------------------
@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("legal_basis", "上海市市容环境卫生管理条例 第二十五条"),
        ("fine_max_yuan", 500),
        ("rectification", {"count": 0, "unit": "calendar_days", "legal_source": "责令立即改正"}),
        ("listed_for_non_site", True),
        ("subject", "unknown_vendor"),
    ],
)
def test_a_candidate_with_anything_of_a_violation_of_its_own_is_refused(
    configs: Path, field: str, value: object
) -> None:
    rewrite(configs, "violations.yaml", lambda data: data["candidates"][0].update({field: value}))
    with pytest.raises(ConfigError, match=rf"candidates\.0: .*candidate unknown_object: a review candidate has no "
                                          rf"{field} of its own"):  # fmt: skip
        load_law(configs)


@pytest.mark.parametrize("field", ["legal_basis", "penalty_basis", "fine_min_yuan", "rectification", "subject"])
def test_a_violation_without_any_of_its_legal_fields_is_refused(configs: Path, field: str) -> None:
    rewrite(configs, "violations.yaml", lambda data: data["violations"][0].pop(field))
    with pytest.raises(ConfigError, match=rf"violations\.0\.{field}: Field required"):
        load_law(configs)


def test_a_candidate_may_not_reuse_a_violations_code(configs: Path) -> None:
    rewrite(configs, "violations.yaml", lambda data: data["candidates"][0].update({"code": "street_stall"}))
    with pytest.raises(ConfigError, match="duplicate violation codes: street_stall"):
        load_law(configs)


@pytest.mark.parametrize("text", ["violations: [\n", "years:\n  2026: {holidays: [}\n", "a: b: c\n", "\tkey: value\n"])
def test_a_file_that_is_not_yaml_is_refused(configs: Path, text: str) -> None:
    (configs / "calendar.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=r"calendar\.yaml: not valid YAML"):
        load_law(configs)


def test_a_file_saved_in_gbk_is_refused_naming_the_line_and_one_with_a_byte_order_mark_loads(configs: Path) -> None:
    """A bureau edits calendar.yaml's holidays in Notepad: as UTF-8 with a byte order mark it loads the same; saved as
    GBK (Chinese Windows' default) it is refused, rather than its names read as other characters."""
    path = configs / "calendar.yaml"
    text = path.read_text(encoding="utf-8")
    before = load_law(configs).calendar
    path.write_bytes(b"\xef\xbb\xbf" + text.encode())
    assert load_law(configs).calendar == before
    path.write_bytes(text.encode("utf-8") + "# 国务院办公厅通知\n".encode("gbk"))
    with pytest.raises(ConfigError, match=rf"calendar\.yaml: not UTF-8 text \(line {len(text.splitlines()) + 1}\)"):
        load_law(configs)


def test_an_empty_file_is_refused(configs: Path) -> None:
    (configs / "legal_review.yaml").write_text("# nothing yet\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"legal_review\.yaml: invalid LegalReviewRule:\n  \(top level\): "):
        load_law(configs)


@pytest.mark.parametrize("name", [name for name, _ in LAW_FILES.values()])
def test_a_missing_file_is_refused(configs: Path, name: str) -> None:
    (configs / name).unlink()
    with pytest.raises(ConfigError, match=rf"{name}: file not found"):
        load_law(configs)


def test_a_missing_required_field_is_named(configs: Path) -> None:
    rewrite(configs, "deadlines.yaml", lambda data: data.pop("statement"))
    with pytest.raises(ConfigError, match=r"deadlines\.yaml: invalid Deadlines:\n  statement: Field required"):
        load_law(configs)


@pytest.mark.parametrize(
    ("extra_day", "complaint"),
    [
        (dt.date(2026, 3, 4), "must be weekend days, not 2026-03-04"),  # a Wednesday
        (dt.date(2026, 10, 3), "2026-10-03 listed both as holiday and as working day"),  # a Saturday of 国庆
    ],
)
def test_a_make_up_working_day_must_be_a_weekend_day_outside_the_holidays(
    written: Path, extra_day: dt.date, complaint: str
) -> None:
    rewrite(written, "calendar.yaml", lambda data: data["years"][2026]["extra_working_days"].append(extra_day))
    with pytest.raises(ConfigError, match=r"calendar\.yaml") as raised:
        load_law(written)
    assert complaint in str(raised.value)


def test_a_day_overridden_twice_is_refused(configs: Path) -> None:
    twice = {"date": dt.date(2026, 3, 4), "working": False, "legal_source": "某通知"}
    rewrite(configs, "calendar.yaml", _set(("days",), [twice, twice]))
    with pytest.raises(ConfigError, match=r"calendar\.yaml") as raised:
        load_law(configs)
    complaint = "days: 2026-03-04 overridden more than once"
    assert complaint in str(raised.value)


def test_a_key_written_twice_is_refused_rather_than_silently_overwritten(configs: Path) -> None:
    path = configs / "legal_review.yaml"
    path.write_text(path.read_text(encoding="utf-8") + "min_fine_yuan: 5000\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"legal_review\.yaml") as raised:
        load_law(configs)
    assert "found the key 'min_fine_yuan' twice" in str(raised.value)


def test_production_refuses_an_admin_password_too_short_to_create_the_account() -> None:
    from pydantic import SecretStr

    from offsite.settings import InsecureSettingsError, Settings

    settings = Settings(
        environment="production",
        gateway_master_key=SecretStr("k" * 40),
        admin_password=SecretStr("short-pass"),
        session_secret=SecretStr("s" * 40),
        public_base_url="https://zhifa.example.gov.cn",
    )
    with pytest.raises(InsecureSettingsError, match="OFFSITE_ADMIN_PASSWORD"):
        settings.refuse_default_secrets()
