"""The death-mismatch report's page in a real browser: Debian's headless Chromium, network off.

Chromium comes from tests/quality/test_data_docs.py's helpers (installed with apt-get when missing
and running as root; otherwise the test skips, or fails under CI=true), every request goes to a
dead proxy.  The first test reads the DOM after load (--dump-dom); the second drives the page
through the DevTools protocol (dev/screenshots.py's Browser): no CSP violation (the inline style
and script are allowed by their hashes), nothing fetched, the styles applied, clicking a column
header sorts the table, and the screenshot is not blank.

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

from jinbao.audit.render import PAGE, mask_id, write_report
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
    return re.findall(r"<tr>(.*?)</tr>", body, re.S)


def test_the_page_renders_offline_with_tables_and_chart(chromium, page, tmp_path):
    from tests.quality.test_data_docs import _offline

    done = _offline(chromium, tmp_path / "profile", "--dump-dom", page.as_uri())
    assert done.returncode == 0, done.stderr[-2000:]
    dom = done.stdout
    assert "死亡人员比对报告" in dom and 'id="total-overpaid">¥10,003,000.30<' in dom
    assert 'id="people-paid-after-death">4<' in dom
    for kind, n in {"paid_after_death": 4, "sources_disagree": 2, "not_deregistered": 1,
                    "identity_mismatch": 3, "probable_typo": 2, "divisions": 3}.items():
        assert len(_rows(dom, f"t-{kind}")) == n, kind
    paid = _rows(dom, "t-paid_after_death")
    assert mask_id(s.ZHANG) in paid[0] and "张三" in paid[0] and "2,000.20" in paid[0]
    svg = re.search(r'<svg[^>]*id="overpaid-chart".*?</svg>', dom, re.S)[0]
    bars = dict(re.findall(r'<g class="bar" data-month="([\d-]+)" data-v="([\d.]+)">', svg))
    assert {m: Decimal(v) for m, v in bars.items()} == s.BY_MONTH
    assert svg.count("<rect") == len(s.BY_MONTH)
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
        browser.goto(page.as_uri(), shows=["死亡人员比对报告", "10,003,000.30", "疑似录入错误"])
        assert browser.js("window.__violations") == []
        assert browser.js("performance.getEntriesByType('resource').length") == 0, "nothing fetched"
        assert browser.js("getComputedStyle(document.querySelector('table')).borderCollapse") == "collapse"
        assert browser.js("document.querySelectorAll('#overpaid-chart rect').length") == len(s.BY_MONTH)
        assert browser.js("document.querySelector('#overpaid-chart').getBoundingClientRect().height") > 100

        overpaid = """[...document.querySelectorAll('#t-paid_after_death tbody tr')].map(r => r.cells[7].textContent)"""
        names = """[...document.querySelectorAll('#t-paid_after_death tbody tr')].map(r => r.cells[1].textContent)"""
        header = "document.querySelectorAll('#t-paid_after_death thead th')[{}].querySelector('button')"
        assert browser.js(overpaid) == ["2,000.20", "1,000.10", "9,999,999.99", "0.01"]
        browser.click(header.format(7))
        assert browser.js(overpaid) == ["0.01", "1,000.10", "2,000.20", "9,999,999.99"]    # by amount, not text
        assert browser.js("document.querySelectorAll('#t-paid_after_death thead th')[7].getAttribute('aria-sort')") \
            == "ascending"
        browser.click(header.format(7))
        assert browser.js(overpaid) == ["9,999,999.99", "2,000.20", "1,000.10", "0.01"]
        browser.click(header.format(4))                                   # death date, as text
        assert browser.js(names)[:3] == ["张三", "李四", "王五"]
        # division totals: the grand total stays at the foot whatever the order
        browser.click("document.querySelectorAll('#t-divisions thead th')[3].querySelector('button')")
        assert browser.js("[...document.querySelectorAll('#t-divisions tbody tr')].map(r => r.cells[0].textContent)") \
            == ["440305", "110105", "310115"]
        assert browser.js("document.querySelector('#t-divisions tfoot tr').cells[3].textContent") == "10,003,000.30"
        browser.click(header.format(7))                                   # back to the biggest first for the picture
        browser.click(header.format(7))
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
