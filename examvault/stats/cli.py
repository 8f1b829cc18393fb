"""`examvault stats …`: item analysis. `stats analyze` works on a file and needs no bank.

The group object `stats_group` is what examvault/cli.py registers; commands that work on the
bank's own responses add themselves to it from their own modules.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from examvault.cli import emit_json, err, table
from examvault.errors import ValidationError


@click.group("stats")
def stats_group() -> None:
    """Item statistics: classical, distractors, IRT, DIF, and flags with their evidence."""


def _thresholds(pairs: tuple[str, ...], min_n: int | None, confidence: float | None) -> Any:
    from dataclasses import fields, replace

    from examvault.stats.flags import FlagThresholds

    cuts = FlagThresholds()
    names = {f.name for f in fields(FlagThresholds)}
    aliases = {"r_drop_low": "r_rest_low", "r_drop_negative": "r_rest_negative"}
    changes: dict[str, Any] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        name = aliases.get(name.strip(), name.strip())
        if not sep or name not in names:
            raise ValidationError(f"--threshold {pair!r}: expected NAME=VALUE with NAME one of {', '.join(sorted(names - {'min_n', 'confidence'}))}")
        try:
            changes[name] = int(value) if name == "min_n" else float(value)
        except ValueError:
            raise ValidationError(f"--threshold {pair!r}: {value!r} is not a number") from None
    if min_n is not None:
        changes["min_n"] = min_n
    if confidence is not None:
        changes["confidence"] = confidence
    if not 0 < changes.get("confidence", cuts.confidence) < 1:
        raise ValidationError("--confidence must lie between 0 and 1, e.g. 0.95")
    return replace(cuts, **changes)


def _fmt(value: float | None, digits: int = 3) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


@stats_group.command("analyze")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--key", "key_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Answer key: the file holds raw options. Rows item,key, or one row of keys in item order.")  # fmt: skip
@click.option("--max-points", metavar="N|FILE", help="Points per item: one number, or a CSV item,max_points (default 1).")
@click.option("--score-step", type=float, help="Score grid of the items worth more than 1 point, e.g. 0.5 for half points (default 1).")
@click.option("--missing-code", help="The code of an omitted answer among raw options, e.g. 8 (empty cells are omitted too).")
@click.option("--missing", type=click.Choice(["wrong", "pairwise"]), default="wrong", show_default=True,
              help="An omitted answer scores 0 (wrong), or is left out of the item's statistics (pairwise).")  # fmt: skip
@click.option("--rasch", "irt", flag_value="rasch", help="Fit the Rasch model (partial credit for polytomous items).")
@click.option("--2pl", "irt", flag_value="2pl", help="Fit the 2PL model (generalised partial credit for polytomous items).")
@click.option("--force-irt", is_flag=True, help="Fit IRT even below the minimum n of the flags.")
@click.option("--group", "group", metavar="COL", help="A grouping column (not an item) for Mantel–Haenszel DIF.")
@click.option("--focal", metavar="VALUE", help="The focal group's value (default: the second distinct value in sorted order).")
@click.option("--id", "ignore", multiple=True, metavar="COL", help="A column that is not an item, e.g. 准考证号 (repeatable).")
@click.option("--min-n", type=click.IntRange(1), help="Responses an item needs before it can be flagged (default 100).")
@click.option("--confidence", type=float, help="Confidence of the flags' intervals (default 0.95).")
@click.option("--threshold", "threshold_pairs", multiple=True, metavar="NAME=VALUE",
              help="Another cut: p_low, p_high, r_drop_low, r_drop_negative, msq_low, msq_high (repeatable).")  # fmt: skip
@click.option("--encoding", help="CSV encoding if not UTF-8, e.g. gb18030.")
@click.option("--title", help="The report's title (default: 试题分析报告 and the file name).")
@click.option("--subtitle", default="", help="A line under the report's title, e.g. the exam and its date.")
@click.option("--out", "out_path", type=click.Path(dir_okay=False, path_type=Path), help="Write a report: .pdf or .xlsx.")
@click.option("--json", "as_json", is_flag=True, help="Print the analysis as one JSON document.")
def stats_analyze(file: Path, key_file: Path | None, max_points: str | None, score_step: float | None, missing_code: str | None,
                  missing: str, irt: str | None, force_irt: bool, group: str | None, focal: str | None, ignore: tuple[str, ...],
                  min_n: int | None, confidence: float | None, threshold_pairs: tuple[str, ...], encoding: str | None,
                  title: str | None, subtitle: str, out_path: Path | None, as_json: bool) -> None:  # fmt: skip
    """Analyse FILE.csv: rows are candidates, columns items; item scores, or raw options with --key.

    Classical statistics (p, item-total and corrected r, 27 % index, alpha if deleted, alpha, SEM),
    distractors (with --key), Rasch or 2PL (--rasch/--2pl), DIF (--group), and flags with their
    evidence. See docs/stats.md.
    """
    from examvault.stats.files import analyze_file

    if out_path is not None and out_path.suffix.lower() not in (".pdf", ".xlsx"):
        raise ValidationError(f"--out {out_path}: the report is .pdf or .xlsx")
    cuts = _thresholds(threshold_pairs, min_n, confidence)
    analysis = analyze_file(file, key=key_file, max_points=max_points, score_step=score_step, missing_code=missing_code, missing=missing,
                            irt=irt, force_irt=force_irt, group=group, focal=focal, ignore=ignore, thresholds=cuts,  # type: ignore[arg-type]
                            encoding=encoding)  # fmt: skip
    if out_path is not None:
        from examvault.stats.report import write_report

        write_report(analysis, out_path, title=title or f"试题分析报告：{file.stem}", subtitle=subtitle)
        err.print(f"report written: {out_path}", markup=False)
    if as_json:
        return emit_json(analysis.to_json())
    if out_path is not None:
        return
    doc = analysis.to_json()
    err.print(f"{doc['n_candidates']} candidates, {doc['n_items']} items; alpha {_fmt(doc['alpha'])}, SEM {_fmt(doc['sem'], 2)}; "
              f"{len(analysis.flagged_items)} items flagged", markup=False)  # fmt: skip
    irt_by_item = {row["item"]: row for row in (doc["irt"] or {}).get("items", [])}
    rows = []
    for entry in doc["items"]:
        fit = irt_by_item.get(entry["item"], {})
        param = fit.get("difficulty", fit.get("a"))
        rows.append([entry["item"], entry["n"], _fmt(entry["p"]), _fmt(entry["r_drop"]), _fmt(entry["ul_index"]),
                     _fmt(entry["alpha_if_deleted"]), entry.get("key", ""), _fmt(param if isinstance(param, float) else None, 2),
                     ", ".join(f["rule"] for f in entry["flags"])])  # fmt: skip
    irt_column = {"rasch": "b (Rasch)", "pcm": "b (PCM)", "2pl": "a (2PL)", "gpcm": "a (GPCM)"}.get((doc["irt"] or {}).get("model", ""), "IRT")
    table(["item", "n", "p", "r drop", "D 27%", "alpha-del", "key", irt_column, "flags"], rows)
    for f in analysis.flags:
        err.print(f"flag {f.rule}: {f.message}", markup=False)
    for note in analysis.notes:
        err.print(f"note: {note}", markup=False)
