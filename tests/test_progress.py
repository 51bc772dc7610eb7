"""The sweep's time left: estimates per run, corrected by how the finished runs compared with theirs."""

import io

import pytest

from actbench.progress import PlainReporter, SweepClock


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_time_left_stays_right_when_slow_runs_come_last():
    # Three quick runs then two slow ones (an MLP then a CNN), on a machine twice as slow as estimated.
    estimates = [10.0, 10.0, 10.0, 100.0, 100.0]
    actual = [2 * e for e in estimates]
    time = FakeTime()
    clock = SweepClock(estimates, now=time)
    assert clock.remaining() == 230.0
    for seconds in actual[:3]:
        clock.run_started()
        time.now += seconds
        clock.run_done()
    truth = sum(actual[3:])
    linear = time.now / 3 * 2  # rich's rate: elapsed per finished run times the runs left
    assert clock.remaining() == truth
    assert linear / truth < 0.2  # what the bar used to say: 85% low
    clock.run_started()
    time.now += 50.0  # a quarter into the first slow run
    assert clock.remaining() == truth - 50.0
    time.now += 500.0  # far past its estimate: the current run counts as nearly done, never negative
    assert clock.remaining() == 200.0


def test_without_estimates_there_is_no_time_left_to_show(capsys):
    assert SweepClock([]).remaining() is None
    reporter = PlainReporter()
    reporter.expect([30.0, 90.0])
    reporter.start(3, 2)
    assert "2 of 3 runs to do (1 already finished), about 2m by estimate" in capsys.readouterr().out


def test_time_left_is_shared_among_the_runs_that_train_at_once():
    time = FakeTime()
    clock = SweepClock([10.0] * 6, parallelism=2, now=time)
    assert clock.remaining() == 30.0  # six 10 s runs, two at a time
    clock.run_started("a"), clock.run_started("b")
    time.now += 10.0
    clock.run_done("a"), clock.run_done("b")  # on estimate: the scale stays 1
    assert clock.remaining() == 20.0
    clock.run_started("c"), clock.run_started("d")
    time.now += 4.0
    assert clock.remaining() == (20.0 + 6.0 + 6.0) / 2
    clock.run_done("c")  # in 4 s instead of 10: runs now look 0.8 times their estimate (24 s for 30)
    scale = 24.0 / 30.0
    assert clock.remaining() == pytest.approx((scale * 20.0 + (scale * 10.0 - 4.0)) / 2)


@pytest.mark.parametrize("columns", [80, 160])
def test_live_rows_keep_counts_times_and_accuracy_at_any_width(columns, monkeypatch):
    from rich.console import Console

    from actbench.config import ExperimentConfig, expand_runs
    from actbench.executors import Job
    from actbench.naming import run_title
    from actbench.progress import RichReporter
    from actbench.sinks.console import ConsoleSink

    monkeypatch.setenv("COLUMNS", str(columns))
    config = ExperimentConfig(name="t", datasets=["fashion_mnist"], hidden_activations=["elu"], training={"epochs": 5})
    spec = expand_runs(config, {"fashion_mnist": "full"})[0]
    title = run_title(spec)
    assert title == "fashion_mnist/full mlp elu(alpha=1.0) -> softmax seed=0"
    job = Job(spec, "abc", title)
    reporter = RichReporter()
    reporter.expect([10.0, 10.0], parallelism=2)
    reporter.start(total=2, pending=2)
    try:
        console = ConsoleSink(reporter)  # the sink picks the title the display's width wants
        console.started(job)
        console.epoch(job, 3, {"loss": 0.4321, "val_accuracy": 0.85})
        screen = Console(width=columns, record=True, file=io.StringIO())
        screen.print(reporter.progress.get_renderable())
        lines = screen.export_text().splitlines()
    finally:
        reporter.finish()
    row = next(line for line in lines if "mlp" in line)
    assert all(len(line) <= columns for line in lines)
    assert "3/5" in row and "val_acc 0.8500" in row and "0:00:" in row
    assert (title in row) == (columns == 160)  # at 80 columns the title gives way, with an ellipsis ...
    assert (columns == 160) or "seed=0 mlp elu" in row  # ... after the seed and activation, moved to its front
    assert ("loss 0.4321" in row) == (columns == 160)


def test_before_any_run_finishes_runs_past_their_estimates_push_the_time_left_up():
    time = FakeTime()
    clock = SweepClock([5.0] * 4, parallelism=2, now=time)
    clock.run_started("a"), clock.run_started("b")
    time.now += 2.0
    assert clock.remaining() == (5.0 + 5.0 + 3.0 + 3.0) / 2  # on schedule
    time.now += 18.0  # 20 s into runs estimated at 5 s: this machine is 4 times slower
    assert clock.remaining() == 4.0 * (5.0 + 5.0) / 2  # the two runs to come, at the pace seen so far


def test_a_live_warning_keeps_brackets_in_its_message():
    from actbench.progress import RichReporter

    reporter = RichReporter()
    reporter.progress.console.begin_capture()
    reporter.warn("--set 'hidden_activations=[relu, tanh]' overrides the file")
    assert reporter.progress.console.end_capture() == "warning: --set 'hidden_activations=[relu, tanh]' overrides the file\n"


def test_a_runs_own_seconds_rescale_the_time_left_not_the_wait_for_its_worker():
    time = FakeTime()
    clock = SweepClock([10.0] * 4, parallelism=2, now=time)
    clock.run_started("a"), clock.run_started("b")
    time.now += 15.0  # 5 s of workers starting, then 10 s runs: on estimate
    clock.run_done("a", seconds=10.0), clock.run_done("b", seconds=10.0)
    assert clock.remaining() == 10.0  # two 10 s runs, two at a time; not 15 s each
