"""The dashboard's charts, drawn on the server as SVG by matplotlib (decision 0025): no script, nothing fetched by the
browser, text set in WenQuanYi Zen Hei (the documents' font) and written as paths, so the page needs no font."""

from __future__ import annotations

import functools
import io
from collections import Counter

from cases import messages
from cases.documents import FONT_PATH
from cases.messages import wording

OUTCOME_NAMES = {"pending_review": wording("待审核"), "confirmed": wording("已确认"), "rejected": wording("已驳回")}
COLOURS = ("#1f5fae", "#a86200", "#1e7d45", "#b3261e", "#6b4fa0", "#00838f")


@functools.cache
def _matplotlib() -> None:
    """matplotlib set up once: the CJK font, text as paths, ids that do not change from one drawing to the next."""
    import matplotlib
    from matplotlib import font_manager

    font_manager.fontManager.addfont(str(FONT_PATH))
    name = font_manager.FontProperties(fname=str(FONT_PATH)).get_name()
    matplotlib.rcParams.update({"font.family": name, "svg.fonttype": "path", "svg.hashsalt": "offsite",
                                "axes.spines.top": False, "axes.spines.right": False})  # fmt: skip


def _svg(figure: object) -> str:
    out = io.StringIO()
    figure.savefig(out, format="svg", metadata={"Date": None}, bbox_inches="tight")  # type: ignore[attr-defined]
    text = out.getvalue()
    return text[text.index("<svg") :]  # inline: without the XML declaration and doctype


def by_hour(counts: dict[str, list[int]], names: dict[str, str], language: str) -> str | None:
    """Today's detections in each local hour, stacked by violation, labelled in the page's language; None when there
    are none."""
    if not any(sum(hours) for hours in counts.values()):
        return None
    _matplotlib()
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    figure = Figure(figsize=(9, 3.2))
    axes = figure.subplots()
    bottom = [0] * 24
    for (code, hours), colour in zip(sorted(counts.items()), COLOURS * 4, strict=False):
        axes.bar(range(24), hours, bottom=bottom, color=colour, label=names.get(code, code), width=0.8)
        bottom = [b + h for b, h in zip(bottom, hours, strict=True)]
    hour = messages.page_text("{hour}时", language)
    axes.set_xticks(range(0, 24, 2), [hour.format(hour=h) for h in range(0, 24, 2)])
    axes.set_ylabel(messages.page_text("检出（条）", language))
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    axes.legend(frameon=False, ncols=3, loc="upper center", bbox_to_anchor=(0.5, -0.12))  # below: never on a bar
    return _svg(figure)


def outcomes(counts: Counter[str], language: str) -> str | None:
    """Today's detections by review outcome, as bars labelled in the page's language; None when there are none."""
    if not sum(counts.values()):
        return None
    _matplotlib()
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    figure = Figure(figsize=(4.5, 2.4))
    axes = figure.subplots()
    labels = [messages.page_text(name, language) for name in OUTCOME_NAMES.values()]
    values = [counts.get(key, 0) for key in OUTCOME_NAMES]
    bars = axes.barh(labels, values, color=("#a86200", "#1e7d45", "#b3261e"))
    axes.bar_label(bars, padding=3)
    axes.invert_yaxis()
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    return _svg(figure)
