"""Blind double marking of subjective items (主观题双评): sealed scripts, markers per item, signed
marks per marking point with their history, arbitration, 统分 and 复核, then unmasking.

The institution's rules, enforced here:
- markers apply the key's marking points (评分要点): a mark is entered point by point, each within
  its points, in half points;
- every mark and every change is signed by the marker's own Ed25519 key (registered as an
  `examiner` party under the marker's user name) and time-stamped; a change is a new signed entry
  that supersedes the old one and says why;
- two markers mark each script's item independently; when their totals differ by more than the
  item's threshold (a fraction of its points, 20 % by default) a third marker marks it: the third
  mark and the nearer of the first two are averaged if they agree within the threshold, and
  otherwise the group leader (题组长) decides, as the leader may for any disputed item;
- the totaller (统分人) is never the checker (复核人);
- the seal is not opened: a script is known by its 密封号 alone, the candidate behind it is sealed
  under the `marking` key, and only `unmask` — after every script's marks are registered,
  totalled and checked — reads the mapping and joins the subjective totals to the candidates.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from examvault.accounts.models import User
from examvault.accounts.service import audit, get_user
from examvault.assembly.models import Paper
from examvault.bank import Bank
from examvault.crypto.parties import party
from examvault.crypto.records import open_fields, row_of, seal_fields
from examvault.crypto.signing import SigningKey, VerifyKey, canonical_json
from examvault.db import BEIJING, utcnow
from examvault.errors import (
    NOTHING_IMPORTED,
    ConflictError,
    Issue,
    NotFoundError,
    PermissionDenied,
    ValidationError,
)
from examvault.itembank.domain import is_subjective
from examvault.registration.models import Candidate, ExamSession
from examvault.registration.service import get_session
from examvault.scoring.keys import current_key
from examvault.scoring.models import (
    SCORED_RESPONSE,
    SCRIPT,
    Mark,
    MarkingItem,
    MarkingSignoff,
    ScoredResponse,
    Script,
)
from examvault.scoring.responses import TheoryRoll

DEFAULT_THRESHOLD = 0.2  # of the item's points: two marks further apart than this go to arbitration
SEAL_CODE = re.compile(r"[0-9A-Z]{4,16}\Z")
SEAL_FIELDS = {"ticket": ("准考证号", "ticket"), "form": ("卷别", "form"), "code": ("密封号", "seal", "code")}
ROLE_LABELS = {"first": "一评", "second": "二评", "third": "三评", "leader": "组长裁定"}


# ---------------------------------------------------------------- settling one item of one script (pure)


@dataclass(frozen=True)
class Settled:
    """Where one item of one script stands: `needs` is who marks next (first, second, third, leader) or
    None when the score is final; `how` says how the final score was reached."""

    needs: str | None
    score: float | None = None
    how: str = ""


def threshold_points(points: float, fraction: float) -> Decimal:
    return Decimal(str(points)) * Decimal(str(fraction))


def settle(marks: dict[str, float], points: float, fraction: float) -> Settled:
    """The item's score from its current marks by role. Marks differing by more than the threshold
    disagree; exactly the threshold apart they agree."""
    limit = threshold_points(points, fraction)

    def apart(a: float, b: float) -> Decimal:
        return abs(Decimal(str(a)) - Decimal(str(b)))

    if "leader" in marks:
        return Settled(None, marks["leader"], "组长裁定")
    for role in ("first", "second"):
        if role not in marks:
            return Settled(role)
    first, second = marks["first"], marks["second"]
    if apart(first, second) <= limit:
        return Settled(None, (first + second) / 2, "两评平均")
    if "third" not in marks:
        return Settled("third")
    third = marks["third"]
    d1, d2 = apart(third, first), apart(third, second)
    if d1 == d2:  # equally near both: the three marks' mean, if the third agrees with either
        return Settled(None, (first + second + third) / 3, "三评平均") if d1 <= limit else Settled("leader")
    nearer = first if d1 < d2 else second
    if min(d1, d2) <= limit:
        return Settled(None, (third + nearer) / 2, "三评与相近一评平均")
    return Settled("leader")


# ---------------------------------------------------------------- helpers


def _script(session: Session, exam: ExamSession, code: str) -> Script:
    script = session.scalars(select(Script).where(Script.session_id == exam.id, Script.code == code)).first()
    if script is None:
        raise NotFoundError(f"no script with 密封号 {code} in session {exam.code}")
    return script


def _items(session: Session, exam: ExamSession) -> dict[tuple[str, int], MarkingItem]:
    return {(i.paper, i.number): i for i in session.scalars(select(MarkingItem).where(MarkingItem.session_id == exam.id))}


def _active(session: Session, *, exam: ExamSession | None = None, script_id: uuid.UUID | None = None,
            full: bool = False) -> dict[tuple[uuid.UUID, int], list[Any]]:  # fmt: skip
    """The current (not superseded) marks of one script or of a whole session, by script and item.
    Without `full`, light rows (script_id, number, marker, role, total): settling needs no more, and
    a session's marks are many."""
    cols = (Mark,) if full else (Mark.script_id, Mark.number, Mark.marker, Mark.role, Mark.total)
    q = select(*cols).where(Mark.superseded_by.is_(None))
    if script_id is not None:
        q = q.where(Mark.script_id == script_id)
    else:
        assert exam is not None
        q = q.join(Script, Script.id == Mark.script_id).where(Script.session_id == exam.id)
    out: dict[tuple[uuid.UUID, int], list[Any]] = defaultdict(list)
    for m in (session.scalars if full else session.execute)(q.order_by(Mark.id)):
        out[(m.script_id, m.number)].append(m)
    return out


def _by_role(marks: Iterable[Mark]) -> dict[str, float]:
    return {m.role: m.total for m in marks}


def _signoff(session: Session, exam: ExamSession, kind: str) -> MarkingSignoff | None:
    return session.scalars(select(MarkingSignoff).where(MarkingSignoff.session_id == exam.id, MarkingSignoff.kind == kind)).first()


def _subjective_items(session: Session, bank: Bank, paper: str) -> list[dict[str, Any]]:
    _, key = current_key(session, bank.keyring(session), paper)
    return sorted((i for i in key["items"] if is_subjective(str(i["type"]))), key=lambda i: int(i["number"]))


def _registered_signer(session: Session, user: User, signer: SigningKey, what: str) -> None:
    """The key given is the one registered for this user as an examiner party: marks are the marker's own."""
    try:
        registered = party(session, user.username, ("examiner",))
    except (NotFoundError, ValidationError):
        raise PermissionDenied(f"{what} is signed with the examiner's own key: register {user.username!r} as an "
                               "examiner party (`examvault party add … --role examiner`)") from None  # fmt: skip
    if str(signer.verify_key) != registered.verify_key:
        raise PermissionDenied(f"the signing key given is not the one registered for examiner {user.username!r}")


def mark_message(exam_code: str, script: str, paper: str, number: int, m: Mark, supersedes: int | None) -> bytes:
    """What a marker signs: the entry itself, bound to the session, the script and the entry it replaces."""
    return canonical_json({"session": exam_code, "script": script, "paper": paper, "number": number, "marker": m.marker,
                           "role": m.role, "points": m.points, "total": m.total, "reason": m.reason,
                           "at": m.marked_at.astimezone(BEIJING).isoformat(), "supersedes": supersedes})  # fmt: skip


def _marker_key(session: Session, cache: dict[str, VerifyKey | None], marker: str) -> VerifyKey | None:
    """The marker's registered verifier key (cached); None once the party is revoked: nothing verifies then."""
    if marker not in cache:
        try:
            cache[marker] = VerifyKey.parse(party(session, marker, ("examiner",)).verify_key)
        except (NotFoundError, ValidationError):
            cache[marker] = None
    return cache[marker]


def _check_signatures(session: Session, exam: ExamSession, scripts: dict[uuid.UUID, Script], marks: Iterable[Mark]) -> None:
    """Every registered mark still carries its marker's valid signature: a mark altered in the
    database, or signed by a key not registered for its marker, stops totalling."""
    keys: dict[str, VerifyKey | None] = {}
    superseded = session.execute(select(Mark.id, Mark.superseded_by, Mark.script_id, Mark.number, Mark.marker)
                                 .join(Script, Script.id == Mark.script_id)
                                 .where(Script.session_id == exam.id, Mark.superseded_by.is_not(None))).all()  # fmt: skip
    previous = {r.superseded_by: r.id for r in superseded}
    # A superseded mark names the entry that replaced it: the same marker's, same script and item. A mark
    # hidden by pointing it at nothing (or at someone else's entry) is caught here, not silently dropped.
    replacing = {m.id: m for m in session.scalars(select(Mark).where(Mark.id.in_([r.superseded_by for r in superseded])))} if superseded else {}
    bad = [f"{scripts[r.script_id].code} item {r.number}: a mark by {r.marker} is superseded by no entry of theirs"
           for r in superseded if (n := replacing.get(r.superseded_by)) is None
           or (n.marker, n.script_id, n.number) != (r.marker, r.script_id, r.number)]  # fmt: skip
    for m in marks:
        s = scripts[m.script_id]
        key = _marker_key(session, keys, m.marker)
        message = mark_message(exam.code, s.code, s.paper, m.number, m, previous.get(m.id))
        if key is None or not key.verify("mark", message, m.signature):
            bad.append(f"{s.code} item {m.number} ({ROLE_LABELS[m.role]} by {m.marker})")
    if bad:
        raise ConflictError("marks whose signature does not verify (altered after signing?): " + "; ".join(bad[:10]))


Finals = dict[uuid.UUID, dict[int, float]]  # per script, each item's settled score


def _digest(scripts: Sequence[Script], finals: Finals) -> str:
    rows = sorted([s.code, s.paper, sorted([n, v] for n, v in finals[s.id].items())] for s in scripts)
    return hashlib.sha256(json.dumps(rows, ensure_ascii=False).encode()).hexdigest()


# ---------------------------------------------------------------- registering the sealed scripts


def seal_scripts(bank: Bank, session_code: str, path: Path, *, encoding: str | None = None) -> dict[str, Any]:
    """Register the 密封登记 of the sealing staff: 准考证号, 卷别, 密封号 per answer booklet.

    The file is the sealing staff's; the bank keeps the mapping sealed and never shows it again
    until unmasking. All or nothing, every problem by row and column."""
    from examvault.itembank.formats.tabular import read_table

    raws = read_table(path, SEAL_FIELDS, tuple(SEAL_FIELDS), encoding=encoding, list_key="scripts")
    file = path.name
    with bank.transaction(write=True) as session:
        actor = bank.actor(session, "marking.seal")
        keyring = bank.keyring(session)
        exam = get_session(session, session_code, lock=True)
        if _signoff(session, exam, "total") is not None:
            raise ConflictError(f"the scripts of {session_code} are totalled; no script can be added")
        papers = {p.form: p.code for p in session.scalars(select(Paper).where(Paper.code.in_([c for c in exam.papers.split(",") if c])))}
        subjective = {form: bool(_subjective_items(session, bank, code)) for form, code in papers.items() if _has_key(session, code)}
        roll = TheoryRoll.of(session, exam)
        answered = dict(session.execute(select(ScoredResponse.candidate_id, ScoredResponse.paper).where(ScoredResponse.session_id == exam.id)).all())
        existing = list(session.scalars(select(Script).where(Script.session_id == exam.id)))
        codes = {s.code for s in existing}
        sealed = {json.loads(open_fields(keyring, SCRIPT, row_of(SCRIPT, s))["candidate"] or b"{}").get("candidate_id") for s in existing}
        issues: list[Issue] = []
        rows: list[tuple[Candidate, str, str]] = []
        seen_t: dict[str, str] = {}
        seen_c: dict[str, str] = {}
        for raw in raws:
            problems = []
            ticket, form, code = raw.get("ticket"), raw.get("form").upper(), raw.get("code").upper()
            cand, why = roll.check(ticket)
            if why:
                problems.append(("ticket", why))
            elif str(cand.id) in sealed:  # type: ignore[union-attr]
                problems.append(("ticket", "this candidate's script is already registered"))
            elif ticket in seen_t:
                problems.append(("ticket", f"the candidate appears twice (first on {seen_t[ticket]})"))
            seen_t.setdefault(ticket, raw.location)
            if form not in papers:
                problems.append(("form", f"form {form!r} is not one of this session's ({', '.join(sorted(papers)) or 'none'})"))
            elif form not in subjective:
                problems.append(("form", f"{papers[form]} has no marking key yet: import it first (`examvault key import`)"))
            elif not subjective[form]:
                problems.append(("form", f"{papers[form]} has no subjective items; its answer sheets are scored by machine"))
            elif cand is not None and cand.id in answered and answered[cand.id] != papers[form]:
                problems.append(("form", "the candidate's answer sheet was read as another form"))
            if not SEAL_CODE.match(code):
                problems.append(("code", "a 密封号 is 4–16 digits or capital letters"))
            elif code in codes:
                problems.append(("code", "this 密封号 is already registered in this session"))
            elif code in seen_c:
                problems.append(("code", f"this 密封号 repeats {seen_c[code]}"))
            seen_c.setdefault(code, raw.location)
            issues += [Issue(file, raw.location, raw.column(f), m) for f, m in problems]
            if not problems:
                rows.append((cand, papers[form], code))  # type: ignore[arg-type]
        if issues:
            raise ValidationError(issues, outcome=NOTHING_IMPORTED)
        secrets.SystemRandom().shuffle(rows)  # stored in no order the register had: row order must not hint at the mapping
        for cand, paper, code in rows:
            sid = uuid.uuid4()
            secret = json.dumps({"candidate_id": str(cand.id), "ticket": cand.ticket}).encode()
            session.add(Script(id=sid, session_id=exam.id, code=code, paper=paper, sealed_by=actor.username,
                               **seal_fields(keyring, SCRIPT, str(sid), 1, {"candidate": secret})))  # fmt: skip
        audit(session, actor, "marking.seal", "exam_session", session_code, file=file, scripts=len(rows))
        return {"session": session_code, "scripts": len(rows), "total": len(existing) + len(rows)}


def _has_key(session: Session, paper: str) -> bool:
    from examvault.scoring.models import MarkingKey

    return session.scalars(select(MarkingKey.id).where(MarkingKey.paper == paper).limit(1)).first() is not None


# ---------------------------------------------------------------- markers per item


def assign_markers(bank: Bank, session_code: str, numbers: Sequence[int], *, markers: Sequence[str], leader: str,
                   threshold: float = DEFAULT_THRESHOLD, paper: str | None = None) -> dict[str, Any]:  # fmt: skip
    """Markers (≥ 2) and a group leader for subjective items, on every paper of the session or one."""
    markers = list(dict.fromkeys(markers))
    if len(markers) < 2:
        raise ValidationError("--marker: at least two markers per item, who mark each script independently")
    if leader in markers:
        raise ValidationError(f"--leader {leader} is also a marker; the leader settles the markers' disputes and is not one of them")
    if not 0 < threshold <= 1:
        raise ValidationError(f"--threshold {threshold:g}: a fraction of the item's points, above 0 and at most 1 (0.2 = 20 %)")
    if not numbers:
        raise ValidationError("--items: name the subjective items' numbers, e.g. 17-20")
    with bank.transaction(write=True) as session:
        actor = bank.actor(session, "marking.assign")
        exam = get_session(session, session_code, lock=True)
        if _signoff(session, exam, "total") is not None:
            raise ConflictError(f"the scripts of {session_code} are totalled; marking is over")
        for name in [*markers, leader]:
            user = get_user(session, name)
            if "examiner" not in user.roles:
                raise ValidationError(f"{name} is not an examiner (role examiner) and cannot mark")
        papers = [p for p in exam.papers.split(",") if p]
        if paper is not None:
            if paper not in papers:
                raise NotFoundError(f"paper {paper} is not one of session {session_code}'s ({', '.join(papers)})")
            papers = [paper]
        existing = _items(session, exam)
        done = []
        for code in papers:
            items = {int(i["number"]): i for i in _subjective_items(session, bank, code)}
            if not items:
                continue
            unknown = [n for n in numbers if n not in items]
            if unknown:
                raise ValidationError(f"{code}: item(s) {', '.join(map(str, unknown))} are not subjective items of this form "
                                      f"(its subjective items are {', '.join(map(str, sorted(items)))})")  # fmt: skip
            for n in numbers:
                it = existing.get((code, n))
                if it is None:
                    it = MarkingItem(session_id=exam.id, paper=code, number=n, points=float(items[n]["points"]),
                                     marking_points=[float(p) for p in items[n].get("marking_points") or [items[n]["points"]]])  # fmt: skip
                    session.add(it)
                it.markers, it.leader, it.threshold, it.assigned_by, it.assigned_at = markers, leader, threshold, actor.username, utcnow()
                done.append(f"{code}#{n}")
        if not done:
            raise ConflictError(f"session {session_code}'s papers have no subjective items (or no marking key is imported)")
        audit(session, actor, "marking.assign", "exam_session", session_code, items=done, markers=markers, leader=leader, threshold=threshold)
        return {"session": session_code, "items": done, "markers": markers, "leader": leader, "threshold": threshold}


# ---------------------------------------------------------------- marking


def _check_points(item: MarkingItem, points: Sequence[float]) -> list[float]:
    maxima = item.marking_points
    if len(points) != len(maxima):
        raise ValidationError(f"item {item.number} has {len(maxima)} marking point(s) (评分要点, worth {', '.join(f'{p:g}' for p in maxima)}); "
                              f"{len(points)} mark(s) were given")  # fmt: skip
    out = []
    for k, (p, most) in enumerate(zip(points, maxima, strict=True), start=1):
        if not 0 <= p <= most or (p * 2) != int(p * 2):
            raise ValidationError(f"marking point {k} of item {item.number}: {p:g} is not 0–{most:g} in half points")
        out.append(float(p))
    return out


def mark(bank: Bank, session_code: str, seal_code: str, number: int, points: Sequence[float], *, signer: SigningKey,
         reason: str = "", now: datetime | None = None) -> dict[str, Any]:  # fmt: skip
    """Enter the acting marker's marks for one item of one script, signed. A second entry by the same
    marker is a change: it needs a reason and supersedes the first, which stays in the history."""
    if len(reason) > 400:
        raise ValidationError("--reason: at most 400 characters")
    with bank.transaction(write=True) as session:
        actor = bank.actor(session, "marking.mark")
        exam = get_session(session, session_code, lock=True)  # one marker's entry at a time: roles are handed out in order
        if _signoff(session, exam, "total") is not None:
            raise ConflictError(f"the scripts of {session_code} are totalled; marks are fixed")
        script = _script(session, exam, seal_code.strip().upper())
        item = _items(session, exam).get((script.paper, number))
        if item is None:
            raise NotFoundError(f"item {number} of {script.paper} has no markers assigned (`examvault marking assign`)")
        name = actor.username
        if name not in item.markers and name != item.leader:
            raise PermissionDenied(f"{name} is not assigned to mark item {number} of {script.paper}")
        _registered_signer(session, actor, signer, "a mark")
        values = _check_points(item, points)
        marks = _active(session, script_id=script.id, full=True).get((script.id, number), [])
        mine = next((m for m in marks if m.marker == name), None)
        state = settle(_by_role(marks), item.points, item.threshold)
        if mine is not None:
            if not reason.strip():
                raise ValidationError(f"you marked {script.code} item {number} already; a change says why (--reason)")
            role = mine.role
        elif name == item.leader:
            if state.needs not in ("third", "leader"):
                raise ConflictError(f"{script.code} item {number} is not in dispute; the group leader decides disputed marks only")
            role = "leader"
        elif state.needs in ("first", "second", "third"):
            role = state.needs
        elif state.needs == "leader":
            raise ConflictError(f"{script.code} item {number}: the three marks still disagree; the group leader ({item.leader}) decides")
        else:
            raise ConflictError(f"{script.code} item {number} is double-marked and settled")
        entry = Mark(script_id=script.id, number=number, marker=name, role=role, points=values, total=sum(values),
                     reason=reason.strip(), marked_at=(now or utcnow()).replace(microsecond=0), signature={})  # fmt: skip
        entry.signature = signer.sign("mark", mark_message(exam.code, script.code, script.paper, number, entry, mine.id if mine else None))
        session.add(entry)
        session.flush()
        if mine is not None:
            mine.superseded_by = entry.id
        audit(session, actor, "marking.mark", "script", f"{session_code}/{script.code}", number=number, role=role,
              change=mine is not None)  # fmt: skip
        return {"script": script.code, "number": number, "role": role, "total": entry.total, "changed": mine is not None}


def queue(bank: Bank, session_code: str, *, limit: int | None = 100) -> list[dict[str, Any]]:
    """What the acting examiner may mark now (the first `limit`): scripts by 密封号 and item, never the
    other markers' marks."""
    with bank.transaction() as session:
        actor = bank.actor(session, "marking.mark")
        exam = get_session(session, session_code)
        items = {k: i for k, i in _items(session, exam).items() if actor.username in i.markers or actor.username == i.leader}
        scripts = list(session.scalars(select(Script).where(Script.session_id == exam.id).order_by(Script.code)))
        active = _active(session, exam=exam)
        out = []
        for s in scripts:
            for (paper, n), it in sorted(items.items()):
                if paper != s.paper:
                    continue
                marks = active.get((s.id, n), [])
                if any(m.marker == actor.username for m in marks):
                    continue
                needs = settle(_by_role(marks), it.points, it.threshold).needs
                lead = actor.username == it.leader
                if (lead and needs in ("third", "leader")) or (not lead and needs in ("first", "second", "third")):
                    out.append({"script": s.code, "number": n, "as": "leader" if lead else needs,
                                "marking_points": it.marking_points})  # fmt: skip
                    if limit is not None and len(out) >= limit:
                        return out
        return out


def guide(bank: Bank, session_code: str, number: int) -> dict[str, Any]:
    """The 参考答案 and 评分要点 of a subjective item, from the sealed marking key, for its own markers and
    leader only: what they mark against. The read is audited."""
    with bank.transaction(write=True) as session:
        actor = bank.actor(session, "marking.mark")
        exam = get_session(session, session_code)
        mine = {(paper, n): it for (paper, n), it in _items(session, exam).items()
                if n == number and (actor.username in it.markers or actor.username == it.leader)}  # fmt: skip
        if not mine:
            raise NotFoundError(f"item {number} of {session_code} is not assigned to {actor.username!r}")
        paper = sorted(mine)[0][0]
        entry = next(i for i in _subjective_items(session, bank, paper) if int(i["number"]) == number)
        audit(session, actor, "marking.guide", "session", session_code, number=number, paper=paper)
        return {"number": number, "answer": str(entry.get("answer", "")), "rubric": str(entry.get("rubric", ""))}


def status(bank: Bank, session_code: str) -> dict[str, Any]:
    """Progress by item: settled, waiting for a first or second mark, for a third, for the leader.
    Codes and counts only."""
    with bank.transaction() as session:
        bank.actor(session, "marking.read")
        exam = get_session(session, session_code)
        items = _items(session, exam)
        scripts = list(session.scalars(select(Script).where(Script.session_id == exam.id)))
        active = _active(session, exam=exam)
        per: dict[str, dict[str, Any]] = {}
        for s in scripts:
            for (paper, n), it in sorted(items.items()):
                if paper != s.paper:
                    continue
                row = per.setdefault(f"{paper}#{n}", {"paper": paper, "number": n, "markers": it.markers, "leader": it.leader,
                                                      "threshold": it.threshold, "settled": 0, "first": 0, "second": 0, "third": 0,
                                                      "leader_decisions": 0, "awaiting_leader": 0})  # fmt: skip
                st = settle(_by_role(active.get((s.id, n), [])), it.points, it.threshold)
                if st.needs is None:
                    row["settled"] += 1
                    row["leader_decisions"] += st.how == "组长裁定"
                elif st.needs == "leader":
                    row["awaiting_leader"] += 1
                else:
                    row[st.needs] += 1
        signoffs = {k: _signoff(session, exam, k) for k in ("total", "check", "unmask")}
        return {"session": session_code, "scripts": len(scripts), "items": list(per.values()),
                **{k: (None if v is None else {"by": v.username, "at": v.at.astimezone(BEIJING).isoformat(timespec="minutes")})
                   for k, v in signoffs.items()}}  # fmt: skip


def history(bank: Bank, session_code: str, seal_code: str) -> dict[str, Any]:
    """Every mark on one script, changes included, with whether each signature verifies. For exam
    administration, supervisors and the items' group leaders — not for markers, who mark blind."""
    with bank.transaction() as session:
        actor = bank.actor(session, "marking.read")
        exam = get_session(session, session_code)
        script = _script(session, exam, seal_code.strip().upper())
        items = {n: i for (p, n), i in _items(session, exam).items() if p == script.paper}
        if not actor.roles & {"exam_admin", "supervisor"}:
            # a group leader sees the items they lead, and none they mark themselves
            items = {n: i for n, i in items.items() if i.leader == actor.username}
            if not items:
                raise PermissionDenied("markers mark blind: a script's marks are shown to exam administration, supervisors and group leaders")
        marks = [m for m in session.scalars(select(Mark).where(Mark.script_id == script.id).order_by(Mark.number, Mark.id)) if m.number in items]
        previous = {m.superseded_by: m.id for m in marks if m.superseded_by}
        keys: dict[str, VerifyKey | None] = {}
        rows = []
        for m in marks:
            key = _marker_key(session, keys, m.marker)
            ok = key is not None and key.verify("mark", mark_message(exam.code, script.code, script.paper, m.number, m, previous.get(m.id)), m.signature)
            rows.append({"number": m.number, "marker": m.marker, "role": m.role, "points": m.points, "total": m.total,
                         "at": m.marked_at.astimezone(BEIJING).isoformat(timespec="seconds"), "reason": m.reason,
                         "current": m.superseded_by is None, "signature_valid": ok})  # fmt: skip
        settled = {}
        for n, it in items.items():
            st = settle(_by_role(m for m in marks if m.number == n and m.superseded_by is None), it.points, it.threshold)
            settled[n] = {"score": st.score, "how": st.how, "needs": st.needs}
        return {"script": script.code, "paper": script.paper, "marks": rows, "items": settled}


# ---------------------------------------------------------------- 统分, 复核, unmasking


def _finals(session: Session, exam: ExamSession, *, verify: bool = True) -> tuple[list[Script], Finals]:
    """Every script's final item scores; refused, naming what is missing, while any item is unsettled.
    With `verify`, every current mark's signature is checked too."""
    scripts = list(session.scalars(select(Script).where(Script.session_id == exam.id).order_by(Script.code)))
    if not scripts:
        raise ConflictError(f"session {exam.code} has no sealed scripts (`examvault marking seal`)")
    items = _items(session, exam)
    active = _active(session, exam=exam, full=verify)
    wanted: dict[str, list[int]] = defaultdict(list)
    for paper, n in items:
        wanted[paper].append(n)
    finals: Finals = {s.id: {} for s in scripts}
    missing = []
    for s in scripts:
        if s.paper not in wanted:
            missing.append(f"{s.paper}: no item has markers assigned")
            continue
        for n in sorted(wanted[s.paper]):
            it = items[(s.paper, n)]
            st = settle(_by_role(active.get((s.id, n), [])), it.points, it.threshold)
            if st.needs is None:
                finals[s.id][n] = float(st.score)  # type: ignore[arg-type]
            else:
                missing.append(f"{s.code} item {n}: waiting for the {ROLE_LABELS[st.needs]}")
    if missing:
        more = f"\n… and {len(missing) - 20} more" if len(missing) > 20 else ""
        raise ConflictError(f"not every script of {exam.code} is marked:\n" + "\n".join(sorted(set(missing))[:20]) + more)
    if verify:
        _check_signatures(session, exam, {s.id: s for s in scripts}, (m for ms in active.values() for m in ms))
    return scripts, finals


def _paper_items(session: Session, bank: Bank, papers: Iterable[str]) -> dict[str, set[int]]:
    return {p: {int(i["number"]) for i in _subjective_items(session, bank, p)} for p in set(papers)}


def total(bank: Bank, session_code: str, *, signer: SigningKey) -> dict[str, Any]:
    """统分: every script's subjective total from its settled items, signed by the totaller."""
    with bank.transaction(write=True) as session:
        actor = bank.actor(session, "marking.total")
        exam = get_session(session, session_code, lock=True)
        if (done := _signoff(session, exam, "total")) is not None:
            raise ConflictError(f"the scripts of {session_code} were totalled by {done.username}")
        _registered_signer(session, actor, signer, "统分")
        scripts, finals = _finals(session, exam)
        # Every answer sheet of a paper with subjective items has its sealed booklet (counts only: no mapping is read).
        sheets = dict(session.execute(select(ScoredResponse.paper, func.count()).where(ScoredResponse.session_id == exam.id)
                                      .group_by(ScoredResponse.paper)).all())  # fmt: skip
        sealed = Counter(s.paper for s in scripts)
        short = [f"{p}: {sheets.get(p, 0)} answer sheets, {n} sealed scripts" for p, n in sorted(sealed.items()) if sheets.get(p, 0) != n]
        if short:
            raise ConflictError("the sealed scripts do not match the answer sheets (register the missing booklets with `marking seal`, "
                                "or import the missing answer sheets): " + "; ".join(short))  # fmt: skip
        assigned = _items(session, exam)
        unassigned = [f"{p}#{n}" for p, ns in _paper_items(session, bank, (s.paper for s in scripts)).items()
                      for n in sorted(ns) if (p, n) not in assigned]  # fmt: skip
        if unassigned:
            raise ConflictError(f"subjective items with no markers: {', '.join(unassigned)}")
        for s in scripts:
            s.subjective = sum(finals[s.id].values())
        digest = _digest(scripts, finals)
        at = utcnow().replace(microsecond=0)
        signature = signer.sign("marking-signoff", _signoff_message(exam.code, "total", actor.username, digest, at))
        session.add(MarkingSignoff(session_id=exam.id, kind="total", username=actor.username, digest=digest, signature=signature, at=at))
        audit(session, actor, "marking.total", "exam_session", session_code, scripts=len(scripts), digest=digest)
        return {"session": session_code, "scripts": len(scripts), "digest": digest,
                "mean": sum(s.subjective or 0 for s in scripts) / len(scripts)}  # fmt: skip


def _signoff_message(exam_code: str, kind: str, username: str, digest: str, at: datetime) -> bytes:
    return canonical_json({"session": exam_code, "kind": kind, "by": username, "digest": digest,
                           "at": at.astimezone(BEIJING).isoformat()})  # fmt: skip


def check(bank: Bank, session_code: str, *, signer: SigningKey) -> dict[str, Any]:
    """复核: another examiner re-adds every script from the signed marks; the totals must agree."""
    with bank.transaction(write=True) as session:
        actor = bank.actor(session, "marking.total")
        exam = get_session(session, session_code, lock=True)
        totalled = _signoff(session, exam, "total")
        if totalled is None:
            raise ConflictError(f"the scripts of {session_code} are not totalled yet (`examvault marking total`)")
        if totalled.username == actor.username:
            raise PermissionDenied(f"{actor.username} totalled these scripts (统分人) and cannot also check them (复核人)")
        if (done := _signoff(session, exam, "check")) is not None:
            raise ConflictError(f"the totals of {session_code} were checked by {done.username}")
        _registered_signer(session, actor, signer, "复核")
        scripts, finals = _finals(session, exam)
        digest = _digest(scripts, finals)
        wrong = [s.code for s in scripts if s.subjective != sum(finals[s.id].values())]
        if digest != totalled.digest or wrong:
            raise ConflictError(f"the totals differ from the signed marks ({', '.join(wrong[:10]) or 'the item scores changed'}); "
                                "they are not checked")  # fmt: skip
        at = utcnow().replace(microsecond=0)
        signature = signer.sign("marking-signoff", _signoff_message(exam.code, "check", actor.username, digest, at))
        session.add(MarkingSignoff(session_id=exam.id, kind="check", username=actor.username, digest=digest, signature=signature, at=at))
        audit(session, actor, "marking.check", "exam_session", session_code, scripts=len(scripts), digest=digest)
        return {"session": session_code, "scripts": len(scripts), "checked": True, "totaller": totalled.username}


def unmask(bank: Bank, session_code: str) -> dict[str, Any]:
    """Open the seal: join each script's checked subjective total, and its item scores, to the
    candidate's answer sheet. Refused until every script is totalled and checked."""
    with bank.transaction(write=True) as session:
        actor = bank.actor(session, "marking.unmask")
        keyring = bank.keyring(session)
        exam = get_session(session, session_code, lock=True)
        if _signoff(session, exam, "unmask") is not None:
            raise ConflictError(f"the scripts of {session_code} are already unmasked")
        totalled, checked = _signoff(session, exam, "total"), _signoff(session, exam, "check")
        if totalled is None or checked is None:
            raise ConflictError(f"the seal of {session_code} stays closed until every script's marks are registered, totalled "
                                f"(统分) and checked (复核): {'not totalled' if totalled is None else 'not checked'}")  # fmt: skip
        # Signatures were verified at 统分 and 复核, and marks are frozen since: any changed score changes the digest.
        scripts, finals = _finals(session, exam, verify=False)
        if _digest(scripts, finals) != checked.digest:
            raise ConflictError("the marks changed after they were checked; the seal stays closed")
        responses = {r.candidate_id: r for r in session.scalars(select(ScoredResponse).where(ScoredResponse.session_id == exam.id))}
        positions = {p: {int(i["number"]): int(i["position"]) for i in _subjective_items(session, bank, p)} for p in {s.paper for s in scripts}}
        missing = []
        for s in scripts:
            who = json.loads(open_fields(keyring, SCRIPT, row_of(SCRIPT, s))["candidate"] or b"{}")
            s.candidate_id = uuid.UUID(who["candidate_id"])
            r = responses.get(s.candidate_id)
            if r is None or r.paper != s.paper:
                missing.append(f"{s.code}: no answer sheet of {s.paper} for this script's candidate")
                continue
            detail = json.loads(open_fields(keyring, SCORED_RESPONSE, row_of(SCORED_RESPONSE, r))["detail"] or b"{}")
            detail["subjective"] = [{"number": n, "position": positions[s.paper][n], "points": v}
                                    for n, v in sorted(finals[s.id].items())]  # fmt: skip
            r.version += 1
            for k, v in seal_fields(keyring, SCORED_RESPONSE, str(r.id), r.version, {"detail": json.dumps(detail).encode()}).items():
                setattr(r, k, v)
            r.subjective = s.subjective
        if missing:
            raise ConflictError("scripts without a matching answer sheet (import the responses first):\n" + "\n".join(missing[:20]))
        session.add(MarkingSignoff(session_id=exam.id, kind="unmask", username=actor.username, digest=checked.digest, signature=None))
        audit(session, actor, "marking.unmask", "exam_session", session_code, scripts=len(scripts))
        return {"session": session_code, "scripts": len(scripts)}


def unmasked(session: Session, exam: ExamSession) -> bool:
    return _signoff(session, exam, "unmask") is not None
