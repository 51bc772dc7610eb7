from pathlib import Path

import pytest

from actbench.config import RunSpec, expand_runs, load_config, parse_set, run_id
from actbench.errors import ActbenchError
from helpers import REPO, write_config

BASE = """
name: t
datasets: [mnist]
hidden_activations: [relu]
"""


def error_for(tmp_path: Path, text: str, overrides: list[str] = ()) -> str:
    path = write_config(tmp_path, text)
    with pytest.raises(ActbenchError) as caught:
        load_config(path, [parse_set(o) for o in overrides])
    message = str(caught.value)
    assert message.startswith(str(path)), message
    return message


def test_defaults_mirror_the_seed_tutorial(tmp_path):
    config = load_config(write_config(tmp_path, BASE))
    assert config.models[0].hidden_units == [128, 64]
    assert (config.training.batch_size, config.training.epochs, config.training.validation_split) == (128, 5, 0.1)
    assert [o.name for o in config.output_activations] == ["softmax"]


def test_unknown_key_suggests_the_right_one(tmp_path):
    assert "training.epoch: unknown field; did you mean 'epochs'?" in error_for(tmp_path, BASE + "training: {epoch: 3}")
    message = error_for(tmp_path, BASE + "models: [{type: cnn, filtrs: [8]}]")
    assert "models[0].filtrs: unknown field; did you mean 'filters'?" in message
    assert "hidden_activation: unknown field; did you mean 'hidden_activations'?" in error_for(
        tmp_path, BASE + "hidden_activation: [relu]"
    )


def test_wrong_types_empty_lists_and_non_positive_sizes(tmp_path):
    assert "training.epochs: must be a whole number (got 'many')" in error_for(
        tmp_path, BASE + "training: {epochs: many}"
    )
    assert "datasets: must list at least 1 entry (got an empty list); add one" in error_for(
        tmp_path, BASE.replace("[mnist]", "[]")
    )
    assert "training.batch_size: must be greater than 0 (got -1)" in error_for(
        tmp_path, BASE + "training: {batch_size: -1}"
    )
    assert "data.limit_train: must be greater than 0" in error_for(tmp_path, BASE + "data: {limit_train: 0}")
    assert "datasets[0]: must be 'mnist' or 'fashion_mnist'" in error_for(tmp_path, BASE.replace("[mnist]", "[cifar]"))
    assert "name: required field is missing" in error_for(tmp_path, "datasets: [mnist]\nhidden_activations: [relu]\n")


def test_unknown_activation_names_closest_valid_names(tmp_path):
    message = error_for(tmp_path, BASE.replace("[relu]", "[relu, rleu]"))
    assert "hidden_activations[1]: unknown activation 'rleu'; did you mean 'relu'" in message
    assert "valid names:" in message
    assert "takes alpha, not beta" in error_for(tmp_path, BASE.replace("[relu]", "[{name: elu, beta: 2}]"))
    assert "cannot import module 'no_such_module'" in error_for(
        tmp_path, BASE.replace("[relu]", "['no_such_module:f']")
    )


def test_softmax_on_a_single_unit_is_refused(tmp_path):
    text = BASE.replace("[relu]", "[softmax]") + "models: [{type: mlp, hidden_units: [32, 1]}]"
    assert "softmax over one unit always outputs 1.0" in error_for(tmp_path, text)


def test_yaml_syntax_error_reports_line_and_column(tmp_path):
    message = error_for(tmp_path, "name: t\ndatasets: [mnist\nhidden_activations: [relu]\n")
    assert message.startswith(f"{tmp_path / 'experiment.yaml'}:3:")
    assert "YAML syntax error" in message


def test_overrides_are_yaml_scalars_on_dotted_paths(tmp_path):
    path = write_config(tmp_path, BASE)
    config = load_config(
        path,
        [
            parse_set(o)
            for o in ["training.epochs=1", "data.limit_train=1000", "seeds=3", "hidden_activations=[tanh, selu]"]
        ],
    )
    assert config.training.epochs == 1 and config.data.limit_train == 1000
    assert config.seeds == [0, 1, 2]
    assert [a.name for a in config.hidden_activations] == ["tanh", "selu"]
    with pytest.raises(ActbenchError, match=r"--set 'training.epochs': write it as dotted.path=value"):
        load_config(path, [parse_set("training.epochs")])


def test_an_error_caused_by_set_names_the_override_not_the_file(tmp_path):
    path = write_config(tmp_path, BASE + "training: {epochs: 2}\n")

    def message(overrides: list[str]) -> str:
        with pytest.raises(ActbenchError) as caught:
            load_config(path, [parse_set(o) for o in overrides])
        return str(caught.value)

    assert (
        message(["training.epoch=1"])
        == "--set 'training.epoch=1': training.epoch: unknown field; did you mean 'epochs'?"
    )
    assert message(["seeds=2", "training.epochs=0"]).startswith(
        "--set 'training.epochs=0': training.epochs: must be greater than 0"
    )
    assert message(["hidden_activations=[relu, rleu]"]).startswith(
        "--set 'hidden_activations=[relu, rleu]': hidden_activations[1]: unknown"
    )
    assert message(["training={epochs: -1}"]).startswith("--set 'training={epochs: -1}': training.epochs:")
    assert message(["data.limit_train=x.y"]).startswith("--set 'data.limit_train=x.y'")
    assert message(["name.first=x"]) == "--set 'name.first=x': 'name' is not a section, so it has no 'first'"
    # An unknown field the override created on its way is the override's too, not the file's.
    assert message(["training.foo.bar=1"]).startswith("--set 'training.foo.bar=1': training.foo: unknown field")
    assert message(["models[0].type=cnn"]).startswith("--set 'models[0].type=cnn': list items cannot be set one by one")
    # A bad value the file itself holds is still the file's, even when other values were overridden.
    broken = write_config(tmp_path, BASE + "training: {epochs: 0}\n", "broken.yaml")
    with pytest.raises(ActbenchError, match=rf"^{broken}: training.epochs: must be greater than 0"):
        load_config(broken, [parse_set("seeds=2")])


def test_activation_forms_and_canonical_labels(tmp_path):
    text = BASE.replace(
        "[relu]", "[relu, {name: leaky_relu, alpha: 0.1}, leaky_relu, silu, {name: gelu, approximate: true}]"
    )
    labels = [a.label for a in load_config(write_config(tmp_path, text)).hidden_activations]
    assert labels == ["relu", "leaky_relu(alpha=0.1)", "leaky_relu(alpha=0.01)", "swish", "gelu(approximate=true)"]


def test_printed_labels_are_accepted_as_input(tmp_path):
    from actbench.activations import CATALOGUE
    from actbench.naming import activation_label

    printed = [activation_label(info.name, info.defaults) for info in CATALOGUE.values()]
    text = BASE.replace("[relu]", "[" + ", ".join(f"'{p}'" for p in printed) + "]")
    assert [a.label for a in load_config(write_config(tmp_path, text)).hidden_activations] == printed
    given = ["leaky_relu(alpha=0.2)", "gelu(approximate=true)", "ELU(alpha=2)", "thresholded_relu()"]
    config = load_config(write_config(tmp_path, BASE), [parse_set("hidden_activations=[" + ", ".join(given) + "]")])
    assert [a.label for a in config.hidden_activations] == [
        "leaky_relu(alpha=0.2)",
        "gelu(approximate=true)",
        "elu(alpha=2.0)",
        "thresholded_relu(threshold=1.0)",
    ]
    assert (
        config.hidden_activations[0]
        == load_config(
            write_config(tmp_path, BASE.replace("[relu]", "[{name: leaky_relu, alpha: 0.2}]"))
        ).hidden_activations[0]
    )
    assert "hidden_activations[0]: 'leaky_relu(alpha': write an activation" in error_for(
        tmp_path, BASE.replace("[relu]", "['leaky_relu(alpha']")
    )
    assert "gelu.approximate must be true or false, not 'maybe'" in error_for(
        tmp_path, BASE.replace("[relu]", "['gelu(approximate=maybe)']")
    )
    assert "activation 'relu' takes no parameters, not alpha" in error_for(
        tmp_path, BASE.replace("[relu]", "['relu(alpha=1)']")
    )


def expand(tmp_path, text, source="sample"):
    config = load_config(write_config(tmp_path, text))
    return expand_runs(config, dict.fromkeys(config.datasets, source))


def test_grid_is_the_cartesian_product_with_auto_initialisers(tmp_path):
    runs = expand(
        tmp_path,
        BASE.replace("[mnist]", "[mnist, fashion_mnist]").replace("[relu]", "[relu, selu, tanh]")
        + "models: [mlp, cnn]\noutput_activations: [softmax, linear]\nseeds: 2\n",
    )
    assert len(runs) == 2 * 2 * 3 * 2 * 2
    assert len({run_id(r) for r in runs}) == len(runs)
    initializers = {r.hidden_activation.name: r.model.initializer for r in runs}
    assert initializers == {"relu": "he_normal", "selu": "lecun_normal", "tanh": "glorot_uniform"}


def test_run_id_depends_on_what_changes_numbers_only(tmp_path):
    (spec,) = expand(tmp_path, BASE)
    same_but_renamed = spec.model_copy(update={"experiment": "other"})
    assert run_id(spec) == run_id(same_but_renamed)
    assert run_id(spec) != run_id(spec.model_copy(update={"seed": 1}))
    assert run_id(spec) != run_id(spec.model_copy(update={"source": "full"}))
    assert run_id(spec) != run_id(spec.model_copy(update={"limit_train": 100}))
    # Stable across processes and versions of this code: a changed id would orphan finished runs.
    assert run_id(RunSpec.model_validate(spec.model_dump(mode="json"))) == run_id(spec)


def test_an_explicit_initializer_is_kept(tmp_path):
    (spec,) = expand(tmp_path, BASE + "models: [{type: mlp, initializer: glorot_normal}]")
    assert spec.model.initializer == "glorot_normal"


@pytest.mark.parametrize("path", sorted((REPO / "configs").rglob("*.yaml")), ids=lambda p: p.name)
def test_every_shipped_config_validates(path):
    config = load_config(path)
    assert expand_runs(config, dict.fromkeys(config.datasets, "sample"))


BINARY = BASE + "task: {type: binary, positive: [0]}\n"


def test_binary_task_gives_each_output_its_width(tmp_path):
    config = load_config(write_config(tmp_path, BINARY + "output_activations: [sigmoid, linear, softmax]\n"))
    runs = expand_runs(config, {"mnist": "full"})
    assert [(r.output_activation, r.output_units) for r in runs] == [("sigmoid", 1), ("linear", 1), ("softmax", 2)]
    assert runs[0].task.label == "binary(0 vs rest)"
    multiclass = expand_runs(
        load_config(write_config(tmp_path, BASE + "output_activations: [sigmoid]\n")), {"mnist": "full"}
    )
    assert multiclass[0].output_units == 10 and multiclass[0].task.label == "multiclass"
    # The task changes the numbers, so it changes the run id.
    assert run_id(runs[0]) != run_id(runs[0].model_copy(update={"task": multiclass[0].task}))


def test_softmax_on_a_single_output_unit_is_refused_with_the_reason(tmp_path):
    message = error_for(tmp_path, BINARY + "output_activations: [sigmoid, {name: softmax, units: 1}]\n")
    assert (
        "output_activations: [1] softmax: softmax over one unit always outputs 1.0, so the network cannot learn"
        in message
    )
    assert "use softmax with 2 units" in message


@pytest.mark.parametrize(
    "text, expected",
    [
        (BASE + "output_activations: [{name: softmax, units: 2}]\n", "a 10-class task needs 10 output units (got 2)"),
        (BINARY + "output_activations: [{name: sigmoid, units: 3}]\n", "a binary task has 1 output unit"),
        (BASE + "task: {type: binary}\n", "a binary task needs 'positive'"),
        (BASE + "task: {type: binary, positive: [0,1,2,3,4,5,6,7,8,9]}\n", "a binary task needs 'positive'"),
        (BASE + "task: {positive: [3]}\n", "'positive' belongs to a binary task"),
        (BASE + "task: {type: binary, positive: [1, 1]}\n", "list each positive class once"),
        (BASE + "task: {type: binary, positive: [10]}\n", "task.positive[0]: must be less than 10"),
        (BASE + "output_activations: [tanh]\n", "output_activations[0].name: must be 'softmax', 'sigmoid' or 'linear'"),
    ],
)
def test_impossible_tasks_and_output_widths_are_refused(tmp_path, text, expected):
    assert expected in error_for(tmp_path, text)


def test_seeds_outside_32_bits_are_refused_before_anything_runs(tmp_path):
    assert "seeds[0]: must be greater than or equal to 0 (got -1)" in error_for(tmp_path, BASE + "seeds: [-1]\n")
    assert "seeds[1]: must be less than or equal to 4294967295" in error_for(
        tmp_path, BASE + "seeds: [0, 4294967296]\n"
    )
    assert load_config(write_config(tmp_path, BASE + "seeds: [4294967295]\n")).seeds == [2**32 - 1]


def test_a_repeated_yaml_key_is_refused_naming_its_line(tmp_path):
    message = error_for(tmp_path, BASE + "training:\n  epochs: 2\n  batch_size: 64\n  epochs: 3\n")
    assert (
        ":8:3: " in message and "the key 'epochs' appears twice in one mapping (first on line 6); keep one" in message
    )
    assert "twice" in error_for(tmp_path, BASE + "seeds: 1\nseeds: 2\n")


def test_a_task_is_checked_against_the_fewest_classes_of_the_grids_built_in_datasets(monkeypatch):
    # A built-in dataset with another class count (a future row) bounds only the grids it is in.
    import dataclasses

    from actbench import dataset_catalogue as catalogue
    from actbench.config.load import _class_bound

    three = dataclasses.replace(catalogue.DATASETS["mnist"], name="three", class_names=("a", "b", "c"))
    monkeypatch.setitem(catalogue.DATASETS, "three", three)
    assert catalogue.fewest_classes(["mnist", "fashion_mnist"]) == 10
    assert _class_bound({"datasets": ["mnist", "three"]}) == 3 and _class_bound({"datasets": ["mnist"]}) == 10
    assert _class_bound({"datasets": ["mnist", {"name": "mine", "path": "x"}]}) == 10  # yours: checked once read
    assert _class_bound({"datasets": [{"name": "mine", "path": "x"}]}) is None


@pytest.mark.parametrize(
    "text, expected",
    [
        ("training: {learning_rate: .inf}", "training.learning_rate: must be a finite number (got inf)"),
        ("training: {learning_rate: .nan}", "training.learning_rate: must be a finite number (got nan)"),
        ("models: [{type: mlp, dropout: .nan}]", "models[0].dropout: must be a finite number"),
        (
            "hidden_activations: [{name: leaky_relu, alpha: .inf}]",
            "hidden_activations[0]: leaky_relu.alpha is inf; give a finite number",
        ),
    ],
)
def test_numbers_must_be_finite(tmp_path, text, expected):
    assert expected in error_for(
        tmp_path,
        BASE.replace("hidden_activations: [relu]\n", "")
        + text
        + ("" if "hidden_activations" in text else "\nhidden_activations: [relu]"),
    )


@pytest.mark.parametrize("name", [".my_acts:swish", ":swish", "pkg..mod:swish", "os:", "os.path:join:extra", "1pkg:fn"])
def test_a_malformed_custom_activation_path_is_one_line(tmp_path, name):
    message = error_for(tmp_path, BASE.replace("[relu]", f"['{name}']"))
    assert f"hidden_activations[0]: activation '{name}' is not of the form package.module:function" in message
    assert "\n" not in message


def test_a_custom_activation_whose_module_fails_to_import_is_one_line(tmp_path, monkeypatch):
    (tmp_path / "broken_acts.py").write_text("raise RuntimeError('half-edited')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    message = error_for(tmp_path, BASE.replace("[relu]", "['broken_acts:swish']"))
    assert (
        "importing module 'broken_acts' for activation 'broken_acts:swish' failed: RuntimeError: half-edited" in message
    )


@pytest.mark.parametrize(
    "model, expected",
    [
        ("{type: cnn, kernel_size: 29}", "models[0].kernel_size: 29 is larger than mnist's 28x28 images; lower it"),
        (
            "{type: cnn, filters: [8, 8, 8, 8]}",
            "models[0].kernel_size: 3 is larger than the 1x1 feature maps that 3 convolution",
        ),
        (
            "{type: cnn, filters: [8], pool_size: 27}",
            "models[0].pool_size: 27 is larger than the 26x26 feature maps convolution 1 leaves",
        ),
    ],
)
def test_convolution_and_pooling_windows_larger_than_the_images_are_refused(tmp_path, model, expected):
    message = error_for(tmp_path, BASE + f"models: [mlp, {model}]".replace("mlp, ", ""))
    assert expected in message
    assert "lower it" in message


@pytest.mark.parametrize(
    "model, field, fixes",
    [
        # 28 -> 26 -> 6 -> 4 -> 1: the pooling shrank the maps the third convolution meets
        (
            "{type: cnn, filters: [32, 64, 128], pool_size: 4}",
            "kernel_size: 3",
            "lower it, lower pool_size or list fewer filters",
        ),
        (
            "{type: cnn, filters: [8, 8, 8, 8], kernel_size: 9, pool_size: 1}",
            "kernel_size: 9",
            "lower it or list fewer filters",
        ),
        (
            "{type: cnn, kernel_size: 29}",
            "kernel_size: 29",
            "lower it",
        ),  # the first convolution: nothing shrank the images
        ("{type: cnn, filters: [8], pool_size: 27}", "pool_size: 27", "lower it or lower kernel_size"),
        ("{type: cnn, filters: [8], kernel_size: 1, pool_size: 29}", "pool_size: 29", "lower it"),
        (
            "{type: cnn, filters: [8, 8], pool_size: 8}",
            "pool_size: 8",
            "lower it, lower kernel_size or list fewer filters",
        ),
    ],
)
def test_a_window_too_large_names_its_field_and_every_setting_that_shrank_the_maps(tmp_path, model, field, fixes):
    message = error_for(tmp_path, BASE + f"models: [{model}]")
    assert f"models[0].{field} is larger than" in message and message.endswith(f"; {fixes}"), message


def test_a_model_too_large_for_memory_is_refused_with_its_size(tmp_path, monkeypatch):
    from actbench import resources

    monkeypatch.setattr(resources, "memory_bytes", lambda: 2**30)  # a 1 GiB machine
    message = error_for(
        tmp_path, BASE + "models: [{type: mlp, hidden_units: [1280, 640]}, {type: mlp, hidden_units: [12800, 6400]}]"
    )
    parameters = (784 + 1) * 12800 + (12800 + 1) * 6400 + (6400 + 1) * 10  # weights and biases: 92,038,410
    assert f"models[1]: {parameters:,} parameters: training needs about 1.4 GiB" in message  # 4 copies of 4 bytes each
    assert "more than this machine's 1.0 GiB; make the layers narrower or fewer" in message
    monkeypatch.setattr(resources, "memory_bytes", lambda: 2 * 2**30)
    load_config(write_config(tmp_path, BASE + "models: [{type: mlp, hidden_units: [12800, 6400]}]"))


def test_a_memory_limit_counts_the_batch_a_run_can_have_and_names_the_override_that_caused_it(tmp_path, monkeypatch):
    from actbench import resources

    path, batch = write_config(tmp_path, BASE), parse_set("training.batch_size=100000000")
    monkeypatch.setattr(
        resources, "memory_bytes", lambda: 2**30
    )  # the whole 54,000 fitted images of full MNIST fit in 1 GiB
    assert load_config(path, [batch]).training.batch_size == 100_000_000
    monkeypatch.setattr(resources, "memory_bytes", lambda: 2**28)  # 256 MiB: they do not
    with pytest.raises(ActbenchError) as caught:
        load_config(path, [batch])
    message = str(caught.value)
    assert message.startswith("--set 'training.batch_size=100000000': models[0]: "), message
    assert "a batch of 54000)" in message and message.endswith("or lower training.batch_size")
    assert (
        load_config(path, [batch, parse_set("data.limit_train=1000")]).data.limit_train == 1000
    )  # batches of 900 at most
    # Weights too large for memory: the models in the file are the cause, not a batch size set on the command line.
    big = BASE + "models: [{type: mlp, hidden_units: [12800, 6400]}]"
    assert "make the layers narrower or fewer" in error_for(tmp_path, big, ["training.batch_size=64"])


def test_memory_bytes_reads_this_machine():
    from actbench.resources import memory_bytes

    assert memory_bytes() > 2**26  # some memory, in bytes (not pages or kB)


@pytest.mark.parametrize(
    "model, hidden, image_shape",
    [
        ("{type: mlp, hidden_units: [32, 16], dropout: 0.2}", "relu", (28, 28)),
        ("{type: cnn}", "relu", (28, 28)),
        ("{type: cnn, filters: [4, 6], kernel_size: 5, pool_size: 3, dense_units: [12]}", "prelu", (32, 30, 3)),
        ("{type: mlp, hidden_units: [7]}", "prelu", (9, 9, 2)),
        ("{type: mlp, hidden_units: [32, 16], batch_norm: before}", "relu", (28, 28)),
        ("{type: cnn, filters: [4, 6], dense_units: [12], batch_norm: after}", "prelu", (28, 28)),
    ],
)
def test_parameters_counted_from_the_spec_match_keras(model, hidden, image_shape):
    from actbench.config import model_size
    from actbench.models import build_model

    config = load_config_text(f"name: t\ndatasets: [mnist]\nmodels: [{model}]\nhidden_activations: [{hidden}]\n")
    spec = expand_runs(config, {"mnist": "sample"})[0]
    input_shape = image_shape + ((1,) if len(image_shape) == 2 else ())
    keras_count = build_model(spec, input_shape, 10).count_params()
    assert model_size(spec.model, image_shape, 10, learned_slopes=hidden == "prelu").parameters == keras_count


def load_config_text(text: str):
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        return load_config(write_config(Path(folder), text))
