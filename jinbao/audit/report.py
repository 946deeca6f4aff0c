"""`jinbao report deaths` and the `audit.death_mismatch` DAG: find, link probable typos, write, hand over.

The files go to JINBAO_HOME/reports/deaths/<YYYY-MM>/ and are copied to the
auditors' drop zone (`audit/outbound`), so the auditors read them where the
partners read their receipts.  Re-running a month replaces that month's files.  Each month's
stop-payment list is also kept as issued (ISSUED, on the hub only), for the next month's changes.
With `full_ids_for` (an authenticated requester.Requester) and a purpose, the full-ID workbook is
written too, by full_ids.py, into JINBAO_HOME/exports: neither here nor in the drop zone.
"""
from __future__ import annotations

import datetime as dt
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from jinbao import exchange_log
from jinbao.audit import REPORT_DAG, findings
from jinbao.audit.deaths import find
from jinbao.audit.findings import month_end
from jinbao.audit.full_ids import Export, folder_for, recipient_for, write_full_ids
from jinbao.audit.render import FULL_IDS, headline_text, write_report
from jinbao.audit.requester import Requester, purpose_of
from jinbao.declarations import declared
from jinbao.expected.gaps import DEATH_FEEDS, never_came
from jinbao.files import write_atomically
from jinbao.privacy import mask_text
from jinbao.settings import Settings
from jinbao.store.database import upgrade

AUDITORS = "audit"


@dataclass
class Written:
    report: findings.Report
    folder: Path
    files: dict[str, Path]
    handed_over: Path
    full_ids: Export | None = None


def run(cfg: Settings, month: dt.date, tolerance_days: int = 3, full_ids_for: Requester | None = None,
        purpose: str | None = None) -> Written:
    """The month's report; with `full_ids_for` also its full-ID workbook for that person, who must give a
    purpose (requester.ExportRefused before anything is written otherwise, or when their certificate is
    not valid now)."""
    month = month.replace(day=1)
    if full_ids_for is not None:
        purpose = purpose_of(purpose)
        recipient = recipient_for(cfg.home, full_ids_for, dt.datetime.now(dt.timezone.utc))
    before = (month - dt.timedelta(days=1)).replace(day=1)
    with upgrade(cfg.store_url).connect() as conn:
        report = find(conn, month, tolerance_days, issued=issued(cfg, before))
        report.missing_deliveries = never_came(conn, declared(cfg).feeds, DEATH_FEEDS, month, month_end(month),
                                               report.generated_at)
    folder = cfg.reports / "deaths" / f"{month:%Y-%m}"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    keep_issued(report, folder)
    files = write_report(report, folder)          # masked, every one: all of them are handed over
    handed = cfg.outbound(AUDITORS) / f"deaths-{month:%Y-%m}"
    shutil.rmtree(handed, ignore_errors=True)
    handed.mkdir(parents=True)
    for path in files.values():
        shutil.copy2(path, handed / path.name)
    export = None
    if full_ids_for is not None:
        cfg.exports.mkdir(parents=True, exist_ok=True)
        os.chmod(cfg.exports, 0o700)                  # the hub's user alone, whatever the umask
        export = write_full_ids(report, folder_for(cfg.exports, month, full_ids_for), full_ids_for, purpose,
                                record=recorder(cfg, month), recipient=recipient)
        files[FULL_IDS] = export.file
    return Written(report, folder, files, handed, export)


#: The stop-payment list as a month's report was issued (full IDs: it stays on the hub, never handed
#: over), which the next month's report compares itself with.
ISSUED = "issued-stop-payment.parquet"


def issued(cfg: Settings, month: dt.date) -> pa.Table | None:
    path = cfg.reports / "deaths" / f"{month:%Y-%m}" / ISSUED
    return pq.read_table(path) if path.is_file() else None


def keep_issued(report: findings.Report, folder: Path) -> None:
    stop = report.table("stop_payment").select(["aac002"])
    paid = report.table("paid_after_death").select(["aac002", "overpaid"])
    table = stop.join(paid, "aac002", join_type="left outer").sort_by("aac002")
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink)
    write_atomically(folder / ISSUED, sink.getvalue().to_pybytes(), mode=0o600)


#: The exchange log's feed of every full-ID export (the report's DAG id).
FEED = REPORT_DAG


def recorder(cfg: Settings, month: dt.date):
    """Enter a full-ID export in the exchange log, committed before its file is written: who (the
    authenticated name and how it was authenticated), when, the purpose, which month, the workbook's
    sha256, how many people (records) and finding rows (accepted) it holds, and whether it was sealed to
    the auditor or kept on the hub (status).  An ID typed into the purpose is masked."""
    def record(export: Export) -> None:
        with upgrade(cfg.store_url).begin() as conn:
            exchange_log.append(conn, exchange_log.log_key(cfg.home), direction=exchange_log.EXPORT,
                                partner=AUDITORS, feed=FEED, file_name=export.file.name, sha256=export.sha256,
                                status=export.status, business_date=month, records=export.people,
                                accepted=export.rows, purpose=mask_text(export.purpose),
                                who=mask_text(str(export.requester))[:200], at=export.at)
    return record


def headline(report: findings.Report) -> str:
    """The figures an auditor acts on first (the people to stop paying), then every kind's rows."""
    counts = ", ".join(f"{kind.replace('_', ' ')} {report.table(kind).num_rows}" for kind in findings.KINDS)
    return "\n".join(headline_text(report) + [f"rows (deaths up to {month_end(report.month)}): {counts}"])
