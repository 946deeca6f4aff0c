"""The hub's promise, checked after every fault: nothing lost, nothing stuck, nothing twice.

`assert_accounted(cfg, inbound_dir)` reads the ledger, the target table, the partner's drop zone
(a local folder: the local transport's, or the sshd chroot of an SFTP partner), staging,
quarantine and the receipts, and fails naming the batch and the broken rule:

* every judged, held or published batch: received = accepted + rejected, and received = the data
  lines of the delivery as the partner wrote it (no silent loss);
* every published batch: published = accepted = its rows in the target table, and its rejected
  lines are the rejection rows; no target row belongs to a batch that is not published (no orphan
  rows, nothing published twice);
* when the last run ended well (`settled`): no batch left `received` or `judged`, every ended batch
  has its receipt (the hub's copy, with the batch's status, and the copy in outbound/);
* the partner's files: a delivery waiting or held is in inbound/ and nowhere else in the zone; an
  acknowledged one (published or refused) is in inbound/processed/<batch>/ only; a stray is in
  inbound/rejected/; a refused delivery that was fetched is also kept, by the hub, in
  quarantine/<feed>/<batch>-<file>/ (docs/reliability.md: the remote copy goes to processed/); no
  published batch has a quarantine folder, no quarantine folder lacks its refused batch.

Nothing here prints a citizen ID: messages name batches, files and counts.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import sqlalchemy as sa

from jinbao.connectors.names import shown_name

#: The data lines of a delivery (after the header); CR, CR LF and LF all end a line, blank lines at
#: the very end are not lines (jinbao/staged/reader.py).
_EOL = re.compile(rb"\r\n|\r|\n")
_TEMPORARY = re.compile(r"(\A\.|\.tmp\Z|\.part\Z|\.filepart\Z|~\Z)")


def data_lines(raw: bytes) -> int:
    lines = _EOL.split(raw)
    while lines and lines[-1].strip() == b"":
        lines.pop()
    return max(len(lines) - 1, 0)


_DELIVERY_BASE = re.compile(r"^[a-z_]+\.[a-z_]+_\d{8}_\d{1,12}(?=\.)")


def _base(name: str) -> str:
    """A delivery's base name, the same for its data file and its companions."""
    m = _DELIVERY_BASE.match(name)
    return m[0] if m else name


def _files(folder: Path) -> set[str]:
    return {p.name for p in folder.iterdir() if p.is_file() or p.is_symlink()} if folder.is_dir() else set()


def _aside_names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


def _unnumbered(name: str) -> str:
    return re.sub(r"\.[0-9]+\Z", "", name)


def assert_accounted(cfg, inbound_dir: Path, *, feed: str = "police.death", settled: bool = True,
                     waiting: tuple[str, ...] = (), sources: dict[str, bytes] | None = None,
                     overlapping_keys: bool = False) -> list[dict]:
    """Check the invariants; returns the feed's batch rows (oldest first) for further asserts.

    `settled`: the last run succeeded, so nothing may be left half done.
    `waiting`: delivery file names that are meant to stay in inbound/ untaken (no batch, or a newer
    one than the batches of their name), e.g. a delivery dated after `--date`.
    `sources`: plaintext of deliveries by data file name, where the zone holds them sealed
    (a plain .csv delivery is read from the zone itself).
    `overlapping_keys`: later deliveries repeat keys of earlier ones, so an earlier batch may own
    fewer target rows than it published.
    """
    from jinbao.declarations import get_feed
    from jinbao.schemas.store_tables import TARGETS, rejection
    from jinbao.store.database import connect

    inbound_dir = Path(inbound_dir)
    outbound_dir = inbound_dir.parent / "outbound"
    spec = get_feed(feed, cfg)
    target = TARGETS[spec.target.table]
    problems: list[str] = []
    with connect(cfg.store_url).connect() as conn:
        rows = [dict(r) for r in conn.execute(sa.text(
            "select * from batch where feed = :f order by id"), {"f": feed}).mappings()]
        owned = dict(conn.execute(sa.select(target.c.batch_id, sa.func.count()).where(
            *(target.c[k] == v for k, v in spec.target.set.items())).group_by(target.c.batch_id)).all())
        rejected_lines = dict(conn.execute(sa.select(rejection.c.batch_id, sa.func.count(
            sa.distinct(rejection.c.line_no))).group_by(rejection.c.batch_id)).all())
    by_id = {r["id"]: r for r in rows}

    top = {n for n in _files(inbound_dir) if not _TEMPORARY.search(n)}
    strays: list[dict] = []
    claimed_top: set[str] = set()                # base names in inbound/ that some batch or `waiting` explains
    for name in waiting:
        claimed_top.add(_base(name))
        if name not in top:
            problems.append(f"{name} should still wait in inbound/ but is not there")

    for r in rows:
        bid, name, status = r["id"], r["file_name"], r["status"]
        where = f"batch {bid} ({name}, {status})"
        stray = r["sha256"] == "-"
        processed = inbound_dir / "processed" / str(bid)
        # ---------------------------------------------------------------- counts
        if status in ("judged", "held", "published"):
            if r["received"] is None or r["received"] != (r["accepted"] or 0) + (r["rejected"] or 0):
                problems.append(f"{where}: received {r['received']} != accepted {r['accepted']} + rejected "
                                f"{r['rejected']}")
            raw = (sources or {}).get(name)
            if raw is None and not name.endswith(".p7m"):
                for place in (processed / name, inbound_dir / name):
                    if place.is_file():
                        raw = place.read_bytes()
                        break
            if raw is not None and r["received"] != data_lines(raw):
                problems.append(f"{where}: received {r['received']} but the delivery has {data_lines(raw)} "
                                "lines after its header (records lost or invented)")
        if status == "published":
            n_owned = owned.get(bid, 0)
            if r["published"] != r["accepted"]:
                problems.append(f"{where}: published {r['published']} != accepted {r['accepted']}")
            if n_owned != r["published"] and not (overlapping_keys and n_owned < (r["published"] or 0)):
                problems.append(f"{where}: {n_owned} rows of {target.name} carry the batch, it published "
                                f"{r['published']}")
            if rejected_lines.get(bid, 0) != (r["rejected"] or 0):
                problems.append(f"{where}: {rejected_lines.get(bid, 0)} rejected lines stored, batch says "
                                f"{r['rejected']}")
        elif owned.get(bid):
            problems.append(f"{where}: {owned[bid]} rows of {target.name} carry an unpublished batch")
        elif status != "published" and rejected_lines.get(bid):
            problems.append(f"{where}: rejections stored for an unpublished batch")
        # ------------------------------------------------------------ settledness
        if settled and status in ("received", "judged"):
            problems.append(f"{where}: left {status} after a run that succeeded")
        if settled and status in ("held", "published", "refused"):
            copies = list((cfg.receipts / feed / str(bid)).glob("*.receipt.json"))
            if len(copies) != 1:
                problems.append(f"{where}: {len(copies)} receipt copies in {cfg.receipts / feed / str(bid)}")
            else:
                sent = json.loads(copies[0].read_text(encoding="utf-8"))
                if (sent["status"], sent["batch_id"]) != (status, bid):
                    problems.append(f"{where}: the receipt says batch {sent['batch_id']} {sent['status']}")
                if not any(n.startswith(copies[0].name) for n in _files(outbound_dir)):
                    problems.append(f"{where}: receipt {copies[0].name} not in the partner's outbound/")
        # ------------------------------------------------------ where the files are
        if stray:
            if r["acked_at"] is not None:       # set aside: matched against inbound/rejected/ below
                strays.append(r)
            elif settled:
                problems.append(f"{where}: a stray recorded but never set aside")
            continue
        in_processed = name in _files(processed)
        acked = in_processed or r["acked_at"] is not None
        if r["acked_at"] is not None and not in_processed:
            problems.append(f"{where}: acknowledged but not in inbound/processed/{bid}/")
        if status in ("received", "judged", "held") and in_processed:
            problems.append(f"{where}: in inbound/processed/ though not ended")
        if status == "published" and settled and not in_processed:
            problems.append(f"{where}: published but the delivery is not in inbound/processed/{bid}/")
        if status == "refused" and settled and not in_processed:
            problems.append(f"{where}: refused but the delivery is not in inbound/processed/{bid}/")
        if not acked:
            if name in top:
                claimed_top.add(_base(name))
            elif status in ("received", "judged", "held") or status == "refused":
                problems.append(f"{where}: not acknowledged, yet the delivery is no longer in inbound/")
        for other in _files(processed):
            if _base(other) != _base(name):
                problems.append(f"{where}: inbound/processed/{bid}/ holds {other}, not of this delivery")
        kept = cfg.quarantine / feed / f"{bid}-{name}"
        if status == "refused" and r["staging_dir"] is not None:
            before_finish = not settled and r["acked_at"] is None and Path(r["staging_dir"]).is_dir()
            if (not kept.is_dir() or not any(kept.iterdir())) and not before_finish:
                problems.append(f"{where}: not kept in quarantine ({kept.name} missing or empty)")
            elif settled and Path(r["staging_dir"]) != kept:
                problems.append(f"{where}: the ledger says it is kept in {r['staging_dir']}, not in quarantine")
        elif kept.exists():
            problems.append(f"{where}: has a quarantine folder though {status}")

    # every stray set aside is in inbound/rejected/ under its own name (or that name cut short and numbered:
    # `<name>.1`); the ledger holds the name as shown (masked, escaped: connectors/names.py shown_name)
    aside = _aside_names(inbound_dir / "rejected")
    for r in strays:
        match = next((n for n in aside if r["file_name"] in (shown_name(n), shown_name(_unnumbered(n)))), None)
        if match is None:
            match = next((n for n in aside if _unnumbered(n) != n), None)    # a long name cut to fit a number
        if match is None:
            problems.append(f"batch {r['id']} ({r['file_name']}, stray): not in inbound/rejected/")
        else:
            aside.remove(match)
    for name in sorted(top):
        if settled and _base(name) not in claimed_top:     # after a failed run anything may still wait
            done = [r["id"] for r in rows if _base(r["file_name"]) == _base(name) and
                    name in _files(inbound_dir / "processed" / str(r["id"]))]
            problems.append(f"{name} is in inbound/ though no unfinished batch or expected wait explains it"
                            + (f" (already in processed/ of batch {done})" if done else ""))
    qroot = cfg.quarantine / feed
    for folder in (sorted(qroot.iterdir()) if qroot.is_dir() else []):
        bid = int(folder.name.split("-", 1)[0]) if folder.name.split("-", 1)[0].isdigit() else None
        if bid not in by_id or by_id[bid]["status"] != "refused":
            problems.append(f"quarantine/{feed}/{folder.name} belongs to no refused batch")
    assert not problems, "the hub's accounting is broken:\n  " + "\n  ".join(problems)
    return rows


def published_keys(cfg, feed: str = "police.death") -> int:
    """How many rows of the feed's target table there are (its primary key is unique)."""
    from jinbao.declarations import get_feed
    from jinbao.schemas.store_tables import TARGETS
    from jinbao.store.database import connect

    spec = get_feed(feed, cfg)
    target = TARGETS[spec.target.table]
    with connect(cfg.store_url).connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(target).where(
            *(target.c[k] == v for k, v in spec.target.set.items()))).scalar()
