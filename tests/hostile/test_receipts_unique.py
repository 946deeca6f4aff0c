"""Class 2 of issue 23: receipts never overwrite each other.

One receipt per batch, under a name that is unique and of bounded length whatever the delivery
was called: two strays with the same stem, a plaintext file beside its envelope, a name refused
after the same name was published.  The partner is never told another batch's outcome.
"""
from __future__ import annotations

import os

from tests.faults.invariants import assert_accounted
from tests.hostile.conftest import no_unmasked_id, people, rows, run


def _one_receipt_per_batch(zone) -> dict[int, dict]:
    """Every batch has exactly one receipt in outbound/ and it is about that batch; returns them by batch."""
    by_batch: dict[int, list[dict]] = {}
    for name, receipt in zone.receipts().items():
        assert len(name) <= 100, name                                        # bounded, whatever the file's name
        by_batch.setdefault(receipt["batch_id"], []).append(receipt)
    batches = rows(zone.cfg, "select id, status, reason_code, file_name from batch order by id")
    assert sorted(by_batch) == [b["id"] for b in batches], (sorted(by_batch), batches)
    for b in batches:
        [receipt] = by_batch[b["id"]]
        assert (receipt["status"], receipt["reason_code"], receipt["file"]) == (b["status"], b["reason_code"],
                                                                               b["file_name"])
    return {b: r[0] for b, r in by_batch.items()}


def test_strays_with_the_same_stem_each_get_their_own_receipt(zone, capsys):
    zone.deliver(people(3), seq=1)
    for name in ("deaths.csv", "deaths.csv.gz", "deaths.CSV", "deaths.csv ", "deaths"):
        zone.drop(name)
    assert run(capsys=capsys)[0] == 2
    receipts = _one_receipt_per_batch(zone)
    assert sorted(r["file"] for r in receipts.values() if r["status"] == "refused") == sorted(
        ["deaths.csv", "deaths.csv.gz", "deaths.CSV", "deaths.csv\\x20", "deaths"])
    assert_accounted(zone.cfg, zone.inbound, sources=zone.sources or None)


def test_a_plaintext_file_beside_its_envelope_is_set_aside_and_the_envelope_taken(make_zone, capsys):
    """A sealed zone: the partner also left the plaintext CSV.  It is never read (personal data in the clear
    where only sealed deliveries are taken), the envelope is published, each has its own receipt."""
    zone = make_zone(sealed=True)
    sealed = zone.deliver(people(7), seq=1)
    plain = sealed.removesuffix(".p7m")
    zone.drop(plain, content=zone.sources[sealed])
    assert run(capsys=capsys)[0] == 2
    receipts = _one_receipt_per_batch(zone)
    [taken] = [r for r in receipts.values() if r["file"] == sealed]
    [aside] = [r for r in receipts.values() if r["file"] == plain]
    assert (taken["status"], taken["received"], taken["published"]) == ("published", 7, 7)
    assert (aside["status"], aside["reason_code"]) == ("refused", "NOT_SEALED")
    assert f"send it as {sealed}" in aside["message"]
    assert zone.aside() == [plain] and zone.left() == []
    assert sorted(os.listdir(zone.inbound / "processed" / str(taken["batch_id"]))) == sorted(
        [sealed, plain.removesuffix(".csv") + ".manifest.json", plain.removesuffix(".csv") + ".manifest.json.sig"])
    assert_accounted(zone.cfg, zone.inbound, sources=zone.sources)


def test_a_name_refused_after_the_same_name_was_published_never_replaces_its_receipt(zone, capsys):
    """The delivery is published; then the partner sends the same name with a line break at its end, and a
    link under the delivery's very name, found by another feed of the partner.  The published batch's
    receipt is untouched; each refusal is answered under its own name."""
    name = zone.deliver(people(5), seq=1)
    assert run(capsys=capsys)[0] == 0
    first = zone.receipt_bytes()
    [published] = _one_receipt_per_batch(zone).values()
    assert published["status"] == "published"

    zone.deliver(people(5), seq=1)                                  # the same delivery again ...
    os.rename(zone.inbound / name, zone.inbound / (name + "\n"))  # ... its data file's name ending in a break
    assert run(capsys=capsys)[0] == 2
    os.symlink("/etc/passwd", zone.inbound / name)                  # then a link under the delivery's name
    assert run("police.identity", capsys=capsys)[0] == 2

    after = zone.receipt_bytes()
    assert {n: after[n] for n in first} == first                    # nothing of the published batch replaced
    receipts = _one_receipt_per_batch(zone)
    assert [r["status"] for r in receipts.values()] == ["published", "refused", "refused"]
    assert sorted(r["reason_code"] for r in receipts.values() if r["status"] == "refused") == [
        "BAD_NAME", "NOT_A_FILE"]
    assert rows(zone.cfg, "select count(*) as n from death_record")[0]["n"] == 5
    assert (zone.inbound / "rejected" / name).is_symlink()          # moved, never followed
    assert_accounted(zone.cfg, zone.inbound, sources=zone.sources or None,
                     waiting=tuple(zone.left()))                     # the resent companions wait (sealed)


def test_receipt_names_are_unique_and_short_whatever_the_name(zone, capsys):
    long = "报" * 80 + ".csv"                                          # 244 bytes: a name as long as can be
    ident = "死亡名单 110105194912310021 .csv"
    for name in (long, long.replace("报", "表"), ident, "x" * 250, "x" * 249 + "y", "rejected", "processed"):
        zone.drop(name)
    zone.deliver(people(2), seq=1)
    code, out = run(capsys=capsys)
    assert code == 2
    receipts = _one_receipt_per_batch(zone)
    assert len(receipts) == 8
    for name in zone.receipt_bytes():
        assert len(name.encode()) <= 120 and name.isascii() and "110105194912310021" not in name
    no_unmasked_id(*(str(r) for r in receipts.values()), out)
    assert_accounted(zone.cfg, zone.inbound, sources=zone.sources or None)
