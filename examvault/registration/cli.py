"""`examvault session|candidate|plan|ticket|attendance …`: thin faces over the registration services."""

from __future__ import annotations

from pathlib import Path

import click

from examvault.cli import State, emit_json, err, pass_state, table


def _date(text: str, option: str):  # noqa: ANN202
    from examvault.errors import ValidationError
    from examvault.staff.service import parse_date

    try:
        return parse_date(text)
    except ValueError as exc:
        raise ValidationError(f"{option}: {exc}") from None


@click.group("session")
def session_group() -> None:
    """Exam sessions (认定批次): rooms and stations, stages and their quality gates."""


@session_group.command("create")
@click.argument("code")
@click.option("--occupation", required=True, help="Occupation code, e.g. 6-31-01-03.")
@click.option("--level", required=True, type=int, help="5 (五级) … 1 (一级).")
@click.option("--date", "exam_date", required=True, help="Exam date, e.g. 2026-12-12.")
@click.option("--site", default="", help="The exam site (考点).")
@click.option("--paper", "papers", multiple=True, help="A paper code used in this session (repeat).")
@click.option("--plan", "plan_year", type=int, help="Draw candidates from this year's plan (gives the session its ticket serial).")
@click.option("--site-code", default="", help="The plan's 6-digit site code.")
@click.option("--theory", help="理论知识考试 time, HH:MM-HH:MM.")
@click.option("--skill", help="操作技能考核 time, HH:MM-HH:MM.")
@click.option("--defence", help="答辩 time (levels 2/1), HH:MM-HH:MM.")
@click.option("--review", help="综合评审 time (levels 2/1), HH:MM-HH:MM.")
@pass_state
def session_create(state: State, code: str, occupation: str, level: int, exam_date: str, site: str, papers: tuple[str, ...],
                   plan_year: int | None, site_code: str, theory: str | None, skill: str | None, defence: str | None,
                   review: str | None) -> None:  # fmt: skip
    from examvault.registration.service import create_session

    times = {k: v for k, v in (("theory", theory), ("skill", skill), ("defence", defence), ("review", review)) if v}
    r = create_session(state.bank, code, occupation=occupation, level=level, exam_date=_date(exam_date, "--date"), site=site,
                       papers=papers, plan_year=plan_year, site_code=site_code, times=times)  # fmt: skip
    err.print(f"session {r['code']} created: {r['occupation']} level {r['level']} on {r['exam_date']}, stage {r['stage']}"
              + (f", serial {r['serial']} of the {r['plan']} plan" if r["plan"] else ""))  # fmt: skip


@session_group.command("seat")
@click.argument("session_code")
@click.option("--theory-capacity", default=30, show_default=True, help="Desks per theory room, when rooms are made.")
@click.option("--skill-capacity", default=10, show_default=True, help="Places per skill-test station, when made.")
@click.option("--defence-capacity", default=10, show_default=True)
@click.option("--columns", default=5, show_default=True, help="Columns of desks in a theory room.")
@click.option("--limit", type=int, help="Seat at most this many (split a large cohort over sessions).")
@click.option("--json", "as_json", is_flag=True)
@pass_state
def session_seat(state: State, session_code: str, theory_capacity: int, skill_capacity: int, defence_capacity: int, columns: int,
                 limit: int | None, as_json: bool) -> None:  # fmt: skip
    """Seat the plan's accepted candidates: rooms, seat numbers (colleagues spread apart) and ticket numbers."""
    from examvault.registration.sittings import seat_session

    r = seat_session(state.bank, session_code, capacity={"theory": theory_capacity, "skill": skill_capacity, "defence": defence_capacity},
                     columns=columns, limit=limit)  # fmt: skip
    if as_json:
        return emit_json(r)
    err.print(f"{r['seated']} candidates seated in {session_code} ({r['seats']} places); same-unit neighbours: {r['same_unit_neighbours']}")
    table(["room", "kind", "capacity", "candidates"], [[x["room"], x["kind"], x["capacity"], x["candidates"]] for x in r["rooms"]])


@session_group.command("chart")
@click.argument("session_code")
@click.option("--out", required=True, type=click.Path(path_type=Path), help="The PDF to write.")
@click.option("--kind", default="theory", type=click.Choice(["theory", "skill", "defence"]))
@click.option("--columns", default=5, show_default=True)
@pass_state
def session_chart(state: State, session_code: str, out: Path, kind: str, columns: int) -> None:
    """The seating chart (考场座位表) posted at each room's door: one page per room."""
    from examvault.registration.sittings import seating_chart

    r = seating_chart(state.bank, session_code, out, kind=kind, columns=columns)
    err.print(f"seating chart of {r['rooms']} room(s) → {r['file']}")


@session_group.command("notices")
@click.argument("session_code")
@click.option("--out", "out_dir", required=True, type=click.Path(path_type=Path), help="Folder for the PDF and DOCX files.")
@pass_state
def session_notices(state: State, session_code: str, out_dir: Path) -> None:
    """理论考场 / 实操考场准备通知单: rooms, candidates, the invigilators and examiners each needs."""
    from examvault.registration.sittings import preparation_notices

    for f in preparation_notices(state.bank, session_code, out_dir)["files"]:
        err.print(f"→ {f}")


@session_group.command("room")
@click.argument("session_code")
@click.argument("room")
@click.option("--kind", required=True, type=click.Choice(["theory", "skill", "defence"]))
@click.option("--capacity", required=True, type=int)
@click.option("--location", default="")
@pass_state
def session_room(state: State, session_code: str, room: str, kind: str, capacity: int, location: str) -> None:
    """Add a theory room, a skill-test station or a defence/review room."""
    from examvault.registration.service import add_room

    r = add_room(state.bank, session_code, room, kind=kind, capacity=capacity, location=location)
    err.print(f"room {r['room']} ({r['kind']}, {r['capacity']} places) added to {r['session']}")


@session_group.command("list")
@click.option("--json", "as_json", is_flag=True)
@pass_state
def session_list(state: State, as_json: bool) -> None:
    from examvault.registration.service import list_sessions

    rows = list_sessions(state.bank)
    if as_json:
        return emit_json(rows)
    table(["code", "occupation", "level", "date", "stage", "rooms", "candidates"],
          [[r["code"], r["occupation"], r["level"], r["exam_date"], r["stage"], len(r["rooms"]), r["candidates"]] for r in rows])  # fmt: skip


@session_group.command("show")
@click.argument("session_code")
@click.option("--json", "as_json", is_flag=True)
@pass_state
def session_show(state: State, session_code: str, as_json: bool) -> None:
    from examvault.registration.service import show_session

    r = show_session(state.bank, session_code)
    if as_json:
        return emit_json(r)
    err.print(f"{r['code']}: {r['occupation']} level {r['level']} on {r['exam_date']} at {r['site'] or '—'}; stage {r['stage']}; "
              f"{r['candidates']} candidates; papers {', '.join(r['papers']) or '—'}")  # fmt: skip
    table(["room", "kind", "capacity", "candidates", "location"], [[x["code"], x["kind"], x["capacity"], x["candidates"], x["location"]] for x in r["rooms"]])


@session_group.command("advance")
@click.argument("session_code")
@click.option("--json", "as_json", is_flag=True)
@pass_state
def session_advance(state: State, session_code: str, as_json: bool) -> None:
    """Move to the next stage: refused while the stage's checklist is incomplete or a blocking finding is open."""
    from examvault.quality.service import advance

    r = advance(state.bank, session_code)
    if as_json:
        return emit_json(r)
    err.print(f"session {r['session']}: {r['from']} → {r['to']} ({r['name']})")


@click.group("candidate")
def candidate_group() -> None:
    """Registration (报名): import or add candidates to a plan; eligibility is decided and recorded."""


@candidate_group.command("import")
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--plan", "year", required=True, type=int, help="The plan year registered for.")
@click.option("--photos", type=click.Path(path_type=Path, file_okay=False), help="Folder of photos (照片 column, or <证件号码>.jpg).")
@click.option("--late", is_flag=True, help="Register outside the window (recorded in the audit log).")
@click.option("--encoding", help="A csv file's encoding when not UTF-8, e.g. gb18030.")
@click.option("--json", "as_json", is_flag=True)
@pass_state
def candidate_import(state: State, path: Path, year: int, photos: Path | None, late: bool, encoding: str | None, as_json: bool) -> None:
    """Import a registration form (xlsx/csv/json). All or nothing; every problem names its row and column."""
    from examvault.registration.candidates import import_candidates

    r = import_candidates(state.bank, year, path, photos=photos, late=late, encoding=encoding)
    if as_json:
        return emit_json(r)
    _registered(r)


def _registered(r: dict) -> None:  # type: ignore[type-arg]
    err.print(f"{r['file']}: {r['registered']} registered for {r['plan']} — {r['accepted']} accepted, {r['refused']} refused "
              f"(eligibility rules v{r['rules_version']})")  # fmt: skip
    refused = [c for c in r["candidates"] if c["status"] == "refused"]
    if refused:
        table(["row", "id", "occupation", "level", "reason"], [[c["row"], c["id"], c["occupation"], c["level"], c["reason"]] for c in refused],
              title="not accepted (不予受理)")  # fmt: skip


@candidate_group.command("add")
@click.option("--plan", "year", required=True, type=int)
@click.option("--name", required=True)
@click.option("--id-type", default="居民身份证", show_default=True)
@click.option("--id-number", required=True)
@click.option("--occupation", required=True)
@click.option("--level", required=True)
@click.option("--gender", required=True, help="男 or 女.")
@click.option("--ethnicity", default="")
@click.option("--education", required=True, help="文化程度, e.g. 高中, 技工学校, 大专.")
@click.option("--phone", default="")
@click.option("--work-unit", default="")
@click.option("--years", required=True, help="本职业工作年限.")
@click.option("--prior-certificate", default="")
@click.option("--prior-occupation", default="")
@click.option("--prior-level", default="")
@click.option("--prior-issued", default="", help="The prior certificate's issue date.")
@click.option("--declared", default="", help="申报条件 declared, e.g. 学徒期满.")
@click.option("--theory", default="", help="新考/补考/免考 (default 新考).")
@click.option("--skill", default="")
@click.option("--defence", default="")
@click.option("--review", default="")
@click.option("--photo", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--late", is_flag=True)
@click.option("--json", "as_json", is_flag=True)
@pass_state
def candidate_add(state: State, year: int, photo: Path | None, late: bool, as_json: bool, **fields: str) -> None:
    """Register one candidate, with the same checks as an import."""
    from examvault.registration.candidates import add_candidate

    r = add_candidate(state.bank, year, fields, photo=photo, late=late)
    if as_json:
        return emit_json(r)
    err.print(f"candidate {r['id']} ({r['id_number_masked']}) registered: {r['status']} — {r['rule']}: {r['reason']}")


@candidate_group.command("place")
@click.argument("session_code")
@click.option("--name", required=True)
@click.option("--id-number", required=True)
@click.option("--work-unit", default="")
@click.option("--phone", default="")
@click.option("--room", help="Place the candidate in this room (next free seat).")
@click.option("--json", "as_json", is_flag=True)
@pass_state
def candidate_place(state: State, session_code: str, name: str, id_number: str, work_unit: str, phone: str, room: str | None, as_json: bool) -> None:
    """Place a candidate straight into a session without a plan (a sitting arranged outside registration)."""
    from examvault.registration.service import add_candidates

    r = add_candidates(state.bank, session_code, [{"name": name, "id_number": id_number, "work_unit": work_unit, "phone": phone}], room=room)[0]
    if as_json:
        return emit_json(r)
    err.print(f"candidate {r['code']} ({r['id_number_masked']}) added" + (f" to room {r['room']}, seat {r['seat']}" if r["room"] else ""))


@candidate_group.command("list")
@click.option("--plan", "year", type=int)
@click.option("--session", "session_code")
@click.option("--status", type=click.Choice(["accepted", "refused"]))
@click.option("--occupation")
@click.option("--level", type=int)
@click.option("--full-ids", is_flag=True, help="Show full ID numbers (exam administration only; audited).")
@click.option("--json", "as_json", is_flag=True)
@pass_state
def candidate_list(state: State, year: int | None, session_code: str | None, status: str | None, occupation: str | None,
                   level: int | None, full_ids: bool, as_json: bool) -> None:  # fmt: skip
    from examvault.registration.candidates import list_candidates

    rows = list_candidates(state.bank, year=year, session_code=session_code, status=status, occupation=occupation, level=level,
                           full_ids=full_ids)  # fmt: skip
    if as_json:
        return emit_json(rows)
    table(["id", "name", "ID number", "occupation", "level", "status", "session", "ticket"],
          [[r["id"], r["name"], r.get("id_number") or r["id_number_masked"], r["occupation"], r["level"], r["status"], r["session"] or "",
            r["ticket"] or ""] for r in rows])  # fmt: skip


@candidate_group.command("show")
@click.argument("code")
@click.option("--json", "as_json", is_flag=True)
@pass_state
def candidate_show(state: State, code: str, as_json: bool) -> None:
    """One candidate, with the eligibility decisions and the evidence they read."""
    from examvault.registration.candidates import show_candidate

    r = show_candidate(state.bank, code)
    if as_json:
        return emit_json(r)
    err.print(f"{r['id']} {r['name']} ({r['id_number_masked']}): {r['occupation']} level {r['level']}, {r['status']}; "
              f"session {r['session'] or '—'}, ticket {r['ticket'] or '—'}")  # fmt: skip
    for d in r["decisions"]:
        err.print(f"  {'✓' if d['eligible'] else '✗'} {d['rule']} (rules v{d['rules_version']}): {d['reason']}", markup=False)
        err.print(f"    evidence: {d['evidence']}", markup=False)


# ------------------------------------------------------------------ the annual plan and eligibility rules


@click.group("plan")
def plan_group() -> None:
    """The annual plan (年度认定计划) and its 公告."""


@plan_group.command("create")
@click.argument("path", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--replace", is_flag=True, help="Replace the year's plan (only before it is announced).")
@pass_state
def plan_create(state: State, path: Path, replace: bool) -> None:
    """Create the year's plan from a YAML/JSON file (docs/registration.md)."""
    from examvault.registration.plan import create_plan

    r = create_plan(state.bank, path, replace=replace)
    err.print(f"plan {r['year']}: {len(r['occupations'])} occupation(s), {len(r['sites'])} site(s), registration "
              f"{r['window']['open']} – {r['window']['close']}")  # fmt: skip


@plan_group.command("show")
@click.argument("year", type=int)
@click.option("--json", "as_json", is_flag=True)
@pass_state
def plan_show(state: State, year: int, as_json: bool) -> None:
    from examvault.registration.plan import show_plan

    r = show_plan(state.bank, year)
    if as_json:
        return emit_json(r)
    err.print(f"{r['title']} — registration {r['window']['open']} – {r['window']['close']}; "
              f"{'announced ' + r['announced_at'][:10] if r['announced_at'] else 'not announced'}")  # fmt: skip
    table(["occupation", "name", "levels", "fees", "sittings"],
          [[o["code"], o.get("name", ""), ",".join(map(str, o["levels"])), " ".join(f"{k}:{v:g}" for k, v in o["fees"].items()),
            " ".join(o["sessions"])] for o in r["occupations"]])  # fmt: skip
    table(["site", "name", "address"], [[s["code"], s["name"], s["address"]] for s in r["sites"]])


@plan_group.command("announce")
@click.argument("year", type=int)
@click.option("--out", "out_dir", required=True, type=click.Path(path_type=Path, file_okay=False))
@pass_state
def plan_announce(state: State, year: int, out_dir: Path) -> None:
    """Render the 公告 (PDF and DOCX); the plan is then fixed."""
    from examvault.registration.plan import announce

    for f in announce(state.bank, year, out_dir)["files"]:
        err.print(f"→ {f}")


@plan_group.command("eligibility")
@click.option("--set", "path", type=click.Path(path_type=Path, dir_okay=False), help="Store a new version from this YAML file.")
@click.option("--json", "as_json", is_flag=True)
@pass_state
def plan_eligibility(state: State, path: Path | None, as_json: bool) -> None:
    """Show the eligibility rules (申报条件) in force, or store a new version."""
    from examvault.registration.plan import set_eligibility_rules, show_eligibility_rules

    if path is not None:
        r = set_eligibility_rules(state.bank, path)
        err.print(f"eligibility rules v{r['version']} stored ({r['digest'][:12]}…); later decisions cite it")
        return
    r = show_eligibility_rules(state.bank)
    if as_json:
        return emit_json(r)
    err.print(f"eligibility rules v{r['version']}{'' if r['stored'] else ' (the packaged national defaults)'}")
    for level, branches in sorted(r["rules"]["defaults"].items(), key=lambda kv: -int(kv[0])):
        for b in branches:
            err.print(f"  level {level} {b['id']}) {b['text']}", markup=False)


# ------------------------------------------------------------------ tickets and the door


@click.group("ticket")
def ticket_group() -> None:
    """Admission tickets (准考证) and their offline check."""


@ticket_group.command("print")
@click.argument("session_code")
@click.option("--out", type=click.Path(path_type=Path, dir_okay=False), help="The batch PDF.")
@click.option("--split", type=click.Path(path_type=Path, file_okay=False), help="Also one PDF per candidate into this folder.")
@click.option("--candidate", "candidates", multiple=True, help="Only this candidate (registration number or ticket; repeat).")
@pass_state
def ticket_print(state: State, session_code: str, out: Path | None, split: Path | None, candidates: tuple[str, ...]) -> None:
    from examvault.registration.tickets import print_tickets

    r = print_tickets(state.bank, session_code, out=out, split=split, candidates=candidates)
    err.print(f"{r['tickets']} ticket(s) → {', '.join(r['files'])}")


@ticket_group.command("verify")
@click.argument("token")
@click.option("--trust", type=click.Path(path_type=Path, dir_okay=False), help="The institution's verifier key (or EXAMVAULT_TRUST).")
@click.option("--on", "on", help="The exam day to check against (default today).")
@click.option("--session", "session_code")
@click.option("--json", "as_json", is_flag=True)
def ticket_verify(token: str, trust: Path | None, on: str | None, session_code: str | None, as_json: bool) -> None:
    """Verify a ticket's QR token (TOKEN, or @FILE holding it) offline, with no bank: signature, kind, day and session."""
    from examvault.cli import _token_text, _trusted
    from examvault.db import beijing_today
    from examvault.registration.tickets import verify_ticket

    r = verify_ticket(_token_text(token), _trusted(trust), on=_date(on, "--on") if on else beijing_today(), session_code=session_code)
    if as_json:
        return emit_json(r)
    err.print(f"valid ticket {r['ticket']}: {r['name']} ({r['id_masked']}), session {r['session']} on {r['valid_on']}", markup=False)
    for part, room, seat, start in r["seats"]:
        err.print(f"  {part}: room {room}, seat {seat}, from {start}", markup=False)


@click.group("attendance")
def attendance_group() -> None:
    """The door check (入场核验) and attendance: present, late (≤ 30 min), refused, absent."""


@attendance_group.command("record")
@click.argument("session_code")
@click.argument("ticket")
@click.option("--part", default="theory", show_default=True, type=click.Choice(["theory", "skill", "defence", "review"]))
@click.option("--at", help="When the candidate came to the door (default now), e.g. 2026-12-12T09:12.")
@click.option("--identity", default="verified", show_default=True, type=click.Choice(["verified", "mismatch", "unchecked"]))
@click.option("--absent", is_flag=True)
@click.option("--note", default="")
@click.option("--json", "as_json", is_flag=True)
@pass_state
def attendance_record(state: State, session_code: str, ticket: str, part: str, at: str | None, identity: str, absent: bool, note: str,
                      as_json: bool) -> None:  # fmt: skip
    """Record one candidate (TICKET: the number, the scanned QR token, or @FILE holding it)."""
    from examvault.cli import _token_text, _when
    from examvault.registration.attendance import record

    r = record(state.bank, session_code, _token_text(ticket), part, at=_when(at, "--at") if at else None, identity=identity, absent=absent, note=note)
    if as_json:
        return emit_json(r)
    err.print(f"{r['ticket']} {r['part']} room {r['room']} seat {r['seat']}: {r['status']} — {r['message']}")


@attendance_group.command("close")
@click.argument("session_code")
@click.option("--part", default="theory", show_default=True, type=click.Choice(["theory", "skill", "defence", "review"]))
@click.option("--at", help="When entry closed (default now; not before 30 minutes after the start).")
@pass_state
def attendance_close(state: State, session_code: str, part: str, at: str | None) -> None:
    """Entry closed: everyone not recorded for the part is absent (缺考)."""
    from examvault.cli import _when
    from examvault.registration.attendance import close_part

    r = close_part(state.bank, session_code, part, at=_when(at, "--at") if at else None)
    err.print(f"{session_code} {part}: {r['absent']} marked absent; " + ", ".join(f"{k} {v}" for k, v in r.items() if k not in ("session", "part", "absent")))


@attendance_group.command("show")
@click.argument("session_code")
@click.option("--part", type=click.Choice(["theory", "skill", "defence", "review"]))
@click.option("--json", "as_json", is_flag=True)
@pass_state
def attendance_show(state: State, session_code: str, part: str | None, as_json: bool) -> None:
    from examvault.registration.attendance import attendance

    r = attendance(state.bank, session_code, part=part)
    if as_json:
        return emit_json(r)
    table(["part", "room", "seated", "present", "late", "refused", "absent", "unrecorded"],
          [[x["part"], x["room"], x["seated"], x["present"], x["late"], x["refused"], x["absent"], x["unrecorded"]] for x in r["rooms"]])  # fmt: skip


@click.group("report")
def report_group() -> None:
    """Reports filed with the authorities."""


@report_group.command("annual")
@click.argument("year", type=int)
@click.option("--out", "out_dir", required=True, type=click.Path(path_type=Path, file_okay=False))
@click.option("--json", "as_json", is_flag=True)
@pass_state
def report_annual(state: State, year: int, out_dir: Path, as_json: bool) -> None:
    """The year's statistics (due by the end of January): report PDF/DOCX, table xlsx, next year's plan skeleton."""
    from examvault.registration.annual import write_annual_report

    r = write_annual_report(state.bank, year, out_dir)
    if as_json:
        return emit_json(r)
    t = r["totals"]
    err.print(f"{year}: {t['registered']} registered, {t['sat']} sat, {t['passed']} passed, {t['certificates']} certificates")
    for f in r["files"].values():
        err.print(f"→ {f}")
