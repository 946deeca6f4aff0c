"""One DAG per declared feed, built from dags/feeds/*.yaml, one DAG to release held batches, the auditors'
monthly report and the daily purge of what outlived its retention.

Parsing must stay cheap (the DAG processor re-parses every file often): only
the YAML declarations are read here.  pyarrow, SQLAlchemy and the engine are
imported inside the tasks, and only batch ids travel through XCom; the data
itself stays in Parquet files in staging.

Imports inside functions: the engine and what it needs (pyarrow, SQLAlchemy, the
ledger, privacy) load in the tasks, never at parse time (tests/dags/test_dag_factory.py).

What a data engineer sees: the feed's bilingual title as the DAG's name, the
partner's team as its owner, a readable description, each mapped task named
after its delivery file, a Required Action (the `review` task, dags/review.py)
for a held delivery and a red `review` (with the reason in its log) for a refused one,
whose `judge` or `publish` is skipped, a skipped `receive` when nothing was delivered,
each task's doc (dags/task_docs.py), and each run's note (plugins/jinbao_plugin.py).
Who sees and operates each DAG (its `access_control`: engineers the feeds and release, auditors the
report) is jinbao/access.yaml's, docs/access.md.
"""
from __future__ import annotations

import datetime as dt
import logging

import pendulum
from airflow.sdk import DAG, Param, get_current_context, get_parsing_context, task
from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException

from assets import AUDIT_READS, fed_or_calendar, reads, written_by
from expected import expected_delivery
from jinbao.access import access_control
from jinbao.audit import REPORT_DAG
from jinbao.declarations import FeedSpec, InboundFeed, OutboundFeed, declared, load_agreements
from jinbao.partners import Partner, load_partners
from jinbao.quality.cross import NotBefore
from jinbao.schemas.dictionary import hub_dictionary
from jinbao.settings import TIMEZONE, load_settings
from keys_sentinel import KEYS_DAG, build_certificate_expiry
from review import HeldBatchReview
from schedules import described, start_date, timetable
from task_docs import FINISH, JUDGE, PUBLISH, RECEIVE

#: Mapped task instances show the delivery file they carry instead of 0, 1, 2.
BY_DELIVERY = "{{ delivery | default('') }}"
RELEASE_DAG = "jinbao.release"
AUDIT_DAG = REPORT_DAG
AUDIT_SCHEDULE = "0 6 2 * *"
PURGE_DAG = "jinbao.purge"
#: Daily, in the quiet hour after midnight's deliveries and before the morning's.
PURGE_SCHEDULE = "30 3 * * *"
#: A feed judged after others (`after:`) asks this often whether they are done, and gives up after
#: AFTER_TIMEOUT with a message saying what it waits for and what to do.
AFTER_POKE = dt.timedelta(seconds=15)
AFTER_TIMEOUT = dt.timedelta(hours=6)
log = logging.getLogger("jinbao.audit")
purge_log = logging.getLogger("jinbao.purge")


def _partner(spec: FeedSpec) -> Partner:
    """The feed's partner as `partners.yaml` beside its declaration declares it: its `owner` team owns
    the feed's DAG (the DAG list's Owner column)."""
    return load_partners(spec.path.parent)[spec.partner]


def _partner_text(spec: FeedSpec) -> str:
    p = _partner(spec)
    return f"{p.zh} {p.en} (`{p.id}`; DAG owner {p.owner})"


def _transport_text(spec: InboundFeed) -> str:
    kind = {"local": "local folder", "sftp": "SFTP drop zone"}.get(spec.transport.kind, "?")
    sealed = spec.transport.envelope == "cms"
    return kind + (", signed and encrypted (CMS)" if sealed else "") + " (`JINBAO_TRANSPORT` may override)"


def _named(title: str, dag_id: str) -> str:
    """The DAG list's name: the bilingual title and the id, so a search for `police.death` or `death` finds it."""
    return f"{title} · {dag_id}"


def _business_day(logical_date) -> dt.date | None:
    """The run's business day in China Standard Time (None: a run triggered without a logical date)."""
    return pendulum.instance(logical_date).in_timezone(TIMEZONE).date() if logical_date else None


def _run_day(logical_date, dag_run) -> dt.date:
    """The day a run stands for: its logical date, or for a run an asset update started (no logical
    date) the moment it was queued; China Standard Time."""
    return pendulum.instance(logical_date or dag_run.run_after).in_timezone(TIMEZONE).date()


def _after_doc(spec: InboundFeed) -> str:
    if not spec.after:
        return ""
    return (f"\n\n**Judged after** {', '.join(f'`{a}`' for a in spec.after)} (`after:` in the declaration, as "
            "`jinbao run all` orders them).  `wait_for_after` waits until their deliveries up to the run's business "
            "day are published, held or refused (or none is waiting), asking every "
            f"{int(AFTER_POKE.total_seconds())} seconds; after {AFTER_TIMEOUT.total_seconds() / 3600:g} hours it "
            "turns red naming what it waits for: run or unpause that feed, then clear the task.")


def _rule_text(rule) -> str:
    """A declared rule as its feed's docs say it: a cross-field rule by its fields, a value rule (range,
    length, digits, pattern) by the text a partner's rejection carries."""
    if isinstance(rule, NotBefore):
        return f"{rule.field} not before {rule.than} ({rule.reason})"
    return f"{rule.expected(hub_dictionary()[rule.field])[1]} ({rule.reason})"


def _doc(spec: InboundFeed) -> str:
    rules = ", ".join(_rule_text(r) for r in spec.quality.rules) or "none"
    return (f"### {spec.title}\n\n{spec.description}\n\n"
            "| | |\n|---|---|\n"
            f"| partner | {_partner_text(spec)} |\n"
            f"| delivery | `{spec.name}_<YYYYMMDD>_<seq>.csv`, {spec.format.encoding}, in the partner's `inbound/` |\n"
            f"| transport | {_transport_text(spec)} |\n"
            f"| partner schema | `schemas/partners/{spec.schema}.yaml` |\n"
            f"| mapping | `mappings/feeds/{spec.mapping}.yaml` (the version in force on the business date) |\n"
            f"| declared rules | {rules} |\n"
            f"| held when | more than {spec.quality.max_reject_share:.0%} of the records are rejected |\n"
            f"| publishes into | `{spec.target.table}` (asset{'s' if len(written_by(spec)) > 1 else ''} "
            f"{', '.join(f'`{a.name}`' for a in written_by(spec))}) |\n"
            f"| runs | {described(spec.schedule)} (`{spec.schedule}`) |\n\n"
            f"{_expected_doc(spec)}"
            "**Tasks.** `expected_delivery` watches the delivery due in the run's window (docs/expected.md): "
            "green when it is in, skipped when none is due, red when it is late (the partner has a reminder, "
            "and `delivered_on_time` turns the run red); `receive` then takes the waiting deliveries; `judge`, "
            "`publish`, `finish` and `review` run once per delivery and are named after its file.  A **held** "
            "delivery (too many rejections) waits in `review`, a Required Action showing the counts, the most "
            "frequent reasons, the receipt and the quality page: Release (publish the accepted records), Refuse "
            "(with a reason for the partner, who is asked to resend) or Re-judge (after a mapping fix); scripts "
            "use the `jinbao.release` DAG or `jinbao batches release|refuse|rejudge BATCH`.  `review` is skipped "
            "for a published delivery, red after a refusal or a re-judge that holds again (clear it to be asked "
            "again), and red for a delivery **refused** on arrival (its log says why and what to do; the delivery "
            "is kept in quarantine and the partner has a receipt); `judge` and `publish` are skipped for a "
            "refused delivery, `publish` for a held one.  A run that took nothing is skipped at `receive`.  Each "
            "run ends with a note: every delivery, its batch, counts and outcome, and links to its receipt and "
            "quality page."
            + (_partitions_doc(spec) if spec.partitions > 1 else "") + _after_doc(spec))


def _expected_doc(spec: InboundFeed) -> str:
    exp = spec.expected
    if exp is None or exp.cadence is None:
        return f"**Due.** The same deliveries as `{exp.same_as}`, by another way.\n\n" if exp else ""
    when = (f"working day {exp.working_day} after the period, {exp.time:%H:%M}" if exp.working_day
            else f"{exp.time:%H:%M}")
    return (f"**Due** (agreements §5): {exp.cadence.replace('_', ' ')}, by {when} China Standard Time; late "
            f"{exp.grace_hours:g} h after.\n\n")


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


def _label(eng, batch_id: int, suffix: str = "") -> dict:
    """Name the running mapped task after its delivery file (map_index_template); the batch's ledger row."""
    from jinbao import ledger
    with eng.db.begin() as conn:
        row = ledger.get(conn, batch_id)
    get_current_context()["delivery"] = row["file_name"] + suffix
    return row


def _not_for_this_step(row: dict, step: str) -> str | None:
    """Why `step` skips a held or refused batch (not green: nothing was judged or published), or None."""
    if row["status"] == "refused":
        return f"{row['file_name']} refused ({row['reason_code']}: {row['message']}): nothing to {step}; finish " \
               "sends the partner its receipt"
    if row["status"] == "held" and step == "publish":
        return f"{row['file_name']} held for review: nothing published until a person releases it"
    return None


def _quality_page(eng, row: dict) -> None:
    """Write a held batch's quality page, which the run's note links: a person will open it."""
    from jinbao.quality import data_docs
    try:
        log.info("quality results: %s", data_docs.build(eng.cfg, eng.spec, row))
    except Exception as exc:  # noqa: BLE001 - the page helps the review; the batch is held whatever happens
        log.warning("no quality page for batch %s: %s (run `jinbao quality docs %s --batch %s`)",
                    row["id"], exc, eng.spec.name, row["id"])


def build_inbound(spec: InboundFeed) -> DAG:
    with DAG(
        dag_id=spec.name,
        dag_display_name=_named(spec.title, spec.name),
        description=f"{spec.title} ({spec.name}), {described(spec.schedule)}",
        doc_md=_doc(spec),
        schedule=timetable(spec.schedule),
        start_date=start_date(spec.start_date),
        catchup=False,
        max_active_runs=1,
        tags=["jinbao", *spec.tags],
        access_control=access_control("feeds"),
        default_args={"owner": _partner(spec).owner, "retries": spec.retries,
                      "retry_delay": dt.timedelta(minutes=spec.retry_delay_minutes)},
    ) as dag:
        # all_done: what did arrive is taken whether the watched delivery is in, not due, or late (red)
        @task(trigger_rule="all_done", doc_md=RECEIVE)
        def receive(logical_date=None) -> list[int]:
            """Take complete deliveries up to the run's business day (China Standard Time)."""
            up_to = _business_day(logical_date)
            eng = _engine(spec.name)
            try:
                taken = eng.receive(up_to)
            finally:
                eng.close()
            if not taken:            # a run that took nothing is not green
                raise AirflowSkipException("nothing delivered")
            return taken

        @task(map_index_template=BY_DELIVERY, doc_md=JUDGE)
        def judge(batch_id: int, ti=None) -> int:
            eng = _engine(spec.name)
            try:
                _label(eng, batch_id)
                eng.judge(batch_id)
                why = _not_for_this_step(_label(eng, batch_id), "judge")
            finally:
                eng.close()
            if why:
                # finish, expanded over judge's results, must still answer the partner: the id goes on
                ti.xcom_push("return_value", batch_id)
                raise AirflowSkipException(why)
            return batch_id

        @task(map_index_template=BY_DELIVERY, outlets=written_by(spec), doc_md=PUBLISH)
        def publish(batch_id: int) -> int:
            eng = _engine(spec.name)
            try:
                _label(eng, batch_id)
                o = eng.publish(batch_id)
                why = _not_for_this_step(_label(eng, batch_id), "publish")
            finally:
                eng.close()
            if why:                             # skipped: nothing written, so no asset event either
                raise AirflowSkipException(why)
            events = get_current_context()["outlet_events"]
            for asset in written_by(spec):    # what the Assets view shows of each update
                events[asset].extra = {"feed": spec.name, "batch_id": batch_id, "status": str(o.status),
                                       "published": o.published or 0}
            return batch_id

        @task(map_index_template=BY_DELIVERY, doc_md=FINISH)
        def finish(batch_id: int) -> dict:
            from jinbao.engine import BatchHeld
            from jinbao import ledger
            from jinbao.ledger import Outcome
            from jinbao.staged.refused import DeliveryRefused
            eng = _engine(spec.name)
            row = _label(eng, batch_id)
            try:
                o = eng.finish(batch_id)
            except (BatchHeld, DeliveryRefused) as exc:   # finished all the same; `review` asks a person or is red
                if isinstance(exc, BatchHeld):
                    _quality_page(eng, row)          # the Required Action and the note link it
                    log.warning("%s (the `review` task asks this as a Required Action)", exc)
                with eng.db.begin() as conn:
                    o = Outcome.of(ledger.get(conn, batch_id))
            finally:
                eng.close()
            return {"batch_id": o.batch_id, "status": o.status, "received": o.received,
                    "accepted": o.accepted, "rejected": o.rejected, "published": o.published}

        watched = expected_delivery(spec)
        if spec.after:
            # all_done: it waits whether the watched delivery is in, not due, or late (red)
            @task.sensor(mode="reschedule", trigger_rule="all_done", poke_interval=AFTER_POKE.total_seconds(),
                         timeout=(AFTER_TIMEOUT + AFTER_POKE * 4).total_seconds(), retries=0)
            def wait_for_after(logical_date=None, dag_run=None) -> bool:
                """Receive and judge only once the feeds this one comes after are done (jinbao/feed_order.py)."""
                from jinbao.feed_order import unfinished
                from jinbao.privacy import install

                install()
                up_to = _business_day(logical_date)
                open_ = unfinished(spec, load_settings(), up_to)
                if not open_:
                    return True
                day = f"up to {up_to}" if up_to else "waiting"
                waited = pendulum.now("UTC") - pendulum.instance(dag_run.start_date)
                if waited > AFTER_TIMEOUT:
                    raise AirflowFailException(
                        f"{spec.name} is judged after {', '.join(spec.after)}, whose deliveries {day} are still not "
                        f"finished after {waited.in_words()}: {'; '.join(map(str, open_))}.  Run or unpause "
                        f"{' and '.join(spec.after)} (or `jinbao run {spec.after[0]}`), then clear this task.")
                log.info("%s waits for %s (deliveries %s): %s", spec.name, ", ".join(spec.after), day,
                         "; ".join(map(str, open_)))
                return False

            # receive follows the wait alone, only once it succeeded: a timed-out wait must not let the
            # delivery be judged before the feeds it comes after
            received = receive.override(trigger_rule="all_success")()
            watched >> wait_for_after() >> received
        else:
            received = receive()
            watched >> received
        judged = judge.expand(batch_id=received)
        if spec.partitions > 1:
            @task(trigger_rule="none_failed")          # a refused delivery's judge is skipped
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
            # none_failed: a refused delivery's judge is skipped, and the others still publish
            published = publish.override(trigger_rule="none_failed").expand(batch_id=judged)
        # over judge's results, not publish's: a held or refused batch skips publish, and finish answers it
        finished = finish.override(trigger_rule="none_failed").expand(batch_id=judged)
        published >> finished
        # outlets: a released (or re-judged and published) batch updates the same assets publish would have
        HeldBatchReview.partial(task_id="review", map_index_template=BY_DELIVERY,
                                outlets=written_by(spec)).expand(outcome=finished)
    return dag


def _outbound_doc(spec: OutboundFeed, agreement) -> str:
    return (f"### {spec.title}\n\n{spec.description}\n\n"
            "| | |\n|---|---|\n"
            f"| partner | {_partner_text(spec)} |\n"
            f"| agreement | `{agreement.name}`: {agreement.title} |\n"
            f"| purpose | {agreement.purpose} |\n"
            f"| legal basis | {agreement.legal_basis} |\n"
            f"| in force | {agreement.validity} (outside these dates the run sends nothing and is skipped) |\n"
            f"| fields (hub codes) | {', '.join(spec.fields)}; nothing else can leave |\n"
            f"| file | `{spec.name}_<YYYYMMDD>_<seq>.csv`, {spec.format.encoding}, sealed (CMS to the partner, "
            "manifest signed by the hub), in the partner's `outbound/` |\n"
            f"| mapping | `mappings/feeds/{spec.mapping}.yaml` (hub → partner names and codes) |\n\n"
            f"**When.** {described(spec.schedule)}, and whenever one of the tables it reads was published into "
            f"({', '.join(f'`jinbao.store.{t}`' for t in reads(spec))}: the Assets view).\n\n"
            "**Task.** `send` covers the day before the run (the period that just ended); trigger with `as_of` "
            "(YYYY-MM-DD) to redo a period: the same content is never sent twice, changed content goes out under "
            "the next sequence.  `send` is red when records were **held back** (a hub value with no reverse "
            "mapping): its log names the field and value, the rest was sent.  Every file sent is in the exchange "
            "log (`jinbao audit log`).  The same as `jinbao send " + spec.name + "`.")


def build_outbound(spec: OutboundFeed, agreement) -> DAG:
    with DAG(
        dag_id=spec.name,
        dag_display_name=_named(spec.title, spec.name),
        description=f"{spec.title} ({spec.name}, agreement {agreement.name}, {agreement.validity}), "
                    f"{described(spec.schedule)} or when {', '.join(reads(spec))} change",
        doc_md=_outbound_doc(spec, agreement),
        schedule=fed_or_calendar(spec.schedule, reads(spec)),
        start_date=start_date(spec.start_date),
        catchup=False,
        max_active_runs=1,
        tags=["jinbao", *spec.tags],
        access_control=access_control("feeds"),
        params={"as_of": Param(None, type=["null", "string"], format="date",
                               description="YYYY-MM-DD; empty: the day before the run")},
        default_args={"owner": "人社 hub operators", "retries": spec.retries,
                      "retry_delay": dt.timedelta(minutes=spec.retry_delay_minutes)},
    ) as dag:
        @task
        def send(params=None, logical_date=None, dag_run=None) -> dict:
            from jinbao import privacy
            from jinbao.declarations import get_feed
            from jinbao.outbound.send import OUTSIDE, send as send_feed

            privacy.install()
            if params.get("as_of"):
                as_of = dt.date.fromisoformat(params["as_of"])
            else:
                as_of = _run_day(logical_date, dag_run) - dt.timedelta(days=1)
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
        dag_display_name=_named("放行暂停批次 Release a held batch", RELEASE_DAG),
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
        access_control=access_control("release"),
        # no default, and required: the form asks for a batch (a prefilled id would offer one that is not held)
        params={"batch_id": Param(type="integer", minimum=1, description="the held batch's id")},
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
        dag_display_name=_named("死亡比对审计报告 Death mismatch report for auditors", AUDIT_DAG),
        description="Deaths from police, health and civil affairs against the pension roll, "
                    f"{described(AUDIT_SCHEDULE)} or when deaths, the roll or the register change",
        doc_md=("### Death mismatch report\n\nOn the 2nd of each month at 06:00 (China Standard Time), for the "
                "month before (and again whenever deaths, the pension roll or the register are published into: the "
                "`jinbao.store.*` assets): people paid after death, death sources that disagree, deaths not deregistered by "
                "the police, identity mismatches and probable typos, each with its evidence.  CSV per finding, an "
                "Excel workbook and one HTML page in `JINBAO_HOME/reports/deaths/<month>/`, copied to the "
                "auditors' drop zone (`audit/outbound`); IDs masked.  Trigger with a `month` (YYYY-MM) to redo "
                "one.  The same as `jinbao report deaths --month YYYY-MM`.\n\n"
                "**Full IDs**: trigger it yourself with `full_ids` on and a `purpose`.  Only auditors (and admins) "
                "may trigger this DAG (Airflow's auth manager checks it when you trigger).  The workbook with "
                "unmasked IDs is made for you, the logged-in user who triggered the run, and recorded first in the "
                "exchange log (you, the purpose, its sha256, the month, people and rows): sealed to your "
                "certificate (`JINBAO_HOME/keys/auditors/<your user name>.crt`) when one is installed, else kept "
                "on the hub only (mode 0600); never served at /jinbao/ nor put in a drop zone.  The task's log "
                "says where it is and how you get it.  A scheduled or asset-triggered run, `airflow dags test` "
                "or a run without a purpose is refused (red) and writes nothing."),
        schedule=fed_or_calendar(AUDIT_SCHEDULE, AUDIT_READS),
        catchup=False,
        tags=["jinbao", "audit"],
        access_control=access_control("report"),
        params={"month": Param(None, type=["null", "string"], pattern=r"^\d{4}-\d{2}$",
                               description="YYYY-MM; empty: the month before the run"),
                "tolerance_days": Param(3, type="integer", minimum=0,
                                        description="death dates further apart than this disagree"),
                "full_ids": Param(False, type="boolean",
                                  description="also a workbook with unmasked IDs for you (the logged-in user), "
                                              "recorded in the exchange log; needs a purpose"),
                "purpose": Param(None, type=["null", "string"], maxLength=1000,
                                 description="why the unmasked IDs are needed (required with full_ids, recorded)")},
        default_args={"owner": "审计 auditors", "retries": 1},
    ) as dag:
        @task
        def death_mismatch(params=None, logical_date=None, dag_run=None) -> dict:
            from jinbao.audit.report import headline, run
            from jinbao.audit.requester import ExportRefused, from_airflow

            if params.get("month"):
                month = dt.datetime.strptime(params["month"], "%Y-%m").date()
            else:
                ran = _run_day(logical_date, dag_run).replace(day=1)
                month = (ran - dt.timedelta(days=1)).replace(day=1)
            cfg = load_settings()
            try:
                requester = (from_airflow(dag_run.run_type, dag_run.triggering_user_name)
                             if params.get("full_ids") else None)
                written = run(cfg, month, int(params["tolerance_days"]), full_ids_for=requester,
                              purpose=params.get("purpose"))
            except ExportRefused as exc:                # nobody to export to, or no purpose: no retry helps
                raise AirflowFailException(str(exc)) from exc
            log.info("death mismatch report %s: %s", f"{month:%Y-%m}", headline(written.report))
            log.info("files in %s, handed over to %s", written.folder, written.handed_over)
            if written.full_ids:
                e = written.full_ids
                log.info("full IDs for %s (%d people, recorded in the exchange log): %s", e.requester, e.people,
                         e.how_to_get(cfg.home))
            return {name: str(path) for name, path in written.files.items()}

        death_mismatch()
    return dag


def build_purge() -> DAG:
    """The daily purge: files whose declared retention ran out, and stored rejection values after the receipt."""
    with DAG(
        dag_id=PURGE_DAG,
        dag_display_name=_named("到期数据清理 Purge what outlived its retention", PURGE_DAG),
        description=f"Delete files holding personal data past their declared retention, {described(PURGE_SCHEDULE)}",
        doc_md=("### Purge what outlived its retention\n\nPIPL (art. 19, 47): personal data is kept no longer than "
                "needed.  Each kind of file (staging, quarantine, receipts' copies, sent copies, reports, issued "
                "stop-payment lists, full-ID exports, task logs) has a declared retention in "
                "`schemas/retention.yaml`; what is older goes, except what the hub still needs (a held or "
                "unfinished batch's files, the newest issued stop-payment list).  The store's rejections lose "
                "their personal values once the receipt went out.  Each kind deleted from is one exchange-log "
                "entry (`jinbao log list --direction purge`).  The same as `jinbao purge`; `jinbao purge "
                "--dry-run` says what would go.  docs/privacy.md lists every place personal data lives."),
        schedule=timetable(PURGE_SCHEDULE),
        catchup=False,
        max_active_runs=1,
        tags=["jinbao", "privacy"],
        access_control=access_control("housekeeping"),
        default_args={"owner": "人社 hub operators", "retries": 1, "retry_delay": dt.timedelta(minutes=10)},
    ) as dag:
        @task(doc_md="Deletes what outlived its retention and logs, per kind, what went; red when a file could "
                     "not be deleted or the declaration is malformed (its log says what to do).")
        def purge() -> dict:
            from jinbao import privacy
            from jinbao.purge import masked_summary, purge as run_purge, summary
            from jinbao.retention import RetentionError

            privacy.install()
            try:
                done = run_purge(load_settings(), who=f"Airflow {PURGE_DAG}")
            except RetentionError as exc:       # a person must fix the file: a retry would fail the same
                raise AirflowFailException(f"{exc}. Fix schemas/retention.yaml (docs/privacy.md says each kind), "
                                           "then clear this task.") from exc
            for kind, k in done.kinds.items():
                purge_log.info("purge %s", summary(kind, k))
            purge_log.info("purge %s", masked_summary(done.masked))
            if done.busy:
                purge_log.warning("purge: staging of %s left for tomorrow's purge: a run of the feed held its lock",
                            ", ".join(done.busy))
            if done.failed:
                raise AirflowFailException(
                    "not deleted: " + "; ".join(done.failed) + ". Give the hub's user back ownership of these "
                    "files (JINBAO_HOME), then clear this task; what was deleted is in the exchange log.")
            return {kind: {"count": k.count, "bytes": k.bytes} for kind, k in done.kinds.items()} \
                | {"rejection_values": done.masked}

        purge()
    return dag


#: What a broken declaration's placeholder DAG is called in the DAG list.
BROKEN_TITLE = "⚠ 声明有误 broken declaration"


def build_broken(name: str, error: Exception) -> DAG:
    """The DAG of a feed whose declaration is broken: its id, so the feed does not vanish from the list,
    its error as its description and docs, and one task that fails with the error (red) when it runs.
    Every other feed's DAG loads as usual; `jinbao_declarations.py` lists the broken ones as an import error."""
    with DAG(
        dag_id=name,
        dag_display_name=_named(BROKEN_TITLE, name),
        description=f"not run: its declaration is broken ({str(error).splitlines()[0][:200]})",
        doc_md=(f"### {BROKEN_TITLE}: {name}\n\nThis feed is not run until its declaration is fixed:\n\n"
                f"```\n{error}\n```\n\nFix the file and key named above, check it with "
                f"`jinbao feeds check {name}`, and the DAG processor loads the feed again at its next parse."),
        schedule="@once",
        start_date=pendulum.datetime(2026, 1, 1, tz=pendulum.timezone(TIMEZONE)),
        catchup=False,
        tags=["jinbao", "broken declaration"],
        access_control=access_control("feeds"),
        default_args={"owner": "人社 hub operators", "retries": 0},
    ) as dag:
        @task(task_id="declaration")
        def declaration() -> None:
            raise AirflowFailException(f"{name} is not run: {error}  (fix it, then `jinbao feeds check {name}`)")

        declaration()
    return dag


def build_dags() -> dict[str, DAG]:
    """Every DAG of the hub; in a task's process only the DAG of that task.  A task process parses this
    file before it runs (Airflow 3's task runner), and Airflow names the DAG it wants in the parsing context:
    building the other DAGs (each feed's docs, its assets, its tasks) cost every task of a run about
    0.2 s for nothing (bench/airflow_overhead.py).  The DAG processor's parse has no DAG named and builds all."""
    wanted = get_parsing_context().dag_id
    found = declared()
    feeds = found.feeds if wanted is None else {n: s for n, s in found.feeds.items() if n == wanted}
    # only outbound feeds need the agreements, and none loaded if the agreements cannot be read
    agreements = load_agreements() if any(isinstance(s, OutboundFeed) for s in feeds.values()) else {}
    dags = {spec.name: build_outbound(spec, agreements[spec.agreement]) if isinstance(spec, OutboundFeed)
            else build_inbound(spec) for spec in feeds.values()}
    builders = {**{name: (lambda name=name, error=error: build_broken(name, error))
                   for name, error in found.broken.items()},
                RELEASE_DAG: build_release, AUDIT_DAG: build_audit, KEYS_DAG: build_certificate_expiry,
                PURGE_DAG: build_purge}
    dags.update({name: build() for name, build in builders.items() if wanted is None or name == wanted})
    return dags
