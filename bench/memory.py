"""Peak memory of the running benchmark process (and of one step inside it)."""
from __future__ import annotations

import resource
import threading
from pathlib import Path


def _status_kb(key: str) -> int | None:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return None


def peak_rss_kb() -> int:
    """VmHWM of this process (ru_maxrss would include the parent's peak inherited across exec)."""
    peak = _status_kb("VmHWM")
    return peak if peak is not None else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def rss_kb() -> int:
    """VmRSS of this process now."""
    return _status_kb("VmRSS") or 0


def reset_peak_rss() -> bool:
    """Start VmHWM again from the RSS of now (Linux 4.0+: "5" into /proc/self/clear_refs); False when
    the kernel or the sandbox does not allow it."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


class PeakRss:
    """The highest RSS of this process while the `with` block runs: `peak_mb`, and `growth_mb` above the
    RSS at its start.  VmHWM after a reset where the kernel allows it (exact); otherwise RSS sampled
    every 5 ms by a thread (`sampled` True), which can miss a peak shorter than that."""

    def __init__(self):
        self.start_kb = self.peak_kb = 0
        self.sampled = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> "PeakRss":
        self.start_kb = rss_kb()
        if not reset_peak_rss():
            self.sampled = True
            self.peak_kb = self.start_kb
            self._thread = threading.Thread(target=self._sample, daemon=True)
            self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.wait(0.005):
            self.peak_kb = max(self.peak_kb, rss_kb())

    def __exit__(self, *exc) -> None:
        if self._thread is not None:
            self._stop.set()
            self._thread.join()
            self.peak_kb = max(self.peak_kb, rss_kb())
        else:
            self.peak_kb = peak_rss_kb()

    @property
    def peak_mb(self) -> float:
        return self.peak_kb / 1024

    @property
    def growth_mb(self) -> float:
        return (self.peak_kb - self.start_kb) / 1024
