"""Death records against the pension roll: exact match on the ID (Arrow hash join) vs a pandas merge,
then the probable-typo search on the records that fail.

Usage: python bench/death_match.py [--people 10000000] [--deaths 1000000] [--unmatched-share 0.05]
                                   [--repeat 3] [--data DIR]

Built with numpy (valid GB 11643 IDs, check character vectorised) and written to Parquet first
(`--data DIR` keeps the files and reuses them on the next run with the same sizes):
  roll    `people` pensioners, one row per person summarising a 12-month roll (2025-12 .. 2026-11):
          aac002, name, birth_date, gender, division, first/last month paid, months paid, monthly
          amount (decimal yuan).  The 120M payment rows themselves are not materialised: matching is
          per person, and whoever is paid which month follows from the summary;
  deaths  `deaths` death records (police, health, civil affairs) in random order: 1 - share of them
          pensioners with their ID as it is; of the share, 60 % a pensioner's ID with one typo
          (a digit replaced, the check character replaced, or two adjacent characters swapped; name,
          birth date, gender and division right) and 40 % people who are not on the roll.
Each mode then reads the files in a fresh process (reading is not timed), so its peak RSS
(VmHWM) is its own, and times each step `--repeat` times (first and best printed):
  arrow   jinbao.audit.matching.match_ids (the death records with last month paid, months paid and
          amount), then jinbao.audit.typos.probable_typos over the unmatched records;
  pandas  the same exact match as deaths.merge(roll, on="aac002", how="left", indicator=True) on
          the frames pd.read_parquet gives, split into matched and unmatched.
Both modes check their counts against the planted truth, and the typo search must find every
planted typo with the right pensioner and nothing else; a failed check exits non-zero.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.memory import peak_rss_kb  # noqa: E402

MONTHS = 12
FIRST_MONTH = "2025-12"
ROLL_COLUMNS = ["last_month_paid", "months_paid", "amount"]
FEEDS = ["police.death", "health.death_certificate", "civil_affairs.cremation"]


def counties():
    import numpy as np
    import pyarrow.compute as pc
    import pyarrow.csv as pcsv

    ref = pcsv.read_csv(ROOT / "mappings" / "reference" / "gbt2260.csv",
                        convert_options=pcsv.ConvertOptions(column_types={"code": "string", "valid_to": "string"}))
    current = ref.filter(pc.and_(pc.equal(ref["level"], "county"), pc.equal(ref["valid_to"], "")))
    return np.unique(current["code"].to_numpy(zero_copy_only=False).astype(np.int64))


def id_strings(first17):
    """18-character IDs (check character per GB 11643) from 17-digit integers, as one Arrow array
    built straight from a byte matrix."""
    import numpy as np

    from jinbao.formats.citizen_id import CHECK_CHARS, WEIGHTS

    n = len(first17)
    mat = np.empty((n, 18), dtype=np.uint8)
    v = first17.copy()
    total = np.zeros(n, dtype=np.int64)
    for i in range(16, -1, -1):
        digit = v % 10
        v //= 10
        mat[:, i] = digit + 48
        total += digit * WEIGHTS[i]
    mat[:, 17] = CHECK_CHARS[total % 11]
    return from_matrix(mat)


def from_matrix(mat):
    import numpy as np
    import pyarrow as pa

    n = len(mat)
    offsets = np.arange(0, 18 * n + 1, 18, dtype=np.int32)
    return pa.Array.from_buffers(pa.string(), n, [None, pa.py_buffer(offsets), pa.py_buffer(mat.tobytes())])


def names(rng, male):
    """Names from the generator's weighted lists, joined by Arrow (no Python string per person)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    from jinbao.generator.names import FEMALE_GIVEN, MALE_GIVEN, SURNAME_P, SURNAMES

    n = len(male)
    given = pa.array(MALE_GIVEN + FEMALE_GIVEN)
    pick = lambda: np.where(male, rng.integers(0, len(MALE_GIVEN), n),  # noqa: E731
                            len(MALE_GIVEN) + rng.integers(0, len(FEMALE_GIVEN), n))
    g1, g2 = given.take(pa.array(pick())), given.take(pa.array(pick()))
    g2 = pc.if_else(pa.array(rng.random(n) < 0.6), g2, "")
    surname = pa.array(SURNAMES).take(pa.array(rng.choice(len(SURNAMES), n, p=SURNAME_P)))
    return pc.binary_join_element_wise(surname, g1, g2, "")


def build(people: int, deaths: int, share: float, folder: Path, seed: int = 7) -> dict:
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    rng = np.random.default_rng(seed)
    unmatched = round(deaths * share)
    typos = round(unmatched * 0.6)
    strangers = unmatched - typos
    # Everyone: the roll's people and the strangers, with distinct IDs.
    total = people + strangers
    codes = counties()
    draw = int(total * 1.02) + 1000
    male = rng.random(draw) < 0.5
    birth = np.datetime64("1935-01-01") + rng.integers(0, 32 * 365, draw)
    days = birth.astype("datetime64[D]")
    y = days.astype("datetime64[Y]").astype(np.int64) + 1970
    m = days.astype("datetime64[M]").astype(np.int64) % 12 + 1
    d = (days - days.astype("datetime64[M]").astype("datetime64[D]")).astype(np.int64) + 1
    division = codes[rng.integers(0, len(codes), draw)]
    seq = rng.integers(0, 500, draw) * 2 + male
    first17 = division * 10**11 + (y * 10000 + m * 100 + d) * 1000 + seq
    _, first = np.unique(first17, return_index=True)
    first = rng.permutation(first)[:total]
    if len(first) < total:
        raise SystemExit("not enough distinct IDs drawn; raise the over-draw")
    male, days, division, first17 = male[first], days[first], division[first], first17[first]
    ids = id_strings(first17)
    people_names = names(rng, male)
    gender = pc.if_else(pa.array(male), "1", "2")
    div_str = pa.array(division.astype(str).astype(object), pa.string())
    birth32 = pa.array(days, pa.date32())

    # The roll: months 2025-12 .. 2026-11; 5 % started later, 3 % stopped earlier.
    month0 = np.datetime64(FIRST_MONTH, "M")
    start = np.where(rng.random(people) < 0.05, rng.integers(1, MONTHS, people), 0)
    stop = np.where(rng.random(people) < 0.03, rng.integers(0, MONTHS - 1, people), MONTHS - 1)
    stop = np.maximum(stop, start)
    to_date = lambda k: pa.array((month0 + k).astype("datetime64[D]"), pa.date32())  # noqa: E731
    fen = np.zeros((people, 2), dtype=np.int64)              # decimal128: 16-byte unscaled integers
    fen[:, 0] = rng.integers(150_000, 600_000, people)        # 1,500.00 .. 5,999.99 yuan a month
    roll = pa.table({
        "aac002": ids.slice(0, people), "name": people_names.slice(0, people), "birth_date": birth32.slice(0, people),
        "gender": gender.slice(0, people), "division": div_str.slice(0, people),
        "first_month_paid": to_date(start), "last_month_paid": to_date(stop),
        "months_paid": pa.array((stop - start + 1).astype(np.int8)),
        "amount": pa.Array.from_buffers(pa.decimal128(14, 2), people, [None, pa.py_buffer(fen)]),
    })
    pq.write_table(roll, folder / "roll.parquet")

    # The death records: pensioners as they are, pensioners with a typo, strangers.
    chosen = rng.choice(people, deaths - strangers, replace=False)
    exact, typo_of = chosen[: deaths - unmatched], chosen[deaths - unmatched:]
    mat = np.frombuffer(ids.take(pa.array(typo_of)).buffers()[2], dtype=np.uint8)[:18 * typos].reshape(-1, 18).copy()
    kind = rng.choice(3, typos, p=[0.4, 0.2, 0.4])          # 0 digit, 1 check character, 2 adjacent swap
    rows = np.arange(typos)
    pos = rng.integers(0, 17, typos)
    digit = mat[rows, pos] - 48
    sub = kind == 0
    mat[rows[sub], pos[sub]] = (digit[sub] + rng.integers(1, 10, sub.sum())) % 10 + 48
    chk = kind == 1
    chars = np.frombuffer(b"0123456789X", dtype=np.uint8)
    cur = np.where(mat[rows[chk], 17] == ord("X"), 10, mat[rows[chk], 17].astype(np.int64) - 48)
    mat[rows[chk], 17] = chars[(cur + rng.integers(1, 11, chk.sum())) % 11]   # any other check character
    swap = np.flatnonzero(kind == 2)
    differs = mat[swap, :17] != mat[swap, 1:]                   # pairs (i, i+1) that change when swapped
    at = (rng.random(differs.shape) * differs).argmax(axis=1)
    a, b = mat[swap, at].copy(), mat[swap, at + 1].copy()
    mat[swap, at], mat[swap, at + 1] = b, a
    sent = pa.concat_arrays([ids.take(pa.array(exact)), from_matrix(mat), ids.slice(people, strangers)])
    who = np.concatenate([exact, typo_of, np.arange(people, people + strangers)])
    shuffle = rng.permutation(deaths)
    who, sent = who[shuffle], sent.take(pa.array(shuffle))
    w = pa.array(who)
    record = pa.table({
        "aac002": sent, "name": people_names.take(w), "birth_date": birth32.take(w), "gender": gender.take(w),
        "division": div_str.take(w), "source_feed": pa.array(FEEDS).take(pa.array(rng.integers(0, 3, deaths))),
        "death_date": pa.array(np.datetime64("2025-12-01") + rng.integers(0, 360, deaths), pa.date32()),
        "batch_id": pa.array(rng.integers(1, 400, deaths)), "line_no": pa.array(np.arange(2, deaths + 2)),
    })
    pq.write_table(record, folder / "deaths.parquet")
    planted = np.flatnonzero(np.isin(shuffle, np.arange(deaths - unmatched, deaths - strangers)))
    pq.write_table(pa.table({"line_no": record["line_no"].take(pa.array(planted)),
                             "aac002": ids.take(w.take(pa.array(planted)))}), folder / "typos.parquet")
    facts = {"people": people, "deaths": deaths, "share": share, "matched": deaths - unmatched, "typos": typos,
             "strangers": strangers}
    (folder / "facts.json").write_text(json.dumps(facts))
    return facts


def run_arrow(folder: Path, repeat: int) -> dict:
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    from jinbao.audit.matching import match_ids
    from jinbao.audit.typos import probable_typos

    facts = json.loads((folder / "facts.json").read_text())
    roll, deaths = pq.read_table(folder / "roll.parquet"), pq.read_table(folder / "deaths.parquet")
    base, match_s, typo_s = peak_rss_kb(), [], []
    for _ in range(repeat):
        t0 = time.perf_counter()
        found = match_ids(deaths, roll, columns=ROLL_COLUMNS)
        match_s.append(time.perf_counter() - t0)
    peak_match = peak_rss_kb()
    for _ in range(repeat):
        t0 = time.perf_counter()
        typos = probable_typos(found.unmatched, roll, id_column="aac002")
        typo_s.append(time.perf_counter() - t0)
    truth = pq.read_table(folder / "typos.parquet")
    got = typos.select(["line_no", "aac002"]).sort_by("line_no")
    want = truth.sort_by("line_no")
    ok_typos = got.num_rows == want.num_rows and got.equals(want.cast(got.schema))
    kinds = {k: v for k, v in zip(*[c.to_pylist() for c in pc.value_counts(
        pc.replace_substring_regex(typos["difference"], r"[0-9X]+", "N")).flatten()])}
    return {"matched": found.matched.num_rows, "unmatched": found.unmatched.num_rows, "typos": typos.num_rows,
            "match_s": match_s, "typo_s": typo_s, "base": base, "peak_match": peak_match, "peak": peak_rss_kb(),
            "ok": found.matched.num_rows == facts["matched"] and ok_typos, "kinds": kinds}


def run_pandas(folder: Path, repeat: int) -> dict:
    import pandas as pd

    facts = json.loads((folder / "facts.json").read_text())
    roll = pd.read_parquet(folder / "roll.parquet", columns=["aac002", *ROLL_COLUMNS])
    deaths = pd.read_parquet(folder / "deaths.parquet")
    base, secs = peak_rss_kb(), []
    for _ in range(repeat):
        t0 = time.perf_counter()
        merged = deaths.merge(roll, on="aac002", how="left", indicator=True)
        both = merged["_merge"] == "both"
        matched = merged[both].drop(columns="_merge")
        unmatched = merged.loc[~both, list(deaths.columns)]
        secs.append(time.perf_counter() - t0)
        del merged, both
    return {"matched": len(matched), "unmatched": len(unmatched), "match_s": secs, "base": base,
            "peak": peak_rss_kb(), "ok": len(matched) == facts["matched"],
            "dtypes": {c: str(t) for c, t in roll.dtypes.items()}}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--people", type=int, default=10_000_000)
    ap.add_argument("--deaths", type=int, default=1_000_000)
    ap.add_argument("--unmatched-share", type=float, default=0.05)
    ap.add_argument("--repeat", type=int, default=3, help="time each step this many times in its process")
    ap.add_argument("--data", type=Path, help="keep the generated files here (reused when the sizes agree)")
    ap.add_argument("--child", nargs=2, metavar=("MODE", "FOLDER"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        mode, folder = args.child
        run = run_arrow if mode == "arrow" else run_pandas
        print(json.dumps(run(Path(folder), args.repeat)))
        return
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.data or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        want = {"people": args.people, "deaths": args.deaths, "share": args.unmatched_share}
        facts_file = folder / "facts.json"
        facts = json.loads(facts_file.read_text()) if facts_file.exists() else {}
        t0 = time.perf_counter()
        if {k: facts.get(k) for k in want} != want:
            facts = build(args.people, args.deaths, args.unmatched_share, folder)
            print(f"built a {args.people:,}-person roll and {args.deaths:,} death records ({facts['typos']:,} typos, "
                  f"{facts['strangers']:,} not on the roll) in {time.perf_counter() - t0:.0f} s")
        else:
            print(f"reusing {folder}")
        print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())} ({os.cpu_count()} cores)")
        results, failed = {}, False
        for mode in ("pandas", "arrow"):
            res = subprocess.run([sys.executable, __file__, "--repeat", str(args.repeat), "--child", mode,
                                  str(folder)], capture_output=True, text=True)
            if res.returncode:
                sys.exit(f"{mode} failed:\n{res.stderr[-3000:]}")
            results[mode] = r = json.loads(res.stdout.strip().splitlines()[-1])
            failed |= not r["ok"]
        p, a = results["pandas"], results["arrow"]
        print(f"{'step':<26}{'records':>10}{'matched':>10}{'found':>8}{'first s':>9}{'best s':>8}{'records/s':>12}"
              f"{'peak MB':>9}{'growth MB':>10}")
        rows = (("exact, pandas merge", args.deaths, f"{p['matched']:,}", "", p["match_s"], p["peak"]),
                ("exact, match_ids (Arrow)", args.deaths, f"{a['matched']:,}", "", a["match_s"], a["peak_match"]),
                ("typos on the unmatched", a["unmatched"], "", f"{a['typos']:,}", a["typo_s"], a["peak"]))
        for step, n, matched, found, secs, peak in rows:
            base = p["base"] if "pandas" in step else a["base"]
            print(f"{step:<26}{n:>10,}{matched:>10}{found:>8}{secs[0]:>9.2f}{min(secs):>8.2f}"
                  f"{int(n / min(secs)):>12,}{peak // 1024:>9}{(peak - base) // 1024:>10}")
        print(f"exact match: Arrow {min(p['match_s']) / min(a['match_s']):.1f}x the pandas merge (best of "
              f"{args.repeat}; first runs {p['match_s'][0] / a['match_s'][0]:.1f}x); typos found by kind: "
              f"{a['kinds']}; pandas read the roll as {p['dtypes']}")
        print(f"load average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        from bench.summary import emit
        emit("death_match", not failed, people=args.people, deaths=args.deaths, pandas=p, arrow=a)
        if failed:
            sys.exit(f"FAILED: counts differ from the planted truth (pandas ok={p['ok']}, arrow ok={a['ok']}, "
                     f"planted typos {facts['typos']:,}, found {a['typos']:,})")


if __name__ == "__main__":
    main()
