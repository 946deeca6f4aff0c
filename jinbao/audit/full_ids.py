"""The auditors' full-ID workbook: made for one authenticated person with a purpose, recorded first,
sealed to that person or kept on the hub, never served and never in a drop zone.

An auditor who must act on a finding (stop a payment, recover an overpayment) needs the full IDs.
The workbook holding them is written only for a `Requester` (requester.py: the Airflow login that
triggered the report DAG, or the OS user on the hub's host), with the purpose they gave, and only
after its exchange-log entry (the caller's `record`) is committed: a record that fails leaves no file.

Where it goes, under `Settings.exports` (JINBAO_HOME/exports: not one of the folders the Airflow
plugin serves, not a drop zone), in a folder of the requester's own:

- their certificate installed at `keys/auditors/<name>.crt` (jinbao/keys.py): the workbook sealed to
  it, CMS as the hub seals deliveries to partners (exchange_zone/envelope.py), and only the envelope
  written (`deaths-M-full-ids.xlsx.p7m`); the plaintext never reaches the disk, and only their private
  key opens it, so it may be handed over by any channel;
- no certificate: the workbook itself (`deaths-M-full-ids.xlsx`), mode 0600, read on the hub's host.

The exchange log holds the workbook's sha256 either way (the plaintext: what the envelope decrypts to).
"""
from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from cryptography import x509

from jinbao.audit import findings
from jinbao.audit.render import FULL_IDS, file_names, finding_rows, month_text, people
from jinbao.audit.render_excel import workbook_bytes
from jinbao.audit.requester import ExportRefused, Requester, purpose_of
from jinbao.exchange_zone.envelope import encrypt
from jinbao.files import write_atomically
from jinbao.keys import auditor_cert, auditor_cert_path, file_safe
from jinbao.keys_expiry import expired_reason

#: The exchange log's status of an export: where its file went.
SEALED, KEPT = "sealed", "kept on hub"
#: The sealed workbook's suffix (CMS EnvelopedData, DER), as sealed deliveries carry it.
ENVELOPE = ".p7m"


@dataclass(frozen=True)
class Export:
    """One full-ID export, as the exchange log records it before its file appears."""
    file: Path                      # where it is kept on the hub
    sha256: str                     # of the workbook itself (an envelope decrypts to exactly this)
    people: int                     # distinct full IDs in it
    rows: int                       # rows of its finding sheets together
    at: dt.datetime
    requester: Requester
    purpose: str
    sealed_to: str | None = None    # the subject of the certificate it is sealed to

    @property
    def status(self) -> str:
        return SEALED if self.sealed_to else KEPT

    def how_to_get(self, home: Path) -> str:
        """For the person who asked (the run's log, the command's output): where it is and how they get it."""
        if self.sealed_to:
            plain = self.file.name.removesuffix(ENVELOPE)
            return (f"sealed to {self.requester.name}'s certificate ({self.sealed_to}) at {self.file}: only that "
                    "person's private key opens it, so a hub operator hands it over by any channel; open it with "
                    f"`openssl cms -decrypt -binary -inform DER -in {self.file.name} -inkey YOUR_KEY -out {plain}` "
                    f"and compare its sha256 with the exchange log's ({self.sha256})")
        return (f"kept on the hub only, mode 0600, at {self.file} (no certificate of {self.requester.name} at "
                f"{auditor_cert_path(home, self.requester.name)}): read it on the hub's host, or install the "
                "auditor's certificate there (docs/audit.md) and export again to have it sealed to them")


#: record(export): enter the export in the exchange log; it is committed before the file is written.
Recorder = Callable[[Export], None]


def folder_for(exports: Path, month, requester: Requester) -> Path:
    """The requester's own folder for a month's export: two auditors never replace each other's file."""
    return Path(exports) / "deaths" / month_text(month) / file_safe(requester.name)


def recipient_for(home: Path, requester: Requester, now: dt.datetime) -> x509.Certificate | None:
    """The requester's installed certificate if the export may be sealed to it now, None when none is
    installed.  One that cannot be read, is expired or not yet valid refuses the export: they asked to have
    it sealed to them, and a silent plaintext would not be what they asked for."""
    path = auditor_cert_path(home, requester.name)
    try:
        cert = auditor_cert(home, requester.name)
    except ValueError as exc:
        raise ExportRefused(f"the certificate of {requester.name} at {path} cannot be read ({exc}): install it "
                            "again as PEM (docs/audit.md) or remove it to have the export kept on the hub; "
                            "nothing was written") from exc
    unusable = expired_reason(cert, now) if cert is not None else None
    if unusable:
        raise ExportRefused(f"the certificate of {requester.name} at {path} ({cert.subject.rfc4514_string()}) "
                            f"{unusable}: install a current one (docs/audit.md) or remove it to have the export "
                            "kept on the hub; nothing was written")
    return cert


def write_full_ids(report: findings.Report, folder: Path, requester: Requester, purpose: str, *,
                   record: Recorder, recipient: x509.Certificate | None = None) -> Export:
    """The full-ID workbook for `requester`, sealed to `recipient` when given, else plain and 0600, in
    `folder`; `record` is called, and must succeed, before the file exists."""
    purpose = purpose_of(purpose)
    when = dt.datetime.now(dt.timezone.utc)
    data = workbook_bytes(report, full_ids=True, exported=(f"{requester}; 用途 purpose: {purpose}", when))
    name = file_names(report.month)[FULL_IDS]
    kept = encrypt(data, recipient) if recipient is not None else data
    export = Export(file=Path(folder) / (name + ENVELOPE if recipient is not None else name),
                    sha256=hashlib.sha256(data).hexdigest(), people=people(report), rows=finding_rows(report),
                    at=when, requester=requester, purpose=purpose,
                    sealed_to=recipient.subject.rfc4514_string() if recipient is not None else None)
    # recorded first: a failed record leaves no file behind, a failed write leaves a record of an attempt
    record(export)
    export.file.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    write_atomically(export.file, kept, mode=0o600)
    # the person's latest export of the month is the one file in their folder: once their certificate is
    # installed, no plaintext of an earlier export stays beside the sealed one
    (Path(folder) / (name if recipient is not None else name + ENVELOPE)).unlink(missing_ok=True)
    return export
