"""Field rules that follow from the hub dictionary's types, as column masks.

Each check looks at one hub column (already translated) and adds a failure on
the partner's column name, because the receipt speaks to the partner.  Checks
only judge values that are present; an absent required value is REQUIRED and
nothing else, so a record's reasons are not a cascade of one mistake.
"""
from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from jinbao.quality import citizen_id
from jinbao.quality.encoding import looks_mojibake
from jinbao.quality.failures import Failures
from jinbao.quality.fixed_width import rows_with_digits

ID_PATTERN = r"^[0-9]{17}[0-9X]$"
AMOUNT_PATTERN = r"^[0-9]{1,10}(\.[0-9]{1,2})?$"
NAME_FORBIDDEN = r"[0-9０-９]"


def as_mask(mask) -> np.ndarray:
    if isinstance(mask, np.ndarray):
        return mask
    return pc.fill_null(mask, False).to_numpy(zero_copy_only=False)


def check_citizen_id(ids: pa.Array, field: str, on: dt.date, f: Failures) -> tuple[np.ndarray, pa.Array, np.ndarray]:
    """Format, GB 11643 check digit, real birth date and address code inside.

    Returns (valid mask, birth dates inside the valid IDs, male mask) from one
    pass over the ID bytes, so the gender and birth-date rules downstream need
    not look at the IDs again.
    """
    facts = citizen_id.inspect(ids)
    f.add(facts.present & ~facts.well_formed, field, "ID_FORMAT")
    f.add(facts.well_formed & ~facts.checksum, field, "ID_CHECKSUM")
    birth_ok = facts.checksum & ~np.isnat(facts.birth) & (facts.birth <= np.datetime64(on))
    f.add(facts.checksum & ~birth_ok, field, "ID_BIRTHDATE_INVALID")
    # The address code must be a real county code of SOME year, not of the birth
    # year: IDs were issued decades after birth (docs/reference-data.md).
    from jinbao.mappings.reference import county_code_ints
    address_ok = np.isin(facts.address, county_code_ints())
    f.add(birth_ok & ~address_ok, field, "ID_ADDRESS_UNKNOWN")
    valid = birth_ok & address_ok
    births = pa.array(np.where(valid, facts.birth, np.datetime64("NaT")), pa.date32())
    return valid, births, facts.male


def check_name(names: pa.Array, field: str, max_length: int, f: Failures) -> None:
    present = as_mask(pc.is_valid(names))
    moji = present & as_mask(looks_mojibake(names))
    f.add(moji, field, "BAD_ENCODING")
    bad = present & (rows_with_digits(names) | as_mask(pc.greater(pc.utf8_length(names), max_length)))
    f.add(bad, field, "NAME_INVALID")


def check_text(values: pa.Array, field: str, max_length: int | None, f: Failures, raw: pa.Array) -> None:
    present = as_mask(pc.is_valid(values))
    moji = present & as_mask(looks_mojibake(values))
    f.add(moji, field, "BAD_ENCODING")
    if max_length:
        f.add(present & as_mask(pc.greater(pc.utf8_length(values), max_length)), field, "TEXT_TOO_LONG")


def check_in_set(values: pa.Array, allowed: set[str], field: str, f: Failures, raw: pa.Array) -> None:
    present = as_mask(pc.is_valid(values))
    known = as_mask(pc.is_in(values, value_set=pa.array(sorted(allowed), pa.string())))
    f.add(present & ~known, field, "UNMAPPED_CODE", raw)


def check_pattern(values: pa.Array, pattern: str, reason: str, field: str, f: Failures, raw: pa.Array) -> None:
    present = as_mask(pc.is_valid(values))
    f.add(present & ~as_mask(pc.match_substring_regex(values, pattern)), field, reason, raw)


def check_not_future(dates: pa.Array, on: dt.date, field: str, f: Failures, raw: pa.Array) -> None:
    f.add(as_mask(pc.greater(dates, pa.scalar(on, pa.date32()))), field, "DATE_IN_FUTURE", raw)


def check_not_before(later: pa.Array, earlier: pa.Array, reason: str, field: str, f: Failures,
                     raw: pa.Array) -> None:
    f.add(as_mask(pc.less(later, earlier)), field, reason, raw)


def check_gender(genders: pa.Array, male: np.ndarray, id_ok: np.ndarray, field: str, f: Failures,
                 raw: pa.Array) -> None:
    """Hub 1/2 must agree with the 17th digit's parity; 9 (unspecified) is not a contradiction."""
    says_male, says_female = as_mask(pc.equal(genders, "1")), as_mask(pc.equal(genders, "2"))
    stated = says_male | says_female
    differs = (says_male & ~male) | (says_female & male)
    f.add(id_ok & stated & differs, field, "ID_GENDER_MISMATCH", raw)


def check_birth_date(births: pa.Array, id_births: pa.Array, field: str, f: Failures, raw: pa.Array) -> None:
    """The birth date field must equal the one inside the ID (null where the ID is invalid)."""
    f.add(as_mask(pc.not_equal(births, id_births)), field, "ID_BIRTHDATE_MISMATCH", raw)
