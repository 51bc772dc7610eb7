"""A run as it trains, alone (a pack of one) or in a pack: what happens to it at every epoch's end, once.

Its epoch row (losses, accuracies, its own seconds) and whether it is still finite; its early stopping
fed the row (the Keras callback, which restores the best weights as Keras' fit would); its diagnostics
measured, their time kept apart from its training time; its epochs' callback told.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from actbench.training.setup import PreparedRun

EpochCallback = Callable[[int, dict[str, float]], None]  # (epoch, its history row)


@dataclass(eq=False)  # a member is itself: `in` and index() by identity, not by comparing runs
class Member:
    run: PreparedRun
    slot: int  # its place in the pack's trainer
    model: Any  # the model it trains: the trainer's in its slot
    on_epoch: EpochCallback | None = None
    history: list[dict[str, float]] = field(default_factory=list)
    diverged: bool = False
    diverged_now: bool = False  # a loss stopped being finite within the current epoch
    seconds: float = 0.0  # its own training time: its share of each epoch it trained (see own_shares)

    @property
    def epochs(self) -> int:
        return self.run.spec.training.epochs

    @property
    def training(self) -> bool:
        """Still training: epochs to do, neither diverged nor stopped by its early stopping."""
        return len(self.history) < self.epochs and not (self.diverged or self.run.stopped_early)

    @property
    def probe_seconds(self) -> float:
        return self.run.probe.seconds if self.run.probe else 0.0

    def begin(self) -> None:
        """Before its first step: its watchers look at the model it trains."""
        if self.run.early_stopping:
            self.run.early_stopping.set_model(self.model)
            self.run.early_stopping.on_train_begin()
        if self.run.probe:
            self.run.probe.after_epoch(self.model, 0)

    def end_epoch(self, epoch: int, figures: dict[str, float], seconds: float) -> None:
        """Record epoch `epoch` (1-based): its figures (loss, accuracy, val_loss, val_accuracy) and the
        seconds it took this run."""
        if self.diverged_now:  # the mean of an epoch whose loss stopped being finite is no number
            figures = {**figures, "loss": math.nan}
        row = {"epoch": epoch, **figures, "seconds": round(seconds, 4)}
        self.seconds += seconds
        if not all(math.isfinite(value) for value in row.values()):
            self.diverged = True
        self.diverged_now = False
        self.history.append(row)
        if self.on_epoch:
            self.on_epoch(epoch, row)
        if self.run.early_stopping and not self.diverged:
            self.run.early_stopping.on_epoch_end(epoch - 1, row)
        if self.run.probe:
            self.run.probe.after_epoch(self.model, epoch)

    def end(self) -> None:
        """After its last epoch: early stopping restores the best epoch's weights (restore_best), as Keras' fit."""
        if self.run.early_stopping:
            self.run.early_stopping.on_train_end()
        if self.run.probe:
            self.run.probe.after_training(self.model)


def cost_key(member: Member) -> str:
    """What a member's step costs depends on: its model's layers and activation, not its seed, optimizer
    or learning rate (costs.shape_key). Members alike in it share their step's timings."""
    from actbench.costs import shape_key

    return shape_key(member.run.spec.as_json())


def own_shares(members: list[Member], step_seconds: dict[str, list[float]]) -> list[float]:
    """Each member's share of an epoch the pack trained together: the cost of its kind of step as timed
    alone (`step_seconds` by cost_key: the median of the timings so far) over all of theirs. One member:
    all of it; no timing yet: equal shares."""
    costs = [statistics.median(step_seconds.get(cost_key(m)) or [0.0]) for m in members]
    total = sum(costs)
    if len(members) == 1 or total <= 0 or not all(costs):
        return [1 / len(members)] * len(members)
    return [cost / total for cost in costs]
