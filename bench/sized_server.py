"""A private PostgreSQL cluster configured as docs/scale.md sizes a store's server, for one benchmark run.

The machine's PostgreSQL keeps Debian's defaults (128 MB shared_buffers, max_wal_size 1 GB), which
checkpoint several times while one 10M-record delivery is written.  `sized_server()` runs `initdb` into a
temporary folder (as the `postgres` user when run as root: initdb refuses root), starts the server on a
free loopback port with the settings below, yields an admin URL, and stops and removes it afterwards.
Same binaries, same disk, same durability (fsync and synchronous_commit stay on); only the sizing differs.
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

#: docs/scale.md, "The store's server": what differs from Debian's defaults.
SETTINGS = {
    "shared_buffers": "4GB",          # a quarter of a 16-24 GB machine; holds a 10M-row table's key index
    "max_wal_size": "16GB",           # above one 10M-person delivery's WAL: no checkpoint in the middle
    "checkpoint_timeout": "30min",
    "wal_buffers": "64MB",
}


def _bindir() -> Path:
    out = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True)
    if out.returncode == 0 and (Path(out.stdout.strip()) / "initdb").exists():
        return Path(out.stdout.strip())
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    if not found:
        raise SystemExit("no PostgreSQL server binaries (initdb) on this machine")
    return found[-1].parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def sized_server() -> Iterator[str]:
    """An admin URL (database postgres, user postgres, trust on loopback) of a freshly made, sized server."""
    bindir, port = _bindir(), _free_port()
    folder = Path(tempfile.mkdtemp(prefix="jinbao-pg-sized-"))
    data = folder / "data"
    as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    if as_postgres:
        shutil.chown(folder, "postgres", "postgres")
    subprocess.run([*as_postgres, str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust",
                    "--locale=C.UTF-8", "--encoding=UTF8"], check=True, capture_output=True)
    options = " ".join(f"-c {k}={v}" for k, v in {**SETTINGS, "listen_addresses": "127.0.0.1", "port": port,
                                                   "unix_socket_directories": str(folder)}.items())
    subprocess.run([*as_postgres, str(bindir / "pg_ctl"), "-D", str(data), "-l", str(folder / "server.log"),
                    "-o", options, "-w", "start"], check=True, capture_output=True)
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([*as_postgres, str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast", "stop"],
                       capture_output=True)
        shutil.rmtree(folder, ignore_errors=True)
