"""Regenerate gbt2260.csv from python-stdnum's cn/loc.dat (a scrape of zh.wikipedia's
中华人民共和国行政区划代码 pages, which record every code since 1980 with the years it
was in force).  Run: python mappings/reference/build_gbt2260.py  (needs python-stdnum).

Year-only history is all the source gives: a code created in 1992 is taken as valid
from 1992-01-01, one abolished in 2010 as valid to 2010-12-31, and codes with no
start year from 1980-01-01 (the first edition of GB/T 2260).  The source marks 14 codes
"[1983-1982]" (codes that came and went between the 1982 and 1983 editions, e.g.
下关市 532901 before 大理市); taken literally they were never valid, so an
interval whose start year is after its end year is read as the two years
between them (1982-01-01 to 1983-12-31).
"""
from __future__ import annotations

import csv
import os
import re
from pathlib import Path

ENTRY = re.compile(r"^(?:\[(\d{4})?-(\d{4})?\])?(.+)$")


def parse(loc_dat: Path):
    province = None
    for line in loc_dat.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        if not line.startswith(" "):
            province = line.split()[0]
            continue
        code4, rest = line.strip().split(" ", 1)
        names = rest.split("=", 1)[1].strip('"')
        code = province + code4
        level = "province" if code.endswith("0000") else "prefecture" if code.endswith("00") else "county"
        for part in names.split(","):
            m = ENTRY.match(part)
            start, end, name = m.group(1), m.group(2), m.group(3)
            if start and end and start > end:           # "[1983-1982]": between two editions
                start, end = end, start
            yield (code, name, level, f"{start or '1980'}-01-01", f"{end}-12-31" if end else "")


def main() -> None:
    import stdnum  # only this maintainer's script needs python-stdnum
    src = Path(os.path.dirname(stdnum.__file__)) / "cn" / "loc.dat"
    out = Path(__file__).with_name("gbt2260.csv")
    rows = sorted(set(parse(src)))
    with open(out, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["code", "name", "level", "valid_from", "valid_to"])
        w.writerows(rows)
    print(f"{out}: {len(rows)} rows from {src} (python-stdnum {stdnum.__version__})")


if __name__ == "__main__":
    main()
