"""exchange_zone/quarantine.py: a refused delivery is kept whole, in its own folder, never overwritten."""
from __future__ import annotations


from jinbao.exchange_zone.quarantine import quarantine

FEED = "police.death"
NAME = "police.death_20261122_000002.csv"


def _staged(tmp_path, batch_id: int, content: bytes = b"delivery") -> tuple:
    folder = tmp_path / "staging" / FEED / str(batch_id)
    folder.mkdir(parents=True)
    (folder / NAME).write_bytes(content)
    (folder / "police.death_20261122_000002.manifest.json").write_bytes(b"{}")
    return folder


def test_the_fetched_delivery_moves_whole_to_its_own_folder(tmp_path):
    folder = _staged(tmp_path, 7)
    dest = quarantine(folder, tmp_path / "quarantine", FEED, 7, NAME)
    assert dest == tmp_path / "quarantine" / FEED / f"7-{NAME}"
    assert not folder.exists()
    assert sorted(p.name for p in dest.iterdir()) == sorted([NAME, "police.death_20261122_000002.manifest.json"])
    assert (dest / NAME).read_bytes() == b"delivery"


def test_the_same_file_name_refused_twice_keeps_both(tmp_path):
    first = quarantine(_staged(tmp_path, 7, b"first"), tmp_path / "quarantine", FEED, 7, NAME)
    second = quarantine(_staged(tmp_path, 9, b"second"), tmp_path / "quarantine", FEED, 9, NAME)
    assert first != second
    assert (first / NAME).read_bytes() == b"first" and (second / NAME).read_bytes() == b"second"


def test_an_existing_quarantine_folder_is_never_overwritten(tmp_path):
    kept = quarantine(_staged(tmp_path, 7, b"as refused"), tmp_path / "quarantine", FEED, 7, NAME)
    (kept / "note.txt").write_text("looked at by 王")              # a person's notes stay too
    again = _staged(tmp_path, 7, b"fetched again")                # a resumed refusal fetched it once more
    assert quarantine(again, tmp_path / "quarantine", FEED, 7, NAME) == kept
    assert (kept / NAME).read_bytes() == b"as refused" and (kept / "note.txt").exists()
    assert not again.exists()                                      # the second copy is dropped, not merged


def test_a_resumed_refusal_whose_staging_is_already_gone(tmp_path):
    """A crash after the move but before the ledger noted it: staging is empty, quarantine holds it."""
    kept = quarantine(_staged(tmp_path, 7), tmp_path / "quarantine", FEED, 7, NAME)
    assert quarantine(tmp_path / "staging" / FEED / "7", tmp_path / "quarantine", FEED, 7, NAME) == kept
    assert (kept / NAME).read_bytes() == b"delivery"


def test_quarantining_the_quarantine_folder_again_keeps_it(tmp_path):
    kept = quarantine(_staged(tmp_path, 7), tmp_path / "quarantine", FEED, 7, NAME)
    assert quarantine(kept, tmp_path / "quarantine", FEED, 7, NAME) == kept
    assert (kept / NAME).read_bytes() == b"delivery"
