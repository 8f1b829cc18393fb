"""Importing objective responses — a computer-based exam's export or an answer-sheet reader's csv —
and scoring them against the form's marking key on import.

Columns: 准考证号, 卷别, then 1…N, the answers by position on that form. The whole file is refused
on any bad row, each problem named by row and column: an unknown ticket, a candidate who does not
sit the theory part here, a form the session has no key for, an answer that is not an option, a
candidate twice in the file or already scored. Scores already registered never change.

Each candidate's answers, points per item and the options chosen — mapped back through the form's
option shuffle to the bank's letters, for item statistics — are sealed under the `marking` key.
"""

from __future__ import annotations

import json
import uuid
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from examvault.accounts.service import audit
from examvault.assembly.models import Paper, PaperItem
from examvault.bank import Bank
from examvault.crypto.records import seal_fields
from examvault.errors import NOTHING_IMPORTED, Issue, ValidationError
from examvault.itembank.domain import CHOICE_TYPES, OBJECTIVE_TYPES, OPTION_LETTERS
from examvault.registration.models import Attendance, Candidate, ExamSession, Seat
from examvault.registration.service import get_session
from examvault.scoring import objective as O
from examvault.scoring.keys import current_key
from examvault.scoring.models import SCORED_RESPONSE, ScoredResponse

MAX_ITEMS = 400


def _fields(n: int) -> dict[str, tuple[str, ...]]:
    return {"ticket": ("准考证号", "ticket"), "form": ("卷别", "form"), **{str(k): (str(k),) for k in range(1, n + 1)}}


def _letters(mask: int) -> str:
    return "".join(OPTION_LETTERS[k] for k in range(len(OPTION_LETTERS)) if mask >> k & 1)


@dataclass(frozen=True)
class TheoryRoll:
    """Who may hand in theory work in a session — an answer sheet or a sealed booklet: seated for
    the theory part and not recorded absent or refused at the door."""

    session_code: str
    by_ticket: dict[str, Candidate]
    seated: frozenset[uuid.UUID]
    kept_out: frozenset[uuid.UUID]

    @classmethod
    def of(cls, session: Session, exam: ExamSession) -> TheoryRoll:
        seated = session.scalars(select(Seat.candidate_id).where(Seat.session_id == exam.id, Seat.part == "theory"))
        kept_out = session.scalars(select(Attendance.candidate_id).where(
            Attendance.session_id == exam.id, Attendance.part == "theory", Attendance.status.in_(("absent", "refused"))))  # fmt: skip
        return cls(exam.code, {c.ticket: c for c in session.scalars(select(Candidate).where(Candidate.session_id == exam.id))},
                   frozenset(seated), frozenset(kept_out))  # fmt: skip

    def check(self, ticket: str) -> tuple[Candidate | None, str]:
        """The candidate of `ticket`, and why they cannot have handed in theory work ("" when they can)."""
        cand = self.by_ticket.get(ticket)
        if cand is None:
            return None, f"no ticket {ticket!r} in session {self.session_code}"
        if cand.id not in self.seated:
            return cand, "this candidate does not sit the theory part in this session"
        if cand.id in self.kept_out:
            return cand, "this candidate was recorded absent or refused entry at the door"
        return cand, ""


def multi_rule(items: list[dict[str, Any]]) -> O.MultiRule:
    """The paper's 多选 rule, as its blueprint chose it: all or nothing, or partial credit (a `partial` fraction on the key)."""
    fractions = {float(i["partial"]) for i in items if i["type"] == "多选" and i.get("partial")}
    return O.MultiRule("partial", fractions.pop()) if len(fractions) == 1 else O.MultiRule()


def import_responses(bank: Bank, session_code: str, path: Path, *, source: str = "omr", encoding: str | None = None) -> dict[str, Any]:
    from examvault.itembank.formats.tabular import read_table

    if source not in ("cbt", "omr"):
        raise ValidationError("--source is cbt (a computer-based exam's export) or omr (an answer-sheet reader)")
    raws = read_table(path, _fields(MAX_ITEMS), ("ticket", "form"), encoding=encoding, list_key="responses")
    file = path.name
    with bank.transaction(write=True) as session:
        actor = bank.actor(session, "scoring.responses")
        keyring = bank.keyring(session)
        exam = get_session(session, session_code, lock=True)
        papers = {p.form: p for p in session.scalars(select(Paper).where(Paper.code.in_([c for c in exam.papers.split(",") if c])))}
        roll = TheoryRoll.of(session, exam)
        done = set(session.scalars(select(ScoredResponse.candidate_id).where(ScoredResponse.session_id == exam.id)))
        keys: dict[str, tuple[Any, list[dict[str, Any]]]] = {}
        issues: list[Issue] = []
        by_form: dict[str, list[tuple[Any, Candidate]]] = defaultdict(list)
        seen: dict[str, str] = {}
        for raw in raws:
            problems = []
            ticket, form = raw.get("ticket"), raw.get("form").upper()
            cand, why = roll.check(ticket)
            if why:
                problems.append(("ticket", why))
            elif cand.id in done:  # type: ignore[union-attr]
                problems.append(("ticket", "this candidate's answers are already scored"))
            elif ticket in seen:
                problems.append(("ticket", f"the candidate appears twice (first on {seen[ticket]})"))
            seen.setdefault(ticket, raw.location)
            if form not in papers:
                problems.append(("form", f"form {form!r} is not one of this session's ({', '.join(sorted(papers)) or 'none'})"))
            elif form not in keys:
                row, key = current_key(session, keyring, papers[form].code)
                # Subjective items are written in the answer booklet and marked blind (marking.py), not read from the sheet.
                keys[form] = (row, sorted((i for i in key["items"] if i["type"] in OBJECTIVE_TYPES), key=lambda i: i["number"]))
            if form in keys:
                numbers = {int(i["number"]) for i in keys[form][1]}
                extra = [k for k in range(1, MAX_ITEMS + 1) if k not in numbers and raw.get(str(k))]
                if extra:
                    why = "is beyond them" if extra[0] > max(numbers, default=0) else "is a subjective item, marked blind from the booklet"
                    problems.append((str(extra[0]), f"form {form} has {len(numbers)} objective items; column {extra[0]} {why}"))
            issues += [Issue(file, raw.location, raw.column(f), m) for f, m in problems]
            if not problems:
                by_form[form].append((raw, cand))
        scored: list[tuple[Candidate, dict[str, Any], float, uuid.UUID]] = []
        for form, rows in by_form.items():
            key_row, items = keys[form]
            key = [O.KeyItem(int(i["number"]), i["type"], float(i["points"]), str(i["answer"]),
                             int(i.get("options") or len(OPTION_LETTERS)) if i["type"] in CHOICE_TYPES else 0) for i in items]  # fmt: skip
            text = np.array([[raw.get(str(i["number"])) for i in items] for raw, _ in rows], dtype=str).reshape(len(rows), len(items))
            try:
                result = O.score(key, text, multi_rule=multi_rule(items))
            except O.ResponseError as exc:
                for p in exc.problems:
                    raw = rows[p.row][0]
                    issues.append(Issue(file, raw.location, raw.column(str(p.number)), p.message
                                        + (f" ({p.count - 1} more rows give the same answer)" if p.count > 1 else "")))  # fmt: skip
                continue
            seeds = dict(session.execute(select(PaperItem.position, PaperItem.option_seed).where(PaperItem.paper_id == papers[form].id)).all())
            bank_masks = O.to_bank_letters(result.chosen, [seeds.get(int(i["position"])) for i in items], [k.n_options for k in key])
            for n, (_, cand) in enumerate(rows):
                detail = {"paper": papers[form].code, "numbers": [int(i["number"]) for i in items],
                          "positions": [int(i["position"]) for i in items], "answers": text[n].tolist(),
                          "points": [round(float(x), 2) for x in result.points[n]],
                          "bank_choices": [_letters(int(m)) if k.type in CHOICE_TYPES else "" for m, k in zip(bank_masks[n], key, strict=True)]}  # fmt: skip
                scored.append((cand, detail, float(result.total[n]), key_row.id))
        if issues:
            raise ValidationError(issues, outcome=NOTHING_IMPORTED)
        counts: dict[str, int] = defaultdict(int)
        for cand, detail, total, key_id in scored:
            rid = uuid.uuid4()
            session.add(ScoredResponse(id=rid, session_id=exam.id, candidate_id=cand.id, paper=detail["paper"], key_id=key_id, source=source,
                                       objective=round(total, 2), imported_by=actor.username,
                                       **seal_fields(keyring, SCORED_RESPONSE, str(rid), 1, {"detail": json.dumps(detail).encode()})))  # fmt: skip
            counts[detail["paper"]] += 1
        audit(session, actor, "scoring.responses.import", "exam_session", session_code, file=file, source=source, candidates=len(scored))
        mean = sum(t for _, _, t, _ in scored) / len(scored) if scored else 0.0
        return {"session": session_code, "candidates": len(scored), "forms": dict(counts), "mean": mean}
