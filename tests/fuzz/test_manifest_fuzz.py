"""Fuzzing exchange_zone/manifest.parse: random bytes, random JSON and nearly right manifests either
parse or are refused (DeliveryRefused); never an exception of another kind."""
from __future__ import annotations

import datetime as dt
import json

from hypothesis import event, example, given, strategies as st

from jinbao.connectors.base import parse_delivery_name
from jinbao.exchange_zone import manifest
from jinbao.staged.refused import DeliveryRefused
from tests.fuzz.shapes import no_hang

FEEDS = ["police.death", "civil.marriage", "Police.death", "police_death", "police.death.x", ""]
TODAY = dt.date.today()


@st.composite
def data_file_names(draw) -> str:
    """A delivery name, mostly of the agreed shape with a recent business date, or any text."""
    shape = draw(st.integers(0, 7))
    if shape == 7:
        return draw(st.text(max_size=40))
    odd = shape >= 5
    feed = draw(st.sampled_from(FEEDS if odd else FEEDS[:2]))
    day = draw(st.one_of(st.dates(dt.date(1990, 1, 1), dt.date(2100, 12, 31)).map("{:%Y%m%d}".format),
                         st.text("0123456789", min_size=8, max_size=8)) if odd else   # 20261399 too
               st.sampled_from([TODAY, TODAY - dt.timedelta(days=1)]).map("{:%Y%m%d}".format))
    seq = draw(st.integers(0, 10**12 - 1))
    width = draw(st.sampled_from([6, 1, 12, 13] if odd else [6]))
    return f"{feed}_{day}_{seq:0{width}d}.csv" + draw(st.sampled_from([".p7m", ""]))


JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                                max_size=4), max_leaves=12)
SHA = st.text("0123456789abcdefABCDEF", min_size=64, max_size=64)
TIMESTAMPS = st.one_of(
    st.datetimes(dt.datetime(1, 1, 2), dt.datetime(9999, 12, 30)).map(lambda d: d.isoformat()),
    st.datetimes(dt.datetime(1, 1, 2), dt.datetime(9999, 12, 30),
                 timezones=st.timezones() | st.builds(dt.timezone, st.timedeltas(dt.timedelta(hours=-23),
                                                                                  dt.timedelta(hours=23)))
                 ).map(lambda d: d.isoformat()),
    st.sampled_from(["", "now", "2026-11-22", "20261122T101010", "2026-11-22T25:00:00", "2026-11-22T10:00:00Z",
                     "2026-11-22 10:00:00+08:00", "９９９９-01-01"]),
    st.text(max_size=30))


@st.composite
def manifests_for(draw, name: str) -> bytes:
    """The manifest bytes of `name`: every field right, some wrong, missing, mistyped or extra."""
    named = parse_delivery_name(name)
    right = {
        "feed": named.feed if named else "police.death",
        "file": draw(st.sampled_from([name, name.removesuffix(".p7m")])),
        "sha256": draw(SHA),
        "records": draw(st.integers(0, 10**9)),
        "encoding": draw(st.sampled_from(["GB18030", "UTF-8", "utf-8", "gb18030", "GBK", "UTF8"])),
        "sequence": named.sequence if named else 1,
        "created_at": (dt.datetime.now(dt.timezone.utc) - draw(st.timedeltas(dt.timedelta(0), dt.timedelta(
            days=3)))).isoformat(timespec="seconds"),
    }
    obj = {}
    for f in manifest.FIELDS:
        choice = draw(st.integers(0, 19))
        if choice == 19:
            continue                                                    # missing
        obj[f] = right[f] if choice < 16 else draw(
            {"sha256": SHA, "created_at": TIMESTAMPS, "records": st.integers(), "sequence": st.integers()}.get(
                f, st.nothing()) | JSON)
    obj.update(draw(st.dictionaries(st.text(max_size=8), JSON, max_size=2)))
    raw = json.dumps(obj, ensure_ascii=draw(st.booleans()), indent=draw(st.sampled_from([None, 2]))).encode("utf-8")
    if draw(st.booleans()):
        raw = b"\xef\xbb\xbf" + raw
    if draw(st.integers(0, 4)) == 4:                                    # damaged bytes
        at = draw(st.integers(0, len(raw)))
        raw = raw[:at] + draw(st.binary(max_size=4)) + raw[at + draw(st.integers(0, 4)):]
    return raw


def check(raw: bytes, name: str) -> None:
    with no_hang():
        try:
            m = manifest.parse(raw, name)
        except DeliveryRefused as exc:
            assert exc.reason_code == "MANIFEST_INVALID"
            event("refused: " + exc.detail.split(" ")[0])
            return
    event("parsed")
    named = parse_delivery_name(name)
    assert named is not None and m.file in (name, name.removesuffix(".p7m"))
    assert (m.feed, m.sequence) == (named.feed, named.sequence)
    assert len(m.sha256) == 64 and m.sha256 == m.sha256.lower() and m.encoding in manifest.ENCODINGS


@given(st.binary(max_size=400), data_file_names())
def test_random_bytes(raw, name):
    check(raw, name)


@given(data_file_names().flatmap(lambda n: st.tuples(manifests_for(n), st.just(n))))
def test_nearly_right_manifests(case):
    check(*case)


@example(date="20261399")
@example(date="20260230")
@given(date=st.sampled_from(["20261399", "20260230", "20261300", "00000000", "20261232"]))
def test_a_name_with_a_date_that_does_not_exist(date):
    """The agreed shape with a date that does not exist is refused (was ValueError from strptime)."""
    name = f"police.death_{date}_000001.csv.p7m"
    raw = manifest.build("police.death", name, "0" * 64, 1, "GB18030", 1).to_bytes()
    check(raw, name)


@example(raw=b'{"records": ' + b"1" * 4301 + b"}")
@example(raw=b"[" * 100_000)
@given(raw=st.one_of(st.integers(4301, 20_000).map(lambda n: b"[" + b"9" * n + b"]"),
                     st.integers(3_000, 200_000).map(lambda n: b'{"a":' * n)))
def test_json_past_pythons_limits(raw):
    """An int past Python's 4300 digits or nesting past its recursion limit is refused (was ValueError /
    RecursionError out of json.loads)."""
    check(raw, "police.death_20261122_000001.csv.p7m")
