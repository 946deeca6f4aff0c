"""How text is shown to a person: aligned in a fixed grid (a terminal, a workbook's columns) and
without a control character a cell, a CSV, a page or a terminal would swallow or act on.

One definition each, so the CLI's tables, the auditors' files and the quality page agree.
(File names have their own, stricter form, escapes that survive a copy and paste: connectors/names.py
`shown_name`.)
"""
from __future__ import annotations

import re
import unicodedata

_CONTROLS = re.compile(r"[\x00-\x1f\x7f]")
#: The same without tab, line feed and carriage return.
_CONTROLS_BUT_LAYOUT = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def display_width(text: str) -> int:
    """Width in a fixed-width grid: CJK (wide and full-width) characters count double."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def visible_controls(text: str, keep_layout: bool = False) -> str:
    """Control characters as their visible symbols (U+2400 on: \\x00 as ␀, DEL as ␡).

    `keep_layout`: tab, line feed and carriage return stay as they are (a report's cell may hold
    several lines; a value on the quality page shows them as ␉ ␊ ␍)."""
    pattern = _CONTROLS_BUT_LAYOUT if keep_layout else _CONTROLS
    return pattern.sub(lambda m: "␡" if m[0] == "\x7f" else chr(0x2400 + ord(m[0])), text)
