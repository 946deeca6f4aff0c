"""A file the hub writes is there whole or not at all: written under a temporary name beside it and
renamed over it in one step, so a reader, a partner or a crash never meets half a file.

One definition of the pattern for every file the hub writes in place (staging Parquet, receipts,
reports, pinned mappings, partition plans, uploads to a partner's outbound/). Moving a delivery or a
folder that already exists (staging, acknowledgements, quarantine) is a rename alone and not this.
"""
from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator


def temporary_name(path: Path) -> Path:
    """Where `path` is written before it is renamed: beside it (one file system, so the rename is
    atomic), hidden and ending in .tmp (every listing of the hub and of partners skips such names),
    one per process (two writers of one file never share a temporary)."""
    return path.with_name(f".{path.name}.{os.getpid()}.tmp")


@contextmanager
def atomic_write(path: Path, *, mode: int | None = None, fsync: bool = True,
                 temporary: Path | None = None) -> Iterator[Path]:
    """Yield the temporary path to write; when the block ends, it becomes `path` in one rename.

    `fsync`: the data reaches the disk before the rename, so a power cut leaves the old file or the
    new one, never an empty one; staging files that a crash makes the hub judge again pass False
    (fsyncing gigabytes of Parquet would cost a run for nothing).  `mode`: the file's permission bits
    whatever the umask (a private key, a file only the hub may read).  A block that wrote nothing
    leaves `path` as it was; on an error the temporary file is removed and `path` is untouched.
    `temporary`: another name beside `path` where a partner expects one (an upload in progress in
    its outbound/ is `<name>.part`, as over SFTP)."""
    path = Path(path)
    tmp = Path(temporary) if temporary is not None else temporary_name(path)
    try:
        yield tmp
        if not os.path.lexists(tmp):
            return
        if fsync:
            fd = os.open(tmp, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_atomically(path: Path, data: bytes | str, *, mode: int | None = None, fsync: bool = True) -> None:
    """`data` (text as UTF-8) into `path` through `atomic_write`."""
    with atomic_write(path, mode=mode, fsync=fsync) as tmp:
        if isinstance(data, str):
            tmp.write_text(data, encoding="utf-8")
        else:
            tmp.write_bytes(data)
