"""What every area's commands share (jinbao/cli.py assembles them): argument types that say what
was expected, times on the hub's clock, and tables aligned for terminals and logs alike."""
from __future__ import annotations

import argparse
import datetime as dt
from zoneinfo import ZoneInfo

from jinbao.display import display_width
from jinbao.settings import TIMEZONE


def iso_date(text: str) -> dt.date:
    """argparse type: a day as YYYY-MM-DD."""
    try:
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a date YYYY-MM-DD: {text!r}") from exc


def year_month(text: str) -> dt.date:
    """argparse type: a month as YYYY-MM (its first day)."""
    try:
        return dt.datetime.strptime(text, "%Y-%m").date()
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a month YYYY-MM") from None


def local_minute(moment) -> str:
    """A moment as an operator reads it: China Standard Time, to the minute ('-' when there is none)."""
    return moment.astimezone(ZoneInfo(TIMEZONE)).strftime("%Y-%m-%d %H:%M") if moment else "-"


def print_table(rows: list[tuple[str, ...]], right: set[int] = frozenset()) -> None:
    """Columns aligned by display width (Chinese characters count two), for terminals and logs alike."""
    widths = [max(display_width(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        cells = [(" " * (w - display_width(c)) + c) if i in right else (c + " " * (w - display_width(c)))
                 for i, (c, w) in enumerate(zip(r, widths))]
        print("  ".join(cells).rstrip())
