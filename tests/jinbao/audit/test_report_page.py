"""The death-mismatch report's page in a real browser: Debian's headless Chromium, network off.

Chromium comes from tests/quality/test_data_docs.py's helpers (installed with apt-get when missing
and running as root; otherwise the test skips, or fails under CI=true), every request goes to a
dead proxy.  The first test reads the DOM after load (--dump-dom): the stop-payment list is the
first section, every kind has its table, feeds show by their titles, the charts have their bars.
The second drives the page through the DevTools protocol (dev/screenshots.py's Browser): no CSP
violation (the inline style and script are allowed by their hashes), nothing fetched, the styles
applied, clicking a column header sorts the table, and the screenshot is not blank.

`UPDATE_DOCS_IMAGES=1` also writes docs/images/death-report.png (needs a CJK font,
`apt-get install fonts-noto-cjk`).
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
from decimal import Decimal
from pathlib import Path

import pytest

from jinbao.audit import findings
from jinbao.audit.render import PAGE, clean_text, write_report
from jinbao.privacy import mask_id
from tests.conftest import REPO, unavailable
from tests.jinbao.audit import report_sample as s


@pytest.fixture(scope="module")
def chromium():
    from tests.quality.test_data_docs import _ensure_chromium
    return _ensure_chromium()


@pytest.fixture
def page(tmp_path) -> Path:
    return write_report(s.report(), tmp_path / "reports" / "deaths" / "2026-11")[PAGE]


def _rows(dom: str, table_id: str) -> list[str]:
    body = re.search(rf'<table class="sortable" id="{table_id}">.*?<tbody>(.*?)</tbody>', dom, re.S)[1]
    return re.findall(r"<tr(?: class=\"flagged\")?>(.*?)</tr>", body, re.S)


def test_the_page_renders_offline_with_tables_and_chart(chromium, page, tmp_path):
    from tests.quality.test_data_docs import _offline

    done = _offline(chromium, tmp_path / "profile", "--dump-dom", page.as_uri())
    assert done.returncode == 0, done.stderr[-2000:]
    dom = done.stdout
    assert "死亡人员比对报告" in dom and 'id="total-overpaid">¥10,015,001.50<' in dom
    assert 'id="people-to-stop">5<' in dom and 'id="monthly-to-stop">¥3,336,833.64<' in dom
    assert dom.index('id="people-to-stop"') < dom.index('id="people-paid-after-death"')
    sections = re.findall(r'<section id="([\w-]+)"', dom)
    assert sections[0] == "stop_payment", "the stop-payment list first"
    assert [x for x in sections if x in findings.KINDS] == list(findings.KINDS)
    for kind in findings.KINDS:
        assert len(_rows(dom, f"t-{kind}")) == len(s.DATA[kind]), kind
    assert len(_rows(dom, "t-divisions")) == len(s.DIVISIONS)
    stop = _rows(dom, "t-stop_payment")
    assert mask_id(s.ZHANG) in stop[0] and "张三" in stop[0] and "1,000.10" in stop[0]
    assert "公安死亡人员信息 Police death registrations<br>卫健居民死亡医学证明 Health medical death certificates" in stop[0]
    paid = _rows(dom, "t-paid_after_death")
    assert mask_id(s.ZHANG) in paid[0] and "张三" in paid[0] and "6,000.60" in paid[0]
    text = dom
    for row in (r for rows in s.DATA.values() for r in rows):
        if row.get("file_name"):
            text = text.replace(clean_text(row["file_name"]), "")
    assert not [code for code in s.TITLES if code in text], "feeds by their titles, never their codes"
    svg = re.search(r'<svg[^>]*id="overpaid-chart".*?</svg>', dom, re.S)[0]
    bars = dict(re.findall(r'<g class="bar" data-month="([\d-]+)" data-v="([\d.]+)">', svg))
    assert {m: Decimal(v) for m, v in bars.items()} == s.BY_MONTH
    assert svg.count("<rect") == len(s.BY_MONTH)
    trend = re.search(r'<svg[^>]*id="trend-chart".*?</svg>', dom, re.S)[0]
    assert trend.count("<rect") == len(s.TREND)
    assert not any(cid in dom for cid in s.ALL_IDS)


def test_sorting_in_the_browser_under_the_pages_csp(chromium, page, tmp_path):
    try:
        from dev.screenshots import Browser
        import websockets  # noqa: F401 - Browser talks DevTools over a websocket
    except ImportError as exc:
        unavailable("the DevTools client (websockets)", exc)
    from tests.quality.test_data_docs import _png_pixels

    browser = Browser(tmp_path / "profile", tmp_path / "chromium.log")
    try:
        browser.connect()
        # CSP violations recorded from the first moment of the document (DevTools' own script is exempt)
        browser.send("Page.addScriptToEvaluateOnNewDocument", source=(
            "window.__violations = []; document.addEventListener('securitypolicyviolation', "
            "e => window.__violations.push(e.violatedDirective + ' ' + e.blockedURI));"))
        browser.goto(page.as_uri(), shows=["死亡人员比对报告", "10,015,001.50", "疑似录入错误"])
        assert browser.js("window.__violations") == []
        assert browser.js("performance.getEntriesByType('resource').length") == 0, "nothing fetched"
        assert browser.js("getComputedStyle(document.querySelector('table')).borderCollapse") == "collapse"
        assert browser.js("document.querySelectorAll('#overpaid-chart rect').length") == len(s.BY_MONTH)
        assert browser.js("document.querySelector('#overpaid-chart').getBoundingClientRect().height") > 100
        assert browser.js("document.querySelectorAll('#trend-chart rect').length") == len(s.TREND)
        # the stop-payment list is what a reader meets first, above every other table
        assert browser.js("document.querySelector('section').id") == "stop_payment"
        assert browser.js("document.querySelector('table').id") == "t-stop_payment"
        assert browser.js("getComputedStyle(document.querySelector('#t-stop_payment tr.flagged')).backgroundColor") \
            == "rgb(255, 248, 197)"

        # the amount at most (column 11): text order would put 13,333,333.32 before 4,000.40
        high = """[...document.querySelectorAll('#t-paid_after_death tbody tr')].map(r => r.cells[11].textContent)"""
        names = """[...document.querySelectorAll('#t-paid_after_death tbody tr')].map(r => r.cells[1].textContent)"""
        header = "document.querySelectorAll('#t-paid_after_death thead th')[{}].querySelector('button')"
        assert browser.js(high) == ["6,000.60", "5,000.50", "13,333,333.32", "0.01", "4,500.30", "4,000.40"]
        browser.click(header.format(11))
        assert browser.js(high) == ["0.01", "4,000.40", "4,500.30", "5,000.50", "6,000.60", "13,333,333.32"]
        assert browser.js("document.querySelectorAll('#t-paid_after_death thead th')[11].getAttribute('aria-sort')") \
            == "ascending"
        browser.click(header.format(11))
        assert browser.js(high) == ["13,333,333.32", "6,000.60", "5,000.50", "4,500.30", "4,000.40", "0.01"]
        browser.click(header.format(4))                                   # death date in force, as text
        assert browser.js(names)[:3] == ["张三", "李四", "周八"]
        # division totals: the grand total stays at the foot whatever the order
        browser.click("document.querySelectorAll('#t-divisions thead th')[5].querySelector('button')")
        assert browser.js("[...document.querySelectorAll('#t-divisions tbody tr')].map(r => r.cells[0].textContent)") \
            == ["440305", "110105", "310115"]
        assert browser.js("document.querySelector('#t-divisions tfoot tr').cells[5].textContent") == "10,015,001.50"
        # the stop-payment list by the monthly amount, biggest first for the picture
        monthly = """[...document.querySelectorAll('#t-stop_payment tbody tr')].map(r => r.cells[7].textContent)"""
        stop_header = "document.querySelectorAll('#t-stop_payment thead th')[7].querySelector('button')"
        browser.click(stop_header)
        browser.click(stop_header)
        assert browser.js(monthly) == ["3,333,333.33", "1,500.10", "1,000.10", "1,000.10", "0.01"]
        assert browser.js("window.__violations") == []

        shot = browser.shot(tmp_path / "report.png")
        assert len(set(_png_pixels(shot))) > 32, "the screenshot is blank"
    except RuntimeError as exc:
        raise AssertionError(f"{exc}\n{browser.tail()}") from None
    finally:
        browser.stop()
    if os.environ.get("UPDATE_DOCS_IMAGES") == "1":
        fonts = subprocess.run(["fc-list", ":lang=zh"], capture_output=True, text=True).stdout
        assert fonts.strip(), "no CJK font: apt-get install fonts-noto-cjk, then take the screenshot again"
        target = Path(REPO) / "docs" / "images" / "death-report.png"
        target.parent.mkdir(exist_ok=True)
        shutil.copyfile(shot, target)
