"""Where a person opens the hub's readable files in a browser: `/jinbao/...` on Airflow's API server.

The plugin in plugins/jinbao_plugin.py serves two folders of JINBAO_HOME read-only
(jinbao/report_server.py): the receipts' hub copies and the reports (quality pages,
the auditors' death reports).  A link is only ever made to a file that exists, so a
run's note never points at a page nobody wrote.  One function, `batch_links`, gives a
batch's links; the run notes and anything else that shows a batch use it.

Who may open a served file is who may read its DAG in Airflow (docs/access.md): a feed's receipts
and quality pages are its DAG's, the death reports the auditors' DAG's.  `DAG_FOLDERS` says which
folder is whose; `governed` answers it for a path.

Imports inside functions: the quality page's module (and the judging code it needs) loads only
when a batch's links are made, so that the Airflow plugin importing this module stays cheap.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from jinbao.audit import REPORT_DAG

#: Where the plugin's app is mounted on the API server.
URL_PREFIX = "/jinbao"
#: Whose each served folder is: (served root, the folder's path below it, the DAG whose readers open
#: everything in it).  FEED stands for a folder named after a feed, which is that feed's DAG:
#: receipts/<feed>/<batch>/..., reports/quality/<feed>/<batch>/...  Nothing else is anyone's.
FEED = "{feed}"
DAG_FOLDERS = (
    ("receipts", (FEED,), FEED),
    ("reports", ("quality", FEED), FEED),
    ("reports", ("deaths",), REPORT_DAG),
)


@dataclass(frozen=True)
class Governed:
    """Who may open a served path: the readers of `dag`; `dag` None is a folder above the DAGs'
    folders (a served root, reports/quality/), shown to whoever may open something inside it."""
    dag: str | None
    #: the path is a DAG's own folder or above one: a file in its place is nobody's
    folder: bool


def governed(area: str, parts: Sequence[str]) -> Governed | None:
    """Whose `area/parts...` is (DAG_FOLDERS), or None: no DAG's, so served to nobody."""
    for root, folder, dag in DAG_FOLDERS:
        if root != area or any(want != FEED and want != got for want, got in zip(folder, parts)):
            continue
        if len(parts) < len(folder):
            return Governed(dag=None, folder=True)
        if dag == FEED:
            dag = parts[folder.index(FEED)]
        return Governed(dag=dag, folder=len(parts) == len(folder))
    return None


def served_roots(cfg) -> dict[str, Path]:
    """The folders served, by the first segment of their URL: nothing else of JINBAO_HOME is reachable."""
    return {"receipts": Path(cfg.receipts), "reports": Path(cfg.reports)}


def url_for(cfg, path: Path) -> str | None:
    """The URL of a file (or folder, its listing) under a served folder, or None (elsewhere, or not written)."""
    path = Path(path)
    if not path.exists():
        return None
    for name, root in served_roots(cfg).items():
        try:
            rel = path.resolve().relative_to(root.resolve())
        except ValueError:
            continue
        return f"{URL_PREFIX}/{name}/" + "/".join(quote(part) for part in rel.parts) + ("/" if path.is_dir() else "")
    return None


def receipt_copy(cfg, row: dict) -> Path | None:
    """The hub's readable copy of a batch's receipt (`<name>.receipt.json`, exchange_zone/receipts.py), if sent."""
    folder = Path(cfg.receipts) / row["feed"] / str(row["id"])
    found = sorted(folder.glob("*.receipt.json")) if folder.is_dir() else []
    return found[0] if found else None


def batch_links(cfg, row: dict) -> dict[str, str]:
    """A batch's links by what they show ("receipt", "quality page"): only those whose file exists."""
    from jinbao.quality.data_docs import data_docs_path   # heavy: only when links are made (docstring)

    receipt = receipt_copy(cfg, row)
    links = {"receipt": url_for(cfg, receipt) if receipt else None,
             "quality page": url_for(cfg, data_docs_path(cfg, row["feed"], row["id"]))}
    return {label: url for label, url in links.items() if url}
