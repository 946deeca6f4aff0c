"""The hub's readable files, read-only, for a browser: the app the Airflow plugin mounts at `/jinbao`.

Only the folders `jinbao.report_links.served_roots` names are reachable (receipts' hub copies,
reports); a path is refused unless it resolves, symlinks followed, to a file or folder inside
one of them: no `..`, no absolute path, no symlink out, no hidden file.  A file the hub wrote
private (no read bit for others: the auditors' full-ID workbook, mode 0600, whose every export
is recorded to a person) is never served nor listed.  Only GET and HEAD exist.  Pages are served with their content type and, for HTML, the same Content-Security-Policy
the quality page declares (nothing fetched, no script), so a report cannot act in Airflow's origin.
Who may read is Airflow's business: the plugin passes its auth dependency (`dependencies`).
"""
from __future__ import annotations

import html
import mimetypes
import stat
from pathlib import Path
from urllib.parse import quote

from fastapi import FastAPI, HTTPException
from fastapi.responses import FileResponse, HTMLResponse

from jinbao.report_links import URL_PREFIX, served_roots
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


def content_type(path: Path) -> str:
    return TYPES.get(path.suffix.lower()) or mimetypes.guess_type(path.name)[0] or "application/octet-stream"


def _listing(title: str, entries: list[tuple[str, str]]) -> HTMLResponse:
    items = "".join(f'<li><a href="{html.escape(href, quote=True)}">{html.escape(name)}</a></li>'
                    for name, href in entries) or "<li>(empty)</li>"
    page = (f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>{html.escape(title)}</title></head>'
            f"<body><h1>{html.escape(title)}</h1><ul>{items}</ul></body></html>")
    return HTMLResponse(page, headers=HEADERS)


def make_app(cfg=None, dependencies=None) -> FastAPI:
    """The read-only app over `cfg`'s served folders (default: the settings of the process serving it)."""
    app = FastAPI(title="Jinbao reports", docs_url=None, redoc_url=None, openapi_url=None,
                  dependencies=dependencies or [])
    settings = cfg

    def roots() -> dict[str, Path]:
        nonlocal settings
        settings = settings or load_settings()
        return served_roots(settings)

    @app.api_route("/", methods=["GET", "HEAD"])
    def index() -> HTMLResponse:
        return _listing("Jinbao reports 报告与回执", [(f"{name}/", f"{URL_PREFIX}/{name}/") for name in roots()])

    @app.api_route("/{area}/{rel:path}", methods=["GET", "HEAD"])
    def serve(area: str, rel: str = ""):
        root = roots().get(area)
        target = resolve(root, rel) if root is not None else None
        if target is None:
            raise HTTPException(status_code=404, detail="not found")
        if target.is_dir():
            base = root.resolve()
            inside = target.relative_to(base).parts
            entries = sorted((p for p in target.iterdir() if resolve(root, "/".join([*inside, p.name]))),
                             key=lambda p: (not p.is_dir(), p.name))
            url = f"{URL_PREFIX}/{area}/" + "".join(quote(p) + "/" for p in inside)
            return _listing(f"{area}/{target.relative_to(base).as_posix()}".rstrip("/.") + "/",
                            [(p.name + ("/" if p.is_dir() else ""), url + quote(p.name) + ("/" if p.is_dir() else ""))
                             for p in entries])
        return FileResponse(target, media_type=content_type(target), headers=HEADERS)

    return app
