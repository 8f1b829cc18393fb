"""The annual statistics filed by the end of January (年度统计): the summary report, the statistics
table, and a skeleton of next year's plan to edit.

Counts are per occupation × level of the year's plan: registered, accepted, refused, seated,
sat (present or late for at least one part), absent (recorded at the door, but admitted to no
part), passed, pass rate (of those who sat) and certificates issued (people certified from the
year's sittings — a reissue is not a second certificate; one revoked since still counts as issued).
"Passed" counts the candidates holding a certificate from this year's sittings — certificates are
issued only for released, passing results — so the figure is final once certificates are out.
"""

from __future__ import annotations

import io
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import distinct, func, select

from examvault.accounts.service import audit
from examvault.bank import Bank
from examvault.export.report import ReportDoc, Section, Table, to_docx, to_pdf
from examvault.itembank.domain import LEVEL_NAMES
from examvault.registration.models import Attendance, Candidate, Certificate, ExamSession
from examvault.registration.plan import EVALUATION_KINDS, get_plan
from examvault.registration.retention import add_years
from examvault.registration.sittings import occupation_name

COLUMNS = ["职业代码", "职业（工种）", "等级", "报名", "受理", "不予受理", "安排考试", "实考", "缺考", "合格", "合格率", "发证"]


def annual_statistics(bank: Bank, year: int) -> dict[str, Any]:
    with bank.transaction() as session:
        bank.actor(session, "report.annual")
        plan = get_plan(session, year).body
        status = Counter()
        for occ, lv, st, n in session.execute(select(Candidate.occupation, Candidate.level, Candidate.status, func.count())
                                              .where(Candidate.plan_year == year)
                                              .group_by(Candidate.occupation, Candidate.level, Candidate.status)):  # fmt: skip
            status[(occ, lv, st)] += n
        def by_key(q: Any) -> dict[tuple[str, int], int]:
            return {(o, lv): n for o, lv, n in session.execute(q)}

        seated = by_key(select(Candidate.occupation, Candidate.level, func.count()).where(
            Candidate.plan_year == year, Candidate.session_id.is_not(None)).group_by(Candidate.occupation, Candidate.level))  # fmt: skip
        sat_q = (select(Candidate.occupation, Candidate.level, func.count(distinct(Attendance.candidate_id)))
                 .join(Candidate, Candidate.id == Attendance.candidate_id).where(Candidate.plan_year == year)
                 .group_by(Candidate.occupation, Candidate.level))  # fmt: skip
        sat = by_key(sat_q.where(Attendance.status.in_(("present", "late"))))
        recorded = by_key(sat_q)
        certs = (select(Certificate.occupation, Certificate.level, func.count(distinct(Certificate.candidate_id)))
                 .join(Candidate, Candidate.id == Certificate.candidate_id).where(Candidate.plan_year == year)
                 .group_by(Certificate.occupation, Certificate.level))  # fmt: skip
        passed = by_key(certs.where(Certificate.status.in_(("issued", "replaced"))))
        issued = by_key(select(Certificate.occupation, Certificate.level, func.count(distinct(Certificate.candidate_id))).join(
            ExamSession, ExamSession.id == Certificate.session_id).where(ExamSession.plan_year == year,
            Certificate.status.in_(("issued", "replaced", "revoked"))).group_by(Certificate.occupation, Certificate.level))  # fmt: skip
        rows = []
        keys = sorted({(o["code"], lv) for o in plan["occupations"] for lv in o["levels"]} | {(o, lv) for o, lv, _ in status},
                      key=lambda k: (k[0], -k[1]))  # fmt: skip
        for occ, lv in keys:
            registered = sum(n for (o, lvl, _), n in status.items() if (o, lvl) == (occ, lv))
            k = (occ, lv)
            row = {"occupation": occ, "occupation_name": occupation_name(session, occ), "level": lv, "registered": registered,
                   "accepted": status[(occ, lv, "accepted")], "refused": status[(occ, lv, "refused")], "seated": seated.get(k, 0),
                   "sat": sat.get(k, 0), "absent": recorded.get(k, 0) - sat.get(k, 0),
                   "passed": passed.get(k, 0), "certificates": issued.get(k, 0)}  # fmt: skip
            row["pass_rate"] = round(row["passed"] / row["sat"], 4) if row["sat"] else None
            rows.append(row)
        totals = {f: sum(r[f] for r in rows) for f in ("registered", "accepted", "refused", "seated", "sat", "absent", "passed", "certificates")}
        totals["pass_rate"] = round(totals["passed"] / totals["sat"], 4) if totals["sat"] else None
        sessions = session.scalar(select(func.count()).where(ExamSession.plan_year == year)) or 0
        from examvault.custody.service import institution_title

        return {"year": year, "institution": institution_title(session), "sessions": sessions, "rows": rows, "totals": totals,
                "plan": plan}  # fmt: skip


def _rate(x: float | None) -> str:
    return "—" if x is None else f"{x * 100:.1f}%"


def _table_rows(stats: dict[str, Any]) -> list[list[str]]:
    out = [[r["occupation"], r["occupation_name"], LEVEL_NAMES[r["level"]], *(str(r[f]) for f in
            ("registered", "accepted", "refused", "seated", "sat", "absent", "passed")), _rate(r["pass_rate"]), str(r["certificates"])]
           for r in stats["rows"]]  # fmt: skip
    t = stats["totals"]
    out.append(["合计", "", "", *(str(t[f]) for f in ("registered", "accepted", "refused", "seated", "sat", "absent", "passed")),
                _rate(t["pass_rate"]), str(t["certificates"])])  # fmt: skip
    return out


def next_plan_skeleton(plan: dict[str, Any]) -> dict[str, Any]:
    """This year's plan moved one year on: dates shifted, to be edited and filed before announcing."""

    def shift(iso: str) -> str:
        return add_years(date.fromisoformat(iso), 1).isoformat()

    year = plan["year"] + 1
    return {"year": year, "title": f"{year}年度职业技能等级认定工作计划",
            "window": {"open": shift(plan["window"]["open"]), "close": shift(plan["window"]["close"])},
            "evaluation": plan["evaluation"], "sites": plan["sites"],
            "occupations": [{"code": o["code"], "levels": o["levels"], "fees": o["fees"],
                             "sessions": [str(year) + s[4:] if s[:4].isdigit() else s for s in o["sessions"]]} for o in plan["occupations"]],
            "employer_conditions": plan.get("employer_conditions") or [], "contact": plan.get("contact", ""),
            "notes": plan.get("notes") or []}  # fmt: skip


def write_annual_report(bank: Bank, year: int, out_dir: Path) -> dict[str, Any]:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    stats = annual_statistics(bank, year)
    t = stats["totals"]
    summary = (f"{year}年度，本机构按年度计划组织职业技能等级认定{stats['sessions']}批次，共受理报名{t['registered']}人次，"
               f"其中符合申报条件{t['accepted']}人、不予受理{t['refused']}人；安排考试{t['seated']}人，实考{t['sat']}人，"
               f"缺考{t['absent']}人；合格{t['passed']}人，合格率{_rate(t['pass_rate'])}；颁发职业技能等级证书{t['certificates']}本。")  # fmt: skip
    doc = ReportDoc(
        title=f"{year}年度职业技能等级认定工作统计报告", institution=stats["institution"],
        fields=[("统计年度", str(year)), ("认定批次", str(stats["sessions"])), ("评价类别", EVALUATION_KINDS[stats["plan"]["evaluation"]["kind"]]),
                ("报送期限", f"{year + 1}年1月31日前")],
        sections=[Section("一、工作概况", [summary]),
                  Section("二、分职业（工种）、等级统计", tables=[Table(COLUMNS, _table_rows(stats),
                          [1.3, 1.2, 1.3, 0.7, 0.7, 0.8, 0.8, 0.7, 0.7, 0.7, 0.8, 0.7])]),
                  Section("三、下一年度计划", [f"{year + 1}年度认定计划（草案）随本报告附后，经审定后发布公告。"])],
        signatures=["填报人（签名）", "机构负责人（签名）"], footer=f"{year}年度统计报告")  # fmt: skip
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = f"{year}年度职业技能等级认定统计"
    files = {"pdf": out_dir / f"{stem}报告.pdf", "docx": out_dir / f"{stem}报告.docx", "xlsx": out_dir / f"{stem}表.xlsx",
             "plan": out_dir / f"{year + 1}年度认定计划（草案）.yaml"}  # fmt: skip
    files["pdf"].write_bytes(to_pdf(doc))
    files["docx"].write_bytes(to_docx(doc))
    wb = Workbook()
    ws = wb.active
    ws.title = f"{year}年度统计"
    ws.append(COLUMNS)
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for r in _table_rows(stats):
        ws.append([int(x) if x.isdigit() else x for x in r])
    buf = io.BytesIO()
    wb.save(buf)
    files["xlsx"].write_bytes(buf.getvalue())
    files["plan"].write_text("# 下一年度认定计划（草案）：核对日期、职业、等级与收费后，用 `examvault plan create` 导入\n"
                             + yaml.safe_dump(next_plan_skeleton(stats["plan"]), allow_unicode=True, sort_keys=False), "utf-8")  # fmt: skip
    with bank.transaction(write=True) as session:
        actor = bank.actor(session, "report.annual")
        audit(session, actor, "report.annual", "exam_plan", str(year), totals=t)
    return {"year": year, "totals": t, "rows": stats["rows"], "files": {k: str(v) for k, v in files.items()}}
