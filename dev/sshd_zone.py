"""A real OpenSSH sshd on a loopback port, one key-only chrooted account per partner.

The demo and the tests run the whole SFTP path against it.  It needs root (to
create the partner accounts and chroot) and /usr/sbin/sshd, installed with
apt-get when missing.  `Unavailable` says why it cannot run, so the demo can
fall back to the local folder and the tests can fail (CI) or skip.
"""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path



class Unavailable(RuntimeError):
    """sshd cannot run here (not installed and not installable, or not root)."""


def unavailable(what: str, exc: Exception) -> None:
    raise Unavailable(f"{what}: {exc}")

SSHD = "/usr/sbin/sshd"


def _ensure_sshd(install: bool = True) -> None:
    if Path(SSHD).exists():
        return
    if not install:
        unavailable("OpenSSH sshd", RuntimeError(f"{SSHD} is not installed"))
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        unavailable("OpenSSH sshd", RuntimeError("not installed and cannot apt-get install it"))
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(["apt-get", "update", "-qq"], env=env, capture_output=True, timeout=600)
    done = subprocess.run(["apt-get", "install", "-y", "-qq", "openssh-server"], env=env, capture_output=True,
                          text=True, timeout=900)
    if done.returncode != 0 or not Path(SSHD).exists():
        unavailable("OpenSSH sshd", RuntimeError(done.stderr[-500:]))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _user(name: str) -> None:
    if subprocess.run(["id", name], capture_output=True).returncode != 0:
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name], check=True)
    subprocess.run(["usermod", "-p", "*", name], check=True)   # no password, but not "locked" for pubkey


@dataclass
class SshdServer:
    root: Path
    port: int
    host_key_line: str
    keys: dict[str, Path]                  # partner -> client private key file
    zones: dict[str, Path]                 # partner -> chroot dir (root of the partner's view)
    proc: subprocess.Popen | None = None
    accounts: dict[str, str] = field(default_factory=dict)

    def user(self, partner: str) -> str:
        return self.accounts[partner]

    def session_pids(self) -> list[int]:
        """Every sshd process serving a connection (all descendants of the listener:
        the privileged monitor and the unprivileged child that runs internal-sftp)."""
        found, frontier = [], [self.proc.pid]
        while frontier:
            out = subprocess.run(["pgrep", "-P", ",".join(map(str, frontier))], capture_output=True,
                                 text=True).stdout
            frontier = [int(p) for p in out.split()]
            found += frontier
        return found


def start(root: Path, partners: tuple[str, ...], install: bool = True) -> SshdServer:
    _ensure_sshd(install)
    if os.geteuid() != 0:
        unavailable("sshd with chrooted accounts", RuntimeError("tests must run as root"))
    root.mkdir(parents=True, exist_ok=True)
    os.chmod(root, 0o755)
    Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
    host_key = root / "host_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(host_key)], check=True)
    host_key_line = " ".join((root / "host_ed25519.pub").read_text().split()[:2])
    auth = root / "authorized_keys"
    auth.mkdir(mode=0o755)
    zones_root = root / "zones"
    zones_root.mkdir(mode=0o755)
    keys, zones, accounts = {}, {}, {}
    for partner in partners:
        user = f"jb_{partner}"[:32]
        _user(user)
        client_key = root / f"client_{partner}"
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(client_key)], check=True)
        (auth / user).write_text((root / f"client_{partner}.pub").read_text())
        os.chmod(auth / user, 0o644)
        zone = zones_root / user
        zone.mkdir(mode=0o755)
        for sub in ("inbound", "outbound"):
            (zone / sub).mkdir()
            shutil.chown(zone / sub, user, user)
            os.chmod(zone / sub, 0o775)
        keys[partner], zones[partner], accounts[partner] = client_key, zone, user
    port = _free_port()
    cfg = root / "sshd_config"
    cfg.write_text(f"""
Port {port}
ListenAddress 127.0.0.1
HostKey {host_key}
PidFile {root / 'sshd.pid'}
AuthorizedKeysFile {auth}/%u
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin no
UsePAM no
StrictModes yes
AllowTcpForwarding no
X11Forwarding no
PermitTunnel no
Subsystem sftp internal-sftp
Match User jb_*
    ChrootDirectory {zones_root}/%u
    ForceCommand internal-sftp
""")
    proc = subprocess.Popen([SSHD, "-D", "-e", "-f", str(cfg)], stdout=subprocess.DEVNULL,
                            stderr=open(root / "sshd.log", "wb"))
    deadline = time.time() + 10
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            if proc.poll() is not None:
                raise Unavailable(f"sshd exited: {(root / 'sshd.log').read_text()[-2000:]}")
            time.sleep(0.1)
    return SshdServer(root, port, host_key_line, keys, zones, proc, accounts)


def stop(server: SshdServer) -> None:
    if server.proc and server.proc.poll() is None:
        for pid in server.session_pids():
            try:
                os.kill(pid, signal.SIGCONT)
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        server.proc.terminate()
        server.proc.wait(timeout=10)


def server_root() -> Path:
    """A root-owned 0755 path: sshd reads authorized keys as the user, and ChrootDirectory
    refuses any path component that is not root-owned or is group/world-writable (/tmp is)."""
    import tempfile
    base = Path("/run/jinbao-sshd")
    base.mkdir(mode=0o755, exist_ok=True)
    os.chmod(base, 0o755)
    return Path(tempfile.mkdtemp(dir=base))
