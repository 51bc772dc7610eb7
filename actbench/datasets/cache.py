"""A sweep's data, each dataset loaded once and each cut of it made once, kept by its context."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from actbench.config import ExperimentConfig, RunSpec, spec_key
from actbench.datasets import Dataset, RawData, load_dataset, load_own, split_dataset

# What decides the images a run trains, validates and is tested on.
CUT_FIELDS = ("dataset", "source", "own_data", "limit_train", "limit_test", "training.validation_split")


@dataclass(frozen=True)
class DataRequest:
    """Where a sweep's data comes from: the same for every run of it, whichever process trains it."""

    source: str  # the config's data.source: "auto" | "full" | "sample"
    data_dir: Path | None = None
    mirror: str | None = None
    own: tuple[tuple[str, Path, tuple[str, ...] | None], ...] = ()  # datasets of your own: name, path, class names


def data_request(config: ExperimentConfig, data_dir: Path | None = None, mirror: str | None = None) -> DataRequest:
    own = tuple(
        (name, entry.location, tuple(entry.class_names) if entry.class_names else None)
        for name, entry in config.own_datasets.items()
    )
    return DataRequest(config.data.source, data_dir, mirror, own)


@dataclass
class DataCache:
    """The datasets of one request as loaded, and each cut a run asks for."""

    request: DataRequest
    raw: dict[str, RawData] = field(default_factory=dict)
    cuts: dict[str, Dataset] = field(default_factory=dict)

    def load(self, name: str) -> RawData:
        if name not in self.raw:
            own = {entry[0]: entry for entry in self.request.own}
            if name in own:
                _, location, names = own[name]
                self.raw[name] = load_own(name, location, list(names) if names else None)
            else:
                self.raw[name] = load_dataset(name, self.request.source, self.request.data_dir, self.request.mirror)
        return self.raw[name]

    def cut(self, spec: RunSpec) -> Dataset:
        key = cut_key(spec)
        if key not in self.cuts:
            self.cuts[key] = split_dataset(
                self.load(spec.dataset), spec.limit_train, spec.limit_test, spec.training.validation_split
            )
        return self.cuts[key]

    def clear(self) -> None:
        self.raw.clear()
        self.cuts.clear()


def cut_key(spec: RunSpec) -> str:
    """Runs with the same key train, validate and test on the same images."""
    return spec_key(spec, only=CUT_FIELDS)
