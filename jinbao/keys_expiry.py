"""Certificates' validity: the warning window, the daily check and the check at use.

A certificate that has expired must not be used to accept or to seal a delivery (whoever holds its
key may no longer be the party it names), and one that expires unnoticed stops an exchange overnight,
so the hub warns ahead of time: `findings` lists every certificate the hub uses (its own and each
declared partner's) that is within the declared window (`schemas/certificates.yaml` `warn_days`)
or past it; the daily `keys.certificate_expiry` DAG (dags/keys_sentinel.py) and `jinbao keys check`
turn red on any, each line saying what to do.  At use, `expired_reason` refuses an inbound delivery
(exchange_zone/envelope.py) and `sealing_cert` an outbound data file (jinbao/outbound/send.py); a
receipt is still sealed, with a warning (exchange_zone/enveloped.py says why).  "Now" is a parameter
everywhere, so tests build their certificates and their clock from one moment.
"""
from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509

from jinbao import keys, strict_yaml
from jinbao.settings import load_setting

FILE = "certificates.yaml"
log = logging.getLogger("jinbao.keys")


class PolicyError(ValueError):
    """schemas/certificates.yaml is missing or malformed; the message names the file and the key."""


@dataclass(frozen=True)
class Policy:
    #: a certificate expiring within this many days is warned about (red sentinel, operator log)
    warn_days: int
    #: days the previous hub key still decrypts after `jinbao keys rotate`
    overlap_days: int


def load_policy(folder: Path | str | None = None) -> Policy:
    """The declared policy, from `<folder>/certificates.yaml` (default: JINBAO_SCHEMAS_DIR)."""
    path = Path(folder if folder is not None else load_setting("schemas_dir")) / FILE
    if not path.is_file():
        raise PolicyError(f"{path}: no certificate policy (warn_days, overlap_days); the schemas folder must hold "
                          f"{FILE}")
    raw = strict_yaml.load_mapping(path, PolicyError, "the certificate policy")
    strict_yaml.refuse_unknown(path, raw, ("warn_days", "overlap_days"), PolicyError)
    for name in ("warn_days", "overlap_days"):
        if not isinstance(raw.get(name), int) or isinstance(raw[name], bool) or raw[name] < 0:
            raise PolicyError(f"{path}: {name} must be a whole number of days, 0 or more, got {raw.get(name)!r}")
    return Policy(raw["warn_days"], raw["overlap_days"])


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def expired_reason(cert: x509.Certificate, now: dt.datetime) -> str | None:
    """Why `cert` cannot be used at `now` ("expired on DATE", "valid only from DATE"), or None."""
    if now > cert.not_valid_after_utc:
        return f"expired on {cert.not_valid_after_utc:%Y-%m-%d %H:%M} UTC"
    if now < cert.not_valid_before_utc:
        return f"valid only from {cert.not_valid_before_utc:%Y-%m-%d %H:%M} UTC"
    return None


def unusable_code(cert: x509.Certificate, now: dt.datetime) -> str:
    """The refusal's reason code for a certificate `expired_reason` found unusable."""
    return "CERTIFICATE_EXPIRED" if now > cert.not_valid_after_utc else "CERTIFICATE_NOT_YET_VALID"


def days_left(cert: x509.Certificate, now: dt.datetime) -> int:
    """Whole days until the certificate expires (negative once it has)."""
    return (cert.not_valid_after_utc - now) // dt.timedelta(days=1)


class CertificateExpired(Exception):
    """A partner's certificate cannot be used now (expired or not yet valid): nothing is sealed to it."""

    def __init__(self, partner: str, cert: x509.Certificate, reason: str):
        self.partner, self.cert, self.reason = partner, cert, reason
        super().__init__(f"{partner}'s certificate ({keys.named(cert)}) {reason}: no data is sent to it; "
                         f"install its renewed certificate with `jinbao keys install {partner} FILE`, then run "
                         "again")


def sealing_cert(home: Path, partner: str, now: dt.datetime | None = None) -> x509.Certificate:
    """The partner's certificate to seal to: raises keys.NoCertificate when none is installed and
    CertificateExpired when it is out of its validity."""
    cert = keys.partner_cert(home, partner)
    reason = expired_reason(cert, now or utc_now())
    if reason:
        raise CertificateExpired(partner, cert, reason)
    return cert


@dataclass(frozen=True)
class Finding:
    """A certificate within the warning window or past it."""
    who: str                      # a partner id, or "hub"
    cert: x509.Certificate
    days_left: int
    reason: str | None            # why it cannot be used now; None while it still can

    @property
    def expired(self) -> bool:
        return self.reason is not None

    def text(self) -> str:
        """The operator's line: who, which certificate, when, what to do."""
        when = f"{self.cert.not_valid_after_utc:%Y-%m-%d}"
        state = self.reason if self.reason else f"expires on {when} ({self.days_left} days left)"
        if self.who == keys.HUB:
            todo = ("rotate the hub's key before then: `jinbao keys rotate --key NEW.key --cert NEW.crt` with a pair "
                    "the CA issued (or `jinbao keys rotate` for a self-signed one), give partners the new hub.crt, and "
                    "they may seal to either certificate during the overlap")
            if self.reason:
                todo = "partners may refuse what the hub signs; " + todo.replace(" before then", " now")
            return f"the hub's certificate ({keys.named(self.cert)}) {state}: {todo}"
        if self.reason:
            todo = (f"its deliveries are refused and no data is sent to it until its renewed certificate is "
                    f"installed: ask {self.who} for it, check it out of band, then `jinbao keys install {self.who} "
                    "FILE`")
        else:
            todo = (f"ask {self.who} for its renewed certificate, check it out of band and install it before then "
                    f"with `jinbao keys install {self.who} FILE`")
        return f"partner {self.who}'s certificate ({keys.named(self.cert)}) {state}: {todo}"


def findings(home: Path, now: dt.datetime | None = None, warn_days: int | None = None,
             partners: tuple[str, ...] | None = None) -> list[Finding]:
    """Every certificate the hub uses (its current one and each declared partner's installed one) that
    expires within `warn_days` (default: the declared window) or cannot be used now.  A partner without
    an installed certificate is not listed: that is how a partner is stopped (docs/transport.md)."""
    now = now or utc_now()
    window = load_policy().warn_days if warn_days is None else warn_days
    certs = {keys.HUB: keys.hub_cert(home)} | keys.partner_certs(home, partners)
    out = []
    for who, cert in certs.items():
        left, reason = days_left(cert, now), expired_reason(cert, now)
        if reason or cert.not_valid_after_utc - now <= dt.timedelta(days=window):
            out.append(Finding(who, cert, left, reason))
    return out


def check(home: Path, now: dt.datetime | None = None, warn_days: int | None = None) -> list[Finding]:
    """`findings`, each written to the operator log (error when expired, warning when close)."""
    found = findings(home, now, warn_days)
    for f in found:
        log.log(logging.ERROR if f.expired else logging.WARNING, "certificate expiry: %s", f.text())
    return found

