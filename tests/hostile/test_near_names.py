"""Class 1 of issue 23: names that are almost delivery names.

Every entry of inbound/ ends taken, set aside with a receipt saying what its name should be, or
waiting as an upload in progress; never ignored.  Names are matched exactly: the end of a name is
its end (a trailing line break is part of the name, never "the end of the line").
"""
from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.faults.invariants import assert_accounted
from tests.hostile.conftest import FEED, no_unmasked_id, people, rows, run


def _near(base: str, sealed: bool) -> dict[str, str]:
    """Names a careless partner gives the delivery `base` -> the name the hub says it should have."""
    ext = ".csv.p7m" if sealed else ".csv"
    right = base + ext
    wide = base.translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    return {base + ext.upper(): right,                     # another case of the extension
            right + " ": right, right + "\n": right,         # trailing white space, a line break
            " " + right: right, right + "\r\n": right,
            base + ".txt": right, base + ".csv.gz": right,   # another kind of file
            wide + ext: right}                               # full-width digits


def test_almost_delivery_names_are_set_aside_with_the_name_they_should_have(zone, capsys, caplog):
    good = zone.deliver(people(6), seq=1)
    near = {}
    for i, how in enumerate(range(8), start=2):             # each careless name for a delivery of its own
        name, should = list(_near(f"police.death_20261122_{i:06d}", zone.sealed).items())[how]
        zone.drop(name, content=f"GMSFHM,XM\n{i}\n".encode())
        near[name] = should
    zone.drop("police.death_20261122_000090.csv.part")               # an upload in progress: waits
    zone.drop(".police.death_20261122_000091" + (".csv.p7m" if zone.sealed else ".csv"))

    code, out = run(capsys=capsys)
    assert code == 2                                               # refusals: a person may look
    batches = rows(zone.cfg, "select * from batch order by id")
    published = [b for b in batches if b["status"] == "published"]
    assert [(b["file_name"], b["received"], b["published"]) for b in published] == [(good, 6, 6)]
    strays = [b for b in batches if b["sha256"] == "-"]
    assert len(strays) == len(near) and all(b["status"] == "refused" for b in strays)
    assert rows(zone.cfg, "select count(*) as n from death_record")[0]["n"] == 6

    from jinbao.connectors.names import shown_name
    receipts = zone.receipts()
    shown = {shown_name(n): should for n, should in near.items()}
    for b in strays:
        [receipt] = [r for r in receipts.values() if r["batch_id"] == b["id"]]
        assert receipt["status"] == "refused" and receipt["reason_code"] in ("BAD_NAME", "NOT_SEALED")
        should = shown[b["file_name"]]
        assert f"send it as {should}" in receipt["message"], receipt["message"]
        assert b["file_name"] in out                                 # the run says so
        assert "\n" not in receipt["file"] and "\r" not in receipt["file"]
    # every entry ended: taken, set aside, or waiting as an upload in progress
    assert zone.left() == sorted([".police.death_20261122_000091" + (".csv.p7m" if zone.sealed else ".csv"),
                                  "police.death_20261122_000090.csv.part"])
    assert sorted(zone.aside()) == sorted(near)
    assert_accounted(zone.cfg, zone.inbound, sources=zone.sources or None)
    no_unmasked_id(caplog.text)

    code, out = run(capsys=capsys)                                   # nothing twice
    assert code == 0 and len(rows(zone.cfg, "select id from batch")) == len(near) + 1


def test_a_trailing_line_break_never_passes_for_the_end_of_a_delivery_name(zone, capsys):
    """`$` matches before a final line break: `<name>.csv\\n` was taken as a delivery (and published) under a
    name with a line break in it; it is a stray, and the delivery sent under the right name is taken."""
    name = zone.deliver(people(4), seq=1)
    (zone.inbound / name).rename(zone.inbound / (name + "\n"))        # the data file's name ends in a line break
    code, _ = run(capsys=capsys)
    assert code == 2
    [stray] = rows(zone.cfg, "select * from batch")
    assert (stray["status"], stray["reason_code"], stray["file_name"]) == ("refused", "BAD_NAME", name + "\\n")
    assert rows(zone.cfg, "select count(*) as n from death_record")[0]["n"] == 0
    name2 = zone.deliver(people(4), seq=1)                             # sent again, correctly named
    assert run(capsys=capsys)[0] == 0
    taken = rows(zone.cfg, "select * from batch where file_name = :n", n=name2)
    assert [(b["status"], b["received"]) for b in taken] == [("published", 4)]
    assert_accounted(zone.cfg, zone.inbound, sources=zone.sources or None,
                     waiting=tuple(n for n in zone.left() if n != name2))


# ------------------------------------------------------------------------------------ the classifier
_ALPHABET = st.sampled_from(list("abcdefghijklmnopqrstuvwxyz_.0123456789-~ \n\t\r") +
                            ["police.death_", "police.identity_", "20261122_", "000001", ".csv", ".p7m",
                             ".manifest.json", ".sig", ".part", "２", "Ｃ", "\u3000", "\x00", "CSV"])


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(names=st.lists(st.lists(_ALPHABET, min_size=1, max_size=8).map("".join), min_size=1, max_size=12, unique=True),
       sealed=st.booleans())
def test_every_entry_lands_in_exactly_one_class_and_only_exact_names_are_taken(names, sealed):
    from jinbao.connectors.base import DELIVERY_NAME
    from jinbao.connectors.names import Form, classify
    from jinbao.exchange_zone.envelope import COMPANIONS

    forms = [Form(FEED, sealed, COMPANIONS if sealed else ()), Form("police.identity")]
    entries = {n: "file" for n in names if n not in (".", "..") and "/" not in n}
    got = classify(entries, forms, "police")
    taken = {f for ds in got.deliveries.values() for d in ds for f in d.files}
    waiting = {n for n, _ in got.waiting}
    strays = {s.name for s in got.strays}
    assert not (taken & waiting) and not (taken & strays) and not (waiting & strays)
    assert taken | waiting | strays == set(entries)                      # nothing ignored
    for ds in got.deliveries.values():
        for d in ds:
            assert DELIVERY_NAME.fullmatch(d.name) and d.name.isascii() and d.name == d.name.strip()
    for s in got.strays:
        assert s.shown.isprintable() and len(s.shown) <= 200
        if s.expected is not None:                                     # what it should be is an agreed name
            assert s.expected.isascii() and s.expected == s.expected.strip()
            assert DELIVERY_NAME.fullmatch(s.expected) or s.expected.endswith((".manifest.json", ".sig"))


def test_shown_names_are_masked_visible_and_bounded():
    from jinbao.connectors.names import shown_name

    assert shown_name("deaths 110105194912310021.csv") == "deaths 110105********0021.csv"
    wide = "１１０１０５１９４９１２３１００２１"
    assert shown_name(wide) == "１１０１０５" + "*" * 8 + "００２１"           # full-width digits: masked as well
    assert shown_name("a.csv\n") == "a.csv\\n" and shown_name(" a.csv ") == "\\x20a.csv\\x20"
    assert shown_name("a\udcffb") == "a\\xffb" and shown_name("a\u3000b\x00") == "a\\u3000b\\x00"
    long = shown_name("x" * 250)
    assert len(long) == 200 and long != shown_name("x" * 249) and long.startswith("x" * 150)
    no_unmasked_id(shown_name("110105194912310021" * 12))


@pytest.mark.parametrize("name", ["police.death_20261122_000001.csv\n", "police.death_20261122_000001.csv.part\n",
                                  "police.death_２０２６１１２２_000001.csv", "police.death_20261122_00000１.csv"])
def test_delivery_names_match_exactly(name):
    from jinbao.connectors.base import DELIVERY_NAME, TEMPORARY, parse_delivery_name

    assert parse_delivery_name(name) is None and DELIVERY_NAME.match(name) is None
    assert TEMPORARY.search(name) is None                         # not an upload in progress either: a stray
