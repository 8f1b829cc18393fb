"""Demo: item statistics. The released level-3 sitting is fed back into the bank (`stats update`): per
item p, discrimination and the running sums, the paper's alpha and SEM, and the custodian's PDF and
xlsx report. The sitting is small, so no flag can fire (a flag needs n ≥ 100 and a confidence
interval clear of its cut); the standalone analysis (`stats analyze`) then shows the flags, the 2PL
and the ICCs on a simulated computer-based export of 1,200 candidates with four planted faults."""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path

import numpy as np
from rich.console import Console
from sqlalchemy import select

from examvault.bank import Bank
from examvault.errors import ExamvaultError
from examvault.itembank.models import Item
from examvault.stats.files import analyze_file
from examvault.stats.models import ItemStatistic
from examvault.stats.report import render_pdf
from examvault.stats.service import item_history, update_paper

LETTERS = "ABCD"
PLANTED = {"Q07": "miskeyed: the able choose B", "Q12": "too easy", "Q23": "negative discrimination", "Q31": "DIF against 企业职工"}


def _simulated_export(directory: Path, rng: np.random.Generator, n: int = 1200, k: int = 40) -> tuple[Path, Path]:
    """A 2PL world: abilities, slopes and difficulties drawn; four items made faulty on purpose."""
    theta = rng.normal(size=n)
    group = np.where(rng.random(n) < 0.5, "院校学生", "企业职工")
    a, b = rng.uniform(0.8, 2.0, k), rng.normal(0, 0.8, k)
    labels = [f"Q{j + 1:02d}" for j in range(k)]
    key = [LETTERS[j % 4] for j in range(k)]
    logit = a * (theta[:, None] - b)
    logit[:, labels.index("Q12")] = 6.0
    logit[:, labels.index("Q23")] = -1.5 * theta
    logit[group == "企业职工", labels.index("Q31")] -= 1.6
    right = rng.random((n, k)) < 1 / (1 + np.exp(-logit))
    wrong = rng.integers(1, 4, size=(n, k))
    chosen = np.array([[LETTERS[(LETTERS.index(key[j]) + (0 if right[i, j] else wrong[i, j])) % 4] for j in range(k)] for i in range(n)])
    q7 = labels.index("Q07")
    able = theta > 0
    chosen[able, q7] = "B" if key[q7] != "B" else "C"
    data, keys = directory / "模拟机考作答.csv", directory / "模拟机考答案.csv"
    with data.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["考生来源", *labels])
        w.writerows([g, *row] for g, row in zip(group, chosen, strict=True))
    with keys.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["item", "key"])
        w.writerows(zip(labels, key, strict=True))
    return data, keys


def run_stats_stage(bank: Callable[[str], Bank], directory: Path, console: Console, step: int, papers: list[str]) -> int:
    custodian = bank("custodian")
    out = directory / "stats"
    for code in papers:
        r = update_paper(custodian, code, report=out)
        console.print(f"{step}. stats update --paper {code}: {r['candidates']} candidates of {', '.join(r['sessions'])}; alpha {r['alpha']:.3f}, "
                      f"SEM {r['sem']:.2f}; p, discrimination and running sums written into the bank; flagged: {len(r['flagged'])} "
                      f"→ stats/{Path(r['files'][0]).name}, .xlsx", markup=False)  # fmt: skip
        for note in r["notes"]:
            console.print(f"   {note}", markup=False)
    try:  # the same sessions again: each is counted once
        update_paper(custodian, papers[0])
    except ExamvaultError as exc:
        console.print(f"   again: {exc}", markup=False)
    with custodian.transaction() as s:
        code = s.scalars(select(Item.code).join(ItemStatistic, ItemStatistic.item_id == Item.id).order_by(ItemStatistic.id).limit(1)).one()
    h = item_history(custodian, code)
    console.print(f"   stats show {code}: p {h['p']:.3f}, r {h['r_rest'] if h['r_rest'] is None else round(h['r_rest'], 3)}, "
                  f"n {h['n']}, used {h['exposure']}×", markup=False)  # fmt: skip

    data, keys = _simulated_export(out, np.random.default_rng(2026))
    analysis = analyze_file(data, key=keys, irt="2pl", group="考生来源", focal="企业职工")
    flagged = sorted({analysis.labels[f.item] for f in analysis.flags})
    pdf = out / "模拟机考_质量分析.pdf"
    pdf.write_bytes(render_pdf(analysis, title="模拟机考 试卷质量分析报告", subtitle="示范数据：1,200 名考生，40 题，其中 4 题有意设置缺陷"))
    console.print(f"{step + 1}. stats analyze stats/{data.name} --key {keys.name} --2pl --group 考生来源 (a simulated export of 1,200 "
                  f"candidates, 4 faults planted: {', '.join(f'{k} {v}' for k, v in PLANTED.items())}): alpha {analysis.classical.alpha:.3f}; "
                  f"flagged {', '.join(flagged)} → stats/{pdf.name} with the ICCs of the flagged items", markup=False)  # fmt: skip
    for f in analysis.flags:
        console.print(f"   {analysis.labels[f.item]} {f.rule}: {f.message}", markup=False)
    custodian.close()
    return step + 2
