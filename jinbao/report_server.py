"""The hub's readable files, read-only, for a browser: the app the Airflow plugin mounts at `/jinbao`.

Only the folders `jinbao.report_links.served_roots` names are reachable (receipts' hub copies,
reports); a path is refused unless it resolves, symlinks followed, to a file or folder inside
one of them: no `..`, no absolute path, no symlink out, no hidden file.  A file the hub wrote
private (no read bit for others: the auditors' full-ID workbook, mode 0600, whose every export
is recorded to a person) is never served nor listed.  Only GET and HEAD exist.  Pages are served
with their content type and, for HTML, the same Content-Security-Policy the quality page declares
(nothing fetched, no script), so a report cannot act in Airflow's origin.

Who may read is Airflow's business.  The plugin passes its login check (`dependencies`) and a
`reader`: a FastAPI dependency that gives, per request, "may this user read DAG X" (Airflow's auth
manager).  A served path is then open only to the readers of its DAG (jinbao.report_links.governed:
a feed's receipts and quality pages are its DAG's, the death reports the auditors' DAG's), decided
where it really is, symlinks followed.  A folder lists only what the user may open; a folder above
the DAGs' folders (a served root, reports/quality/) is there only when something in it is theirs;
what is no DAG's is nobody's.  What they may not open is "not found", as a path that does not exist:
a 403 would tell an auditor which partners' batches, or which months' reports, exist.  Without a
`reader` (the CLI's tests, the hub without Airflow) every served file is open to whoever calls.
"""
from __future__ import annotations

import functools
import html
import mimetypes
import stat
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

from fastapi import Depends, FastAPI, HTTPException
from fastapi.responses import FileResponse, HTMLResponse

from jinbao.report_links import URL_PREFIX, governed, served_roots
from jinbao.settings import load_settings

#: Types mimetypes may not know everywhere; text is UTF-8 unless a partner's receipt CSV says otherwise.
TYPES = {".json": "application/json", ".csv": "text/csv", ".html": "text/html; charset=utf-8",
         ".htm": "text/html; charset=utf-8", ".txt": "text/plain; charset=utf-8",
         ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
HEADERS = {"X-Content-Type-Options": "nosniff", "Cache-Control": "no-store",
           "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'"}


def private(path: Path) -> bool:
    """Written for the hub alone (jinbao/files.py `mode`): nobody but its owner may read it."""
    return not path.stat().st_mode & stat.S_IROTH


def resolve(root: Path, rel: str) -> Path | None:
    """`rel` inside `root` as an existing path, or None when it is outside, hidden, private or missing."""
    parts = [p for p in rel.split("/") if p]
    if rel.startswith(("/", "\\")) or any(p in ("..", ".") or p.startswith(".") or "\\" in p or "\x00" in p
                                         for p in parts):
        return None
    base = root.resolve()
    try:
        target = base.joinpath(*parts).resolve(strict=True)
        target.relative_to(base)
    except (OSError, ValueError, RuntimeError):
        return None
    return None if private(target) else target


#: "May this request's user read DAG X", or None: nobody to ask, every served path is open.
MayRead = Callable[[str], bool] | None


def no_reader() -> MayRead:
    return None


def entries(base: Path, folder: Path) -> list[tuple[str, Path]]:
    """`folder`'s entries that `resolve` lets through, by name, with where each really is; folders first."""
    inside = folder.relative_to(base).parts
    found = ((p.name, resolve(base, "/".join([*inside, p.name]))) for p in folder.iterdir())
    return sorted(((name, path) for name, path in found if path is not None),
                  key=lambda entry: (not entry[1].is_dir(), entry[0]))


def may_open(area: str, base: Path, target: Path, may_read: MayRead) -> bool:
    """Whether the user may open `target` (through `resolve`) under the served root `base` (resolved)."""
    if may_read is None:
        return True
    parts = target.relative_to(base).parts
    owner = governed(area, parts)
    if owner is None or (owner.folder and not target.is_dir()):
        return False
    if owner.dag is not None:
        return may_read(owner.dag)
    # a folder above the DAGs' folders: only deeper entries count, so a link back up cannot loop
    return any(may_open(area, base, path, may_read) for _, path in entries(base, target)
               if len(path.relative_to(base).parts) > len(parts))


def content_type(path: Path) -> str:
    return TYPES.get(path.suffix.lower()) or mimetypes.guess_type(path.name)[0] or "application/octet-stream"


def _listing(title: str, links: list[tuple[str, str]]) -> HTMLResponse:
    items = "".join(f'<li><a href="{html.escape(href, quote=True)}">{html.escape(name)}</a></li>'
                    for name, href in links) or "<li>(empty)</li>"
    page = (f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>{html.escape(title)}</title></head>'
            f"<body><h1>{html.escape(title)}</h1><ul>{items}</ul></body></html>")
    return HTMLResponse(page, headers=HEADERS)


def make_app(cfg=None, dependencies=None, reader: Callable[..., MayRead] = no_reader) -> FastAPI:
    """The read-only app over `cfg`'s served folders (default: the settings of the process serving it),
    each path open to whom `reader` (a FastAPI dependency) says may read its DAG."""
    app = FastAPI(title="Jinbao reports", docs_url=None, redoc_url=None, openapi_url=None,
                  dependencies=dependencies or [])
    settings = cfg

    def roots() -> dict[str, Path]:
        nonlocal settings
        settings = settings or load_settings()
        return served_roots(settings)

    def asked(may_read: MayRead) -> MayRead:
        """The user's answers, each DAG asked once per request (a listing asks for every feed)."""
        return functools.cache(may_read) if may_read is not None else None

    @app.api_route("/", methods=["GET", "HEAD"])
    def index(may_read: MayRead = Depends(reader)) -> HTMLResponse:
        may_read = asked(may_read)

        def opens(name: str, root: Path) -> bool:
            base = resolve(root, "")
            return base is not None and may_open(name, base, base, may_read)
        shown = [name for name, root in roots().items() if may_read is None or opens(name, root)]
        return _listing("Jinbao reports 报告与回执", [(f"{name}/", f"{URL_PREFIX}/{name}/") for name in shown])

    @app.api_route("/{area}/{rel:path}", methods=["GET", "HEAD"])
    def serve(area: str, rel: str = "", may_read: MayRead = Depends(reader)):
        may_read = asked(may_read)
        root = roots().get(area)
        target = resolve(root, rel) if root is not None else None
        base = root.resolve() if target is not None else None
        if target is None or not may_open(area, base, target, may_read):
            raise HTTPException(status_code=404, detail="not found")
        if target.is_dir():
            inside = target.relative_to(base).parts
            url = f"{URL_PREFIX}/{area}/" + "".join(quote(p) + "/" for p in inside)
            shown = [(name + ("/" if path.is_dir() else ""), url + quote(name) + ("/" if path.is_dir() else ""))
                     for name, path in entries(base, target) if may_open(area, base, path, may_read)]
            return _listing(f"{area}/{target.relative_to(base).as_posix()}".rstrip("/.") + "/", shown)
        return FileResponse(target, media_type=content_type(target), headers=HEADERS)

    return app
