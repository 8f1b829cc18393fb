"""Statistics back into the bank: `stats update` analyses a paper's released responses, records each
item's figures for this administration, adds them to the item's running sums (so the bank's p and
discrimination pool every exam exactly), links IRT parameters to the bank's scale through items
calibrated before, reports drift, and suspends flagged items into the review queue until a reviewer
keeps or retires them. Assembly then draws on the empirical p (`difficulty: {p: …}`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from examvault.accounts.service import audit, require
from examvault.assembly.models import Paper
from examvault.bank import Bank
from examvault.db import utcnow
from examvault.errors import ConflictError, NotFoundError, ValidationError
from examvault.itembank.models import Item
from examvault.itembank.workflow import TRANSITIONS
from examvault.stats.analysis import Analysis, analyze, flag_json, json_number
from examvault.stats.feedback import PaperData, paper_data, released_sessions, score_steps
from examvault.stats.flags import FlagThresholds, flag_items
from examvault.stats.models import ItemReview, ItemRunning, ItemStatistic, StatsRun
from examvault.stats.options import analyse_options

DRIFT_P = 0.10  # |Δp| between administrations worth reporting
DRIFT_B = 0.50  # |Δb| on the bank's scale, in logits
MIN_COMMON = 3  # common items needed to link a calibration to the bank's scale


@dataclass(frozen=True)
class Linking:
    """b_bank = A · b_new + B, a_bank = a_new / A (mean–sigma over the common items' difficulties)."""

    common: int
    A: float = 1.0
    B: float = 0.0
    linked: bool = False


def mean_sigma(b_old: np.ndarray, b_new: np.ndarray) -> Linking:
    """Mean–sigma linking of a new calibration onto the old scale through common items."""
    if len(b_old) < MIN_COMMON or float(np.std(b_new)) == 0.0 or float(np.std(b_old)) == 0.0:
        return Linking(len(b_old))  # too few common items, or no spread to scale by: not linked
    a = float(np.std(b_old) / np.std(b_new))
    return Linking(len(b_old), a, float(np.mean(b_old) - a * np.mean(b_new)), True)


def running_sums(scores: np.ndarray, max_points: np.ndarray | float = 1.0) -> dict[str, np.ndarray]:
    """Per column: n, Σx, Σx², Σr, Σr², Σxr, with x the share of the item's points earned (so an item
    worth 1 point on one paper and 2 on another pools on one scale) and r the rest score in points
    (the paper's total minus the item; a correlation does not change when x is scaled)."""
    present = ~np.isnan(scores)
    points = np.where(present, scores, 0.0)
    rest = np.where(present, points.sum(axis=1, keepdims=True) - points, 0.0)
    x = points / max_points
    return {"n": present.sum(axis=0).astype(float), "sum_x": x.sum(axis=0), "sum_xx": (x * x).sum(axis=0),
            "sum_r": rest.sum(axis=0), "sum_rr": (rest * rest).sum(axis=0), "sum_xr": (x * rest).sum(axis=0)}  # fmt: skip


def pooled(run: ItemRunning) -> tuple[float | None, float | None]:
    """The item's p and item-rest correlation over every exam analysed so far (x kept as a share of
    the item's points: `max_points` is 1)."""
    if run.n <= 0 or run.max_points <= 0:
        return None, None
    p = run.sum_x / (run.n * run.max_points)
    vx, vr = run.n * run.sum_xx - run.sum_x**2, run.n * run.sum_rr - run.sum_r**2
    r = (run.n * run.sum_xr - run.sum_x * run.sum_r) / math.sqrt(vx * vr) if vx > 0 and vr > 0 else None
    return p, r


def update_paper(bank: Bank, paper_code: str, *, irt: Literal["rasch", "2pl"] | None = "2pl",
                 thresholds: FlagThresholds | None = None, report: Path | None = None) -> dict[str, Any]:  # fmt: skip
    """Analyse the paper's released, not yet analysed sessions and feed the figures back, in one
    transaction. With `report`, the custodian's PDF and xlsx report is rendered inside it (a failed
    render records nothing) and written there once the run is on record."""
    with bank.transaction(write=True) as session:
        actor = bank.actor(session, "stats.update")
        # One update of a paper at a time: sessions are counted once, and the running sums add up.
        session.scalars(select(Paper.id).where(Paper.code == paper_code).with_for_update()).first()
        done = {s for run in session.scalars(select(StatsRun).where(StatsRun.paper == paper_code)) for s in run.sessions}
        sessions = released_sessions(session, paper_code, exclude=done)
        if not sessions:
            raise ConflictError(f"{paper_code}: no released session left to analyse"
                                + (f" (already analysed: {', '.join(sorted(done))})" if done else ""))  # fmt: skip
        data = paper_data(session, bank.keyring(session), paper_code, sessions)
        result = analyze(data.scores, data.max_points, labels=data.labels, irt=irt, thresholds=thresholds,
                         score_step=score_steps(data.scores, data.max_points))
        _add_options(result, data)
        items = {i.id: i for i in session.scalars(select(Item).where(Item.id.in_(data.item_ids)))}
        linking, irt_rows = _link(session, data, result, items)
        drift = _drift(session, data, result, linking, irt_rows)
        # The first calibration of an occupation and level sets the bank's scale; a later one joins it only when linked.
        first = next(iter(items.values()))
        scale = session.scalars(select(Item.id).where(Item.occupation_id == first.occupation_id, Item.level == first.level,
                                                      Item.irt_b.is_not(None)).limit(1)).first()  # fmt: skip
        on_scale = linking.linked or scale is None
        if irt_rows and not on_scale:
            result.notes.append(f"IRT not linked ({linking.common} items calibrated before; {MIN_COMMON} needed): the bank's "
                                "IRT parameters are kept and this calibration is recorded on its own scale")  # fmt: skip
        run = StatsRun(paper=paper_code, sessions=data.sessions, n_candidates=int(result.classical.n_candidates), computed_by=actor.username,
                       summary=_summary(result, linking, drift))  # fmt: skip
        session.add(run)
        session.flush()
        flagged = _record(session, run, data, result, items, irt_rows, on_scale)
        files = {} if report is None else _render(result, paper_code, run)
        audit(session, actor, "stats.update", "paper", paper_code, sessions=data.sessions, candidates=run.n_candidates,
              flagged=[items[i].code for i in flagged])  # fmt: skip
        out = {"paper": paper_code, "run": run.id, "sessions": data.sessions, "candidates": run.n_candidates, **run.summary,
               "flagged": [items[i].code for i in flagged]}  # fmt: skip
    if report is not None:
        report.mkdir(parents=True, exist_ok=True)
        for name, blob in files.items():
            (report / name).write_bytes(blob)
        out["files"] = [str(report / name) for name in files]
    return out


def _render(result: Analysis, paper_code: str, run: StatsRun) -> dict[str, bytes]:
    from examvault.stats.report import render_pdf, render_xlsx

    title = f"{paper_code} 试卷质量分析报告"
    subtitle = f"{', '.join(run.sessions)} · {run.n_candidates} 名考生 · 第 {run.id} 次分析"
    return {f"{paper_code}_质量分析.pdf": render_pdf(result, title=title, subtitle=subtitle),
            f"{paper_code}_质量分析.xlsx": render_xlsx(result, title=title)}  # fmt: skip


def _add_options(result: Analysis, data: PaperData) -> None:
    """Distractor analysis of the 单选 columns against the whole paper's total, and its key-error flags.
    The paper mixes item types, so the analysis runs on points and the options are added for the
    columns where the chosen letter says more than right or wrong."""
    cols = data.single_choice
    if not cols or not (data.key[cols] > 0).all():
        return
    found = analyse_options(data.choices[:, cols], data.key[cols], missing_code=0, points=data.max_points[cols], totals=result.totals)
    options = {cols[o.item]: replace(o, item=cols[o.item]) for o in found}
    result.options.update(options)
    extra = flag_items(result.classical, list(options.values()), result.thresholds, result.labels)
    result.flags.extend(f for f in extra if f.rule == "key_error")
    result.flags.sort(key=lambda f: f.item)


def _link(session: Session, data: PaperData, result: Analysis, items: dict[Any, Item]) -> tuple[Linking, dict[int, dict[str, Any]]]:
    """This calibration's a and b per column, linked to the bank's scale through items calibrated before."""
    fit = result.irt
    if fit is None:
        return Linking(0), {}
    raw: dict[int, dict[str, Any]] = {}
    for pos, j in enumerate(result.irt_items):
        if int(fit.n_categories[pos]) != 2:  # a partial-credit item (GPCM) has steps, not one difficulty to link
            continue
        a = float(fit.a[pos]) if fit.a is not None else 1.0
        d = float(np.asarray(fit.d)[pos].ravel()[0])
        raw[j] = {"model": fit.model, "a_raw": a, "d_raw": d, "b_raw": -d / a if a else None,
                  "se_a": json_number(fit.se_a[pos]) if getattr(fit, "se_a", None) is not None else None,
                  "se_d": json_number(np.asarray(fit.se_d)[pos].ravel()[0]) if getattr(fit, "se_d", None) is not None else None}  # fmt: skip
        if result.fit is not None:
            raw[j] |= {"infit": json_number(result.fit.infit[pos]), "outfit": json_number(result.fit.outfit[pos])}
    common = [j for j, r in raw.items() if items[data.item_ids[j]].irt_b is not None and r["b_raw"] is not None]
    link = mean_sigma(np.array([items[data.item_ids[j]].irt_b for j in common]), np.array([raw[j]["b_raw"] for j in common]))
    for r in raw.values():
        if r["b_raw"] is not None:
            r["b"] = link.A * r["b_raw"] + link.B
            r["a"] = r["a_raw"] / link.A
    return link, raw


def _drift(session: Session, data: PaperData, result: Analysis, link: Linking, irt_rows: dict[int, dict[str, Any]]) -> list[dict[str, Any]]:
    """Items whose p or linked b moved more than DRIFT_P / DRIFT_B since their previous administration."""
    latest = {st.item_id: st for st in session.scalars(select(ItemStatistic).where(ItemStatistic.item_id.in_(data.item_ids))
                                                        .order_by(ItemStatistic.id))}  # fmt: skip  (the last one per item stays)
    out = []
    for j, item_id in enumerate(data.item_ids):
        prev = latest.get(item_id)
        if prev is None:
            continue
        p_new = json_number(result.classical.p[j])
        dp = None if p_new is None or prev.p is None else p_new - prev.p
        b_old = (prev.irt or {}).get("b")
        db = None if b_old is None or j not in irt_rows or "b" not in irt_rows[j] or not link.linked else irt_rows[j]["b"] - b_old
        if (dp is not None and abs(dp) > DRIFT_P) or (db is not None and abs(db) > DRIFT_B):
            out.append({"item": data.labels[j], "p_before": prev.p, "p_now": p_new, "dp": dp, "db": db})
    return out


def _summary(result: Analysis, link: Linking, drift: list[dict[str, Any]]) -> dict[str, Any]:
    c = result.classical
    return {"alpha": json_number(c.alpha), "sem": json_number(c.sem), "mean": json_number(c.total_mean), "sd": json_number(c.total_sd),
            "irt": None if result.irt is None else {"model": result.irt.model, "items": len(result.irt_items),
                                                     "loglik": json_number(result.irt.loglik)},
            "linking": {"common": link.common, "linked": link.linked, "A": link.A, "B": link.B},
            "drift": drift, "notes": list(result.notes)}  # fmt: skip


def _record(session: Session, run: StatsRun, data: PaperData, result: Analysis, items: dict[Any, Item],
            irt_rows: dict[int, dict[str, Any]], on_scale: bool) -> list[Any]:  # fmt: skip
    """Item figures for this administration, running sums, the bank's metadata, and the review queue."""
    c = result.classical
    flags: dict[int, list[dict[str, Any]]] = {}
    for f in result.flags:
        flags.setdefault(int(f.item), []).append(flag_json(f))
    sums = running_sums(data.scores, data.max_points)
    now = utcnow()
    flagged = []
    for j, item_id in enumerate(data.item_ids):
        item = items[item_id]
        ul = c.upper_lower[j] if c.upper_lower is not None else None
        session.add(ItemStatistic(run_id=run.id, item_id=item_id, version=data.versions[j], position=data.positions[j], n=int(c.n[j]),
                                  p=json_number(c.p[j]), r_total=json_number(c.r_total[j]), r_rest=json_number(c.r_rest[j]), ul_index=json_number(ul),
                                  alpha_if_deleted=json_number(c.alpha_if_deleted[j]), irt=irt_rows.get(j), flags=flags.get(j, [])))  # fmt: skip
        acc = session.get(ItemRunning, item_id, with_for_update=True) or ItemRunning(item_id=item_id, max_points=1.0, exams=0, n=0.0,
                                                              sum_x=0.0, sum_xx=0.0, sum_r=0.0, sum_rr=0.0, sum_xr=0.0)  # fmt: skip
        session.add(acc)
        acc.exams += 1
        for k, v in sums.items():
            setattr(acc, k, getattr(acc, k) + float(v[j]))
        acc.updated_at = now
        item.p_value, item.discrimination = pooled(acc)
        item.n_responses = int(acc.n)
        if on_scale and j in irt_rows and "b" in irt_rows[j]:
            item.irt_a, item.irt_b = irt_rows[j]["a"], irt_rows[j]["b"]
        if flags.get(j) and item.status == "active":
            item.status, item.updated_at = "suspended", now
            session.add(ItemReview(item_id=item_id, run_id=run.id, flags=flags[j]))
            flagged.append(item_id)
    return flagged


def review_queue(bank: Bank) -> list[dict[str, Any]]:
    """Open reviews: each suspended item with the rules that fired and their numbers."""
    with bank.transaction() as session:
        bank.actor(session, "stats.read")
        q = (select(ItemReview, Item.code, StatsRun.paper).join(Item, Item.id == ItemReview.item_id).join(StatsRun, StatsRun.id == ItemReview.run_id)
             .where(ItemReview.decision.is_(None)).order_by(ItemReview.id))  # fmt: skip
        return [{"id": r.id, "item": code, "paper": paper, "opened_at": r.opened_at.isoformat(timespec="minutes"), "flags": r.flags}
                for r, code, paper in session.execute(q)]  # fmt: skip


def decide(bank: Bank, item_code: str, decision: str, *, comment: str) -> dict[str, Any]:
    """Settle an item's review: keep (active again, drawn by assembly) or retire."""
    if decision not in ("keep", "retire"):
        raise ValidationError("the decision is keep (activate again) or retire")
    if not comment.strip() or len(comment) > 400:
        raise ValidationError("--comment: what the review found (1–400 characters)")
    action = "activate" if decision == "keep" else "retire"
    with bank.transaction(write=True) as session:
        actor = bank.actor(session, "stats.read")
        require(actor, TRANSITIONS[action].permission)
        item = session.scalars(select(Item).where(Item.code == item_code)).first()
        review = None if item is None else session.scalars(select(ItemReview).where(
            ItemReview.item_id == item.id, ItemReview.decision.is_(None))).first()  # fmt: skip
        if item is None or review is None:
            raise NotFoundError(f"no open statistics review of item {item_code}")
        if item.status != "suspended":
            raise ConflictError(f"{item_code} is {item.status}; a review settles a suspended item")
        now = utcnow()
        item.status, item.updated_at = TRANSITIONS[action].target, now
        review.decision, review.comment, review.decided_by, review.decided_at = decision, comment.strip(), actor.username, now
        audit(session, actor, f"item.{action}", "item", item_code, review=review.id, decision=decision)
        return {"item": item_code, "decision": decision, "status": item.status}


def item_history(bank: Bank, item_code: str) -> dict[str, Any]:
    """An item's figures in every administration, and what the bank holds now."""
    with bank.transaction() as session:
        bank.actor(session, "stats.read")
        item = session.scalars(select(Item).where(Item.code == item_code)).first()
        if item is None:
            raise NotFoundError(f"no item {item_code}")
        rows = session.execute(select(ItemStatistic, StatsRun.paper, StatsRun.computed_at).join(StatsRun, StatsRun.id == ItemStatistic.run_id)
                               .where(ItemStatistic.item_id == item.id).order_by(ItemStatistic.id)).all()  # fmt: skip
        return {"item": item_code, "status": item.status, "p": item.p_value, "r_rest": item.discrimination, "n": item.n_responses,
                "irt_a": item.irt_a, "irt_b": item.irt_b, "exposure": item.usage_count,
                "administrations": [{"paper": paper, "at": at.isoformat(timespec="minutes"), "n": s.n, "p": s.p, "r_rest": s.r_rest,
                                     "ul_index": s.ul_index, "irt": s.irt, "flags": s.flags} for s, paper, at in rows]}  # fmt: skip
