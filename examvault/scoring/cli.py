"""`examvault key|responses|scores|results …`: thin faces over the scoring services."""

from __future__ import annotations

from pathlib import Path

import click

from examvault.cli import State, emit_json, err, pass_state, table


def _day(text: str | None, option: str):  # noqa: ANN202
    from examvault.registration.cli import _date

    return _date(text, option) if text else None


@click.group("key")
def key_group() -> None:
    """Marking keys (评分标准), imported from the examiner's sealed package."""


@key_group.command("import")
@click.argument("path", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--identity", required=True, type=click.Path(path_type=Path, dir_okay=False), help="The examiner's age identity.")
@click.option("--session", "session_code", required=True, help="The session whose paper this key marks.")
@click.option("--json", "as_json", is_flag=True)
@pass_state
def key_import(state: State, path: Path, identity: Path, session_code: str, as_json: bool) -> None:
    """Refused: an unsigned package, another paper or form, a package imported before, an older version."""
    from examvault.scoring.keys import import_key

    r = import_key(state.bank, path, identity=identity, session_code=session_code)
    if as_json:
        return emit_json(r)
    err.print(f"marking key v{r['version']} of {r['paper']} (form {r['form']}, {r['items']} items) imported, sealed")


@click.group("responses")
def responses_group() -> None:
    """Candidates' objective answers: a computer-based export or answer-sheet reading."""


@responses_group.command("import")
@click.argument("session_code")
@click.argument("path", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--source", default="omr", show_default=True, type=click.Choice(["cbt", "omr"]), help="Computer-based exam or sheet reader.")
@click.option("--encoding", help="A csv file's encoding when not UTF-8, e.g. gb18030.")
@click.option("--json", "as_json", is_flag=True)
@pass_state
def responses_import(state: State, session_code: str, path: Path, source: str, encoding: str | None, as_json: bool) -> None:
    """Columns 准考证号, 卷别, 1…N (answers by position). All or nothing; scored on import."""
    from examvault.scoring.responses import import_responses

    r = import_responses(state.bank, session_code, path, source=source, encoding=encoding)
    if as_json:
        return emit_json(r)
    err.print(f"{r['candidates']} answer records scored ({', '.join(f'{k}: {v}' for k, v in r['forms'].items())}); "
              f"mean objective score {r['mean']:.1f}")  # fmt: skip


@click.group("scores")
def scores_group() -> None:
    """Score sheets of the practical part, the defence and the comprehensive review."""


@scores_group.command("import")
@click.argument("session_code")
@click.argument("path", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--part", default="skill", show_default=True, type=click.Choice(["skill", "defence", "review"]))
@pass_state
def scores_import(state: State, session_code: str, path: Path, part: str) -> None:
    """Columns 准考证号, 考评员, 分数 — one row per candidate and examiner on duty."""
    from examvault.scoring.parts import import_part_scores

    r = import_part_scores(state.bank, session_code, path, part=part)
    err.print(f"{r['scores']} {part} scores for {r['candidates']} candidates registered")


@scores_group.command("review")
@click.argument("session_code")
@click.argument("ticket")
@click.option("--part", default="skill", show_default=True, type=click.Choice(["skill", "defence", "review"]))
@click.option("--score", required=True, type=float, help="The chief examiner's score after the review (0–100, one decimal).")
@click.option("--chief", required=True, help="Staff code of the session's chief examiner (主考).")
@click.option("--reason", required=True, help="What the review found.")
@pass_state
def scores_review(state: State, session_code: str, ticket: str, part: str, score: float, chief: str, reason: str) -> None:
    """The chief examiner's score for a panel whose scores spread more than 20 points."""
    from examvault.scoring.parts import review_panel

    r = review_panel(state.bank, session_code, ticket, part=part, score=score, chief=chief, reason=reason)
    err.print(f"{ticket} {part}: panel {', '.join(f'{x:g}' for x in r['panel'])} reviewed by {chief}; {r['score']:g} counts")


@click.group("results")
def results_group() -> None:
    """Results: compute, show, publicise (5 working days), objections, release, export."""


@results_group.command("compute")
@click.argument("session_code")
@click.option("--json", "as_json", is_flag=True)
@pass_state
def results_compute(state: State, session_code: str, as_json: bool) -> None:
    from examvault.scoring.results import compute

    r = compute(state.bank, session_code)
    if as_json:
        return emit_json(r)
    err.print(f"{session_code}: {r['candidates']} results, {r['passed']} passed, {r['absent']} absent")


@results_group.command("show")
@click.argument("session_code")
@click.option("--json", "as_json", is_flag=True)
@pass_state
def results_show(state: State, session_code: str, as_json: bool) -> None:
    from examvault.scoring.results import show

    r = show(state.bank, session_code)
    if as_json:
        return emit_json(r["results"])
    w = r["window"]
    err.print(f"{session_code}: {r['stage']}" + (f" — publicised {w['opens']} to {w['last_day']}, release from {w['release_on']}" if w else ""))
    parts = [p for p in ("theory", "skill", "defence", "review") if any(p in x for x in r["results"])]
    table(["ticket", *parts, "passed", "status"],
          [[x["ticket"], *("—" if x.get(p) is None else f"{x[p]:g}" for p in parts), "合格" if x["passed"] else "不合格", x["status"]]
           for x in r["results"]])  # fmt: skip


@results_group.command("publicize")
@click.argument("session_code")
@click.option("--start", help="The day the notice goes up (default today).")
@pass_state
def results_publicize(state: State, session_code: str, start: str | None) -> None:
    """Post the results for 5 working days (Chinese calendar: holidays and 调休 counted); they are then fixed."""
    from examvault.scoring.results import publicize

    r = publicize(state.bank, session_code, start=_day(start, "--start"))
    err.print(f"{session_code}: publicised {r['opens']} to {r['last_day']}; release from {r['release_on']}")


@results_group.command("object")
@click.argument("session_code")
@click.argument("ticket")
@click.option("--reason", required=True)
@pass_state
def results_object(state: State, session_code: str, ticket: str, reason: str) -> None:
    """Record an objection (异议) during the publicity window."""
    from examvault.scoring.results import object_

    r = object_(state.bank, session_code, ticket, reason)
    err.print(f"objection {r['id']} recorded for {ticket} on {r['raised_on']}")


@results_group.command("resolve")
@click.argument("objection_id", type=int)
@click.option("--resolution", required=True)
@pass_state
def results_resolve(state: State, objection_id: int, resolution: str) -> None:
    from examvault.scoring.results import resolve_objection

    resolve_objection(state.bank, objection_id, resolution)
    err.print(f"objection {objection_id} settled")


@results_group.command("release")
@click.argument("session_code")
@pass_state
def results_release(state: State, session_code: str) -> None:
    """Release: refused before the window has run, with an objection open, or if results changed."""
    from examvault.scoring.results import release

    r = release(state.bank, session_code)
    err.print(f"{session_code}: results released on {r['released_on']}; {r['passed']} passed (certificates may now be issued)")


@click.group("violation")
def violation_group() -> None:
    """考生违规违纪: warning, paper voided (a repeated warning too), sitting cancelled, qualification cancelled."""


@violation_group.command("record")
@click.argument("session_code")
@click.argument("ticket")
@click.option("--part", required=True, type=click.Choice(["theory", "skill", "defence", "review"]), help="The part in which it happened.")
@click.option("--tier", required=True, type=click.Choice(["warning", "void-paper", "cancel-sitting", "cancel-qualification"]))
@click.option("--proctor", required=True, help="Staff code of the invigilator or examiner on duty, e.g. KP003.")
@click.option("--at", "at", required=True, help='When it happened, Beijing time, e.g. "2026-12-12 09:40".')
@click.option("--reason", required=True, help="What happened (at most 400 characters).")
@click.option("--json", "as_json", is_flag=True)
@pass_state
def violation_record(state: State, session_code: str, ticket: str, part: str, tier: str, proctor: str, at: str, reason: str,
                     as_json: bool) -> None:  # fmt: skip
    """Record one violation; refused once the results are publicised."""
    from examvault.cli import _when
    from examvault.scoring.violations import record_violation

    r = record_violation(state.bank, session_code, ticket, part=part, tier=tier, proctor=proctor, at=_when(at, "--at"), reason=reason)
    if as_json:
        return emit_json(r)
    err.print(f"{r['ticket']}: {r['message']} (recorded as {r['tier']})")


@violation_group.command("list")
@click.argument("session_code")
@click.option("--json", "as_json", is_flag=True)
@pass_state
def violation_list(state: State, session_code: str, as_json: bool) -> None:
    from examvault.scoring.violations import list_violations

    rows = list_violations(state.bank, session_code)
    if as_json:
        return emit_json(rows)
    table(["ticket", "part", "tier", "escalated", "proctor", "at", "reason"],
          [[v["ticket"], v["part"], v["tier"], "yes" if v["escalated"] else "", v["proctor"], v["at"][:16].replace("T", " "), v["reason"]]
           for v in rows])  # fmt: skip


@results_group.command("export")
@click.argument("session_code")
@click.option("--out", "out_dir", required=True, type=click.Path(path_type=Path, file_okay=False), help="The folder to write into.")
@click.option("--json", "as_json", is_flag=True)
@pass_state
def results_export(state: State, session_code: str, out_dir: Path, as_json: bool) -> None:
    """The platform upload (成绩上报 csv, xlsx) and the score register (成绩登记表 PDF), of publicised results. Audited."""
    from examvault.scoring.export import export_results

    r = export_results(state.bank, session_code, out_dir)
    if as_json:
        return emit_json(r)
    stage = f"released on {r['released_on']}" if r["released_on"] else f"in publicity until {r['window']['last_day']}"
    err.print(f"{session_code}: {r['candidates']} results ({stage}), {r['passed']} passed")
    for f in r["files"].values():
        err.print(f"→ {f}")
