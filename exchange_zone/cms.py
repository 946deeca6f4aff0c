"""CMS EnvelopedData (RFC 5652) and AuthEnvelopedData with AES-GCM (RFC 5083/5084), streamed.

A delivery of tens of millions of records is gigabytes of ciphertext, so it is
never held in memory: the small header (recipients, algorithm, IV) is parsed
here by hand (BER: definite or indefinite lengths, as `openssl cms -encrypt
-stream` writes them), the content-encryption key is unwrapped with the hub's
RSA key by `cryptography`, and the encrypted content (one primitive OCTET
STRING or a constructed one of any number of segments) is decrypted block by
block into the caller's file while it is hashed.  The whole file must parse to
its last byte: a truncated or extended file is an error, not a shorter plaintext.

Supported, as the exchange agreements and the openssl CLI use them: key
transport to an RSA certificate (PKCS#1 v1.5 or OAEP) named by issuer and serial
number or by subject key identifier; AES-128/192/256 in CBC (EnvelopedData,
PKCS#7 padding) or GCM (AuthEnvelopedData, tag checked at the end, no
authenticated attributes).  Anything else raises CMSError, which the envelope
turns into DECRYPT_FAILED.

`encrypt_stream` writes what `cryptography`'s PKCS7EnvelopeBuilder wrote for the
hub (DER, AES-256-CBC, RSA PKCS#1 v1.5 key transport, issuer and serial number),
with the ciphertext streamed from the source file.
"""
from __future__ import annotations

import hashlib
import io
import os
from dataclasses import dataclass
from typing import BinaryIO, Callable, Iterator

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import padding as sym_padding
from cryptography.hazmat.primitives.asymmetric import padding as asym_padding
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

#: Ciphertext read and decrypted per step.
CHUNK = 1 << 20
#: Largest header element (recipients, originator certificates, attributes) read into memory.
SMALL = 1 << 20
#: Deepest nesting of constructed OCTET STRINGs accepted in the content.
DEPTH = 8

ENVELOPED = "1.2.840.113549.1.7.3"
AUTH_ENVELOPED = "1.2.840.113549.1.9.16.1.23"
DATA = "1.2.840.113549.1.7.1"
RSA_ENCRYPTION = "1.2.840.113549.1.1.1"
RSAES_OAEP = "1.2.840.113549.1.1.7"
MGF1 = "1.2.840.113549.1.1.8"
CBC = {"2.16.840.1.101.3.4.1.2": 16, "2.16.840.1.101.3.4.1.22": 24, "2.16.840.1.101.3.4.1.42": 32}
GCM = {"2.16.840.1.101.3.4.1.6": 16, "2.16.840.1.101.3.4.1.26": 24, "2.16.840.1.101.3.4.1.46": 32}
HASHES = {"1.3.14.3.2.26": hashes.SHA1, "2.16.840.1.101.3.4.2.4": hashes.SHA224,
          "2.16.840.1.101.3.4.2.1": hashes.SHA256, "2.16.840.1.101.3.4.2.2": hashes.SHA384,
          "2.16.840.1.101.3.4.2.3": hashes.SHA512}
AES256_CBC = "2.16.840.1.101.3.4.1.42"

UNIVERSAL, CONTEXT = 0, 2
INTEGER, OCTET_STRING, NULL, OID, SEQUENCE, SET = 2, 4, 5, 6, 16, 17


class CMSError(ValueError):
    """The file is not a CMS envelope this hub can open with its key."""


class _Tlv:
    __slots__ = ("cls", "cons", "tag", "length", "raw", "end")

    def __init__(self, cls: int, cons: bool, tag: int, length: int | None, raw: bytes, end: int | None):
        self.cls, self.cons, self.tag, self.length, self.raw, self.end = cls, cons, tag, length, raw, end

    def is_(self, cls: int, tag: int) -> bool:
        return self.cls == cls and self.tag == tag


class _In:
    """A BER reader over a binary stream, with its own buffer (for peeking) and position."""

    def __init__(self, f: BinaryIO):
        self.f, self.buf, self.i, self.pos = f, b"", 0, 0

    def _fill(self, n: int) -> bool:
        if len(self.buf) - self.i >= n:
            return True
        if self.i >= len(self.buf):
            self.buf, self.i = b"", 0
        rest = [self.buf[self.i:]]
        have = len(rest[0])
        while have < n:
            more = self.f.read(max(CHUNK, n - have))
            if not more:
                break
            rest.append(more)
            have += len(more)
        self.buf, self.i = b"".join(rest), 0
        return have >= n

    def peek(self, n: int) -> bytes:
        self._fill(n)
        return self.buf[self.i:self.i + n]

    def read(self, n: int) -> bytes:
        if not self._fill(n):
            raise CMSError(f"truncated: {n} more bytes expected at offset {self.pos}")
        out = self.buf[self.i:self.i + n]
        self.i += n
        self.pos += n
        return out

    def stream(self, n: int) -> Iterator[bytes]:
        """n bytes, in pieces of at most CHUNK, straight from the buffer (no copy of a whole buffer)."""
        while n > 0:
            if self.i >= len(self.buf):
                self.buf, self.i = self.f.read(CHUNK), 0
                if not self.buf:
                    raise CMSError(f"truncated: {n} more bytes expected at offset {self.pos}")
            take = min(n, len(self.buf) - self.i)
            piece = self.buf if take == len(self.buf) else self.buf[self.i:self.i + take]
            self.i += take
            self.pos += take
            n -= take
            yield piece

    def at_eof(self) -> bool:
        return self.peek(1) == b""

    def header(self) -> _Tlv:
        start = self.pos
        first = self.read(1)[0]
        cls, cons, tag = first >> 6, bool(first & 0x20), first & 0x1F
        raw = [bytes([first])]
        if tag == 0x1F:                                   # high tag number form
            tag = 0
            for _ in range(4):
                b = self.read(1)
                raw.append(b)
                tag = (tag << 7) | (b[0] & 0x7F)
                if not b[0] & 0x80:
                    break
            else:
                raise CMSError(f"tag too long at offset {start}")
        b = self.read(1)
        raw.append(b)
        if b[0] < 0x80:
            length = b[0]
        elif b[0] == 0x80:
            if not cons:
                raise CMSError(f"indefinite length on a primitive element at offset {start}")
            length = None
        else:
            n = b[0] & 0x7F
            if n > 8:
                raise CMSError(f"length of {n} bytes at offset {start}")
            more = self.read(n)
            raw.append(more)
            length = int.from_bytes(more, "big")
        if cls == UNIVERSAL and tag == 0 and (cons or length):
            raise CMSError(f"malformed end-of-contents at offset {start}")
        return _Tlv(cls, cons, tag, length, b"".join(raw), None if length is None else self.pos + length)

    def at_end(self, parent: _Tlv) -> bool:
        """True at the end of `parent`'s contents (consuming its end-of-contents octets when indefinite)."""
        if parent.end is not None:
            if self.pos > parent.end:
                raise CMSError(f"element overruns its container ending at offset {parent.end}")
            return self.pos == parent.end
        if self.peek(2) == b"\x00\x00":
            self.read(2)
            return True
        return False

    def close(self, parent: _Tlv, what: str) -> None:
        if not self.at_end(parent):
            raise CMSError(f"unexpected data after the {what} at offset {self.pos}")

    def contents(self, t: _Tlv, cap: int = SMALL, depth: int = 0) -> bytes:
        """The contents of a small element as they are encoded (children with their headers)."""
        if t.length is not None:
            if t.length > cap:
                raise CMSError(f"element of {t.length} bytes at offset {self.pos} is too large")
            return self.read(t.length)
        if depth > 32:
            raise CMSError("nesting too deep")
        parts, size = [], 0
        while not self.at_end(t):
            child = self.header()
            inner = self.contents(child, cap - size, depth + 1)
            parts += [child.raw, inner, b"" if child.length is not None else b"\x00\x00"]
            size += len(child.raw) + len(inner) + 2
            if size > cap:
                raise CMSError("element too large")
        return b"".join(parts)

    def element(self, cap: int = SMALL) -> tuple[_Tlv, bytes]:
        t = self.header()
        return t, self.contents(t, cap)


def _children(content: bytes) -> list[tuple[_Tlv, bytes]]:
    inp = _In(io.BytesIO(content))
    out = []
    while not inp.at_eof():
        out.append(inp.element())
    return out


def _expect(t: _Tlv, cls: int, tag: int, what: str) -> None:
    if not t.is_(cls, tag):
        raise CMSError(f"expected {what}, found tag class {t.cls} number {t.tag}")


def _oid(content: bytes) -> str:
    if not content or content[-1] & 0x80:
        raise CMSError("malformed object identifier")
    arcs, value = [], 0
    for b in content:
        value = (value << 7) | (b & 0x7F)
        if not b & 0x80:
            arcs.append(value)
            value = 0
    first = min(arcs[0] // 40, 2)
    return ".".join(str(a) for a in [first, arcs[0] - 40 * first, *arcs[1:]])


def _int(content: bytes) -> int:
    if not content:
        raise CMSError("empty integer")
    return int.from_bytes(content, "big", signed=True)


def _algorithm(content: bytes) -> tuple[str, tuple[_Tlv, bytes] | None]:
    parts = _children(content)
    if not parts:
        raise CMSError("empty algorithm identifier")
    _expect(parts[0][0], UNIVERSAL, OID, "an algorithm OID")
    return _oid(parts[0][1]), (parts[1] if len(parts) > 1 else None)


# ---------------------------------------------------------------- recipients
@dataclass(frozen=True)
class RecipientId:
    """Whom a key transport recipient info names: a certificate's issuer (DER) and serial number, or its
    subject key identifier.  The hub picks its key by this, never by trying each key in turn."""
    issuer: bytes | None = None
    serial: int | None = None
    ski: bytes | None = None

    def names(self, cert: x509.Certificate) -> bool:
        if self.ski is not None:
            try:
                return cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest == self.ski
            except x509.ExtensionNotFound:
                return False
        return cert.issuer.public_bytes() == self.issuer and cert.serial_number == self.serial

    def __str__(self) -> str:
        return f"subject key identifier {self.ski.hex()}" if self.ski is not None else f"serial {self.serial:X}"


#: Given the envelope's recipients, the hub's (certificate, private key) for one of them, or None.
Chooser = Callable[[list[RecipientId]], "tuple[x509.Certificate, object] | None"]


def only(cert: x509.Certificate, key) -> Chooser:
    """The chooser of a single pair: a receipt, a test, a partner opening what the hub sealed."""
    return lambda recipients: (cert, key) if any(r.names(cert) for r in recipients) else None


def _unwrap(recipients: bytes, choose: Chooser) -> bytes:
    """The content-encryption key from the recipient info naming the certificate `choose` picks."""
    kinds, found = [], []
    for t, content in _children(recipients):
        if not t.is_(UNIVERSAL, SEQUENCE):      # key agreement, KEK, password, other: not for an RSA hub
            kinds.append(f"[{t.tag}]")
            continue
        parts = _children(content)
        if len(parts) != 4:
            raise CMSError("malformed key transport recipient info")
        (rid_t, rid), (alg_t, alg), (ek_t, encrypted_key) = parts[1], parts[2], parts[3]
        if rid_t.is_(UNIVERSAL, SEQUENCE):
            names = _children(rid)
            if len(names) != 2 or not names[1][0].is_(UNIVERSAL, INTEGER):
                raise CMSError("malformed issuer and serial number")
            who = RecipientId(issuer=names[0][0].raw + names[0][1], serial=_int(names[1][1]))
        elif rid_t.is_(CONTEXT, 0):
            who = RecipientId(ski=rid)
        else:
            raise CMSError("malformed recipient identifier")
        kinds.append("ktri")
        found.append((who, alg_t, alg, ek_t, encrypted_key))
    chosen = choose([who for who, *_ in found])
    if chosen is None:
        raise CMSError(f"no recipient is the hub's certificate (recipients: {', '.join(kinds) or 'none'})")
    cert, key = chosen
    if not isinstance(key, rsa.RSAPrivateKey):
        raise CMSError("the hub's key is not an RSA key")
    who, alg_t, alg, ek_t, encrypted_key = next(f for f in found if f[0].names(cert))
    _expect(alg_t, UNIVERSAL, SEQUENCE, "a key encryption algorithm")
    _expect(ek_t, UNIVERSAL, OCTET_STRING, "an encrypted key")
    oid, params = _algorithm(alg)
    try:
        return key.decrypt(encrypted_key, _key_transport(oid, params))
    except ValueError as exc:
        raise CMSError(f"the content key does not decrypt with the hub's key: {exc}") from None


def _key_transport(oid: str, params):
    if oid == RSA_ENCRYPTION:
        return asym_padding.PKCS1v15()
    if oid != RSAES_OAEP:
        raise CMSError(f"unsupported key transport algorithm {oid}")
    digest, mgf_digest = hashes.SHA1, hashes.SHA1           # RFC 4055 defaults
    if params is not None and params[0].is_(UNIVERSAL, SEQUENCE):
        for t, content in _children(params[1]):
            inner = _children(content)                   # [n] EXPLICIT AlgorithmIdentifier
            if not inner:
                continue
            if t.is_(CONTEXT, 0):
                digest = HASHES.get(_algorithm(inner[0][1])[0]) or _unsupported("OAEP hash")
            elif t.is_(CONTEXT, 1):
                mgf, mgf_params = _algorithm(inner[0][1])
                if mgf != MGF1 or mgf_params is None:
                    _unsupported("OAEP mask generation")
                mgf_digest = HASHES.get(_algorithm(mgf_params[1])[0]) or _unsupported("MGF1 hash")
            elif t.is_(CONTEXT, 2):
                _unsupported("OAEP label")
    return asym_padding.OAEP(mgf=asym_padding.MGF1(mgf_digest()), algorithm=digest(), label=None)


def _unsupported(what: str):
    raise CMSError(f"unsupported {what}")


# ------------------------------------------------------------------ content
def _segments(inp: _In, t: _Tlv, depth: int = 0) -> Iterator[bytes]:
    """The bytes of an OCTET STRING (the implicitly tagged encrypted content), primitive or constructed."""
    if not t.cons:
        yield from inp.stream(t.length)
        return
    if depth >= DEPTH:
        raise CMSError("encrypted content nested too deep")
    while not inp.at_end(t):
        child = inp.header()
        _expect(child, UNIVERSAL, OCTET_STRING, "an OCTET STRING segment of the encrypted content")
        yield from _segments(inp, child, depth + 1)


def decrypt_stream(src: BinaryIO, cert: x509.Certificate, key, write: Callable[[bytes], object]) -> str:
    """Decrypt the CMS envelope read from `src` with the hub's certificate and key, passing the plaintext to
    `write` piece by piece; returns its sha256 (hex).  Raises CMSError (a ValueError) for anything wrong,
    after some plaintext may have been written: the caller discards it."""
    return decrypt_for(src, only(cert, key), write)


def decrypt_for(src: BinaryIO, choose: Chooser, write: Callable[[bytes], object]) -> str:
    """`decrypt_stream` with the key `choose` picks from the envelope's recipients (the hub's current key,
    or during a rotation's overlap its previous one).  An exception `choose` raises passes through."""
    inp = _In(src)
    info = inp.header()
    _expect(info, UNIVERSAL, SEQUENCE, "a ContentInfo SEQUENCE")
    kind_t, kind = inp.element()
    _expect(kind_t, UNIVERSAL, OID, "the content type")
    kind = _oid(kind)
    if kind not in (ENVELOPED, AUTH_ENVELOPED):
        raise CMSError(f"content type {kind} is not enveloped data")
    explicit = inp.header()
    _expect(explicit, CONTEXT, 0, "the [0] content")
    env = inp.header()
    _expect(env, UNIVERSAL, SEQUENCE, "the EnvelopedData SEQUENCE")
    version_t, _ = inp.element()
    _expect(version_t, UNIVERSAL, INTEGER, "the version")
    t, recipients = inp.element()
    if t.is_(CONTEXT, 0):                                # originatorInfo: certificates, CRLs; not needed
        t, recipients = inp.element()
    _expect(t, UNIVERSAL, SET, "the recipient infos SET")
    cek = _unwrap(recipients, choose)

    eci = inp.header()
    _expect(eci, UNIVERSAL, SEQUENCE, "the encrypted content info")
    ct_t, _ = inp.element()
    _expect(ct_t, UNIVERSAL, OID, "the encrypted content type")
    alg_t, alg = inp.element()
    _expect(alg_t, UNIVERSAL, SEQUENCE, "the content encryption algorithm")
    oid, params = _algorithm(alg)
    if kind == ENVELOPED and oid in CBC:
        size = CBC[oid]
        if params is None or not params[0].is_(UNIVERSAL, OCTET_STRING) or len(params[1]) != 16:
            raise CMSError("AES-CBC without a 16-byte IV")
        mode, tag_len = modes.CBC(params[1]), None
    elif kind == AUTH_ENVELOPED and oid in GCM:
        size = GCM[oid]
        gcm = _children(params[1]) if params is not None and params[0].is_(UNIVERSAL, SEQUENCE) else []
        if not gcm or not gcm[0][0].is_(UNIVERSAL, OCTET_STRING) or not gcm[0][1]:
            raise CMSError("AES-GCM without a nonce")
        tag_len = _int(gcm[1][1]) if len(gcm) > 1 else 12
        if not 12 <= tag_len <= 16:
            raise CMSError(f"AES-GCM tag length {tag_len}")
        mode = modes.GCM(gcm[0][1], min_tag_length=tag_len)
    else:
        raise CMSError(f"unsupported content encryption algorithm {oid} in "
                       f"{'authenticated ' if kind == AUTH_ENVELOPED else ''}enveloped data")
    if len(cek) != size:
        raise CMSError(f"content key of {len(cek)} bytes for a {8 * size}-bit cipher")
    decryptor = Cipher(algorithms.AES(cek), mode).decryptor()
    unpadder = sym_padding.PKCS7(128).unpadder() if tag_len is None else None
    digest = hashlib.sha256()

    def out(plain: bytes) -> None:
        if plain:
            digest.update(plain)
            write(plain)

    if inp.at_end(eci):
        raise CMSError("no encrypted content (detached content is not accepted)")
    content = inp.header()
    _expect(content, CONTEXT, 0, "the [0] encrypted content")
    for piece in _segments(inp, content):
        plain = decryptor.update(piece)
        out(unpadder.update(plain) if unpadder is not None else plain)
    inp.close(eci, "encrypted content")

    if kind == ENVELOPED:
        if not inp.at_end(env):
            t, _ = inp.element()                             # unprotectedAttrs
            _expect(t, CONTEXT, 1, "unprotected attributes")
            inp.close(env, "enveloped data")
        plain = decryptor.finalize()
        try:
            last = unpadder.update(plain) + unpadder.finalize()
        except ValueError:
            # a wrong key may still "unwrap" (RSA PKCS#1 v1.5 implicit rejection gives a random key of the
            # right size now and then): the content then ends in bad padding, which says the same thing
            raise CMSError("the content does not decrypt (bad padding): the content key is not the sender's, "
                           "or the file is damaged") from None
        out(last)
    else:
        t, mac = inp.element()
        if t.is_(CONTEXT, 1):
            raise CMSError("authenticated attributes are not supported")
        _expect(t, UNIVERSAL, OCTET_STRING, "the authentication tag")
        if len(mac) != tag_len:
            raise CMSError(f"authentication tag of {len(mac)} bytes, {tag_len} declared")
        if not inp.at_end(env):
            t, _ = inp.element()                             # unauthAttrs
            _expect(t, CONTEXT, 2, "unauthenticated attributes")
            inp.close(env, "authenticated enveloped data")
        try:
            out(decryptor.finalize_with_tag(mac))
        except Exception as exc:  # noqa: BLE001 - InvalidTag has no message
            raise CMSError("the authentication tag does not match the content") from exc
    inp.close(explicit, "enveloped data")
    inp.close(info, "content info")
    if not inp.at_eof():
        raise CMSError(f"unexpected data after the envelope at offset {inp.pos}")
    return digest.hexdigest()


# --------------------------------------------------------------- encryption
def _der(tag: int, content: bytes | int) -> bytes:
    """A DER header for `content` (or for contents of that many bytes when an int), plus the content."""
    n = content if isinstance(content, int) else len(content)
    length = bytes([n]) if n < 0x80 else bytes([0x80 | ((n.bit_length() + 7) // 8)]) + n.to_bytes(
        (n.bit_length() + 7) // 8, "big")
    return bytes([tag]) + length + (b"" if isinstance(content, int) else content)


def _der_oid(oid: str) -> bytes:
    arcs = [int(a) for a in oid.split(".")]
    out = bytearray()
    for arc in [40 * arcs[0] + arcs[1], *arcs[2:]]:
        chunk = [arc & 0x7F]
        arc >>= 7
        while arc:
            chunk.append(0x80 | (arc & 0x7F))
            arc >>= 7
        out += bytes(reversed(chunk))
    return _der(0x06, bytes(out))


def _der_int(n: int) -> bytes:
    return _der(0x02, n.to_bytes((n.bit_length() + 8) // 8, "big", signed=True))


def encrypt_stream(src: BinaryIO, size: int, recipient: x509.Certificate, write: Callable[[bytes], object]) -> None:
    """CMS EnvelopedData of the `size` bytes read from `src`, DER, AES-256-CBC, RSA PKCS#1 v1.5 key
    transport to `recipient` (issuer and serial number), passed to `write` piece by piece."""
    cek, iv = os.urandom(32), os.urandom(16)
    encrypted_key = recipient.public_key().encrypt(cek, asym_padding.PKCS1v15())
    rid = _der(0x30, recipient.issuer.public_bytes() + _der_int(recipient.serial_number))
    ktri = _der(0x30, _der_int(0) + rid + _der(0x30, _der_oid(RSA_ENCRYPTION) + b"\x05\x00")
                + _der(0x04, encrypted_key))
    cipher_len = (size // 16 + 1) * 16
    eci_head = _der_oid(DATA) + _der(0x30, _der_oid(AES256_CBC) + _der(0x04, iv)) + _der(0x80, cipher_len)
    eci = _der(0x30, len(eci_head) + cipher_len) + eci_head
    env_head = _der_int(0) + _der(0x31, ktri)
    env = _der(0x30, len(env_head) + len(eci) + cipher_len) + env_head + eci
    explicit = _der(0xA0, len(env) + cipher_len)
    kind = _der_oid(ENVELOPED)
    write(_der(0x30, len(kind) + len(explicit) + len(env) + cipher_len) + kind + explicit + env)
    encryptor = Cipher(algorithms.AES(cek), modes.CBC(iv)).encryptor()
    padder = sym_padding.PKCS7(128).padder()
    done = written = 0
    while True:
        piece = src.read(CHUNK)
        if not piece:
            break
        done += len(piece)
        data = encryptor.update(padder.update(piece))
        written += len(data)
        write(data)
    data = encryptor.update(padder.finalize()) + encryptor.finalize()
    written += len(data)
    write(data)
    if done != size or written != cipher_len:
        raise ValueError(f"the plaintext changed while it was encrypted ({done} bytes read, {size} expected)")
