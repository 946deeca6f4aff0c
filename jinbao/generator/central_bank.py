"""central_bank.employer_status: employers the central bank's credit data flags.

Keyed by USCC, not by person, so its defects are about employers: a wrong
check character, an unknown status or division, a garbled or missing name.
Employers are synthetic: county + trade name + industry + legal form.
UTF-8; the reporting quarter is the last complete one.  The agreed feed is
quarterly; the generator sends one every day, each day's employers drawn from
that day's stream, so no two days' files are alike (docs/generator.md).
"""
from __future__ import annotations

import numpy as np

from jinbao.generator import credit_codes as uscc
from jinbao.generator.delivery import Delivery, Kind
from jinbao.generator.world import World

FEED, PARTNER, ENCODING = "central_bank.employer_status", "central_bank", "UTF-8"
COLUMNS = ["TYSHXYDM", "DWMC", "XZQH", "ZT", "BGQ"]
KINDS = [Kind("TYSHXYDM", "USCC_CHECKSUM"), Kind("ZT", "UNMAPPED_CODE", "3"), Kind("DWMC", "BAD_ENCODING"),
         Kind("DWMC", "REQUIRED"), Kind("XZQH", "DIVISION_UNKNOWN")]
TRADE = np.array(["华信", "恒达", "宏远", "鑫盛", "金泰", "永安", "瑞丰", "德隆", "广源", "天成", "中盛", "新达",
                  "博远", "汇通", "长兴", "佳和", "福瑞", "嘉禾", "明辉", "志诚"])
INDUSTRY = np.array(["科技", "贸易", "建筑工程", "餐饮管理", "物流", "机械制造", "商贸", "电子", "实业", "服装",
                     "物业管理", "劳务派遣"])
FORM = np.array(["有限公司", "有限责任公司", "股份有限公司"])


def size(people: int) -> int:
    return max(50, people // 200)


def last_quarter(w: World) -> str:
    q = (w.on.month - 1) // 3                     # 0-based current quarter = 1-based previous one
    return f"{w.on.year}Q{q}" if q else f"{w.on.year - 1}Q4"


def build(rng: np.random.Generator, w: World, n: int) -> Delivery:
    county = w.county[rng.integers(0, len(w.county), n)].astype(str)   # employers where people live
    name = np.char.add(np.char.add(np.char.add(w.county_name(county).astype(str), TRADE[rng.integers(0, len(TRADE), n)]),
                                   INDUSTRY[rng.integers(0, len(INDUSTRY), n)]), FORM[rng.choice(3, n, p=[0.7, 0.2, 0.1])])
    cols = {"TYSHXYDM": uscc.make(rng, uscc.ENTERPRISE, county), "DWMC": name.astype(object),
            "XZQH": county.astype(object), "ZT": np.where(rng.random(n) < 0.6, "2", "1").astype(object),
            "BGQ": np.full(n, last_quarter(w), dtype=object)}
    return Delivery(FEED, PARTNER, ENCODING, COLUMNS, cols, KINDS, eligible=np.ones(n, dtype=bool))
