"""A large police.death delivery built with numpy, for benchmarks only.

The real generator (jinbao.generator) makes realistic small days; benchmarks
need millions of rows fast, with a known defect share, so they build their
own file with whole-array operations.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv

from jinbao.formats.citizen_id import with_check_char

COUNTIES = np.array(["110105", "310115", "440306", "330106", "510107", "420106"])
NAMES = np.array(["王伟", "李娜", "张敏", "刘洋", "陈静", "杨磊", "赵丽", "黄强", "周杰", "吴芳"])


def build(path: Path, n: int, defect_share: float = 0.2, seed: int = 7) -> Path:
    rng = np.random.default_rng(seed)
    birth = (np.datetime64("1930-01-01") + rng.integers(0, 365 * 60, n)).astype("datetime64[D]")
    male = rng.random(n) < 0.5
    seq = rng.integers(0, 500, n) * 2 + male.astype(int)
    first17 = pc.binary_join_element_wise(
        pa.array(COUNTIES[rng.integers(0, len(COUNTIES), n)]),
        pa.array(np.char.replace(birth.astype(str), "-", "")),
        pa.array(np.char.zfill(seq.astype(str), 3)), "")
    ids = with_check_char(first17).to_numpy(zero_copy_only=False).astype(object)
    death = (np.datetime64("2026-10-01") + rng.integers(0, 50, n)).astype("datetime64[D]")
    swrq = np.char.replace(death.astype(str), "-", "").astype(object)
    xb = np.where(male, "1", "2").astype(object)
    zxyy = np.full(n, "1", dtype=object)
    bad = np.flatnonzero(rng.random(n) < defect_share)
    kind = rng.integers(0, 4, len(bad))
    ids[bad[kind == 0]] = [i[:-1] + ("0" if i[-1] != "0" else "1") for i in ids[bad[kind == 0]]]
    xb[bad[kind == 1]] = "5"
    swrq[bad[kind == 2]] = "20230230"
    xb[bad[kind == 3]] = np.where(male[bad[kind == 3]], "2", "1")
    table = pa.table({
        "GMSFHM": pa.array(ids, pa.string()), "XM": pa.array(NAMES[rng.integers(0, len(NAMES), n)]),
        "XB": pa.array(xb, pa.string()), "SWRQ": pa.array(swrq, pa.string()),
        "ZXRQ": pa.array(np.full(n, "20261121")), "ZXYY": pa.array(zxyy, pa.string()),
        "HJDZ_XZQH": pc.utf8_slice_codeunits(pa.array(ids, pa.string()), 0, 6)})
    buf = pa.BufferOutputStream()
    pcsv.write_csv(table, buf, write_options=pcsv.WriteOptions(quoting_style="none"))
    path.write_bytes(buf.getvalue().to_pybytes().decode("utf-8").encode("gb18030"))
    return path
