"""The one generic engine: any declared inbound feed, from delivery to store.

Steps (each an Airflow task, and all of them `jinbao run`):
  receive  take complete deliveries from the partner's transport into staging,
           refusing duplicates and replays, and pin the mapping version;
  judge    stream the file as Arrow batches through translation and the quality
           gate; accepted and rejected records land as Parquet in staging;
  publish  one transaction: compare-and-set the batch status, upsert accepted
           records, store rejections;
  finish   write the receipt to the partner's outbound and acknowledge the
           remote delivery (only now does it leave inbound/).
Only batch ids pass between steps; data stays in staging files.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import sqlalchemy as sa
import pyarrow.parquet as pq

from jinbao import batches
from jinbao.config import Settings, settings
from jinbao.connectors.base import RemoteDelivery, Transport
from jinbao.exchange_zone.errors import DeliveryRefused
from jinbao.exchange_zone.reader import open_csv
from jinbao.exchange_zone.receipts import write_receipt
from jinbao.feeds import FeedSpec
from jinbao.mappings.tables import MappingError, feed_mapping
from jinbao.quality.reasons import BATCH_REASONS
from jinbao.quality.parallel import judge_stream
from jinbao.quality.verdict import REJECTION_SCHEMA, CrossRule, Gate
from jinbao.quality.reasons import message as reason_message
from jinbao.schemas.dictionary import partner_schema
from jinbao.schemas.store import TARGETS, rejection
from jinbao.store import upsert, upgrade

log = logging.getLogger(__name__)

ACCEPTED = "accepted.parquet"
REJECTED = "rejected.parquet"
#: Rows per publish round trip; bounds memory during the publish transaction.
PUBLISH_CHUNK = 50_000


class BatchHeld(RuntimeError):
    """Too many rejected records: nothing from the batch is published until a person releases it."""


@dataclass
class Outcome:
    batch_id: int | None
    file: str
    status: str
    received: int = 0
    accepted: int = 0
    rejected: int = 0
    published: int = 0
    reason_code: str | None = None


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def transport_kind(spec: FeedSpec) -> tuple[str, bool]:
    """(transport, enveloped) for a feed: its declaration, or JINBAO_TRANSPORT for the whole
    deployment (`local`, `local+cms`, `sftp+cms`), which is how the demo switches to SFTP."""
    override = os.environ.get("JINBAO_TRANSPORT")
    if override:
        kind, _, env = override.partition("+")
        return kind, env == "cms"
    return spec.transport.get("kind", "local"), spec.transport.get("envelope", "none") == "cms"


def transport_for(spec: FeedSpec, cfg: Settings) -> Transport:
    from jinbao.connectors.base import ENVELOPE_COMPANIONS
    kind, enveloped = transport_kind(spec)
    if kind == "local":
        from jinbao.connectors.local import LocalTransport
        return LocalTransport(cfg.exchange_zone / spec.partner, ENVELOPE_COMPANIONS if enveloped else ())
    if kind == "sftp":
        from jinbao.connectors.airflow_conn import sftp_transport_for
        return sftp_transport_for(spec.partner)
    raise ValueError(f"feed {spec.name}: unknown transport kind {kind!r}")


class Engine:
    def __init__(self, spec: FeedSpec, cfg: Settings | None = None, transport: Transport | None = None):
        self.spec = spec
        self.cfg = cfg or settings()
        self.transport = transport or transport_for(spec, self.cfg)
        self.enveloped = transport_kind(spec)[1]
        self.db = upgrade(self.cfg.store_url)
        #: Deliveries refused by this engine instance (for summaries; the store has them all).
        self.refused: list[Outcome] = []

    # ---------------------------------------------------------------- receive
    def receive(self, up_to: dt.date | None = None) -> list[int]:
        """Take waiting deliveries (business date <= up_to); return batch ids to judge."""
        ids = []
        for delivery in self.transport.list_deliveries(self.spec.name):
            if up_to and dt.datetime.strptime(delivery.business_date, "%Y%m%d").date() > up_to:
                continue
            batch_id = self._take(delivery)
            if batch_id is not None:
                ids.append(batch_id)
        return ids

    def _take(self, delivery: RemoteDelivery) -> int | None:
        incoming = self.cfg.staging / self.spec.name / f"incoming-{delivery.name}"
        shutil.rmtree(incoming, ignore_errors=True)  # a partial earlier download is discarded
        self.transport.fetch(delivery, incoming)
        unsealed = None
        try:
            digest = self._unseal(incoming, delivery.name) if self.enveloped else sha256_of(incoming / delivery.name)
        except DeliveryRefused as exc:
            digest, unsealed = sha256_of(incoming / delivery.name), (exc.reason_code, exc.detail)
        business_date = dt.datetime.strptime(delivery.business_date, "%Y%m%d").date()
        with self.db.begin() as conn:
            same = None if unsealed else batches.find_same(conn, self.spec.name, delivery.name, digest)
            if same is not None:
                shutil.rmtree(incoming, ignore_errors=True)
                if same["status"] == "published":   # committed earlier; only the ack was lost
                    self.finish(same["id"])
                    return None
                return None if same["status"] == "held" else same["id"]
            refusal = unsealed or batches.refusal_for(conn, self.spec.name, delivery.name, digest,
                                                      delivery.sequence)
            try:
                label = feed_mapping(self.spec.mapping, business_date).label
            except MappingError as exc:
                refusal = refusal or ("NO_MAPPING", str(exc))
                label = None
            batch_id = batches.insert(
                conn, feed=self.spec.name, file_name=delivery.name, sha256=digest,
                sequence=delivery.sequence, business_date=business_date, encoding=self.spec.encoding,
                mapping_version=label, status="received" if refusal is None else "refused",
                reason_code=refusal[0] if refusal else None, message=refusal[1] if refusal else None)
        if refusal is not None:
            self._quarantine(batch_id, incoming, delivery, *refusal)
            return None
        final = self.cfg.staging / self.spec.name / str(batch_id)
        shutil.rmtree(final, ignore_errors=True)
        os.replace(incoming, final)
        with self.db.begin() as conn:
            batches.update(conn, batch_id, staging_dir=str(final))
        log.info("%s: took %s as batch %s (mapping %s)", self.spec.name, delivery.name, batch_id, label)
        return batch_id

    def _unseal(self, folder: Path, name: str) -> str:
        """Verify and decrypt an enveloped delivery; return the plaintext's sha256 (the manifest's)."""
        from jinbao import keys
        from jinbao.exchange_zone.envelope import open_delivery
        if not name.endswith(".p7m"):
            raise DeliveryRefused("MANIFEST_INVALID", "this feed takes only signed, encrypted .csv.p7m deliveries",
                                  name)
        home = self.cfg.home
        others = {p: c for p, c in keys.partner_certs(home).items() if p != self.spec.partner}
        paths = [folder / name, *(folder / n for n in self._companions(folder, name))]
        _, manifest = open_delivery(paths, keys.partner_cert(home, self.spec.partner), keys.hub_key(home),
                                    keys.hub_cert(home), work_dir=folder, other_certs=others)
        return manifest.sha256

    def _quarantine(self, batch_id: int, folder: Path, delivery: RemoteDelivery, code: str, detail: str) -> None:
        """一站二区: a refused delivery is kept for a person, the partner gets a receipt."""
        dest = self.cfg.quarantine / self.spec.name / f"{batch_id}-{delivery.name}"
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(dest, ignore_errors=True)
        os.replace(folder, dest)
        with self.db.begin() as conn:
            batches.update(conn, batch_id, staging_dir=str(dest))
        log.warning("%s: refused %s (%s: %s); kept in %s", self.spec.name, delivery.name, code, detail, dest)
        self._send_receipt(batch_id, None)
        self.transport.ack(delivery)
        with self.db.begin() as conn:
            batches.update(conn, batch_id, acked_at=batches.now())
            self.refused.append(self._outcome(batches.get(conn, batch_id)))

    # ------------------------------------------------------------------ judge
    def judge(self, batch_id: int) -> Outcome:
        with self.db.begin() as conn:
            row = batches.get(conn, batch_id)
        if row["status"] != "received":
            return self._outcome(row)
        staging = Path(row["staging_dir"])
        gate = Gate(mapping=feed_mapping(self.spec.mapping, row["business_date"]),
                    schema=partner_schema(self.spec.schema), business_date=row["business_date"],
                    rules=tuple(CrossRule(**r) for r in self.spec.rules))
        try:
            received, rejected = self._judge_file(staging / row["file_name"].removesuffix(".p7m"), staging, gate)
            if row["file_name"].endswith(".p7m"):
                from jinbao.exchange_zone import envelope, manifest
                pair = envelope.companions_in([p.name for p in staging.iterdir()], row["file_name"])
                m = manifest.parse((staging / pair[0]).read_bytes(), row["file_name"])
                envelope.check_count(m, received)
        except DeliveryRefused as exc:
            with self.db.begin() as conn:
                batches.move(conn, batch_id, "received", status="refused", reason_code=exc.reason_code,
                             message=str(exc))
            name = row["file_name"]
            self._quarantine(batch_id, staging, RemoteDelivery(name, self.spec.name, "", row["sequence"],
                                                               self._companions(staging, name)),
                             exc.reason_code, str(exc))
            raise
        share = rejected / received if received else 0.0
        held = share > self.spec.max_reject_share
        status = "held" if held else "judged"
        msg = None
        if held:
            msg = (f"batch {batch_id} ({row['file_name']}) held: {rejected} of {received} records "
                   f"({share:.1%}) rejected, above the feed's threshold of {self.spec.max_reject_share:.0%}. "
                   f"Review the receipt in {self.cfg.outbound(self.spec.partner)}, then release it with "
                   f"`jinbao batches release {batch_id}` or ask {self.spec.partner} to resend.")
        with self.db.begin() as conn:
            batches.move(conn, batch_id, "received", status=status, received=received,
                         accepted=received - rejected, rejected=rejected,
                         reason_code="HELD" if held else None, message=msg)
            row = batches.get(conn, batch_id)
        if held:
            self._send_receipt(batch_id, staging / REJECTED)
            raise BatchHeld(msg)
        return self._outcome(row)

    @staticmethod
    def _companions(folder: Path, name: str) -> tuple[str, ...]:
        """The manifest and signature that came with an enveloped delivery, as they were named."""
        if not name.endswith(".p7m"):
            return ()
        from jinbao.exchange_zone.envelope import companions_in
        return companions_in([p.name for p in folder.iterdir()], name) or ()

    def _judge_file(self, path: Path, staging: Path, gate: Gate) -> tuple[int, int]:
        """Stream the delivery through the gate into accepted/rejected Parquet; return counts."""
        stream = open_csv(path, self.spec.encoding, gate.schema.names,
                          [c.name for c in gate.schema.columns if c.required])
        acc_tmp, rej_tmp = staging / (ACCEPTED + ".tmp"), staging / (REJECTED + ".tmp")
        acc_writer = rej_writer = None
        received = rejected = 0
        try:
            rej_writer = pq.ParquetWriter(rej_tmp, REJECTION_SCHEMA)
            for chunk, verdict in judge_stream(stream.batches(), gate):
                received += chunk.num_rows
                rejected += verdict.rejected_records
                if acc_writer is None:
                    acc_writer = pq.ParquetWriter(acc_tmp, verdict.accepted.schema)
                acc_writer.write_table(verdict.accepted)
                rej_writer.write_table(verdict.rejected)
            if stream.malformed:
                rej_writer.write_table(_malformed(stream.malformed))
                received += len(stream.malformed)
                rejected += len(stream.malformed)
        finally:
            for w in (acc_writer, rej_writer):
                if w is not None:
                    w.close()
        if acc_writer is None:  # no well-formed record at all
            pq.write_table(pa.table({"line_no": pa.array([], pa.int64())}), acc_tmp)
        os.replace(acc_tmp, staging / ACCEPTED)
        os.replace(rej_tmp, staging / REJECTED)
        return received, rejected

    # ---------------------------------------------------------------- publish
    def publish(self, batch_id: int, released: bool = False) -> Outcome:
        """Publish accepted records in one transaction; a second call publishes nothing."""
        target = TARGETS[self.spec.target_table]
        keys = [c.name for c in target.primary_key.columns]
        with self.db.begin() as conn:
            row = batches.get(conn, batch_id)
            if row["status"] == "held" and not released:
                raise BatchHeld(row["message"])
            if not batches.move(conn, batch_id, ("judged", "held") if released else "judged",
                                status="published", published_at=batches.now()):
                return self._outcome(row)
            staging = Path(row["staging_dir"])
            stamp = batches.now()
            published = 0
            pf = pq.ParquetFile(staging / ACCEPTED)
            for chunk in pf.iter_batches(batch_size=PUBLISH_CHUNK):
                frame = _typed_for(target, chunk).to_pandas()
                frame.columns = [c.lower() for c in frame.columns]
                for col, value in self.spec.target_set.items():
                    frame[col] = value
                frame["batch_id"], frame["updated_at"] = batch_id, stamp
                frame = frame[[c.name for c in target.columns if c.name in frame.columns]]
                frame = frame.drop_duplicates(subset=keys, keep="last")
                published += upsert(conn, target, _records(frame))
            rej = pq.read_table(staging / REJECTED).to_pandas()
            rej["batch_id"] = batch_id
            rows = _records(rej[[c.name for c in rejection.columns if c.name in rej.columns]])
            for start in range(0, len(rows), PUBLISH_CHUNK):
                conn.execute(sa.insert(rejection), rows[start:start + PUBLISH_CHUNK])
            batches.update(conn, batch_id, published=published)
            row = batches.get(conn, batch_id)
        log.info("%s: batch %s published %s records", self.spec.name, batch_id, published)
        return self._outcome(row)

    # ----------------------------------------------------------------- finish
    def finish(self, batch_id: int) -> Outcome:
        """Receipt to the partner, then acknowledge the remote delivery."""
        with self.db.begin() as conn:
            row = batches.get(conn, batch_id)
        if row["status"] != "published":
            raise RuntimeError(f"batch {batch_id} is {row['status']}, not published; nothing to finish")
        staging = Path(row["staging_dir"])
        if row["receipt_at"] is None:
            self._send_receipt(batch_id, staging / REJECTED)
        if row["acked_at"] is None:
            name = row["file_name"]
            d = RemoteDelivery(name, self.spec.name, row["business_date"].strftime("%Y%m%d"), row["sequence"],
                               self._companions(staging, name))
            self.transport.ack(d)
            with self.db.begin() as conn:
                batches.update(conn, batch_id, acked_at=batches.now())
        with self.db.begin() as conn:
            return self._outcome(batches.get(conn, batch_id))

    def _send_receipt(self, batch_id: int, rejected_path: Path | None) -> None:
        with self.db.begin() as conn:
            row = batches.get(conn, batch_id)
        summary = {
            "feed": row["feed"], "file": row["file_name"], "batch_id": row["id"], "sha256": row["sha256"],
            "sequence": row["sequence"], "business_date": row["business_date"].isoformat(),
            "status": row["status"], "received": row["received"], "accepted": row["accepted"],
            "rejected": row["rejected"], "published": row["published"],
            "mapping_version": row["mapping_version"], "reason_code": row["reason_code"],
            "message": _batch_message(row), "created_at": batches.now().isoformat(),
        }
        rejected = pq.read_table(rejected_path) if rejected_path and rejected_path.exists() else None
        folder = self.cfg.staging / "receipts" / self.spec.name
        for path in write_receipt(folder, summary, rejected, self.spec.encoding):
            for sent in (self._seal_outbound(path, row) if self.enveloped else [path]):
                self.transport.put(sent, sent.name)
        with self.db.begin() as conn:
            batches.update(conn, batch_id, receipt_at=batches.now())

    def _seal_outbound(self, path: Path, row: dict) -> list[Path]:
        """Receipts go back the way partners send: encrypted to the partner, manifest signed by the hub."""
        from jinbao import keys
        from jinbao.exchange_zone.envelope import seal_delivery
        home = self.cfg.home
        return seal_delivery(path, self.spec.name, row["sequence"], 1, "UTF-8", keys.load_cert(home, self.spec.partner),
                             keys.load_key(home, "hub"), path.parent / "sealed", name=path.name + ".p7m",
                             base=path.name)

    # -------------------------------------------------------------------- run
    def run(self, up_to: dt.date | None = None) -> list[Outcome]:
        """The whole pipeline without a scheduler (what `jinbao run` does)."""
        try:
            return self._run(up_to)
        finally:
            self.close()

    def close(self) -> None:
        """Release the transport (an SFTP connection stays open across the steps of a run)."""
        close = getattr(self.transport, "close", None)
        if close is not None:
            close()

    def _run(self, up_to: dt.date | None) -> list[Outcome]:
        outcomes = []
        for batch_id in self.receive(up_to):
            try:
                self.judge(batch_id)
                self.publish(batch_id)
                outcomes.append(self.finish(batch_id))
            except BatchHeld as exc:
                log.warning("%s", exc)
                with self.db.begin() as conn:
                    outcomes.append(self._outcome(batches.get(conn, batch_id)))
            except DeliveryRefused:
                pass  # recorded in self.refused by _quarantine
        return sorted(outcomes + self.refused, key=lambda o: o.batch_id)

    @staticmethod
    def _outcome(row: dict) -> Outcome:
        return Outcome(batch_id=row["id"], file=row["file_name"], status=row["status"],
                       received=row["received"] or 0, accepted=row["accepted"] or 0,
                       rejected=row["rejected"] or 0, published=row["published"] or 0,
                       reason_code=row["reason_code"])


def _batch_message(row: dict) -> str | None:
    if row["reason_code"] in BATCH_REASONS:
        zh, en = BATCH_REASONS[row["reason_code"]]
        return f"{zh} / {en}" + (f": {row['message']}" if row["message"] else "")
    return row["message"]


def _malformed(rows: list[tuple[int, str]]) -> pa.Table:
    return pa.table({
        "line_no": pa.array([r[0] for r in rows], pa.int64()),
        "masked_id": pa.nulls(len(rows), pa.string()),
        "field": pa.array(["*"] * len(rows), pa.string()),
        "value": pa.array([r[1] for r in rows], pa.string()),
        "reason_code": pa.array(["FIELD_COUNT"] * len(rows), pa.string()),
        "message": pa.array([reason_message("FIELD_COUNT", "*", r[1]) for r in rows], pa.string()),
    }, schema=REJECTION_SCHEMA)


def _typed_for(target: sa.Table, chunk: pa.RecordBatch) -> pa.RecordBatch:
    """Cast string columns to the target's numeric types (amounts as exact decimals)."""
    cols, names = [], chunk.schema.names
    for name, col in zip(names, chunk.columns):
        column = target.c.get(name.lower())
        if column is not None and isinstance(column.type, sa.Numeric) and pa.types.is_string(col.type):
            col = col.cast(pa.decimal128(column.type.precision or 18, column.type.scale or 0))
        cols.append(col)
    return pa.RecordBatch.from_arrays(cols, names=names)


def _records(frame) -> list[dict]:
    """DataFrame -> DB-API rows, with pandas' NaT/NaN turned into NULL."""
    frame = frame.astype(object).where(frame.notna(), None)
    return frame.to_dict("records")
