"""Peak memory of the running benchmark process."""
from __future__ import annotations

import resource
from pathlib import Path


def peak_rss_kb() -> int:
    """VmHWM of this process (ru_maxrss would include the parent's peak inherited across exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
