"""Signed, encrypted deliveries (exchange agreements §4) around any transport.

`Enveloped(inner, home, partner)` moves bytes through `inner` and adds the
envelope: a delivery is complete only with its manifest and signature; `open`
verifies the signature with the partner's certificate, decrypts with the hub's
key and checks the plaintext's sha256, then hands the engine the plaintext
and the record count the manifest promises; `send` encrypts a hub file to the
partner and signs its manifest.  The cryptography itself is in
exchange_zone/envelope.py.  `transport_for` gives a feed the transport its
declaration chooses (connectors/registry.py), wrapped where it says `envelope: cms`.
"""
from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path
from typing import Callable

from jinbao import keys
from jinbao.connectors.base import Opened, RemoteDelivery, Transport
from jinbao.connectors.registry import chosen_transport
from jinbao.declarations import DeclaredTransport
from jinbao.exchange_zone import envelope
from jinbao.exchange_zone.errors import CannotSeal
from jinbao.keys_expiry import expired_reason, utc_now
from jinbao.settings import Settings
from jinbao.staged.refused import DeliveryRefused

log = logging.getLogger(__name__)


class Enveloped(Transport):
    companions = envelope.COMPANIONS

    def __init__(self, inner: Transport, home: Path, partner: str,
                 clock: Callable[[], dt.datetime] = utc_now):
        self.inner, self.home, self.partner, self.clock = inner, Path(home), partner, clock

    def __repr__(self) -> str:
        return f"Enveloped({self.inner!r})"

    def entries(self) -> dict[str, str]:
        return self.inner.entries()

    def fetch(self, delivery: RemoteDelivery, dest: Path) -> list[Path]:
        return self.inner.fetch(delivery, dest)

    def ack(self, delivery: RemoteDelivery, batch_id: int | None = None) -> None:
        self.inner.ack(delivery, batch_id)

    def set_aside(self, name: str) -> None:
        self.inner.set_aside(name)

    def put(self, local: Path, remote_name: str) -> None:
        self.inner.put(local, remote_name)

    def close(self) -> None:
        self.inner.close()

    def open(self, delivery: RemoteDelivery, dest: Path) -> Opened:
        # the hub's keys first: a fault of its own (an interrupted rotation) leaves the delivery untouched
        # in inbound/ for the next run instead of refusing it to the partner
        current, *earlier = keys.hub_keyring(self.home)
        paths = self.fetch(delivery, dest)
        if not delivery.name.endswith(".p7m"):
            raise DeliveryRefused("MANIFEST_INVALID", "this feed takes only signed, encrypted .csv.p7m deliveries",
                                  delivery.name)
        try:
            partner_cert = keys.partner_cert(self.home, self.partner)
        except keys.NoCertificate:        # removed: how an operator stops accepting a partner
            raise DeliveryRefused("NO_CERTIFICATE", f"the hub holds no certificate of {self.partner}, so the "
                                  "delivery's signature cannot be checked", delivery.name) from None
        others = {p: c for p, c in keys.partner_certs(self.home).items() if p != self.partner}
        plain, manifest = envelope.open_delivery(
            paths, partner_cert, current.key(), current.cert, work_dir=Path(dest), other_certs=others,
            earlier=earlier, now=self.clock())
        return Opened(delivery, plain, manifest.sha256, declared_records=manifest.records,
                      encoding=manifest.encoding)

    def send(self, path: Path, feed: str, sequence: int, encoding: str = "UTF-8") -> list[str]:
        """A receipt (or notice) encrypted to the partner, manifest signed by the hub's current key (stating
        `encoding`), as partners send to us.  Raises CannotSeal when the hub holds no certificate of the
        partner: nothing is uploaded.

        A certificate out of its validity still gets its receipts, with a warning in the operator log: a
        receipt answers what the partner itself just put in its own drop zone, holds no unmasked ID, and is
        the only way to tell a partner whose certificate expired why its delivery was refused.  Data for a
        partner (jinbao/outbound/send.py) is never sealed to such a certificate (keys_expiry.sealing_cert)."""
        try:
            recipient = keys.partner_cert(self.home, self.partner)
        except keys.NoCertificate as exc:
            raise CannotSeal(self.partner, f"the hub holds no certificate of {self.partner} "
                             f"(keys/{exc.path.name} is not installed)") from None
        unusable = expired_reason(recipient, self.clock())
        if unusable:
            log.warning("%s: receipt %s sealed to %s's certificate (%s), which %s, so that %s learns why; install its "
                        "renewed certificate with `jinbao keys install %s FILE`", feed, path.name, self.partner,
                        keys.named(recipient), unusable, self.partner, self.partner)
        sealed = envelope.seal_delivery(
            path, feed, sequence, 1, encoding, recipient, keys.hub_key(self.home),
            path.parent / "sealed", name=path.name + ".p7m", base=path.name)
        for f in sealed:
            self.inner.put(f, f.name)
        return [f.name for f in sealed]


def transport_for(partner: str, declared: DeclaredTransport, cfg: Settings) -> Transport:
    """The feed's transport, inside the envelope where its declaration (or JINBAO_TRANSPORT) says `cms`."""
    transport, envelope_kind = chosen_transport(partner, declared, cfg)
    return Enveloped(transport, cfg.home, partner) if envelope_kind == "cms" else transport
