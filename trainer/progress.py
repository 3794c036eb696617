"""Progress of a run: a caller's callback, or a rich bar showing each loss term and tokens/s."""

from __future__ import annotations

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn


class ProgressReporter:
    """Forwards step records to ``callback``; with none, renders them on a rich progress bar (main process only)."""

    def __init__(self, callback, total: int, *, enabled: bool = True, start: int = 0):
        self.callback, self.enabled = callback, enabled
        self._bar = None
        if enabled and callback is None:
            self._bar = Progress(
                TextColumn("[bold]train"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[terms]}"),
                TimeElapsedColumn(),
                TimeRemainingColumn(),
            )
            self._task = self._bar.add_task("train", total=total, completed=start, terms="")

    def __enter__(self):
        if self._bar is not None:
            self._bar.start()
        return self

    def __exit__(self, *exc):
        if self._bar is not None:
            self._bar.stop()

    def update(self, record: dict) -> None:
        if not self.enabled:
            return
        if self.callback is not None:
            self.callback(record)
            return
        terms = f"loss {record['loss']:.4f}"
        if record["loss_pivot"] is not None:
            terms += f"  L_n,e {record['loss_pivot']:.4f}  L_N,t {record['loss_target']:.4f}"
        terms += f"  {record['tokens_per_s']:.0f} tok/s"
        self._bar.update(self._task, completed=record["step"], terms=terms)
