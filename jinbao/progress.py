"""Progress bars for long steps when a person watches a terminal; nothing otherwise.

A 1M-record delivery takes seconds to judge and longer to publish; a silent
terminal for that long looks hung.  In Airflow (no terminal) the engine's log
lines say the same in plain words, so bars are only drawn on a TTY.
"""
from __future__ import annotations

import sys
from contextlib import contextmanager



@contextmanager
def bars(enabled: bool | None = None):
    """Yields a progress(step, file, records) callback for Engine.progress, or None."""
    if enabled is None:
        enabled = sys.stderr.isatty()
    if not enabled:
        yield None
        return
    # rich (~50 ms to import) only when bars are drawn: a scheduled or scripted `jinbao run` has no terminal
    from rich.progress import BarColumn, Progress, ProgressColumn, SpinnerColumn, TextColumn, TimeElapsedColumn
    from rich.text import Text

    class RecordsPerSecond(ProgressColumn):
        def render(self, task) -> Text:
            return Text(f"{task.completed:>12,.0f} records  {task.speed or 0:>10,.0f}/s")

    with Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(bar_width=None, pulse_style="cyan"),
                  RecordsPerSecond(), TimeElapsedColumn(), transient=True, console=None) as shown:
        tasks: dict[tuple[str, str], int] = {}

        def progress(step: str, file: str, records: int) -> None:
            key = (step, file)
            if key not in tasks:
                tasks[key] = shown.add_task(f"{step:<8} {file}", total=None)
            shown.advance(tasks[key], records)
        yield progress
