"""`jinbao report deaths` and the `audit.death_mismatch` DAG: find, link probable typos, write, hand over.

The files go to JINBAO_HOME/reports/deaths/<YYYY-MM>/ and are copied to the
auditors' drop zone (`audit/outbound`), so the auditors read them where the
partners read their receipts.  Re-running a month replaces that month's files.  Each month's
stop-payment list is also kept as issued (ISSUED, on the hub only), for the next month's changes.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import shutil
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from jinbao import exchange_log
from jinbao.audit import findings
from jinbao.audit.deaths import find
from jinbao.audit.findings import month_end
from jinbao.audit.render import headline_text, write_report
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


def run(cfg: Settings, month: dt.date, tolerance_days: int = 3, full_ids: bool = False,
        who: str | None = None) -> Written:
    month = month.replace(day=1)
    before = (month - dt.timedelta(days=1)).replace(day=1)
    with upgrade(cfg.store_url).connect() as conn:
        report = find(conn, month, tolerance_days, issued=issued(cfg, before))
        report.missing_deliveries = never_came(conn, declared(cfg).feeds, DEATH_FEEDS, month, month_end(month),
                                               report.generated_at)
    folder = cfg.reports / "deaths" / f"{month:%Y-%m}"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    keep_issued(report, folder)
    files = write_report(report, folder, full_ids=full_ids, who=who,
                         record=recorder(cfg, month, who) if full_ids else None)
    handed = cfg.outbound(AUDITORS) / f"deaths-{month:%Y-%m}"
    shutil.rmtree(handed, ignore_errors=True)
    handed.mkdir(parents=True)
    for name, path in files.items():
        if "full" not in name:          # unmasked IDs stay on the hub, with their export recorded
            shutil.copy2(path, handed / path.name)
    return Written(report, folder, files, handed)


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


#: Why unmasked IDs leave the masked report, as the exchange log records it.
EXPORT_PURPOSE = "审计: 死亡人员领取养老金核查 (full IDs on an auditor's request)"


def recorder(cfg: Settings, month: dt.date, who: str | None):
    """Enter a full-ID workbook in the exchange log (who, when, which report, its sha256, how many
    people), committed before the workbook is written."""
    def record(file: Path, data: bytes, people: int, when: dt.datetime) -> None:
        with upgrade(cfg.store_url).begin() as conn:
            exchange_log.append(conn, exchange_log.log_key(cfg.home), direction=exchange_log.EXPORT,
                                partner=AUDITORS, feed="audit.death_mismatch", file_name=file.name,
                                sha256=hashlib.sha256(data).hexdigest(), status="exported", business_date=month,
                                records=people, purpose=EXPORT_PURPOSE, who=mask_text((who or "").strip()), at=when)
    return record


def headline(report: findings.Report) -> str:
    """The figures an auditor acts on first (the people to stop paying), then every kind's rows."""
    counts = ", ".join(f"{kind.replace('_', ' ')} {report.table(kind).num_rows}" for kind in findings.KINDS)
    return "\n".join(headline_text(report) + [f"rows (deaths up to {month_end(report.month)}): {counts}"])
