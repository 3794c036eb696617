"""The run's progress display: a rich live display on a terminal, plain lines at a steady interval otherwise.

Under SLURM, nohup or CI stderr is not a terminal and a live display shows nothing until the end. There,
``PlainProgress`` prints one line per active task every ``every_s`` seconds (description with its loss
terms and tokens/s, step/total, ETA), no control characters, so a log file shows where the work is. Both
offer the subset of ``rich.progress.Progress`` the pipeline uses: ``add_task``, ``update``, ``advance``.
"""

from __future__ import annotations

import sys
import threading
import time
from typing import Any, TextIO

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn


def progress(console: Console, every_s: float = 10.0):
    if console.is_terminal:
        return Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=False,
        )
    return PlainProgress(every_s=every_s, stream=console.file)


class PlainProgress:
    """Plain progress lines: ``HH:MM:SS  <description>  <done>/<total>  ETA <h:mm:ss>``, one per task."""

    def __init__(self, *, every_s: float = 10.0, stream: TextIO | None = None) -> None:
        self.every_s, self.stream = every_s, stream or sys.stderr
        self._tasks: dict[int, dict[str, Any]] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> PlainProgress:
        self._thread = threading.Thread(target=self._loop, name="progress-lines", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self.print_lines()

    def add_task(self, description: str, total: float | None = None, **_: Any) -> int:
        with self._lock:
            task_id = len(self._tasks)
            self._tasks[task_id] = {
                "description": description,
                "completed": 0,
                "total": total,
                "visible": True,
                "since": time.monotonic(),
                "base": 0,
            }
        return task_id

    def update(self, task_id: int, **fields: Any) -> None:
        with self._lock:
            task = self._tasks[task_id]
            restarted = fields.get("completed", task["completed"]) < task["completed"] or (
                "total" in fields and fields["total"] != task["total"]
            )
            task.update({k: v for k, v in fields.items() if k in ("description", "completed", "total", "visible")})
            if restarted:  # a new phase (or a resumed training): the ETA counts from here
                task["since"], task["base"] = time.monotonic(), task["completed"]

    def advance(self, task_id: int, amount: float = 1) -> None:
        with self._lock:
            self._tasks[task_id]["completed"] += amount

    def print_lines(self) -> None:
        with self._lock:
            lines = [self._line(t) for t in self._tasks.values() if t["visible"]]
        stamp = time.strftime("%H:%M:%S")
        for line in lines:
            self.stream.write(f"{stamp}  {line}\n")
        self.stream.flush()

    def _loop(self) -> None:
        while not self._stop.wait(self.every_s):
            self.print_lines()

    @staticmethod
    def _line(task: dict[str, Any]) -> str:
        from rich.errors import MarkupError
        from rich.text import Text

        # plain text on one line, whatever markup or line breaks the description holds
        try:
            text = Text.from_markup(str(task["description"])).plain
        except MarkupError:
            text = str(task["description"])
        text = " ".join(text.split())
        done, total = task["completed"], task["total"]
        if total:
            text += f"  {done:g}/{total:g}"
            rate = (done - task["base"]) / max(time.monotonic() - task["since"], 1e-9)
            if rate > 0 and done < total:
                text += f"  ETA {_clock((total - done) / rate)}"
        return text


def _clock(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


class UnitReporter:
    """Routes a unit's training and evaluation progress onto a progress task (``update(task, **fields)``)."""

    def __init__(self, update, task: Any, name: str) -> None:
        self.update, self.task, self.name = update, task, name

    def step(self, what: str) -> None:
        self.update(self.task, description=f"{self.name}: {what}", completed=0, total=None)

    def train(self, event: dict[str, Any]) -> None:
        self.update(
            self.task,
            description=f"{self.name}: training  {train_terms(event)}",
            completed=event.get("step", 0),
            total=event.get("total"),
        )

    def eval(self, event: dict[str, Any]) -> None:
        self.update(self.task, completed=event.get("index", 0), total=event.get("total"))


def train_terms(event: dict[str, Any]) -> str:
    """``loss=2.301  loss_pivot=...  loss_target=...  812 tok/s`` from a trainer step record."""
    losses = "  ".join(f"{k}={v:.3f}" for k, v in event.items() if k.startswith("loss") and isinstance(v, float))
    speed = f"  {event['tokens_per_s']:.0f} tok/s" if event.get("tokens_per_s") else ""
    return losses + speed
