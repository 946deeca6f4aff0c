"""What every entry of a partner's inbound/ is: one classification, for every transport and feed.

An entry is exactly one of:

* a **delivery** file of one of the partner's feeds (its data file or a companion of a complete
  delivery), named exactly as agreed: `<feed>_<YYYYMMDD>_<seq>.csv`, or `.csv.p7m` with its
  `.manifest.json` and `.manifest.json.sig` where the feed takes sealed deliveries;
* **waiting**: an upload in progress (a temporary name: `.part`, `.tmp`, `.filepart`, a
  leading dot, a trailing `~`), or an agreed name whose companions or data file have not all
  arrived yet;
* a **stray**: anything else — a link, a device, a folder that is not the hub's own, a name
  that is almost a delivery's (`.CSV`, a trailing space or line break, `.txt`, `.csv.gz`,
  full-width digits, a plain CSV where the feed takes sealed ones) or nothing like one.  A
  stray is set aside unread with a receipt naming the reason and, where the hub can tell, the
  name it should have had;
* one of the hub's own folders (`processed/`, `rejected/`).

Names are matched exactly: ASCII digits only, and a pattern's end never matches before a
trailing line break (fullmatch / `\\Z`, never `$`).  No name is ever shown as it came:
`shown_name` masks citizen IDs, makes white space and control characters visible and
bounds the length, for the ledger, receipts, logs and standard output alike.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import re
import unicodedata
from dataclasses import dataclass, field

from jinbao.connectors.base import TEMPORARY, RemoteDelivery, companions_of
from jinbao.privacy import mask_text

#: The hub's own folders inside inbound/ (acknowledged deliveries, strays set aside).
PROCESSED, REJECTED = "processed", "rejected"
HUB_FOLDERS = (PROCESSED, REJECTED)
#: Where a stray that is itself called `rejected` waits for a moment while the folder of that name
#: is made (connectors: set_aside); a run killed in between finds it here and finishes the move.
INTERIM = re.compile(r"\.rejected\.[0-9a-f]{8}\.jinbao-aside")

#: `<feed>_<YYYYMMDD>_<seq>` and whatever follows it, exactly (ASCII digits; `rest` keeps any line break).
_SHAPE = re.compile(r"(?P<feed>[a-z_]+\.[a-z_]*[a-z])_(?P<date>[0-9]{8})_(?P<seq>[0-9]{1,12})(?P<rest>\..*)?", re.S)
#: The same, as a careless partner might write it once case, width and white space are undone.
_LOOSE = re.compile(r"(?P<feed>[a-z_]+\.[a-z_]*[a-z])[_\-.]?(?P<date>[0-9]{8}|[0-9]{4}-[0-9]{2}-[0-9]{2})[_\-.]?"
                    r"(?P<seq>[0-9]{1,12})(?P<rest>\..*)?", re.S)
_COMPRESSED = (".gz", ".zip", ".7z", ".rar", ".bz2", ".xz", ".z", ".tgz", ".tar")
#: How long a name may be where the hub shows it (ledger column: 255).
SHOWN_LIMIT = 200


@dataclass(frozen=True)
class Form:
    """How one feed's deliveries are named in this drop zone."""

    feed: str
    sealed: bool = False          # .csv.p7m with a signed manifest, or plain .csv
    companions: tuple[str, ...] = ()

    @property
    def data_suffix(self) -> str:
        return ".csv.p7m" if self.sealed else ".csv"


@dataclass(frozen=True)
class Stray:
    """An entry no feed will ever take: set aside unread, with a receipt."""

    name: str                     # exactly as listed (may hold a line break, undecodable bytes, an ID)
    shown: str                    # how the hub shows it (shown_name): the ledger's file_name
    reason: str                   # BAD_NAME, NOT_A_FILE, NOT_SEALED
    detail: str                   # for the partner's receipt: masked, no hub path
    expected: str | None = None   # the name it should have had, when the hub can tell


@dataclass
class Inbound:
    """Every entry of inbound/, each in exactly one of these."""

    deliveries: dict[str, list[RemoteDelivery]] = field(default_factory=dict)   # feed -> complete, oldest first
    waiting: list[tuple[str, str]] = field(default_factory=list)                # (name, why)
    strays: list[Stray] = field(default_factory=list)
    hub: list[str] = field(default_factory=list)

    def of(self, feed: str) -> list[RemoteDelivery]:
        return self.deliveries.get(feed, [])


# --------------------------------------------------------------------------- showing names
def _visible(ch: str) -> str:
    code = ord(ch)
    if 0xDC80 <= code <= 0xDCFF:                      # a byte that is not UTF-8 (surrogateescape)
        return f"\\x{code - 0xDC00:02x}"
    if ch in "\n\r\t":
        return {"\n": "\\n", "\r": "\\r", "\t": "\\t"}[ch]
    if unicodedata.category(ch)[0] in "CZ" and ch != " ":
        return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"
    return ch


def shown_name(name: str, limit: int = SHOWN_LIMIT) -> str:
    """A name as the hub may show it anywhere: citizen IDs masked, line breaks, control and
    invisible characters and bytes that are not UTF-8 escaped (\\n, \\u3000, \\xff), a space at
    either end shown as \\x20, at most `limit` characters (a cut name ends in … and a short hash
    of the whole, so two long names stay apart)."""
    text = "".join(_visible(ch) for ch in mask_text(name))
    core = text.strip(" ")
    lead, trail = len(text) - len(text.lstrip(" ")), len(text) - len(text.rstrip(" "))
    text = "\\x20" * lead + core + "\\x20" * trail if core else "\\x20" * len(text)
    if len(text) > limit:
        text = text[:limit - 9] + "…" + hashlib.sha256(text.encode()).hexdigest()[:8]
    return text


def safe_fragment(shown: str, limit: int = 60) -> str:
    """ASCII letters, digits, `.`, `_` and `-` of a shown name, for a file name the hub writes."""
    frag = re.sub(r"[^A-Za-z0-9._-]+", "_", shown).strip("._-")
    return frag[:limit].rstrip("._-")


# --------------------------------------------------------------------------- classifying
def _real_date(yyyymmdd: str) -> bool:
    try:
        dt.datetime.strptime(yyyymmdd, "%Y%m%d")
        return True
    except ValueError:
        return False


def _forms_text(forms: dict[str, Form]) -> str:
    return ", ".join(f"{f.feed}_<YYYYMMDD>_<seq>{f.data_suffix}" for f in forms.values()) or "none"


def _not_agreed(shown: str, partner: str, forms: dict[str, Form]) -> str:
    return (f'"{shown}" is not the name of a delivery of a feed agreed with {partner} here '
            f"({_forms_text(forms)}); it was not read")


def _suggest(name: str, partner: str, forms: dict[str, Form]) -> tuple[str, str, str | None]:
    """(reason, detail, expected name) for a regular file that is not a delivery's."""
    shown = shown_name(name)
    problems = []
    text = name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    wide = unicodedata.normalize("NFKC", text)
    if wide != text:
        problems.append("full-width or other non-ASCII letters or digits (agreed names are ASCII)")
    clean = "".join(ch for ch in wide if not (ch.isspace() or unicodedata.category(ch)[0] == "C"
                                             or ch == "\ufffd"))
    if clean != wide:
        problems.append("white space, a line break or another invisible character in the name")
    low = clean.lower()
    if low != clean:
        problems.append("upper-case letters (agreed names are lower case)")
    m = _LOOSE.fullmatch(low)
    if m is None:
        return "BAD_NAME", _not_agreed(shown, partner, forms), None
    form = forms.get(m["feed"])
    if form is None:
        return "BAD_NAME", mask_text(f'"{shown}": {m["feed"]} is not a feed {partner} delivers here '
                                     f"({_forms_text(forms)}); it was not read"), None
    date = m["date"].replace("-", "")
    if not _real_date(date):
        return "BAD_NAME", mask_text(f'"{shown}": {date} is not a date (YYYYMMDD); it was not read'), None
    base = f"{m['feed']}_{date}_{m['seq']}"
    if not low.startswith(base):
        problems.append("the parts must be <feed>_<YYYYMMDD>_<seq>, joined by '_'")
    rest = m["rest"] or ""
    reason = "BAD_NAME"
    if form.sealed and rest.endswith(".sig"):
        expected = base + form.companions[-1]
        if rest not in (form.companions[-1], form.data_suffix + form.companions[-1]):
            problems.append(f"a signature is named <base>{form.companions[-1]}")
    elif form.sealed and rest.endswith(".json"):
        expected = base + form.companions[0]
        if rest not in (form.companions[0], form.data_suffix + form.companions[0]):
            problems.append(f"a manifest is named <base>{form.companions[0]}")
    elif not form.sealed and (rest.endswith(".sig") or rest.endswith(".json")):
        return "BAD_NAME", mask_text(f'"{shown}": {form.feed} takes plain {form.data_suffix} deliveries here, '
                                     "without manifest or signature; it was not read"), None
    else:
        expected = base + form.data_suffix
        if rest.endswith(_COMPRESSED):
            problems.append("a compressed file (the agreement has the CSV itself)")
        elif form.sealed and rest == ".csv":
            reason = "NOT_SEALED"
            problems.append(f"a plain CSV: {form.feed} takes only signed, encrypted deliveries here")
        elif not form.sealed and rest.endswith(".p7m"):
            problems.append(f"sealed, but {form.feed} takes plain CSV deliveries here")
        elif rest != form.data_suffix:
            problems.append(f"the extension must be {form.data_suffix}")
    if not problems:             # only what a name never holds was wrong, e.g. a NUL
        problems.append("characters an agreed name never holds")
    how = (f"; send it as {expected} with {base}{form.companions[0]} and {base}{form.companions[1]}"
           if form.sealed and expected.endswith(".p7m") else f"; send it as {expected}")
    return reason, mask_text(f'"{shown}": {"; ".join(problems)}. It was not read{how}'), expected


def classify(entries: dict[str, str], forms: list[Form] | tuple[Form, ...], partner: str = "the partner") -> Inbound:
    """Every entry of inbound/ (name -> "file", "dir" or "other", as Transport.entries gives them) as a
    delivery, waiting, a stray or a hub folder; `forms` are the partner's feeds that deliver here."""
    by_feed = {f.feed: f for f in forms}
    out = Inbound()
    files = {n for n, kind in entries.items() if kind == "file" and not TEMPORARY.search(n)}
    data: dict[str, tuple[Form, re.Match]] = {}
    companion: dict[str, str] = {}                 # companion name -> its data file name(s) base
    strays: list[Stray] = []
    for name, kind in sorted(entries.items()):
        if INTERIM.fullmatch(name):                # a stray called `rejected`, half set aside
            strays.append(_stray(REJECTED, kind, partner, by_feed, as_name=name))
            continue
        if kind == "dir" and name in HUB_FOLDERS:
            out.hub.append(name)
            continue
        if TEMPORARY.search(name):
            out.waiting.append((name, "upload in progress (temporary name)"))
            continue
        if kind != "file":
            strays.append(_stray(name, kind, partner, by_feed))
            continue
        m = _SHAPE.fullmatch(name)
        form = by_feed.get(m["feed"]) if m else None
        if form is not None and _real_date(m["date"]):
            rest = m["rest"] or ""
            if rest == form.data_suffix:
                data[name] = (form, m)
                continue
            base = f"{m['feed']}_{m['date']}_{m['seq']}"
            if any(rest in (c, form.data_suffix + c) for c in form.companions):
                companion[name] = base
                continue
        strays.append(_stray(name, kind, partner, by_feed))
    taken: set[str] = set()
    for name, (form, m) in data.items():
        needed = companions_of(files, name, form.companions)
        if needed is None:
            out.waiting.append((name, "its manifest or signature has not arrived"))
            continue
        taken.update(needed)
        out.deliveries.setdefault(form.feed, []).append(
            RemoteDelivery(name, form.feed, m["date"], int(m["seq"]), needed))
    for feed in out.deliveries:
        out.deliveries[feed].sort(key=lambda d: (d.sequence, d.name))
    for name in sorted(set(companion) - taken):
        out.waiting.append((name, "a manifest or signature whose data file has not arrived"))
    # the one called `rejected` first: the folder of that name can only be made once it is out of the way
    out.strays = sorted(strays, key=lambda s: (s.shown != REJECTED, s.name))
    return out


def _stray(name: str, kind: str, partner: str, forms: dict[str, Form], as_name: str | None = None) -> Stray:
    shown = shown_name(name)
    if kind == "file":
        reason, detail, expected = _suggest(name, partner, forms)
    else:
        what = "a folder" if kind == "dir" else "a link, a device or another entry that is not a regular file"
        m = _SHAPE.fullmatch(name)
        form = forms.get(m["feed"]) if m else None
        reason = "NOT_A_FILE"
        expected = name if form is not None and _real_date(m["date"]) else None
        detail = (f'"{shown}" is {what}; it was not read. ' +
                  (f"Send it as a regular file named {expected}" if expected else
                   f"Deliveries are regular files named {_forms_text(forms)}"))
    return Stray(as_name or name, shown, reason, detail, expected)
