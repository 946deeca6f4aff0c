"""`jinbao quality docs`: one page per batch that a person can open offline, with nothing personal in clear.

The page is rendered in Debian's headless Chromium with the network off (every
request goes to a proxy on a dead port).  Chromium is installed with apt-get
when missing and the tests run as root; otherwise they skip, or fail under
CI=true (tests.conftest.unavailable).

`UPDATE_DOCS_IMAGES=1 pytest tests/quality/test_data_docs.py` also writes the
screenshot the README shows, docs/images/data-docs.png (needs a CJK font,
`apt-get install fonts-noto-cjk`).
"""
from __future__ import annotations

import os
import re
import shutil
import struct
import subprocess
import zlib
from html.parser import HTMLParser
from pathlib import Path

import pytest

from tests.conftest import REPO, unavailable
from tests.deliveries import death_row, write_delivery

pytest.importorskip("great_expectations")

FEED = "police.death"
UNMASKED_ID = re.compile(r"(?<![0-9A-Za-z*])\d{17}[\dX](?![0-9A-Za-z])")
DEAD_PROXY = "127.0.0.1:9"          # discard port, nothing listens: any http(s) fetch fails at once

#: One defect per rule, each on its own line (header = line 1, so record i is on line i + 2).
DEFECTS = {
    "UNMAPPED_CODE": dict(XB="5"),
    "ID_CHECKSUM": dict(GMSFHM="110105194001011234"),
    "BAD_ENCODING": dict(XM="寮犱笁"),             # 张三 as UTF-8 read as GB18030
    "NAME_INVALID": dict(XM="王伟2"),
    "DATE_INVALID": dict(SWRQ="20261131"),
    "REQUIRED": dict(XM=""),
    "DIVISION_UNKNOWN": dict(HJDZ_XZQH="999999"),
    "DEATH_BEFORE_BIRTH": dict(SWRQ="19300101"),
}
GOOD = 42


def _rows() -> list[dict]:
    rows = [death_row(i) for i in range(GOOD)]
    rows += [death_row(GOOD + k, **over) for k, over in enumerate(DEFECTS.values())]
    return rows


# ---------------------------------------------------------------------------------------------------
# Headless Chromium


def _ensure_chromium() -> str:
    found = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
    if found:
        return found
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        unavailable("headless Chromium", RuntimeError("not installed and cannot apt-get install it"))
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(["apt-get", "update", "-qq"], env=env, capture_output=True, timeout=600)
    done = subprocess.run(["apt-get", "install", "-y", "-qq", "chromium"], env=env, capture_output=True, text=True,
                          timeout=1200)
    found = shutil.which("chromium")
    if done.returncode != 0 or not found:
        unavailable("headless Chromium", RuntimeError(done.stderr[-500:]))
    return found


@pytest.fixture(scope="module")
def chromium():
    return _ensure_chromium()


def _offline(chromium: str, profile: Path, *args: str) -> subprocess.CompletedProcess:
    """Chromium with the network off: no QUIC, no background fetches, every request to a dead proxy."""
    cmd = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           f"--user-data-dir={profile}", f"--proxy-server={DEAD_PROXY}", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=180)


def _png_pixels(path: Path) -> bytes:
    """The decompressed scanlines of a PNG (enough to tell a rendered page from a blank one)."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat = 8, b""
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        if kind == b"IDAT":
            idat += data[pos + 8:pos + 8 + length]
        pos += 12 + length
    return zlib.decompress(idat)


# ---------------------------------------------------------------------------------------------------
# What the page may hold


class _Resources(HTMLParser):
    """Every attribute through which a browser would fetch something, and every <style> text."""

    FETCHING = {"src", "href", "srcset", "data", "poster", "action", "background", "formaction", "xlink:href"}

    def __init__(self):
        super().__init__()
        self.refs: list[tuple[str, str, str]] = []
        self.tags: list[str] = []
        self.styles: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self._in_style = tag == "style"
        for name, value in attrs:
            if name in self.FETCHING and value is not None:
                self.refs.append((tag, name, value))
            if name == "style" and value:
                self.styles.append(value)

    def handle_endtag(self, tag):
        self._in_style = False

    def handle_data(self, data):
        if self._in_style:
            self.styles.append(data)


def _assert_self_contained(page: str) -> None:
    found = _Resources()
    found.feed(page)
    remote = [(t, a, v) for t, a, v in found.refs if re.match(r"\s*(https?:|//|ftp:)", v, re.I)]
    assert not remote, f"resources fetched from the network: {remote}"
    css = " ".join(found.styles)
    assert not re.search(r"url\(|@import", css), "stylesheets must not load anything"
    assert "script" not in found.tags and "iframe" not in found.tags
    assert "default-src 'none'" in page          # and a browser would refuse any fetch anyway (CSP)


def _assert_nothing_personal(page: str, rows: list[dict], garbled: bool = True) -> None:
    assert not UNMASKED_ID.search(page), "an unmasked citizen ID"
    for row in rows:
        assert row["GMSFHM"] not in page
        assert not row["XM"] or len(row["XM"]) < 2 or row["XM"] not in page, "a name in clear"
    if garbled:
        assert "寮犱笁" not in page and "(garbled text" in page      # mojibake is never printed
    assert "hub__" not in page and "ge__" not in page                  # columns as a person reads them


def _failed_rules(dom: str) -> dict[str, int]:
    """reason -> records, read from the rendered 'Rules that failed' table."""
    part = dom.split("Rules that failed", 1)[1].split("Every check", 1)[0]
    out = {}
    for row in re.findall(r'<tr class="fail">(.*?)</tr>', part, re.S):
        reason = re.search(r"<code>([A-Z_]+)</code>", row)[1]
        out[reason] = int(re.findall(r'<td class="n">([\d,]+)</td>', row)[0].replace(",", ""))
    return out


# ---------------------------------------------------------------------------------------------------


def test_the_page_opens_offline_and_shows_nothing_personal(sqlite_home, chromium, capsys, tmp_path):
    from jinbao.cli import main
    from jinbao.quality.data_docs import data_docs_path, hint

    cfg, rows = sqlite_home, _rows()
    write_delivery(cfg.inbound("police"), FEED, rows)
    assert main(["run", FEED]) == 0                    # 8 of 50 rejected: under the 20 % hold threshold
    capsys.readouterr()
    assert main(["quality", "docs", FEED]) == 0
    index = data_docs_path(cfg, FEED, 1)
    assert f"quality results: {index}" in capsys.readouterr().out
    assert index == cfg.reports / "quality" / FEED / "1" / "index.html"
    assert hint(cfg, FEED, 1) == f"quality results: jinbao quality docs {FEED} --batch 1 writes them to {index}"

    page = index.read_text(encoding="utf-8")
    _assert_self_contained(page)
    _assert_nothing_personal(page, rows)
    assert "110105********1234" in page                  # the ID that failed, masked as in receipts
    assert "王**" in page                                 # the name with a digit: first character only
    assert "XB 性别 gender (hub AAA002)" in page and "GMSFHM 公民身份号码 citizen ID number (hub AAC002)" in page

    dump = _offline(chromium, tmp_path / "profile", "--dump-dom", index.as_uri())
    assert dump.returncode == 0, dump.stderr[-2000:]
    dom = dump.stdout
    assert "公安死亡人员信息 Police death registrations" in dom and "batch 批次 1" in dom
    assert _failed_rules(dom) == {reason: 1 for reason in DEFECTS}
    for reason, over in DEFECTS.items():
        line = GOOD + list(DEFECTS).index(reason) + 2
        assert f"line {line}" in dom, reason
    assert "已发布 published" in dom and "50" in dom and "(16.0%)" in dom   # gate: 8 of 50 rejected

    shot = tmp_path / "page.png"
    done = _offline(chromium, tmp_path / "profile", f"--screenshot={shot}", "--window-size=1280,900",
                    index.as_uri())
    assert done.returncode == 0 and shot.exists(), done.stderr[-2000:]
    assert len(set(_png_pixels(shot))) > 32, "the screenshot is blank"
    if os.environ.get("UPDATE_DOCS_IMAGES") == "1":
        fonts = subprocess.run(["fc-list", ":lang=zh"], capture_output=True, text=True).stdout
        assert fonts.strip(), "no CJK font: apt-get install fonts-noto-cjk, then take the screenshot again"
        target = Path(REPO) / "docs" / "images" / "data-docs.png"
        target.parent.mkdir(exist_ok=True)
        shutil.copyfile(shot, target)


def test_an_enveloped_batch_and_the_choice_of_batch(sqlite_home, monkeypatch, capsys):
    """Sealed deliveries are validated from the plaintext in staging; --batch picks one; refused has none."""
    from jinbao.cli import main
    from jinbao.keys import init_keys
    from jinbao.quality.data_docs import data_docs_path
    from jinbao.settings import load_settings
    from tests.faults.conftest import seal

    init_keys(sqlite_home.home)
    monkeypatch.setenv("JINBAO_TRANSPORT", "local+cms")
    cfg = load_settings()
    rows = [death_row(i) for i in range(10)] + [death_row(10, XB="5")]
    seal(cfg, write_delivery(cfg.home / "police-side", FEED, rows), cfg.inbound("police"))
    assert main(["run", FEED]) == 0
    seal(cfg, write_delivery(cfg.home / "police-side", FEED, rows, seq=2), cfg.inbound("police"))   # a replay of
    assert main(["run", FEED]) == 2                                                           # the same content

    capsys.readouterr()
    assert main(["quality", "docs", FEED, "--batch", "2"]) == 1
    assert "refused" in capsys.readouterr().err
    assert main(["quality", "docs", FEED, "--batch", "99"]) == 1
    assert main(["quality", "docs", FEED]) == 0                     # the newest batch that was judged: 1
    page = data_docs_path(cfg, FEED, 1).read_text(encoding="utf-8")
    assert "UNMAPPED_CODE" in page and "line 12" in page and ".p7m" in page
    _assert_nothing_personal(page, rows, garbled=False)
    assert (data_docs_path(cfg, FEED, 1).parent / "suite.json").exists()


def test_values_a_person_may_see():
    from jinbao.quality.data_docs import EMPTY, GARBLED, HIDDEN, Field, shown

    ident = Field("GMSFHM", "", "citizen_id", True)
    name = Field("XM", "", "name", True)
    text = Field("BZ", "", None, False)
    address = Field("ZZ", "", "text", True)
    assert shown("11010519491231002X", ident) == "110105********002X"
    assert shown("12345", ident) == "*****"
    assert shown("张三丰", name) == "张**"
    assert shown("寮犱笁", name) == GARBLED and shown("ÕÅÈý", text) == GARBLED and shown("a\ufffdb", text) == GARBLED
    assert shown("11010519491231002X, 110105491231002", text) == "110105********002X, 110105*****1002"
    assert shown("a\x00b\x07", text) == "a␀b␇"
    assert shown("北京市朝阳区某街道1号", address) == HIDDEN
    assert shown(None, text) == EMPTY and shown(float("nan"), text) == EMPTY
    assert shown("x" * 100, text).endswith("…") and len(shown("x" * 100, text)) == 40
    import pandas as pd
    assert shown(pd.Timestamp("2026-11-22"), text) == "2026-11-22" and shown(pd.NaT, text) == EMPTY
