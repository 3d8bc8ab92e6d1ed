"""The rendered page: self-contained, every section and chart present, opened in headless Chromium.

The browser tests need Debian's ``chromium`` (installed by ``.ci/run``). In CI (``CI`` set) a
missing browser is a failure; elsewhere those tests are skipped with the command to install it.
"""

from __future__ import annotations

import json
import os
import re
import struct
from html.parser import HTMLParser

import pytest

import engine
from engine.cli import main
from engine.report import SECTIONS, read_inputs, render_report, report_numbers
from engine.report._charts import render_charts
from engine.storage import Database

#: What the page looks like to the browser: sections, charts (with their accessible parts),
#: overflow on a narrow screen and whether the table of contents prints.
PAGE_SCRIPT = """JSON.stringify({
  sections: [...document.querySelectorAll('main > section')].map(s => s.id),
  charts: [...document.querySelectorAll('figure.chart')].map(f => {
    const svg = f.querySelector('svg');
    const box = svg ? svg.getBoundingClientRect() : {width: 0, height: 0};
    return {id: f.id, key: f.dataset.chart, role: svg && svg.getAttribute('role'),
            title: svg && svg.querySelector('title') ? svg.querySelector('title').textContent : '',
            desc: svg && svg.querySelector('desc') ? svg.querySelector('desc').textContent : '',
            caption: f.querySelector('figcaption') ? f.querySelector('figcaption').textContent : '',
            axisText: svg ? svg.querySelectorAll('text').length : 0,
            width: box.width, height: box.height};
  }),
  unavailable: [...document.querySelectorAll('[data-unavailable]')].map(p => p.textContent),
  drift: [...document.querySelectorAll('table[data-drift]')].map(t => ({
    model: t.dataset.drift, rows: t.querySelectorAll('tbody tr').length,
    verdict: t.closest('section').querySelector('[data-drift-verdict]') !== null})),
  overflow: document.documentElement.scrollWidth - window.innerWidth,
  tocShown: getComputedStyle(document.querySelector('nav.toc')).display !== 'none',
  title: document.title
})"""


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "the screenshot is a PNG"
    return struct.unpack(">II", data[16:24])


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.references: list[str] = []
        self.tags: set[str] = set()

    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)
        for name, value in attrs:
            if name in ("src", "href", "xlink:href", "action", "poster", "srcset") and value:
                self.references.append(value)


def _html(path, models, **kwargs) -> tuple[str, dict]:
    db = Database(path)
    try:
        numbers = report_numbers(read_inputs(db, artifacts_dir=models, **kwargs))
    finally:
        db.dispose()
    return render_report(numbers), numbers


@pytest.fixture(scope="module")
def page(scored_sqlite, report_models):
    """(html, numbers) of the newest run compared with the one before (rendered once)."""
    path, _ = scored_sqlite
    return _html(path, report_models)


def test_page_is_self_contained(page):
    html, _ = page
    links = _Links()
    links.feed(html)
    assert "script" not in links.tags and "link" not in links.tags and "iframe" not in links.tags
    outside = [r for r in links.references if not r.startswith(("#", "data:"))]
    assert outside == [], f"the page refers outside itself: {outside[:5]}"
    assert not re.search(r"url\((?!#|data:)", html), "CSS or SVG loads a URL"
    assert "default-src 'none'" in html  # the CSP forbids any fetch the page might attempt
    assert len(html.encode()) < 2_000_000


def test_every_chart_has_a_title_axis_labels_and_a_text_alternative(page):
    _, numbers = page
    charts = render_charts(numbers)
    expected = {"tier_pyramid", "pareto", "tier_moves", "territory_value_at_risk", "territory_accounts",
                "territory_revenue", "territory_change", "routes", "load", "risk_region", "churn_distribution",
                "model_churn", "model_win", "drift_churn", "drift_win", "stages"}
    assert expected <= set(charts)
    for chart in charts.values():
        assert chart.title and chart.x_label and chart.y_label and len(chart.description) > 40
        assert f'<title id="{chart.key}-title">' in chart.svg and f'<desc id="{chart.key}-desc">' in chart.svg
        assert 'role="img"' in chart.svg
        ids = re.findall(r'id="([^"]+)"', chart.svg)
        assert all(i.startswith(chart.key) for i in ids), "element ids are unique in the page"


def test_library_returns_the_page_and_writes_it(scored_sqlite, report_models, tmp_path):
    path, (before, now) = scored_sqlite
    out = tmp_path / "report.html"
    html = engine.report(path, out=out, artifacts_dir=report_models)
    assert out.read_text(encoding="utf-8") == html
    umask = os.umask(0)
    os.umask(umask)
    assert out.stat().st_mode & 0o777 == 0o666 & ~umask  # shareable like any file, not mkstemp's 0600
    assert f"Run <code>{now}</code>" in html and before in html
    alone = engine.report(path, compare=False, artifacts_dir=report_models)
    assert "no comparison run" in alone and "Tier moves need" not in html


def test_cli_writes_the_report_and_maps_errors_to_exit_codes(scored_sqlite, report_models, tmp_path, capsys):
    path, (before, _) = scored_sqlite
    out = tmp_path / "cli.html"
    code = main(["report", "--db", str(path), "--out", str(out), "--models", str(report_models),
                 "--run", before, "--no-compare"])
    assert code == 0 and out.exists()
    assert "wrote the report" in capsys.readouterr().out
    assert f"Run <code>{before}</code>" in out.read_text(encoding="utf-8")
    assert main(["report", "--db", str(path), "--out", str(out), "--run", "no-such-run"]) == 3
    assert "no-such-run" in capsys.readouterr().err
    assert main(["report", "--db", str(tmp_path / "missing.sqlite"), "--out", str(out)]) == 5


def _check_visit(visit, html_path, numbers, *, expect_charts):
    assert visit.errors == [], f"browser console errors: {visit.errors}"
    assert visit.blocked == [], f"the page tried to reach: {visit.blocked}"
    page = html_path.resolve().as_uri()
    assert all(url == page or url.startswith("data:") for url in visit.requests), visit.requests
    seen = json.loads(visit.evaluated)
    assert seen["sections"] == [section for section, _ in SECTIONS]
    keys = {c["key"] for c in seen["charts"]}
    assert expect_charts <= keys, f"missing charts: {expect_charts - keys}"
    for chart in seen["charts"]:
        assert chart["role"] == "img" and chart["title"] and chart["desc"] and chart["caption"]
        assert chart["width"] > 100 and chart["height"] > 50, f"{chart['key']} is not drawn"
        assert chart["axisText"] >= 3, f"{chart['key']} has no labels"
    assert numbers["meta"]["run_id"] in seen["title"]
    drifting = [m for m in numbers["models"] if m["drift"]["available"]]
    assert [d["model"] for d in seen["drift"]] == [m["kind"] for m in drifting], "a drift table per model"
    for shown, model in zip(seen["drift"], drifting):
        assert shown["verdict"] and shown["rows"] == len(model["drift"]["top"]) + (model["drift"]["score"] is not None)
    return seen


BASE_CHARTS = {"tier_pyramid", "pareto", "tier_moves", "territory_value_at_risk", "territory_change",
               "territory_accounts", "territory_revenue", "routes", "load", "risk_region",
               "churn_distribution", "model_churn", "model_win", "drift_churn", "drift_win", "stages"}


@pytest.mark.slow
def test_page_in_chromium_with_alerts_and_plans(scored_copy, report_models, tmp_path, browser, add_alerts_and_plans):
    path, (_, now) = scored_copy
    db = Database(path)
    accounts = db.read_results("account_scores", run_id=now)
    db.dispose()
    add_alerts_and_plans(path, now, accounts)
    html, numbers = _html(path, report_models)
    page = tmp_path / "report.html"
    page.write_text(html, encoding="utf-8")
    visit = browser(page, script=PAGE_SCRIPT, width=1280, height=900)
    seen = _check_visit(visit, page, numbers, expect_charts=BASE_CHARTS | {"alerts", "plans"})
    assert seen["overflow"] <= 0 and seen["tocShown"]
    assert seen["unavailable"] == []
    width, height = _png_size(visit.screenshot)
    assert (width, height) == (1280, 900)


@pytest.mark.slow
def test_page_in_chromium_on_a_phone_and_in_print(page, tmp_path, browser):
    html, numbers = page
    page = tmp_path / "report.html"
    page.write_text(html, encoding="utf-8")
    phone = browser(page, script=PAGE_SCRIPT, width=390, height=844, mobile=True)
    seen = _check_visit(phone, page, numbers, expect_charts=BASE_CHARTS)
    assert seen["overflow"] <= 0, "the page scrolls sideways on a phone (wide tables scroll inside their box)"
    assert any("Alerts" in text for text in seen["unavailable"])
    assert any("Call plans" in text for text in seen["unavailable"])
    printed = browser(page, script=PAGE_SCRIPT, media="print", screenshot=False)
    assert not json.loads(printed.evaluated)["tocShown"]


@pytest.mark.postgres
@pytest.mark.slow
def test_page_in_chromium_from_a_run_on_postgresql(scored_postgres, report_models, tmp_path, browser):
    url, (before, now) = scored_postgres
    page = tmp_path / "report.html"
    html = engine.report(url, out=page, artifacts_dir=report_models)
    db = Database(url)
    try:
        numbers = report_numbers(read_inputs(db, artifacts_dir=report_models))
        stored = db.read_results("account_scores", run_id=now)
    finally:
        db.dispose()
    assert numbers["meta"]["compared_with"] == before
    assert numbers["headline"]["value_at_risk"] == pytest.approx(stored["value_at_risk"].sum())
    visit = browser(page, script=PAGE_SCRIPT, full_page=True)
    _check_visit(visit, page, numbers, expect_charts=BASE_CHARTS)
    width, height = _png_size(visit.screenshot)
    assert width == 1280 and height > 3000, "the full page is long: every section was laid out"
    assert len(html) > 0


def test_demo_writes_the_report_beside_its_database(scored_copy, report_models, capsys):
    from engine.cli._report_cmd import demo_report_path, write_demo_report
    from engine.pipeline import demo_artifacts_dir

    path, (_, now) = scored_copy
    import shutil

    shutil.copytree(report_models, demo_artifacts_dir(path))
    written = write_demo_report(path, run_id=now)
    assert written == demo_report_path(path) == path.with_name("scored-report.html")
    assert written.parent == path.parent and written.exists()
    assert str(written.resolve()) in capsys.readouterr().out.replace("\n", "")
    assert "Validation metrics from the model card" in written.read_text(encoding="utf-8")
