"""`examvault retention …`: thin faces over registration.retention."""

from __future__ import annotations

from typing import Any

import click

from examvault.cli import State, emit_json, err, pass_state, table
from examvault.registration.cli import _date
from examvault.registration.retention import POLICIES, purgeable

CATEGORY = {"paper": "paper 纸质", "electronic": "electronic 电子"}


@click.group("retention")
def retention_group() -> None:
    """Records retention (档案保存期限): paper records 3 years, electronic 5, certificates for life."""


def _show_report(r: dict[str, Any], *, records: bool) -> None:
    rows = [[e["kind"], e["label"], CATEGORY[e["category"]], e["years"] if e["years"] is not None else "permanent",
             e["total"], e["due"], e["earliest"] or ("—" if e["years"] is not None else "never")] for e in r["kinds"]]  # fmt: skip
    table(
        ["kind", "类别", "category", "years", "total", "due", "earliest end"],
        rows,
        title=f"retention as of {r['as_of']}",
    )
    if records:
        listed = [[e["kind"], d["record"], d["retain_until"]] for e in r["kinds"] for d in e["records"]]
        if listed:
            table(["kind", "record", "retained until"], listed, title="due records")
    for e in r["kinds"]:
        if e["note"] and e["years"] is not None:
            err.print(f"{e['kind']}: {e['note']}")
        if records and e["due"] > len(e["records"]):
            err.print(
                f"{e['kind']}: {len(e['records'])} of {e['due']} due records listed (--json for the same list)"
            )


@retention_group.command("report")
@click.option(
    "--as-of", "as_of", help="The date to count as of (default: today, Beijing time; later dates plan ahead)."
)
@click.option(
    "--kind", "kinds", multiple=True, type=click.Choice(list(POLICIES)), help="Only this kind (repeat)."
)
@click.option("--records", is_flag=True, help="List the due records, not only their counts.")
@click.option("--json", "as_json", is_flag=True)
@pass_state
def retention_report_cmd(
    state: State, as_of: str | None, kinds: tuple[str, ...], records: bool, as_json: bool
) -> None:
    """What each kind of record holds, what is due for purging, and when the next falls due."""
    from examvault.registration.retention import retention_report

    r = retention_report(state.bank, as_of=_date(as_of, "--as-of") if as_of else None, kinds=kinds or None)
    if as_json:
        return emit_json(r)
    _show_report(r, records=records)
    t = r["totals"]
    err.print(f"{t['due']} of {t['records']} records due as of {r['as_of']} "
              f"(paper {t['by_category']['paper']['due']}, electronic {t['by_category']['electronic']['due']})")  # fmt: skip


@retention_group.command("purge")
@click.option(
    "--kind",
    "kinds",
    multiple=True,
    type=click.Choice(purgeable()),
    help="Only this kind (repeat; default: every kind).",
)
@click.option("--yes", is_flag=True, help="Purge: this cannot be undone.")
@click.option("--json", "as_json", is_flag=True)
@pass_state
def retention_purge_cmd(state: State, kinds: tuple[str, ...], yes: bool, as_json: bool) -> None:
    """Purge every record due as of today, leaving a tombstone for each; one transaction, one audit event."""
    from examvault.errors import ValidationError
    from examvault.registration.retention import purge, retention_report

    if not yes:
        r = retention_report(state.bank, kinds=kinds or purgeable())
        due = {e["kind"]: e["due"] for e in r["kinds"] if e["due"]}
        if not due:
            err.print(f"nothing is due as of {r['as_of']}")
            return None
        listing = ", ".join(f"{k} {n}" for k, n in due.items())
        raise ValidationError(f"{sum(due.values())} records would be purged as of {r['as_of']} ({listing}); this cannot be "
                              "undone: re-run with --yes to purge them")  # fmt: skip
    r = purge(state.bank, kinds=kinds or None)
    if as_json:
        return emit_json(r)
    done = {k: n for k, n in r["purged"].items() if n}
    if not done:
        err.print(f"nothing was due as of {r['as_of']}")
        return None
    table(
        ["kind", "类别", "purged"],
        [[k, POLICIES[k].label, n] for k, n in done.items()],
        title=f"purged as of {r['as_of']}",
    )
    err.print(f"{r['total']} records purged; tombstones and the audit event retention.purge record it")
    paper = [POLICIES[k].label for k in done if POLICIES[k].category == "paper"]
    if paper:
        err.print(
            f"recorded as destroyed (销毁): {', '.join(paper)} — destroy the physical copies accordingly"
        )
