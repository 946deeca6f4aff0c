"""Fuzzing exchange_zone/envelope.open_delivery: random or damaged .p7m, manifests and signatures, companions
missing or spelled either way, either open to the plaintext the manifest describes or are refused
(DeliveryRefused); never an exception of another kind, never a hang."""
from __future__ import annotations

import datetime as dt
import hashlib
import tempfile
from pathlib import Path

import pytest
from hypothesis import event, given, strategies as st

from jinbao.exchange_zone import envelope, manifest
from jinbao.keys import hub_cert, hub_key, init_keys, partner_cert, partner_key
from jinbao.staged.refused import DeliveryRefused
from tests.fuzz.shapes import Hang, no_hang
from tests.fuzz.test_manifest_fuzz import manifests_for

REFUSALS = {"BAD_SIGNATURE", "UNKNOWN_SIGNER", "MANIFEST_INVALID", "DECRYPT_FAILED", "HASH_MISMATCH"}


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    home = tmp_path_factory.mktemp("keys")
    init_keys(home, ("police", "health"))
    return {"home": home, "hub_key": hub_key(home), "hub_cert": hub_cert(home),
            "police": partner_cert(home, "police"), "health": partner_cert(home, "health"),
            "signers": {"police": partner_key(home, "police"), "health": partner_key(home, "health"),
                        "hub": hub_key(home)}}


def damage(draw, raw: bytes) -> bytes:
    """Flip, cut, insert or drop bytes somewhere."""
    how = draw(st.sampled_from(["flip", "cut", "insert", "drop"]))
    at = draw(st.integers(0, max(len(raw) - 1, 0)))
    if how == "flip" and raw:
        return raw[:at] + bytes([raw[at] ^ draw(st.integers(1, 255))]) + raw[at + 1:]
    if how == "cut":
        return raw[:at]
    if how == "insert":
        return raw[:at] + draw(st.binary(min_size=1, max_size=8)) + raw[at:]
    return raw[:at] + raw[at + draw(st.integers(1, 16)):]


@given(data=st.data())
def test_open_or_refuse(keys, data):
    draw = data.draw
    today = dt.date.today()
    name = f"police.death_{today:%Y%m%d}_000001.csv" + draw(st.sampled_from([".p7m", ""]), label="suffix")
    plain = draw(st.binary(max_size=300), label="plaintext")

    right = manifest.build("police.death", name, hashlib.sha256(plain).hexdigest(), 1, "GB18030", 1).to_bytes()
    kind = draw(st.sampled_from(["right"] * 4 + ["random", "json", "damaged"]), label="manifest")
    raw_manifest = {"right": lambda: right, "random": lambda: draw(st.binary(max_size=300)),
                    "json": lambda: draw(manifests_for(name)), "damaged": lambda: damage(draw, right)}[kind]()

    sealed = kind_data = draw(st.sampled_from(["hub"] * 3 + ["partner", "random", "damaged", "empty"]), label="p7m")
    if kind_data in ("hub", "damaged"):
        sealed = envelope.encrypt(plain, keys["hub_cert"])
        if kind_data == "damaged":
            sealed = damage(draw, sealed)
    elif kind_data == "partner":                 # sealed to someone else: the hub cannot open it
        sealed = envelope.encrypt(plain, keys["police"])
    else:
        sealed = draw(st.binary(max_size=2000)) if kind_data == "random" else b""

    signer = draw(st.sampled_from(["police"] * 6 + ["health", "hub", "random", "damaged", "other_bytes"]),
                  label="signature")
    if signer in ("police", "health", "hub"):
        signature = envelope.sign(raw_manifest, keys["signers"][signer])
    elif signer == "damaged":
        signature = damage(draw, envelope.sign(raw_manifest, keys["signers"]["police"]))
    elif signer == "other_bytes":
        signature = envelope.sign(raw_manifest + b" ", keys["signers"]["police"])
    else:
        signature = draw(st.binary(max_size=600))

    stem = draw(st.sampled_from([name.split(".csv")[0], name]), label="companions named after")
    files = {name: sealed, stem + envelope.MANIFEST: raw_manifest, stem + envelope.SIGNATURE: signature}
    extras = st.lists(st.sampled_from(["drop manifest", "drop signature", "second data file"]), min_size=1,
                      max_size=2, unique=True)
    for extra in (draw(extras, label="companions") if draw(st.integers(0, 5)) == 5 else []):
        if extra == "drop manifest":
            files.pop(stem + envelope.MANIFEST)
        elif extra == "drop signature":
            files.pop(stem + envelope.SIGNATURE)
        else:
            files[f"police.death_{today:%Y%m%d}_000002.csv.p7m"] = sealed

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for fname, content in files.items():
            (folder / fname).write_bytes(content)
        paths = [folder / f for f in draw(st.permutations(sorted(files)), label="order")]
        with no_hang():
            try:
                out, m = envelope.open_delivery(paths, keys["police"], keys["hub_key"], keys["hub_cert"],
                                                folder / "work", other_certs={"health": keys["health"]})
            except DeliveryRefused as exc:
                assert exc.reason_code in REFUSALS, exc
                assert not isinstance(exc.__cause__, Hang), "decryption hung"
                event(exc.reason_code + (": " + " ".join(exc.detail.split()[:2])
                                         if exc.reason_code == "MANIFEST_INVALID" else ""))
                return
            event("opened")
            opened = out.read_bytes()
    assert signer == "police", "opened with a signature the police did not make"
    assert hashlib.sha256(opened).hexdigest() == m.sha256
    if kind_data in ("hub", "partner"):
        assert opened == plain
