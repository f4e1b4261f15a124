"""The timeline chart: one lane per occasion kind, a dot per entry at its date, coloured by kind
(colours in data/timeline.yaml). A matplotlib Figure, not pyplot, so the app's worker threads share
no plotting state; Chinese labels use the first CJK font report.py knows of."""

from __future__ import annotations

import datetime
from functools import lru_cache
from pathlib import Path

from .timeline import Timeline, kind_colors, vocabulary


@lru_cache(maxsize=1)
def _cjk_font() -> str | None:
    """Register the first CJK font report.py knows of; its family name, or None."""
    from matplotlib import font_manager

    from .report import CJK_FONTS

    for path in CJK_FONTS:
        if Path(path).exists():
            font_manager.fontManager.addfont(path)
            return font_manager.FontProperties(fname=path).get_name()
    return None


def figure(tl: Timeline, width: float = 11.0, height: float = 4.6):
    """The chart: one lane per kind, a dot per entry at its date (hollow when only the month or year
    is known), sized by its number of passages, coloured by kind. A matplotlib Figure (no pyplot
    state: safe in the app's worker threads)."""
    import matplotlib
    import matplotlib.dates as mdates
    from matplotlib.figure import Figure

    font = _cjk_font()
    # The family is fixed when a text is made (not when it is drawn), so saving outside this context keeps it.
    rc = {"font.family": [font, "DejaVu Sans"] if font else ["DejaVu Sans"], "axes.unicode_minus": False}
    with matplotlib.rc_context(rc):
        fig = Figure(figsize=(width, height), dpi=110, layout="constrained")
        ax = fig.add_subplot()
        kinds = tl.kinds() or [vocabulary()["article_kind"]]
        colors = kind_colors()
        lane = {k: i for i, k in enumerate(reversed(kinds))}
        same_day: dict[tuple, int] = {}
        for k in kinds:
            es = [e for e in tl.entries if e.kind == k]
            if not es:
                continue
            xs, ys, sizes, precise = [], [], [], []
            for e in es:
                slot = same_day.setdefault((k, e.when), 0)
                same_day[(k, e.when)] += 1
                xs.append(e.when)
                ys.append(lane[k] + 0.18 * ((slot + 1) // 2) * (-1) ** slot)  # entries of one day side by side
                sizes.append(40 + 14 * min(len(e.passages), 10))
                precise.append(e.precise)
            color = colors.get(k, "#333333")
            full = [i for i, p in enumerate(precise) if p]
            part = [i for i, p in enumerate(precise) if not p]
            if full:
                ax.scatter(
                    [xs[i] for i in full],
                    [ys[i] for i in full],
                    s=[sizes[i] for i in full],
                    color=color,
                    alpha=0.85,
                    edgecolors="white",
                    linewidths=0.8,
                    label=f"{k}（{len(es)}）",
                    zorder=3,
                )
            if part:
                ax.scatter(
                    [xs[i] for i in part],
                    [ys[i] for i in part],
                    s=[sizes[i] for i in part],
                    facecolors="white",
                    edgecolors=color,
                    linewidths=1.8,
                    label=None if full else f"{k}（{len(es)}）",
                    zorder=3,
                )
        ax.set_yticks(list(lane.values()), list(lane.keys()))
        ax.set_ylim(-0.7, len(kinds) - 0.3)
        ax.xaxis.set_major_locator(mdates.YearLocator())
        ax.xaxis.set_major_formatter(mdates.DateFormatter("%Y"))
        if tl.entries:
            lo, hi = min(e.when for e in tl.entries), max(e.when for e in tl.entries)
            pad = datetime.timedelta(days=max(60, (hi - lo).days // 30))
            ax.set_xlim(lo - pad, hi + pad)
        ax.grid(axis="x", alpha=0.3)
        ax.spines[["top", "right"]].set_visible(False)
        title = f"论述时间线 · 主题：{tl.topic}" if tl.topic else "论述时间线 · 全部带日期的原文"
        ax.set_title(f"{title}（{len(tl.entries)} 条，{tl.included} 段）", fontsize=12)
        if tl.entries:
            from matplotlib.lines import Line2D

            handles = [
                Line2D(
                    [],
                    [],
                    marker="o",
                    linestyle="",
                    markersize=8,
                    color=colors.get(k, "#333333"),
                    label=f"{k}（{sum(e.kind == k for e in tl.entries)}）",
                )
                for k in kinds
            ]
            handles.append(
                Line2D(
                    [],
                    [],
                    marker="o",
                    linestyle="",
                    markersize=8,
                    markerfacecolor="white",
                    markeredgecolor="#555555",
                    label="仅知年月",
                )
            )
            ax.legend(
                handles=handles,
                loc="upper left",
                bbox_to_anchor=(1.01, 1.0),
                fontsize=9,
                frameon=False,
                title="类别（条数）\n点越大，段数越多",
                title_fontsize=8,
            )
        else:
            ax.text(0.5, 0.5, "没有与该主题相关的带日期原文", transform=ax.transAxes, ha="center", va="center", fontsize=12)
    return fig
