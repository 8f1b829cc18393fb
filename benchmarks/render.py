"""Rendering performance (issue 4): a 200-item paper to PDF, and two forms' papers and keys.

    python benchmarks/render.py [--runs 5]

Synthetic content (random Chinese stems and options, as long as real ones), laid out by
the same renderers `examvault paper render` uses. Reported as medians with min–max; the
first render of a process also parses the CJK font files, so it is shown apart.
Target: a 200-item paper to PDF ≤ 2 s; paper, answer sheet and key for two forms ≤ 8 s
(measured here with the DOCX paper and key as well).
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from bench_itembank import CHARS  # noqa: E402

from examvault.export.answer_sheet import render_answer_sheet  # noqa: E402
from examvault.export.document import DocItem, DocSection, PaperDocument  # noqa: E402
from examvault.export.paper_docx import render_key_docx, render_paper_docx  # noqa: E402
from examvault.export.paper_pdf import render_key_pdf, render_paper_pdf  # noqa: E402


def synthetic(form: str, seed: int) -> PaperDocument:
    rng = random.Random(seed)

    def text(lo: int, hi: int) -> str:
        return "".join(rng.choice(CHARS) for _ in range(rng.randint(lo, hi)))

    spec = [("一、判断题", "判断", 60, 0.5, "将判断结果填入括号中。正确的填“√”，错误的填“×”。每题0.5分，满分30分。"),
            ("二、单项选择题", "单选", 120, 0.5, "选择一个正确的答案，将相应的字母填入题内的括号中。每题0.5分，满分60分。"),
            ("三、多项选择题", "多选", 20, 0.5, "选择正确的答案，将相应的字母填入题内的括号中。每题0.5分，满分10分。")]  # fmt: skip
    sections, n = [], 0
    for title, kind, count, points, rule in spec:
        items = []
        for _ in range(count):
            n += 1
            options = [] if kind == "判断" else [text(3, 14) for _ in range(4 if kind == "单选" else 5)]
            answer = rng.choice("√×") if kind == "判断" else rng.choice("ABCD") if kind == "单选" else "ACE"
            items.append(DocItem(n, n, kind, points, text(25, 70) + ("。" if kind == "判断" else "（　）。"), options, answer=answer))
        sections.append(DocSection(title, kind, rule, count * points, points, items))
    return PaperDocument("电工", "6-31-01-03", 3, form, f"P2026-9999-{form}", 90, 100, sections, draft=False)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    docs = [synthetic("A", 1), synthetic("B", 2)]
    t = time.perf_counter()
    render_paper_pdf(docs[0])
    cold = time.perf_counter() - t
    one, both = [], []
    for _ in range(args.runs):
        t = time.perf_counter()
        render_paper_pdf(docs[0])
        one.append(time.perf_counter() - t)
        t = time.perf_counter()
        for d in docs:
            render_paper_pdf(d), render_key_pdf(d), render_answer_sheet(d), render_paper_docx(d), render_key_docx(d)
        both.append(time.perf_counter() - t)

    def fig(v: list[float]) -> str:
        return f"median {statistics.median(v):.2f} s (min {min(v):.2f}, max {max(v):.2f})"

    print(f"200-item paper → PDF: {fig(one)}; first in the process (font files parsed): {cold:.2f} s   target ≤ 2 s")
    print(f"two forms, paper + answer sheet + key (PDF), paper + key (DOCX): {fig(both)}   target ≤ 8 s")


if __name__ == "__main__":
    main()
