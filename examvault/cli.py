"""The `examvault` command: parses arguments and calls service functions, nothing more.

Every listing takes --json and then prints one JSON document on stdout and nothing
else; progress bars and notes go to stderr. Errors print one message and exit
non-zero; a traceback only with --debug.
"""

from __future__ import annotations

import gc
import getpass
import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from examvault import __version__, db
from examvault.bank import Bank
from examvault.errors import ExamvaultError, UnlockError

# Piped output gets a wide, fixed width: tables must not be squeezed to 80 columns in a log.
err = Console(stderr=True, highlight=False, soft_wrap=True, width=None if sys.stderr.isatty() else 160)
out = Console(highlight=False, soft_wrap=True, width=None if sys.stdout.isatty() else 160)


class State:
    def __init__(self, db_arg: str | None, user: str | None, passphrase_file: Path | None, shares: tuple[Path, ...]) -> None:
        self.url = db.resolve_url(db_arg)
        self.user = user
        self.passphrase_file = passphrase_file
        self.shares = shares
        self._bank: Bank | None = None

    def passphrase(self, *, confirm: bool = False, prompt: str = "Passphrase") -> str:
        if self.passphrase_file:
            return self.passphrase_file.read_text("utf-8").rstrip("\r\n")
        env = os.environ.get("EXAMVAULT_PASSPHRASE")
        if env:
            return env
        if not sys.stdin.isatty():
            raise UnlockError("no passphrase: set EXAMVAULT_PASSPHRASE, pass --passphrase-file, or run in a terminal")
        first = getpass.getpass(f"{prompt}: ")
        if confirm and getpass.getpass(f"{prompt} (again): ") != first:
            raise UnlockError("the two passphrases differ")
        return first

    @staticmethod
    def new_passphrase() -> str:
        """A replacement passphrase: never the current one from EXAMVAULT_PASSPHRASE by mistake."""
        env = os.environ.get("EXAMVAULT_NEW_PASSPHRASE")
        if env:
            return env
        if not sys.stdin.isatty():
            raise UnlockError("no new passphrase: set EXAMVAULT_NEW_PASSPHRASE or run in a terminal")
        first = getpass.getpass("New passphrase: ")
        if getpass.getpass("New passphrase (again): ") != first:
            raise UnlockError("the two passphrases differ")
        return first

    def unlocker(self) -> Callable[[Any], Any]:
        from examvault.crypto import keyring
        from examvault.crypto.shares import ShareText

        shares = list(self.shares)
        env_shares = os.environ.get("EXAMVAULT_SHARES")
        if not shares and env_shares:
            shares = [Path(p) for p in env_shares.split(os.pathsep) if p]
        if shares:
            texts = []
            for p in shares:
                try:
                    texts.append(ShareText(p.name, p.read_text("utf-8")))
                except (OSError, UnicodeDecodeError) as exc:
                    raise UnlockError(f"cannot read share file {p}: {exc.__class__.__name__}") from None
            return lambda session: keyring.unlock_with_shares(session, texts)
        return lambda session: keyring.unlock_with_passphrase(session, self.passphrase())

    @property
    def bank(self) -> Bank:
        if self._bank is None:
            self._bank = Bank.open(self.url, actor=self.user, unlocker=self.unlocker())
        return self._bank


pass_state = click.make_pass_decorator(State)


def emit_json(obj: Any) -> None:
    click.echo(json.dumps(obj, ensure_ascii=False, indent=2, default=str))


@contextmanager
def progress_bar(label: str) -> Iterator[Callable[[int, int], None]]:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    with Progress(
        TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
        console=err, transient=True, disable=not err.is_terminal,
    ) as bar:  # fmt: skip
        task = bar.add_task(label, total=None)

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield update


def table(columns: list[str], rows: list[list[Any]], title: str | None = None) -> None:
    t = Table(*columns, title=title, show_lines=False)
    for r in rows:
        t.add_row(*["" if v is None else str(v) for v in r])
    out.print(t)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110})
@click.version_option(__version__, prog_name="examvault")
@click.option("--db", "db_arg", metavar="PATH|URL", help="Bank database (default: EXAMVAULT_DB or ./examvault.db).")
@click.option("--user", envvar="EXAMVAULT_USER", help="Acting user (default: EXAMVAULT_USER).")
@click.option("--passphrase-file", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="Read the passphrase from this file.")
@click.option("--share", "shares", multiple=True, type=click.Path(exists=True, dir_okay=False, path_type=Path), help="A Shamir share file (repeat k times) instead of the passphrase.")
@click.option("--debug", is_flag=True, help="Show tracebacks.")
@click.pass_context
def cli(ctx: click.Context, db_arg: str | None, user: str | None, passphrase_file: Path | None, shares: tuple[Path, ...], debug: bool) -> None:
    """examvault — secure item bank and paper assembly for 职业技能等级认定."""
    ctx.obj = State(db_arg, user, passphrase_file, shares)  # --debug is read by main()
    ctx.call_on_close(lambda: ctx.obj._bank and ctx.obj._bank.close())


# ------------------------------------------------------------------ init / db / users


@cli.command()
@click.option("--institution", default="", help="Name of the evaluation institution.")
@click.option("--admin", "admin_name", default="admin", show_default=True, help="First user, with the admin role.")
@click.option("--admin-roles", default="admin,custodian", show_default=True, help="Roles of the first user.")
@pass_state
def init(state: State, institution: str, admin_name: str, admin_roles: str) -> None:
    """Create a new bank: schema, root key and domain keys, and the first user."""
    from examvault.setup import init_bank

    info = init_bank(state.url, state.passphrase(confirm=True, prompt="New passphrase"), institution=institution,
                     admin=admin_name, admin_roles=[r.strip() for r in admin_roles.split(",") if r.strip()])  # fmt: skip
    err.print(f"created bank {info['bank_id']} at {state.url}; first user {admin_name!r}")


@cli.group("db")
def db_group() -> None:
    """Schema migrations."""


@db_group.command("upgrade")
@click.option("--revision", default="head", show_default=True)
@pass_state
def db_upgrade(state: State, revision: str) -> None:
    """Migrate the bank's schema (Alembic)."""
    engine = db.open_engine(state.url)
    before = db.current_revision(engine)
    db.upgrade(engine, revision)
    after = db.current_revision(engine)
    engine.dispose()
    err.print(f"schema {before or '(empty)'} → {after}")


@db_group.command("current")
@pass_state
def db_current(state: State) -> None:
    """Print the schema revision."""
    engine = db.open_engine(state.url)
    click.echo(f"{db.current_revision(engine) or '(empty)'} (head {db.head_revision()})")
    engine.dispose()


@cli.group()
def user() -> None:
    """Users and their roles."""


@user.command("add")
@click.argument("username")
@click.option("--role", "roles", multiple=True, required=True, help="Repeat for several roles.")
@click.option("--name", "display_name", default="", help="Display name, e.g. 王建国.")
@pass_state
def user_add(state: State, username: str, roles: tuple[str, ...], display_name: str) -> None:
    """Add a user (admin only)."""
    from examvault.accounts.admin import create_user

    create_user(state.bank, username, roles, display_name)
    err.print(f"added {username} ({', '.join(sorted(roles))})")


@user.command("list")
@click.option("--json", "as_json", is_flag=True)
@pass_state
def user_list(state: State, as_json: bool) -> None:
    """List users."""
    from examvault.accounts.admin import users

    rows = users(state.bank)
    if as_json:
        emit_json(rows)
    else:
        table(["username", "name", "roles", "active"], [[r["username"], r["name"], ",".join(r["roles"]), r["active"]] for r in rows])


@user.command("password")
@click.argument("username")
@pass_state
def user_password(state: State, username: str) -> None:
    """Set a console/API password (your own, or anyone's as admin); read from EXAMVAULT_NEW_PASSWORD or a prompt."""
    from examvault.accounts.credentials import set_password

    password = os.environ.get("EXAMVAULT_NEW_PASSWORD")
    if not password:
        if not sys.stdin.isatty():
            raise UnlockError("no password: set EXAMVAULT_NEW_PASSWORD or run in a terminal")
        password = getpass.getpass(f"Password for {username}: ")
        if getpass.getpass("Again: ") != password:
            raise UnlockError("the two passwords differ")
    set_password(state.bank, username, password)
    err.print(f"password set for {username}; their console sessions have ended")


@user.command("unlock")
@click.argument("username")
@pass_state
def user_unlock(state: State, username: str) -> None:
    """Lift a lockout after too many wrong passwords (admin)."""
    from examvault.accounts.credentials import unlock_account

    unlock_account(state.bank, username)
    err.print(f"{username} may log in again")


@cli.group()
def token() -> None:
    """API tokens for scripts, acting as you (the bank keeps only their hash)."""


@token.command("create")
@click.argument("name")
@click.option("--days", default=90, show_default=True, type=click.IntRange(1, 366))
@pass_state
def token_create(state: State, name: str, days: int) -> None:
    """Print a new token once; use it as `Authorization: Bearer TOKEN`."""
    from examvault.accounts.credentials import create_api_token

    t = create_api_token(state.bank, name, days=days)
    click.echo(t["token"])
    err.print(f"token {name!r} for {state.user}, valid until {t['expires_at']}")


@token.command("list")
@click.option("--json", "as_json", is_flag=True)
@pass_state
def token_list(state: State, as_json: bool) -> None:
    from examvault.accounts.credentials import list_api_tokens

    rows = list_api_tokens(state.bank)
    if as_json:
        emit_json(rows)
    else:
        table(["id", "name", "created", "expires", "last used", "revoked"],
              [[r["id"], r["name"], r["created_at"], r["expires_at"], r["last_used_at"], r["revoked"]] for r in rows])  # fmt: skip


@token.command("revoke")
@click.argument("token_id", type=int)
@pass_state
def token_revoke(state: State, token_id: int) -> None:
    from examvault.accounts.credentials import revoke_api_token

    revoke_api_token(state.bank, token_id)
    err.print(f"token {token_id} revoked")


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--insecure-cookies", is_flag=True, help="Send the console cookie over plain HTTP to hosts other than localhost (behind a TLS proxy, never on an open network).")
@click.option("--log-level", default="info", show_default=True, type=click.Choice(["critical", "error", "warning", "info"]))
@pass_state
def serve(state: State, host: str, port: int, insecure_cookies: bool, log_level: str) -> None:
    """Run the HTTP API and the web console (http://HOST:PORT/console). It starts sealed: custodians
    unseal it in the console or with POST /api/v1/sys/unseal, with k shares or the passphrase."""
    import uvicorn

    from examvault.api.app import create_app

    app = create_app(state.url, secure_cookies=not insecure_cookies)
    # A long-lived server: what was built at start (modules, the app, the engine) is never garbage, so the
    # collector stops scanning it, and collects young objects less often: fewer pauses in the slowest requests.
    gc.collect()
    gc.freeze()
    gc.set_threshold(20_000, 20, 20)
    err.print(f"examvault serving {state.url} at http://{host}:{port}/console — sealed until unsealed")
    uvicorn.run(app, host=host, port=port, log_level=log_level, access_log=log_level == "info", server_header=False,
                proxy_headers=False)  # fmt: skip


# ------------------------------------------------------------------ outlines


@cli.group()
def outline() -> None:
    """Outlines (鉴定要素细目表)."""


@outline.command("import")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--dry-run", is_flag=True, help="Validate only; change nothing.")
@click.option("--encoding", help="CSV encoding if not UTF-8, e.g. gb18030.")
@click.option("--json", "as_json", is_flag=True)
@pass_state
def outline_import(state: State, file: Path, dry_run: bool, encoding: str | None, as_json: bool) -> None:
    """Import outlines from xlsx, csv or json (one or more occupation × level × kind)."""
    from examvault.itembank.outlines import import_outline

    report = import_outline(state.bank, file, dry_run=dry_run, encoding=encoding)
    if as_json:
        emit_json({"dry_run": report.dry_run, "outlines": report.outlines})
        return
    verb = "would import" if dry_run else "imported"
    for o in report.outlines:
        err.print(f"{verb} {o['occupation']} level {o['level']} {o['kind']} (revision {o['revision']}): "
                  f"{o['ranges']} ranges, {o['points']} points (X {o['importance']['X']} / Y {o['importance']['Y']} / Z {o['importance']['Z']})")  # fmt: skip


@outline.command("show")
@click.argument("occupation")
@click.argument("level", type=int)
@click.option("--kind", type=click.Choice(["theory", "skill"]), default="theory", show_default=True)
@click.option("--json", "as_json", is_flag=True)
@pass_state
def outline_show(state: State, occupation: str, level: int, kind: str, as_json: bool) -> None:
    """Show an outline as a tree, with active items per point."""
    from rich.tree import Tree

    from examvault.itembank.outlines import outline_tree

    tree = outline_tree(state.bank, occupation, level, kind)
    if as_json:
        emit_json(tree)
        return
    root = Tree(f"{tree['occupation']} {tree['occupation_name']} level {tree['level']} {tree['kind']} (revision {tree['revision']})")

    def add(node: Tree, entries: list[dict[str, Any]]) -> None:
        for e in entries:
            if "importance" in e:
                warn = "  [red]< 4 active items[/]" if e["active_items"] < 4 else ""
                node.add(f"{e['code']} {e['name']}  [{e['importance']}]  {e['active_items']} items{warn}")
            else:
                add(node.add(f"[bold]{e['code']} {e['name']}[/]  {e['weight']}%"), e.get("ranges", []) + e.get("points", []))

    add(root, tree["ranges"])
    out.print(root)


# ------------------------------------------------------------------ items


@cli.group()
def item() -> None:
    """Items: import, list, show, edit, review workflow, export."""


@item.command("import")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--dry-run", is_flag=True, help="Validate and report duplicates; change nothing.")
@click.option("--activate", is_flag=True, help="Rows with 审核人 filled arrive already active (a reviewed bank migrated from another system).")
@click.option("--encoding", help="CSV encoding if not UTF-8, e.g. gb18030.")
@click.option("--json", "as_json", is_flag=True)
@pass_state
def item_import(state: State, file: Path, dry_run: bool, activate: bool, encoding: str | None, as_json: bool) -> None:
    """Import items from xlsx, csv, json or 国标 Word (.docx). All rows or none."""
    from examvault.itembank.service import import_items

    with progress_bar(f"importing {file.name}") as bar:
        report = import_items(state.bank, file, dry_run=dry_run, activate=activate, encoding=encoding, progress=bar)
    if as_json:
        emit_json(report.as_json())
        return
    verb = "validated (dry run)" if dry_run else "imported"
    kinds = ", ".join(f"{t} {n}" for t, n in report.by_type.items())
    err.print(f"{verb} {report.imported} items from {report.file} ({kinds}); {report.activated} activated")
    if report.duplicates:
        err.print(f"{len(report.duplicates)} duplicate pairs (stems compared after normalisation):")
        table(["item", "similar to", "similarity", "kind"], [[p.a, p.b, f"{p.similarity:.2f}", p.kind] for p in report.duplicates[:50]])


def _filters(f: Callable[..., Any]) -> Callable[..., Any]:
    f = click.option("--occupation", help="Occupation code, e.g. 6-31-01-03.")(f)
    f = click.option("--level", type=click.IntRange(1, 5))(f)
    f = click.option("--type", "type_", help="Item type, e.g. 单选.")(f)
    f = click.option("--point", help="Assessment-point code.")(f)
    return f


@item.command("list")
@_filters
@click.option("--status")
@click.option("--limit", type=int)
@click.option("--json", "as_json", is_flag=True)
@pass_state
def item_list(state: State, occupation: str | None, level: int | None, type_: str | None, point: str | None,
              status: str | None, limit: int | None, as_json: bool) -> None:  # fmt: skip
    """List item metadata (never content)."""
    from examvault.itembank.service import list_items

    rows = list_items(state.bank, occupation=occupation, level=level, type=type_, status=status, point=point, limit=limit)
    if as_json:
        emit_json(rows)
        return
    table(["code", "level", "point", "type", "points", "diff", "status", "ver", "used"],
          [[r["code"], r["level"], r["point_code"], r["type"], r["points"], r["difficulty"], r["status"], r["version"], r["usage_count"]] for r in rows])  # fmt: skip
    err.print(f"{len(rows)} items")


@item.command("show")
@click.argument("code")
@click.option("--version", type=int, help="An earlier version.")
@click.option("--no-content", is_flag=True, help="Metadata only; nothing is decrypted.")
@click.option("--json", "as_json", is_flag=True)
@pass_state
def item_show(state: State, code: str, version: int | None, no_content: bool, as_json: bool) -> None:
    """Show one item; decrypting its content is audited."""
    from examvault.itembank.service import show_item

    info = show_item(state.bank, code, version=version, with_content=not no_content)
    if as_json:
        emit_json(info)
        return
    c = info.pop("content", None)
    for k in ("code", "occupation", "level", "point_code", "type", "points", "difficulty", "status", "source", "author", "reviewer", "version"):
        out.print(f"{k:>12}: {info.get(k)}", markup=False)
    if c:
        out.print(f"\n{c['stem']}", markup=False)
        for letter, text in c["options"].items():
            out.print(f"  （{letter}）{text}", markup=False)
        out.print(f"答案：{c['answer']}", markup=False)
        if c["analysis"]:
            out.print(f"解析：{c['analysis']}", markup=False)


@item.command("edit")
@click.argument("code")
@click.option("--set", "sets", multiple=True, required=True, metavar="FIELD=VALUE", help="e.g. --set 答案=B --set 难度=4")
@click.option("--note", default="", help="Why the item changed (kept in the audit).")
@pass_state
def item_edit(state: State, code: str, sets: tuple[str, ...], note: str) -> None:
    """Edit an item: makes a new version, which goes through review again."""
    from examvault.errors import ValidationError
    from examvault.itembank.service import edit_item

    changes = {}
    for s in sets:
        if "=" not in s:
            raise ValidationError(f"--set {s!r}: expected FIELD=VALUE")
        k, v = s.split("=", 1)
        changes[k.strip()] = v
    r = edit_item(state.bank, code, changes, note=note, base_dir=Path.cwd())
    err.print(f"{r['code']} is now version {r['version']} ({r['status']}); changed {', '.join(r['changed'])}")


def _move(state: State, action: str, codes: tuple[str, ...], select_all: bool, filters: dict[str, Any],
          comment: str, as_json: bool) -> None:  # fmt: skip
    from examvault.errors import ValidationError
    from examvault.itembank.service import transition

    if codes and select_all:
        raise ValidationError("give item codes or --all, not both")
    moved = transition(state.bank, action, list(codes), comment=comment, select_filter=filters if select_all else None)
    if as_json:
        emit_json(moved)
    else:
        err.print(f"{action}: {len(moved)} items → {moved[0]['to']}")


def _transition_options(f: Callable[..., Any]) -> Callable[..., Any]:
    f = click.option("--json", "as_json", is_flag=True)(f)
    f = click.option("--comment", default="")(f)
    f = _filters(f)
    f = click.option("--all", "select_all", is_flag=True, help="Every item in the right status that matches the filters.")(f)
    return click.argument("codes", nargs=-1)(f)


def _transition_command(action: str, help_text: str) -> None:
    @item.command(action, help=help_text)
    @_transition_options
    @pass_state
    def command(state: State, codes: tuple[str, ...], select_all: bool, occupation: str | None, level: int | None,
                type_: str | None, point: str | None, comment: str, as_json: bool) -> None:  # fmt: skip
        filters = {"occupation": occupation, "level": level, "type": type_, "point": point}
        _move(state, action, codes, select_all, filters, comment, as_json)


_transition_command("submit", "Submit drafts for review.")
_transition_command("activate", "Make reviewed (or suspended) items active: eligible for assembly.")
_transition_command("suspend", "Take active items out of assembly for now.")
_transition_command("retire", "Retire items for good.")


@item.command("review")
@click.option("--approve/--reject", "approve", default=True, help="Approve (→ reviewed) or reject (→ draft).")
@_transition_options
@pass_state
def item_review(state: State, approve: bool, codes: tuple[str, ...], select_all: bool, occupation: str | None,
                level: int | None, type_: str | None, point: str | None, comment: str, as_json: bool) -> None:  # fmt: skip
    """Review submitted items. A reviewer never reviews an item they wrote or entered."""
    filters = {"occupation": occupation, "level": level, "type": type_, "point": point}
    _move(state, "approve" if approve else "reject", codes, select_all, filters, comment, as_json)


@item.command("export")
@click.option("--format", "fmt", type=click.Choice(["xlsx", "csv", "json"]), default="xlsx", show_default=True)
@click.option("--out", "out_path", type=click.Path(path_type=Path), help="Output file (default: items.<format>).")
@_filters
@click.option("--status")
@pass_state
def item_export(state: State, fmt: str, out_path: Path | None, occupation: str | None, level: int | None,
                type_: str | None, point: str | None, status: str | None) -> None:  # fmt: skip
    """Decrypt items into the import template (custodians only; audited)."""
    from examvault.itembank.service import export_items

    target = out_path or Path(f"items.{fmt}")
    if target.suffix.lower() != f".{fmt}":
        target = target.with_suffix(f".{fmt}")
    with progress_bar("exporting") as bar:
        r = export_items(state.bank, target, occupation=occupation, level=level, type=type_, status=status, point=point, progress=bar)
    err.print(f"exported {r['items']} items to {r['file']} — this file holds plaintext items: keep it safe")


# ------------------------------------------------------------------ keys


@cli.group()
def keys() -> None:
    """The key hierarchy: status, rotation, rewrap, Shamir shares."""


@keys.command("status")
@click.option("--json", "as_json", is_flag=True)
@pass_state
def keys_status(state: State, as_json: bool) -> None:
    """Key versions per domain and how many records use each (no unlock needed)."""
    from examvault.crypto.service import key_status

    info = key_status(state.bank)
    if as_json:
        emit_json(info)
        return
    shares = f"{info['shares']['threshold']}-of-{info['shares']['count']}" if info["shares"] else "none"
    out.print(f"bank {info['bank_id']}  passphrase slots: {len(info['passphrase_slots'])}  shares: {shares}")
    table(["domain", "primary", "min", "versions", "records by version"],
          [[d["domain"], d["primary_version"], d["min_version"], " ".join(f"v{v['version']}:{v['state']}" for v in d["versions"]),
            "; ".join(f"{t} {c}" for t, c in d["records"].items())] for d in info["domains"]])  # fmt: skip


@keys.command("rotate")
@click.option("--domain", default="all", show_default=True, help="items, marking, packages, audit, personal or all.")
@pass_state
def keys_rotate(state: State, domain: str) -> None:
    """Add a new domain-key version and make it primary. Old versions still decrypt."""
    from examvault.crypto.service import rotate

    for d, v in rotate(state.bank, domain).items():
        err.print(f"{d}: version {v} is primary")


@keys.command("rewrap")
@click.option("--domain", default="all", show_default=True)
@click.option("--batch-size", default=500, show_default=True)
@pass_state
def keys_rewrap(state: State, domain: str, batch_size: int) -> None:
    """Re-encrypt records under the primary version, in short batches (the bank stays usable)."""
    from examvault.crypto.service import rewrap_domain

    with progress_bar("rewrap") as bar:
        counts = rewrap_domain(state.bank, domain, batch_size=batch_size, progress=lambda _d, done, total: bar(done, total))
    for d, n in counts.items():
        err.print(f"{d}: rewrapped {n} records")


@keys.command("set-min")
@click.option("--domain", required=True)
@click.option("--version", "version", type=int, required=True)
@pass_state
def keys_set_min(state: State, domain: str, version: int) -> None:
    """Refuse key versions below VERSION from now on and erase them. Rewrap first."""
    from examvault.crypto.service import set_minimum

    erased = set_minimum(state.bank, domain, version)
    err.print(f"{domain}: minimum version {version}; erased versions {erased or 'none'}")


@keys.command("split")
@click.option("--shares", "count", type=click.IntRange(2, 16), required=True)
@click.option("--threshold", type=click.IntRange(2, 16), required=True)
@click.option("--out-dir", type=click.Path(file_okay=False, path_type=Path), default=Path("shares"), show_default=True)
@pass_state
def keys_split(state: State, count: int, threshold: int, out_dir: Path) -> None:
    """Split the root key into k-of-n Shamir shares (SLIP-39 words), one file per custodian."""
    from examvault.crypto.service import split_root
    from examvault.crypto.shares import write_share_files

    words = split_root(state.bank, count, threshold)
    write_share_files(out_dir, words, threshold)
    err.print(f"wrote {count} shares to {out_dir}/ (any {threshold} unlock the bank); give one to each custodian and delete the folder")


@keys.command("passphrase")
@pass_state
def keys_passphrase(state: State) -> None:
    """Change the passphrase (unlock with the old one or with shares)."""
    from examvault.crypto.service import change_passphrase

    change_passphrase(state.bank, state.new_passphrase())
    err.print("passphrase changed")


# ------------------------------------------------------------------ audit, backup, demo


@cli.group("audit")
def audit_group() -> None:
    """The audit trail."""


@audit_group.command("list")
@click.option("--actor")
@click.option("--action", help="Prefix, e.g. item. or keys.rotate")
@click.option("--target", help="Target id, e.g. an item code.")
@click.option("--limit", default=200, show_default=True)
@click.option("--json", "as_json", is_flag=True)
@pass_state
def audit_list(state: State, actor: str | None, action: str | None, target: str | None, limit: int, as_json: bool) -> None:
    """Audit events, newest first."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from examvault.accounts.admin import audit_trail

    rows = audit_trail(state.bank, actor=actor, action=action, target=target, limit=limit)
    if as_json:
        emit_json(rows)
        return
    sh = ZoneInfo("Asia/Shanghai")
    table(["at (Asia/Shanghai)", "actor", "action", "target", "details"],
          [[datetime.fromisoformat(r["at"]).astimezone(sh).strftime("%Y-%m-%d %H:%M:%S"), r["actor"], r["action"],
            f"{r['target_type']} {r['target_id']}".strip(), json.dumps(r["details"], ensure_ascii=False)[:80]] for r in rows])  # fmt: skip


@cli.command("backup")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@pass_state
def backup_cmd(state: State, file: Path) -> None:
    """Write the encrypted bank with its wrapped keys to FILE."""
    from examvault.backup import backup

    r = backup(state.bank, file)
    err.print(f"backup {r['file']}: {sum(r['rows'].values())} rows, sha256 {r['sha256'][:16]}…")


@cli.command("restore")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@pass_state
def restore_cmd(state: State, file: Path) -> None:
    """Restore a backup into an empty database (--db); needs the bank's passphrase or shares."""
    from examvault.backup import restore

    r = restore(state.bank, file)
    err.print(f"restored bank {r['bank_id']}: {sum(r['rows'].values())} rows into {state.url}")


@cli.group()
def blueprint() -> None:
    """Blueprints (组卷方案): import, list, show, check coverage. See docs/blueprint.md."""


@blueprint.command("import")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True)
@pass_state
def blueprint_import(state: State, file: Path, as_json: bool) -> None:
    """Validate a YAML/JSON blueprint and store it; a changed document becomes a new version."""
    from examvault.assembly.service import import_blueprint

    r = import_blueprint(state.bank, file)
    if as_json:
        emit_json(r)
    else:
        verb = "stored" if r["created"] else "unchanged, already stored as"
        err.print(f"blueprint {r['id']} {verb} version {r['version']}: {', '.join(r['sections'])}; {r['total_points']} points")


@blueprint.command("list")
@click.option("--json", "as_json", is_flag=True)
@pass_state
def blueprint_list(state: State, as_json: bool) -> None:
    from examvault.assembly.service import list_blueprints

    rows = list_blueprints(state.bank)
    if as_json:
        emit_json(rows)
        return
    table(["id", "version", "level", "forms", "sections", "points", "by", "created"],
          [[r["id"], r["version"], r["level"], ",".join(r["forms"]), " + ".join(r["sections"]), r["total_points"],
            r["created_by"], r["created_at"][:16]] for r in rows])  # fmt: skip


@blueprint.command("show")
@click.argument("ref", metavar="ID")
@click.option("--version", type=int, help="An earlier version (default: the latest).")
@click.option("--json", "as_json", is_flag=True)
@pass_state
def blueprint_show(state: State, ref: str, version: int | None, as_json: bool) -> None:
    from examvault.assembly.service import show_blueprint

    r = show_blueprint(state.bank, ref, version=version)
    if as_json:
        emit_json(r)
        return
    import yaml

    err.print(f"blueprint {r['id']} version {r['version']} (sha256 {r['digest'][:16]}…, by {r['created_by']})")
    out.print(yaml.safe_dump(r["document"], allow_unicode=True, sort_keys=False), markup=False)


@blueprint.command("check")
@click.argument("ref", metavar="ID|FILE")
@click.option("--time-limit", type=float, default=20.0, show_default=True, help="Seconds for each solver run.")
@click.option("--json", "as_json", is_flag=True)
@pass_state
def blueprint_check(state: State, ref: str, time_limit: float, as_json: bool) -> None:
    """Coverage of the bank for a blueprint, and whether a paper exists (with the diagnosis when not)."""
    from collections import defaultdict

    from examvault.assembly.service import check_blueprint

    r = check_blueprint(state.bank, ref, time_limit=time_limit)
    if as_json:
        emit_json(r)
        sys.exit(0 if r["feasible"] else 3)
    out.print(f"blueprint {r['blueprint']}: {r['eligible_items']} eligible items; left out: {r['excluded'] or 'none'}", markup=False)
    sums: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for c in r["coverage"]:
        cell = sums[(c["section"], c["range"])]
        cell[c["importance"]] += c["items"]
        cell[f"d{c['difficulty']}"] += c["items"]
    table(["section", "range", "X", "Y", "Z", "易", "较易", "中等", "较难", "难"],
          [[s, rg, v["X"], v["Y"], v["Z"], v["d1"], v["d2"], v["d3"], v["d4"], v["d5"]] for (s, rg), v in sorted(sums.items())],
          title="eligible items per section × range × importance / difficulty")  # fmt: skip
    weak = r["weak_points"]
    out.print(f"points with fewer than 4 active items: {len(weak)}" + (": " + ", ".join(f"{w['point']} ({w['active_items']})" for w in weak[:40]) if weak else ""), markup=False)
    d = r["disjoint_forms"]
    out.print(f"disjoint forms the bank could supply: {d['union_feasible']} (the solver can choose that many forms' items together; supply alone would last for {d['supply_bound']})", markup=False)
    if r["feasible"]:
        out.print(f"feasible: a paper exists (solved in {r['solve_seconds']} s)", markup=False)
    elif r["feasible"] is None:
        out.print("UNDECIDED: " + "; ".join(r["notes"]) + " (raise --time-limit)", markup=False)
    else:
        out.print("NOT feasible; the closest paper breaks these rows:", markup=False)
        for s in r["shortfalls"]:
            out.print(f"  - {s['message']}", markup=False)
        for note in r["notes"]:
            out.print(f"  {note}", markup=False)
    if not r["feasible"]:
        sys.exit(3)


@cli.group()
def paper() -> None:
    """Papers: assemble forms from a blueprint, show, approve, re-derive."""


@paper.command("assemble")
@click.argument("ref", metavar="BLUEPRINT")
@click.option("--forms", help="Form labels, e.g. A,B (default: the blueprint's).")
@click.option("--seed", type=click.IntRange(0, 2**62), help="Random seed (default: a fresh one, recorded with the paper).")
@click.option("--time-limit", type=float, help="Solver seconds (default: the blueprint's).")
@click.option("--gap", type=float, help="Relative MIP gap (default: the blueprint's).")
@click.option("--json", "as_json", is_flag=True)
@pass_state
def paper_assemble(state: State, ref: str, forms: str | None, seed: int | None, time_limit: float | None,
                   gap: float | None, as_json: bool) -> None:  # fmt: skip
    """Assemble all forms of a stored blueprint (ID) or a blueprint file in one model; they are stored as drafts."""
    from examvault.assembly.service import AssemblyInfeasible, assemble

    try:
        papers = assemble(state.bank, ref, forms=forms.split(",") if forms else None, seed=seed, time_limit=time_limit, gap=gap)
    except AssemblyInfeasible as exc:
        if not as_json:
            raise
        emit_json({"error": str(exc).splitlines()[0], "shortfalls": exc.as_json()})
        sys.exit(exc.exit_code)
    if as_json:
        emit_json(papers)
        return
    for p in papers:
        err.print(f"paper {p['code']} (form {p['form']}): {p['items']} items, {p['total_points']:g} points, seed {p['seed']}, id {p['id']}")


@paper.command("list")
@click.option("--status")
@click.option("--blueprint", "blueprint_ref")
@click.option("--json", "as_json", is_flag=True)
@pass_state
def paper_list(state: State, status: str | None, blueprint_ref: str | None, as_json: bool) -> None:
    from examvault.assembly.service import list_papers

    rows = list_papers(state.bank, status=status, blueprint=blueprint_ref)
    if as_json:
        emit_json(rows)
        return
    table(["code", "form", "status", "blueprint", "items", "points", "approvals", "by", "created"],
          [[r["code"], r["form"], r["status"], f"{r['blueprint']} v{r['blueprint_version']}", r["items"], r["total_points"],
            ",".join(r["approvals"]), r["created_by"], r["created_at"][:16]] for r in rows])  # fmt: skip


@paper.command("show")
@click.argument("ref", metavar="ID")
@click.option("--json", "as_json", is_flag=True)
@pass_state
def paper_show(state: State, ref: str, as_json: bool) -> None:
    """A paper's layout; the form's answers only for key holders (custodian, approver), audited."""
    from examvault.assembly.service import show_paper

    r = show_paper(state.bank, ref)
    if as_json:
        emit_json(r)
        return
    out.print(f"{r['title']} — paper {r['code']} form {r['form']} ({r['status']}), {r['total_points']:g} points, seed {r['seed']}", markup=False)
    table(["#", "section", "item", "v", "type", "points", "point", "imp", "diff", "answer"],
          [[i["position"], i["section"], i["item_code"] or "(expert slot)", i["version"], i["type"], i["points"],
            i["point_code"], i["importance"], i["difficulty"], i.get("answer", "")] for i in r["items"]])  # fmt: skip


@paper.command("approve")
@click.argument("ref", metavar="ID")
@click.option("--sign-key", type=click.Path(dir_okay=False, path_type=Path),
              help="Your signing key (keys new): the approval then carries your signature, which sealing requires.")  # fmt: skip
@pass_state
def paper_approve(state: State, ref: str, sign_key: Path | None) -> None:
    """Approve a draft; two distinct approvers, neither the assembler. The second approval counts usage."""
    from examvault.assembly.service import approve_paper

    r = approve_paper(state.bank, ref, signer=_signing_key(sign_key) if sign_key else None)
    err.print(f"paper {r['code']}: approved by {', '.join(r['approvals'])}; status {r['status']}")


@paper.command("archive")
@click.argument("ref", metavar="ID")
@click.option("--reason", default="", help="Kept in the audit trail.")
@pass_state
def paper_archive(state: State, ref: str, reason: str) -> None:
    """Archive a draft nobody will approve, or a used paper at the end of its life."""
    from examvault.assembly.service import move_paper

    r = move_paper(state.bank, ref, "archive", reason=reason)
    err.print(f"paper {r['code']}: {r['status']}")


@paper.command("mark-used")
@click.argument("ref", metavar="ID")
@pass_state
def paper_mark_used(state: State, ref: str) -> None:
    """Record that a sealed paper has been sat."""
    from examvault.assembly.service import move_paper

    r = move_paper(state.bank, ref, "use")
    err.print(f"paper {r['code']}: {r['status']}")


@paper.command("expert")
@click.argument("ref", metavar="ID")
@click.option("--position", type=int, required=True, help="The expert slot's position on the paper.")
@click.argument("item_code")
@pass_state
def paper_expert(state: State, ref: str, position: int, item_code: str) -> None:
    """Put an item written for this paper (source 专家命题) into an expert slot."""
    from examvault.assembly.service import fill_expert_slot

    r = fill_expert_slot(state.bank, ref, position, item_code)
    err.print(f"paper {r['code']}: slot {position} ← {r['item']} ({r['item_status']}); open expert slots left: {r['open_expert_slots']}")


@paper.command("render")
@click.argument("ref", metavar="ID")
@click.option("--format", "formats", default="pdf,docx", show_default=True, help="Comma-separated: pdf, docx.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("."), show_default=True)
@click.option("--serial", default="", help="Per-copy serial printed on every page, to trace a leaked copy.")
@click.option("--json", "as_json", is_flag=True)
@pass_state
def paper_render(state: State, ref: str, formats: str, out_dir: Path, serial: str, as_json: bool) -> None:
    """Write the paper (试卷) and its marking key (标准答案及评分标准); drafts carry 样卷 / DRAFT. Audited."""
    from examvault.export.service import render_paper

    r = render_paper(state.bank, ref, out_dir, formats=tuple(f.strip() for f in formats.split(",") if f.strip()), serial=serial)
    if as_json:
        emit_json(r)
        return
    for f in r["files"]:
        err.print(f"{f['file']} ({f['bytes']:,} bytes)" + ("  [样卷 / DRAFT: not approved]" if r["draft"] else ""))


@paper.command("verify-derivation")
@click.argument("ref", metavar="ID")
@click.option("--json", "as_json", is_flag=True)
@pass_state
def paper_verify(state: State, ref: str, as_json: bool) -> None:
    """Re-solve from the stored blueprint version, seed and snapshot; exit 8 unless identical."""
    from examvault.assembly.service import verify_derivation

    r = verify_derivation(state.bank, ref)
    if as_json:
        emit_json(r)
    else:
        out.print(f"paper {r['paper']} form {r['form']}: seed {r['seed']}, blueprint {r['blueprint']} v{r['blueprint_version']}", markup=False)
        out.print(f"  snapshot sha256 {r['snapshot_sha256']}: {'intact' if r['snapshot_intact'] else 'ALTERED'}", markup=False)
        out.print(f"  solver recorded {r['solver_recorded']}; now {r['solver_now']}", markup=False)
        out.print(f"  re-derived layout {'identical' if r['identical'] else 'DIFFERENT'}", markup=False)
    if not r["identical"]:
        sys.exit(8)


@cli.command()
@click.option("--dir", "directory", type=click.Path(file_okay=False, path_type=Path), default=Path("examvault-demo"), show_default=True)
@click.option("--force", is_flag=True, help="Replace an existing demo directory.")
def demo(directory: Path, force: bool) -> None:
    """Build a realistic 电工 demo bank in a fresh directory and run every stage that exists."""
    from examvault.demo import run_demo

    run_demo(directory, force=force, console=err)


# ------------------------------------------------------------------ parties, packages, custody


def _sign_passphrase(*, confirm: bool = False) -> str:
    env = os.environ.get("EXAMVAULT_SIGN_PASSPHRASE")
    if env:
        return env
    if not sys.stdin.isatty():
        raise UnlockError("no signing-key passphrase: set EXAMVAULT_SIGN_PASSPHRASE or run in a terminal")
    first = getpass.getpass("Signing-key passphrase: ")
    if confirm and getpass.getpass("Signing-key passphrase (again): ") != first:
        raise UnlockError("the two passphrases differ")
    return first


def _signing_key(path: Path) -> Any:
    from examvault.crypto.signing import SigningKey

    return SigningKey.load(path, _sign_passphrase())


def _trusted(path: Path | None) -> Any:
    from examvault.crypto.signing import VerifyKey
    from examvault.errors import ConfigurationError

    path = path or (Path(os.environ["EXAMVAULT_TRUST"]) if os.environ.get("EXAMVAULT_TRUST") else None)
    if path is None:
        raise ConfigurationError("name the institution's verifier key: --trust institution.vkey (or EXAMVAULT_TRUST)")
    return VerifyKey.load(path)


def _token_text(token: str) -> str:
    """A QR token given as TOKEN or @FILE holding it (tokens are long to paste)."""
    from examvault.errors import ValidationError

    if not token.startswith("@"):
        return token
    try:
        return Path(token[1:]).read_text("utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise ValidationError(f"{token[1:]}: cannot read the token ({type(exc).__name__})") from None


def _when(text: str, option: str) -> Any:
    """A time as the user gives it: ISO 8601; without a zone it is Beijing time (Asia/Shanghai)."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from examvault.errors import ValidationError

    try:
        when = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ValidationError(f"{option} {text!r} is not a time like 2026-12-05T08:00 (Beijing time) or 2026-12-05T00:00Z") from None
    return when if when.tzinfo else when.replace(tzinfo=ZoneInfo("Asia/Shanghai"))


def _write_json(path: Path, doc: Any) -> None:
    path.write_text(json.dumps(doc, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


def _show(result: Any, as_json: bool, line: str) -> None:
    if as_json:
        emit_json(result)
    else:
        err.print(line)


@keys.command("new")
@click.option("--out", "out_path", required=True, type=click.Path(path_type=Path), help="NAME or DIR/NAME: the party's name, and where its key files go.")
@click.option("--json", "as_json", is_flag=True)
def keys_new(out_path: Path, as_json: bool) -> None:
    """For one party, on its own machine: age identity, passphrase-sealed signing key, and the public files to hand over."""
    from examvault.crypto.parties import new_keys

    r = new_keys(out_path, _sign_passphrase(confirm=True))
    _show(r, as_json, f"{r['name']}: keep {r['age_key']} and {r['sign_key']} private; give {r['age_pub']} and {r['vkey']} to the institution\n"
                      f"recipient {r['recipient']}")


@cli.group()
def institution() -> None:
    """The institution's own signing key."""


@institution.command("key")
@click.option("--out", "out_path", type=click.Path(dir_okay=False, path_type=Path), help="Write the verifier key here (institution.vkey).")
@pass_state
def institution_key_cmd(state: State, out_path: Path | None) -> None:
    """Print (and make, the first time) the verifier key that printers, examiners and auditors trust."""
    from examvault.custody.service import institution_key

    vk = institution_key(state.bank)
    if out_path:
        out_path.write_text(vk + "\n", encoding="utf-8")
        err.print(f"wrote {out_path}")
    click.echo(vk)


@cli.group()
def party() -> None:
    """Printers, examiners, exam sites, couriers, officers and approvers, known by their public keys."""


@party.command("add")
@click.argument("name")
@click.option("--role", required=True, type=click.Choice(["printer", "examiner", "site", "courier", "officer", "approver"]))
@click.option("--recipient", help="The party's age recipient (age1…), from NAME.age.pub.")
@click.option("--verify-key", "vkey", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path), help="NAME.vkey")
@click.option("--display-name", default="")
@pass_state
def party_add(state: State, name: str, role: str, recipient: str | None, vkey: Path, display_name: str) -> None:
    from examvault.crypto.parties import add_party

    if recipient and Path(recipient).is_file():
        recipient = Path(recipient).read_text("utf-8").strip()
    r = add_party(state.bank, name, role, recipient=recipient, verify_key=vkey.read_text("utf-8"), display_name=display_name)
    err.print(f"party {r['name']} ({r['role']}) registered")


@party.command("revoke")
@click.argument("name")
@click.option("--reason", required=True, help="Why (kept in the audit trail).")
@pass_state
def party_revoke(state: State, name: str, reason: str) -> None:
    """The party receives no more packages and its statements are refused; its past signatures still verify."""
    from examvault.crypto.parties import revoke_party

    r = revoke_party(state.bank, name, reason)
    err.print(f"party {r['name']} revoked at {r['revoked_at']}")


@party.command("list")
@click.option("--role")
@click.option("--json", "as_json", is_flag=True)
@pass_state
def party_list(state: State, role: str | None, as_json: bool) -> None:
    from examvault.crypto.parties import list_parties

    rows = list_parties(state.bank, role)
    if as_json:
        return emit_json(rows)
    table(["name", "role", "recipient", "verify key", "revoked"], [[r["name"], r["role"], r["recipient"], r["verify_key"][:40] + "…", r["revoked_at"]] for r in rows])


@cli.group()
def package() -> None:
    """Sealed packages (.evp): seal in the bank; verify, open and receipt anywhere."""


@package.command("seal")
@click.argument("ref", metavar="PAPER")
@click.option("--to", "to", multiple=True, required=True, help="Recipient party (repeat for several).")
@click.option("--kind", type=click.Choice(["paper", "marking-key", "electronic"]), default="paper", show_default=True)
@click.option("--not-before", help="Earliest opening time (Beijing time unless a zone is given). Default: now.")
@click.option("--exam-end", help="For a marking key: the end of the exam, its earliest opening time.")
@click.option("--expires", required=True, help="Latest opening time.")
@click.option("--copies", "copies", multiple=True, metavar="SITE/ROOM=N", help="Copies for one exam room (repeat).")
@click.option("--spares", default=0, show_default=True, type=click.IntRange(0))
@click.option("--release", metavar="K-of-N", help="Electronic papers: split the release key among N officers, K needed.")
@click.option("--shares-out", type=click.Path(file_okay=False, path_type=Path), help="Where the officers' release shares go.")
@click.option("--officer", "officers", multiple=True, help="With --release: an officer party (repeat N times); each share is age-encrypted to its officer.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("packages"), show_default=True)
@click.option("--json", "as_json", is_flag=True)
@pass_state
def package_seal(state: State, ref: str, to: tuple[str, ...], kind: str, not_before: str | None, exam_end: str | None, expires: str,
                 copies: tuple[str, ...], spares: int, release: str | None, shares_out: Path | None, officers: tuple[str, ...],
                 out_dir: Path, as_json: bool) -> None:  # fmt: skip
    """Seal an approved paper (or its marking key) to its recipients: sign, encrypt, sign."""
    from examvault.db import utcnow
    from examvault.errors import ValidationError
    from examvault.export.sealing import RoomCopies, seal_package

    if kind == "marking-key" and (exam_end is None or not_before is not None):
        raise ValidationError("a marking key opens at the end of the exam: give --exam-end (and not --not-before)")
    if kind != "marking-key" and exam_end is not None:
        raise ValidationError("--exam-end is for marking keys; use --not-before")
    start = _when(exam_end or not_before, "--exam-end" if exam_end else "--not-before") if (exam_end or not_before) else utcnow()
    rooms = []
    for spec in copies:
        where, _, n = spec.rpartition("=")
        site, _, room = where.partition("/")
        if not (site and room and n.isdigit()):
            raise ValidationError(f"--copies {spec!r}: write SITE/ROOM=N, e.g. 一中/第3考场=30")
        rooms.append(RoomCopies(site, room, int(n)))
    k_of_n = None
    if release:
        k, _, n = release.lower().partition("-of-")
        if not (k.isdigit() and n.isdigit()):
            raise ValidationError(f"--release {release!r}: write K-of-N, e.g. 3-of-5")
        k_of_n = (int(k), int(n))
    r = seal_package(state.bank, ref, kind=kind, to=list(to), not_before=start, expires=_when(expires, "--expires"), out_dir=out_dir,
                     rooms=rooms, spares=spares, release=k_of_n, shares_dir=shares_out, officers=list(officers))  # fmt: skip
    _show(r, as_json, f"sealed {r['paper']} ({r['kind']} v{r['version']}) to {', '.join(r['to'])}: {r['file']} ({r['bytes']} bytes), "
                      f"opens {r['not_before']}, expires {r['expires']}" + (f"; {len(r['share_files'])} release shares in {shares_out}" if r["share_files"] else ""))


@package.command("list")
@click.option("--paper")
@click.option("--json", "as_json", is_flag=True)
@pass_state
def package_list(state: State, paper: str | None, as_json: bool) -> None:
    from examvault.export.sealing import list_packages

    rows = list_packages(state.bank, paper)
    if as_json:
        return emit_json(rows)
    table(["package", "paper", "kind", "v", "to", "not before (UTC)", "expires (UTC)", "copies", "bytes"],
          [[r["package"], r["paper"], r["kind"], r["version"], ", ".join(r["to"]), r["not_before"], r["expires"], r["copies"], r["bytes"]] for r in rows])  # fmt: skip


_trust_option = click.option("--trust", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="institution.vkey (default: EXAMVAULT_TRUST)")


@package.command("verify")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@_trust_option
@click.option("--json", "as_json", is_flag=True)
def package_verify(file: Path, trust: Path | None, as_json: bool) -> None:
    """A courier's check, without opening: the institution signed this header and this ciphertext."""
    from examvault.export.recipient import verify_file

    r = verify_file(file, _trusted(trust))
    _show(r, as_json, f"{file}: signed by {r['signed_by']}; package {r['package_id']} = {r['paper']} ({r['kind']} v{r['version']}) "
                      f"to {', '.join(x['party'] for x in r['recipients'])}; opens {r['not_before']}, expires {r['expires']}")


@package.command("open")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--identity", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path), help="NAME.age-key")
@_trust_option
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path))
@click.option("--state", "state_file", type=click.Path(dir_okay=False, path_type=Path), help="Opened-packages record (default: EXAMVAULT_STATE or ~/.examvault/opened.json).")
@click.option("--json", "as_json", is_flag=True)
def package_open(file: Path, identity: Path, trust: Path | None, out_dir: Path, state_file: Path | None, as_json: bool) -> None:
    """Check everything, then write the files into a new directory."""
    from examvault.export.recipient import open_file

    r = open_file(file, identity=identity, trusted=_trusted(trust), out_dir=out_dir, state=state_file)
    _show(r, as_json, f"opened {r['paper']} ({r['kind']} v{r['version']}), approved by {', '.join(r['approved_by'])}: "
                      f"{len(r['files'])} files in {out_dir}")


@package.command("receipt")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--identity", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--sign-key", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@_trust_option
@click.option("--copies", required=True, type=click.IntRange(0), help="Copies received (electronic files: the copies you will print).")
@click.option("--out", "out_path", type=click.Path(dir_okay=False, path_type=Path), help="Default: FILE.receipt.json")
def package_receipt(file: Path, identity: Path, sign_key: Path, trust: Path | None, copies: int, out_path: Path | None) -> None:
    """A signed receipt for the institution (`custody import-receipt`)."""
    from examvault.export.recipient import receipt

    doc = receipt(file, identity=identity, sign_key=_signing_key(sign_key), trusted=_trusted(trust), copies=copies)
    out_path = out_path or file.with_name(file.name + ".receipt.json")
    _write_json(out_path, doc)
    err.print(f"receipt for package {doc['package']} signed by {doc['actor']}: {out_path}")


@package.command("release")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--officer-share", "share_files", multiple=True, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="An exam officer's release share (repeat K times).")  # fmt: skip
@click.option("--identity", "identities", multiple=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="An officer's age identity, to open a share encrypted to them (repeat).")  # fmt: skip
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path))
@pass_state
def package_release(state: State, file: Path, share_files: tuple[Path, ...], identities: tuple[Path, ...], out_dir: Path) -> None:
    """Open an electronic paper with K officers' shares, not before its time. Every share presented is logged."""
    from examvault.export.recipient import load_identities
    from examvault.export.sealing import read_share, release_package

    keys = [i for path in identities for i in load_identities(path)]
    texts = [read_share(p, keys) for p in share_files]
    r = release_package(state.bank, file, texts, out_dir)
    err.print(f"released {r['paper']}: {len(r['files'])} files in {out_dir}")


@cli.group()
def custody() -> None:
    """The chain-of-custody log: an append-only Merkle tree with signed checkpoints."""


@custody.command("list")
@click.option("--paper")
@click.option("--package", "package_id")
@click.option("--type", "type_")
@click.option("--limit", default=500, show_default=True)
@click.option("--json", "as_json", is_flag=True)
@pass_state
def custody_list(state: State, paper: str | None, package_id: str | None, type_: str | None, limit: int, as_json: bool) -> None:
    from examvault.custody.service import list_events

    rows = list_events(state.bank, paper=paper, package=package_id, type_=type_, limit=limit)
    if as_json:
        return emit_json(rows)
    table(["seq", "at (UTC)", "type", "actor", "counterpart", "paper", "details", "signed by"],
          [[e["seq"], e["at"], e["type"], e["actor"], e.get("counterpart"), e.get("paper"),
            json.dumps({k: v for k, v in e.get("details", {}).items() if k != "signature"}, ensure_ascii=False)[:60],
            ", ".join(s["signer"] for s in e.get("signatures", []))] for e in rows])  # fmt: skip


@custody.command("statement")
@click.argument("type_", metavar="TYPE")
@click.option("--actor", required=True, help="The party making the statement (its key signs).")
@click.option("--counterpart", help="For a handover: the other party, who countersigns.")
@click.option("--paper")
@click.option("--package", "package_id")
@click.option("--copies", type=click.IntRange(0))
@click.option("--room", help="SITE/ROOM, for packing and exam-side events.")
@click.option("--note", default="")
@click.option("--sign-key", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--out", "out_path", required=True, type=click.Path(dir_okay=False, path_type=Path))
def custody_statement(type_: str, actor: str, counterpart: str | None, paper: str | None, package_id: str | None, copies: int | None,
                      room: str | None, note: str, sign_key: Path, out_path: Path) -> None:  # fmt: skip
    """On a party's machine: write and sign a custody statement (printed, packed, dispatched…)."""
    from examvault.custody.events import new_event, sign_event

    details: dict[str, Any] = {k: v for k, v in {"copies": copies, "room": room, "note": note}.items() if v not in (None, "")}
    event = new_event(type_, actor, counterpart=counterpart, paper=paper, package=package_id, details=details)
    _write_json(out_path, sign_event(event, _signing_key(sign_key)))
    err.print(f"{type_} by {actor} signed: {out_path}" + (f"; {counterpart} must countersign it" if counterpart else ""))


@custody.command("countersign")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--sign-key", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
def custody_countersign(file: Path, sign_key: Path) -> None:
    """The counterpart of a handover signs the same statement."""
    from examvault.custody.events import parse_statement, sign_event

    doc = sign_event(parse_statement(file.read_text("utf-8"), str(file)), _signing_key(sign_key))
    _write_json(file, doc)
    err.print(f"{file}: signed by {', '.join(s['signer'] for s in doc['signatures'])}")


@custody.command("append")
@click.argument("file", required=False, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--type", "type_", help="Without FILE: an event the bank records (paper.marked, paper.destroyed…).")
@click.option("--paper")
@click.option("--package", "package_id")
@click.option("--copies", type=click.IntRange(0))
@click.option("--note", default="")
@click.option("--json", "as_json", is_flag=True)
@pass_state
def custody_append(state: State, file: Path | None, type_: str | None, paper: str | None, package_id: str | None, copies: int | None,
                   note: str, as_json: bool) -> None:  # fmt: skip
    """Append a party's signed statement (FILE), or an event the bank records itself (--type)."""
    from examvault.custody.service import append_bank_event, append_statement
    from examvault.errors import ValidationError

    if (file is None) == (type_ is None):
        raise ValidationError("give either a statement FILE or --type, not both")
    if file is not None:
        r = append_statement(state.bank, file.read_text("utf-8"), str(file))
    else:
        details = {k: v for k, v in {"copies": copies, "note": note}.items() if v not in (None, "")}
        r = append_bank_event(state.bank, str(type_), paper=paper, package=package_id, details=details)
    _show(r, as_json, f"custody event {r['seq']}: {r['type']} appended")


@custody.command("import-receipt")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True)
@pass_state
def custody_import_receipt(state: State, file: Path, as_json: bool) -> None:
    """Check a recipient's signed receipt against the package as sealed, and log it."""
    from examvault.custody.service import append_statement

    r = append_statement(state.bank, file.read_text("utf-8"), str(file), receipt=True)
    _show(r, as_json, f"receipt by {r['actor']} logged as custody event {r['seq']}")


@custody.command("checkpoint")
@click.option("--out", "out_path", type=click.Path(dir_okay=False, path_type=Path), help="Also save the signed note here.")
@pass_state
def custody_checkpoint(state: State, out_path: Path | None) -> None:
    """Sign the current tree head (a C2SP signed note)."""
    from examvault.custody.service import checkpoint

    note = checkpoint(state.bank)
    if out_path:
        out_path.write_text(note, encoding="utf-8")
    click.echo(note, nl=False)


@custody.command("proof")
@click.argument("seq", type=click.IntRange(0))
@click.option("--out", "out_path", required=True, type=click.Path(dir_okay=False, path_type=Path))
@pass_state
def custody_proof(state: State, seq: int, out_path: Path) -> None:
    """An inclusion proof for one event, under the latest checkpoint: verifiable offline."""
    from examvault.custody.service import inclusion_proof

    _write_json(out_path, inclusion_proof(state.bank, seq))
    err.print(f"inclusion proof for event {seq}: {out_path}")


@custody.command("consistency")
@click.argument("seen", type=click.Path(exists=True, dir_okay=False, path_type=Path), metavar="CHECKPOINT_FILE")
@click.option("--out", "out_path", required=True, type=click.Path(dir_okay=False, path_type=Path))
@pass_state
def custody_consistency(state: State, seen: Path, out_path: Path) -> None:
    """A consistency proof from a checkpoint saved earlier to the latest one: the log only grew."""
    from examvault.custody.service import consistency_proof

    doc = consistency_proof(state.bank, seen.read_text("utf-8"))
    _write_json(out_path, doc)
    err.print(f"consistency proof to the latest checkpoint: {out_path}")


@custody.command("verify")
@click.argument("proof", required=False, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@_trust_option
@click.option("--checkpoint", "seen", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A checkpoint saved earlier: the bank's log must still extend it.")  # fmt: skip
@click.option("--json", "as_json", is_flag=True)
@pass_state
def custody_verify(state: State, proof: Path | None, trust: Path | None, seen: Path | None, as_json: bool) -> None:
    """With PROOF: check a proof file offline. Without: check the bank's whole log."""
    if proof is not None:
        from examvault.custody.proofs import verify_doc
        from examvault.errors import ValidationError

        try:
            doc = json.loads(proof.read_text("utf-8"))
        except ValueError:
            raise ValidationError(f"{proof} is not JSON") from None
        r = verify_doc(doc, _trusted(trust), str(proof))
        line = (f"event {r['index']} ({r['event']['type']}) is in the log of {r['tree_size']} events signed by {r['origin']}"
                if r["verified"] == "inclusion" else f"the log of {r['new_size']} events extends the one of {r['old_size']}")  # fmt: skip
        return _show(r, as_json, f"verified: {line}")
    from examvault.custody.service import verify_log

    r = verify_log(state.bank, seen_checkpoint=seen.read_text("utf-8") if seen else None, trusted=_trusted(trust) if trust else None)
    _show(r, as_json, f"custody log verified: {r['events']} events, {r['checkpoints']} checkpoints (latest {r['latest_checkpoint']}), root {r['root'][:16]}…"
                      + (f"; {r['not_yet_checkpointed']} events newer than the latest checkpoint" if r["not_yet_checkpointed"] else ""))


# Capabilities with command groups of their own; imported last, as they use the helpers above.
from examvault.quality.cli import quality_group  # noqa: E402
from examvault.registration.certificate_cli import certificate_group  # noqa: E402
from examvault.registration.cli import (  # noqa: E402
    attendance_group,
    candidate_group,
    plan_group,
    report_group,
    session_group,
    ticket_group,
)
from examvault.registration.retention_cli import retention_group  # noqa: E402
from examvault.scoring.cli import key_group, responses_group, results_group, scores_group, violation_group  # noqa: E402
from examvault.scoring.marking_cli import marking_group  # noqa: E402
from examvault.staff.cli import staff_group  # noqa: E402
from examvault.stats import service_cli as _stats_bank_commands  # noqa: E402, F401  (update, show, review, decide)
from examvault.stats.cli import stats_group  # noqa: E402

for _group in (plan_group, session_group, candidate_group, ticket_group, attendance_group, certificate_group, retention_group,
               report_group, staff_group, quality_group, key_group, responses_group, scores_group, results_group, violation_group,
               marking_group, stats_group):  # fmt: skip
    cli.add_command(_group)


def main(argv: list[str] | None = None) -> None:
    debug = "--debug" in (argv if argv is not None else sys.argv[1:])
    try:
        cli.main(args=argv, prog_name="examvault", standalone_mode=False)
    except click.exceptions.Abort:
        err.print("aborted")
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except ExamvaultError as exc:
        if debug:
            raise
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as exc:  # the last line of defence: no traceback without --debug
        if debug:
            raise
        from sqlalchemy.exc import SQLAlchemyError

        if isinstance(exc, SQLAlchemyError):
            orig = getattr(exc, "orig", None)
            msg = f"database error: {type(orig or exc).__name__}: {str(orig or '').splitlines()[0] if orig else ''}"
            print(f"error: {msg}", file=sys.stderr)
            sys.exit(9)
        print(f"error: unexpected {type(exc).__name__}; rerun with --debug for details", file=sys.stderr)
        sys.exit(10)
