"""`examvault certificate …`: thin faces over registration.certificates and registration.certnumber."""

from __future__ import annotations

import json
from pathlib import Path

import click

from examvault.cli import State, _trusted, emit_json, err, out, pass_state, table
from examvault.registration.cli import _date

STATUS_CHOICE = click.Choice(["issued", "voided", "replaced", "revoked"])


@click.group("certificate")
def certificate_group() -> None:
    """Certificates (职业技能等级证书): blank forms, issue, void, reissue (补发), revoke (撤销), the ledger and checks."""


@certificate_group.group("forms")
def forms_group() -> None:
    """Blank certificate forms (空白证书): deliveries, spoiled blanks and the stock."""


@forms_group.command("receive")
@click.argument("batch")
@click.option("--first", "first", required=True, help="The first printed serial, e.g. JX2026000001.")
@click.option("--count", required=True, type=int, help="How many consecutive forms.")
@click.option("--json", "as_json", is_flag=True)
@pass_state
def forms_receive(state: State, batch: str, first: str, count: int, as_json: bool) -> None:
    """Put a delivery of blank forms with consecutive serials into stock."""
    from examvault.registration.certificates import receive_forms

    r = receive_forms(state.bank, batch, first, count)
    if as_json:
        return emit_json(r)
    err.print(f"batch {r['batch']}: {r['count']} blank forms {r['first']}–{r['last']} in stock")


@forms_group.command("spoil")
@click.argument("serial")
@click.option("--reason", required=True, help="Why the blank cannot be used (misprinted, damaged…).")
@pass_state
def forms_spoil(state: State, serial: str, reason: str) -> None:
    """Mark a blank form in stock as spoiled."""
    from examvault.registration.certificates import spoil_form

    r = spoil_form(state.bank, serial, reason)
    err.print(f"blank form {r['serial']} (batch {r['batch']}) spoiled")


@forms_group.command("list")
@click.option("--json", "as_json", is_flag=True)
@pass_state
def forms_list(state: State, as_json: bool) -> None:
    """The stock per delivery: received, in stock, used, spoiled."""
    from examvault.registration.certificates import form_stock

    rows = form_stock(state.bank)
    if as_json:
        return emit_json(rows)
    table(["batch", "first", "last", "received", "stock", "used", "spoiled"],
          [[r["batch"], r["first"], r["last"], r["received"], r["stock"], r["used"], r["spoiled"]] for r in rows])  # fmt: skip


@certificate_group.command("issue")
@click.argument("session_code")
@click.option("--forms", is_flag=True, help="Each certificate takes the next blank form in stock.")
@click.option("--on", "on", help="Issue date (default: today, Beijing time).")
@click.option("--json", "as_json", is_flag=True)
@pass_state
def certificate_issue(state: State, session_code: str, forms: bool, on: str | None, as_json: bool) -> None:
    """Issue certificates to the session's candidates with released, passing results."""
    from examvault.registration.certificates import issue_certificates

    rows = issue_certificates(state.bank, session_code, on=_date(on, "--on") if on else None, forms=forms)
    if as_json:
        return emit_json(rows)
    table(["number", "candidate", "occupation", "level", "issued on", "form"],
          [[r["number"], r["candidate"], r["occupation"], r["level"], r["issued_on"], r["form_serial"]] for r in rows])  # fmt: skip
    err.print(f"{len(rows)} certificates issued in session {session_code}")


@certificate_group.command("list")
@click.option("--session", "session_code", help="Only this session's certificates.")
@click.option("--status", type=STATUS_CHOICE)
@click.option("--json", "as_json", is_flag=True)
@pass_state
def certificate_list(state: State, session_code: str | None, status: str | None, as_json: bool) -> None:
    """Certificates by number; the holder is named by candidate code (no personal data)."""
    from examvault.registration.certificates import list_certificates

    rows = list_certificates(state.bank, session_code=session_code, status=status)
    if as_json:
        return emit_json(rows)
    table(["number", "status", "session", "candidate", "occupation", "level", "issued on", "form", "replaces", "replaced by"],
          [[r["number"], r["status"], r["session"], r["candidate"], r["occupation"], r["level"], r["issued_on"], r["form_serial"],
            r["replaces"], r["replaced_by"]] for r in rows])  # fmt: skip


@certificate_group.command("show")
@click.argument("number")
@click.option("--json", "as_json", is_flag=True)
@pass_state
def certificate_show(state: State, number: str, as_json: bool) -> None:
    """A certificate's status now and its history in the ledger (across reissues)."""
    from examvault.registration.certificates import check_certificate

    r = check_certificate(state.bank, number)
    if as_json:
        return emit_json(r)
    line = f"{r['number']}: {r['status']}" + (f" — {r['reason']}" if r["reason"] else "")
    if r["replaced_by"]:
        line += f"; replaced by {r['replaced_by']}"
    if r["replaces"]:
        line += f"; replaces {r['replaces']}"
    out.print(line)
    table(["at", "action", "number", "form", "reason", "actor"],
          [[e["at"], e["action"], e["number"], e["form_serial"], e["reason"], e["actor"]] for e in r["history"]])  # fmt: skip


@certificate_group.command("ledger")
@click.option("--number", help="One certificate and those linked to it by reissue.")
@click.option("--serial", help="One blank form: its delivery and every event naming it.")
@click.option("--json", "as_json", is_flag=True)
@pass_state
def certificate_ledger(state: State, number: str | None, serial: str | None, as_json: bool) -> None:
    """The ledger (证书台账): every issue, void, reissue, revocation and blank-form movement."""
    from examvault.registration.certificates import ledger

    rows = ledger(state.bank, number=number, serial=serial)
    if as_json:
        return emit_json(rows)
    table(["at", "action", "number", "form", "reason", "actor"],
          [[e["at"], e["action"], e["number"], e["form_serial"], e["reason"], e["actor"]] for e in rows])  # fmt: skip


@certificate_group.command("void")
@click.argument("number")
@click.option("--reason", required=True, help="What was misprinted.")
@pass_state
def certificate_void(state: State, number: str, reason: str) -> None:
    """Void a certificate misprinted at issue (its blank form is spoiled)."""
    from examvault.registration.certificates import void_certificate

    r = void_certificate(state.bank, number, reason)
    err.print(
        f"certificate {r['number']} voided"
        + (f"; blank form {r['form_serial']} spoiled" if r["form_serial"] else "")
    )


@certificate_group.command("reissue")
@click.argument("number")
@click.option("--reason", required=True, help="Lost, damaged… (补发).")
@click.option("--form", "form_serial", help="The blank form the new certificate is printed on.")
@click.option("--json", "as_json", is_flag=True)
@pass_state
def certificate_reissue(
    state: State, number: str, reason: str, form_serial: str | None, as_json: bool
) -> None:
    """Reissue a lost or damaged certificate under a new number; the old one is replaced."""
    from examvault.registration.certificates import reissue_certificate

    r = reissue_certificate(state.bank, number, reason, form_serial=form_serial)
    if as_json:
        return emit_json(r)
    err.print(f"certificate {r['replaced']} replaced by {r['number']}")


@certificate_group.command("revoke")
@click.argument("number")
@click.option("--reason", required=True, help="The finding that requires it, e.g. 考试舞弊被查实.")
@pass_state
def certificate_revoke(state: State, number: str, reason: str) -> None:
    """Revoke a certificate (撤销)."""
    from examvault.registration.certificates import revoke_certificate

    r = revoke_certificate(state.bank, number, reason)
    err.print(f"certificate {r['number']} revoked: {r['reason']}")


@certificate_group.command("pdf")
@click.argument("number")
@click.option(
    "--out", "out_path", required=True, type=click.Path(dir_okay=False, path_type=Path), help="FILE.pdf"
)
@pass_state
def certificate_pdf_cmd(state: State, number: str, out_path: Path) -> None:
    """Render an issued certificate for printing."""
    from examvault.errors import ValidationError
    from examvault.registration.certificates import certificate_pdf

    pdf = certificate_pdf(state.bank, number)
    try:
        out_path.write_bytes(pdf)
    except OSError as exc:
        raise ValidationError(f"{out_path}: cannot write the certificate ({exc.strerror})") from None
    err.print(f"certificate {number.strip()} → {out_path}")


@certificate_group.command("token")
@click.argument("number")
@pass_state
def certificate_token_cmd(state: State, number: str) -> None:
    """Print the signed QR text of an issued certificate."""
    from examvault.registration.certificates import certificate_qr

    click.echo(certificate_qr(state.bank, number)["token"])


@certificate_group.command("validate")
@click.argument("number")
@click.option("--json", "as_json", is_flag=True)
def certificate_validate(number: str, as_json: bool) -> None:
    """Check a certificate number's form (no bank needed): the fields, or what is wrong where."""
    from examvault.itembank.domain import LEVEL_NAMES
    from examvault.registration.certnumber import parse_number

    p = parse_number(number)
    if as_json:
        return emit_json(p)
    table(["field", "value"], [["type", f"{p['kind']} ({p['kind_name']})"], ["institution", p["institution"]],
                               ["province", p["province"]], ["site", p["site"]], ["year", f"{p['year']:02d}"],
                               ["level", f"{p['level']} ({LEVEL_NAMES[p['level']]})"], ["serial", f"{p['serial']:06d}"]],
          title=p["number"])  # fmt: skip


@certificate_group.command("verify")
@click.argument("token")
@click.option(
    "--trust",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="institution.vkey (or EXAMVAULT_TRUST)",
)
@click.option("--ledger", "ledger_path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="The certificate's status as `certificate show --json` wrote it (or a JSON object number → that).")  # fmt: skip
@click.option("--json", "as_json", is_flag=True)
def certificate_verify(token: str, trust: Path | None, ledger_path: Path | None, as_json: bool) -> None:
    """Check a certificate's QR text (TOKEN, or @FILE holding it) offline, against the institution's key."""
    from examvault.cli import _token_text
    from examvault.errors import ValidationError
    from examvault.registration.certificates import verify_certificate

    token = _token_text(token)
    ledger = None
    if ledger_path is not None:
        try:
            ledger = json.loads(ledger_path.read_text("utf-8"))
        except (ValueError, UnicodeDecodeError):
            raise ValidationError(f"{ledger_path} is not JSON") from None
        if not isinstance(ledger, dict):
            raise ValidationError(f"{ledger_path} does not hold a JSON object")
    r = verify_certificate(token, _trusted(trust), ledger=ledger)
    if as_json:
        return emit_json(r)
    err.print(f"genuine: certificate {r['number']}, {r['name']} ({r['id_number_masked']}), {r['occupation']} level {r['level']}, "
              f"issued {r['issued_on']}" + (", status issued in the ledger" if r["status_checked"] else
                                            " — status NOT checked (give --ledger, or ask the bank with `certificate show`)"))  # fmt: skip
