"""Bulk pre-screening end to end: a 40-application intake through ``yunshen batch``.

The intake is the ten samples replicated under new ids APP-101..APP-140: copies as folders, as zips
with one top folder inside (as a city clerk would upload them), as zips of renamed files, as flat
zips, and one deliberately broken application (a truncated zip that does not open). Mostly zips on
purpose: screenshots in zips are compared by sha256 only (crosscheck reads pixels from folders),
and the pixel comparison of template-sibling screenshots grows with the square of the copies —
with four folder copies of each sample, cross-check + report took ≈ 10 min (load ≈ 8) against
≈ 2 min now. The OCR cache is a copy of the session's warmed ``sample_store`` (content-keyed, so the copies need no OCR), which keeps this
test at a few minutes. Copies share invoices, contracts and screenshots, so the cross-application
checks must fire between them.

Then the report: ``summary.xlsx`` opened with openpyxl, ``summary.csv`` read back, and one
application's offline HTML page (a zip application, so its page images come out of the archive)
rendered in headless Chromium, where every evidence box must be visible, lie inside its page image,
and show its border colour in a screenshot.

The fast tests at the end check the same two report features (zip page images, reused contracts)
on hand-built results.
"""

from __future__ import annotations

import csv
import io
import os
import shutil
import subprocess
import sys
import zipfile
from collections import defaultdict
from itertools import combinations
from pathlib import Path

import numpy as np
import openpyxl
import pytest
from PIL import Image

from pipeline.model import DocumentFields, ScreeningResult
from pipeline.report import FLAG_COLUMNS, REUSED_CONTRACT_COLUMNS, SUMMARY_COLUMNS

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "samples" / "applications"
CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--no-first-run", "--disable-sync"]
HEADERS = [h for h, _, _ in SUMMARY_COLUMNS]
N_APPS = 40
BROKEN = "APP-140"
BORDER_RGB = {"field": (0x15, 0x65, 0xC0), "seal": (0xD3, 0x2F, 0x2F), "subdomain": (0x2E, 0x7D, 0x32),
              "flag": (0xEF, 0x6C, 0x00)}


# --------------------------------------------------------------------------- building the intake


def _zip_folder(src: Path, dest: Path, top: str, rename: str = "") -> None:
    """``src`` as a zip, under folder ``top`` (none when empty), file names prefixed by ``rename``."""
    with zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as zf:
        for f in sorted(src.rglob("*")):
            if f.is_file():
                rel = f.relative_to(src).with_name(rename + f.name).as_posix()
                zf.write(f, f"{top}/{rel}" if top else rel)


def build_intake(intake: Path) -> dict[str, tuple[str, str]]:
    """APP-101..APP-140 from the ten samples in four styles; {id: (sample, style)}.

    Same bytes under other names and packings: the checks must not rely on names or layout."""
    samples = sorted(p for p in SAMPLES.iterdir() if p.is_dir())
    assert len(samples) == 10
    intake.mkdir(parents=True)
    plan: dict[str, tuple[str, str]] = {}
    for i in range(N_APPS):
        app_id, src = f"APP-{101 + i}", samples[i % len(samples)]
        style = ("folder", "renamed-zip", "zip", "flat-zip")[i // len(samples)]
        if app_id == BROKEN:
            good = intake / "tmp.zip"
            _zip_folder(src, good, app_id)
            data = good.read_bytes()
            good.unlink()
            (intake / f"{app_id}.zip").write_bytes(data[: len(data) // 3])  # no central directory
            plan[app_id] = (src.name, "broken-zip")
            continue
        if style == "folder":
            shutil.copytree(src, intake / app_id)
        else:
            top = "" if style == "flat-zip" else app_id
            _zip_folder(src, intake / f"{app_id}.zip", top, f"副本{i}-" if style == "renamed-zip" else "")
        plan[app_id] = (src.name, style)
    return plan


@pytest.fixture(scope="module")
def big_batch(tmp_path_factory, sample_readings):
    """The intake screened by ``python -m pipeline.cli batch … -w 2`` (the real entry point)."""
    settings, _ = sample_readings  # its store now holds every sample page's OCR
    root = tmp_path_factory.mktemp("big-batch")
    plan = build_intake(root / "intake")
    store = root / "store"
    shutil.copytree(settings.cache_dir, store)
    out = root / "out"
    cmd = [sys.executable, "-m", "pipeline.cli", "batch", str(root / "intake"), "--out", str(out),
           "--store-dir", str(store), "--workers", "2"]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "200"}
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=1500)
    assert proc.returncode == 0, proc.stderr[-4000:]
    results = {p.stem: ScreeningResult.model_validate_json(p.read_bytes()) for p in out.glob("APP-*.json")}
    return {"root": root, "plan": plan, "out": out, "results": results, "stdout": proc.stdout}


# --------------------------------------------------------------------------- the batch


@pytest.mark.slow
def test_every_application_screened_and_the_broken_one_flagged(big_batch):
    results, plan, out = big_batch["results"], big_batch["plan"], big_batch["out"]
    assert sorted(results) == sorted(plan) and len(results) == N_APPS >= 40
    assert not (out / "failed.json").exists()

    broken = results[BROKEN]
    assert broken.documents == []
    unreadable = [f for f in broken.flags if f.code == "FILE_UNREADABLE"]
    assert unreadable and unreadable[0].files == [f"{BROKEN}.zip"] and unreadable[0].severity == "error"
    assert broken.verdict.meets_star_sought is not True

    by_sample: dict[str, list[ScreeningResult]] = defaultdict(list)
    for app_id, r in results.items():
        if app_id == BROKEN:
            continue
        assert r.documents, app_id
        assert not any(f.code == "FILE_UNREADABLE" and f.files == [f"{app_id}.zip"] for f in r.flags), app_id
        by_sample[plan[app_id][0]].append(r)
    # the cache is content-keyed: copies under new names, in zips, need no OCR at all
    assert sum(r.stats.ocr_calls for r in results.values() if r.stats) == 0
    assert sum(r.stats.ocr_cache_hits for r in results.values() if r.stats) > 0
    # a copy is read as its sample is, however it was packed or named
    for sample, copies in by_sample.items():
        kinds = {tuple(sorted(d.kind for d in r.documents)) for r in copies}
        verdicts = {(r.verdict.meets_star_sought, r.verdict.highest_star_supported) for r in copies}
        assert len(kinds) == 1 and len(verdicts) == 1, sample


@pytest.mark.slow
def test_copies_are_caught_by_the_cross_application_checks(big_batch):
    results = {k: v for k, v in big_batch["results"].items() if k != BROKEN}
    # every invoice number read in one application and also in another: DUPLICATE_INVOICE, both sides
    holders: dict[str, set[str]] = defaultdict(set)
    for app_id, r in results.items():
        for d in r.documents:
            if d.kind == "invoice" and not d.error and d.fields.invoice_number:
                holders["".join(d.fields.invoice_number.split()).upper()].add(app_id)
    shared = {n: apps for n, apps in holders.items() if len(apps) > 1}
    assert len(shared) >= 5, "the copies share the samples' invoices"
    for number, apps in shared.items():
        for app_id in apps:
            subjects = {f.subject.split(":", 1)[0] for f in results[app_id].flags
                        if f.code == "DUPLICATE_INVOICE" and f.subject}
            assert apps - {app_id} <= subjects, (number, app_id, subjects)
    # every screenshot reused: each application holding one is flagged, zips included (same sha256)
    with_shots = {a for a, r in results.items() if any(d.kind == "screenshot" and not d.error for d in r.documents)}
    assert len(with_shots) >= 20
    reused = {a for a, r in results.items() if any(f.code == "SCREENSHOT_REUSED" for f in r.flags)}
    assert with_shots <= reused
    assert any(big_batch["plan"][a][1] == "zip" for a in reused)


@pytest.mark.slow
def test_summary_xlsx_and_csv(big_batch):
    out, results = big_batch["out"], big_batch["results"]
    wb = openpyxl.load_workbook(out / "summary.xlsx")
    ws, fs, cs = wb.worksheets[:3]
    assert [c.value for c in ws[1]] == HEADERS
    rows = {row[0]: row for row in ws.iter_rows(min_row=2, values_only=True)}
    assert ws.max_row == 1 + N_APPS and sorted(rows) == sorted(results)
    col = {h: i for i, h in enumerate(HEADERS)}
    broken = rows[BROKEN]
    assert broken[col["错误 (Errors)"]] >= 1 and broken[col["预审结论 (Verdict)"]] in ("不通过", "未判定")
    for app_id, r in results.items():
        row = rows[app_id]
        assert row[col["错误 (Errors)"]] == sum(f.severity == "error" for f in r.flags), app_id
        assert row[col["预审结论 (Verdict)"]] == {True: "通过", False: "不通过", None: "未判定"}[r.verdict.meets_star_sought]
        link = ws.cell(row=2 + sorted(results).index(app_id), column=len(HEADERS)).hyperlink
        assert link is not None and (out / link.target).is_file()

    assert [c.value for c in fs[1]] == list(FLAG_COLUMNS)
    flag_rows = list(fs.iter_rows(min_row=2, values_only=True))
    assert len(flag_rows) == sum(len(r.flags) for r in results.values())
    codes = {(row[0], row[1]) for row in flag_rows}
    assert (BROKEN, "FILE_UNREADABLE") in codes
    assert sum(1 for a, c in codes if c == "DUPLICATE_INVOICE") >= 20

    # reused contract numbers: sheet 3 lists every cross-application pair, each once
    assert [c.value for c in cs[1]] == list(REUSED_CONTRACT_COLUMNS)
    holders: dict[str, set[str]] = defaultdict(set)
    for app_id, r in results.items():
        for d in r.documents:
            number = (d.fields.model_extra or {}).get("contract_number")
            if d.kind == "contract" and not d.error and number:
                holders["".join(str(number).split()).upper()].add(app_id)
    expected = {(n, *sorted(pair)) for n, apps in holders.items() for pair in combinations(apps, 2)}
    assert expected, "the samples' contracts carry numbers, so copies reuse them"
    got = [(str(n).upper(), *sorted((a, b))) for n, a, _, b, _ in cs.iter_rows(min_row=2, values_only=True)]
    assert len(got) == len(set(got)) and set(got) == expected

    raw = (out / "summary.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    csv_rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert csv_rows[0] == HEADERS and len(csv_rows) == 1 + N_APPS
    assert [r[0] for r in csv_rows[1:]] == sorted(results)
    assert next(r for r in csv_rows if r[0] == BROKEN)[col["错误 (Errors)"]] != "0"


def _pick_zip_application(big_batch) -> str:
    """The zip copy with the most evidence boxes and a reused contract (its page shows both)."""
    plan, results = big_batch["plan"], big_batch["results"]

    def boxes(r: ScreeningResult) -> int:
        return sum(len(d.seals) + len(d.subdomains) + sum(1 for e in d.field_evidence.values() if e.bbox)
                   for d in r.documents)

    zips = [a for a, (_, style) in plan.items() if style == "zip"]
    return max(zips, key=lambda a: boxes(results[a]))


@pytest.mark.slow
def test_html_page_of_a_zip_application_in_chromium(big_batch, tmp_path):
    if not CHROMIUM.exists():
        pytest.fail("Debian chromium is required: apt-get install chromium")
    from playwright.sync_api import sync_playwright

    app_id = _pick_zip_application(big_batch)
    html = big_batch["out"] / "applications" / f"{app_id}.html"
    assert html.is_file()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1000}, device_scale_factor=1)
            requests: list[str] = []
            page.on("request", lambda req: requests.append(req.url))
            page.goto(html.as_uri())
            page.wait_for_function("() => [...document.images].every(i => i.complete && i.naturalWidth > 0)")
            assert all(u.startswith(("file:", "data:")) for u in requests), "the page must work offline"
            n_images = page.locator(".page img").count()
            n_boxes = page.locator(".page .box").count()
            assert n_images >= 3, "zip applications get page images"
            assert n_boxes >= 5
            assert page.locator("#reused-contracts").count() == 1

            # every box on an imaged page: visible, inside its page image, with a size
            geometry = page.eval_on_selector_all(
                ".page", """pages => pages.flatMap(pg => {
                    const img = pg.querySelector('img'); if (!img) return [];
                    const i = img.getBoundingClientRect();
                    return [...pg.querySelectorAll('.box')].map(b => { const r = b.getBoundingClientRect();
                        const s = getComputedStyle(b);
                        return {id: b.id, kind: b.dataset.kind, x: r.left, y: r.top, r: r.right, b: r.bottom,
                                w: r.width, h: r.height, vis: s.visibility, disp: s.display,
                                img: {x: i.left, y: i.top, r: i.right, b: i.bottom}}; }); })""")
            assert len(geometry) >= 5
            for g in geometry:
                assert g["w"] >= 3 and g["h"] >= 3 and g["vis"] == "visible" and g["disp"] != "none", g
                im = g["img"]
                assert (g["x"] >= im["x"] - 1 and g["y"] >= im["y"] - 1
                        and g["r"] <= im["r"] + 1 and g["b"] <= im["b"] + 1), g
            for g in geometry[:5]:
                assert page.locator(f"#{g['id']}").is_visible()

            # pixels: screenshot the page figure with the most boxes; each box's border shows its colour
            best = page.eval_on_selector_all(
                ".page", "pgs => pgs.filter(p => p.querySelector('img')).map(p => p.parentElement.id)"
                " .sort((a, b) => document.querySelectorAll('#' + b + ' .box').length"
                " - document.querySelectorAll('#' + a + ' .box').length)[0]")
            figure = page.locator(f"#{best} .page")
            figure.scroll_into_view_if_needed()
            shot = tmp_path / f"{app_id}-{best}.png"
            figure.screenshot(path=str(shot))
            origin = figure.bounding_box()
            rects = [g for g in page.eval_on_selector_all(
                f"#{best} .page .box", "bs => bs.map(b => { const r = b.getBoundingClientRect();"
                " return {kind: b.dataset.kind, x: r.left, y: r.top, w: r.width, h: r.height}; })")]
        finally:
            browser.close()

    img = np.asarray(Image.open(shot).convert("RGB")).astype(int)
    assert img.shape[0] > 100 and img.shape[1] > 100
    passed = 0
    for g in rects:
        # the top border row, 1 px inside the box's top edge, away from the corners
        x0, x1 = int(g["x"] - origin["x"] + 3), int(g["x"] - origin["x"] + g["w"] - 3)
        y = int(round(g["y"] - origin["y"] + 1))
        if x1 <= x0 or not 0 <= y < img.shape[0]:
            continue
        row = img[y, max(x0, 0):min(x1, img.shape[1])]
        close = np.abs(row - np.array(BORDER_RGB[g["kind"]])).max(axis=1) <= 60
        passed += close.mean() >= (0.3 if g["kind"] == "flag" else 0.5)  # flag boxes are dashed
    assert len(rects) >= 1
    assert passed >= max(1, int(0.7 * len(rects))), f"{passed}/{len(rects)} boxes show their border colour"
    # and the page image itself is there: not a blank or placeholder figure
    assert img.std() > 20


# --------------------------------------------------------------------------- fast: the report features alone


def _two_applications(tmp_path: Path) -> dict[Path, ScreeningResult]:
    """APP-Y as a folder, APP-Z as a zip (top folder inside), same contract and invoice."""
    from builders import text_pdf, write
    from test_report import passing_result

    contract = text_pdf([["服务合同 合同编号 HT-2024-0007", "金额 36,000.00 元"], ["甲方（盖章）", "乙方（盖章）"]])
    invoice = text_pdf([["电子发票 发票号码 24322000000012345678"]])
    folder = tmp_path / "intake" / "APP-Y"
    write(folder / "合同" / "阿里云服务合同.pdf", contract)
    write(folder / "发票" / "阿里云发票.pdf", invoice)
    zpath = tmp_path / "intake" / "APP-Z.zip"
    with zipfile.ZipFile(zpath, "w") as zf:
        zf.writestr("APP-Z/合同/阿里云服务合同.pdf", contract)
        zf.writestr("APP-Z/发票/阿里云发票.pdf", invoice)
    out = {}
    for app_id, path in (("APP-Y", folder), ("APP-Z", zpath)):
        base = passing_result()
        docs = [d.model_copy(update={"fields": DocumentFields(**{**d.fields.model_dump(exclude_none=True),
                                                                 **({"contract_number": "HT-2024-0007"}
                                                                    if d.kind == "contract" else {})})})
                for d in base.documents]
        out[path] = base.model_copy(update={"application_id": app_id, "documents": docs})
    return out


def test_zip_applications_get_page_images(tmp_path):
    from pipeline.batch import page_images_for

    results = _two_applications(tmp_path)
    images = page_images_for(results)
    for app_id in ("APP-Y", "APP-Z"):
        for file, pages in (("合同/阿里云服务合同.pdf", 2), ("发票/阿里云发票.pdf", 1)):
            for n in range(1, pages + 1):
                png = images(app_id, file, n)
                assert png is not None, (app_id, file, n)
                with Image.open(io.BytesIO(png)) as im:
                    assert max(im.size) <= 1000 and im.getextrema() != ((255, 255),) * 3
            assert images(app_id, file, pages + 1) is None
    assert images("APP-Z", "合同/missing.pdf", 1) is None
    assert images("APP-Z", "../APP-Y/合同/阿里云服务合同.pdf", 1) is None
    assert images("APP-NONE", "合同/阿里云服务合同.pdf", 1) is None
    # the zip's pages render exactly like the folder's (same bytes)
    assert images("APP-Z", "发票/阿里云发票.pdf", 1) == images("APP-Y", "发票/阿里云发票.pdf", 1)


def test_batch_report_shows_zip_pages_and_reused_contracts(tmp_path):
    from test_report import boxes, parse

    from pipeline.batch import cross_check_and_report

    results = _two_applications(tmp_path)
    out = tmp_path / "out"
    final = cross_check_and_report(results, out)
    assert [r.application_id for r in final] == ["APP-Y", "APP-Z"]
    for r in final:  # the shared invoice number is flagged on both sides
        assert [f.subject for f in r.flags if f.code == "DUPLICATE_INVOICE"] == [
            ("APP-Z" if r.application_id == "APP-Y" else "APP-Y") + ":发票/阿里云发票.pdf"]
    for app_id in ("APP-Y", "APP-Z"):
        dom = parse((out / "applications" / f"{app_id}.html").read_text(encoding="utf-8"))
        images = [a for t, a, _ in dom.elements if t == "img"]
        assert len(images) == 3 and all(a["src"].startswith("data:image/jpeg;base64,") for a in images)
        assert len(boxes(dom)) >= 4
        ids = {a.get("id") for _, a, _ in dom.elements}
        assert "reused-contracts" in ids
        other = "APP-Z" if app_id == "APP-Y" else "APP-Y"
        assert any(t == "a" and a.get("href") == f"{other}.html" for t, a, _ in dom.elements)
    cs = openpyxl.load_workbook(out / "summary.xlsx")["重复合同"]
    rows = list(cs.iter_rows(min_row=2, values_only=True))
    assert rows == [("HT-2024-0007", "APP-Y", "合同/阿里云服务合同.pdf", "APP-Z", "合同/阿里云服务合同.pdf")]
    assert cs.cell(row=2, column=4).hyperlink.target == "applications/APP-Z.html#reused-contracts"


def test_no_reused_contracts_leaves_sheet_three_with_its_header(tmp_path):
    from test_report import passing_result

    from pipeline.report import write_report

    files = write_report([passing_result()], tmp_path, lambda *a: None)
    cs = openpyxl.load_workbook(files.xlsx).worksheets[2]
    assert [c.value for c in cs[1]] == list(REUSED_CONTRACT_COLUMNS) and cs.max_row == 1
    assert 'id="reused-contracts"' not in files.pages["APP-A"].read_text(encoding="utf-8")
