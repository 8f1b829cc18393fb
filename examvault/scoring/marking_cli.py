"""`examvault marking …`: thin faces over blind double marking (examvault/scoring/marking.py)."""

from __future__ import annotations

from pathlib import Path

import click

from examvault.cli import State, emit_json, err, pass_state, table


def _numbers(text: str) -> list[int]:
    """'17-19,21' → [17, 18, 19, 21]."""
    out: list[int] = []
    try:
        for part in filter(None, (p.strip() for p in text.split(","))):
            first, _, last = part.partition("-")
            out += range(int(first), int(last or first) + 1)
    except ValueError:
        raise click.BadParameter(f"{text!r}: item numbers such as 17-19,21", param_hint="--items") from None
    return out


def _points(text: str) -> list[float]:
    try:
        return [float(p) for p in text.replace("，", ",").split(",") if p.strip()]
    except ValueError:
        raise click.BadParameter(f"{text!r}: the marks per marking point, e.g. 3,1.5", param_hint="--points") from None


def _signer(path: Path):  # noqa: ANN202
    from examvault.cli import _signing_key

    return _signing_key(path)


SIGN_KEY = click.option("--sign-key", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
                        help="Your own signing key (registered as an examiner party under your user name).")  # fmt: skip


@click.group("marking")
def marking_group() -> None:
    """Blind double marking of subjective items: seal, assign, mark, total, check, unmask."""


@marking_group.command("seal")
@click.argument("session_code")
@click.argument("path", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--encoding", help="For a csv that is not UTF-8, e.g. gb18030.")
@pass_state
def marking_seal(state: State, session_code: str, path: Path, encoding: str | None) -> None:
    """Register the sealing staff's 密封登记 (准考证号, 卷别, 密封号); the mapping is sealed until unmasking."""
    from examvault.scoring.marking import seal_scripts

    r = seal_scripts(state.bank, session_code, path, encoding=encoding)
    err.print(f"{r['scripts']} scripts sealed ({r['total']} in the session); keep {path.name} with the sealing staff, not the markers")


@marking_group.command("assign")
@click.argument("session_code")
@click.option("--items", "items", required=True, help="Subjective item numbers, e.g. 17-20.")
@click.option("--marker", "markers", multiple=True, required=True, help="A marker's user name (two or more).")
@click.option("--leader", required=True, help="The group leader (题组长) who settles disputes.")
@click.option("--threshold", type=float, default=0.2, show_default=True, help="Marks further apart than this fraction of the points go to arbitration.")
@click.option("--paper", help="One paper of the session (default: all its papers).")
@pass_state
def marking_assign(state: State, session_code: str, items: str, markers: tuple[str, ...], leader: str, threshold: float,
                   paper: str | None) -> None:  # fmt: skip
    """Two or more markers and a group leader for subjective items; re-assigning replaces them."""
    from examvault.scoring.marking import assign_markers

    r = assign_markers(state.bank, session_code, _numbers(items), markers=list(markers), leader=leader, threshold=threshold, paper=paper)
    err.print(f"{', '.join(r['items'])}: markers {', '.join(r['markers'])}, leader {r['leader']}, threshold {r['threshold']:.0%}")


@marking_group.command("mark")
@click.argument("session_code")
@click.argument("seal_code")
@click.argument("number", type=int)
@click.option("--points", required=True, help="Marks per marking point (评分要点), in order, e.g. 3,1.5.")
@click.option("--reason", default="", help="Why a mark you registered before is changed.")
@SIGN_KEY
@pass_state
def marking_mark(state: State, session_code: str, seal_code: str, number: int, points: str, reason: str, sign_key: Path) -> None:
    """Mark one item of one script by its 密封号, signed with your key."""
    from examvault.scoring.marking import ROLE_LABELS, mark

    r = mark(state.bank, session_code, seal_code, number, _points(points), signer=_signer(sign_key), reason=reason)
    err.print(f"{r['script']} item {r['number']}: {r['total']:g} points registered as the {ROLE_LABELS[r['role']]}"
              + (" (a change; the earlier mark stays in the history)" if r["changed"] else ""))  # fmt: skip


@marking_group.command("queue")
@click.argument("session_code")
@click.option("--limit", type=int, default=100, show_default=True)
@click.option("--json", "as_json", is_flag=True)
@pass_state
def marking_queue(state: State, session_code: str, limit: int, as_json: bool) -> None:
    """What you may mark now (密封号 and item)."""
    from examvault.scoring.marking import ROLE_LABELS, queue

    rows = queue(state.bank, session_code, limit=limit)
    if as_json:
        return emit_json(rows)
    table(["密封号", "item", "as", "marking points"],
          [[r["script"], r["number"], ROLE_LABELS[r["as"]], "+".join(f"{p:g}" for p in r["marking_points"])] for r in rows])  # fmt: skip


@marking_group.command("status")
@click.argument("session_code")
@click.option("--json", "as_json", is_flag=True)
@pass_state
def marking_status(state: State, session_code: str, as_json: bool) -> None:
    """Progress by item; who totalled, checked and unmasked."""
    from examvault.scoring.marking import status

    r = status(state.bank, session_code)
    if as_json:
        return emit_json(r)
    err.print(f"{session_code}: {r['scripts']} scripts")
    table(["item", "settled", "awaiting 1st", "2nd", "3rd", "leader", "leader decisions"],
          [[f"{i['paper']}#{i['number']}", i["settled"], i["first"], i["second"], i["third"], i["awaiting_leader"], i["leader_decisions"]]
           for i in r["items"]])  # fmt: skip
    for k in ("total", "check", "unmask"):
        err.print(f"{k}: " + (f"{r[k]['by']} at {r[k]['at']}" if r[k] else "—"))


@marking_group.command("history")
@click.argument("session_code")
@click.argument("seal_code")
@click.option("--json", "as_json", is_flag=True)
@pass_state
def marking_history(state: State, session_code: str, seal_code: str, as_json: bool) -> None:
    """Every mark on one script, changes included, and whether each signature verifies."""
    from examvault.scoring.marking import ROLE_LABELS, history

    r = history(state.bank, session_code, seal_code)
    if as_json:
        return emit_json(r)
    table(["item", "marker", "as", "points", "total", "at", "current", "signature", "reason"],
          [[m["number"], m["marker"], ROLE_LABELS[m["role"]], "+".join(f"{p:g}" for p in m["points"]), f"{m['total']:g}", m["at"],
            "yes" if m["current"] else "superseded", "valid" if m["signature_valid"] else "INVALID", m["reason"]] for m in r["marks"]])  # fmt: skip


@marking_group.command("total")
@click.argument("session_code")
@SIGN_KEY
@pass_state
def marking_total(state: State, session_code: str, sign_key: Path) -> None:
    """统分: every script's total from its settled items, signed by you (the totaller)."""
    from examvault.scoring.marking import total

    r = total(state.bank, session_code, signer=_signer(sign_key))
    err.print(f"{r['scripts']} scripts totalled (mean {r['mean']:.2f}); digest {r['digest'][:16]}…; now another examiner checks")


@marking_group.command("check")
@click.argument("session_code")
@SIGN_KEY
@pass_state
def marking_check(state: State, session_code: str, sign_key: Path) -> None:
    """复核: re-add every script from the signed marks; never by the totaller."""
    from examvault.scoring.marking import check

    r = check(state.bank, session_code, signer=_signer(sign_key))
    err.print(f"{r['scripts']} scripts checked against {r['totaller']}'s totals: they agree")


@marking_group.command("unmask")
@click.argument("session_code")
@pass_state
def marking_unmask(state: State, session_code: str) -> None:
    """Open the seal once every script is totalled and checked: subjective totals join the candidates."""
    from examvault.scoring.marking import unmask

    r = unmask(state.bank, session_code)
    err.print(f"{r['scripts']} scripts unmasked; subjective totals joined to the answer sheets (`examvault results compute` next)")
