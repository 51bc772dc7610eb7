"""Training runs, alone or packed, one way: setup.py makes a run ready (seeded model, optimizer, loss,
watchers), trainer.py holds a pack's models and compiled steps, loop.py trains a pack epoch by epoch
(a run alone is a pack of one), member.py records each run's epochs, result.py tests each run once.

Importing it imports TensorFlow: executors import it when a run is about to train.
"""

from actbench.training.loop import PackEpochCallback, TrainedPack, train_alone, train_pack, train_runs
from actbench.training.result import RunResult

__all__ = ["PackEpochCallback", "RunResult", "TrainedPack", "train_alone", "train_pack", "train_runs"]
