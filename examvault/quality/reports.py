"""The session's supervision report (督导报告) and evaluation work record (考评工作记录),
built from what was recorded: posts, refusals, findings, checklists, incidents, sanctions.

The supervision report counts incidents per room and never names a candidate; the work
record, kept by the institution, lists each incident as recorded.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from examvault.accounts.models import AuditEvent
from examvault.accounts.service import audit, require
from examvault.bank import Bank
from examvault.crypto.keyring import Keyring
from examvault.custody.service import institution_title
from examvault.errors import ValidationError
from examvault.export.report import ReportDoc, Section, Table, to_docx, to_pdf
from examvault.itembank import domain
from examvault.itembank.models import Occupation
from examvault.quality.models import Incident
from examvault.quality.service import INCIDENT_KINDS, checklist_state, findings, incidents, stage_name
from examvault.registration.models import ExamSession, Room
from examvault.registration.service import STAGES, get_session, session_summary
from examvault.staff.models import Sanction, StaffMember
from examvault.staff.service import DUTY_NAMES, SANCTION_NAMES, on_duty, staffing_report

KINDS = ("supervision", "work-record")
BEIJING = ZoneInfo("Asia/Shanghai")
ROOM_KIND_NAMES = {"theory": "理论考场", "skill": "实操考场", "defence": "答辩/评审"}


def _local(when: datetime | str) -> str:
    """Beijing time to the minute, from a stored time or its ISO text."""
    moment = datetime.fromisoformat(when) if isinstance(when, str) else when
    return moment.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M")


def _header(session: Session, exam: ExamSession, summary: dict[str, Any], supervisors: list[str]) -> list[tuple[str, str]]:
    occ = session.scalars(select(Occupation.name).where(Occupation.code == exam.occupation)).first() or ""
    return [
        ("认定批次", exam.code), ("职业（工种）", f"{occ}（{exam.occupation}）" if occ else exam.occupation),
        ("等级", domain.LEVEL_NAMES[exam.level]), ("考核日期", exam.exam_date.isoformat()),
        ("考点", exam.site or "—"), ("考生人数", str(summary["candidates"])),
        ("督导员", "、".join(supervisors) or "—"), ("当前环节", stage_name(exam.stage)),
    ]  # fmt: skip


def _refusals(session: Session, exam: ExamSession) -> list[AuditEvent]:
    q = select(AuditEvent).where(AuditEvent.action == "staff.assign.refused", AuditEvent.target_id == exam.code)
    return list(session.scalars(q.order_by(AuditEvent.id)))


def _refusal_table(events: list[AuditEvent]) -> Table:
    return Table(["时间", "人员", "岗位", "考场/任务", "触发规则"], [[_local(e.at), "、".join(e.details.get("staff", [])), DUTY_NAMES.get(e.details.get("duty"), str(e.details.get("duty"))),
             e.details.get("room") or e.details.get("task") or "—", "、".join(e.details.get("rules", []))] for e in events],
                 [1.3, 1, 0.7, 1, 2.5])  # fmt: skip


def build(session: Session, exam: ExamSession, keyring: Keyring, kind: str) -> ReportDoc:
    summary = session_summary(session, exam)
    posts = on_duty(session, exam, keyring)
    supervisors = [p["name"] for p in posts if p["duty"] == "supervisor" and p["ended_at"] is None]
    header = _header(session, exam, summary, supervisors)
    refusals = _refusals(session, exam)
    inst = institution_title(session)
    if kind == "supervision":  # counts only: the sealed descriptions are not opened
        return _supervision(session, exam, keyring, header, inst, refusals)
    return _work_record(exam, header, inst, summary, posts, incidents(session, exam, keyring), refusals)


def _supervision(session: Session, exam: ExamSession, keyring: Keyring, header: list[tuple[str, str]], inst: str,
                 refusals: list[AuditEvent]) -> ReportDoc:  # fmt: skip
    rows = findings(session, exam)
    issues = [f for f in rows if f["issue"]]
    blocking = [f for f in issues if f["blocking"]]
    open_ = [f for f in issues if f["status"] == "open"]
    stages = sorted({f["stage"] for f in rows}, key=STAGES.index)
    status = {"open": "未整改", "resolved": "已整改", "closed": "无问题"}
    overview = (f"督导员对本批次 {len(stages)} 个环节（{'、'.join(stage_name(s) for s in stages) or '—'}）进行了检查，"
                f"形成检查记录 {len(rows)} 条，发现问题 {len(issues)} 条（其中阻断性问题 {len(blocking)} 条），"
                f"已整改 {len(issues) - len(open_)} 条，未整改 {len(open_)} 条。")  # fmt: skip
    finding_table = Table(["序号", "环节", "检查内容", "发现问题", "整改要求", "整改情况", "督导员"],
                          [[str(f["id"]), f["stage_name"] + ("（阻断）" if f["blocking"] else ""), f["checked"], f["issue"] or "—",
                            f["correction"] or "—", status[f["status"]] + (f"：{f['resolution']}" if f["resolution"] else ""),
                            f["supervisor"]] for f in rows],
                          [0.5, 1.1, 2, 2, 2, 1.6, 0.9])  # fmt: skip
    staffing = staffing_report(session, exam, keyring)
    checks = []
    for st in checklist_state(session, exam, keyring, staffing):
        for i in st["items"]:
            result = "未检查" if i["passed"] is None else "通过" if i["passed"] else "未通过"
            checks.append([st["name"], i["text"] + ("（自动）" if i["auto"] else ""), result, i["note"] or ""])
    staff_rows = [[r["room"], ROOM_KIND_NAMES.get(r["kind"], r["kind"]), str(r["candidates"]),
                   "、".join(f"{DUTY_NAMES.get(d, d)}{n}人" for d, n in r["required"].items()) or "—",
                   "、".join(f"{DUTY_NAMES.get(d.split(':')[0], d)}{len(v)}人" for d, v in r["assigned"].items()) or "—",
                   "符合" if not r["problems"] else "不符合：" + "；".join(r["problems"])] for r in staffing["rooms"]]  # fmt: skip
    per_room = Counter((room or "—", kind) for room, kind in session.execute(
        select(Room.code, Incident.kind).outerjoin(Room, Room.id == Incident.room_id).where(Incident.session_id == exam.id)))  # fmt: skip
    room_codes = sorted({room for room, _ in per_room})
    incident_rows = [[room, *(str(per_room[(room, k)]) for k in INCIDENT_KINDS)] for room in room_codes]
    staff_codes = dict(session.execute(select(StaffMember.id, StaffMember.code)).all())
    sanctions = [[staff_codes[s.staff_id], SANCTION_NAMES[s.tier], s.reason, _local(s.recorded_at)]
                 for s in session.scalars(select(Sanction).where(Sanction.session_id == exam.id).order_by(Sanction.id))]  # fmt: skip
    holding = [f for f in open_ if f["blocking"]]
    if holding:
        opinion = (f"尚有 {len(open_)} 条问题未整改，其中 {len(holding)} 条为阻断性问题；"
                   "阻断性问题整改并经督导员确认前，本批次不得进入下一环节。")  # fmt: skip
    elif open_:
        opinion = f"尚有 {len(open_)} 条一般性问题未整改，应按整改要求限期整改，由督导员复查确认。"
    else:
        opinion = "本批次已检查环节的问题均已整改并经督导员确认，认定工作符合质量管理规定。"
    sections = [
        Section("一、督导概况", [overview]),
        Section("二、检查记录", [] if rows else ["无检查记录。"], [finding_table] if rows else []),
        Section("三、质量控制检查表", [], [Table(["环节", "检查项", "结果", "说明"], checks, [1, 3, 0.7, 2.3])]),
        Section("四、考务人员配备与回避",
                [f"按配备与回避规则拒绝的安排 {len(refusals)} 次。" if refusals else "无被拒绝的人员安排。"],
                [Table(["考场", "类型", "考生数", "应配", "实配", "结论"], staff_rows, [0.8, 0.9, 0.7, 1.4, 1.4, 2.8])]
                + ([_refusal_table(refusals)] if refusals else [])),
        Section("五、考场情况统计", [] if per_room else ["各考场未记录缺考、迟到、违纪或异常情况。"],
                [Table(["考场", *INCIDENT_KINDS.values()], incident_rows)] if per_room else []),
        Section("六、工作人员违规违纪处理", [] if sanctions else ["无。"],
                [Table(["人员编号", "处理", "事由", "时间"], sanctions, [1, 1, 3, 1.2])] if sanctions else []),
        Section("七、督导意见", [opinion]),
    ]  # fmt: skip
    return ReportDoc("职业技能等级认定质量督导报告", inst, header, sections, ["内部质量督导员（签名）", "认定机构负责人（签名）"],
                     footer=f"{inst} 督导报告 {exam.code}")  # fmt: skip


def _work_record(exam: ExamSession, header: list[tuple[str, str]], inst: str, summary: dict[str, Any], posts: list[dict[str, Any]],
                 events: list[dict[str, Any]], refusals: list[AuditEvent]) -> ReportDoc:  # fmt: skip
    staff_rows = [[p["name"], p["staff"], DUTY_NAMES.get(p["duty"], p["duty"]), p["room"] or p["task"] or "全批次",
                   p["credential_number"] or "—", f"已撤岗：{p['ended_reason']}" if p["ended_at"] else ""] for p in posts]  # fmt: skip
    # Incidents are never edited: a correction is a second line, so count candidates, not lines.
    absent = Counter(room for room, _ in {(e["room"], e["candidate"] or e["id"]) for e in events if e["kind"] == "absent"})
    by_room: dict[str, list[str]] = {}
    for p in posts:
        if p["room"] and not p["ended_at"]:
            by_room.setdefault(p["room"], []).append(p["name"])
    room_rows = [[r["code"], ROOM_KIND_NAMES.get(r["kind"], r["kind"]), str(r["candidates"]), str(r["candidates"] - absent[r["code"]]),
                  str(absent[r["code"]]), "、".join(by_room.get(r["code"], [])) or "—"] for r in summary["rooms"]]  # fmt: skip
    incident_rows = [[_local(e["occurred_at"]), e["room"] or "—", e["kind_name"], e["candidate"] or "—", e["description"],
                      e["reported_by"] or e["recorded_by"]] for e in events]  # fmt: skip
    sections = [
        Section("一、考评人员", [], [Table(["姓名", "人员编号", "岗位", "考场/任务", "证卡编号", "备注"], staff_rows, [1, 1, 0.8, 1.2, 1.3, 1.7])]),
        Section("二、考场与考生", [], [Table(["考场", "类型", "应考", "实考", "缺考", "监考/考评人员"], room_rows, [0.8, 0.9, 0.6, 0.6, 0.6, 2.5])]),
        Section("三、考场情况记录", [] if events else ["无。"],
                [Table(["时间", "考场", "类别", "考生", "情况说明", "报告人"], incident_rows, [1.3, 0.7, 0.7, 1.1, 3, 0.9])] if events else []),
        Section("四、回避与人员安排", [f"人员安排均经配备与回避规则检查；被拒绝 {len(refusals)} 次。"],
                [_refusal_table(refusals)] if refusals else []),
    ]  # fmt: skip
    return ReportDoc("职业技能等级认定考评工作记录", inst, header, sections,
                     ["主考（签名）", "考评员（签名）", "内部质量督导员（签名）"], footer=f"{inst} 考评工作记录 {exam.code}")  # fmt: skip


def write_report(bank: Bank, session_code: str, kind: str, out: Path) -> dict[str, Any]:
    """Render the report as PDF or DOCX by the file's suffix. Both are built from the same ReportDoc."""
    if kind not in KINDS:
        raise ValidationError(f"report kind {kind!r} is not one of {', '.join(KINDS)}")
    if out.suffix.lower() not in (".pdf", ".docx"):
        raise ValidationError(f"{out}: the report is written as .pdf or .docx")
    with bank.transaction(write=True) as session:
        actor = bank.actor(session, "quality.report")
        if kind == "work-record":  # it lists every incident as recorded: the sealed descriptions too
            require(actor, "quality.incident")
        exam = get_session(session, session_code)
        doc = build(session, exam, bank.keyring(session), kind)
        data = to_pdf(doc) if out.suffix.lower() == ".pdf" else to_docx(doc)
        try:
            out.write_bytes(data)  # before the audit event commits: no event for a report never written
        except OSError as exc:
            raise ValidationError(f"{out}: cannot write the report ({exc.strerror})") from None
        audit(session, actor, "quality.report", "exam_session", session_code, kind=kind, file=out.name)
    return {"session": session_code, "kind": kind, "file": str(out), "bytes": len(data), "sections": [s.heading for s in doc.sections]}
