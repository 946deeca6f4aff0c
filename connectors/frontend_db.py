"""A partner's front-end exchange database (前置库) as a transport: new rows become a delivery.

Finance offers `subsidy_payment` as a table in its front-end database (MariaDB/
MySQL; rows only ever appended, each with an auto-increment `ID`) as well as by
file.  The engine should not care: this transport turns the rows not yet taken
into a delivery file in the partner's own columns and encoding, so the same gate
judges them and the same receipts answer them.

Exactly once.  Which rows the hub has taken is kept in the hub's store, never in
the partner's database and never in a file: every row taken is a `frontend_row`
(feed, row ID, batch, line) and the feed's `frontend_watermark` holds the highest
ID and the latest arrival date (DZRQ) taken; both are written by `advance`, which
runs inside the batch's publish transaction (WATERMARK, listed in
jinbao/store/consumers.py).  So:

* a crash after reading and before publishing leaves nothing recorded: the rows
  are read again (the batch the ledger already holds is resumed first; no new
  pull is made while a batch of the feed is unfinished or held);
* a crash after the publish commit finds the rows recorded and never takes them again;
* arrival dates do not order arrival: finance books late rows with older dates,
  so rows are found by ID, not by date.  IDs are handed out before commit, so a
  row may become visible after a higher one was taken; every pull therefore looks
  `overlap` IDs below the watermark again and drops the IDs already recorded.

Receipts go where the declaration says (`transport.receipts`): `table` writes one
row per front-end row into the partner's receipt table (`<table>_receipt`, made if
missing), `local` or `sftp` to the partner's drop zone outbound/ like any receipt.

The connection is never written in a declaration: `Settings.frontend_dbs[partner]`
(an SQLAlchemy URL), else the Airflow connection `jinbao_frontend_<partner>`
(its URI, e.g. `mysql+pymysql://jinbao:...@fin-db:3306/qianzhi`).  Without either
the feed has nothing waiting and says why.
"""
from __future__ import annotations

import datetime as dt
import importlib.util
import json
import logging
import os
from pathlib import Path
from typing import Callable
from urllib.parse import quote

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv
import pyarrow.parquet as pq
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from jinbao import ledger
from jinbao.connectors.base import RemoteDelivery, Transport
from jinbao.connectors.registry import TRANSPORTS
from jinbao.declarations import get_feed
from jinbao.ledger import Status
from jinbao.schemas.dictionary import partner_schema
from jinbao.schemas.store_tables import batch, frontend_row, frontend_watermark
from jinbao.store.database import connect

log = logging.getLogger(__name__)

#: The staged companion naming each line's front-end row (line_no, row_id, arrival date as sent).
ROWS = "frontend_rows.parquet"
#: IDs below the watermark looked at again on every pull (rows that committed late).
OVERLAP = 10_000
#: Where receipts may go.
RECEIPTS = ("table", "local", "sftp")


def conn_id(partner: str) -> str:
    return f"jinbao_frontend_{partner}"


def frontend_url(partner: str, cfg) -> str | None:
    """The partner's front-end database URL: Settings.frontend_dbs, else the Airflow connection."""
    given = getattr(cfg, "frontend_dbs", {}).get(partner)
    if given:
        return given
    raw = os.environ.get(f"AIRFLOW_CONN_{conn_id(partner).upper()}")
    if raw and not raw.lstrip().startswith("{"):
        return raw
    try:
        # airflow_conn imports the SFTP transport (paramiko), which a front-end database pull never needs
        from jinbao.connectors.airflow_conn import _from_airflow, _from_env
        c = _from_env(conn_id(partner)) if importlib.util.find_spec("airflow") is None \
            else _from_airflow(conn_id(partner))
    except Exception:  # noqa: BLE001 - not configured is an answer, not an error
        return None
    schema = c.extra.get("schema", "")
    auth = quote(c.login or "") + (f":{quote(c.password)}" if c.password else "")
    return f"mysql+pymysql://{auth}@{c.host}:{c.port or 3306}/{schema}?charset=utf8mb4"


def source_table(meta: sa.MetaData, name: str, columns: list[str]) -> sa.Table:
    return sa.Table(name, meta, sa.Column("ID", sa.BigInteger, primary_key=True),
                    *[sa.Column(c, sa.String(64)) for c in columns])


def receipt_table(meta: sa.MetaData, name: str) -> sa.Table:
    """The partner-side receipt table: one row per front-end row the hub judged (or could not take)."""
    return sa.Table(name, meta,
                    sa.Column("ID", sa.BigInteger, primary_key=True, autoincrement=True),
                    sa.Column("ROW_ID", sa.BigInteger, nullable=False),      # the front-end row's ID
                    sa.Column("PCH", sa.BigInteger, nullable=False),         # the hub's batch
                    sa.Column("WJM", sa.String(255), nullable=False),        # the delivery it was taken in
                    sa.Column("HH", sa.Integer, nullable=True),              # its line there
                    sa.Column("ZT", sa.String(16), nullable=False),          # accepted / rejected / refused / held
                    sa.Column("YYDM", sa.String(255), nullable=True),        # reason codes, ';'-separated
                    sa.Column("ZD", sa.String(255), nullable=True),          # failed fields
                    sa.Column("SM", sa.Text, nullable=True),                 # messages (IDs masked)
                    sa.Column("CJSJ", sa.DateTime, nullable=False),
                    sa.UniqueConstraint("PCH", "ROW_ID", name=f"uq_{name}_pch_row"),
                    mysql_charset="utf8mb4")


class FrontendDbTransport(Transport):
    """Rows of `table` not yet taken, as one delivery per pull (see the module's docstring)."""

    drop_zone = False          # no inbound/ folder: nothing to classify, no strays

    def __init__(self, partner: str, cfg, url: str | None, table: str, receipts: str = "table",
                 date_column: str = "DZRQ", clock: Callable[[], dt.date] | None = None, overlap: int = OVERLAP):
        if receipts not in RECEIPTS:
            raise ValueError(f"transport.receipts {receipts!r}: one of {', '.join(RECEIPTS)}")
        if not table:
            raise ValueError("transport.table: the front-end table to read is required")
        self.partner, self.cfg, self.url, self.table = partner, cfg, url, table
        self.receipts, self.date_column = receipts, date_column
        self.clock = clock or _today
        self.overlap = overlap
        self._engine = None
        self._pulled: dict[str, pa.Table] = {}
        self._outbound: Transport | None = None

    # ------------------------------------------------------------------ reading
    def _format(self, feed: str) -> tuple[list[str], str]:
        """The partner's columns and encoding, from the feed's declaration and schema."""
        spec = get_feed(feed, self.cfg)
        return list(partner_schema(spec.schema).names), spec.format.encoding

    def _db(self) -> sa.Engine:
        if self._engine is None:
            self._engine = sa.create_engine(self.url, pool_pre_ping=True)
        return self._engine

    def _hub(self) -> sa.Engine:
        return connect(self.cfg.store_url)

    def entries(self) -> dict[str, str]:
        return {}

    def list_deliveries(self, feed: str) -> list[RemoteDelivery]:
        if self.url is None:
            log.warning("%s: no front-end database configured for %s (Settings.frontend_dbs or Airflow connection "
                        "%s); nothing to pull", feed, self.partner, conn_id(self.partner))
            return []

        with self._hub().connect() as hub:
            waiting = hub.execute(sa.select(sa.func.count()).select_from(batch).where(
                batch.c.feed == feed, batch.c.status.in_([Status.RECEIVED.value, Status.JUDGED.value,
                                                          Status.HELD.value]))).scalar()
            if waiting:
                log.info("%s: a batch of earlier rows is not published yet; no new pull until it is", feed)
                return []
            mark = hub.execute(sa.select(frontend_watermark.c.last_id).where(
                frontend_watermark.c.feed == feed)).scalar() or 0
            low = max(0, mark - self.overlap)
            taken = {r[0] for r in hub.execute(sa.select(frontend_row.c.row_id).where(
                frontend_row.c.feed == feed, frontend_row.c.row_id > low))}
            last_seq = hub.execute(sa.select(sa.func.max(batch.c.sequence)).where(
                batch.c.feed == feed, batch.c.status.in_([s.value for s in (Status.RECEIVED, Status.JUDGED,
                                                                            Status.HELD, Status.PUBLISHED)]))
                                   ).scalar() or 0
        columns, _ = self._format(feed)
        src = source_table(sa.MetaData(), self.table, columns)
        with self._db().connect() as fe:
            res = fe.execute(sa.select(src).where(src.c.ID > low).order_by(src.c.ID))
            rows = pa.Table.from_pylist([dict(r._mapping) for r in res.fetchall()]) if res is not None else None
        if rows is None or rows.num_rows == 0:
            return []
        rows = rows.filter(pc.invert(pc.is_in(rows["ID"], value_set=pa.array(sorted(taken), pa.int64()))))
        if rows.num_rows == 0:
            return []
        name = f"{feed}_{self.clock():%Y%m%d}_{last_seq + 1:06d}.csv"
        self._pulled[name] = rows
        log.info("%s: %s new row(s) in %s's %s (IDs %s..%s)", feed, rows.num_rows, self.partner, self.table,
                 pc.min(rows["ID"]).as_py(), pc.max(rows["ID"]).as_py())
        return [RemoteDelivery(name, feed, f"{self.clock():%Y%m%d}", last_seq + 1, ())]

    def fetch(self, delivery: RemoteDelivery, dest: Path) -> list[Path]:
        rows = self._pulled.get(delivery.name)
        if rows is None:
            raise RuntimeError(f"{delivery.name}: not pulled by this transport; list the deliveries first")
        dest = Path(dest)
        dest.mkdir(parents=True, exist_ok=True)
        columns, encoding = self._format(delivery.feed)
        data = pa.table({c: pc.fill_null(rows[c].cast(pa.string()), "") if c in rows.column_names
                         else pa.array([""] * rows.num_rows) for c in columns})
        buf = pa.BufferOutputStream()
        pcsv.write_csv(data, buf, write_options=pcsv.WriteOptions(quoting_style="needed"))
        text = buf.getvalue().to_pybytes().decode("utf-8").replace("\r\n", "\n")
        out = dest / delivery.name
        out.write_bytes(text.encode(encoding, errors="replace"))
        lines = pa.array(range(2, rows.num_rows + 2), pa.int64())
        dates = rows[self.date_column].cast(pa.string()) if self.date_column in rows.column_names \
            else pa.nulls(rows.num_rows, pa.string())
        pq.write_table(pa.table({"line_no": lines, "row_id": rows["ID"].cast(pa.int64()), "arrival": dates}),
                       dest / ROWS)
        return [out, dest / ROWS]

    def ack(self, delivery: RemoteDelivery, batch_id: int | None = None) -> None:
        """Nothing moves: what was taken is recorded in the hub's store when the batch publishes."""

    def set_aside(self, name: str) -> None:     # pragma: no cover - a table has no stray files
        pass

    # ------------------------------------------------------------------ receipts
    def put(self, local: Path, remote_name: str) -> None:
        if self.receipts != "table":
            self._partner_outbound().put(local, remote_name)
            return
        if remote_name.endswith(".receipt.json"):
            self._receipt_rows(Path(local))

    def _partner_outbound(self) -> Transport:
        if self._outbound is None:
            self._outbound = TRANSPORTS[self.receipts](self.partner, self.cfg)
        return self._outbound

    def _receipt_rows(self, summary_path: Path) -> None:
        """One receipt row per front-end row of the batch, in one transaction (a resend replaces them)."""
        summary = json.loads(summary_path.read_text(encoding="utf-8"))
        _, encoding = self._format(summary["feed"])
        staging = self._staging_of(summary["batch_id"])
        taken = pq.read_table(staging / ROWS) if staging is not None and (staging / ROWS).is_file() else None
        if taken is None:
            log.warning("%s: batch %s has no front-end rows to answer", summary["feed"], summary["batch_id"])
            return
        rejected = {}
        csv_name = summary.get("rejections_file")
        if csv_name and (summary_path.parent / csv_name).is_file():
            rej = pcsv.read_csv(summary_path.parent / csv_name,
                                read_options=pcsv.ReadOptions(encoding=encoding.lower()),
                                convert_options=pcsv.ConvertOptions(column_types={"value": pa.string()}))
            grouped = rej.group_by("line_no").aggregate([("reason_code", "list"), ("field", "list"),
                                                         ("message", "list")])
            rejected = {ln: (";".join(c), ";".join(f), " | ".join(m)) for ln, c, f, m in zip(
                grouped["line_no"].to_pylist(), grouped["reason_code_list"].to_pylist(),
                grouped["field_list"].to_pylist(), grouped["message_list"].to_pylist())}
        status = summary["status"]
        now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
        rows = []
        for line, row_id in zip(taken["line_no"].to_pylist(), taken["row_id"].to_pylist()):   # the batch's rows
            codes, fields, messages = rejected.get(line, (None, None, None))
            state = ("rejected" if codes else "accepted") if status == "published" else status
            if status != "published":
                codes, messages = summary.get("reason_code"), summary.get("message")
            rows.append({"ROW_ID": row_id, "PCH": summary["batch_id"], "WJM": summary["file"], "HH": line,
                         "ZT": state, "YYDM": codes, "ZD": fields, "SM": messages, "CJSJ": now})
        table = receipt_table(sa.MetaData(), f"{self.table}_receipt")
        table.create(self._db(), checkfirst=True)
        with self._db().begin() as fe:
            fe.execute(sa.delete(table).where(table.c.PCH == summary["batch_id"]))
            for start in range(0, len(rows), 5_000):
                fe.execute(sa.insert(table), rows[start:start + 5_000])
        log.info("%s: receipt for batch %s written to %s's %s (%s rows)", summary["feed"], summary["batch_id"],
                 self.partner, table.name, len(rows))

    def _staging_of(self, batch_id: int) -> Path | None:
        with self._hub().connect() as hub:
            where = hub.execute(sa.select(batch.c.staging_dir).where(batch.c.id == batch_id)).scalar()
        return Path(where) if where else None

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None
        if self._outbound is not None:
            self._outbound.close()


def _today() -> dt.date:
    """The hub's day (China Standard Time), by the hub's clock: a pull is dated the day it is made."""
    return ledger.today()


def advance(conn: Connection, feed: str, staging: Path, batch_id: int, stamp: dt.datetime) -> int:
    """Record the batch's front-end rows as taken and move the feed's watermark, inside the publish
    transaction; a row recorded before (a second take) fails the publish on the key.  Returns the rows."""
    path = Path(staging) / ROWS
    if not path.is_file():
        return 0

    taken = pq.read_table(path)
    ids = taken["row_id"].to_pylist()
    rows = [{"feed": feed, "row_id": i, "batch_id": batch_id, "line_no": n}
            for i, n in zip(ids, taken["line_no"].to_pylist())]
    for start in range(0, len(rows), 5_000):
        conn.execute(sa.insert(frontend_row), rows[start:start + 5_000])
    arrivals = pc.strptime(pc.utf8_slice_codeunits(taken["arrival"], 0, 8), "%Y%m%d", "s", error_is_null=True)
    latest = pc.max(arrivals).as_py()
    latest = latest.date() if latest is not None else None
    w = frontend_watermark
    held = conn.execute(sa.select(w.c.last_id, w.c.last_date, w.c.rows_taken).where(w.c.feed == feed)).first()
    top = max(ids) if ids else 0
    if held is None:
        conn.execute(sa.insert(w).values(feed=feed, last_id=top, last_date=latest, rows_taken=len(ids),
                                         batch_id=batch_id, updated_at=stamp))
    else:
        dates = [d for d in (held.last_date, latest) if d is not None]
        conn.execute(sa.update(w).where(w.c.feed == feed).values(
            last_id=max(held.last_id, top), last_date=max(dates) if dates else None,
            rows_taken=held.rows_taken + len(ids), batch_id=batch_id, updated_at=stamp))
    return len(ids)


class _Watermark:
    """jinbao/store/consumers.py IN_PUBLISH: the front-end rows a batch published, recorded as taken."""

    def applies(self, feed) -> bool:
        return True           # any feed: only a batch pulled from a front-end database has rows to record

    def run(self, conn: Connection, batch, published: int, stamp: dt.datetime) -> None:
        advance(conn, batch.feed.name, batch.staging, batch.id, stamp)


WATERMARK = _Watermark()


def factory(partner: str, cfg, declared=None) -> FrontendDbTransport:
    """The transport of a declaration `transport: {kind: frontend_db, table: ..., receipts: ...}`
    (declarations.DeclaredTransport; None: no table, refused)."""
    return FrontendDbTransport(partner, cfg, frontend_url(partner, cfg), declared and declared.table,
                               declared.receipts if declared else "table")
