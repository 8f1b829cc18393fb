"""`examvault staff …`: thin faces over staff.service and staff.badges."""

from __future__ import annotations

import json
from pathlib import Path

import click

from examvault.cli import State, _token_text, _trusted, _write_json, emit_json, err, pass_state, table
from examvault.registration.cli import _date


@click.group("staff")
def staff_group() -> None:
    """Examiners, invigilators, chief examiners and supervisors: registry, posts, badges, discipline."""


@staff_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True)
@pass_state
def staff_import(state: State, file: Path, as_json: bool) -> None:
    """Import a roster (xlsx, csv or json; columns 姓名, 证件号码, 工作单位, 人员类别, 证卡编号, 考评职业代码, 考评等级, 发证日期, 有效期至…). All or nothing."""
    from examvault.staff.service import import_staff

    r = import_staff(state.bank, file)
    if as_json:
        return emit_json(r)
    err.print(f"{r['imported']} staff imported from {r['file']}: {', '.join(s['code'] for s in r['staff'])}")


@staff_group.command("add")
@click.option("--name", required=True)
@click.option("--id-number", required=True)
@click.option("--roles", required=True, help="examiner, senior_examiner, invigilator, chief_examiner, supervisor (or 考评员, 监考…), comma-separated.")
@click.option("--work-unit", default="")
@click.option("--phone", default="")
@click.option("--code", default="", help="Staff code (default: the next ST#####).")
@click.option("--card", "card_number", default="", help="Credential card number.")
@click.option("--card-occupation", default="")
@click.option("--card-levels", default="", help="e.g. 3-5 or 3,4,5")
@click.option("--card-issued", default="")
@click.option("--card-valid-until", default="")
@click.option("--json", "as_json", is_flag=True)
@pass_state
def staff_add(state: State, name: str, id_number: str, roles: str, work_unit: str, phone: str, code: str, card_number: str,
              card_occupation: str, card_levels: str, card_issued: str, card_valid_until: str, as_json: bool) -> None:  # fmt: skip
    from examvault.staff.service import add_staff

    card = {"credential_number": card_number, "occupation": card_occupation, "levels": card_levels, "issued_on": card_issued,
            "valid_until": card_valid_until}  # fmt: skip
    r = add_staff(state.bank, name=name, id_number=id_number, roles=roles, work_unit=work_unit, phone=phone, code=code, credential=card)
    if as_json:
        return emit_json(r)
    err.print(f"staff {r['code']} registered ({', '.join(r['roles'])})")


@staff_group.command("list")
@click.option("--role")
@click.option("--status", type=click.Choice(["active", "suspended", "revoked"]))
@click.option("--json", "as_json", is_flag=True)
@pass_state
def staff_list(state: State, role: str | None, status: str | None, as_json: bool) -> None:
    from examvault.staff.service import list_staff

    rows = list_staff(state.bank, role=role, status=status)
    if as_json:
        return emit_json(rows)
    table(["code", "name", "roles", "credential", "valid until", "status"],
          [[r["code"], r["name"], ",".join(r["roles"]), r["credential_number"], r["valid_until"], r["status"]] for r in rows])  # fmt: skip


@staff_group.command("show")
@click.argument("code")
@click.option("--json", "as_json", is_flag=True)
@pass_state
def staff_show(state: State, code: str, as_json: bool) -> None:
    from examvault.staff.service import show_staff

    r = show_staff(state.bank, code)
    if as_json:
        return emit_json(r)
    err.print(f"{r['code']} {r['name']} ({', '.join(r['roles'])}) — {r['status']}{': ' + r['status_reason'] if r['status_reason'] else ''}\n"
              f"ID {r['id_number_masked']}, {r['work_unit'] or 'no work unit'}, {r['declared_relations']} declared relation(s)")  # fmt: skip
    table(["card", "kind", "occupation", "levels", "issued", "valid until", "revoked"],
          [[c["number"], c["kind"], c["occupation"], ",".join(map(str, c["levels"])), c["issued_on"], c["valid_until"], c["revoked_at"]] for c in r["credentials"]])  # fmt: skip
    if r["training"]:
        table(["training", "on", "hours", "result"], [[t["title"], t["on"], t["hours"], t["result"]] for t in r["training"]])
    if r["assignments"]:
        table(["session", "duty", "room/task", "assigned", "ended"],
              [[a["session"], a["duty"], a["room"] or a["task"] or "", a["assigned_at"][:16], (a["ended_at"] or "")[:16] + (f" {a['ended_reason']}" if a["ended_reason"] else "")] for a in r["assignments"]])  # fmt: skip
    if r["sanctions"]:
        table(["sanction", "reason", "by", "at"], [[s["tier"], s["reason"], s["recorded_by"], s["recorded_at"][:16]] for s in r["sanctions"]])


def _status_command(name: str, status: str, help_text: str) -> None:
    @staff_group.command(name, help=help_text)
    @click.argument("code")
    @click.option("--reason", required=True)
    @pass_state
    def command(state: State, code: str, reason: str) -> None:
        from examvault.staff.service import set_status

        r = set_status(state.bank, code, status, reason)
        err.print(f"{r['staff']} is {r['status']}; {r['posts_ended']} open post(s) ended" +
                  (f"; cards revoked: {', '.join(r['cards_revoked'])}" if r["cards_revoked"] else ""))  # fmt: skip


_status_command("suspend", "suspended", "Suspend a person (暂停): no new posts; open posts in running sessions end.")
_status_command("revoke", "revoked", "Revoke a person (取消资格): every card is revoked (撤回证卡); past posts stay in the record.")
_status_command("reinstate", "active", "Lift a suspension.")


@staff_group.command("credential")
@click.argument("code")
@click.option("--number", required=True)
@click.option("--kind", required=True, type=click.Choice(["examiner", "senior_examiner", "chief_examiner", "supervisor"]))
@click.option("--occupation", default=None)
@click.option("--levels", default="")
@click.option("--issued-on", required=True)
@click.option("--valid-until", required=True)
@pass_state
def staff_credential(state: State, code: str, number: str, kind: str, occupation: str | None, levels: str, issued_on: str, valid_until: str) -> None:
    """Register a credential card (考评员证卡 / 督导员证卡)."""
    from examvault.staff.service import add_credential

    r = add_credential(state.bank, code, number=number, kind=kind, occupation=occupation, levels=levels,
                       issued_on=_date(issued_on, "--issued-on"), valid_until=_date(valid_until, "--valid-until"))  # fmt: skip
    err.print(f"card {r['credential_number']} of {r['staff']} valid until {r['valid_until']}")


@staff_group.command("training")
@click.argument("code")
@click.option("--on", "on", required=True)
@click.option("--title", required=True)
@click.option("--hours", type=float, default=0)
@click.option("--result", default="合格")
@pass_state
def staff_training(state: State, code: str, on: str, title: str, hours: float, result: str) -> None:
    from examvault.staff.service import add_training

    r = add_training(state.bank, code, on=_date(on, "--on"), title=title, hours=hours, result=result)
    err.print(f"training recorded for {r['staff']}: {r['title']} ({r['on']})")


@staff_group.command("relation")
@click.argument("code")
@click.option("--id-number", required=True, help="The related person's ID number (a candidate is then avoided).")
@click.option("--relation", required=True, help="配偶, 直系亲属, 师生, 同事…")
@pass_state
def staff_relation(state: State, code: str, id_number: str, relation: str) -> None:
    from examvault.staff.service import declare_relation

    r = declare_relation(state.bank, code, id_number=id_number, relation=relation)
    err.print(f"{r['staff']} now has {r['relations']} declared relation(s)")
    for line in r["conflicts"]:  # the declaration stands; the post must change before room acceptance
        err.print(f"conflict with a post held now: {line}", markup=False)


@staff_group.command("rules")
@click.option("--set", "set_file", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="Install a new version from YAML/JSON.")
@click.option("--json", "as_json", is_flag=True)
@pass_state
def staff_rules(state: State, set_file: Path | None, as_json: bool) -> None:
    """Show the assignment rules (配备与回避规则), or install a new version."""
    from examvault.staff.service import set_rules, show_rules

    if set_file:
        r = set_rules(state.bank, set_file)
        return emit_json(r) if as_json else err.print(f"rule set v{r['version']} installed ({r['rules']} rules)")
    r = show_rules(state.bank)
    if as_json:
        return emit_json(r)
    err.print(f"rule set v{r['version']}" + (" (the packaged default)" if r["default"] else f", by {r['created_by']}"))
    table(["id", "name", "kind", "applies to"],
          [[x["id"], x.get("name", ""), x["kind"], x.get("duty") and f"{x['duty']} in {','.join(x.get('rooms', []))}" or str(x.get("duties", "all"))]
           for x in r["rules"]["rules"]])  # fmt: skip


@staff_group.command("assign")
@click.argument("session_code")
@click.argument("codes", nargs=-1, required=True)
@click.option("--duty", required=True, type=click.Choice(["invigilator", "examiner", "chief_examiner", "marker", "supervisor"]))
@click.option("--room", help="Room or station (invigilator, examiner).")
@click.option("--task", help="Marking task (marker), e.g. '简答题 41-45'.")
@click.option("--json", "as_json", is_flag=True)
@pass_state
def staff_assign(state: State, session_code: str, codes: tuple[str, ...], duty: str, room: str | None, task: str | None, as_json: bool) -> None:
    """Put people on one post, all or none, checked against the rules; a refusal names each rule broken."""
    from examvault.staff.service import assign

    r = assign(state.bank, session_code, duty, codes, room=room, task=task)
    if as_json:
        return emit_json(r)
    err.print(f"{', '.join(r['staff'])} assigned as {duty}" + (f" in {room}" if room else "") + (f" to {task!r}" if task else "")
              + f" ({r['post_size']} on this post; rules v{r['rules_version']})")  # fmt: skip


@staff_group.command("unassign")
@click.argument("session_code")
@click.argument("code")
@click.option("--reason", required=True)
@pass_state
def staff_unassign(state: State, session_code: str, code: str, reason: str) -> None:
    from examvault.staff.service import unassign

    r = unassign(state.bank, session_code, code, reason=reason)
    err.print(f"{r['staff']}: {r['posts_ended']} post(s) ended in {r['session']}")


@staff_group.command("staffing")
@click.argument("session_code")
@click.option("--json", "as_json", is_flag=True)
@pass_state
def staff_staffing(state: State, session_code: str, as_json: bool) -> None:
    """Each room's staffing against the rules."""
    from examvault.staff.service import staffing

    r = staffing(state.bank, session_code)
    if as_json:
        return emit_json(r)
    table(["room", "kind", "candidates", "required", "assigned", "problems"],
          [[x["room"], x["kind"], x["candidates"], ", ".join(f"{d} {n}" for d, n in x["required"].items()),
            "; ".join(f"{d}: {' '.join(v)}" for d, v in x["assigned"].items()), "; ".join(x["problems"]) or "ok"] for x in r["rooms"]])  # fmt: skip
    if r["session_posts"]:
        err.print("session-wide: " + "; ".join(f"{d}: {' '.join(v)}" for d, v in r["session_posts"].items()))


@staff_group.command("sanction")
@click.argument("code")
@click.option("--tier", required=True, type=click.Choice(["warning", "removal", "credential_revoked", "reported_to_unit"]))
@click.option("--reason", required=True)
@click.option("--session", "session_code", help="The session where it happened.")
@click.option("--json", "as_json", is_flag=True)
@pass_state
def staff_sanction(state: State, code: str, tier: str, reason: str, session_code: str | None, as_json: bool) -> None:
    """Record a discipline sanction (工作人员违规违纪处理); its effects apply at once."""
    from examvault.staff.service import record_sanction

    r = record_sanction(state.bank, code, tier, reason, session_code=session_code)
    if as_json:
        return emit_json(r)
    err.print(f"{r['staff']}: {tier} recorded; {r['posts_ended']} post(s) ended"
              + (f"; cards revoked: {', '.join(r['cards_revoked'])}" if r["cards_revoked"] else "")
              + (f"; report to {r['report_to']}" if r.get("report_to") else ""))  # fmt: skip


@staff_group.command("badge")
@click.argument("session_code")
@click.argument("codes", nargs=-1)
@click.option("--out", "out_path", required=True, type=click.Path(dir_okay=False, path_type=Path), help="badges.pdf")
@click.option("--tokens", "tokens_path", type=click.Path(dir_okay=False, path_type=Path), help="Also write the tokens as JSON.")
@pass_state
def staff_badge(state: State, session_code: str, codes: tuple[str, ...], out_path: Path, tokens_path: Path | None) -> None:
    """Print badges (工作证) with signed QR tokens for the people on duty in a session."""
    from examvault.staff.badges import issue_badges

    badges = issue_badges(state.bank, session_code, codes, out_path=out_path)
    if tokens_path:
        _write_json(tokens_path, [{"staff": b["staff"], "token": b["token"]} for b in badges])
    err.print(f"{len(badges)} badge(s) written to {out_path}")


@staff_group.command("revocations")
@click.option("--out", "out_path", required=True, type=click.Path(dir_okay=False, path_type=Path))
@pass_state
def staff_revocations(state: State, out_path: Path) -> None:
    """Write the signed revocation list that door checks load before exam day."""
    from examvault.staff.badges import revocation_list

    doc = revocation_list(state.bank)
    _write_json(out_path, doc)
    err.print(f"revocation list: {len(doc['list']['staff'])} people, {len(doc['list']['credentials'])} cards → {out_path}")


@staff_group.command("verify-badge")
@click.argument("token")
@click.option("--trust", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="institution.vkey (or EXAMVAULT_TRUST)")
@click.option("--revocations", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="The signed revocation list.")
@click.option("--on", "on", help="Check for this date (default: today, Beijing time).")
@click.option("--session", "expect_session", help="This door's session: a badge for another is refused.")
@click.option("--room", "expect_room", help="This door's room: a badge without a post in it is refused.")
@click.option("--max-list-age", type=float, default=72, show_default=True, help="Hours: an older revocation list is refused.")
@click.option("--online", is_flag=True, help="Ask the bank instead (needs --db and a user).")
@click.option("--json", "as_json", is_flag=True)
@pass_state
def staff_verify_badge(state: State, token: str, trust: Path | None, revocations: Path | None, on: str | None, expect_session: str | None,
                       expect_room: str | None, max_list_age: float, online: bool, as_json: bool) -> None:  # fmt: skip
    """The door check of a badge's QR text (TOKEN, or @FILE holding it). Offline unless --online."""
    from datetime import timedelta

    from examvault.errors import ValidationError
    from examvault.staff.badges import check_badge, verify_badge

    token = _token_text(token)
    day = _date(on, "--on") if on else None
    if online:
        r = check_badge(state.bank, token, on=day, session_code=expect_session, room=expect_room)
    else:
        crl = None
        if revocations:
            try:
                crl = json.loads(revocations.read_text("utf-8"))
            except ValueError:
                raise ValidationError(f"{revocations} is not JSON") from None
        r = verify_badge(token, _trusted(trust), revocations=crl, on=day, what=str(revocations), session=expect_session,
                         room=expect_room, max_list_age=timedelta(hours=max_list_age))  # fmt: skip
    if as_json:
        return emit_json(r)
    posts = "; ".join(p["duty"] + (f" {p['room']}" if p["room"] else "") + (f" {p['task']}" if p["task"] else "") for p in r["posts"])
    err.print(f"valid: {r['staff']} {r['name']}, {posts}, session {r['session']} on {r['valid_on']}"
              + ("" if r["revocation_checked"] else " — revocation NOT checked (give --revocations)"))  # fmt: skip


@staff_group.command("metrics")
@click.option("--marks", "marks_path", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Marking table: 密封号, 题号, 评分人, 得分, 满分[, 用时秒, 仲裁].")
@click.option("--min-pairs", type=int, default=20, show_default=True, help="Fewer double-marked pairs: never flagged.")
@click.option("--json", "as_json", is_flag=True)
def staff_metrics(marks_path: Path, min_pairs: int, as_json: bool) -> None:
    """Examiner quality metrics: spread against second markers, arbitration rate, time per script; outliers flagged."""
    from examvault.staff.metrics import Thresholds, examiner_metrics, to_json
    from examvault.staff.service import read_marks

    rows = [to_json(m) for m in examiner_metrics(read_marks(marks_path), Thresholds(min_pairs=min_pairs))]
    if as_json:
        return emit_json(rows)
    table(["examiner", "marks", "pairs", "mean diff", "mean |diff|", "arbitration", "s/script", "flags"],
          [[r["marker"], r["marks"], r["pairs"], r["mean_diff"], r["mean_abs_diff"], r["arbitration_rate"], r["median_seconds"],
            "; ".join(str(f["message"]) for f in r["flags"]) or "—"] for r in rows])  # fmt: skip
