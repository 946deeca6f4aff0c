"""One DAG per declared feed, built from dags/feeds/*.yaml, and one DAG to release held batches.

Parsing must stay cheap (the DAG processor re-parses every file often): only
the YAML declarations are read here.  pyarrow, SQLAlchemy and the engine are
imported inside the tasks, and only batch ids travel through XCom; the data
itself stays in Parquet files in staging.

Imports inside functions: the engine and what it needs (pyarrow, SQLAlchemy, the
ledger, privacy) load in the tasks, never at parse time (tests/dags/test_dag_factory.py).

What a data engineer sees: the feed's bilingual title as the DAG's name, the
partner's team as its owner, a readable description, each mapped task named
after its delivery file, a Required Action (the `review` task, dags/review.py)
for a held delivery and a red `review` (with the reason in its log) for a refused one.
"""
from __future__ import annotations

import datetime as dt
import logging

import pendulum
from airflow.sdk import DAG, CronTriggerTimetable, Param, get_current_context, task
from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException

from jinbao.declarations import InboundFeed, OutboundFeed, load_agreements, load_feeds
from jinbao.settings import TIMEZONE, load_settings
from review import HeldBatchReview

#: Who owns a feed's DAG: the team on the partner's side of the agreement.
PARTNER_TEAMS = {"police": "公安 police", "civil_affairs": "民政 civil affairs", "health": "卫健 health",
                 "finance": "财政 finance", "central_bank": "人民银行 central bank",
                 "hrss": "人社核心业务系统 bureau core systems"}
#: Mapped task instances show the delivery file they carry instead of 0, 1, 2.
BY_DELIVERY = "{{ delivery | default('') }}"
RELEASE_DAG = "jinbao.release"
AUDIT_DAG = "audit.death_mismatch"
log = logging.getLogger("jinbao.audit")


def _transport_text(spec: InboundFeed) -> str:
    kind = {"local": "local folder", "sftp": "SFTP drop zone"}.get(spec.transport.kind, "?")
    sealed = spec.transport.envelope == "cms"
    return kind + (", signed and encrypted (CMS)" if sealed else "") + " (`JINBAO_TRANSPORT` may override)"


def _doc(spec: InboundFeed) -> str:
    rules = ", ".join(f"{r.field} not before {r.than} ({r.reason})" for r in spec.quality.rules) or "none"
    return (f"### {spec.title}\n\n{spec.description}\n\n"
            "| | |\n|---|---|\n"
            f"| partner | {PARTNER_TEAMS.get(spec.partner, spec.partner)} |\n"
            f"| delivery | `{spec.name}_<YYYYMMDD>_<seq>.csv`, {spec.format.encoding}, in the partner's `inbound/` |\n"
            f"| transport | {_transport_text(spec)} |\n"
            f"| partner schema | `schemas/partners/{spec.schema}.yaml` |\n"
            f"| mapping | `mappings/feeds/{spec.mapping}.yaml` (the version in force on the business date) |\n"
            f"| cross-field rules | {rules} |\n"
            f"| held when | more than {spec.quality.max_reject_share:.0%} of the records are rejected |\n"
            f"| publishes into | `{spec.target.table}` |\n\n"
            "**Tasks.** `receive` takes the waiting deliveries; `judge`, `publish`, `finish` and `review` run "
            "once per delivery and are named after its file.  A **held** delivery (too many rejections) waits in "
            "`review`, a Required Action showing the counts, the most frequent reasons, the receipt and the "
            "quality page: Release (publish the accepted records), Refuse (with a reason for the partner, who is "
            "asked to resend) or Re-judge (after a mapping fix); scripts use the `jinbao.release` DAG or "
            "`jinbao batches release|refuse|rejudge BATCH`.  `review` is skipped for a published delivery, red "
            "after a refusal or a re-judge that holds again (clear it to be asked again), and red for a delivery "
            "**refused** on arrival (its log says why and what to do; the delivery is kept in quarantine and the "
            "partner has a receipt)." + (_partitions_doc(spec) if spec.partitions > 1 else ""))


def _partitions_doc(spec: InboundFeed) -> str:
    return (f"\n\n**Partitions.** The accepted records are published in {spec.partitions} partitions "
            "(`publish_partition`, one task each, named after the delivery and the partition, spread over the "
            "workers), each in its own transaction; `publish` then marks the batch published, with its "
            "rejections and the register, once every partition is done.  A red partition leaves the batch "
            "judged: clear it to run it again (it rewrites the same rows), and `publish` and `finish` follow "
            "(docs/scale.md).")


def _engine(feed: str):
    from jinbao import privacy
    from jinbao.declarations import get_feed
    from jinbao.engine import Engine

    privacy.install()                 # no unmasked ID reaches a task log, whatever a library prints
    return Engine(get_feed(feed))


def _label(eng, batch_id: int, suffix: str = "") -> None:
    """Name the running mapped task after its delivery file (map_index_template)."""
    from jinbao import ledger
    with eng.db.begin() as conn:
        get_current_context()["delivery"] = ledger.get(conn, batch_id)["file_name"] + suffix


def build_inbound(spec: InboundFeed) -> DAG:
    tz = pendulum.timezone(TIMEZONE)
    with DAG(
        dag_id=spec.name,
        dag_display_name=spec.title,
        description=f"{spec.title} ({spec.name})",
        doc_md=_doc(spec),
        schedule=CronTriggerTimetable(spec.schedule, timezone=tz),
        start_date=pendulum.datetime(spec.start_date.year, spec.start_date.month, spec.start_date.day, tz=tz),
        catchup=False,
        max_active_runs=1,
        tags=["jinbao", *spec.tags],
        default_args={"owner": PARTNER_TEAMS.get(spec.partner, spec.partner), "retries": spec.retries,
                      "retry_delay": dt.timedelta(minutes=spec.retry_delay_minutes)},
    ) as dag:
        @task
        def receive(logical_date=None) -> list[int]:
            """Take complete deliveries up to the run's business day (China Standard Time)."""
            up_to = pendulum.instance(logical_date).in_timezone(TIMEZONE).date() if logical_date else None
            eng = _engine(spec.name)
            try:
                return eng.receive(up_to)
            finally:
                eng.close()

        @task(map_index_template=BY_DELIVERY)
        def judge(batch_id: int) -> int:
            eng = _engine(spec.name)
            _label(eng, batch_id)
            eng.judge(batch_id)
            return batch_id

        @task(map_index_template=BY_DELIVERY)
        def publish(batch_id: int) -> int:
            eng = _engine(spec.name)
            _label(eng, batch_id)
            eng.publish(batch_id)
            return batch_id

        @task(map_index_template=BY_DELIVERY)
        def finish(batch_id: int) -> dict:
            from jinbao.engine import BatchHeld
            from jinbao import ledger
            from jinbao.ledger import Outcome
            from jinbao.staged.refused import DeliveryRefused
            eng = _engine(spec.name)
            _label(eng, batch_id)
            try:
                o = eng.finish(batch_id)
            except (BatchHeld, DeliveryRefused) as exc:   # finished all the same; `review` asks a person or is red
                if isinstance(exc, BatchHeld):
                    log.warning("%s (the `review` task asks this as a Required Action)", exc)
                with eng.db.begin() as conn:
                    o = Outcome.of(ledger.get(conn, batch_id))
            finally:
                eng.close()
            return {"batch_id": o.batch_id, "status": o.status, "received": o.received,
                    "accepted": o.accepted, "rejected": o.rejected, "published": o.published}

        judged = judge.expand(batch_id=receive())
        if spec.partitions > 1:
            @task
            def plan(batch_ids) -> list[dict]:
                """The partitions of every judged batch (none for a held or refused one): ids only."""
                eng = _engine(spec.name)
                try:
                    return [{"batch_id": b, "part": p} for b in batch_ids for p in eng.partitions(b)]
                finally:
                    eng.close()

            @task(map_index_template=BY_DELIVERY)
            def publish_partition(batch_id: int, part: int) -> int:
                eng = _engine(spec.name)
                try:
                    _label(eng, batch_id, f" {part + 1}/{spec.partitions}")
                    return eng.publish_partition(batch_id, part)
                finally:
                    eng.close()

            parts = publish_partition.expand_kwargs(plan(judged))
            # none_failed: a run whose batches were all held or refused has no partition, yet must finish them
            published = publish.override(trigger_rule="none_failed").expand(batch_id=judged)
            parts >> published
        else:
            published = publish.expand(batch_id=judged)
        HeldBatchReview.partial(task_id="review", map_index_template=BY_DELIVERY).expand(
            outcome=finish.expand(batch_id=published))
    return dag


def _outbound_doc(spec: OutboundFeed, agreement) -> str:
    return (f"### {spec.title}\n\n{spec.description}\n\n"
            "| | |\n|---|---|\n"
            f"| partner | {PARTNER_TEAMS.get(spec.partner, spec.partner)} |\n"
            f"| agreement | `{agreement.name}`: {agreement.title} |\n"
            f"| purpose | {agreement.purpose} |\n"
            f"| legal basis | {agreement.legal_basis} |\n"
            f"| in force | {agreement.validity} (outside these dates the run sends nothing and is skipped) |\n"
            f"| fields (hub codes) | {', '.join(spec.fields)}; nothing else can leave |\n"
            f"| file | `{spec.name}_<YYYYMMDD>_<seq>.csv`, {spec.format.encoding}, sealed (CMS to the partner, "
            "manifest signed by the hub), in the partner's `outbound/` |\n"
            f"| mapping | `mappings/feeds/{spec.mapping}.yaml` (hub → partner names and codes) |\n\n"
            "**Task.** `send` covers the day before the run (the period that just ended); trigger with `as_of` "
            "(YYYY-MM-DD) to redo a period: the same content is never sent twice, changed content goes out under "
            "the next sequence.  `send` is red when records were **held back** (a hub value with no reverse "
            "mapping): its log names the field and value, the rest was sent.  Every file sent is in the exchange "
            "log (`jinbao audit log`).  The same as `jinbao send " + spec.name + "`.")


def build_outbound(spec: OutboundFeed, agreement) -> DAG:
    tz = pendulum.timezone(TIMEZONE)
    with DAG(
        dag_id=spec.name,
        dag_display_name=spec.title,
        description=f"{spec.title} ({spec.name}, agreement {agreement.name}, {agreement.validity})",
        doc_md=_outbound_doc(spec, agreement),
        schedule=CronTriggerTimetable(spec.schedule, timezone=tz),
        start_date=pendulum.datetime(spec.start_date.year, spec.start_date.month, spec.start_date.day, tz=tz),
        catchup=False,
        max_active_runs=1,
        tags=["jinbao", *spec.tags],
        params={"as_of": Param("", type="string", description="YYYY-MM-DD; empty: the day before the run")},
        default_args={"owner": "人社 hub operators", "retries": spec.retries,
                      "retry_delay": dt.timedelta(minutes=spec.retry_delay_minutes)},
    ) as dag:
        @task
        def send(params=None, logical_date=None) -> dict:
            from jinbao import privacy
            from jinbao.declarations import get_feed
            from jinbao.outbound.send import OUTSIDE, send as send_feed

            privacy.install()
            if params.get("as_of"):
                as_of = dt.date.fromisoformat(params["as_of"])
            else:
                as_of = logical_date.in_timezone(TIMEZONE).date() - dt.timedelta(days=1)
            cfg = load_settings()
            result = send_feed(get_feed(spec.name, cfg), cfg, as_of)
            if result.status == OUTSIDE:
                raise AirflowSkipException(result.message)
            if result.held_back:
                raise AirflowFailException(result.message)
            return {"file": result.file, "sequence": result.sequence, "records": result.records,
                    "status": result.status}

        send()
    return dag


def build_release() -> DAG:
    """Release a held batch from the UI: publish it, send the partner an updated receipt."""
    with DAG(
        dag_id=RELEASE_DAG,
        dag_display_name="放行暂停批次 Release a held batch",
        description="Publish a held batch after review and send the partner an updated receipt",
        doc_md=("### Release a held batch\n\nFor scripts: a feed run's `review` task asks a person about each "
                "held batch.  Trigger with the batch id of a **held** batch (`jinbao batches list --status held` "
                "lists them); any other batch is refused with an error and nothing changes.  The batch is "
                "published as it was judged, the partner receives an updated receipt, and the delivery leaves "
                "`inbound/`.  The same as `jinbao batches release BATCH`."),
        schedule=None,
        start_date=pendulum.datetime(2026, 1, 1, tz=pendulum.timezone(TIMEZONE)),
        catchup=False,
        tags=["jinbao", "release"],
        # no default: a prefilled id would offer a batch that is not held
        params={"batch_id": Param(None, type=["null", "integer"], minimum=1, description="the held batch's id")},
        default_args={"owner": "人社 hub operators", "retries": 0},
    ) as dag:
        @task
        def release(params=None) -> dict:
            from jinbao.release import NotHeld, os_user, release

            if params.get("batch_id") is None:
                raise AirflowFailException("no batch_id: trigger with the id of a held batch "
                                           "(`jinbao batches list --status held`)")
            who = get_current_context()["dag_run"].triggering_user_name or os_user()
            try:
                done = release(int(params["batch_id"]), who)
            except (NotHeld, LookupError) as exc:        # a wrong id: nothing to retry
                raise AirflowFailException(str(exc)) from exc
            o = done.outcome
            if o.status != "published":                 # the store refused what was judged: not green
                raise AirflowFailException(done.said)
            return {"batch_id": o.batch_id, "status": o.status, "published": o.published, "who": who}

        release()
    return dag


def build_audit() -> DAG:
    """The auditors' monthly death-mismatch report, for the month before the run."""
    with DAG(
        dag_id=AUDIT_DAG,
        dag_display_name="死亡比对审计报告 Death mismatch report for auditors",
        description="Deaths from police, health and civil affairs against the pension roll, monthly",
        doc_md=("### Death mismatch report\n\nOn the 2nd of each month at 06:00 (China Standard Time), for the "
                "month before: people paid after death, death sources that disagree, deaths not deregistered by "
                "the police, identity mismatches and probable typos, each with its evidence.  CSV per finding, an "
                "Excel workbook and one HTML page in `JINBAO_HOME/reports/deaths/<month>/`, copied to the "
                "auditors' drop zone (`audit/outbound`); IDs masked.  Trigger with a `month` (YYYY-MM) to redo "
                "one.  The same as `jinbao report deaths --month YYYY-MM`."),
        schedule=CronTriggerTimetable("0 6 2 * *", timezone=pendulum.timezone(TIMEZONE)),
        start_date=pendulum.datetime(2026, 1, 1, tz=pendulum.timezone(TIMEZONE)),
        catchup=False,
        tags=["jinbao", "audit"],
        params={"month": Param("", type="string", description="YYYY-MM; empty: the month before the run"),
                "tolerance_days": Param(3, type="integer", minimum=0,
                                        description="death dates further apart than this disagree")},
        default_args={"owner": "审计 auditors", "retries": 1},
    ) as dag:
        @task
        def death_mismatch(params=None, logical_date=None) -> dict:
            from jinbao.audit.report import headline, run

            if params.get("month"):
                month = dt.datetime.strptime(params["month"], "%Y-%m").date()
            else:
                ran = logical_date.in_timezone(TIMEZONE).date().replace(day=1)
                month = (ran - dt.timedelta(days=1)).replace(day=1)
            written = run(load_settings(), month, int(params["tolerance_days"]))
            log.info("death mismatch report %s: %s", f"{month:%Y-%m}", headline(written.report))
            log.info("files in %s, handed over to %s", written.folder, written.handed_over)
            return {name: str(path) for name, path in written.files.items()}

        death_mismatch()
    return dag


def build_dags() -> dict[str, DAG]:
    feeds = load_feeds()
    agreements = load_agreements()
    dags = {spec.name: build_outbound(spec, agreements[spec.agreement]) if isinstance(spec, OutboundFeed)
            else build_inbound(spec) for spec in feeds.values()}
    dags[RELEASE_DAG] = build_release()
    dags[AUDIT_DAG] = build_audit()
    return dags
