"""The console in a real browser: Playwright driving Debian's Chromium against `examvault serve`'s app on a
local port. A custodian unseals, logs in, finds an item, assembles a paper from a blueprint and sees its
preview; two approvers approve it with their signing keys; an examiner enters marks on a coded script.
Each step's page is screenshot and its text checked."""

from __future__ import annotations

import re
import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from examvault.accounts.service import add_user
from examvault.bank import Bank
from tests.api.conftest import PASSWORD, give_passwords
from tests.conftest import PASSPHRASE, PG_URL

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
pytestmark = [
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed (.ci/run installs it)"),
    # The pages are the same on both databases: the SQLite leg drives the browser; tests/api covers PostgreSQL.
    pytest.mark.skipif(bool(PG_URL), reason="the browser tests run on the SQLite leg"),
]
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]  # fmt: skip
KEY_PASS = "审批签名口令-browser"


@contextmanager
def serving(bank: Bank) -> Iterator[str]:
    """The app under uvicorn in a thread, on a free loopback port, as `examvault serve` runs it."""
    import uvicorn

    from examvault.api.app import create_app

    app = create_app(bank.engine.url.render_as_string(hide_password=False))
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


@pytest.fixture
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


def login(browser: Any, base: str, user: str) -> Any:
    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    page.goto(f"{base}/console/login")
    page.fill("input[name=username]", user)
    page.fill("input[name=password]", PASSWORD)
    page.click("button:has-text('登录')")
    page.wait_for_url(re.compile(r".*/console$"))
    return page


def shot(page: Any, tmp: Path, name: str, *expected: str) -> str:
    page.screenshot(path=str(tmp / f"{name}.png"), full_page=True)
    assert (tmp / f"{name}.png").stat().st_size > 10_000
    text = page.inner_text("body")
    for e in expected:
        assert e in text, (name, e, text[:2000])
    return text


def test_custodian_finds_an_item_assembles_previews_and_two_approvers_approve(make_bank: Callable[..., Bank], browser: Any,
                                                                              tmp_path: Path) -> None:  # fmt: skip
    from examvault.assembly.service import import_blueprint
    from examvault.crypto.parties import add_party
    from examvault.crypto.signing import SigningKey
    from examvault.itembank.service import import_items
    from tests.assembly.test_service import _blueprint, _items
    from tests.conftest import item_row, write_json

    report = import_items(make_bank("cust"), write_json(tmp_path / "items.json", _items(3, {"判断": 30, "单选": 60, "多选": 15})),
                          activate=True)  # fmt: skip
    import_blueprint(make_bank("cust"), _blueprint(tmp_path, forms=["A"]))
    with make_bank("admin").transaction() as s:
        add_user(s, "appr2", ["approver"], "吴敏")
    key_files = {}
    for name in ("appr", "appr2"):
        key = SigningKey.generate(name)
        add_party(make_bank("admin"), name, "approver", recipient=None, verify_key=str(key.verify_key))
        key_files[name] = tmp_path / f"{name}.sign-key"
        key_files[name].write_text(key.file_text(KEY_PASS), "utf-8")
    give_passwords(make_bank, ["cust", "appr", "appr2"])
    code = report.codes[7]

    with serving(make_bank("cust")) as base:
        page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
        page.goto(f"{base}/console/items")
        shot(page, tmp_path, "01-sealed", "服务已密封", "提交份额")
        page.fill("input[name=passphrase]", PASSPHRASE)
        page.click("button:has-text('用口令解封')")
        page.fill("input[name=username]", "cust")
        page.fill("input[name=password]", PASSWORD)
        page.click("button:has-text('登录')")
        upload = write_json(tmp_path / "新题.json", [item_row(题干="浏览器导入的新题：熔断器的主要作用是（　）。")])
        page.goto(f"{base}/console/items")
        page.set_input_files("input[name=file]", str(upload))
        page.click("button:has-text('导入')")
        page.wait_for_selector("text=完成：导入 1 道")
        shot(page, tmp_path, "02-import", "完成：导入 1 道（单选 1）")
        page.goto(f"{base}/console/items?occupation=6-31-01-03&level=3&q={code[:-2]}")
        shot(page, tmp_path, "02-items", "鉴定要素细目表", "继电控制电路装调维修", code)
        page.click(f"a:has-text('{code}')")
        shot(page, tmp_path, "03-item", f"试题 {code}", "本次查看已记入审计日志", "保存为新版本")
        assert "关于" in page.input_value("textarea[name=stem]")  # the decrypted stem, shown to a custodian to edit
        page.goto(f"{base}/console/blueprints/6-31-01-03/3/theory/T1")
        page.click("button:has-text('检查覆盖情况')")
        page.wait_for_selector("#coverage table")
        shot(page, tmp_path, "04-coverage", "可以组卷", "判断 覆盖情况", "鉴定范围")
        page.click("button:has-text('按此方案组卷')")
        page.wait_for_url(re.compile(r".*/console/papers/P\d{4}-\d{4}-A.*"))
        paper = re.search(r"P\d{4}-\d{4}-A", page.url).group(0)
        shot(page, tmp_path, "05-paper", f"试卷 {paper}", "草稿", "预览", "一、判断题", "二、单项选择题", "三、多项选择题", "样卷")

        for n, name in enumerate(("appr", "appr2"), start=1):
            a = login(browser, base, name)
            a.goto(f"{base}/console/papers/{paper}")
            a.set_input_files("input[name=sign_key]", str(key_files[name]))
            a.fill("input[name=passphrase]", KEY_PASS)
            a.click("button:has-text('审批通过')")
            shot(a, tmp_path, f"06-approve-{name}", f"已批准（{n}/2）")
        page.goto(f"{base}/console/papers/{paper}")
        shot(page, tmp_path, "07-approved", "已批准", "appr、appr2", "审批（paper.approved）")
        # The custodian who assembled it may not approve: the page does not even offer it.
        assert page.locator("button:has-text('审批通过')").count() == 0


def test_examiner_enters_marks_on_a_coded_script(scoring: Any, browser: Any, tmp_path: Path) -> None:  # noqa: F811
    from tests.scoring.conftest import SESSION
    from tests.scoring.test_marking import MARKERS, SEALS, prepared

    blind = prepared(scoring)
    give_passwords(scoring.s.bank, list(MARKERS))
    key_file = tmp_path / "m1.sign-key"
    key_file.write_text(blind.keys["m1"].file_text(KEY_PASS), "utf-8")
    bank = scoring.s.bank("cust")
    server_bank = Bank.open(bank.engine.url.render_as_string(hide_password=False))
    try:
        with serving(server_bank) as base:
            import httpx

            httpx.post(f"{base}/api/v1/sys/unseal", json={"passphrase": PASSPHRASE}).raise_for_status()
            page = login(browser, base, "m1")
            page.goto(f"{base}/console/marking?session={SESSION}")
            page.set_input_files("input[name=sign_key]", str(key_file))
            page.fill("input[name=passphrase]", KEY_PASS)
            page.click("button:has-text('载入签名密钥')")
            text = shot(page, tmp_path, "08-queue", "已载入签名密钥", "待评", SEALS[1])
            assert not any(t in text for t in scoring.tickets.values())  # coded scripts only
            page.click(f"tr:has-text('{SEALS[1]}') >> a:has-text('评分')")
            shot(page, tmp_path, "09-screen", f"密封号 {SEALS[1]}", "要点1", "要点2", "不显示考生信息", "评分要点",
                 "要点1（3分）：原理")  # the rubric as written, from the sealed marking key
            page.fill("input[name=point_1]", "2.5")
            page.fill("input[name=point_2]", "1")
            page.click("button:has-text('提交并签名')")
            shot(page, tmp_path, "10-marked", "已记", "分并签名")
    finally:
        server_bank.close()
    from examvault.scoring.marking import history

    marks = [m for m in history(scoring.s.bank("kaowu"), SESSION, SEALS[1])["marks"] if m["marker"] == "m1"]
    assert marks and marks[0]["points"] == [2.5, 1.0] and marks[0]["signature_valid"] is True


from tests.registration.conftest import planned  # noqa: E402, F401  (fixtures, by name)
from tests.scoring.conftest import scoring  # noqa: E402, F401
from tests.scoring.test_marking import sealable  # noqa: E402, F401
