"""OpenLineage for the feeds: which partner delivery went into which store table, column by column.

The OpenLineage provider calls `FeedExtractor` (registered in airflow.cfg `[openlineage] extractors`)
for every TaskFlow task when lineage is on, and only then: with no transport configured the
provider turns itself off and this module is never imported (docs/lineage.md).  For an inbound
feed's `publish` and `publish_partition` (and `jinbao.release`, which publishes a held batch) it names
the partner's delivery as input and the target table as output; for an outbound feed's `send`, the store tables its query reads as inputs and the
partner's file as output; every other task gets what the provider would give it anyway.

Only names travel: dataset, column, code table and format names, never a value, so no facet can
hold personal data.
"""
from __future__ import annotations

import datetime as dt

import pendulum
from airflow.providers.openlineage.extractors.base import BaseExtractor, OperatorLineage
from openlineage.client.event_v2 import Dataset
from openlineage.client.facet_v2 import column_lineage_dataset as cl, schema_dataset
from sqlalchemy.engine import make_url

from jinbao import ledger
from jinbao.declarations import FeedSpec, InboundFeed, declared
from jinbao.mappings.lineage import ColumnLink, inbound_links, outbound_links
from jinbao.mappings.tables import feed_mapping
from jinbao.outbound.catalog import SOURCES
from jinbao.schemas.store_tables import metadata
from jinbao.settings import TIMEZONE, load_settings
from jinbao.store.database import connect

#: The tasks that move a feed's data across the hub's edge (dags/dag_factory.py): they carry its lineage.
INBOUND_TASKS = ("publish", "publish_partition")
OUTBOUND_TASKS = ("send",)
#: The task that publishes a held batch, whichever feed's (dags/dag_factory.py RELEASE_DAG): the batch's lineage.
RELEASE = ("jinbao.release", "release")
#: The statuses of a batch whose rows are in the store or going in (a partition publishes a judged batch).
WRITTEN = (ledger.Status.JUDGED.value, ledger.Status.PUBLISHED.value)
#: The class of every @task operator, the name the provider looks extractors up by.
TASKFLOW = "_PythonDecoratedOperator"
#: OpenLineage's names for the store's backends (openlineage.io/docs/spec/naming), default ports.
BACKENDS = {"postgresql": ("postgres", 5432), "mysql": ("mysql", 3306), "mariadb": ("mysql", 3306)}


def drop_zone(partner: str) -> str:
    """The namespace of a partner's drop zone: the partner, not the hub's path to it (that differs per
    deployment and transport, while the partner's deliveries are the same dataset)."""
    return f"dropzone://{partner}"


def store_namespace(store_url: str) -> str:
    """The store as OpenLineage names a database, from its URL without user, password or options."""
    url = make_url(store_url)
    backend = url.get_backend_name()
    if backend == "sqlite":
        return f"sqlite://{url.database or ':memory:'}"
    scheme, port = BACKENDS.get(backend, (backend, None))
    where = f"{url.host or 'localhost'}:{url.port or port}" if (url.port or port) else (url.host or "localhost")
    return f"{scheme}://{where}" + (f"/{url.database}" if url.database else "")


def _type(column) -> str:
    try:
        return str(column.type)
    except Exception:   # a type that cannot render without a dialect: its class is still a fair name
        return type(column.type).__name__


def _table(namespace: str, name: str, facets: dict | None = None) -> Dataset:
    columns = metadata.tables[name].columns
    schema = schema_dataset.SchemaDatasetFacet(
        fields=[schema_dataset.SchemaDatasetFacetFields(name=c.name, type=_type(c)) for c in columns])
    return Dataset(namespace=namespace, name=name, facets={"schema": schema, **(facets or {})})


def _column_lineage(links: tuple[ColumnLink, ...], source) -> cl.ColumnLineageDatasetFacet:
    """`source(s)` gives the (namespace, dataset name, field) a link's source names."""
    fields = {}
    for link in links:
        subtype = "IDENTITY" if link.identity else "TRANSFORMATION"
        fields[link.column] = cl.Fields(
            inputFields=[cl.InputField(*source(s), transformations=[
                cl.Transformation(type="DIRECT", subtype=subtype, description=link.how, masking=False)])
                for s in link.sources],
            transformationDescription=f"{' + '.join(link.sources)} -> {link.hub} -> {link.column}: {link.how}",
            transformationType="IDENTITY" if link.identity else None)
    return cl.ColumnLineageDatasetFacet(fields=fields)


def feed_lineage(spec: FeedSpec, on: dt.date, store_url: str) -> OperatorLineage:
    """A feed's datasets and column lineage under the mapping version in force on `on`."""
    mapping = feed_mapping(spec.mapping, on)
    store = store_namespace(store_url)
    zone = drop_zone(spec.partner)
    if isinstance(spec, InboundFeed):
        table = spec.target.table
        links = inbound_links(mapping, [c.name for c in metadata.tables[table].columns])
        delivery = Dataset(namespace=zone, name=spec.name, facets={"schema": schema_dataset.SchemaDatasetFacet(
            fields=[schema_dataset.SchemaDatasetFacetFields(name=p, type="string") for p in mapping.columns])})
        column_lineage = _column_lineage(links, lambda partner: (zone, spec.name, partner))
        return OperatorLineage(inputs=[delivery], outputs=[_table(store, table, {"columnLineage": column_lineage})])
    sources = SOURCES[spec.query]
    links = outbound_links(mapping, spec.fields, sources)
    tables = sorted({s.split(".")[0] for link in links for s in link.sources})
    column_lineage = _column_lineage(links, lambda s: (store, *s.split(".", 1)))
    sent = Dataset(namespace=zone, name=spec.name, facets={
        "schema": schema_dataset.SchemaDatasetFacet(
            fields=[schema_dataset.SchemaDatasetFacetFields(name=link.column, type="string") for link in links]),
        "columnLineage": column_lineage})
    return OperatorLineage(inputs=[_table(store, t) for t in tables], outputs=[sent])


def batch_row(store_url: str, batch_id: int) -> dict:
    """A batch's row (feed, status, business date): its delivery was translated with the mapping version
    in force on that date, which need not be the one of the run that publishes it (a late delivery of an
    earlier day, a held batch released weeks later)."""
    with connect(store_url).connect() as conn:
        return ledger.get(conn, batch_id)


def business_day(context) -> dt.date:
    """The day whose mapping version an outbound run uses: the period it covers (its `as_of`, or the day
    before the run in China Standard Time), as dags/dag_factory.py's `send` takes it."""
    if (context.get("params") or {}).get("as_of"):
        return dt.date.fromisoformat(context["params"]["as_of"])
    return pendulum.instance(context["logical_date"]).in_timezone(TIMEZONE).date() - dt.timedelta(days=1)


class FeedExtractor(BaseExtractor):
    """The provider's extractor for @task operators: a feed's lineage on the tasks that carry it."""

    @classmethod
    def get_operator_classnames(cls) -> list[str]:
        return [TASKFLOW]

    def _spec(self) -> FeedSpec | None:
        spec = declared().feeds.get(self.operator.dag_id)
        tasks = INBOUND_TASKS if isinstance(spec, InboundFeed) else OUTBOUND_TASKS
        return spec if spec is not None and self.operator.task_id in tasks else None

    def _execute_extraction(self) -> OperatorLineage:
        return OperatorLineage()    # at start nothing is known yet: the run's date comes with the instance

    def extract_on_complete(self, task_instance) -> OperatorLineage:
        if (self.operator.dag_id, self.operator.task_id) == RELEASE:
            return self._batch(task_instance.get_template_context()["params"]["batch_id"])
        spec = self._spec()
        if spec is None:
            return OperatorLineage()  # not a feed's edge: the provider falls back to hook lineage, inlets, outlets
        if isinstance(spec, InboundFeed):
            return self._batch((getattr(self.operator, "op_kwargs", None) or {})["batch_id"])
        return feed_lineage(spec, business_day(task_instance.get_template_context()),
                            load_settings().store_url)

    @staticmethod
    def _batch(batch_id) -> OperatorLineage:
        """A batch's lineage once its rows are in the store (or, partitioned, being written); a held or
        refused batch's `publish` succeeds without writing anything, and says so by naming no dataset."""
        store_url = load_settings().store_url
        row = batch_row(store_url, int(batch_id))
        if row["status"] not in WRITTEN:
            return OperatorLineage()
        return feed_lineage(declared().feeds[row["feed"]], row["business_date"], store_url)

    def extract_on_failure(self, task_instance) -> OperatorLineage:
        return OperatorLineage()                # a failed publish rolled back: nothing moved
