"""`examvault session …` and `examvault candidate …`: thin faces over registration.service."""

from __future__ import annotations

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
@pass_state
def session_create(state: State, code: str, occupation: str, level: int, exam_date: str, site: str, papers: tuple[str, ...]) -> None:
    from examvault.registration.service import create_session

    r = create_session(state.bank, code, occupation=occupation, level=level, exam_date=_date(exam_date, "--date"), site=site, papers=papers)
    err.print(f"session {r['code']} created: {r['occupation']} level {r['level']} on {r['exam_date']}, stage {r['stage']}")


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
    """Candidates placed in a session (registration proper is `examvault candidate import`, issue 7)."""


@candidate_group.command("add")
@click.argument("session_code")
@click.option("--name", required=True)
@click.option("--id-number", required=True)
@click.option("--work-unit", default="")
@click.option("--phone", default="")
@click.option("--room", help="Place the candidate in this room (next free seat).")
@click.option("--json", "as_json", is_flag=True)
@pass_state
def candidate_add(state: State, session_code: str, name: str, id_number: str, work_unit: str, phone: str, room: str | None, as_json: bool) -> None:
    from examvault.registration.service import add_candidates

    r = add_candidates(state.bank, session_code, [{"name": name, "id_number": id_number, "work_unit": work_unit, "phone": phone}], room=room)[0]
    if as_json:
        return emit_json(r)
    err.print(f"candidate {r['code']} ({r['id_number_masked']}) added" + (f" to room {r['room']}, seat {r['seat']}" if r["room"] else ""))
