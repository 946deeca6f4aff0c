"""Recognise text that decoded without error but through the wrong encoding.

A GB18030 reader fed UTF-8 bytes does not fail: each 3-byte UTF-8 Chinese
character (lead E4–E9, continuation 80–BF) is regrouped into byte pairs and
comes out as rare but legal characters (张三 -> 寮犱笁).  The pattern is exact:
pairs alternate lead+cont, cont+lead, cont+cont.  The character classes below
are computed from GB18030 itself, so the rule is a regular expression over
the whole column (Arrow compute), not a per-row Python check.  The reverse
accident (GBK bytes read as Latin-1: ÕÅÈý) and undecodable bytes (U+FFFD)
are caught by simpler classes.
"""
from __future__ import annotations

import functools
import re

import pyarrow as pa
import pyarrow.compute as pc

_LEAD = range(0xE4, 0xEA)     # lead bytes of UTF-8 CJK Unified Ideographs U+4E00–U+9FFF
_CONT = range(0x80, 0xC0)     # UTF-8 continuation bytes


def _chars(firsts: range, seconds: range) -> str:
    out = []
    for a in firsts:
        for b in seconds:
            try:
                ch = bytes((a, b)).decode("gb18030")
            except UnicodeDecodeError:
                continue
            if len(ch) == 1:
                out.append(ch)
    return "".join(sorted(set(out)))


def _cls(chars: str) -> str:
    return "[" + "".join(re.escape(c) for c in chars) + "]"


@functools.lru_cache(maxsize=1)
def mojibake_pattern() -> str:
    lc = _cls(_chars(_LEAD, _CONT))
    cl = _cls(_chars(_CONT, _LEAD))
    cc = _cls(_chars(_CONT, _CONT))
    utf8_as_gb = f"{lc}{cl}{cc}"
    gbk_as_latin1 = "[\u0080-\u00ff]{2}"  # a lone · (U+00B7) in 买买提·艾力 is fine
    return f"\ufffd|{utf8_as_gb}|{gbk_as_latin1}|[\u0080-\u009f]|锟斤拷|烫烫|屯屯"


def looks_mojibake(col: pa.Array) -> pa.Array:
    """True where the text holds characters typical of a wrong decoding."""
    return pc.fill_null(pc.match_substring_regex(col, mojibake_pattern()), False)
