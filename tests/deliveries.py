"""Small hand-built partner deliveries whose every defect is known by the test."""
from __future__ import annotations

from pathlib import Path

import pyarrow as pa

from jinbao.formats.citizen_id import with_check_char

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


# --- the bureau's own feeds (partner hrss: UTF-8, hub field names and codes) ---------------------
HRSS_COLUMNS = {
    "hrss.pension_roll": ["AAC002", "AAC003", "AAA002", "AAC006", "AAB301", "FFNY", "FFJE"],
    "hrss.resident_enrollment": ["AAC002", "AAC003", "CBND", "DWBH", "DWMC", "DW_XZQH", "GRJFJE", "JFRQ"],
    "hrss.contribution": ["AAC002", "AAB998", "JFNY", "JFBZ"],
}


def _employer(i: int) -> str:
    from jinbao.formats.uscc import with_check_char as uscc_check
    return uscc_check(pa.array([f"91{COUNTIES[i % len(COUNTIES)]}MA{i:07d}"])).to_pylist()[0]


def _person(i: int) -> tuple[str, str, bool, str]:
    """(ID, name, male, birth YYYYMMDD) of test person i: the ID's address code is COUNTIES[i % 5]."""
    male = i % 2 == 0
    birth = f"19{40 + i % 20}0{1 + i % 9}1{i % 10}"
    return citizen_id(i, male=male, birth=birth), SURNAMES[i % 10] + GIVEN[(i // 10) % 10], male, birth


def pension_row(i: int, month: str = "2026-11", **overrides) -> dict:
    aac002, name, male, birth = _person(i)
    row = {"AAC002": aac002, "AAC003": name, "AAA002": "1" if male else "2",
           "AAC006": f"{birth[:4]}-{birth[4:6]}-{birth[6:]}", "AAB301": COUNTIES[i % len(COUNTIES)],
           "FFNY": month, "FFJE": f"{2000 + 37 * i}.{i % 100:02d}"}
    row.update(overrides)
    return row


def enrollment_row(i: int, **overrides) -> dict:
    aac002, name, _, _ = _person(i)
    county = COUNTIES[(i + 1) % len(COUNTIES)]             # the unit is not where the person lives
    row = {"AAC002": aac002, "AAC003": name, "CBND": "2026", "DWBH": f"52{county}{i % 5:03d}",
           "DWMC": "新华社区居民委员会", "DW_XZQH": county, "GRJFJE": "400.00", "JFRQ": "2026-11-20"}
    row.update(overrides)
    return row


def contribution_row(i: int, month: str = "202611", **overrides) -> dict:
    aac002, _, _, _ = _person(i)
    row = {"AAC002": aac002, "AAB998": _employer(i % 3), "JFNY": month, "JFBZ": "1" if i % 4 else "0"}
    row.update(overrides)
    return row


def write_hrss(folder: Path, feed: str, rows: list[dict], date: str = "20261122", seq: int = 1) -> Path:
    return write_delivery(folder, feed, rows, date=date, seq=seq, encoding="UTF-8", columns=HRSS_COLUMNS[feed])


# --- the other two death feeds (UTF-8), for the CZBZ column they may carry -----------------------
HEALTH_DEATH = ["ID_NO", "NAME", "SEX", "BIRTH_DATE", "DEATH_DATE", "DEATH_PLACE", "ORG_USCC"]
CREMATION = ["SFZH", "XM", "SEX", "SWRQ", "HHRQ", "BYGMC"]


def health_death_row(i: int, **overrides) -> dict:
    aac002, name, male, birth = _person(i)
    from jinbao.formats.uscc import with_check_char as uscc_check
    row = {"ID_NO": aac002, "NAME": name, "SEX": "M" if male else "F",
           "BIRTH_DATE": f"{birth[:4]}-{birth[4:6]}-{birth[6:]}", "DEATH_DATE": f"2026-11-{1 + i % 20:02d}",
           "DEATH_PLACE": COUNTIES[i % len(COUNTIES)],
           "ORG_USCC": uscc_check(pa.array(["12110000400000123"])).to_pylist()[0]}
    row.update(overrides)
    return row


def cremation_row(i: int, **overrides) -> dict:
    aac002, name, male, _ = _person(i)
    row = {"SFZH": aac002, "XM": name, "SEX": "2" if male else "1",          # civil affairs: reversed
           "SWRQ": f"2026-11-{1 + i % 20:02d}", "HHRQ": "2026-11-21", "BYGMC": "八宝山殡仪馆"}
    row.update(overrides)
    return row
