"""The partners the hub exchanges with, declared in `<feeds dir>/partners.yaml` (the one list).

A partner used to be four Python lists kept in step by hand (the key files, the agreements' and
the feeds' allowed partners, the DAG owners); a new department then needed code in three folders.
Now feeds, agreements, `jinbao keys init`, the signer check of a sealed delivery and the DAG
owner all read this file, so adding a partner is one YAML entry.  It lives beside the feed
declarations (JINBAO_FEEDS_DIR) because it changes with them and a copy of that folder is a
complete set of declarations.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, fields
from pathlib import Path

from jinbao import strict_yaml
from jinbao.settings import load_setting

#: The file in the feed declarations folder; declarations.py skips it when it reads the feeds.
FILE = "partners.yaml"
#: An id is a drop-zone folder, a feed name's first word and a key file's name: lower case words.
_ID_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789_")


class PartnerError(ValueError):
    """partners.yaml is missing or malformed, or a declaration names a partner it lacks; the message
    names the file and the key."""


@dataclass(frozen=True)
class Partner:
    id: str
    #: its name in Chinese and in English, as the agreements name it
    zh: str
    en: str
    #: the team that owns its feeds' DAGs (Airflow's owner)
    owner: str
    #: its key pair's name under JINBAO_HOME/keys/: `<certificate>.crt` (jinbao/keys.py)
    certificate: str


KEYS = tuple(f.name for f in fields(Partner) if f.name != "id")


def _partner(path: Path, pid, raw) -> Partner:
    where = f"partners.{pid}"
    if not isinstance(pid, str) or not pid or not set(pid) <= _ID_CHARS or not pid[0].isalpha():
        raise PartnerError(f"{path}: partner id {pid!r} must be lower-case letters, digits and _ (a folder name)")
    if not isinstance(raw, dict):
        raise PartnerError(f"{path}: {where} must be a mapping of {', '.join(KEYS)}")
    strict_yaml.refuse_unknown(path, raw, KEYS, PartnerError, f"{where}.")
    missing = [k for k in KEYS if k not in raw]
    if missing:
        raise PartnerError(f"{path}: {where} lacks {', '.join(f'{where}.{k}' for k in missing)}")
    for key in KEYS:
        if not isinstance(raw[key], str) or not raw[key].strip():
            raise PartnerError(f"{path}: {where}.{key} must be a non-empty text, got {raw[key]!r}")
    if not set(raw["certificate"]) <= _ID_CHARS:
        raise PartnerError(f"{path}: {where}.certificate {raw['certificate']!r} must be a file name of "
                           "lower-case letters, digits and _ (keys/<certificate>.crt)")
    return Partner(id=pid, **{k: raw[k].strip() for k in KEYS})


@functools.lru_cache(maxsize=8)
def _read(folder: str) -> dict[str, Partner]:
    path = Path(folder) / FILE
    if not path.is_file():
        raise PartnerError(f"{path}: no partner list; the feed declarations folder must hold {FILE}")
    raw = strict_yaml.load_mapping(path, PartnerError, "the partner list")
    strict_yaml.refuse_unknown(path, raw, ("partners",), PartnerError)
    if not isinstance(raw.get("partners"), dict) or not raw["partners"]:
        raise PartnerError(f"{path}: partners must be a mapping of partner id: {{{', '.join(KEYS)}}}")
    partners = {pid: _partner(path, pid, spec) for pid, spec in raw["partners"].items()}
    seen: dict[str, str] = {}
    for p in partners.values():
        if p.certificate in seen or p.certificate == "hub":
            raise PartnerError(f"{path}: partners.{p.id}.certificate {p.certificate!r} is already "
                               f"{'the hub' if p.certificate == 'hub' else 'partner ' + seen[p.certificate]}'s")
        seen[p.certificate] = p.id
    return partners


def load_partners(feeds_dir: Path | str | None = None) -> dict[str, Partner]:
    """Every declared partner by id, from `<feeds_dir>/partners.yaml` (default: the settings' feeds
    folder).  Read once per folder and process."""
    return _read(str(_file(feeds_dir).parent.resolve()))


def partner_ids(feeds_dir: Path | str | None = None) -> tuple[str, ...]:
    return tuple(load_partners(feeds_dir))


def get_partner(pid: str, feeds_dir: Path | str | None = None) -> Partner:
    partners = load_partners(feeds_dir)
    if pid not in partners:
        raise PartnerError(f"no partner {pid!r} (declared: {', '.join(partners)}); a new partner is an entry in "
                           f"{_file(feeds_dir)}")
    return partners[pid]


def require(path: Path | str, key: str, value, feeds_dir: Path | str, error: type[ValueError]) -> str:
    """`value`, when it is a declared partner; else `error` naming the declaration's file and key and
    where a new partner is declared (the one wording feeds and agreements share)."""
    try:
        partners = load_partners(feeds_dir)
    except PartnerError as exc:
        raise error(str(exc)) from exc
    if value not in partners:
        raise error(f"{path}: {key} {value!r} is not a declared partner (declared: {', '.join(partners)}); "
                    f"a new partner is an entry in {_file(feeds_dir)}")
    return value


def _file(feeds_dir: Path | str | None) -> Path:
    return Path(feeds_dir if feeds_dir is not None else load_setting("feeds_dir")) / FILE
