"""Run one outbound feed for a business date: query → limit → translate → write → seal → upload → log.

The order is the guarantee.  The agreement is checked first (outside its dates nothing is
even queried); the query's columns are checked against the catalog and cut to the feed's
fields, which the loader proved are inside the agreement; records whose hub value has no
reverse mapping are held back whole and reported to the operator, never sent half
translated; the file is encrypted to the partner's certificate with a manifest the hub
signs (exchange agreements §4), uploaded under temporary names, and only after the
upload does the exchange log get its entry, so a crash in between re-sends the same
file under the same name and sequence.

Sequence numbers increase per feed and are never reused for different content: a run
whose content equals what was already sent for that business date sends nothing and
says so, a run with different content gets the next number.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import logging
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv
import sqlalchemy as sa

from jinbao import exchange_log, keys
from jinbao.connectors.registry import TRANSPORTS, choice
from jinbao.declarations import OutboundFeed, load_agreements
from jinbao.exchange_zone.envelope import seal_delivery
from jinbao.feed_lock import feed_lock
from jinbao.files import write_atomically
from jinbao.formats import citizen_id
from jinbao.keys_expiry import sealing_cert
from jinbao.mappings.tables import feed_mapping
from jinbao.mappings.translator import to_partner, unmapped_outbound
from jinbao.outbound.catalog import QUERIES
from jinbao.outbound.claims import after_send
from jinbao.outbound.queries import RUNNERS
from jinbao.privacy import mask_ids
from jinbao.settings import Settings
from jinbao.store.database import upgrade

log = logging.getLogger(__name__)

SENT, UNCHANGED, OUTSIDE = "sent", "unchanged", "outside_agreement"


@dataclass
class Sent:
    feed: str
    partner: str
    as_of: dt.date
    status: str
    message: str
    file: str | None = None
    sequence: int | None = None
    records: int = 0
    held_back: int = 0
    sha256: str | None = None
    uploaded: list[str] = field(default_factory=list)
    copy: Path | None = None               # the hub's plaintext copy
    held_back_report: Path | None = None
    agreement: str | None = None
    notes: list[str] = field(default_factory=list)      # what the feed's after-send step reports (claims: totals)


def _after_send(query: str):
    """A feed's own step in the transaction that logs it (finance.subsidy_claim marks its lines claimed)."""
    if query == "subsidy_claim":
        return after_send
    return None


def file_name(feed: str, as_of: dt.date, sequence: int) -> str:
    return f"{feed}_{as_of:%Y%m%d}_{sequence:06d}.csv"


def csv_bytes(table: pa.Table, encoding: str) -> bytes:
    """The agreed CSV: header row, RFC 4180 quoting where needed, LF line ends, the partner's encoding
    (strict: a character the encoding cannot hold is an error, never a silent '?')."""
    buf = pa.BufferOutputStream()
    header = ",".join(table.column_names) + "\n"          # the agreed names: plain words, never quoted
    if table.num_rows:
        pcsv.write_csv(table, buf, write_options=pcsv.WriteOptions(
            include_header=False, quoting_style="needed" if _needs_quotes(table) else "none"))
    return (header + buf.getvalue().to_pybytes().decode("utf-8")).encode(encoding)


def _needs_quotes(table: pa.Table) -> bool:
    """Whether any text holds a quote, comma or line break; if none does, no field is quoted (as partners
    write their own files), else Arrow quotes every text field (RFC 4180 either way)."""
    special = r'["\r\n,]'
    return any(pc.any(pc.match_substring_regex(table.column(i), special)).as_py()
               for i, f in enumerate(table.schema) if pa.types.is_string(f.type) and table.num_rows)


def produce(conn, spec: OutboundFeed, as_of: dt.date) -> pa.Table:
    """The feed's rows in hub codes, exactly the declared fields (and so inside the agreement)."""
    table = RUNNERS[spec.query](conn, as_of)
    if tuple(table.column_names) != QUERIES[spec.query]:
        raise RuntimeError(f"query {spec.query} returned {table.column_names}, not its declared "
                           f"{list(QUERIES[spec.query])}; nothing was sent")
    return table.select(list(spec.fields))


def held_back_rows(hub: pa.Table, mapping, blocked: pa.Array) -> pa.Table:
    """For the operator: each held-back record's masked ID and which field holds which unmappable value
    (codes, never names)."""
    ids = hub.column("AAC002").combine_chunks() if "AAC002" in hub.column_names else None
    key = hub.column(0).combine_chunks()
    parts = []
    for partner_field, mask in unmapped_outbound(hub, mapping).items():
        if not pc.any(mask).as_py():
            continue
        rule = next(r for r in mapping.fields if r.partner == partner_field)
        rows = hub.filter(mask)
        parts.append(pa.table({
            "record": mask_ids(ids.filter(mask)) if ids is not None else key.filter(mask),
            "field": pa.array([partner_field] * rows.num_rows, pa.string()),
            "hub_field": pa.array([rule.hub] * rows.num_rows, pa.string()),
            "hub_value": rows.column(rule.hub).combine_chunks().cast(pa.string()),
            "reason": pa.array([f"no reverse mapping in {mapping.code_tables[rule.codes].label}"] * rows.num_rows,
                               pa.string())}))
    return pa.concat_tables(parts) if parts else None


def _previous(conn, feed: str, as_of: dt.date) -> tuple[dict | None, int]:
    """(the newest entry sent for this business date, the feed's highest sequence so far)."""
    t = exchange_log.exchange_log
    mine = sa.and_(t.c.feed == feed, t.c.direction == exchange_log.OUT)
    last = conn.execute(sa.select(t).where(mine, t.c.business_date == as_of).order_by(t.c.seq.desc())
                        .limit(1)).mappings().first()
    top = conn.execute(sa.select(sa.func.max(t.c.sequence)).where(mine)).scalar()
    return (dict(last) if last else None), int(top or 0)


def _write_private(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(path, data, mode=0o600, fsync=False)


def _upload(spec: OutboundFeed, cfg: Settings, files: list[Path]) -> list[str]:
    """Put the sealed files into the partner's outbound/ (temporary name, then rename), data first and the
    signature last, so a partner that waits for the signature finds the delivery whole."""
    kind, _ = choice(spec.transport, cfg)
    transport = TRANSPORTS[kind](spec.partner, cfg)
    try:
        for f in files:
            transport.put(f, f.name)
    finally:
        transport.close()
    return [f.name for f in files]


def send(spec: OutboundFeed, cfg: Settings, as_of: dt.date, resend: bool = False) -> Sent:
    """Send the feed's state as of `as_of` to its partner, if its agreement is in force then."""
    agreement = load_agreements(cfg)[spec.agreement]
    if not agreement.in_force(as_of):
        log.warning("%s: %s", spec.name, agreement.outside(as_of))
        return Sent(spec.name, spec.partner, as_of, OUTSIDE, agreement.outside(as_of), agreement=agreement.name)
    db = upgrade(cfg.store_url)
    with feed_lock(cfg.staging, spec.name):
        mapping = feed_mapping(spec.mapping, as_of)
        with db.connect() as conn:
            hub = produce(conn, spec, as_of)
            previous, top = _previous(conn, spec.name, as_of)
        partner, blocked = to_partner(hub, mapping)
        kept = partner.filter(pc.invert(blocked))
        plain = csv_bytes(kept, spec.format.encoding)
        digest = hashlib.sha256(plain).hexdigest()
        held = held_back_rows(hub, mapping, blocked) if pc.any(blocked).as_py() else None
        same = previous is not None and previous["sha256"] == digest
        if same and not resend:
            message = (f"already sent for {as_of} as {previous['file_name']} (sequence {previous['sequence']}), "
                       "with the same content: nothing sent")
            log.info("%s: %s", spec.name, message)
            return Sent(spec.name, spec.partner, as_of, UNCHANGED, message, previous["file_name"],
                        previous["sequence"], previous["records"], previous["rejected"] or 0, digest,
                        agreement=agreement.name)
        sequence = previous["sequence"] if same else top + 1
        name = file_name(spec.name, as_of, sequence)
        folder = cfg.sent / spec.name
        copy = folder / name
        # before any copy is written: nothing of a file that cannot be sent stays on the hub
        recipient = sealing_cert(cfg.home, spec.partner)
        _write_private(copy, plain)
        report = None
        if held is not None:
            report = folder / f"{name.removesuffix('.csv')}.held_back.csv"
            _write_private(report, csv_bytes(held, "utf-8"))
        sealed = seal_delivery(copy, spec.name, sequence, kept.num_rows, spec.format.encoding,
                               recipient, keys.hub_key(cfg.home),
                               folder / "sealed", name=name + ".p7m")
        uploaded = _upload(spec, cfg, sealed)
        notes: list[str] = []
        with db.begin() as conn:
            step = _after_send(spec.query)
            if step is not None:
                notes = step(conn, hub.filter(pc.invert(blocked)), sequence, dt.datetime.now(dt.timezone.utc))
            exchange_log.append(conn, exchange_log.log_key(cfg.home), direction=exchange_log.OUT,
                                partner=spec.partner, feed=spec.name, file_name=name, sha256=digest,
                                status="resent" if same else SENT, business_date=as_of, sequence=sequence,
                                records=kept.num_rows, rejected=int(held.num_rows) if held is not None else 0,
                                mapping_version=mapping.label, agreement=agreement.name, purpose=agreement.purpose)
    held_n = int(pc.sum(blocked).as_py() or 0)
    message = (f"{'re-sent' if same else 'sent'} {name} to {spec.partner}: {kept.num_rows} records as of {as_of} "
               f"under agreement {agreement.name} ({agreement.purpose})")
    if held_n:
        message += (f"; {held_n} held back (a hub value with no reverse mapping; see {report}): fix the code "
                    "table, then run again, and the complete file goes out under the next sequence")
    log.log(logging.WARNING if held_n else logging.INFO, "%s: %s", spec.name, message)
    for note in notes:
        log.info("%s: %s", spec.name, note)
    return Sent(spec.name, spec.partner, as_of, SENT, message, name, sequence, kept.num_rows, held_n, digest,
                uploaded, copy, report, agreement.name, notes)
