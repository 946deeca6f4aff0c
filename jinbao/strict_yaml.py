"""The one reader of declaration files: feeds, agreements, register authority, subsidy standards,
mappings, the hub dictionary and the partner schemas.

PyYAML keeps the last of two equal keys without a word, and keeps an unknown key that nothing
ever reads; in a declaration both are typos that silently change what the hub does (a partner
code mapped twice, `max_reject:` for `max_reject_share:`).  Every declaration kind is read
here so that both are refused the same way, naming the file, the line of a repeated key and
the full path of an unknown one.  Each kind raises its own error class (FeedError,
MappingError, ...), because callers and tests catch those.
"""
from __future__ import annotations

import difflib
from collections.abc import Iterable
from pathlib import Path

import yaml


class _Loader(yaml.SafeLoader):
    """SafeLoader that refuses a key repeated in one mapping."""

    error: type[ValueError] = ValueError


#: The same loader on libyaml's parser, about 15x faster (every `jinbao run` reads some 25 declarations:
#: 0.2 s in Python, 13 ms here).  Parsed by C, constructed by the same Python code, so the same data;
#: any document it refuses is read again by `_Loader`, so an error says exactly what it always said.
_FastLoader = type("_FastLoader", (yaml.CSafeLoader, ), {"error": ValueError}) \
    if getattr(yaml, "__with_libyaml__", False) else None


def _no_duplicates(loader: _Loader, node: yaml.MappingNode, deep: bool = False) -> dict:
    seen: dict = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise loader.error(f"{loader.name}:{key_node.start_mark.line + 1}: key {key!r} appears twice "
                               f"(first on line {seen[key]})")
        seen[key] = key_node.start_mark.line + 1
    return loader.construct_mapping(node, deep=deep)


for _kind in (_Loader, _FastLoader):
    if _kind is not None:
        _kind.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _no_duplicates)


def load(path: Path | str, error: type[ValueError], text: str | None = None):
    """The YAML document in `path` (or `text`, read as if it were that file), refusing repeated keys;
    invalid YAML is `error` naming the file and the line."""
    if text is None:
        text = Path(path).read_text(encoding="utf-8")
    if _FastLoader is not None and not yaml.reader.Reader.NON_PRINTABLE.search(text):
        fast = _FastLoader(text)
        fast.name, fast.error = str(path), error
        try:
            return fast.get_single_data()
        except yaml.YAMLError:
            pass                        # read again below, for the pure-Python reader's own message
        finally:
            fast.dispose()
    loader = _Loader(text)
    loader.name, loader.error = str(path), error
    try:
        return loader.get_single_data()
    except yaml.YAMLError as exc:
        raise error(f"{path}: not valid YAML: {exc}") from exc
    finally:
        loader.dispose()


def load_mapping(path: Path | str, error: type[ValueError], what: str, text: str | None = None) -> dict:
    """`load`, for a file whose document must be a mapping (`what` names it in the error)."""
    raw = load(path, error, text)
    if not isinstance(raw, dict):
        raise error(f"{path}: {what} is a YAML mapping")
    return raw


def refuse_unknown(path: Path | str, raw: dict, allowed: Iterable[str], error: type[ValueError],
                   where: str = "", hint: str | None = None) -> None:
    """Refuse any key of `raw` outside `allowed`; `where` is the dotted path of `raw` in the file
    ("" at the top, "transport." inside transport), so the message names the key in full.  `hint`
    replaces the list of allowed keys where a sentence says it better."""
    allowed = tuple(allowed)
    unknown = [k for k in raw if k not in allowed]
    if unknown:
        near = {k: difflib.get_close_matches(str(k), [a for a in allowed if a not in raw], n=1) for k in unknown}
        near = {k: m[0] for k, m in near.items() if m}
        guess = ("did you mean " + ", ".join(f"{where}{m}" + (f" for {k}" if len(near) > 1 else "")
                                           for k, m in near.items()) + "?") if near else ""
        raise error(f"{path}: unknown key(s) {', '.join(f'{where}{k}' for k in unknown)} "
                    f"(as written: {', '.join(map(repr, unknown))}); {guess + ' ' if guess else ''}"
                    f"{hint or 'allowed: ' + ', '.join(allowed)}")
