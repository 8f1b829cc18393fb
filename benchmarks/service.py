"""The HTTP service under load: item search and paper assembly through `examvault serve` on PostgreSQL.

    /work/venv/bin/python benchmarks/service.py [--reuse] [--drop] [--runs 3] [--duration 20]
        [--admin-url postgresql+psycopg://postgres@127.0.0.1:5432/test] [--dbname evbench]

1. Builds (or, with --reuse, finds) a PostgreSQL bank in database --dbname: the level-3 电工
   6-31-01-03 outline and 100,000 encrypted items (5,000 active, 95,000 drafts, 10 % of the active
   ones used recently) made by benchmarks/assembly_bank.py's generators, a custodian `cust` with a
   password, and assembly_bank's level-3 blueprint (判断 40 × 0.5 + 单选 140 × 0.5 + 多选 10 × 1,
   forms A and B, ≤ 10 % overlap).
2. Starts one `examvault serve` process on a free port, unseals it and logs in as `cust`.
3. Item search: `wrk -t1 -c8 -d20s --latency` with benchmarks/service_wrk.lua rotating a mix of
   GET /api/v1/items searches (occupation/level/type/status filters, code and point-code prefixes,
   limit 50), bearer token on each; requests/s and p50/p99 as medians of --runs runs. The baseline,
   against the same process under the same load, is GET /api/v1/sys/health: the ceiling of
   uvicorn + FastAPI + the Guard middleware on this machine, with no token check and no database.
4. POST /api/v1/papers/assemble?wait=30 for the stored blueprint, forms A only and A+B, --runs
   runs each (seeds 1000, 1001, …): median wall time from request to response.

Exits non-zero if anything fails (a non-2xx answer, a wrk error, the server dying). The server is
always stopped; --drop also drops the database at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shlex
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import httpx  # noqa: E402
import psycopg  # noqa: E402
import yaml  # noqa: E402
from assembly_bank import BLUEPRINT, item_rows, outline_rows  # noqa: E402
from bench_itembank import OCC, PASS  # noqa: E402
from sqlalchemy import func, select, update  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from examvault import db  # noqa: E402
from examvault.accounts.credentials import set_password  # noqa: E402
from examvault.accounts.models import User  # noqa: E402
from examvault.accounts.service import add_user  # noqa: E402
from examvault.assembly.service import import_blueprint  # noqa: E402
from examvault.bank import Bank  # noqa: E402
from examvault.crypto import keyring  # noqa: E402
from examvault.itembank.models import Item  # noqa: E402
from examvault.itembank.outlines import import_outline  # noqa: E402
from examvault.itembank.service import import_items  # noqa: E402
from examvault.setup import init_bank  # noqa: E402

USER, PASSWORD = "cust", "bench password 2026"
ADMIN_PASSWORD = "admin password 2026"
LUA = HERE / "service_wrk.lua"
CODE = f"{OCC}-L3-"  # generated item codes: 6-31-01-03-L3-00001 …

# The search mix: what the console's item screen and scripts ask, 50 to a page. All items are
# level 3 of one occupation, 5 % active; point codes are T-S-00k (5 × 8 × 3 of them).
SEARCHES: list[dict[str, Any]] = [
    {"occupation": OCC, "level": 3},
    {"occupation": OCC, "level": 3, "type": "单选", "status": "active"},
    {"occupation": OCC, "level": 3, "type": "多选"},
    {"level": 3, "status": "active"},
    {"type": "判断", "status": "draft"},
    {"status": "active", "type": "多选"},
    {"q": f"{CODE}012"},
    {"q": f"{CODE}0"},
    {"q": "C-D", "status": "active"},
    {"occupation": OCC, "level": 3, "q": "B-"},
    {"occupation": OCC, "level": 3, "status": "active", "q": f"{CODE}04"},
    {"level": 3, "type": "单选", "q": "A-A-002"},
]


def search_paths() -> list[str]:
    return [f"/api/v1/items?{urlencode(p | {'limit': 50})}" for p in SEARCHES]


# ---------------------------------------------------------------- the bank


def pg_admin(admin_url: str) -> psycopg.Connection:
    u = make_url(admin_url)
    return psycopg.connect(host=u.host, port=u.port or 5432, user=u.username, password=u.password or None,
                           dbname=u.database, autocommit=True)  # fmt: skip


def bank_url(admin_url: str, dbname: str) -> str:
    return make_url(admin_url).set(database=dbname).render_as_string(hide_password=False)


def existing_bank(url: str, items: int) -> bool:
    engine = db.open_engine(url)
    try:
        if not db.has_bank(engine):
            return False
        with engine.connect() as c:
            n = c.scalar(select(func.count()).select_from(Item))
            has_user = c.scalar(
                select(func.count())
                .select_from(User)
                .where(User.username == USER, User.password_hash.is_not(None))
            )
        return n == items and has_user == 1
    finally:
        engine.dispose()


def build_bank(url: str, items: int, eligible: int) -> None:
    """assembly_bank.py's bank, on PostgreSQL, plus passwords and the stored blueprint."""
    rng = random.Random(2026)
    work = Path(tempfile.mkdtemp(prefix="ev-svc-"))
    try:
        init_bank(url, PASS, institution="bench", admin="admin")

        def bank(user: str) -> Bank:
            return Bank.open(url, actor=user, unlocker=lambda s: keyring.unlock_with_passphrase(s, PASS))

        admin = bank("admin")
        with admin.transaction() as s:
            add_user(s, USER, ["custodian", "author"], "bench")
        set_password(admin, "admin", ADMIN_PASSWORD)
        set_password(admin, USER, PASSWORD)
        admin.close()
        cust = bank(USER)
        rows, points = outline_rows(rng)
        (work / "outline.json").write_text(json.dumps(rows, ensure_ascii=False), "utf-8")
        import_outline(cust, work / "outline.json")
        weights = {r["范围代码"]: float(r["鉴定比重"]) for r in rows if r.get("上级范围代码")}
        t0 = time.perf_counter()
        batches = [(0, eligible, True)] + [
            (k, min(20_000, items - k), False) for k in range(eligible, items, 20_000)
        ]
        for start, n, active in batches:  # as assembly_bank.py: the active ones, then drafts 20,000 at a time
            path = work / f"items{start}.json"
            path.write_text(
                json.dumps(
                    item_rows(n, points, weights, rng, reviewed=active, start=start), ensure_ascii=False
                ),
                "utf-8",
            )
            import_items(cust, path, activate=active)
            path.unlink()
        log(f"bank: {items:,} items, {eligible:,} active, imported in {time.perf_counter() - t0:.0f} s")
        with cust.transaction() as s:  # exposure history: 10 % of the active items were used recently
            ids = sorted(s.scalars(select(Item.id).where(Item.status == "active")))
            used = rng.sample(ids, len(ids) // 10)
            s.execute(
                update(Item)
                .where(Item.id.in_(used))
                .values(usage_count=1, last_used_at=db.utcnow() - timedelta(days=30))
            )
        bp_path = work / "blueprint.yaml"
        bp_path.write_text(yaml.safe_dump(BLUEPRINT, allow_unicode=True), "utf-8")
        import_blueprint(cust, bp_path)
        cust.close()
        with pg_connect(url) as c:
            c.execute("VACUUM ANALYZE")
    finally:
        shutil.rmtree(work, ignore_errors=True)


def pg_connect(url: str) -> psycopg.Connection:
    u = make_url(url)
    return psycopg.connect(host=u.host, port=u.port or 5432, user=u.username, password=u.password or None,
                           dbname=u.database, autocommit=True)  # fmt: skip


# ---------------------------------------------------------------- the server


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


class Failure(Exception):
    pass


def check(r: httpx.Response, what: str) -> Any:
    if r.status_code != 200:
        raise Failure(f"{what}: HTTP {r.status_code}: {r.text[:500]}")
    return r.json()


def start_server(url: str, port: int, logfile: Path) -> subprocess.Popen[bytes]:
    exe = Path(sys.executable).with_name("examvault")
    cmd = [str(exe) if exe.exists() else "examvault", "--db", url, "serve", "--host", "127.0.0.1", "--port", str(port),
           "--log-level", "warning"]  # fmt: skip
    out = logfile.open("wb")
    proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise Failure(
                f"examvault serve exited with {proc.returncode}:\n{logfile.read_text('utf-8', 'replace')[-2000:]}"
            )
        try:
            if httpx.get(f"{base}/api/v1/sys/health", timeout=1).status_code == 200:
                return proc
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise Failure("examvault serve did not answer within 60 s")


def stop_server(proc: subprocess.Popen[bytes] | None) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


# ---------------------------------------------------------------- load


CLK_TCK = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> list[str] | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return None


def cpu_seconds(pid: int) -> float:
    """User + system CPU of one process so far (Linux /proc)."""
    f = _stat(pid)
    return (int(f[11]) + int(f[12])) / CLK_TCK if f else 0.0


def postmaster(url: str) -> int:
    with pg_connect(url) as c:
        backend = c.execute("SELECT pg_backend_pid()").fetchone()[0]
    f = _stat(backend)
    return int(f[1]) if f else 0


def pg_cpu_seconds(master: int) -> float:
    """All of PostgreSQL's CPU so far: the postmaster, its live children, and (cutime, cstime) the
    children it has reaped, so backends the server's pool opens and closes during a run count too."""
    f = _stat(master)
    if not f:
        return 0.0
    total = sum(int(x) for x in f[11:15])
    for entry in os.scandir("/proc"):
        if entry.name.isdigit() and (c := _stat(int(entry.name))) and c[1] == str(master):
            total += int(c[11]) + int(c[12])
    return total / CLK_TCK


def wrk(
    base: str, paths: list[str], token: str, args: argparse.Namespace, server: int = 0, pg: int = 0
) -> dict[str, float]:
    """One wrk run; with `server` and `pg` (the postmaster), also the CPU the server process and
    PostgreSQL spent per request (steadier than wall-clock rates on a shared machine)."""
    env = os.environ | {"EV_PATHS": "\n".join(paths), "EV_TOKEN": token}
    cpu0 = (cpu_seconds(server) if server else 0.0, pg_cpu_seconds(pg) if pg else 0.0)
    cmd = [args.wrk, f"-t{args.threads}", f"-c{args.connections}", f"-d{args.duration}s", "--latency", "--timeout", "10s",
           "-s", str(LUA), base]  # fmt: skip
    r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=args.duration + 60)
    line = next((ln for ln in r.stdout.splitlines() if ln.startswith("EVJSON ")), None)
    if r.returncode != 0 or line is None:
        raise Failure(f"wrk failed ({r.returncode}):\n{r.stdout}\n{r.stderr}")
    d = json.loads(line[len("EVJSON ") :])
    d["cpu_server"] = (cpu_seconds(server) - cpu0[0]) * 1000 / max(d["requests"], 1) if server else 0.0
    d["cpu_pg"] = (pg_cpu_seconds(pg) - cpu0[1]) * 1000 / max(d["requests"], 1) if pg else 0.0
    errors = {k: d[k] for k in ("connect", "read", "write", "status", "timeout") if d[k]}
    if errors:
        raise Failure(f"wrk saw errors on {paths[0]} …: {errors}\n{r.stdout}")
    d["rps"] = d["requests"] / d["seconds"]
    return d


def load_figures(name: str, runs: list[dict[str, float]]) -> dict[str, Any]:
    med = lambda k: statistics.median(r[k] for r in runs)  # noqa: E731
    return {"name": name, "rps": med("rps"), "p50": med("p50") / 1000, "p90": med("p90") / 1000, "p99": med("p99") / 1000,
            "cpu_server": med("cpu_server"), "cpu_pg": med("cpu_pg"),
            "rps_all": [r["rps"] for r in runs], "requests": sum(r["requests"] for r in runs)}  # fmt: skip


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--admin-url", default=os.environ.get("EXAMVAULT_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test"),
                    help="a PostgreSQL URL allowed to CREATE DATABASE")  # fmt: skip
    ap.add_argument("--dbname", default="evbench", help="the database the bank lives in (created if missing)")
    ap.add_argument("--reuse", action="store_true", help="reuse the bank in --dbname if it is complete")
    ap.add_argument("--drop", action="store_true", help="drop the database at the end")
    ap.add_argument("--items", type=int, default=100_000)
    ap.add_argument("--eligible", type=int, default=5_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--duration", type=int, default=20, help="seconds per wrk run")
    ap.add_argument("--connections", type=int, default=8)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--wrk", default=shutil.which("wrk") or "wrk")
    ap.add_argument("--keep-server", action="store_true", help=argparse.SUPPRESS)  # for profiling by hand
    args = ap.parse_args()
    if not shutil.which(args.wrk):
        log("wrk is not installed (apt-get install -y wrk)")
        return 2

    url = bank_url(args.admin_url, args.dbname)
    with pg_admin(args.admin_url) as c:
        exists = (
            c.execute("SELECT 1 FROM pg_database WHERE datname = %s", (args.dbname,)).fetchone() is not None
        )
        if exists and not (args.reuse and existing_bank(url, args.items)):
            log(f"dropping database {args.dbname} (not reusable{'' if args.reuse else ': no --reuse'})")
            c.execute(f'DROP DATABASE "{args.dbname}" WITH (FORCE)')
            exists = False
        if not exists:
            c.execute(f'CREATE DATABASE "{args.dbname}"')
    if not exists:
        t = time.perf_counter()
        build_bank(url, args.items, args.eligible)
        log(f"built the bank in {time.perf_counter() - t:.0f} s")
    else:
        log(f"reusing the bank in database {args.dbname}")

    proc = None
    work = Path(tempfile.mkdtemp(prefix="ev-svc-run-"))
    status = 1
    try:
        port = free_port()
        proc = start_server(url, port, work / "server.log")
        base = f"http://127.0.0.1:{port}"
        client = httpx.Client(base_url=base, timeout=120)
        check(client.post("/api/v1/sys/unseal", json={"passphrase": PASS}), "unseal")
        token = check(
            client.post("/api/v1/auth/login", json={"username": USER, "password": PASSWORD}), "login"
        )["token"]
        auth = {"Authorization": f"Bearer {token}"}
        paths = search_paths()
        samples = []
        for p in paths:  # each search answers, and what it finds
            body = check(client.get(p, headers=auth), p)
            samples.append(len(body["items"]))
        log(
            "search mix: "
            + ", ".join(f"{p.split('?')[1]} → {n}" for p, n in zip(paths, samples, strict=True))
        )

        load_before = os.getloadavg()[0]
        master = postmaster(url) if Path("/proc/self/stat").exists() else 0
        wrk(base, paths, token, argparse.Namespace(**vars(args) | {"duration": 3}))  # warm-up
        search, health = [], []
        for run in range(args.runs):  # interleaved, so drift on a shared machine hits both alike
            search.append(wrk(base, paths, token, args, proc.pid, master))
            health.append(wrk(base, ["/api/v1/sys/health"], "", args, proc.pid, master))
            log(f"run {run + 1}: search {search[-1]['rps']:.0f} req/s p50 {search[-1]['p50'] / 1000:.1f} ms "
                f"p99 {search[-1]['p99'] / 1000:.1f} ms; health {health[-1]['rps']:.0f} req/s p99 {health[-1]['p99'] / 1000:.1f} ms")  # fmt: skip
        figures = [
            load_figures("GET /api/v1/items (search mix)", search),
            load_figures("GET /api/v1/sys/health (baseline)", health),
        ]

        blueprint = BLUEPRINT["id"]
        assembly: dict[str, list[float]] = {}
        for forms in (["A"], ["A", "B"]):
            times = []
            for run in range(args.runs):
                t = time.perf_counter()
                r = client.post("/api/v1/papers/assemble", params={"wait": 30}, headers=auth,
                                json={"blueprint": blueprint, "forms": forms, "seed": 1000 + run})  # fmt: skip
                times.append(time.perf_counter() - t)
                papers = check(r, f"assemble {'+'.join(forms)}")
                if len(papers) != len(forms):
                    raise Failure(f"assemble {'+'.join(forms)}: {len(papers)} papers back")
                log(f"assemble {'+'.join(forms)} run {run + 1}: {times[-1]:.2f} s")
            assembly["+".join(forms)] = times
        if proc.poll() is not None:
            raise Failure(f"the server died: {(work / 'server.log').read_text('utf-8', 'replace')[-2000:]}")

        cmd = " ".join(shlex.quote(a) for a in [Path(sys.executable).as_posix(), *sys.argv])
        wrk_cmd = f"{args.wrk} -t{args.threads} -c{args.connections} -d{args.duration}s --latency -s {LUA.relative_to(HERE.parent)}"
        print(f"machine: nproc {os.cpu_count()}, Python {sys.version.split()[0]}; PostgreSQL {args.dbname}; one `examvault serve` process "
              f"(uvicorn, 1 worker); 1-min load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after the load runs")  # fmt: skip
        print(
            f"bank: {args.items:,} items ({args.eligible:,} active), occupation {OCC} level 3; user {USER} (custodian, author)"
        )
        print(f"command: {cmd}")
        print(
            f"load: {wrk_cmd} (token in the Authorization header; {len(paths)} search URLs rotated); medians of {args.runs} runs"
        )
        print()
        print(
            f"{'endpoint':36} {'req/s':>8} {'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8} {'CPU ms/req: server':>19} {'PostgreSQL':>10}   runs req/s"
        )
        for f in figures:
            print(f"{f['name']:36} {f['rps']:8.0f} {f['p50']:8.1f} {f['p90']:8.1f} {f['p99']:8.1f} {f['cpu_server']:19.2f} {f['cpu_pg']:10.2f}   "
                  + ", ".join(f"{v:.0f}" for v in f["rps_all"]))  # fmt: skip
        s = figures[0]
        print(f"search target ≥ 300 req/s and p99 ≤ 100 ms: {'PASS' if s['rps'] >= 300 and s['p99'] <= 100 else 'FAIL'}"
              f"  (search at {s['rps'] / figures[1]['rps']:.0%} of the health ceiling)")  # fmt: skip
        print()
        print(f"{'POST /api/v1/papers/assemble?wait=30':36} {'median s':>8} {'min s':>8} {'max s':>8}")
        for forms, times in assembly.items():
            print(
                f"{'  level 3, forms ' + forms:36} {statistics.median(times):8.2f} {min(times):8.2f} {max(times):8.2f}"
            )
        status = 0
    except Failure as exc:
        log(f"FAILED: {exc}")
    finally:
        if args.keep_server and proc is not None and status == 0:
            log(f"server left running, pid {proc.pid}")
        else:
            stop_server(proc)
        if args.drop:
            with pg_admin(args.admin_url) as c:
                c.execute(f'DROP DATABASE IF EXISTS "{args.dbname}" WITH (FORCE)')
            log(f"dropped database {args.dbname}")
        shutil.rmtree(work, ignore_errors=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
