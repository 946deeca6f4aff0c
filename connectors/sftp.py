"""A partner's SFTP drop zone (OpenSSH, key-only, chrooted account per partner).

Safety first: the server's host key must be the pinned one (an unknown or
changed key is refused with its fingerprint, never added), every network
operation has a timeout so a stalled server fails a task instead of hanging
it, and transient failures are retried with backoff on a fresh connection.
Downloads go to `.part` names and count only when complete; uploads are
renamed into place only when complete, exactly as partners must do.
"""
from __future__ import annotations

import base64
import logging
import posixpath
import socket
import time
from dataclasses import dataclass
from pathlib import Path

import paramiko

from jinbao.connectors.base import ENVELOPE_COMPANIONS, RemoteDelivery, complete_deliveries

log = logging.getLogger(__name__)


class HostKeyRefused(Exception):
    """The server did not present the pinned host key: possibly a different machine."""


@dataclass
class SftpEndpoint:
    host: str
    port: int
    username: str
    key_file: str
    host_key: str            # "ssh-ed25519 AAAA..." as in known_hosts (type and base64)
    timeout: float = 15.0
    retries: int = 3


def _pinned_key(line: str) -> paramiko.PKey:
    parts = line.split()
    keytype, b64 = (parts[-2], parts[-1]) if len(parts) >= 2 else (None, None)
    if not b64:
        raise HostKeyRefused(f"pinned host key {line!r} is not '<type> <base64>'")
    return paramiko.PKey.from_type_string(keytype, base64.b64decode(b64))


def _fingerprint(key: paramiko.PKey) -> str:
    return key.fingerprint if hasattr(key, "fingerprint") else key.get_base64()[:24]


class SftpTransport:
    def __init__(self, endpoint: SftpEndpoint, companions: tuple[str, ...] = ENVELOPE_COMPANIONS):
        self.ep = endpoint
        self.companions = companions
        self._client: paramiko.SSHClient | None = None
        self._sftp: paramiko.SFTPClient | None = None

    # -------------------------------------------------------------- connection
    def _connect(self) -> paramiko.SFTPClient:
        if self._sftp is not None:
            return self._sftp
        client = paramiko.SSHClient()
        client.set_missing_host_key_policy(paramiko.RejectPolicy())
        pinned = _pinned_key(self.ep.host_key)
        name = self.ep.host if self.ep.port == 22 else f"[{self.ep.host}]:{self.ep.port}"
        client.get_host_keys().add(name, pinned.get_name(), pinned)
        pkey = paramiko.PKey.from_path(self.ep.key_file)
        try:
            client.connect(self.ep.host, port=self.ep.port, username=self.ep.username, pkey=pkey,
                           look_for_keys=False, allow_agent=False, timeout=self.ep.timeout,
                           banner_timeout=self.ep.timeout, auth_timeout=self.ep.timeout,
                           channel_timeout=self.ep.timeout)
        except paramiko.BadHostKeyException as exc:
            client.close()
            raise HostKeyRefused(f"{name} presented host key {_fingerprint(exc.key)}, pinned is "
                                 f"{_fingerprint(pinned)}: refusing (changed host key)") from exc
        except paramiko.SSHException as exc:
            client.close()
            if "not found in known_hosts" in str(exc) or "known_hosts" in str(exc):
                raise HostKeyRefused(f"{name}: host key does not match the pinned one: {exc}") from exc
            raise
        sftp = client.open_sftp()
        sftp.get_channel().settimeout(self.ep.timeout)
        self._client, self._sftp = client, sftp
        return sftp

    def close(self) -> None:
        for thing in (self._sftp, self._client):
            try:
                if thing is not None:
                    thing.close()
            except Exception:  # noqa: BLE001 - closing a broken connection may fail again
                pass
        self._client = self._sftp = None

    def _retry(self, what: str, fn):
        """Run fn(sftp) with retries on a fresh connection; host-key and auth errors are final."""
        delay = 0.5
        for attempt in range(1, self.ep.retries + 1):
            try:
                return fn(self._connect())
            except (HostKeyRefused, paramiko.AuthenticationException, FileNotFoundError, PermissionError):
                self.close()
                raise
            except (socket.timeout, TimeoutError, EOFError, OSError, paramiko.SSHException) as exc:
                self.close()
                if attempt == self.ep.retries:
                    raise ConnectionError(f"sftp {self.ep.username}@{self.ep.host}:{self.ep.port} {what} failed "
                                          f"after {attempt} attempts: {exc!r}") from exc
                log.warning("sftp %s failed (%r); retry %d in %.1f s", what, exc, attempt, delay)
                time.sleep(delay)
                delay *= 2

    # --------------------------------------------------------------- protocol
    def list_deliveries(self, feed: str) -> list[RemoteDelivery]:
        names = self._retry("list", lambda s: set(s.listdir("inbound")))
        return complete_deliveries(names, feed, self.companions)

    def fetch(self, delivery: RemoteDelivery, dest: Path) -> list[Path]:
        dest.mkdir(parents=True, exist_ok=True)

        def get_all(sftp: paramiko.SFTPClient) -> list[Path]:
            out = []
            for name in delivery.files:
                remote = posixpath.join("inbound", name)
                size = sftp.stat(remote).st_size
                part = dest / (name + ".part")
                part.unlink(missing_ok=True)          # a partial earlier download is discarded
                sftp.get(remote, str(part))
                if part.stat().st_size != size:
                    raise EOFError(f"{name}: got {part.stat().st_size} of {size} bytes")
                part.replace(dest / name)
                out.append(dest / name)
            return out
        return self._retry(f"fetch {delivery.name}", get_all)

    def ack(self, delivery: RemoteDelivery) -> None:
        def move(sftp: paramiko.SFTPClient) -> None:
            if "processed" not in sftp.listdir("inbound"):
                sftp.mkdir("inbound/processed")
            for name in delivery.files:
                try:
                    sftp.posix_rename(f"inbound/{name}", f"inbound/processed/{name}")
                except FileNotFoundError:
                    if name not in sftp.listdir("inbound/processed"):
                        raise
        self._retry(f"ack {delivery.name}", move)

    def put(self, local: Path, remote_name: str) -> None:
        def upload(sftp: paramiko.SFTPClient) -> None:
            tmp = f"outbound/{remote_name}.part"
            sftp.put(str(local), tmp, confirm=True)
            sftp.posix_rename(tmp, f"outbound/{remote_name}")
        self._retry(f"put {remote_name}", upload)
