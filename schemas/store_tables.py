"""Tables of the shared social security store.

Column names are the hub dictionary codes in lower case (aac002, aac060, ...)
so a record translated by the engine maps onto a table without a second
renaming layer.  A feed table made only of hub fields is declared in YAML instead
(`schemas/tables/`, schemas/declared_tables.py) and built here on the same metadata.  The same metadata drives Alembic migrations and tests, and
works unchanged on SQLite, PostgreSQL and MariaDB.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    BigInteger, Boolean, Column, Date, DateTime, ForeignKey, Index, Integer, MetaData,
    Numeric, String, Table, Text, TypeDecorator,
)

from jinbao.schemas.declared_tables import build, declarations, needed
from jinbao.settings import load_setting

# Stable constraint names so migrations are identical on every backend.
metadata = MetaData(naming_convention={
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
})

class UtcDateTime(TypeDecorator):
    """A moment in time, stored in UTC and read back aware.  MariaDB's DATETIME refuses a value
    with an offset, so there aware values go in as naive UTC; MariaDB and SQLite give naive
    values back, which are UTC and are marked so (PostgreSQL keeps the zone itself)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None and value.tzinfo is not None and dialect.name in ("mysql", "mariadb"):
            return value.astimezone(dt.timezone.utc).replace(tzinfo=None)
        return value

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=dt.timezone.utc)
        return value


# SQLite only auto-increments INTEGER PRIMARY KEY; elsewhere we want 64 bits.
BigId = BigInteger().with_variant(Integer(), "sqlite")


def _provenance() -> list[Column]:
    """Where a row came from: which feed, which delivery, which line, when.

    batch_id names a batch row without a foreign key: the engine writes it as a constant of the publish
    statement, and a key checked per row costs a bulk publish 40 % of its time (migration 0009)."""
    return [
        Column("source_feed", String(64), nullable=False),
        Column("batch_id", BigId, nullable=True),
        Column("line_no", Integer, nullable=True),
        Column("updated_at", UtcDateTime(), nullable=False),
        _source_version(),
    ]


def _source_version() -> Column:
    """The delivery's (business date, sequence) as one sortable number: a row is only ever
    replaced by a row from a delivery at least as new (NULL: loaded outside any delivery)."""
    return Column("source_version", BigInteger, nullable=True)


batch = Table(
    "batch", metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("feed", String(64), nullable=False),
    Column("file_name", String(255), nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("sequence", BigInteger, nullable=False),
    Column("business_date", Date, nullable=False),
    Column("encoding", String(16), nullable=False),
    Column("mapping_version", String(255), nullable=True),
    # the quality rules that judged the batch (jinbao.quality.plan.rules_version), for field lineage
    Column("rules_version", String(64), nullable=True),
    Column("received", Integer, nullable=True),
    Column("accepted", Integer, nullable=True),
    Column("rejected", Integer, nullable=True),
    Column("published", Integer, nullable=True),
    # jinbao.ledger.Status; moves only along jinbao.ledger.TRANSITIONS
    Column("status", String(16), nullable=False),
    Column("reason_code", String(32), nullable=True),
    Column("message", Text, nullable=True),
    Column("staging_dir", String(500), nullable=True),
    # the plaintext to judge, in staging_dir (a sealed delivery's differs from file_name)
    Column("data_file", String(255), nullable=True),
    # the record count a verified manifest promised; checked after parsing
    Column("declared_records", Integer, nullable=True),
    Column("received_at", UtcDateTime(), nullable=False),
    Column("published_at", UtcDateTime(), nullable=True),
    Column("receipt_at", UtcDateTime(), nullable=True),
    Column("acked_at", UtcDateTime(), nullable=True),
    Index(None, "feed", "sha256"),
    Index(None, "feed", "sequence"),
    Index(None, "status"),
)

rejection = Table(
    "rejection", metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("batch_id", BigId, ForeignKey("batch.id"), nullable=False),
    Column("line_no", Integer, nullable=False),
    Column("masked_id", String(32), nullable=True),
    Column("field", String(64), nullable=False),
    Column("value", String(200), nullable=True),  # as sent, only when not personal
    Column("reason_code", String(32), nullable=False),
    Column("message", Text, nullable=False),
    Index(None, "batch_id", "line_no"),
)

person = Table(
    "person", metadata,
    Column("aac002", String(18), primary_key=True),
    Column("aac003", String(50), nullable=True),
    Column("aaa002", String(1), nullable=True),
    Column("aac006", Date, nullable=True),
    Column("aac005", String(2), nullable=True),
    Column("aab301", String(6), nullable=True),
    Column("aab998", String(18), nullable=True),
    Column("id_upgraded", Boolean, nullable=False, default=False),
    *_provenance(),
)

death_record = Table(
    "death_record", metadata,
    Column("aac002", String(18), primary_key=True),
    Column("source_feed", String(64), primary_key=True),  # one death per person per source
    Column("aac003", String(50), nullable=True),
    Column("aaa002", String(1), nullable=True),
    Column("aac060", Date, nullable=False),
    Column("aab301", String(6), nullable=True),
    Column("dereg_date", Date, nullable=True),
    Column("dereg_reason", String(16), nullable=True),
    Column("cremation_date", Date, nullable=True),
    Column("funeral_home", String(200), nullable=True),
    Column("issuer_uscc", String(18), nullable=True),
    # CZBZ: NULL or '1' registers/corrects this source's death, '2' withdraws it (撤销)
    Column("death_action", String(1), nullable=True),
    Column("id_upgraded", Boolean, nullable=False, default=False),
    Column("batch_id", BigId, nullable=True),   # provenance, no foreign key (see _provenance)
    Column("line_no", Integer, nullable=True),
    Column("updated_at", UtcDateTime(), nullable=False),
    _source_version(),
)

rejected_death = Table(
    "rejected_death", metadata,   # death records the gate rejected, as far as they translated: audit evidence
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("batch_id", BigId, ForeignKey("batch.id"), nullable=False),
    Column("line_no", Integer, nullable=False),
    Column("source_feed", String(64), nullable=False),
    Column("id_sent", String(32), nullable=True),    # AAC002 as sent (after 15->18 upgrade), possibly invalid
    Column("aac003", String(50), nullable=True),
    Column("aaa002", String(1), nullable=True),
    Column("aac006", Date, nullable=True),
    Column("aab301", String(6), nullable=True),
    Column("aac060", Date, nullable=True),
    Index(None, "batch_id", "line_no"),
)

rejected_payment = Table(
    "rejected_payment", metadata,   # pension-roll rows the gate rejected, as sent: audit evidence (migration 0010)
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("batch_id", BigId, ForeignKey("batch.id"), nullable=False),
    Column("line_no", Integer, nullable=False),
    Column("aac002", String(32), nullable=True),     # as sent (after 15->18 upgrade), possibly invalid
    Column("month", Date, nullable=True),            # the benefit month's first day, when FFNY parsed
    Column("month_sent", String(16), nullable=True),  # FFNY as sent, when it did not parse
    Column("amount_sent", String(32), nullable=True),  # FFJE as sent: text, since it may be invalid
    Index(None, "aac002"),
)


assistance = Table(
    "assistance", metadata,   # civil affairs: low-income and disability status periods
    Column("aac002", String(18), primary_key=True),
    Column("assistance_category", String(2), primary_key=True),
    Column("start_date", Date, primary_key=True),
    Column("end_date", Date, nullable=True),
    Column("aac003", String(50), nullable=True),
    Column("aaa002", String(1), nullable=True),
    Column("aab301", String(6), nullable=True),
    Column("id_upgraded", Boolean, nullable=False, default=False),
    *_provenance(),
)

subsidy_payment = Table(
    "subsidy_payment", metadata,   # finance: subsidies that arrived (前个人后财政)
    Column("aac002", String(18), primary_key=True),
    Column("subsidy_year", String(4), primary_key=True),
    Column("subsidy_level", String(1), primary_key=True),
    # the division the payment names as owing the line: province, city or county (XZQH; migration 0008)
    Column("owing_division", String(6), nullable=True),
    Column("amount", Numeric(12, 2), nullable=False),
    Column("arrival_date", Date, nullable=True),
    Column("id_upgraded", Boolean, nullable=False, default=False),
    *_provenance(),
)


def _held(code: str, kind) -> list[Column]:
    """One register field: the value in force and who set it (feed, batch, line, when)."""
    return [Column(code, kind, nullable=True),
            Column(f"{code}_source", String(64), nullable=True),
            Column(f"{code}_batch", BigId, nullable=True),
            Column(f"{code}_line", Integer, nullable=True),
            Column(f"{code}_at", UtcDateTime(), nullable=True)]


#: The register's fields and their types; which source may set which is data (schemas/register.yaml).
REGISTER_FIELDS = {"aac003": String(50), "aaa002": String(1), "aac006": Date, "aac005": String(2),
                   "aab301": String(6), "aab998": String(18)}

register = Table(
    "register", metadata,   # one row per person: the reconciled record (jinbao.register)
    Column("aac002", String(18), primary_key=True),
    *[c for code, kind in REGISTER_FIELDS.items() for c in _held(code, kind)],
    # alive / deceased / emigrated / duplicate / deregistered, derived from the death sources
    Column("life_status", String(16), nullable=False, default="alive"),
    # deceased: the death date in force (AAC060); emigrated ...: the deregistration date
    Column("life_status_date", Date, nullable=True),
    Column("life_status_source", String(64), nullable=True),
    Column("life_status_batch", BigId, nullable=True),
    Column("life_status_line", Integer, nullable=True),
    Column("life_status_at", UtcDateTime(), nullable=True),
    Index(None, "life_status"),
    # room on every page for the new version of an updated row: PostgreSQL then updates in place
    # (HOT: no index entries to add), which is most of the cost of reconciling a daily batch
    postgresql_with={"fillfactor": 85},
)

register_history = Table(
    "register_history", metadata,   # every register value that was replaced, with who had set it
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("aac002", String(18), nullable=False),
    Column("field", String(32), nullable=False),
    Column("value", String(200), nullable=True),
    Column("source_feed", String(64), nullable=True),
    Column("batch_id", BigId, nullable=True),
    Column("line_no", Integer, nullable=True),
    Column("set_at", UtcDateTime(), nullable=True),
    Column("replaced_by_batch", BigId, nullable=False),
    Column("replaced_at", UtcDateTime(), nullable=False),
    Index(None, "aac002", "field"),
)

source_value = Table(
    "source_value", metadata,   # what each outranked feed says now, per person and field (conflicts derive from it)
    Column("aac002", String(18), primary_key=True),
    Column("field", String(32), primary_key=True),
    Column("source_feed", String(64), primary_key=True),
    Column("value", String(200), nullable=False),
    Column("batch_id", BigId, nullable=False),
    Column("line_no", Integer, nullable=True),
    Column("seen_at", UtcDateTime(), nullable=False),
)

conflict = Table(
    "conflict", metadata,   # a source outranked on a field, still saying something else
    Column("aac002", String(18), primary_key=True),
    Column("field", String(32), primary_key=True),
    Column("offered_source", String(64), primary_key=True),
    Column("value_offered", String(200), nullable=True),
    Column("offered_batch", BigId, nullable=True),
    Column("value_held", String(200), nullable=True),
    Column("held_source", String(64), nullable=True),
    Column("held_batch", BigId, nullable=True),
    Column("first_seen", UtcDateTime(), nullable=False),
    Column("last_seen", UtcDateTime(), nullable=False),
    Column("resolved_at", UtcDateTime(), nullable=True),
    Index(None, "field", "resolved_at"),
)

life_status_history = Table(
    "life_status_history", metadata,   # every change of a person's life status, as the hub learnt it
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("aac002", String(18), nullable=False),
    Column("from_status", String(16), nullable=True),
    Column("to_status", String(16), nullable=False),
    Column("from_date", Date, nullable=True),
    Column("effective_date", Date, nullable=True),
    Column("source_feed", String(64), nullable=False),
    Column("batch_id", BigId, nullable=False),
    Column("line_no", Integer, nullable=True),
    Column("recorded_at", UtcDateTime(), nullable=False),
    Index(None, "aac002"),
)

exchange_log = Table(
    "exchange_log", metadata,   # every delivery in or out and every personal-data export, hash-chained (jinbao.exchange_log)
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("seq", BigInteger, nullable=False, unique=True),     # position in the chain: 1, 2, 3 ... without gaps
    Column("at", UtcDateTime(), nullable=False),
    Column("direction", String(8), nullable=False),             # in / out / export
    Column("partner", String(32), nullable=False),
    Column("feed", String(64), nullable=False),
    Column("file_name", String(255), nullable=False),
    Column("sha256", String(64), nullable=False),               # of the plaintext
    Column("business_date", Date, nullable=True),
    Column("sequence", BigInteger, nullable=True),               # the delivery's own sequence number
    Column("status", String(16), nullable=False),
    Column("records", Integer, nullable=True),                  # received (in) or sent (out)
    Column("accepted", Integer, nullable=True),
    Column("rejected", Integer, nullable=True),                 # rejected (in) or held back (out)
    Column("mapping_version", String(255), nullable=True),
    Column("agreement", String(64), nullable=True),
    Column("purpose", Text, nullable=True),
    Column("who", String(200), nullable=True),                  # the person behind an export
    Column("batch_id", BigId, nullable=True),
    Column("prev_hash", String(64), nullable=False),
    Column("entry_hash", String(64), nullable=False),
    Index(None, "feed", "direction", "business_date"),
)

exchange_log_head = Table(
    "exchange_log_head", metadata,   # the chain's last entry, so a truncated tail is noticed too
    Column("id", Integer, primary_key=True),                    # always 1
    Column("seq", BigInteger, nullable=False),
    Column("entry_hash", String(64), nullable=False),
    Column("head_mac", String(64), nullable=False),
)

subsidy_line = Table(
    "subsidy_line", metadata,   # one line per enrolment and level: what a government level owes (jinbao.subsidies)
    Column("aac002", String(18), primary_key=True),
    Column("subsidy_year", String(4), primary_key=True),
    Column("subsidy_level", String(1), primary_key=True),           # 1 province, 2 city, 3 county
    Column("aab301", String(6), nullable=False),                    # the owing division of that level
    Column("household_division", String(6), nullable=False),        # the county it was derived from
    Column("division_source", String(16), nullable=False),          # register (police & co.) or id (address code)
    Column("category", String(2), nullable=False),                  # 00 ordinary, 01..04 assistance on 1 January
    Column("amount_due", Numeric(12, 2), nullable=False),
    Column("status", String(8), nullable=False),                    # arrears / paid
    Column("enrolled_on", Date, nullable=True),                     # the personal contribution's date
    Column("enrollment_batch", BigId, nullable=True),
    Column("paid_date", Date, nullable=True),                       # finance's arrival date (DZRQ)
    Column("paid_batch", BigId, nullable=True),
    Column("paid_line", Integer, nullable=True),
    Column("first_claim_seq", BigInteger, nullable=True),           # the first claim that sent it
    Column("claim_seq", BigInteger, nullable=True),                 # the last claim that sent it
    Column("claimed_at", UtcDateTime(), nullable=True),
    Column("computed_batch", BigId, nullable=True),                 # the batch whose publish last set it
    Column("computed_at", UtcDateTime(), nullable=False),
    # by owing division, not (status, aab301): an index naming `status` made PostgreSQL add index
    # entries for every line a payment flips to paid (no HOT update), 1M payments 26 s of 45
    Index(None, "aab301"),
    # room on every page for one new version of each line (claimed, then paid: each line is
    # rewritten once or twice), so PostgreSQL updates it in place (HOT) without touching the indexes
    postgresql_with={"fillfactor": 50},
)

subsidy_difference = Table(
    "subsidy_difference", metadata,   # a claimed or paid line the hub would now compute otherwise
    Column("aac002", String(18), primary_key=True),
    Column("subsidy_year", String(4), primary_key=True),
    Column("subsidy_level", String(1), primary_key=True),
    Column("line_aab301", String(6), nullable=False),               # what the line holds (as claimed / paid)
    Column("line_category", String(2), nullable=False),
    Column("line_amount", Numeric(12, 2), nullable=False),
    Column("aab301", String(6), nullable=False),                    # what the hub computes now
    Column("category", String(2), nullable=False),
    Column("amount_due", Numeric(12, 2), nullable=False),
    Column("batch_id", BigId, nullable=True),                       # the publish that revealed it
    Column("first_seen", UtcDateTime(), nullable=False),
    Column("last_seen", UtcDateTime(), nullable=False),
    Column("resolved_at", UtcDateTime(), nullable=True),
)

frontend_watermark = Table(
    "frontend_watermark", metadata,   # how far the hub has taken a partner's front-end table (connectors/frontend_db.py)
    Column("feed", String(64), primary_key=True),
    Column("last_id", BigInteger, nullable=False),                  # the highest row ID taken
    Column("last_date", Date, nullable=True),                       # the latest arrival date taken
    Column("rows_taken", BigInteger, nullable=False),
    Column("batch_id", BigId, nullable=True),
    Column("updated_at", UtcDateTime(), nullable=False),
)

frontend_row = Table(
    "frontend_row", metadata,   # every front-end row taken, by its ID: the exactly-once record
    Column("feed", String(64), primary_key=True),
    Column("row_id", BigInteger, primary_key=True),
    Column("batch_id", BigId, nullable=False),
    Column("line_no", Integer, nullable=False),
)

#: The feed tables declared in YAML (schemas/declared_tables.py: key and columns by hub code, types from
#: the hub dictionary), on the same metadata, so Alembic and the publish step see no difference.
#: BROKEN: the malformed declarations' errors by table name, set aside so that they fail only the feeds
#: publishing into them and `jinbao db revision`/`check` (declarations.py, jinbao/store/migrations.py).
_TABLES_DIR = load_setting("tables_dir")
_declared, BROKEN = declarations(_TABLES_DIR)
DECLARED = build(metadata, _declared, _provenance)
pension_payment = needed(DECLARED, BROKEN, "pension_payment", _TABLES_DIR)            # hrss: the pension roll
employer_status = needed(DECLARED, BROKEN, "employer_status", _TABLES_DIR)            # central bank: employers
resident_enrollment = needed(DECLARED, BROKEN, "resident_enrollment", _TABLES_DIR)    # hrss: 城乡居民医保 enrolment
contribution = needed(DECLARED, BROKEN, "contribution", _TABLES_DIR)                  # hrss: employee contributions

#: Tables a feed may publish into, by the name used in feed declarations: the hand-written ones
#: (with columns beyond hub fields: id_upgraded, source_feed in the key ...) and every declared one.
TARGETS = {t.name: t for t in (person, death_record, assistance, subsidy_payment, *DECLARED.values())}
