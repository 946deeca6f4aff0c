"""`jinbao report deaths` and the `audit.death_mismatch` DAG: find, link probable typos, write, hand over.

The files go to JINBAO_HOME/reports/deaths/<YYYY-MM>/ and are copied to the
auditors' drop zone (`audit/outbound`), so the auditors read them where the
partners read their receipts.  Re-running a month replaces that month's files.
"""
from __future__ import annotations

import datetime as dt
import shutil
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow as pa
import sqlalchemy as sa

from jinbao.audit import findings
from jinbao.audit.deaths import find
from jinbao.audit.findings import month_end
from jinbao.schemas.store_tables import death_record, pension_payment, register, rejected_death
from jinbao.settings import Settings

AUDITORS = "audit"


@dataclass
class Written:
    report: findings.Report
    folder: Path
    files: dict[str, Path]
    handed_over: Path


def pensioners(conn, month: dt.date) -> pa.Table:
    """Everyone paid a pension up to `month`, with what the typo search matches on."""
    r, pp = register.c, pension_payment.c
    q = (sa.select(r.aac002, r.aac003.label("name"), r.aac006.label("birth_date"), r.aaa002.label("gender"),
                   r.aab301.label("division"), sa.func.max(pp.month).label("last_month_paid"))
         .join_from(register, pension_payment, pp.aac002 == r.aac002).where(pp.month <= month)
         .group_by(r.aac002, r.aac003, r.aac006, r.aaa002, r.aab301))
    result = conn.execute(q)
    frame = pd.DataFrame(result.fetchall(), columns=list(result.keys()))
    return pa.Table.from_pandas(frame.assign(birth_date=pd.to_datetime(frame["birth_date"]).dt.date,
                                             last_month_paid=pd.to_datetime(frame["last_month_paid"]).dt.date),
                                preserve_index=False)


def unplaced(conn, report: findings.Report) -> pa.Table:
    """Death records the register cannot place, as the typo search reads them: those the gate rejected
    (kept in rejected_death) and those only the death sources know (identity mismatch "unknown ID").
    The birth date is the record's own, else the one inside the ID as sent."""
    mismatch = report.table("identity_mismatch")
    unknown = {(u["aac002"], u["source_feed"]) for u in mismatch.to_pylist() if u["kind"] == "unknown ID"}
    out = []
    if unknown:
        dr = death_record.c
        for r in conn.execute(sa.select(dr.aac002, dr.source_feed, dr.aac003, dr.aaa002, dr.aab301, dr.aac060,
                                        dr.batch_id, dr.line_no)
                              .where(dr.aac002.in_({k[0] for k in unknown}))).mappings():
            if (r["aac002"], r["source_feed"]) in unknown:
                out.append({"id_reported": r["aac002"], "name": r["aac003"], "gender": r["aaa002"],
                            "division": r["aab301"], "birth_date": _birth(r["aac002"]), "source_feed": r["source_feed"],
                            "death_date": r["aac060"], "batch_id": r["batch_id"], "line_no": r["line_no"]})
    rd = rejected_death.c
    for r in conn.execute(sa.select(rejected_death).where(rd.id_sent.is_not(None),
                                                          rd.aac060 <= month_end(report.month))).mappings():
        out.append({"id_reported": r["id_sent"], "name": r["aac003"], "gender": r["aaa002"], "division": r["aab301"],
                    "birth_date": r["aac006"] or _birth(r["id_sent"]), "source_feed": r["source_feed"],
                    "death_date": r["aac060"], "batch_id": r["batch_id"], "line_no": r["line_no"]})
    schema = pa.schema([("id_reported", pa.string()), ("name", pa.string()), ("gender", pa.string()),
                        ("division", pa.string()), ("birth_date", pa.date32()), ("source_feed", pa.string()),
                        ("death_date", pa.date32()), ("batch_id", pa.int64()), ("line_no", pa.int64())])
    return pa.Table.from_pylist(out, schema=schema)


def _birth(pid: str) -> dt.date | None:
    try:
        if len(pid) != 18:
            return None
        return dt.date(int(pid[6:10]), int(pid[10:12]), int(pid[12:14]))
    except ValueError:
        return None


def run(cfg: Settings, month: dt.date, tolerance_days: int = 3, full_ids: bool = False,
        who: str | None = None) -> Written:
    from jinbao.audit.render import write_report
    from jinbao.audit.typos import probable_typos
    from jinbao.store.database import upgrade

    month = month.replace(day=1)
    with upgrade(cfg.store_url).connect() as conn:
        report = find(conn, month, tolerance_days)
        lost = unplaced(conn, report)
        report.tables["probable_typo"] = (probable_typos(lost, pensioners(conn, month)) if lost.num_rows
                                          else findings.PROBABLE_TYPO.empty_table())
    folder = cfg.reports / "deaths" / f"{month:%Y-%m}"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    files = write_report(report, folder, full_ids=full_ids, who=who,
                         record=recorder(cfg, month, who) if full_ids else None)
    handed = cfg.outbound(AUDITORS) / f"deaths-{month:%Y-%m}"
    shutil.rmtree(handed, ignore_errors=True)
    handed.mkdir(parents=True)
    for name, path in files.items():
        if "full" not in name:          # unmasked IDs stay on the hub, with their export recorded
            shutil.copy2(path, handed / path.name)
    return Written(report, folder, files, handed)


#: Why unmasked IDs leave the masked report, as the exchange log records it.
EXPORT_PURPOSE = "审计: 死亡人员领取养老金核查 (full IDs on an auditor's request)"


def recorder(cfg: Settings, month: dt.date, who: str | None):
    """Enter a full-ID workbook in the exchange log (who, when, which report, its sha256, how many
    people), committed before the workbook is written."""
    import hashlib

    from jinbao import exchange_log
    from jinbao.privacy import mask_text
    from jinbao.store.database import upgrade

    def record(file: Path, data: bytes, people: int, when: dt.datetime) -> None:
        with upgrade(cfg.store_url).begin() as conn:
            exchange_log.append(conn, exchange_log.log_key(cfg.home), direction=exchange_log.EXPORT,
                                partner=AUDITORS, feed="audit.death_mismatch", file_name=file.name,
                                sha256=hashlib.sha256(data).hexdigest(), status="exported", business_date=month,
                                records=people, purpose=EXPORT_PURPOSE, who=mask_text((who or "").strip()), at=when)
    return record


def headline(report: findings.Report) -> str:
    from jinbao.audit.render import headline as figures

    people, total = figures(report)
    counts = ", ".join(f"{kind.replace('_', ' ')} {report.table(kind).num_rows}" for kind in findings.KINDS)
    return (f"{people} people paid after death, {total:,.2f} yuan overpaid "
            f"(deaths up to {month_end(report.month)}); rows: {counts}")
