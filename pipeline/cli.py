"""The ``yunshen`` command line (typer + rich).

Exit codes: 0 when every application was screened (bad *files* are flags in the result, not
failures), 2 for usage errors (no such path, nothing to screen, a misconfigured OCR engine).
"""

from __future__ import annotations

import json
import os
import sys
from collections import Counter
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from pipeline import __version__
from pipeline.cache import atomic_write_bytes
from pipeline.ingest import find_applications
from pipeline.model import ScreeningResult
from pipeline.settings import Settings
from pipeline.workers import ScreeningPool

app = typer.Typer(
    name="yunshen",
    help="云审 yunshen — 星级上云企业申报材料预审。Pre-screens Jiangsu cloud-adoption star applications.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
)
console = Console(stderr=True)
out_console = Console()


def _version(value: bool) -> None:
    if value:
        out_console.print(f"yunshen {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        Optional[bool],
        typer.Option("--version", callback=_version, is_eager=True, help="显示版本 / show the version."),
    ] = None,
) -> None:
    """云审：读取申报材料（PDF 文字层或 OCR），识别材料类型，输出预审结果 JSON。"""


# ---------------------------------------------------------------- commands


def _unique_ids(paths: list[Path]) -> dict[Path, str]:
    from pipeline.ingest import application_id_for

    taken: Counter[str] = Counter()
    ids: dict[Path, str] = {}
    for p in paths:
        base = application_id_for(p)
        taken[base] += 1
        ids[p] = base if taken[base] == 1 else f"{base}-{taken[base]}"
    return ids


def _settings(engine: str | None, store_dir: Path | None, workers: int) -> Settings:
    overrides: dict[str, object] = {}
    if engine:
        overrides["ocr_engine"] = engine
    if store_dir:
        overrides["cache_dir"] = store_dir
    if workers > 1:
        overrides["ocr_threads"] = max(1, (os.cpu_count() or 2) // workers)
    try:
        return Settings(**overrides)
    except Exception as exc:
        console.print(f"[red]设置无效 / invalid setting:[/] {exc}")
        raise typer.Exit(2) from exc


def _find(paths: list[Path]) -> list[Path]:
    missing = [p for p in paths if not p.exists()]
    if missing:
        console.print(f"[red]路径不存在 / no such path:[/] {', '.join(map(str, missing))}")
        raise typer.Exit(2)
    apps: list[Path] = []
    for p in paths:
        apps.extend(find_applications(p))
    if not apps:
        console.print("[red]没有找到申报材料 / no application folder or zip found[/]")
        raise typer.Exit(2)
    return apps


def _screen_all(
    apps: list[Path], out: Path, settings: Settings, workers: int, resume: bool = False
) -> tuple[dict[Path, ScreeningResult], dict[str, str]]:
    """Screen every application (progress bar with ETA); one failure never stops the rest.

    With ``resume``, what the store already holds for the same content, engine, settings and rules
    is loaded instead of screened, and each finished screening is stored (pipeline/resume.py) —
    so a killed batch, run again, screens only what it had not finished."""
    from extractors.ocr.base import EngineUnavailable

    ids = _unique_ids(apps)
    out.mkdir(parents=True, exist_ok=True)
    results: dict[Path, ScreeningResult] = {}
    failed: dict[str, str] = {}
    progress = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=False,
    )
    try:
        with progress:
            task = progress.add_task("预审中 screening", total=len(apps))
            todo, versions, store = _resumable(apps, ids, out, settings, results, resume)
            progress.advance(task, len(apps) - len(todo))
            with ScreeningPool(settings, workers) as pool:
                for path, fut in pool.map_completed(todo):
                    try:
                        if store is not None:
                            from pipeline.resume import record_screening

                            record_screening(store, settings, fut.result(), versions.get(path), ids[path])
                        results[path] = _finish(out, ids[path], fut.result())
                    except EngineUnavailable:
                        raise
                    except Exception as exc:  # a bug must not stop the other applications
                        failed[ids[path]] = f"{type(exc).__name__}: {exc}"
                        console.print(f"[red]{ids[path]} 预审失败 / failed:[/] {failed[ids[path]]}")
                    progress.advance(task)
    except EngineUnavailable as exc:
        console.print(f"[red]OCR 引擎不可用 / OCR engine unavailable:[/] {exc}")
        raise typer.Exit(2) from exc
    if failed:
        atomic_write_bytes(out / "failed.json", json.dumps(failed, ensure_ascii=False, indent=2).encode())
        console.print(f"[red]{len(failed)} 个申报预审失败，详见 / failures listed in[/] {out / 'failed.json'}")
    elif resume:
        (out / "failed.json").unlink(missing_ok=True)  # a previous run's failures, now screened
    return results, failed


def _resumable(apps, ids, out, settings, results, resume):  # noqa: ANN001, ANN202
    """(applications still to screen, their screening keys, the store) — stored ones go to ``results``."""
    if not resume:
        return apps, {}, None
    for orphan in out.rglob(".*.tmp"):  # an atomic write cut short by a kill (never a visible file)
        orphan.unlink(missing_ok=True)
    from pipeline.resume import screening_version, stored_result
    from pipeline.storage import StoreError, open_store

    try:
        store = open_store(settings)
    except StoreError as exc:
        console.print(f"[yellow]存储不可用，不续跑 / store unavailable, not resuming:[/] {exc}")
        return apps, {}, None
    versions = {p: screening_version(p, settings) for p in apps}
    todo = []
    for path in apps:
        payload = stored_result(store, settings, ids[path], versions[path])
        if payload is None:
            todo.append(path)
        else:
            results[path] = _finish(out, ids[path], payload)
    if len(todo) < len(apps):
        console.print(f"续跑 / resuming: {len(apps) - len(todo)} 个申报已完成 already screened, {len(todo)} 待预审 to screen")
    return todo, versions, store


ENGINE_OPT = typer.Option("--engine", help="OCR 引擎：rapidocr（默认）| paddleocr | tesseract")
STORE_OPT = typer.Option("--store-dir", help="本地存储目录（原件、OCR 缓存、结果）")
WORKERS_OPT = typer.Option("--workers", "-w", min=1, max=64, help="并行进程数 / worker processes")


@app.command()
def screen(
    paths: Annotated[list[Path], typer.Argument(help="申报材料文件夹或 zip（也可以是包含多个申报的文件夹）")],
    out: Annotated[Path, typer.Option("--out", "-o", help="结果输出目录：每个申报一个 JSON")] = Path("out"),
    workers: Annotated[int, WORKERS_OPT] = 1,
    engine: Annotated[Optional[str], ENGINE_OPT] = None,
    store_dir: Annotated[Optional[Path], STORE_OPT] = None,
) -> None:
    """预审一个或多个申报：读取每个文件，输出 <申报编号>.json（结果 v1）。

    Screens each application folder or zip found under PATH and writes OUT/<application-id>.json.
    """
    settings = _settings(engine, store_dir, workers)
    results, _ = _screen_all(_find(paths), out, settings, workers)
    _print_summary(sorted(results.values(), key=lambda r: r.application_id), out)


@app.command()
def batch(
    intake: Annotated[Path, typer.Argument(help="一个城市的受理目录：其中每个子目录或 zip 是一个申报")],
    out: Annotated[Path, typer.Option("--out", "-o", help="输出目录：结果 JSON、summary.xlsx/csv、applications/*.html")] = Path("out"),
    workers: Annotated[int, WORKERS_OPT] = 1,
    engine: Annotated[Optional[str], ENGINE_OPT] = None,
    store_dir: Annotated[Optional[Path], STORE_OPT] = None,
    dask: Annotated[
        Optional[str],
        typer.Option("--dask", help="在 Dask 集群上预审（调度器地址 tcp://host:8786；需 PREFECT_API_URL 与 S3 存储，见 docs/scale-out.md）"),
    ] = None,
) -> None:
    """批量预审：筛查整个受理目录，跨申报比对（重复发票、重复截图），输出汇总表和每个申报的 HTML 报告。

    Bulk pre-screening of a city's intake: results, cross-application checks and the bureau report.
    """
    from pipeline.batch import cross_check_and_report

    if dask:
        _batch_on_dask(intake, out, dask, _settings(engine, store_dir, 1))
        return
    settings = _settings(engine, store_dir, workers)
    results, _ = _screen_all(_find([intake]), out, settings, workers, resume=True)
    final = cross_check_and_report(results, out)
    for r in final:
        atomic_write_bytes(out / f"{r.application_id}.json", r.to_json().encode())
    _print_summary(final, out)
    out_console.print(f"汇总表 / summary: {(out / 'summary.xlsx').resolve()}")


def _batch_on_dask(intake: Path, out: Path, address: str, settings: Settings) -> None:
    """``batch --dask``: the Prefect flow with a Dask task runner (flows/scale_out.py)."""
    from prefect.settings import get_current_settings

    if not get_current_settings().api.url:
        console.print("[red]--dask 需要 Prefect 服务器 / needs a Prefect server:[/] set PREFECT_API_URL (docs/scale-out.md)")
        raise typer.Exit(2)
    _find([intake])
    try:
        from flows.scale_out import screen_batch_dask
    except ImportError as exc:
        console.print(f"[red]缺少 Dask / Dask not installed:[/] pip install 'yunshen[dask]' ({exc})")
        raise typer.Exit(2) from exc
    summary = screen_batch_dask(str(intake), str(out), address, settings_json=settings.to_json())
    failed = {k: v["error"] for k, v in summary.items() if "error" in v}
    final = [
        ScreeningResult.model_validate_json((out / f"{k}.json").read_text(encoding="utf-8"))
        for k in sorted(summary) if k not in failed
    ]
    for k, err in failed.items():
        console.print(f"[red]{k} 预审失败 / failed:[/] {err}")
    _print_summary(final, out)
    out_console.print(f"汇总表 / summary: {(out / 'summary.xlsx').resolve()}")


@app.command()
def reprocess(
    results_dir: Annotated[Path, typer.Argument(help="存放结果 JSON 的目录（screen/batch 的输出目录）")],
    rules: Annotated[Optional[Path], typer.Option("--rules", help="新的规则文件（默认内置规则）")] = None,
    since: Annotated[Optional[str], typer.Option("--since", help="只重判此日期之后预审的申报，如 2024-09-01")] = None,
    application: Annotated[Optional[list[str]], typer.Option("--application", "-a", help="只重判这些申报编号")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="只显示变化，不写回结果")] = False,
) -> None:
    """按新规则重新判定已存储的预审结果（不重新 OCR），并列出每个申报结论和标记的变化。

    Re-judges stored results with a rules file and prints what changed per application (no OCR).
    """
    from datetime import datetime

    from pipeline.reprocess import rejudge_folder
    from pipeline.rules import load_rules

    if not results_dir.is_dir():
        console.print(f"[red]目录不存在 / no such folder:[/] {results_dir}")
        raise typer.Exit(2)
    try:
        ruleset = load_rules(rules)
        since_dt = datetime.fromisoformat(since) if since else None
    except Exception as exc:
        console.print(f"[red]参数无效 / invalid argument:[/] {exc}")
        raise typer.Exit(2) from exc
    diffs = rejudge_folder(results_dir, ruleset, since=since_dt, applications=application, write=not dry_run)
    seen = len(diffs)
    changed = sum(1 for d in diffs if d.changed)
    for diff in diffs:
        if diff.changed:
            out_console.print(diff.describe(), soft_wrap=True, markup=False)
    out_console.print(
        f"重判 {seen} 个申报（规则 {ruleset.version}），{changed} 个有变化 / "
        f"re-judged {seen} applications under rules {ruleset.version}; {changed} changed"
    )


@app.command()
def watch(
    inbox: Annotated[Path, typer.Argument(help="上传目录：每个子目录或 zip 是一个申报")],
    outbox: Annotated[Path, typer.Option("--outbox", help="结果输出目录（含 summary.xlsx）")] = Path("outbox"),
    quiet: Annotated[float, typer.Option("--quiet", help="文件静止多少秒视为上传完成（或放置 .done 标记）")] = 10.0,
    poll: Annotated[float, typer.Option("--poll", help="扫描间隔（秒）")] = 2.0,
    store_dir: Annotated[Optional[Path], STORE_OPT] = None,
    stop_after: Annotated[Optional[float], typer.Option("--stop-after", hidden=True)] = None,
) -> None:
    """监视上传目录：申报上传完成后自动预审，每个内容版本只预审一次；重启后继续未完成的工作。

    Watches an upload folder and screens each application once per content version (restart-safe).
    """
    from pipeline.watch import watch as run_watch

    if not inbox.is_dir():
        console.print(f"[red]目录不存在 / no such folder:[/] {inbox}")
        raise typer.Exit(2)
    settings = _settings(None, store_dir, 1)
    out_console.print(f"监视 / watching {inbox.resolve()} → {outbox.resolve()}（Ctrl+C 退出）")

    def _announce(result: object) -> None:
        r = result  # ScreeningResult
        out_console.print(
            f"{r.application_id}: {len(r.documents)} 个文件, 结论 {r.verdict.meets_star_sought}, 标记 {len(r.flags)}",
            markup=False,
        )

    try:
        run_watch(inbox, outbox, settings, quiet_seconds=quiet, poll_seconds=poll,
                  stop_after=stop_after, on_screened=_announce)
    except KeyboardInterrupt:
        out_console.print("已停止 / stopped")


@app.command()
def purge(
    application_id: Annotated[str, typer.Argument(help="要删除的申报编号，如 APP-01")],
    out: Annotated[Path, typer.Option("--out", "-o", help="结果输出目录（删除其中该申报的 JSON/HTML，并重写汇总表）")] = Path("out"),
    store: Annotated[Optional[str], typer.Option("--store", help="local | s3（默认取 YUNSHEN_STORE）")] = None,
    store_dir: Annotated[Optional[Path], STORE_OPT] = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="不再确认，直接删除")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="只列出将删除的内容")] = False,
) -> None:
    """删除一个申报的全部个人数据：原件、OCR/印章缓存、所有版本的结果、输出目录中的文件。

    Purges one application from every store (local or S3) and the output folder. A file another
    application still references is kept. The reviewer database is left alone on purpose: its
    append-only audit trail holds decisions, reviewer names and comments, no extracted document text.
    """
    from pipeline.purge import KINDS, purge_application
    from pipeline.storage import StoreError, open_store

    settings = _settings(None, store_dir, 1)
    if store:
        try:
            settings = Settings(**{**settings.model_dump(), "store": store})
        except Exception as exc:
            console.print(f"[red]设置无效 / invalid setting:[/] {exc}")
            raise typer.Exit(2) from exc
    try:
        target = open_store(settings)
        plan = purge_application(application_id, settings, target, out, dry_run=True)
        if not plan.found:
            console.print(f"[yellow]没有找到申报 / nothing found for[/] {application_id} in {target.describe()}")
            raise typer.Exit(1)
        counts = ", ".join(f"{k} {plan.removed[k]}" for k in KINDS)
        out_console.print(f"{application_id}: {counts}", markup=False)
        if dry_run:
            return
        if not yes and not typer.confirm(f"删除以上内容 / remove all of this from {target.describe()}?"):
            raise typer.Exit(1)
        done = purge_application(application_id, settings, target, out)
    except (ValueError, StoreError) as exc:
        console.print(f"[red]无法删除 / cannot purge:[/] {exc}")
        raise typer.Exit(2) from exc
    for kind in KINDS:
        out_console.print(f"removed {kind}: {done.removed[kind]}", markup=False)
    if done.kept_shared:
        out_console.print(f"kept {len(done.kept_shared)} file(s) another application still references", markup=False)
    if done.rewritten:
        out_console.print(f"rewritten without it: {', '.join(done.rewritten)}", markup=False)
    out_console.print("reviewer database not changed (append-only audit trail; no document text)", markup=False)


users_app = typer.Typer(help="审核人员账号 / reviewer accounts", no_args_is_help=True)
app.add_typer(users_app, name="users")
DB_OPT = typer.Option("--database-url", "--db", show_default=False,
                      help="数据库 URL（默认 $YUNSHEN_DATABASE_URL，否则 SQLite：.yunshen/web.db；"
                           "PostgreSQL 用 postgresql+psycopg://user:pw@host/db）；启动时自动迁移到最新版本")


@users_app.command("add")
def users_add(
    username: Annotated[str, typer.Argument(help="用户名")],
    role: Annotated[str, typer.Option("--role", help="city | province | admin")] = "city",
    city: Annotated[Optional[str], typer.Option("--city", help="城市行政区划前四位，如 3202（无锡）；市级审核员必填")] = None,
    password: Annotated[str, typer.Option("--password", prompt=True, hide_input=True, confirmation_prompt=True)] = "",
    db: Annotated[Optional[str], DB_OPT] = None,
) -> None:
    """新建审核人员账号（密码以 argon2 散列保存）。 Add a reviewer account."""
    from pipeline.web import cli_users_add
    from pipeline.web.db import SchemaError, database_url

    try:
        uid = cli_users_add(database_url(db), username, password, role, city)
    except (ValueError, SchemaError) as exc:
        console.print(f"[red]无法创建 / cannot create:[/] {exc}")
        raise typer.Exit(2) from exc
    out_console.print(f"已创建用户 {username}（{role}{'，' + city if city else ''}），id {uid}")


@app.command()
def serve(
    results: Annotated[Path, typer.Option("--results", help="预审结果目录")] = Path("out/demo"),
    originals: Annotated[Path, typer.Option("--originals", help="申报材料原件目录（每个申报一个子目录）")] = Path("samples/applications"),
    host: Annotated[str, typer.Option("--host")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port")] = 8000,
    db: Annotated[Optional[str], DB_OPT] = None,
) -> None:
    """启动审核侧边栏网页（证据与附表对照、标记确认/驳回、审计日志）。 Serve the reviewer web app."""
    import uvicorn

    from pipeline.web import create_app
    from pipeline.web.db import database_url

    db = database_url(db)
    out_console.print(f"审核网页 / reviewer app: http://{host}:{port}/  （结果 {results.resolve()}）")
    uvicorn.run(create_app(results, originals, db), host=host, port=port, log_level="warning")


def _finish(out: Path, app_id: str, payload: str) -> ScreeningResult:
    result = ScreeningResult.model_validate_json(payload)
    if result.application_id != app_id:
        result = result.model_copy(update={"application_id": app_id})
    atomic_write_bytes(out / f"{app_id}.json", result.to_json().encode())
    return result


def _print_summary(results: list[ScreeningResult], out: Path) -> None:
    table = Table(title="预审结果 / screening summary", show_lines=False)
    for col in ("申报 application", "文件 files", "类型 kinds", "页 pages", "OCR页", "错误 errors", "标记 flags", "秒 s"):
        table.add_column(col)
    for r in results:
        kinds = Counter(d.kind for d in r.documents if d.error is None)
        errors = sum(1 for d in r.documents if d.error)
        stats = r.stats
        table.add_row(
            r.application_id,
            str(len(r.documents)),
            " ".join(f"{k}×{n}" for k, n in sorted(kinds.items())),
            str(stats.pages if stats else "-"),
            str(stats.ocr_pages if stats else "-"),
            str(errors),
            str(len(r.flags)),
            f"{stats.seconds:.1f}" if stats else "-",
        )
    out_console.print(table)
    for r in results:
        codes = Counter(f.code for f in r.flags)
        line = ", ".join(f"{c}×{n}" if n > 1 else c for c, n in sorted(codes.items())) or "无 none"
        v = r.verdict
        verdict = "通过 pass" if v.meets_star_sought else "不通过 fail" if v.meets_star_sought is False else "未判定"
        out_console.print(
            f"{r.application_id}: 申报{r.star_sought or '?'}星 {verdict}，最高支持 {v.highest_star_supported}星，"
            f"认可年化投入 ¥{r.annualised_spend_accepted_yuan or 0:,.0f}；{len(r.documents)} 个文件，标记 flags: {line}",
            markup=False,
        )
    out_console.print(f"结果已写入 / results written to: {out.resolve()}")


def main() -> None:  # console-script entry point
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
