"""From the bank to a score matrix: one paper's scored responses, opened, as item × candidate points
and the options chosen, in the bank's terms (item ids and the bank's option letters).

Scoring sealed each candidate's detail under the `marking` key: per numbered objective item its
position, points and the options chosen (already mapped back through the form's shuffle to the
bank's letters), and after unmasking the blind-marked points of each subjective item. Only
sessions whose results are released are read: statistics describe final scores.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from examvault.assembly.models import Paper, PaperItem
from examvault.crypto.keyring import Keyring
from examvault.crypto.records import open_fields, row_of
from examvault.errors import ConflictError, NotFoundError
from examvault.itembank.domain import OPTION_LETTERS
from examvault.itembank.models import Item
from examvault.registration.models import ExamSession
from examvault.scoring import objective as O
from examvault.scoring.keys import current_key
from examvault.scoring.models import SCORED_RESPONSE, Publicity, ScoredResponse
from examvault.scoring.violations import effects


@dataclass
class PaperData:
    """One paper's released responses as matrices, columns in paper order (numbered items only)."""

    paper: str
    sessions: list[str]
    item_ids: list[uuid.UUID]
    versions: list[int]
    positions: list[int]
    labels: list[str]  # the bank's item codes
    types: list[str]
    max_points: np.ndarray  # (k,)
    scores: np.ndarray  # (n, k) points; NaN where the item's score is not on record (not presented)
    choices: np.ndarray  # (n, k) 1-based option code of a 单选 answer in the bank's letters; 0 omitted; -1 not a 单选 column
    key: np.ndarray  # (k,) the 单选 key as a 1-based code in the bank's letters; 0 elsewhere

    @property
    def single_choice(self) -> list[int]:
        return [j for j, t in enumerate(self.types) if t == "单选"]


STEPS = (1.0, 0.5, 0.25, 1 / 3, 1 / 6, 1 / 12, 0.1, 0.05, 0.01)  # the grids scores land on, coarsest first


def score_steps(scores: np.ndarray, max_points: np.ndarray) -> np.ndarray:
    """Per column, the coarsest grid every score and the maximum lie on: a 0.5-point 判断 is 0 or 0.5;
    blind-marked items move in half points (or quarters, as the mean of two); 填空 in fractions of
    its blanks (stored to two decimals, so 0.01 at worst)."""
    out = np.empty(scores.shape[1])
    for j in range(scores.shape[1]):
        seen = np.unique(scores[:, j][~np.isnan(scores[:, j])])
        top = float(max_points[j])
        if seen.size and np.all(np.isin(seen, (0.0, top))) and top < 1:
            out[j] = top
            continue
        for step in STEPS:
            grid = np.append(seen, top) / step
            if step <= top and np.all(np.abs(grid - np.rint(grid)) < 1e-6):
                out[j] = step
                break
        else:
            out[j] = 0.01
    return out


def released_sessions(session: Session, paper: str, exclude: Iterable[str] = ()) -> list[ExamSession]:
    """The sessions that used `paper`, whose results are released and not analysed before."""
    skip = set(exclude)
    q = (select(ExamSession).join(Publicity, Publicity.session_id == ExamSession.id)
         .where(Publicity.released_at.is_not(None)).order_by(ExamSession.exam_date, ExamSession.code))  # fmt: skip
    return [e for e in session.scalars(q) if paper in e.papers.split(",") and e.code not in skip]


def paper_data(session: Session, keyring: Keyring, paper_code: str, sessions: list[ExamSession]) -> PaperData:
    """Open the paper's scored responses of `sessions` into matrices. Refused when there are none."""
    paper = session.scalars(select(Paper).where(Paper.code == paper_code)).first()
    if paper is None:
        raise NotFoundError(f"no paper {paper_code}")
    entries = [e for e in paper.entries if e.item_id is not None and e.type != "组合"]
    column = {e.position: j for j, e in enumerate(entries)}
    codes = dict(session.execute(select(Item.id, Item.code).where(Item.id.in_([e.item_id for e in entries]))).all())
    rows = list(session.scalars(select(ScoredResponse).where(
        ScoredResponse.paper == paper_code, ScoredResponse.session_id.in_([s.id for s in sessions])).order_by(ScoredResponse.id)))  # fmt: skip
    # A voided theory paper or a cancelled sitting is not evidence about the items (copied answers, a stand-in).
    excluded = {cid for exam in sessions for cid, e in effects(session, exam).items() if e.status or "theory" in e.void_parts}
    rows = [r for r in rows if r.candidate_id not in excluded]
    if not rows:
        raise ConflictError(f"no scored responses to {paper_code} in {', '.join(s.code for s in sessions) or 'any released session'}")
    n, k = len(rows), len(entries)
    scores = np.full((n, k), np.nan)
    choices = np.full((n, k), -1, dtype=np.int16)
    single = np.array([e.type == "单选" for e in entries])
    choices[:, single] = 0
    for i, r in enumerate(rows):
        detail = json.loads(open_fields(keyring, SCORED_RESPONSE, row_of(SCORED_RESPONSE, r))["detail"] or b"{}")
        for pos, pts, chosen in zip(detail["positions"], detail["points"], detail["bank_choices"], strict=True):
            j = column.get(int(pos))
            if j is None:
                continue
            scores[i, j] = float(pts)
            if single[j] and chosen:
                choices[i, j] = OPTION_LETTERS.index(chosen[0]) + 1
        for entry in detail.get("subjective", []):
            j = column.get(int(entry["position"]))
            if j is not None:
                scores[i, j] = float(entry["points"])
    return PaperData(paper_code, [s.code for s in sessions], [e.item_id for e in entries], [int(e.version or 1) for e in entries],  # type: ignore[misc]
                     [e.position for e in entries], [codes[e.item_id] for e in entries], [e.type for e in entries],
                     np.array([float(e.points) for e in entries]), scores, choices, _bank_key(session, keyring, paper_code, entries))  # fmt: skip


def _bank_key(session: Session, keyring: Keyring, paper_code: str, entries: list[PaperItem]) -> np.ndarray:
    """The 单选 key in the bank's letters, from the imported marking key (as printed on the form) and the
    form's option shuffle — the same mapping scoring applied to the answers; no item content is opened."""
    key = np.zeros(len(entries), dtype=np.int16)
    try:
        _, marking = current_key(session, keyring, paper_code)
    except NotFoundError:
        return key
    printed = {int(i["position"]): i for i in marking.get("items", [])}
    for j, e in enumerate(entries):
        entry: dict[str, Any] | None = printed.get(e.position)
        if e.type != "单选" or entry is None or not entry.get("answer"):
            continue
        mask = 1 << OPTION_LETTERS.index(str(entry["answer"])[0])
        bank_mask = int(O.to_bank_letters(mask, e.option_seed, int(entry.get("options") or 4)))
        key[j] = bank_mask.bit_length()  # one bit set: its 1-based letter
    return key
