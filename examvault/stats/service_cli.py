"""`examvault stats update|show|review|decide`: thin faces over the bank side of item statistics."""

from __future__ import annotations

from pathlib import Path

import click

from examvault.cli import State, emit_json, err, pass_state, table
from examvault.stats.cli import stats_group


@stats_group.command("update")
@click.option("--paper", "paper", required=True, help="The paper (form) code, e.g. P2026-0001-A.")
@click.option("--irt", type=click.Choice(["2pl", "rasch", "none"]), default="2pl", show_default=True)
@click.option("--report", "report", type=click.Path(file_okay=False, path_type=Path), help="Write the PDF and xlsx report here.")
@click.option("--json", "as_json", is_flag=True)
@pass_state
def stats_update(state: State, paper: str, irt: str, report: Path | None, as_json: bool) -> None:
    """Analyse the paper's released sessions and feed p, discrimination and IRT parameters back into the bank."""
    from examvault.stats.service import update_paper

    r = update_paper(state.bank, paper, irt=None if irt == "none" else irt, report=report)  # type: ignore[arg-type]
    if as_json:
        return emit_json(r)
    link = r["linking"]
    err.print(f"{paper}: {r['candidates']} candidates of {', '.join(r['sessions'])}; alpha {_fmt(r['alpha'])}, SEM {_fmt(r['sem'])}; "
              + (f"IRT linked through {link['common']} common items" if link["linked"] else "IRT on its own scale (fewer than 3 items calibrated before)")
              + (f"; {len(r['drift'])} items drifted" if r["drift"] else ""))  # fmt: skip
    for note in r["notes"]:
        err.print(f"  note: {note}")
    for d in r["drift"]:
        err.print(f"  drift {d['item']}: p {_fmt(d['p_before'])} → {_fmt(d['p_now'])}" + (f", b moved {d['db']:+.2f}" if d["db"] is not None else ""))
    if r["flagged"]:
        err.print(f"  flagged and suspended for review: {', '.join(r['flagged'])}")
    for f in r.get("files", []):
        err.print(f"  → {f}")


@stats_group.command("show")
@click.argument("item_code")
@click.option("--json", "as_json", is_flag=True)
@pass_state
def stats_show(state: State, item_code: str, as_json: bool) -> None:
    """An item's figures in every administration and what the bank holds now."""
    from examvault.stats.service import item_history

    r = item_history(state.bank, item_code)
    if as_json:
        return emit_json(r)
    err.print(f"{item_code} ({r['status']}): p {r['p']}, r {r['r_rest']}, n {r['n']}, IRT a {r['irt_a']} b {r['irt_b']}, used {r['exposure']}×")
    table(["paper", "at", "n", "p", "r_rest", "UL", "flags"],
          [[a["paper"], a["at"], a["n"], _fmt(a["p"]), _fmt(a["r_rest"]), _fmt(a["ul_index"]), "; ".join(f["rule"] for f in a["flags"])]
           for a in r["administrations"]])  # fmt: skip


def _fmt(v: float | None) -> str:
    return "—" if v is None else f"{v:.3f}"


@stats_group.command("review")
@click.option("--json", "as_json", is_flag=True)
@pass_state
def stats_review(state: State, as_json: bool) -> None:
    """The review queue: items suspended by a flag, with the rule and its numbers."""
    from examvault.stats.service import review_queue

    rows = review_queue(state.bank)
    if as_json:
        return emit_json(rows)
    table(["item", "paper", "opened", "flags"], [[r["item"], r["paper"], r["opened_at"], "; ".join(f["message"] for f in r["flags"])] for r in rows])


@stats_group.command("decide")
@click.argument("item_code")
@click.argument("decision", type=click.Choice(["keep", "retire"]))
@click.option("--comment", required=True)
@pass_state
def stats_decide(state: State, item_code: str, decision: str, comment: str) -> None:
    """Settle a review: keep (active again) or retire."""
    from examvault.stats.service import decide

    r = decide(state.bank, item_code, decision, comment=comment)
    err.print(f"{item_code}: {r['decision']} → {r['status']}")
