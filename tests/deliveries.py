"""Small hand-built partner deliveries whose every defect is known by the test."""
from __future__ import annotations

from pathlib import Path

import pyarrow as pa

from jinbao.quality.citizen_id import with_check_char

POLICE_DEATH = ["GMSFHM", "XM", "XB", "SWRQ", "ZXRQ", "ZXYY", "HJDZ_XZQH"]
COUNTIES = ["110105", "310115", "440306", "330106", "510107"]
SURNAMES = "王李张刘陈杨黄赵吴周"
GIVEN = ["伟", "芳", "娜", "秀英", "敏", "静", "丽", "强", "磊", "军"]


def citizen_id(i: int, male: bool = True, birth: str = "19500101") -> str:
    seq = f"{(i * 2) % 1000:03d}"
    seq = seq[:2] + str((int(seq[2]) | 1) if male else (int(seq[2]) & ~1))
    first17 = COUNTIES[i % len(COUNTIES)] + birth + seq
    return with_check_char(pa.array([first17])).to_pylist()[0]


def death_row(i: int, **overrides) -> dict:
    male = i % 2 == 0
    row = {
        "GMSFHM": citizen_id(i, male=male, birth=f"19{40 + i % 20}0{1 + i % 9}1{i % 10}"),
        "XM": SURNAMES[i % 10] + GIVEN[(i // 10) % 10],
        "XB": "1" if male else "2",
        "SWRQ": f"202611{1 + i % 20:02d}",
        "ZXRQ": "20261121",
        "ZXYY": "1",
        "HJDZ_XZQH": COUNTIES[i % len(COUNTIES)],
    }
    row.update(overrides)
    return row


def write_delivery(folder: Path, feed: str, rows: list[dict], date: str = "20261122", seq: int = 1,
                   encoding: str = "GB18030", columns: list[str] = POLICE_DEATH) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{feed}_{date}_{seq:06d}.csv"
    lines = [",".join(columns)] + [",".join(str(r.get(c, "")) for c in columns) for r in rows]
    path.write_bytes(("\n".join(lines) + "\n").encode(encoding))
    return path
