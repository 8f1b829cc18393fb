"""The web console: server-rendered pages in Simplified Chinese over the same service functions as the
API and the CLI. Logged in by an HttpOnly, SameSite=Strict session cookie; every form carries the
session's CSRF token, checked by the same `need` dependency as the API.

Pages: unseal and login; 题库 (items with the outline tree, one item, a new version), 审核 (the review
queue), 组卷方案 (blueprints and their coverage check), 试卷 (assemble, preview, approve, seal),
保管链 (the custody timeline), 审计 (audit trail with the log's verification) and 阅卷 (one coded answer
and its marking points, marks per point). Long actions run as jobs with a progress bar.
"""

from __future__ import annotations

import secrets
from collections import defaultdict
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from fastapi import Depends, FastAPI, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool

from examvault.accounts import admin, credentials
from examvault.accounts.roles import allowed
from examvault.api.deps import SESSION_COOKIE, Caller, caller, client_of, need, server_of
from examvault.api.routers._common import download, long_action, zipped
from examvault.assembly import service as assembly
from examvault.crypto.signing import SigningKey
from examvault.custody import service as custody
from examvault.errors import ExamvaultError
from examvault.export import sealing
from examvault.export import service as export
from examvault.itembank import outlines
from examvault.itembank import service as items
from examvault.itembank.domain import OPTION_LETTERS

HERE = Path(__file__).parent
SHANGHAI = ZoneInfo("Asia/Shanghai")
LOGIN_CSRF = "ev_login_csrf"
templates = Jinja2Templates(directory=str(HERE / "templates"))
STATUS_ZH = {"draft": "草稿", "submitted": "待审", "reviewed": "已审", "active": "在用", "suspended": "暂停", "retired": "停用",
             "approved": "已批准", "sealed": "已封装", "used": "已使用", "archived": "已归档"}  # fmt: skip
EVENT_ZH = {"paper.assembled": "组卷", "paper.approved": "审批", "paper.rendered": "排版输出", "package.sealed": "封装",
            "package.exported": "封装包导出", "printer.received": "印刷厂签收", "printer.printed": "印刷",
            "printer.spoiled-destroyed": "废页销毁", "printer.packed": "装袋密封", "exam.dispatched": "交运",
            "exam.site-received": "考点签收", "exam.opened": "启封", "exam.collected": "收卷", "exam.returned": "回收交接",
            "paper.marked": "阅卷", "paper.archived": "归档", "paper.destroyed": "销毁", "release.share-presented": "提交启封份额",
            "release.opened": "电子试卷启封"}  # fmt: skip
ROLE_ZH = {"custodian": "题库管理员", "author": "命题人", "reviewer": "审核人", "approver": "审批人", "assembler": "组卷人",
           "printer": "印刷厂", "examiner": "考评员", "exam_admin": "考务", "supervisor": "质量督导", "admin": "系统管理员"}  # fmt: skip


def _local(value: Any) -> str:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return value
    if isinstance(value, datetime):
        return value.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S")
    return "" if value is None else str(value)


templates.env.filters["local"] = _local
templates.env.filters["zh"] = lambda s: STATUS_ZH.get(s, s)
templates.env.globals["ROLE_ZH"] = ROLE_ZH
templates.env.filters["event"] = lambda t: f"{EVENT_ZH[t]}（{t}）" if t in EVENT_ZH else t
templates.env.globals["LETTERS"] = OPTION_LETTERS


class LoginRequired(Exception):
    def __init__(self, next_url: str) -> None:
        self.next_url = next_url


def page(permission: str | None) -> Any:
    """`need(permission)` for a page: not logged in sends the browser to the login page instead of a 401."""
    check = need(permission)

    async def dep(request: Request) -> Caller:
        try:
            return await check(await caller(request))
        except credentials.LoginFailed:
            raise LoginRequired(str(request.url.path)) from None

    dep.permission = permission  # type: ignore[attr-defined]
    return dep


def render(request: Request, who: Caller | None, name: str, http_status: int = 200, **context: Any) -> HTMLResponse:
    roles = who.identity.roles if who else frozenset()
    context |= {
        "request": request, "who": who, "roles": roles, "can": lambda p: allowed(roles, p),
        "csrf": who.server.csrf_token(who.token) if who and who.via_cookie else "",
    }  # fmt: skip
    return templates.TemplateResponse(request, name, context, status_code=http_status)


def attempt(fn: Any, *args: Any, **kwargs: Any) -> tuple[Any, str]:
    """A service call whose refusal the page shows in place, as the CLI would print it."""
    try:
        return fn(*args, **kwargs), ""
    except ExamvaultError as exc:
        return None, str(exc)


def back(url: str, message: str = "", error: str = "") -> RedirectResponse:
    sep = "&" if "?" in url else "?"
    if message:
        url += f"{sep}msg={quote(message)}"
    elif error:
        url += f"{sep}err={quote(error)}"
    return RedirectResponse(url, status_code=303)


def install(app: FastAPI) -> None:  # noqa: C901 — one function: the console's routes in reading order
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")

    @app.exception_handler(LoginRequired)
    async def _login(_: Request, exc: LoginRequired) -> RedirectResponse:
        return RedirectResponse(f"/console/login?next={quote(exc.next_url)}", status_code=303)

    @app.get("/fonts/{name}", include_in_schema=False)
    def font(name: str) -> Response:
        """The packaged Noto fonts, for browsers without a Chinese font of their own (the CSS asks for local ones first)."""
        from fastapi.responses import FileResponse

        from examvault.export.fonts import font_paths

        serif, sans = font_paths()
        path = {"sans.otf": sans, "serif.otf": serif}.get(name)
        if path is None:
            return Response(status_code=404)
        return FileResponse(path, media_type="font/otf", headers={"cache-control": "public, max-age=604800"})

    @app.get("/", include_in_schema=False)
    def root() -> RedirectResponse:
        return RedirectResponse("/console", status_code=303)

    # ------------------------------------------------------------ unseal and login

    @app.get("/console/unseal", include_in_schema=False, response_class=HTMLResponse)
    def unseal_page(request: Request, err: str = "") -> HTMLResponse:
        return render(request, None, "unseal.html", vault=server_of(request).vault.status(), error=err[:300])

    @app.post("/console/unseal", include_in_schema=False)
    def unseal_submit(request: Request, share: Annotated[str, Form(max_length=2000)] = "",
                      passphrase: Annotated[str, Form(max_length=1024)] = "") -> RedirectResponse:  # fmt: skip
        # No session exists while sealed, so no CSRF token: a forged unseal could only submit the forger's own share.
        from examvault.api.routers.system import Unseal, unseal

        try:
            status = unseal(Unseal(share=share or None) if share else Unseal(passphrase=passphrase), request)
        except (ExamvaultError, ValueError) as exc:
            return back("/console/unseal", error=str(exc).split("\n")[0][:300])
        return RedirectResponse("/console/login" if not status["sealed"] else "/console/unseal", status_code=303)

    @app.get("/console/login", include_in_schema=False, response_class=HTMLResponse)
    def login_page(request: Request, next: str = "/console", err: str = "") -> HTMLResponse:
        token = secrets.token_urlsafe(24)
        response = render(request, None, "login.html", next=next if next.startswith("/console") else "/console",
                          login_csrf=token, error=err[:300])  # fmt: skip
        response.set_cookie(LOGIN_CSRF, token, httponly=True, samesite="strict", secure=server_of(request).secure_cookies, path="/console/login")
        return response

    @app.post("/console/login", include_in_schema=False)
    def login_submit(request: Request, username: Annotated[str, Form(max_length=80)], password: Annotated[str, Form(max_length=1024)],
                     csrf: Annotated[str, Form(max_length=100)] = "", next: Annotated[str, Form(max_length=300)] = "/console") -> Response:  # fmt: skip
        expected = request.cookies.get(LOGIN_CSRF, "")
        if not expected or not secrets.compare_digest(expected, csrf):
            return back("/console/login", error="登录表单已过期，请重试")
        server = server_of(request)
        if server.logins.allow(f"login:{client_of(request)}"):
            return back("/console/login", error="登录尝试过于频繁，请稍后再试")
        try:
            token, expires = credentials.login(server.bank, username, password, client=client_of(request))
        except ExamvaultError as exc:
            msg = "用户名或密码错误" if isinstance(exc, credentials.LoginFailed) else "账户已锁定：" + str(exc)
            return back("/console/login", error=msg)
        response = RedirectResponse(next if next.startswith("/console") else "/console", status_code=303)
        response.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="strict", secure=server.secure_cookies,
                            path="/", max_age=int(credentials.SESSION_MAX.total_seconds()))  # fmt: skip
        response.delete_cookie(LOGIN_CSRF, path="/console/login")
        return response

    @app.post("/console/logout", include_in_schema=False)
    def logout(who: Caller = Depends(page(None))) -> RedirectResponse:
        credentials.logout(who.bank, who.identity.token_id)
        who.server.end_session(who.identity.token_id)
        response = RedirectResponse("/console/login", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    @app.post("/console/seal", include_in_schema=False)
    def seal(who: Caller = Depends(page("keys.manage"))) -> RedirectResponse:
        who.server.seal(who.username)
        return RedirectResponse("/console/unseal", status_code=303)

    @app.get("/console", include_in_schema=False, response_class=HTMLResponse)
    def home(request: Request, who: Caller = Depends(page(None))) -> HTMLResponse:
        return render(request, who, "home.html")

    # ------------------------------------------------------------ items

    @app.get("/console/items", include_in_schema=False, response_class=HTMLResponse)
    def item_list(request: Request, who: Caller = Depends(page("item.list")),
                  occupation: Annotated[str, Query(max_length=40)] = "", level: Annotated[int | None, Query(ge=1, le=5)] = None,
                  type: Annotated[str, Query(max_length=10)] = "", status: Annotated[str, Query(max_length=20)] = "",
                  point: Annotated[str, Query(max_length=40)] = "", q: Annotated[str, Query(max_length=80)] = "",
                  page_no: Annotated[int, Query(alias="page", ge=1, le=100000)] = 1) -> HTMLResponse:  # fmt: skip
        size = 50
        found, error = attempt(items.search_items, who.bank, occupation=occupation or None, level=level, type=type or None,
                               status=status or None, point=point or None, code_prefix=q or None, limit=size,
                               offset=(page_no - 1) * size, with_total=True)  # fmt: skip
        rows, total = found or ([], 0)
        tree = None
        if occupation and level and allowed(who.identity.roles, "outline.read"):
            tree, _e = attempt(outlines.outline_tree, who.bank, occupation, level)
        occupations = sorted({(b["occupation"], b["level"]) for b in (attempt(assembly.list_blueprints, who.bank)[0] or [])}) \
            if allowed(who.identity.roles, "blueprint.read") else []  # fmt: skip
        filters = {"occupation": occupation, "level": level or "", "type": type, "status": status, "point": point, "q": q}
        return render(request, who, "items.html", rows=rows, total=total or 0, page=page_no, pages=max(1, -(-(total or 0) // size)),
                      tree=tree, filters=filters, occupations=occupations, error=error)  # fmt: skip

    @app.post("/console/jobs/import", include_in_schema=False)
    async def import_job(request: Request, who: Caller = Depends(page("item.write"))) -> Any:
        from examvault.api.uploads import in_memory_file

        form = await request.form()
        upload = form.get("file")
        if upload is None or not hasattr(upload, "read"):
            return back("/console/items", error="请选择要导入的文件")
        name, data = upload.filename or "upload", await upload.read()

        def run(job: Any) -> Any:
            with in_memory_file(name, data, allowed=(".xlsx", ".csv", ".json", ".docx")) as path:
                return items.import_items(who.bank, path, progress=job.progress).as_json()

        return await run_in_threadpool(long_action, who, "item.import", run, 0)

    @app.get("/console/stats", include_in_schema=False, response_class=HTMLResponse)
    def stats_page(request: Request, who: Caller = Depends(page("stats.read")), msg: str = "", err: str = "") -> HTMLResponse:
        from examvault.stats import service as stats

        papers = attempt(assembly.list_papers, who.bank)[0] or [] if allowed(who.identity.roles, "paper.list") else []
        return render(request, who, "stats.html", reviews=stats.review_queue(who.bank),
                      papers=[p for p in papers if p["status"] in ("sealed", "used")], message=msg[:300], error=err[:500])  # fmt: skip

    @app.post("/console/jobs/stats", include_in_schema=False)
    def stats_job(request: Request, who: Caller = Depends(page("stats.update")),
                  paper: Annotated[str, Form(max_length=60)] = "") -> Any:  # fmt: skip
        from examvault.stats import service as stats

        return long_action(who, "stats.update", lambda job: stats.update_paper(who.bank, paper), 0)

    @app.post("/console/stats/{code}/decide", include_in_schema=False)
    def stats_decide(request: Request, code: str, who: Caller = Depends(page("stats.read")),
                     decision: Annotated[str, Form(max_length=10)] = "", comment: Annotated[str, Form(max_length=400)] = "") -> RedirectResponse:  # fmt: skip
        from examvault.stats import service as stats

        done, error = attempt(stats.decide, who.bank, code, decision, comment=comment)
        return back("/console/stats", error=error) if error else back("/console/stats", message=f"{code}：{'保留并重新启用' if decision == 'keep' else '停用'}")

    @app.get("/console/items/{code}", include_in_schema=False, response_class=HTMLResponse)
    def item_page(request: Request, code: str, who: Caller = Depends(page("item.list")),
                  msg: str = "", err: str = "") -> HTMLResponse:  # fmt: skip
        shown, error = attempt(items.show_item, who.bank, code, with_content=allowed(who.identity.roles, "item.read"))
        moves = [action for action, rule in items.TRANSITIONS.items()
                 if shown and shown["status"] in rule.sources and allowed(who.identity.roles, rule.permission)]  # fmt: skip
        return render(request, who, "item.html", item=shown, code=code, moves=moves, message=msg[:300], error=error or err[:500],
                      http_status=404 if shown is None else 200)  # fmt: skip

    @app.post("/console/items/{code}/edit", include_in_schema=False)
    async def item_edit(request: Request, code: str, who: Caller = Depends(page("item.write"))) -> RedirectResponse:
        form = await request.form()
        fields = {"题干": "stem", "答案": "answer", "解析": "analysis", "难度": "difficulty", **{f"选项{c}": f"option_{c}" for c in OPTION_LETTERS}}
        changes = {zh: str(form[key]) for zh, key in fields.items() if key in form and str(form[key]) != str(form.get(f"was_{key}", ""))}
        done, error = await run_in_threadpool(attempt, items.edit_item, who.bank, code, changes, note=str(form.get("note", ""))[:2000])
        if error:
            return back(f"/console/items/{quote(code)}", error=error)
        return back(f"/console/items/{quote(code)}", message=f"已保存为第 {done['version']} 版，状态：{STATUS_ZH.get(done['status'], done['status'])}（须重新审核）")

    @app.post("/console/items/{code}/{action}", include_in_schema=False)
    def item_move(request: Request, code: str, action: str, who: Caller = Depends(page(None)),
                  comment: Annotated[str, Form(max_length=2000)] = "", to: Annotated[str, Form(max_length=200)] = "") -> RedirectResponse:  # fmt: skip
        if action not in items.TRANSITIONS:
            return back(f"/console/items/{quote(code)}", error=f"未知操作 {action}")
        _done, error = attempt(items.transition, who.bank, action, [code], comment=comment)
        target = to if to.startswith("/console") else f"/console/items/{quote(code)}"
        return back(target, error=error) if error else back(target, message=f"{code}：{action} 完成")

    @app.get("/console/review", include_in_schema=False, response_class=HTMLResponse)
    def review_queue(request: Request, who: Caller = Depends(page("item.list")), msg: str = "", err: str = "") -> HTMLResponse:
        submitted = attempt(items.search_items, who.bank, status="submitted", limit=200)[0] or ([], None)
        reviewed = attempt(items.search_items, who.bank, status="reviewed", limit=200)[0] or ([], None)
        return render(request, who, "review.html", submitted=submitted[0], reviewed=reviewed[0], message=msg[:300], error=err[:500])

    # ------------------------------------------------------------ blueprints and papers

    @app.get("/console/blueprints", include_in_schema=False, response_class=HTMLResponse)
    def blueprint_list(request: Request, who: Caller = Depends(page("blueprint.read"))) -> HTMLResponse:
        return render(request, who, "blueprints.html", blueprints=assembly.list_blueprints(who.bank))

    @app.get("/console/blueprints/{ref:path}", include_in_schema=False, response_class=HTMLResponse)
    def blueprint_page(request: Request, ref: str, who: Caller = Depends(page("blueprint.read"))) -> HTMLResponse:
        shown, error = attempt(assembly.show_blueprint, who.bank, ref)
        doc = shown.get("document") if shown else None
        if isinstance(doc, str):
            import json

            doc = json.loads(doc)
        return render(request, who, "blueprint.html", bp=shown, doc=doc or {}, ref=ref, error=error, http_status=404 if shown is None else 200)

    @app.post("/console/jobs/blueprint-check", include_in_schema=False)
    def check_job(request: Request, who: Caller = Depends(page("blueprint.read")),
                  blueprint: Annotated[str, Form(max_length=200)] = "") -> Any:  # fmt: skip
        return long_action(who, "blueprint.check", lambda job: _coverage_tables(assembly.check_blueprint(who.bank, blueprint)), 0)

    @app.post("/console/jobs/assemble", include_in_schema=False)
    def assemble_job(request: Request, who: Caller = Depends(page("paper.assemble")),
                     blueprint: Annotated[str, Form(max_length=200)] = "") -> Any:  # fmt: skip
        return long_action(who, "paper.assemble", lambda job: assembly.assemble(who.bank, blueprint), 0)

    @app.get("/console/papers", include_in_schema=False, response_class=HTMLResponse)
    def paper_list(request: Request, who: Caller = Depends(page("paper.list")), msg: str = "", err: str = "") -> HTMLResponse:
        blueprints = assembly.list_blueprints(who.bank) if allowed(who.identity.roles, "blueprint.read") else []
        return render(request, who, "papers.html", papers=assembly.list_papers(who.bank), blueprints=blueprints,
                      message=msg[:300], error=err[:500])  # fmt: skip

    @app.get("/console/papers/{ref}", include_in_schema=False, response_class=HTMLResponse)
    def paper_page(request: Request, ref: str, who: Caller = Depends(page("paper.list")), msg: str = "", err: str = "") -> HTMLResponse:
        shown, error = attempt(assembly.show_paper, who.bank, ref)
        preview = None
        if shown and allowed(who.identity.roles, "paper.key"):
            preview, error = attempt(export.preview_paper, who.bank, ref)
        parties = attempt(_parties, who.bank)[0] if allowed(who.identity.roles, "paper.seal") else []
        events = attempt(custody.list_events, who.bank, paper=shown["code"])[0] if shown and allowed(who.identity.roles, "custody.read") else []
        packages = attempt(sealing.list_packages, who.bank, shown["code"])[0] if shown else []
        now = datetime.now(SHANGHAI).replace(second=0, microsecond=0)
        return render(request, who, "paper.html", paper=shown, preview=preview, ref=ref, parties=parties or [], events=events or [],
                      packages=packages or [], message=msg[:300], error=error or err[:500], http_status=404 if shown is None else 200,
                      not_before=(now + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M"),
                      expires=(now + timedelta(days=30)).strftime("%Y-%m-%dT%H:%M"))  # fmt: skip

    @app.post("/console/papers/{ref}/approve", include_in_schema=False)
    async def paper_approve(request: Request, ref: str, who: Caller = Depends(page("paper.approve"))) -> RedirectResponse:
        form = await request.form()
        key_file, passphrase = form.get("sign_key"), str(form.get("passphrase", ""))
        signer = None
        if key_file is not None and hasattr(key_file, "read"):
            data = await key_file.read()
            if data:
                signer, error = attempt(SigningKey.from_file_text, data[:8000].decode("utf-8", "replace"), passphrase, "签名密钥文件")
                if error:
                    return back(f"/console/papers/{quote(ref)}", error=error)
        done, error = await run_in_threadpool(attempt, assembly.approve_paper, who.bank, ref, signer=signer)
        if error:
            return back(f"/console/papers/{quote(ref)}", error=error)
        return back(f"/console/papers/{quote(ref)}", message=f"已批准（{len(done.get('approvals', []))}/2），状态：{STATUS_ZH.get(done['status'], done['status'])}")

    @app.post("/console/papers/{ref}/seal", include_in_schema=False)
    def paper_seal(request: Request, ref: str, who: Caller = Depends(page("paper.seal")),
                   to: Annotated[list[str], Form(max_length=20)] = [],  # noqa: B006
                   kind: Annotated[str, Form(max_length=20)] = "paper",
                   not_before: Annotated[str, Form(max_length=40)] = "", expires: Annotated[str, Form(max_length=40)] = "") -> Response:  # fmt: skip
        import tempfile

        try:
            start = datetime.fromisoformat(not_before).replace(tzinfo=SHANGHAI)
            end = datetime.fromisoformat(expires).replace(tzinfo=SHANGHAI)
        except ValueError:
            return back(f"/console/papers/{quote(ref)}", error="开启时间或失效时间格式不对")
        with tempfile.TemporaryDirectory(prefix="examvault-seal-") as tmp:
            done, error = attempt(sealing.seal_package, who.bank, ref, kind=kind, to=[t for t in to if t], not_before=start,
                                  expires=end, out_dir=Path(tmp))  # fmt: skip
            if error:
                return back(f"/console/papers/{quote(ref)}", error=error)
            path = next(Path(tmp).glob("*.evp"))
            return download(path.read_bytes(), path.name, "application/octet-stream")

    @app.post("/console/papers/{ref}/render", include_in_schema=False)
    def paper_render(request: Request, ref: str, who: Caller = Depends(page("paper.render"))) -> Response:
        done, error = attempt(export.render_for_download, who.bank, ref, formats=("pdf",))
        if error:
            return back(f"/console/papers/{quote(ref)}", error=error)
        doc, files = done
        return download(zipped(files), f"{doc.code}.zip", "application/zip")

    # ------------------------------------------------------------ custody and audit

    @app.get("/console/custody", include_in_schema=False, response_class=HTMLResponse)
    def custody_page(request: Request, who: Caller = Depends(page("custody.read")),
                     paper: Annotated[str, Query(max_length=200)] = "") -> HTMLResponse:  # fmt: skip
        events, error = attempt(custody.list_events, who.bank, paper=paper or None, limit=1000)
        verified, failure = attempt(custody.verify_log, who.bank)
        if failure and not isinstance(failure, str):
            failure = str(failure)
        return render(request, who, "custody.html", events=list(reversed(events or [])), paper=paper, verified=verified,
                      failure=failure, error=error)  # fmt: skip

    @app.get("/console/audit", include_in_schema=False, response_class=HTMLResponse)
    def audit_page(request: Request, who: Caller = Depends(page("audit.read")),
                   actor: Annotated[str, Query(max_length=80)] = "", action: Annotated[str, Query(max_length=60)] = "") -> HTMLResponse:  # fmt: skip
        rows = admin.audit_trail(who.bank, actor=actor or None, action=action or None, limit=300)
        verified, failure = (attempt(custody.verify_log, who.bank) if allowed(who.identity.roles, "custody.read") else (None, ""))
        return render(request, who, "audit.html", rows=rows, actor=actor, action=action, verified=verified, failure=failure)

    # ------------------------------------------------------------ marking

    from examvault.api.console import marking_views

    marking_views.install(app, page, render, attempt, back)


def _parties(bank: Any) -> list[dict[str, Any]]:
    from examvault.crypto.parties import list_parties

    return list_parties(bank)


def _coverage_tables(report: dict[str, Any]) -> dict[str, Any]:
    """The check's coverage cells folded into one table per section: ranges down, difficulty across."""
    tables: dict[str, dict[str, dict[int, int]]] = defaultdict(lambda: defaultdict(lambda: defaultdict(int)))
    importance: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for cell in report.get("coverage", []):
        tables[cell["section"]][cell["range"]][cell["difficulty"]] += cell["items"]
        importance[cell["section"]][cell["importance"]] += cell["items"]
    report["tables"] = [
        {"section": s, "rows": [{"range": r, "by_difficulty": [cells.get(d, 0) for d in range(1, 6)], "total": sum(cells.values())}
                                for r, cells in sorted(ranges.items())],
         "importance": dict(sorted(importance[s].items()))}
        for s, ranges in tables.items()
    ]  # fmt: skip
    return report

