"""The examiner's marking screen: one coded script's item, its 评分要点, and marks entered per point.

The examiner opens their signing key once per login session (held in the server's memory, dropped at
logout or seal); every mark is signed with it by the same service function the API and the CLI use.
Nothing on these pages names a candidate: scripts are known by 密封号 only.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.concurrency import run_in_threadpool

from examvault.api.deps import Caller
from examvault.api.routers.marking import screen
from examvault.crypto.signing import SigningKey
from examvault.scoring import marking


def install(app: FastAPI, page: Any, render: Any, attempt: Any, back: Any) -> None:
    @app.get("/console/marking", include_in_schema=False, response_class=HTMLResponse)
    def marking_home(request: Request, who: Caller = Depends(page("marking.mark")), session: str = "",
                     msg: str = "", err: str = "") -> HTMLResponse:  # fmt: skip
        session = session[:60]
        queue, error = attempt(marking.queue, who.bank, session, limit=200) if session else ([], "")
        key = who.server.signer(who.identity.token_id)
        return render(request, who, "marking.html", session=session, queue=queue or [], key=key,
                      message=msg[:300], error=error or err[:500])  # fmt: skip

    @app.post("/console/marking/key", include_in_schema=False)
    async def load_key(request: Request, who: Caller = Depends(page("marking.mark"))) -> RedirectResponse:
        form = await request.form()
        session = str(form.get("session", ""))[:60]
        upload, passphrase = form.get("sign_key"), str(form.get("passphrase", ""))[:1024]
        text = (await upload.read())[:8000].decode("utf-8", "replace") if upload is not None and hasattr(upload, "read") else ""
        key, error = await run_in_threadpool(attempt, SigningKey.from_file_text, text, passphrase, "签名密钥文件")
        if key is not None and key.name != who.username:
            key, error = None, f"签名密钥属于 {key.name}，不是 {who.username}"
        if key is not None:
            who.server.hold_signer(who.identity.token_id, key)
        target = f"/console/marking?session={quote(session)}"
        return back(target, error=error) if error else back(target, message=f"已载入签名密钥 {key.verify_key.key_id}（仅保存在本次登录的服务器内存中）")

    @app.get("/console/marking/{session}/{seal}/{number}", include_in_schema=False, response_class=HTMLResponse)
    def marking_screen(request: Request, session: str, seal: str, number: int,
                       who: Caller = Depends(page("marking.mark")), err: str = "") -> HTMLResponse:  # fmt: skip
        shown, error = attempt(screen, who.bank, session, seal, number)
        return render(request, who, "marking_screen.html", screen=shown, session=session, error=error or err[:500],
                      key=who.server.signer(who.identity.token_id), http_status=404 if shown is None else 200)  # fmt: skip

    @app.post("/console/marking/{session}/{seal}/{number}", include_in_schema=False)
    async def enter_marks(request: Request, session: str, seal: str, number: int,
                          who: Caller = Depends(page("marking.mark"))) -> RedirectResponse:  # fmt: skip
        form = await request.form()
        here = f"/console/marking/{quote(session)}/{quote(seal)}/{number}"
        key = who.server.signer(who.identity.token_id)
        if key is None:
            return back(here, error="请先载入签名密钥：每个分数都要用你的密钥签名")
        try:
            points = [float(v) for _k, v in sorted(((int(k[6:]), str(v)) for k, v in form.items() if k.startswith("point_") and k[6:].isdigit()))]
        except ValueError:
            return back(here, error="每个评分要点须填一个数（以 0.5 分为单位）")
        done, error = await run_in_threadpool(attempt, marking.mark, who.bank, session, seal, number, points, signer=key,
                                              reason=str(form.get("reason", ""))[:400])  # fmt: skip
        if error:
            return back(here, error=error)
        return back(f"/console/marking?session={quote(session)}", message=f"{seal} 第 {number} 题：已记 {done.get('total', sum(points))} 分并签名")
