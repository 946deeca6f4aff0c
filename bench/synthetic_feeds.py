"""Large deliveries of every inbound feed, built with whole-array operations, for benchmarks only.

The real generator (jinbao.generator) makes realistic small days with a story; a benchmark needs
millions of records in seconds, valid by the agreement (codes, dates and genders consistent with
the ID, real divisions, check characters), with a known share of records carrying exactly one
defect, so that what the gate accepts and rejects can be checked against what was planted.

People are numbered: person i has a unique valid ID (a one-to-one map of i onto county x birth day
x sequence), so any feed can name the same people as another by the same numbers: the finance
payments of persons 0..k pay the lines of the enrolments of persons 0..k.  A feed with several
records per person (a pension roll of 12 months, three subsidy levels) numbers its records and
takes person = record // per_person.

Each defect kind makes the gate (or the subsidy payments check) reject the record with one reason:
a wrong check character, an unmapped code, an impossible date, a gender the ID contradicts, a
cremation before the death, a payment of the wrong amount.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv

from jinbao.formats.citizen_id import with_check_char
from jinbao.generator.credit_codes import ALPHABET, check_values

COUNTIES = np.array(["110105", "310115", "440306", "330106", "510107", "420106"])
NAMES = np.array(["王伟", "李娜", "张敏", "刘洋", "陈静", "杨磊", "赵丽", "黄强", "周杰", "吴芳"])
DAYS, SEQS = 365 * 60, 1000
SPACE = len(COUNTIES) * DAYS * SEQS
STEP = 1_000_003                        # a prime not dividing SPACE: i -> i*STEP mod SPACE is one-to-one
assert SPACE % STEP


@dataclass
class People:
    """Persons by number: their IDs and what the ID says (county, birth day, gender)."""
    ids: np.ndarray          # object array of 18-character IDs
    county: np.ndarray
    birth: np.ndarray        # datetime64[D]
    male: np.ndarray

    @classmethod
    def numbered(cls, numbers: np.ndarray) -> "People":
        idx = (numbers.astype(np.int64) * STEP + 12_345) % SPACE
        county, rest = idx % len(COUNTIES), idx // len(COUNTIES)
        day, seq = rest % DAYS, rest // DAYS
        birth = (np.datetime64("1940-01-01") + day).astype("datetime64[D]")
        first17 = pc.binary_join_element_wise(pa.array(COUNTIES[county]), pa.array(ymd(birth)),
                                              pa.array(np.char.zfill(seq.astype(str), 3)), "")
        return cls(with_check_char(first17).to_numpy(zero_copy_only=False).astype(object), COUNTIES[county],
                   birth, seq % 2 == 1)


def ymd(days: np.ndarray, sep: str = "") -> np.ndarray:
    """datetime64[D] as YYYYMMDD (or YYYY-MM-DD with sep="-")."""
    text = days.astype("datetime64[D]").astype(str)
    return text if sep == "-" else np.char.replace(text, "-", sep)


def wrong_last_char(codes: np.ndarray) -> np.ndarray:
    """IDs or credit codes with a different, hence wrong, check character (18 ASCII characters)."""
    mat = np.asarray(codes, dtype="S18").view(np.uint8).reshape(len(codes), 18).copy()
    mat[:, 17] = np.where(mat[:, 17] == ord("0"), ord("1"), ord("0"))
    return mat.view("S18").ravel().astype(str).astype(object)


def credit_codes(numbers: np.ndarray, divisions: np.ndarray) -> np.ndarray:
    """One valid, unique USCC per number: 91 + division + the number in 9 digits + check."""
    n = len(numbers)
    mat = np.empty((n, 18), dtype=np.uint8)
    mat[:, :2] = np.frombuffer(b"91", dtype=np.uint8)
    mat[:, 2:8] = np.asarray(divisions, dtype="S6").view(np.uint8).reshape(n, 6)
    mat[:, 8:17] = np.char.zfill(numbers.astype(str), 9).astype("S9").view(np.uint8).reshape(n, 9)
    mat[:, 17] = ALPHABET[check_values(mat[:, :17])]
    return mat.view("S18").ravel().astype(str).astype(object)


def _gender(male: np.ndarray, m: str, f: str) -> np.ndarray:
    return np.where(male, m, f).astype(object)


def _months(k: np.ndarray, sep: str) -> np.ndarray:
    """Month k (0..11) of the twelve up to 2026-10 as YYYY-MM or YYYYMM."""
    months = (np.datetime64("2025-11") + k).astype("datetime64[M]").astype(str)
    return months if sep == "-" else np.char.replace(months, "-", "")


# ------------------------------------------------------------------ the feeds
#: Columns of one block: builder(record numbers, people of those records, per-record k, rng) -> {column: values}.
Builder = Callable[[np.ndarray, People, np.ndarray, np.random.Generator], dict]
#: A defect: (column, how) where how(values at the defective records, the block's columns, where) -> new values.
Defect = tuple[str, Callable]


@dataclass
class Synthetic:
    feed: str
    partner: str
    encoding: str
    key: list[str]                   # the partner columns of the target's key (the declaration's record_keys)
    build: Builder
    defects: list[Defect]
    per_person: int = 1              # records per person (months of a roll, subsidy levels)
    after: list[str] = field(default_factory=list)    # feeds whose deliveries must be in the store first


def _names(rng, m):
    return NAMES[rng.integers(0, len(NAMES), m)].astype(object)


def _police_identity(n, p, k, rng):
    change = (np.datetime64("2026-10-23") + rng.integers(0, 30, len(n))).astype("datetime64[D]")
    return {"GMSFHM": p.ids, "XM": _names(rng, len(n)), "XB": _gender(p.male, "1", "2"), "CSRQ": ymd(p.birth),
            "MZ": np.char.zfill(rng.integers(1, 6, len(n)).astype(str), 2), "HJDZ_XZQH": p.county,
            "BGRQ": ymd(change)}


def _death_days(m, rng):
    return (np.datetime64("2026-10-01") + rng.integers(0, 50, m)).astype("datetime64[D]")


def _police_death(n, p, k, rng):
    return {"GMSFHM": p.ids, "XM": _names(rng, len(n)), "XB": _gender(p.male, "1", "2"),
            "SWRQ": ymd(_death_days(len(n), rng)), "ZXRQ": np.full(len(n), "20261121"),
            "ZXYY": np.full(len(n), "1"), "HJDZ_XZQH": p.county}


HOSPITALS = credit_codes(np.arange(200), np.resize(COUNTIES, 200))


def _health(n, p, k, rng):
    return {"ID_NO": p.ids, "NAME": _names(rng, len(n)), "SEX": _gender(p.male, "M", "F"),
            "BIRTH_DATE": ymd(p.birth, "-"), "DEATH_DATE": ymd(_death_days(len(n), rng), "-"),
            "DEATH_PLACE": p.county, "ORG_USCC": HOSPITALS[rng.integers(0, len(HOSPITALS), len(n))]}


def _cremation(n, p, k, rng):
    death = _death_days(len(n), rng)
    return {"SFZH": p.ids, "XM": _names(rng, len(n)), "SEX": _gender(p.male, "2", "1"),   # reversed: 1 female
            "SWRQ": ymd(death, "-"), "HHRQ": ymd(death + rng.integers(0, 2, len(n)), "-"),
            "BYGMC": np.full(len(n), "市殡仪馆")}


def _assistance(n, p, k, rng):
    start = (np.datetime64("2020-01-01") + rng.integers(0, 2000, len(n))).astype("datetime64[D]")
    ended = rng.random(len(n)) < 0.2
    end = np.where(ended, ymd(start + 365, "-"), "")
    return {"SFZH": p.ids, "XM": _names(rng, len(n)), "SEX": _gender(p.male, "2", "1"),
            "JZLB": np.char.zfill(rng.integers(1, 4, len(n)).astype(str), 2), "XZQH": p.county,
            "KSRQ": ymd(start, "-"), "ZZRQ": end}


def _pension_roll(n, p, k, rng):
    return {"AAC002": p.ids, "AAC003": _names(rng, len(n)), "AAA002": _gender(p.male, "1", "2"),
            "AAC006": ymd(p.birth, "-"), "AAB301": p.county, "FFNY": _months(k, "-"),
            "FFJE": np.char.add(rng.integers(2000, 6000, len(n)).astype(str), ".50")}


def _enrollment(n, p, k, rng):
    unit = rng.integers(0, 500, len(n))
    return {"AAC002": p.ids, "AAC003": _names(rng, len(n)), "CBND": np.full(len(n), "2026"),
            "DWBH": np.char.add("SQ", np.char.zfill(unit.astype(str), 5)), "DWMC": np.full(len(n), "阳光社区"),
            "DW_XZQH": COUNTIES[unit % len(COUNTIES)], "GRJFJE": np.full(len(n), "380.00"),
            "JFRQ": ymd((np.datetime64("2026-01-05") + rng.integers(0, 300, len(n))).astype("datetime64[D]"), "-")}


EMPLOYERS = credit_codes(np.arange(50_000), np.resize(COUNTIES, 50_000))


def _contribution(n, p, k, rng):
    person = n // 12
    return {"AAC002": p.ids, "AAB998": EMPLOYERS[person % len(EMPLOYERS)], "JFNY": _months(k, ""),
            "JFBZ": np.where(rng.random(len(n)) < 0.95, "1", "0")}


#: 2026 standards of an ordinary resident (category 00), by level: what the enrolments' lines owe.
DUE = np.array(["200.00", "120.00", "80.00"])


def _subsidy_payment(n, p, k, rng):
    level = k + 1
    county = p.county.astype("U6")
    owing = np.where(level == 1, np.char.add(county.astype("U2"), "0000"),
                     np.where(level == 2, np.char.add(county.astype("U4"), "00"), county))
    return {"SFZH": p.ids, "XZQH": owing, "BTJB": level.astype(str), "BTND": np.full(len(n), "2026"),
            "BTJE": DUE[k], "DZRQ": ymd((np.datetime64("2026-10-01") + rng.integers(0, 50, len(n)))
                                        .astype("datetime64[D]"))}


def _employer_status(n, p, k, rng):
    county = COUNTIES[n % len(COUNTIES)]
    return {"TYSHXYDM": credit_codes(n, county), "DWMC": np.full(len(n), "某某有限公司"), "XZQH": county,
            "ZT": np.where(rng.random(len(n)) < 0.5, "1", "2"), "BGQ": np.full(len(n), "2026Q3")}


def _set(value):
    return lambda old, cols, where: np.full(len(old), value, dtype=object)


def _id_check(old, cols, where):
    return wrong_last_char(old)


def _other_gender(male_code: str, female_code: str):
    return lambda old, cols, where: np.where(old == male_code, female_code, male_code).astype(object)


def _before(column: str):
    """A YYYY-MM-DD date one day before another column's: a cross-field rule fails."""
    def how(old, cols, where):
        other = cols[column][where].astype(str).astype("datetime64[D]")
        return ymd(other - 1, "-").astype(object)
    return how


def _wrong_amount(old, cols, where):
    return np.char.add(np.asarray(old, dtype=str).astype("U3"), ".01").astype(object)


FEEDS: dict[str, Synthetic] = {s.feed: s for s in (
    Synthetic("police.identity", "police", "GB18030", ["GMSFHM"], _police_identity,
              [("GMSFHM", _id_check), ("XB", _set("5"))]),
    Synthetic("police.death", "police", "GB18030", ["GMSFHM"], _police_death,
              [("GMSFHM", _id_check), ("XB", _set("5")), ("SWRQ", _set("20230230"))]),
    Synthetic("health.death_certificate", "health", "UTF-8", ["ID_NO"], _health,
              [("ID_NO", _id_check), ("SEX", _set("X")), ("DEATH_DATE", _set("2023-02-30"))]),
    Synthetic("civil_affairs.cremation", "civil_affairs", "UTF-8", ["SFZH"], _cremation,
              [("SFZH", _id_check), ("SEX", _set("5")), ("HHRQ", _before("SWRQ"))]),
    Synthetic("civil_affairs.assistance", "civil_affairs", "UTF-8", ["SFZH", "JZLB", "KSRQ"], _assistance,
              [("SFZH", _id_check), ("JZLB", _set("09")), ("ZZRQ", _before("KSRQ"))]),
    Synthetic("hrss.pension_roll", "hrss", "UTF-8", ["AAC002", "FFNY"], _pension_roll,
              [("AAC002", _id_check), ("AAA002", _other_gender("1", "2")), ("FFNY", _set("2026-13"))],
              per_person=12),
    Synthetic("hrss.resident_enrollment", "hrss", "UTF-8", ["AAC002", "CBND"], _enrollment,
              [("AAC002", _id_check), ("DW_XZQH", _set("999999")), ("JFRQ", _set("2026-02-30"))]),
    Synthetic("hrss.contribution", "hrss", "UTF-8", ["AAC002", "AAB998", "JFNY"], _contribution,
              [("AAC002", _id_check), ("AAB998", _id_check), ("JFBZ", _set("5"))], per_person=12),
    Synthetic("finance.subsidy_payment", "finance", "GB18030", ["SFZH", "BTND", "BTJB"], _subsidy_payment,
              [("SFZH", _id_check), ("BTJB", _set("7")), ("BTJE", _wrong_amount)], per_person=3,
              after=["hrss.resident_enrollment"]),
    Synthetic("central_bank.employer_status", "central_bank", "UTF-8", ["TYSHXYDM", "BGQ"], _employer_status,
              [("TYSHXYDM", _id_check), ("ZT", _set("7")), ("BGQ", _set("2026Q5"))]),
)}


def block(syn: Synthetic, start: int, m: int, defect_share: float, rng: np.random.Generator) -> tuple[pa.Table, int]:
    """Records start..start+m of the feed's delivery, and how many carry a defect (one each)."""
    n = np.arange(start, start + m, dtype=np.int64)
    k = n % syn.per_person
    cols = syn.build(n, People.numbered(n // syn.per_person), k, rng)
    cols = {c: np.asarray(v, dtype=object) for c, v in cols.items()}
    bad = np.flatnonzero(rng.random(m) < defect_share)
    kind = rng.integers(0, len(syn.defects), len(bad))
    for i, (column, how) in enumerate(syn.defects):
        where = bad[kind == i]
        if len(where):
            cols[column][where] = how(cols[column][where], cols, where)
    return pa.table({c: pa.array(v, pa.string()) for c, v in cols.items()}), len(bad)


def write(path: Path, feed: str, n: int, defect_share: float, seed: int = 11, block_size: int = 1_000_000,
          first: int = 0) -> dict:
    """The feed's delivery of n records (records first..first+n) in its agreed encoding; the planted counts."""
    syn = FEEDS[feed]
    rng = np.random.default_rng(seed)
    defects = 0
    with open(path, "wb") as out:
        for start in range(first, first + n, block_size):
            m = min(block_size, first + n - start)
            table, bad = block(syn, start, m, defect_share, rng)
            defects += bad
            buf = pa.BufferOutputStream()
            pcsv.write_csv(table, buf, write_options=pcsv.WriteOptions(quoting_style="none",
                                                                       include_header=start == first))
            data = buf.getvalue().to_pybytes()
            out.write(data if syn.encoding == "UTF-8" else data.decode("utf-8").encode(syn.encoding.lower()))
    return {"records": n, "rejected": defects, "accepted": n - defects}
