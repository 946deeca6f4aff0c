"""A partner's SFTP drop zone (OpenSSH, key-only, one chrooted account per partner).

Safety first:
* the server must present the pinned host key (a known_hosts file or one
  "<type> <base64>" line); an unknown or changed key is refused naming the host
  and the offered fingerprint, never added, and ~/.ssh/known_hosts is not read;
* key authentication only: no password, no agent, no keys found lying around;
* every network step has a timeout (TCP connect, banner, auth, channel open and
  every SFTP request), so a stalled server fails a task instead of hanging it;
* transient failures (timeouts, dropped connections) are retried with
  exponential backoff on a fresh connection; host-key and authentication
  failures and "no such file" answers are final, retrying cannot fix them.

Downloads go to `.part` names and count only when every file is complete with
the server's size (a broken transfer is discarded and fetched again); uploads
are renamed into place only when complete, exactly as partners must do.
"""
from __future__ import annotations

import base64
import logging
import posixpath
import socket
import stat
import time
from pathlib import Path

import paramiko
from paramiko.sftp import CMD_CLOSE, CMD_HANDLE, CMD_NAME, CMD_OPENDIR, CMD_READDIR, SFTPError

from jinbao.connectors.base import RemoteDelivery, Transport, aside_names, interim_name
from jinbao.connectors.names import INTERIM, PROCESSED, REJECTED

log = logging.getLogger(__name__)


class HostKeyRefused(Exception):
    """The server did not present the pinned host key: possibly a different machine."""


class _Refuse(paramiko.RejectPolicy):
    """RejectPolicy with an error an operator can act on (host and offered fingerprint)."""

    def missing_host_key(self, client, hostname, key):
        raise HostKeyRefused(f"{hostname} offered host key {key.get_name()} {key.fingerprint}, which is not "
                             "pinned for it: refusing (unknown host key; never added automatically)")


def _pinned(host_key: str) -> paramiko.PKey:
    parts = host_key.split()
    if len(parts) < 2:
        raise ValueError(f"pinned host key {host_key!r} is not '<type> <base64>'")
    keytype, b64 = (parts[0], parts[1]) if len(parts) == 2 else (parts[1], parts[2])  # known_hosts line
    return paramiko.PKey.from_type_string(keytype, base64.b64decode(b64))


def _raw(path: str) -> bytes:
    """A path as the bytes the server knows it by (a name that is not UTF-8 was listed with surrogateescape)."""
    return path.encode("utf-8", "surrogateescape")


def _listdir(sftp: paramiko.SFTPClient, path: str) -> list[tuple[str, int | None]]:
    """(name, lstat mode) of every entry of `path`.  paramiko's listdir_attr decodes names as strict
    UTF-8, so one name in GBK stops every listing; here names are decoded with surrogateescape."""
    t, msg = sftp._request(CMD_OPENDIR, _raw(path))
    if t != CMD_HANDLE:
        raise SFTPError("Expected handle")
    handle = msg.get_binary()
    out = []
    try:
        while True:
            try:
                t, msg = sftp._request(CMD_READDIR, handle)
            except EOFError:
                break
            if t != CMD_NAME:
                raise SFTPError("Expected name response")
            for _ in range(msg.get_int()):
                name = msg.get_string().decode("utf-8", "surrogateescape")
                msg.get_string()                                   # longname
                attr = paramiko.SFTPAttributes._from_msg(msg)
                if name not in (".", ".."):
                    out.append((name, attr.st_mode))
    finally:
        sftp._request(CMD_CLOSE, handle)
    return out


class SftpTransport(Transport):
    """Transport (connectors/base.py) over SFTP; mirrors LocalTransport's semantics."""

    def __init__(self, host: str, port: int = 22, username: str | None = None, key_file: str | Path | None = None,
                 known_hosts: str | Path | None = None, host_key: str | None = None, partner_zone_root: str = "/",
                 timeout: float = 10, retries: int = 3,
                 backoff: float = 0.5):
        if not username or not key_file:
            raise ValueError("SFTP needs a username and a key_file (key authentication only)")
        if not known_hosts and not host_key:
            raise ValueError(f"no pinned host key for {host}: give known_hosts or host_key")
        self.host, self.port, self.username, self.key_file = host, int(port), username, str(key_file)
        self.known_hosts, self.host_key = known_hosts, host_key
        self.root = partner_zone_root
        self.inbound = posixpath.join(partner_zone_root, "inbound")
        self.outbound = posixpath.join(partner_zone_root, "outbound")
        self.timeout, self.retries, self.backoff = float(timeout), max(1, int(retries)), backoff
        self._client: paramiko.SSHClient | None = None
        self._sftp: paramiko.SFTPClient | None = None

    def __repr__(self) -> str:
        return f"SftpTransport({self.username}@{self.host}:{self.port}{self.root})"

    # -------------------------------------------------------------- connection
    @property
    def _host_name(self) -> str:
        return self.host if self.port == 22 else f"[{self.host}]:{self.port}"

    def _connect(self) -> paramiko.SFTPClient:
        if self._sftp is not None:
            return self._sftp
        client = paramiko.SSHClient()
        client.set_missing_host_key_policy(_Refuse())
        if self.known_hosts:
            client.get_host_keys().load(str(self.known_hosts))   # not load_host_keys: never written back
        if self.host_key:
            pinned = _pinned(self.host_key)
            client.get_host_keys().add(self._host_name, pinned.get_name(), pinned)
        pkey = paramiko.PKey.from_path(self.key_file)
        try:
            client.connect(self.host, port=self.port, username=self.username, pkey=pkey, password=None,
                           look_for_keys=False, allow_agent=False, timeout=self.timeout,
                           banner_timeout=self.timeout, auth_timeout=self.timeout, channel_timeout=self.timeout)
            sftp = client.open_sftp()
            sftp.get_channel().settimeout(self.timeout)
        except paramiko.BadHostKeyException as exc:
            client.close()
            raise HostKeyRefused(f"{self._host_name} offered host key {exc.key.get_name()} {exc.key.fingerprint}, "
                                 f"pinned is {exc.expected_key.get_name()} {exc.expected_key.fingerprint}: "
                                 "refusing (changed host key)") from exc
        except paramiko.AuthenticationException as exc:
            client.close()
            raise paramiko.AuthenticationException(
                f"{self.username}@{self._host_name}: key {self.key_file} refused: {exc}") from exc
        except BaseException:
            client.close()
            raise
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

    def _transient(self, exc: BaseException) -> bool:
        if isinstance(exc, (HostKeyRefused, paramiko.AuthenticationException, paramiko.BadHostKeyException,
                            FileNotFoundError, PermissionError, FileExistsError, ValueError)):
            return False
        if isinstance(exc, (socket.timeout, TimeoutError, EOFError, ConnectionError, paramiko.SSHException)):
            return True
        if isinstance(exc, OSError):
            # an SFTP status answer (connection still up) is the server saying no: final;
            # the same error type from a dead connection is transient
            transport = self._client.get_transport() if self._client else None
            return transport is None or not transport.is_active()
        return False

    def _retry(self, what: str, fn):
        """Run fn(sftp); on a transient error reconnect and retry with exponential backoff."""
        for attempt in range(1, self.retries + 1):
            try:
                return fn(self._connect())
            except Exception as exc:  # noqa: BLE001 - classified just below
                transient = self._transient(exc)
                self.close()
                if not transient:
                    raise
                if attempt == self.retries:
                    raise ConnectionError(f"sftp {self.username}@{self._host_name} {what} failed after {attempt} "
                                          f"attempts: {exc!r}") from exc
                delay = self.backoff * 2 ** (attempt - 1)
                log.warning("sftp %s failed (%r); retry %d/%d in %.1f s", what, exc, attempt, self.retries - 1, delay)
                time.sleep(delay)

    # --------------------------------------------------------------- protocol
    def entries(self) -> dict[str, str]:
        def kinds(sftp: paramiko.SFTPClient) -> dict[str, str]:
            # readdir attributes are lstat's: a link shows as a link and is never followed
            return {name: "file" if stat.S_ISREG(mode or 0) else "dir" if stat.S_ISDIR(mode or 0) else "other"
                    for name, mode in _listdir(sftp, self.inbound)}
        return self._retry("list", kinds)

    def fetch(self, delivery: RemoteDelivery, dest: Path) -> list[Path]:
        """All files of the delivery into `dest`, or none: each arrives as `.part` and is renamed
        only when every file has the server's size."""
        dest = Path(dest)
        dest.mkdir(parents=True, exist_ok=True)
        parts = [dest / (name + ".part") for name in delivery.files]

        def get_all(sftp: paramiko.SFTPClient) -> list[Path]:
            try:
                for name, part in zip(delivery.files, parts):
                    remote = posixpath.join(self.inbound, name)
                    size = sftp.stat(remote).st_size
                    part.unlink(missing_ok=True)
                    sftp.get(remote, str(part))
                    if part.stat().st_size != size:
                        raise EOFError(f"{name}: got {part.stat().st_size} of {size} bytes")
            except BaseException:
                for part in parts:                 # a partial download is never used
                    part.unlink(missing_ok=True)
                raise
            return [part.replace(dest / name) for name, part in zip(delivery.files, parts)]
        return self._retry(f"fetch {delivery.name}", get_all)

    def _hub_folder(self, sftp: paramiko.SFTPClient, *parts: str) -> str:
        """inbound/<parts>, made when missing; never through a link or over a file a partner put there
        (a stray of that name is set aside by the next receive)."""
        path = self.inbound
        for i, part in enumerate(parts):
            path = posixpath.join(path, part)
            try:
                mode = sftp.lstat(path).st_mode or 0
            except FileNotFoundError:
                sftp.mkdir(path)
                continue
            if not stat.S_ISDIR(mode):
                raise FileExistsError(f"inbound/{'/'.join(parts[:i + 1])} is not the hub's folder but an entry "
                                      "of the partner's; it is set aside as a stray by the next receive")
        return path

    def ack(self, delivery: RemoteDelivery, batch_id: int | None = None) -> None:
        """Rename into inbound/processed/<batch_id>/ (never delete); safe to repeat after a lost answer."""
        def move(sftp: paramiko.SFTPClient) -> None:
            done = self._hub_folder(sftp, PROCESSED, *([str(batch_id)] if batch_id is not None else []))
            for name in delivery.files:
                try:
                    sftp.posix_rename(posixpath.join(self.inbound, name), posixpath.join(done, name))
                except FileNotFoundError:
                    sftp.stat(posixpath.join(done, name))   # already moved by an earlier attempt, or raise
        self._retry(f"ack {delivery.name}", move)

    def set_aside(self, name: str) -> None:
        """Rename a stray entry into inbound/rejected/ (a link is renamed itself, never followed), never over
        another entry there.  Names travel as the bytes they are (a name need not be UTF-8)."""
        def exists(sftp: paramiko.SFTPClient, path: str) -> bool:
            try:
                sftp.lstat(_raw(path))
                return True
            except FileNotFoundError:
                return False

        def move(sftp: paramiko.SFTPClient) -> None:
            src, label = posixpath.join(self.inbound, name), name
            if not exists(sftp, src) and name == REJECTED:     # a retry after the first rename: carry on
                src = next((posixpath.join(self.inbound, n) for n, _ in _listdir(sftp, self.inbound)
                            if INTERIM.fullmatch(n)), src)
            if not exists(sftp, src):
                raise FileNotFoundError(f"{name!r} is no longer in inbound/")
            if posixpath.basename(src) == REJECTED:   # the stray holds the folder's name: out of the way first
                interim = posixpath.join(self.inbound, interim_name())
                sftp.posix_rename(_raw(src), _raw(interim))
                src = interim
            if INTERIM.fullmatch(posixpath.basename(src)):
                label = REJECTED
            aside = self._hub_folder(sftp, REJECTED)
            for dest in aside_names(label):
                if not exists(sftp, posixpath.join(aside, dest)):
                    break
            sftp.posix_rename(_raw(src), _raw(posixpath.join(aside, dest)))
        self._retry("set aside a stray", move)

    def put(self, local: Path, remote_name: str) -> None:
        """Upload to outbound/<name>.part, then rename (posix-rename: replaces atomically)."""
        final = posixpath.join(self.outbound, remote_name)
        tmp = final + ".part"

        def upload(sftp: paramiko.SFTPClient) -> None:
            sftp.put(str(local), tmp, confirm=True)
            sftp.posix_rename(tmp, final)
        self._retry(f"put {remote_name}", upload)
