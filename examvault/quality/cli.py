"""`examvault quality …`: thin faces over quality.service and quality.reports."""

from __future__ import annotations

from pathlib import Path

import click

from examvault.cli import State, _when, emit_json, err, pass_state, table

STAGE_CHOICE = click.Choice(["registration_review", "paper_approval", "room_acceptance", "marking", "result_registration"])


@click.group("quality")
def quality_group() -> None:
    """Supervision (质量督导): findings, stage checklists, exam-room incidents and reports."""


@quality_group.command("file")
@click.argument("session_code")
@click.option("--stage", required=True, type=STAGE_CHOICE)
@click.option("--supervisor", required=True, help="The supervisor's staff code (on duty in the session).")
@click.option("--checked", required=True, help="What was checked.")
@click.option("--issue", default="", help="The issue found (empty: checked, nothing found).")
@click.option("--correction", default="", help="The correction required.")
@click.option("--blocking", is_flag=True, help="The session cannot leave this stage until the finding is resolved.")
@click.option("--json", "as_json", is_flag=True)
@pass_state
def quality_file(state: State, session_code: str, stage: str, supervisor: str, checked: str, issue: str, correction: str,
                 blocking: bool, as_json: bool) -> None:  # fmt: skip
    """File an inspection record."""
    from examvault.quality.service import file_finding

    r = file_finding(state.bank, session_code, stage=stage, supervisor=supervisor, checked=checked, issue=issue,
                     correction=correction, blocking=blocking)  # fmt: skip
    if as_json:
        return emit_json(r)
    err.print(f"finding {r['id']} filed on {r['stage']} ({r['status']}{', blocking' if r['blocking'] else ''})")


@quality_group.command("resolve")
@click.argument("finding_id", type=int)
@click.option("--supervisor", required=True, help="The supervisor's staff code (on duty in the session).")
@click.option("--resolution", required=True, help="How the correction was verified.")
@pass_state
def quality_resolve(state: State, finding_id: int, supervisor: str, resolution: str) -> None:
    from examvault.quality.service import resolve_finding

    r = resolve_finding(state.bank, finding_id, resolution=resolution, supervisor=supervisor)
    err.print(f"finding {r['id']} resolved by {r['resolved_by']}")


@quality_group.command("findings")
@click.argument("session_code")
@click.option("--open", "open_only", is_flag=True)
@click.option("--json", "as_json", is_flag=True)
@pass_state
def quality_findings(state: State, session_code: str, open_only: bool, as_json: bool) -> None:
    from examvault.quality.service import list_findings

    rows = list_findings(state.bank, session_code, open_only=open_only)
    if as_json:
        return emit_json(rows)
    table(["id", "stage", "checked", "issue", "correction", "blocking", "status"],
          [[f["id"], f["stage"], f["checked"], f["issue"], f["correction"], f["blocking"], f["status"]] for f in rows])  # fmt: skip


@quality_group.command("check")
@click.argument("session_code")
@click.argument("stage", type=STAGE_CHOICE)
@click.argument("item")
@click.option("--pass/--fail", "passed", required=True)
@click.option("--supervisor", required=True, help="The supervisor's staff code (on duty in the session).")
@click.option("--note", default="")
@pass_state
def quality_check(state: State, session_code: str, stage: str, item: str, passed: bool, supervisor: str, note: str) -> None:
    """Tick one checklist item of a stage."""
    from examvault.quality.service import tick

    r = tick(state.bank, session_code, stage, item, passed=passed, note=note, supervisor=supervisor)
    err.print(f"{r['stage']}/{r['item']}: {'passed' if r['passed'] else 'failed'}")


@quality_group.command("checklist")
@click.argument("session_code")
@click.option("--json", "as_json", is_flag=True)
@pass_state
def quality_checklist(state: State, session_code: str, as_json: bool) -> None:
    """Every stage's checklist, automatic checks evaluated now, and open blocking findings."""
    from examvault.quality.service import checklist

    r = checklist(state.bank, session_code)
    if as_json:
        return emit_json(r)
    rows = []
    for st in r["stages"]:
        for i in st["items"]:
            rows.append([st["stage"] + (" ◀" if st["state"] == "current" else ""), i["id"], i["text"],
                         "—" if i["passed"] is None else "pass" if i["passed"] else "FAIL", i["note"]])  # fmt: skip
        if st["open_blocking_findings"]:
            rows.append([st["stage"], "findings", "open blocking findings", "BLOCKED", ", ".join(map(str, st["open_blocking_findings"]))])
    table(["stage", "item", "check", "result", "note"], rows, title=f"session {r['session']}: stage {r['stage']}")


@quality_group.command("incident")
@click.argument("session_code")
@click.option("--kind", required=True, type=click.Choice(["absent", "late", "violation", "irregularity"]))
@click.option("--description", required=True)
@click.option("--room")
@click.option("--candidate", help="The candidate's registration code.")
@click.option("--by", "reported_by", help="The invigilator's staff code.")
@click.option("--at", "at", help="When (Beijing time, e.g. 2026-12-12T09:05).")
@pass_state
def quality_incident(state: State, session_code: str, kind: str, description: str, room: str | None, candidate: str | None,
                     reported_by: str | None, at: str | None) -> None:  # fmt: skip
    """Record a line of the 考场情况记录表 (the description is encrypted)."""
    from examvault.quality.service import record_incident

    r = record_incident(state.bank, session_code, kind=kind, description=description, room=room, candidate=candidate,
                        reported_by=reported_by, at=_when(at, "--at") if at else None)  # fmt: skip
    err.print(f"incident {r['kind']} recorded in {r['session']}" + (f", room {r['room']}" if r["room"] else ""))


@quality_group.command("incidents")
@click.argument("session_code")
@click.option("--json", "as_json", is_flag=True)
@pass_state
def quality_incidents(state: State, session_code: str, as_json: bool) -> None:
    from examvault.quality.service import list_incidents

    rows = list_incidents(state.bank, session_code)
    if as_json:
        return emit_json(rows)
    table(["at", "room", "kind", "candidate", "description", "by"],
          [[r["occurred_at"][:16], r["room"], r["kind"], r["candidate"], r["description"], r["reported_by"] or r["recorded_by"]] for r in rows])  # fmt: skip


@quality_group.command("report")
@click.argument("session_code")
@click.option("--kind", required=True, type=click.Choice(["supervision", "work-record"]), help="督导报告 or 考评工作记录")
@click.option("--out", "out_path", required=True, type=click.Path(dir_okay=False, path_type=Path), help="FILE.pdf or FILE.docx")
@click.option("--json", "as_json", is_flag=True)
@pass_state
def quality_report(state: State, session_code: str, kind: str, out_path: Path, as_json: bool) -> None:
    """Render the supervision report or the evaluation work record from recorded data."""
    from examvault.quality.reports import write_report

    r = write_report(state.bank, session_code, kind, out_path)
    if as_json:
        return emit_json(r)
    err.print(f"{kind} report for {r['session']}: {r['file']} ({r['bytes']} bytes)")
