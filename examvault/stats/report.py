"""The item-analysis report for the custodian: a PDF to read and an xlsx to filter.

PDF (A4, Simplified Chinese): the paper summary (candidates, alpha, SEM, the score distribution
as a histogram, the flags at a glance), the item table with flagged rows shaded, the evidence of
every flag, the distractor table, the IRT parameters and DIF results when they were computed,
and item characteristic curves for the flagged items — the model curve with the observed
proportions per score group as points where IRT was fitted, otherwise the empirical curve by
total-score group, with the distractors' trace lines for choice items. Headers repeat on every
page; each page says 第 n 页 共 m 页.

Figures are drawn by matplotlib (Agg, in memory, PNG) with the project's CJK font registered
(`examvault.export.fonts`: the packaged Noto Sans SC or the site's EXAMVAULT_FONT_BOLD /
EXAMVAULT_FONT); if that font cannot be loaded the figures fall back to English labels.

xlsx sheets: 概况 (summary and the histogram), 题目 (items with their flags), 标记 (one row per flag
with its evidence), 选项 (distractors), IRT and DIF when computed.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from examvault.errors import ValidationError
from examvault.stats.analysis import Analysis
from examvault.stats.flags import Flag

RULE_NAMES = {
    "too_hard": "过难",
    "too_easy": "过易",
    "low_discrimination": "区分度低",
    "negative_discrimination": "负区分",
    "key_error": "疑似答案错误",
    "category_order": "评分等级倒置",
    "misfit": "模型拟合差",
    "dif": "DIF C类",
}
RULE_HELP = {
    "too_hard": "难度 p 低于阈值",
    "too_easy": "难度 p 高于阈值",
    "low_discrimination": "校正题总相关低于阈值",
    "negative_discrimination": "校正题总相关为负",
    "key_error": "某干扰项与其余题得分的相关高于正确答案",
    "category_order": "高分等级考生的其余题平均分低于低分等级",
    "misfit": "IRT 拟合均方（相对模型期望）越界",
    "dif": "Mantel–Haenszel D-DIF 为 ETS C 类",
}
MODEL_NAMES = {"rasch": "Rasch 模型", "pcm": "分部评分模型（PCM）", "2pl": "双参数 Logistic 模型（2PL）", "gpcm": "广义分部评分模型（GPCM）"}
MISSING_NAMES = {"wrong": "未答按答错计 0 分", "pairwise": "未答不计入该题统计（成对删除）"}
MAX_CURVES = 48
_PANELS = 3  # ICC grid: columns (and rows) per figure


def _f(value: Any, digits: int = 3) -> str:
    if value is None:
        return "—"
    v = float(value)
    return "—" if not math.isfinite(v) else f"{v:.{digits}f}"


def _flag_names(flags: Sequence[Flag]) -> str:
    seen: list[str] = []
    for f in flags:
        name = RULE_NAMES.get(f.rule, f.rule)
        if name not in seen:
            seen.append(name)
    return "、".join(seen)


def _evidence(f: Flag, analysis: Analysis) -> tuple[str, str, str, str]:
    """(estimate, interval, cut, what) of a flag, in the report's words."""
    digits = 2 if f.rule in ("misfit", "dif", "category_order") else 3
    interval = f"{_f(f.ci[0], digits)} ～ {_f(f.ci[1], digits)}"
    what = {
        "too_hard": f"难度 p；p < {f.threshold:g}", "too_easy": f"难度 p；p > {f.threshold:g}",
        "low_discrimination": f"校正题总相关 r；r < {f.threshold:g}", "negative_discrimination": "校正题总相关 r；r < 0",
        "key_error": "最佳干扰项 r − 答案 r；> 0", "category_order": "相邻等级其余题平均分之差；< 0",
        "misfit": f"拟合均方 / 模型期望；< {analysis.thresholds.msq_low:g} 或 > {analysis.thresholds.msq_high:g}",
        "dif": "MH D-DIF；|D| ≥ 1.5 且显著大于 1",
    }.get(f.rule, f.rule)  # fmt: skip
    return _f(f.value, digits), interval, f"{f.threshold:g}", what


def _detail(f: Flag, analysis: Analysis) -> str:
    """A short Chinese explanation, from the flag's numbers (the English message is for logs and JSON)."""
    if f.rule == "key_error" and f.item in analysis.options:
        o = analysis.options[f.item]
        best = o.best_distractor()
        if best is not None:
            code = analysis.option_label(int(o.codes[best]))
            return (f"选项 {code} 的 r = {_f(o.r_rest[best])}，高于答案 {analysis.option_label(o.key)} 的 r = "
                    f"{_f(o.r_rest[o.key_index])}，请核对答案")  # fmt: skip
    if f.rule == "misfit":
        return "作答比模型预期更杂乱" if f.value > f.threshold else "作答比模型预期更整齐（可能依赖其他题或过于机械）"
    if f.rule == "dif":
        return "同等总分下焦点组更难答对" if f.value < 0 else "同等总分下焦点组更易答对"
    return RULE_HELP.get(f.rule, "")


# ---------------------------------------------------------------------------------- figures


@dataclass
class _Plot:
    plt: Any
    chinese: bool

    def t(self, zh: str, en: str) -> str:
        return zh if self.chinese else en


def _matplotlib() -> _Plot:
    import matplotlib

    matplotlib.use("Agg", force=True)
    from matplotlib import font_manager
    from matplotlib import pyplot as plt

    chinese = True
    try:
        from examvault.export.fonts import font_paths

        path = str(font_paths()[1])
        font_manager.fontManager.addfont(path)
        name = font_manager.FontProperties(fname=path).get_name()
        family = [name, "DejaVu Sans"]
    except Exception:  # no CJK font: the figures speak English rather than print boxes
        chinese, family = False, ["DejaVu Sans"]
    plt.rcParams.update({
        "font.family": family, "font.size": 8, "axes.titlesize": 8.5, "axes.labelsize": 7.5, "xtick.labelsize": 7,
        "ytick.labelsize": 7, "legend.fontsize": 6.5, "axes.spines.top": False, "axes.spines.right": False,
        "axes.unicode_minus": False, "figure.dpi": 100,
    })  # fmt: skip
    return _Plot(plt, chinese)


def _png(fig: Any, plot: _Plot, dpi: int = 200) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight", pad_inches=0.04, metadata={"Software": None})
    plot.plt.close(fig)
    return buf.getvalue()


def histogram_png(analysis: Analysis, plot: _Plot, width_in: float = 6.6, height_in: float = 2.5) -> bytes:
    """The distribution of total scores, with the mean and the 60 % line (the pass mark of a 100-point part)."""
    totals = analysis.totals
    top = float(np.sum(analysis.max_points))
    fig, ax = plot.plt.subplots(figsize=(width_in, height_in))
    values = np.unique(totals)
    if values.size <= 45 and np.allclose(values, np.rint(values * 2) / 2):
        step = float(np.min(np.diff(values))) if values.size > 1 else 1.0
        counts = np.array([(totals == v).sum() for v in values])
        ax.bar(values, counts, width=step * 0.85, color="#4a78b0", edgecolor="white", linewidth=0.4)
    else:
        ax.hist(totals, bins=min(30, max(10, int(math.sqrt(totals.size)))), range=(0, top), color="#4a78b0", edgecolor="white", linewidth=0.4)
    mean = float(np.mean(totals)) if totals.size else math.nan
    if math.isfinite(mean):
        ax.axvline(mean, color="#c0392b", linewidth=1.1, label=plot.t(f"平均分 {mean:.1f}", f"mean {mean:.1f}"))
    ax.axvline(0.6 * top, color="#555555", linewidth=0.9, linestyle="--", label=plot.t("满分的 60%", "60 % of the maximum"))
    ax.set_xlim(-0.02 * top - 0.5, top * 1.02 + 0.5)
    if np.allclose(totals, np.rint(totals)):
        from matplotlib.ticker import MaxNLocator

        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel(plot.t(f"总分（满分 {top:g}）", f"total score (maximum {top:g})"))
    ax.set_ylabel(plot.t("人数", "candidates"))
    ax.legend(frameon=False, loc="upper left")
    ax.grid(axis="y", color="#dddddd", linewidth=0.5)
    ax.set_axisbelow(True)
    return _png(fig, plot)


def _score_groups(totals: np.ndarray, n_groups: int = 10) -> np.ndarray:
    """Group index per candidate: one group per total when there are few, else about `n_groups` by rank (ties together)."""
    values = np.unique(totals)
    if values.size <= 12:
        return np.searchsorted(values, totals)
    cuts = np.unique(np.quantile(totals, np.linspace(0, 1, n_groups + 1)[1:-1]))
    return np.searchsorted(cuts, totals, side="right")


def _icc_panel(ax: Any, analysis: Analysis, j: int, plot: _Plot) -> None:
    assert analysis.scores is not None
    groups = _score_groups(analysis.totals)
    column = analysis.scores[:, j] / analysis.max_points[j]
    seen = ~np.isnan(column)
    ids = np.unique(groups[seen])
    with_irt = analysis.irt is not None and analysis.theta is not None and j in analysis.irt_items
    x_of = analysis.theta if with_irt else analysis.totals
    assert x_of is not None
    xs = np.array([x_of[(groups == g) & seen].mean() for g in ids])
    ys = np.array([column[(groups == g) & seen].mean() for g in ids])
    ns = np.array([((groups == g) & seen).sum() for g in ids])
    if with_irt:
        fit = analysis.irt
        assert fit is not None
        i = analysis.irt_items.index(j)
        grid = np.linspace(min(-3.5, float(xs.min()) - 0.3), max(3.5, float(xs.max()) + 0.3), 121)
        p = fit.category_probabilities(grid)[i]
        m = int(fit.n_categories[i]) - 1
        expected = (np.arange(p.shape[0])[:, None] * p).sum(axis=0) / m
        ax.plot(grid, expected, color="#1f4e8c", linewidth=1.4, label=plot.t("模型曲线", "model"))
        ax.set_xlabel(plot.t("能力 θ（EAP）", "ability θ (EAP)"))
    else:
        ax.plot(xs, ys, color="#1f4e8c", linewidth=1.0, alpha=0.7)
        ax.set_xlabel(plot.t("总分组平均总分", "mean total of the score group"))
    sizes = 8 + 40 * ns / max(ns.max(), 1)
    ax.scatter(xs, ys, s=sizes, color="#1f4e8c", edgecolor="white", linewidth=0.5, zorder=3, label=plot.t("实测比例", "observed"))
    if j in analysis.options and analysis.choices is not None:
        o = analysis.options[j]
        codes = analysis.choices[:, j]
        shown = codes != analysis.omit_code if analysis.missing == "pairwise" else np.ones(codes.size, dtype=bool)
        palette = ["#e67e22", "#27ae60", "#8e44ad", "#c0392b", "#7f8c8d", "#16a085", "#d35400"]
        for n_line, code in enumerate(c for c in o.codes if c != o.key):
            share = np.array([(codes[(groups == g) & shown] == code).mean() if ((groups == g) & shown).any() else np.nan for g in ids])
            ax.plot(xs, share, linestyle="--", linewidth=0.9, color=palette[n_line % len(palette)], marker=".", markersize=3,
                    label=plot.t(f"选项 {analysis.option_label(int(code))}", f"option {analysis.option_label(int(code))}"))  # fmt: skip
    ax.set_ylim(-0.03, 1.03)
    ax.set_ylabel(plot.t("得分率 / 选择比例", "proportion"))
    ax.grid(color="#e5e5e5", linewidth=0.5)
    ax.set_axisbelow(True)
    names = _flag_names(analysis.flags_for(j)) if plot.chinese else ", ".join(sorted({f.rule for f in analysis.flags_for(j)}))
    ax.set_title(f"{analysis.labels[j]}\n{names}", loc="left", fontsize=8, linespacing=1.3)
    ax.legend(frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.3), ncol=3, handlelength=1.6, columnspacing=0.8)


def icc_pngs(analysis: Analysis, items: Sequence[int], plot: _Plot) -> list[bytes]:
    """Item characteristic curves, `_PANELS`² to a figure (a page), for the given items."""
    pages = []
    per_page = _PANELS * _PANELS
    for start in range(0, len(items), per_page):
        chunk = list(items[start : start + per_page])
        rows = math.ceil(len(chunk) / _PANELS)
        fig, axes = plot.plt.subplots(rows, _PANELS, figsize=(7.0, 2.9 * rows), squeeze=False)
        for k, ax in enumerate(axes.flat):
            if k < len(chunk):
                _icc_panel(ax, analysis, chunk[k], plot)
            else:
                ax.set_visible(False)
        fig.tight_layout(h_pad=1.2, w_pad=1.0)
        pages.append(_png(fig, plot, dpi=170))
    return pages


# ---------------------------------------------------------------------------------- tables (as text)


def _summary_rows(analysis: Analysis) -> list[tuple[str, str]]:
    c = analysis.classical
    totals = analysis.totals
    top = float(np.sum(analysis.max_points))
    model = MODEL_NAMES.get(analysis.irt_model or "", "未拟合") if analysis.irt is not None else "未拟合"
    rows = [
        ("考生人数", f"{analysis.n_candidates}"),
        ("题目数", f"{analysis.n_items}"),
        ("满分", f"{top:g}"),
        ("平均分（标准差）", f"{_f(c.total_mean, 2)}（{_f(c.total_sd, 2)}）"),
        ("最低分 ～ 最高分", f"{totals.min():g} ～ {totals.max():g}" if totals.size else "—"),
        ("平均难度 p", _f(float(np.nanmean(c.p)))),
        ("信度系数 α", _f(c.alpha)),
        ("测量标准误 SEM", _f(c.sem, 2)),
        ("缺答处理", MISSING_NAMES.get(analysis.missing, analysis.missing)),
        ("IRT 模型", model),
        ("被标记的题目", f"{len(analysis.flagged_items)} 道"),
    ]
    if analysis.dif:
        rows.append(("DIF 分组", f"焦点组 {analysis.dif_focal}，参照组 {'、'.join(analysis.dif_reference)}"))
    return rows


def _item_header(analysis: Analysis) -> list[str]:
    head = ["题目", "人数", "平均分", "难度 p", "题总 r", "校正 r", "D(27%)", "删后 α"]
    if analysis.irt is not None:
        head += ["难度 b"] if analysis.irt.model == "rasch" else ["区分度 a", "难度 b"]
    return [*head, "标记"]


def _item_rows(analysis: Analysis) -> list[list[str]]:
    c = analysis.classical
    irt = {analysis.irt_items[i]: row for i, row in enumerate(analysis.irt_rows())}
    rows = []
    for j, label in enumerate(analysis.labels):
        row = [label, f"{int(c.n[j])}", _f(c.mean[j], 2), _f(c.p[j]), _f(c.r_total[j]), _f(c.r_rest[j]),
               _f(c.upper_lower[j] if c.upper_lower is not None else None), _f(c.alpha_if_deleted[j])]  # fmt: skip
        if analysis.irt is not None:
            fit = irt.get(j, {})
            b = fit.get("difficulty", fit.get("b"))
            b_text = _f(b, 2) if not isinstance(b, list) else _f(float(np.mean([v for v in b if v is not None])), 2)
            row += [b_text] if analysis.irt.model == "rasch" else [_f(fit.get("a"), 2), b_text]
        rows.append([*row, _flag_names(analysis.flags_for(j))])
    return rows


def _option_rows(analysis: Analysis) -> list[tuple[list[str], str]]:
    """(cells, kind) with kind "key", "bad" (a distractor correlating positively), "omit" or ""."""
    rows: list[tuple[list[str], str]] = []
    for j in sorted(analysis.options):
        o = analysis.options[j]
        for i, code in enumerate(o.codes):
            is_key = bool(code == o.key)
            kind = "key" if is_key else ("bad" if np.isfinite(o.r_rest[i]) and o.r_rest[i] > 0 else "")
            rows.append(([analysis.labels[j] if i == 0 else "", analysis.option_label(int(code)), "✓" if is_key else "", f"{int(o.counts[i])}",
                          _f(o.share[i]), _f(o.share_upper[i]), _f(o.share_lower[i]), _f(o.r_rest[i]), _f(o.mean_total[i], 2)], kind))  # fmt: skip
        if o.omitted_count:
            rows.append((["", "未答", "", f"{o.omitted_count}", _f(o.omitted_share), "", "", "", ""], "omit"))
    return rows


OPTION_HEADER = ["题目", "选项", "答案", "人数", "比例", "高分组", "低分组", "校正 r", "平均总分"]


def _irt_header(analysis: Analysis) -> list[str]:
    assert analysis.irt is not None
    if analysis.irt.model == "rasch":
        params = ["难度 b", "标准误"]
    else:
        params = ["区分度 a", "标准误", "截距 d", "标准误", "难度 b", "标准误"]
    return ["题目", "等级数", *params, "Infit", "Outfit", "期望 In", "期望 Out"]


def _irt_table_rows(analysis: Analysis) -> list[list[str]]:
    out = []
    reference = analysis.fit_reference
    for i, row in enumerate(analysis.irt_rows()):
        def first(v: Any) -> Any:
            return v if not isinstance(v, list) else (v[0] if len(v) == 1 else None)

        if analysis.irt is not None and analysis.irt.model == "rasch":
            params = [_f(row.get("difficulty"), 3), _f(row.get("se_difficulty"), 3)]
        else:
            steps = row.get("b")
            b_text = _f(first(steps), 3) if not isinstance(steps, list) else " / ".join(_f(v, 2) for v in steps)
            d = row.get("d")
            d_text = _f(d, 3) if not isinstance(d, list) else " / ".join(_f(v, 2) for v in d)
            se_b = row.get("se_b")
            se_b_text = _f(se_b, 3) if not isinstance(se_b, list) else "—"
            se_d = row.get("se_d")
            se_d_text = _f(se_d, 3) if not isinstance(se_d, list) else "—"
            params = [_f(row.get("a"), 3), _f(row.get("se_a"), 3), d_text, se_d_text, b_text, se_b_text]
        expected = ["—", "—"] if reference is None else [_f(reference[0][i], 2), _f(reference[2][i], 2)]
        out.append([row["item"], str(row["categories"]), *params, _f(row.get("infit"), 2), _f(row.get("outfit"), 2), *expected])
    return out


DIF_HEADER = ["题目", "α_MH", "MH D-DIF", "标准误", "χ²", "p 值", "ETS 类别", "方向"]


def _dif_rows(analysis: Analysis) -> list[list[str]]:
    rows = []
    for j, r in sorted(analysis.dif.items()):
        direction = {"favours reference": "有利于参照组", "favours focal": "有利于焦点组"}.get(r.direction[0], "")
        rows.append([analysis.labels[j], _f(r.alpha_mh[0], 3), _f(r.d_dif[0], 2), _f(r.se_d_dif[0], 2), _f(r.chi2[0], 2),
                     _f(r.p_value[0], 4), r.ets_class[0], direction])  # fmt: skip
    return rows


FLAG_HEADER = ["题目", "标记", "估计值", "置信区间", "阈值", "n", "依据与说明"]


def _flag_rows(analysis: Analysis) -> list[list[str]]:
    rows = []
    for f in analysis.flags:
        value, interval, cut, what = _evidence(f, analysis)
        rows.append([analysis.labels[f.item], RULE_NAMES.get(f.rule, f.rule), value, interval, cut, str(f.n), f"{what}。{_detail(f, analysis)}"])
    return rows


def _rules_text(analysis: Analysis) -> str:
    t = analysis.thresholds
    conf = f"{t.confidence * 100:g}%"
    return (f"标记规则：难度 p < {t.p_low:g}（过难）或 > {t.p_high:g}（过易）；校正题总相关 r < {t.r_rest_low:g}（区分度低）或 < 0（负区分）；"
            f"某干扰项的相关高于正确答案（疑似答案错误）；IRT 拟合均方超出 {t.msq_low:g}～{t.msq_high:g}；DIF 为 ETS C 类。"
            f"只有作答人数 n ≥ {t.min_n} 且 {conf} 置信区间整体越过阈值时才标记，避免因样本波动误判。")  # fmt: skip


# ---------------------------------------------------------------------------------- PDF


def render_pdf(analysis: Analysis, *, title: str, subtitle: str = "") -> bytes:
    """The report as an A4 PDF (see the module docstring)."""
    from reportlab.lib import colors
    from reportlab.lib.enums import TA_CENTER, TA_LEFT
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import (
        BaseDocTemplate,
        CondPageBreak,
        Frame,
        Image,
        KeepTogether,
        PageBreak,
        PageTemplate,
        Paragraph,
        Spacer,
        Table,
        TableStyle,
    )

    from examvault.db import beijing_today
    from examvault.export.fonts import register_fonts
    from examvault.export.paper_pdf import numbered_canvas

    plot = _matplotlib()
    made = beijing_today().isoformat()
    summary = _summary_rows(analysis)
    item_head, item_rows = _item_header(analysis), _item_rows(analysis)
    flag_rows = _flag_rows(analysis)
    option_rows = _option_rows(analysis)
    irt_head = _irt_header(analysis) if analysis.irt is not None else []
    irt_rows = _irt_table_rows(analysis) if analysis.irt is not None else []
    dif_rows = _dif_rows(analysis)
    flagged = analysis.flagged_items
    curves = flagged[:MAX_CURVES]
    headings = ["试卷概况", "题目分析", "标记详情", "选项（干扰项）分析", "IRT 参数", "项目功能差异（DIF）", "被标记题目的特征曲线", "分析说明",
                "标记汇总"]  # fmt: skip
    numerals = iter("一二三四五六七八九")
    rule_counts = [(RULE_NAMES.get(rule, rule), RULE_HELP.get(rule, ""), sorted({analysis.labels[f.item] for f in analysis.flags if f.rule == rule}))
                   for rule in RULE_NAMES if any(f.rule == rule for f in analysis.flags)]  # fmt: skip
    prose = [
        _rules_text(analysis),
        "表中：难度 p 为平均得分率；题总 r 为题目得分与总分的相关；校正 r 为题目得分与其余题总分的相关；D(27%) 为高分组与低分组（各 27%）得分率之差；"
        "删后 α 为删去该题后的信度。被标记的题目以底色标出。",
        "选项表中，“高分组”“低分组”为总分前、后 27% 考生中选择该选项的比例；正确答案以 ✓ 标出并以绿色底色显示，与其余题总分正相关的干扰项以橙色底色显示（可能是第二个正确答案或答案有误）。",
        "特征曲线：拟合 IRT 的题目画出模型曲线（实线），圆点为各总分组考生的实测得分率（横坐标为该组的平均能力估计，点的大小表示人数）；"
        "未拟合 IRT 的题目画出各总分组的实测曲线。虚线为各干扰项的选择比例。",
        "IRT 拟合均方以能力估计值计算，题目越少越偏低；“期望”列为按所拟合模型模拟同样设计的考试所得的均值，标记以实测值与期望值之比判断。",
        f"焦点组 {analysis.dif_focal}；参照组 {'、'.join(analysis.dif_reference)}。以二分题总分为匹配变量，MH D-DIF 为负表示同等总分下焦点组更难答对。" if analysis.dif else "",
        f"被标记的题目共 {len(flagged)} 道，仅画出前 {MAX_CURVES} 道。" if len(flagged) > MAX_CURVES else "",
    ]
    # every fixed string of the report is a literal in this module; the rest comes from the data
    rows_text = "".join("".join(r) for r in (item_rows + flag_rows + [c for c, _ in option_rows] + irt_rows + dif_rows))
    dynamic = title + subtitle + made + "".join(a + b for a, b in summary) + "".join(prose) + "".join(analysis.notes) + rows_text
    fonts = register_fonts("0", _module_text() + dynamic + "".join(n + h + "".join(i) for n, h, i in rule_counts))
    sans = serif = fonts.heading  # one face (Noto Sans SC): a data report reads better in sans

    def esc(text: str) -> str:
        return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")

    page_w, page_h = A4
    margin = 16 * mm
    width = page_w - 2 * margin
    title_style = ParagraphStyle("title", fontName=sans, fontSize=17, leading=23, alignment=TA_CENTER, spaceAfter=1.5 * mm)
    sub_style = ParagraphStyle("sub", fontName=sans, fontSize=10, leading=14, alignment=TA_CENTER, textColor=colors.Color(0.35, 0.35, 0.35))
    h1 = ParagraphStyle("h1", fontName=sans, fontSize=12.5, leading=17, spaceBefore=4 * mm, spaceAfter=2 * mm, textColor=colors.Color(0.1, 0.22, 0.4))
    body = ParagraphStyle("body", fontName=serif, fontSize=8.5, leading=12.5, alignment=TA_LEFT, wordWrap="CJK")
    small = ParagraphStyle("small", parent=body, fontName=sans, fontSize=7.3, leading=9.5)
    head_bg = colors.Color(0.12, 0.3, 0.55)
    zebra = colors.Color(0.965, 0.97, 0.98)
    flagged_bg = colors.Color(1.0, 0.9, 0.88)

    def grid_style(n_rows: int, font_size: float = 7.6) -> list[Any]:
        return [
            ("FONT", (0, 0), (-1, 0), sans, font_size), ("FONT", (0, 1), (-1, -1), sans, font_size),
            ("TEXTCOLOR", (0, 0), (-1, 0), colors.white), ("BACKGROUND", (0, 0), (-1, 0), head_bg),
            ("ALIGN", (0, 0), (-1, -1), "CENTER"), ("ALIGN", (0, 1), (0, -1), "LEFT"), ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
            ("LINEBELOW", (0, 0), (-1, -1), 0.25, colors.Color(0.8, 0.82, 0.86)), ("BOX", (0, 0), (-1, -1), 0.6, colors.Color(0.45, 0.5, 0.6)),
            ("TOPPADDING", (0, 0), (-1, -1), 1.6), ("BOTTOMPADDING", (0, 0), (-1, -1), 1.6),
            *[("BACKGROUND", (0, r), (-1, r), zebra) for r in range(2, n_rows, 2)],
        ]  # fmt: skip

    story: list[Any] = [Paragraph(esc(title), title_style)]
    if subtitle:
        story.append(Paragraph(esc(subtitle), sub_style))
    story.append(Paragraph(f"制表日期：{made}", sub_style))
    story.append(Spacer(1, 3 * mm))

    # summary box: two key–value columns side by side
    half = math.ceil(len(summary) / 2)
    left, right = summary[:half], summary[half:] + [("", "")] * (2 * half - len(summary))
    box = Table([[a, b, c, d] for (a, b), (c, d) in zip(left, right, strict=True)], colWidths=[32 * mm, width / 2 - 32 * mm, 36 * mm, width / 2 - 36 * mm])
    box.setStyle(TableStyle([
        ("FONT", (0, 0), (-1, -1), sans, 8.8), ("TEXTCOLOR", (0, 0), (0, -1), colors.Color(0.35, 0.38, 0.45)),
        ("TEXTCOLOR", (2, 0), (2, -1), colors.Color(0.35, 0.38, 0.45)), ("BOX", (0, 0), (-1, -1), 0.8, head_bg),
        ("BACKGROUND", (0, 0), (-1, -1), colors.Color(0.955, 0.965, 0.985)), ("LINEAFTER", (1, 0), (1, -1), 0.4, colors.Color(0.75, 0.8, 0.88)),
        ("TOPPADDING", (0, 0), (-1, -1), 2.4), ("BOTTOMPADDING", (0, 0), (-1, -1), 2.4), ("LEFTPADDING", (0, 0), (-1, -1), 6),
    ]))  # fmt: skip
    story += [Paragraph(f"{next(numerals)}、{headings[0]}", h1), box, Spacer(1, 3 * mm)]
    hist = histogram_png(analysis, plot)
    story.append(_image(Image, hist, width))
    story.append(Paragraph(headings[8], h1))
    if rule_counts:
        counts = Table([["标记", "含义", "题数", "题目"], *[[n, h, str(len(items)), "、".join(items[:30]) + (" …" if len(items) > 30 else "")]
                                                       for n, h, items in rule_counts]],
                       colWidths=[24 * mm, 62 * mm, 12 * mm, width - 98 * mm], repeatRows=1)  # fmt: skip
        style = grid_style(len(rule_counts) + 1, 8)
        style.append(("ALIGN", (1, 1), (1, -1), "LEFT"))
        style.append(("ALIGN", (3, 1), (3, -1), "LEFT"))
        counts.setStyle(TableStyle(style))
        story.append(counts)
    else:
        story.append(Paragraph("没有题目被标记。", body))
    story += [Spacer(1, 2 * mm), Paragraph(esc(prose[0]), small)]

    # item table
    story += [PageBreak(), Paragraph(f"{next(numerals)}、{headings[1]}", h1)]
    n_cols = len(item_head)
    label_w = 24 * mm
    flag_w = 34 * mm
    other = (width - label_w - flag_w) / (n_cols - 2)
    cell = ParagraphStyle("cell", fontName=sans, fontSize=7.3, leading=8.8, alignment=TA_LEFT, wordWrap="CJK")
    data = [item_head] + [[Paragraph(esc(r[0]), cell), *r[1:-1], Paragraph(esc(r[-1]), cell)] for r in item_rows]
    items_table = Table(data, colWidths=[label_w, *([other] * (n_cols - 2)), flag_w], repeatRows=1)
    style = grid_style(len(data))
    style += [("BACKGROUND", (0, r + 1), (-1, r + 1), flagged_bg) for r, row in enumerate(item_rows) if row[-1]]
    items_table.setStyle(TableStyle(style))
    story += [items_table, Spacer(1, 1.5 * mm), Paragraph(esc(prose[1]), small)]

    # flags with their evidence
    story += [CondPageBreak(40 * mm), Paragraph(f"{next(numerals)}、{headings[2]}", h1)]
    if flag_rows:
        widths = [20 * mm, 20 * mm, 14 * mm, 26 * mm, 11 * mm, 11 * mm]
        data = [FLAG_HEADER] + [[Paragraph(esc(r[0]), cell), *r[1:-1], Paragraph(esc(r[-1]), cell)] for r in flag_rows]
        flags_table = Table(data, colWidths=[*widths, width - sum(widths)], repeatRows=1)
        flags_table.setStyle(TableStyle(grid_style(len(data))))
        story.append(flags_table)
    else:
        story.append(Paragraph("没有题目被标记。", body))

    if option_rows:
        story += [PageBreak(), Paragraph(f"{next(numerals)}、{headings[3]}", h1)]
        data = [OPTION_HEADER] + [c for c, _ in option_rows]
        widths = [24 * mm, 14 * mm, 11 * mm] + [(width - 49 * mm) / 6] * 6
        options_table = Table(data, colWidths=widths, repeatRows=1)
        style = grid_style(1, 7.4)
        for r, (c, kind) in enumerate(option_rows, start=1):
            if c[0]:
                style.append(("LINEABOVE", (0, r), (-1, r), 0.7, colors.Color(0.45, 0.5, 0.6)))
            if kind == "key":
                style.append(("BACKGROUND", (1, r), (-1, r), colors.Color(0.87, 0.95, 0.87)))
            elif kind == "bad":
                style.append(("BACKGROUND", (1, r), (-1, r), colors.Color(1.0, 0.92, 0.8)))
            elif kind == "omit":
                style.append(("TEXTCOLOR", (1, r), (-1, r), colors.Color(0.45, 0.45, 0.45)))
        options_table.setStyle(TableStyle(style))
        story += [Paragraph(esc(prose[2]), small), Spacer(1, 1.5 * mm), options_table]

    if irt_rows and analysis.irt is not None:
        fit = analysis.irt
        story += [PageBreak(), Paragraph(f"{next(numerals)}、{headings[4]}", h1)]
        info = (f"模型：{MODEL_NAMES.get(analysis.irt_model or fit.model, fit.model)}；边际极大似然（EM，61 个求积点）；"
                f"对数似然 {fit.loglik:.3f}；{'已收敛' if fit.converged else '未收敛'}（{fit.n_iter} 次迭代）；"
                f"能力方差 {fit.latent_variance:.3f}；人数 {fit.n_persons:g}。")  # fmt: skip
        if fit.model == "rasch":
            info += "难度已中心化（题目难度均值为 0）。"
        story += [Paragraph(esc(info), body), Spacer(1, 1.5 * mm)]
        data = [irt_head, *irt_rows]
        n_cols = len(irt_head)
        irt_table = Table(data, colWidths=[label_w, *([(width - label_w) / (n_cols - 1)] * (n_cols - 1))], repeatRows=1)
        irt_table.setStyle(TableStyle(grid_style(len(data))))
        story += [irt_table, Spacer(1, 1.5 * mm), Paragraph(esc(prose[4]), small)]

    if dif_rows:
        story += [CondPageBreak(60 * mm), Paragraph(f"{next(numerals)}、{headings[5]}", h1), Paragraph(esc(prose[5]), small), Spacer(1, 1.5 * mm)]
        data = [DIF_HEADER, *dif_rows]
        dif_table = Table(data, colWidths=[label_w, *([(width - label_w - 26 * mm) / 6] * 6), 26 * mm], repeatRows=1)
        style = grid_style(len(data))
        style += [("BACKGROUND", (0, r), (-1, r), flagged_bg) for r, row in enumerate(dif_rows, start=1) if row[6] == "C"]
        dif_table.setStyle(TableStyle(style))
        story.append(dif_table)

    if curves:
        story += [PageBreak(), Paragraph(f"{next(numerals)}、{headings[6]}", h1), Paragraph(esc(prose[3]), small)]
        if prose[6]:
            story.append(Paragraph(esc(prose[6]), small))
        for k, png in enumerate(icc_pngs(analysis, curves, plot)):
            if k:
                story.append(PageBreak())
            story += [Spacer(1, 2 * mm), _image(Image, png, width, max_height=page_h - 2 * margin - 30 * mm)]

    if analysis.notes:
        story.append(KeepTogether([Paragraph(headings[7], h1), *[Paragraph(esc(f"· {n}"), small) for n in analysis.notes]]))

    def footer(c: Any, page: int, pages: int) -> None:
        c.saveState()
        c.setStrokeColor(colors.Color(0.75, 0.78, 0.84))
        c.setLineWidth(0.5)
        c.line(margin, 12 * mm, page_w - margin, 12 * mm)
        c.setFont(sans, 7.5)
        c.setFillColor(colors.Color(0.4, 0.4, 0.45))
        c.drawString(margin, 8 * mm, title if page == 1 else f"{title}（续）")
        c.drawRightString(page_w - margin, 8 * mm, f"第 {page} 页 共 {pages} 页")
        c.restoreState()

    out = io.BytesIO()
    frame = Frame(margin, 16 * mm, width, page_h - margin - 16 * mm, leftPadding=0, rightPadding=0, topPadding=0, bottomPadding=0)
    doc = BaseDocTemplate(out, pagesize=A4, pageTemplates=[PageTemplate("report", [frame])], title=title, subject=subtitle,
                          author="examvault", invariant=True)  # fmt: skip
    doc.build(story, canvasmaker=numbered_canvas(footer))
    return out.getvalue()


def _module_text() -> str:
    """The characters of this module's literals (and comments): a superset of the report's fixed text."""
    return "".join(sorted(set(Path(__file__).read_text("utf-8")) - set("\t\r\n")))


def _image(image_class: Any, png: bytes, width: float, max_height: float | None = None) -> Any:
    from reportlab.lib.utils import ImageReader

    w, h = ImageReader(io.BytesIO(png)).getSize()
    scale = width / w
    if max_height is not None and h * scale > max_height:
        scale = max_height / h
    return image_class(io.BytesIO(png), width=w * scale, height=h * scale)


# ---------------------------------------------------------------------------------- xlsx


def render_xlsx(analysis: Analysis, *, title: str) -> bytes:
    """The report as a workbook: 概况, 题目, 标记, 选项, IRT and DIF (the last three when computed)."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    head_font = Font(bold=True, color="FFFFFF")
    head_fill = PatternFill("solid", fgColor="1F4D8C")
    flagged_fill = PatternFill("solid", fgColor="FCE4E0")
    key_fill = PatternFill("solid", fgColor="DEF2DE")
    bad_fill = PatternFill("solid", fgColor="FFEBCC")

    wb = Workbook()
    wb.properties.title = title
    wb.properties.creator = "examvault"

    def sheet(name: str, header: list[str], rows: list[list[Any]], widths: dict[int, float] | None = None, first: bool = False) -> Any:
        ws = wb.active if first else wb.create_sheet(name)
        ws.title = name
        ws.append(header)
        for c in ws[1]:
            c.font, c.fill = head_font, head_fill
            c.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        for r in rows:
            ws.append(r)
        for i in range(1, len(header) + 1):
            ws.column_dimensions[get_column_letter(i)].width = (widths or {}).get(i, 11)
        ws.freeze_panes = "B2"
        if rows:
            ws.auto_filter.ref = f"A1:{get_column_letter(len(header))}{len(rows) + 1}"
        return ws

    c = analysis.classical
    summary = [[k, v] for k, v in _summary_rows(analysis)]
    summary.insert(0, ["报告", title])
    summary += [["标记规则", _rules_text(analysis)], *[["说明", n] for n in analysis.notes]]
    ws = sheet("概况", ["项目", "数值"], summary, {1: 26, 2: 70}, first=True)
    ws.freeze_panes = None
    for row in ws.iter_rows(min_row=2, min_col=2, max_col=2):
        row[0].alignment = Alignment(wrap_text=True, vertical="top")
    try:
        from openpyxl.drawing.image import Image as XLImage

        picture = XLImage(io.BytesIO(histogram_png(analysis, _matplotlib())))
        picture.width, picture.height = picture.width * 0.42, picture.height * 0.42
        ws.add_image(picture, "D2")
    except ImportError:  # pragma: no cover - Pillow arrives with matplotlib
        pass

    def num(v: Any) -> Any:
        if v is None:
            return None
        x = float(v)
        return x if math.isfinite(x) else None

    item_rows = []
    for j, label in enumerate(analysis.labels):
        flags = analysis.flags_for(j)
        item_rows.append([label, num(analysis.max_points[j]), int(c.n[j]), int(c.n_omitted[j]), num(c.mean[j]), num(c.sd[j]), num(c.p[j]),
                          num(c.r_total[j]), num(c.r_rest[j]), num(c.upper_lower[j]) if c.upper_lower is not None else None,
                          num(c.alpha_if_deleted[j]), _flag_names(flags), "\n".join(f.message for f in flags)])  # fmt: skip
    ws = sheet("题目", ["题目", "满分", "人数", "未答", "平均分", "标准差", "难度 p", "题总 r", "校正 r", "D(27%)", "删后 α", "标记", "证据"],
               item_rows, {1: 14, 12: 18, 13: 90})  # fmt: skip
    for r, row in enumerate(item_rows, start=2):
        for cell in ws[r][4:11]:
            cell.number_format = "0.000"
        if row[11]:
            for cell in ws[r]:
                cell.fill = flagged_fill

    flag_rows = []
    for f in analysis.flags:
        flag_rows.append([analysis.labels[f.item], f.rule, RULE_NAMES.get(f.rule, f.rule), num(f.value), num(f.ci[0]), num(f.ci[1]),
                          num(f.threshold), f.n, f.message])  # fmt: skip
    sheet("标记", ["题目", "规则", "标记", "估计值", "区间下限", "区间上限", "阈值", "n", "说明"], flag_rows, {1: 14, 2: 22, 3: 14, 9: 100})

    option_rows = []
    kinds = []
    for j in sorted(analysis.options):
        o = analysis.options[j]
        for i, code in enumerate(o.codes):
            is_key = bool(code == o.key)
            option_rows.append([analysis.labels[j], analysis.option_label(int(code)), "✓" if is_key else "", int(o.counts[i]), num(o.share[i]),
                                num(o.share_upper[i]), num(o.share_lower[i]), num(o.r_rest[i]), num(o.mean_total[i])])  # fmt: skip
            kinds.append("key" if is_key else ("bad" if np.isfinite(o.r_rest[i]) and o.r_rest[i] > 0 else ""))
        option_rows.append([analysis.labels[j], "未答", "", o.omitted_count, num(o.omitted_share), None, None, None, None])
        kinds.append("")
    ws = sheet("选项", OPTION_HEADER, option_rows, {1: 14})
    for r, kind in enumerate(kinds, start=2):
        if kind:
            for cell in ws[r]:
                cell.fill = key_fill if kind == "key" else bad_fill

    if analysis.irt is not None:
        rows = []
        reference = analysis.fit_reference
        for i, row in enumerate(analysis.irt_rows()):
            def flat(v: Any) -> Any:
                return " / ".join(_f(x, 3) for x in v) if isinstance(v, list) else num(v)

            rows.append([row["item"], row["categories"], flat(row.get("a")), flat(row.get("se_a")), flat(row.get("d")), flat(row.get("se_d")),
                         flat(row.get("b", row.get("difficulty"))), flat(row.get("se_b", row.get("se_difficulty"))), num(row.get("infit")),
                         num(row.get("outfit")), num(reference[0][i]) if reference else None, num(reference[2][i]) if reference else None])  # fmt: skip
        ws = sheet("IRT", ["题目", "等级数", "区分度 a", "a 标准误", "截距 d", "d 标准误", "难度 b", "b 标准误", "Infit", "Outfit", "期望 Infit", "期望 Outfit"],
                   rows, {1: 14})  # fmt: skip
        fit = analysis.irt
        ws.append([])
        ws.append(["模型", MODEL_NAMES.get(analysis.irt_model or fit.model, fit.model)])
        ws.append(["对数似然", fit.loglik])
        ws.append(["能力方差", fit.latent_variance])
        ws.append(["收敛", "是" if fit.converged else "否"])

    if analysis.dif:
        rows = [[r[0], *[num(v) if v not in ("—", "") else None for v in r[1:6]], r[6], r[7]] for r in _dif_rows(analysis)]
        ws = sheet("DIF", DIF_HEADER, rows, {1: 14, 8: 16})
        ws.append([])
        ws.append(["焦点组", analysis.dif_focal])
        ws.append(["参照组", "、".join(analysis.dif_reference)])

    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def write_report(analysis: Analysis, path: Path, *, title: str, subtitle: str = "") -> None:
    """Render by the file's suffix (.pdf or .xlsx) and write it whole (a temporary file, then a rename)."""
    suffix = path.suffix.lower()
    if suffix == ".pdf":
        data = render_pdf(analysis, title=title, subtitle=subtitle)
    elif suffix == ".xlsx":
        data = render_xlsx(analysis, title=title)
    else:
        raise ValidationError(f"{path}: the report is .pdf or .xlsx, not {suffix or 'no suffix'}")
    partial = path.with_name(path.name + ".partial")
    try:
        partial.write_bytes(data)
        partial.replace(path)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise ValidationError(f"cannot write {path}: {exc.strerror or exc}") from None
