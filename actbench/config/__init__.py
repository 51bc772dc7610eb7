"""The experiment config: schema.py (the sections), experiment.py (the whole config), load.py (YAML,
overrides, one-line errors), overrides.py (values set on the command line), grid.py (runs and their ids),
sizes.py (a run's and a model's sizes from the spec alone).

Everything callers use is importable from here: `from actbench.config import load_config, RunSpec`.
"""

from actbench.config.experiment import SEED_MAX, ExperimentConfig, config_as_dict, model_problems
from actbench.config.grid import TRAINING_RULES, OwnData, RunSpec, block_id, expand_runs, group_id, run_id, spec_key
from actbench.config.load import load_config
from actbench.config.overrides import Override, option_overrides, parse_set
from actbench.config.reference import Citation, PublishedValue, Reference
from actbench.config.schema import (
    BUILTIN_CLASSES,
    INITIALIZERS,
    ActivationSpec,
    CNNSpec,
    CustomDataset,
    DataSpec,
    MLPSpec,
    OutputSpec,
    TaskSpec,
    TrainingSpec,
    dataset_name,
    output_problem,
    output_units,
)
from actbench.config.sizes import ModelSize, RunSizes, model_size, run_sizes, steps_per_epoch, validation_images
