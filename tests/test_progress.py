"""The sweep's display: the time left (estimates per run, corrected by how the finished runs compared
with theirs), the live rows at any width, and finished-run lines that stay on the screen."""

import io
import re
from pathlib import Path

import pytest

from actbench import costs
from actbench.progress import PRIOR_SECONDS, LiveDisplay, PlainDisplay, SweepClock, _TimeLeftColumn, clock_text
from actbench.terminal import Terminal


class Screen(io.StringIO):
    """A terminal's output stream (isatty), replayed by `lines()` as a terminal `width` columns wide would
    show it: rich's live display draws with carriage returns, line erases and cursor-ups, and a character
    written after the last column starts a new line."""

    def __init__(self, width: int = 1000) -> None:
        super().__init__()
        self.width = width

    def isatty(self):
        return True

    def lines(self) -> list[str]:
        rows, row, col = [""], 0, 0
        for token in re.findall(r"\x1b\[[0-9;?]*[A-Za-z]|\r|\n|[^\x1b\r\n]", self.getvalue()):
            if token == "\r":
                col = 0
            elif token == "\n":
                row, col = row + 1, 0
            elif token == "\x1b[2K":
                rows[row] = ""
            elif token.startswith("\x1b[") and token.endswith("A"):
                row, col = max(0, row - int(token[2:-1] or 1)), min(col, self.width - 1)
            elif not token.startswith("\x1b"):
                if col == self.width:  # the cursor waited past the last column: this character wraps
                    row, col = row + 1, 0
                rows += [""] * (row + 1 - len(rows))
                rows[row] = rows[row][:col].ljust(col) + token + rows[row][col + 1 :]
                col += 1
            rows += [""] * (row + 1 - len(rows))
        return [line.rstrip() for line in rows if line.strip()]


def tty_terminal(columns, monkeypatch) -> tuple[Terminal, Screen]:
    monkeypatch.setenv("COLUMNS", str(columns))
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.setenv("TERM", "xterm-256color")
    screen = Screen(columns)
    return Terminal(stdout=screen), screen


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def follow(clock: SweepClock, time: FakeTime, epochs: dict[float, int], until: float) -> dict[float, float]:
    """The time left every half second to `until`, the runs in flight ending the epoch `epochs` says at
    that time (they end theirs together, as a pack's do)."""
    seen = {}
    while time.now <= until:
        if time.now in epochs:
            for run in list(clock.pack_of_run):
                clock.epoch_done(run, epochs[time.now])
        seen[time.now] = clock.remaining()
        time.now += 0.5
    return seen


def mlp_spec(epochs: int, model: str = "mlp"):
    from actbench.config import ExperimentConfig, expand_runs

    config = ExperimentConfig(
        name="t", datasets=["mnist"], models=[{"type": model}], hidden_activations=["relu"], training={"epochs": epochs}
    )
    return expand_runs(config, {"mnist": "sample"})[0]


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
    scale = (sum(actual[:3]) + PRIOR_SECONDS) / (sum(estimates[:3]) + PRIOR_SECONDS)  # about 2
    linear = time.now / 3 * 2  # rich's rate: elapsed per finished run times the runs left
    assert clock.remaining() == pytest.approx(scale * 200.0)
    assert linear / sum(actual[3:]) < 0.2  # what the bar used to say: 85% low
    clock.run_started()
    time.now += 50.0  # a quarter into the first slow run
    assert clock.remaining() == pytest.approx(scale * 200.0 - 50.0)
    time.now += 500.0  # far past its estimate: the current run counts as nearly done, never negative
    assert clock.remaining() == pytest.approx(scale * 100.0)


def test_without_estimates_there_is_no_time_left_to_show(capsys):
    assert SweepClock([]).remaining() is None
    display = PlainDisplay(Terminal())
    display.start(3, [30.0, 90.0], parallelism=1)
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
    clock.run_done("c")  # in 4 s instead of 10: runs now look about 0.8 times their estimate (24 s for 30)
    scale = (24.0 + PRIOR_SECONDS) / (30.0 + PRIOR_SECONDS)
    # d has 8 - 4 = 4 s left; e and f (8 s each) take the first worker free: 0-8 and 4-12.
    assert clock.remaining() == pytest.approx((scale * 10.0 - 4.0) + scale * 10.0)


@pytest.mark.parametrize("columns", [80, 160])
def test_live_rows_keep_counts_times_accuracy_and_whole_labels_at_any_width(columns, monkeypatch):
    from rich.console import Console

    from actbench.config import ExperimentConfig, expand_runs, run_id
    from actbench.executors import Job
    from actbench.naming import run_title
    from actbench.sinks import SweepStart
    from actbench.sinks.console import ConsoleSink

    terminal, screen = tty_terminal(columns, monkeypatch)
    config = ExperimentConfig(
        name="t",
        datasets=["fashion_mnist"],
        models=[{"type": "mlp"}, {"type": "cnn"}],
        hidden_activations=[{"name": "leaky_relu", "alpha": 0.1}, "elu"],
        output_activations=["softmax", "sigmoid", "linear"],
        seeds=3,
        training={"epochs": 5},
    )
    specs = expand_runs(config, {"fashion_mnist": "full"})
    # The longest label of the shipped fashion_mnist.yaml's (all but the data vary there).
    spec = next(s for s in specs if (s.model.type, s.hidden_activation.name, s.seed) == ("cnn", "leaky_relu", 2))
    job = Job(spec, run_id(spec), run_title(spec))
    display = LiveDisplay(terminal)
    sink = ConsoleSink(terminal, display)
    sink.opened(SweepStart(Path("t"), config, [run_id(s) for s in specs], [10.0, 10.0], 2))
    frames = []
    try:
        sink.started(job)
        for epoch in (0, 3):  # before any epoch (no metrics yet) and after one: the label stays put
            if epoch:
                sink.epoch(job, epoch, {"loss": 0.4321, "val_accuracy": 0.85})
            frame = Console(width=columns, record=True, file=io.StringIO())
            frame.print(display.progress.get_renderable())
            frames.append(frame.export_text().splitlines())
    finally:
        display.finish()
    label = "cnn leaky_relu(alpha=0.1) -> softmax seed=2"
    assert sink.name(job) == label
    assert screen.lines()[1] == "every run: fashion_mnist/full"  # said once, above the runs
    rows = [next(line for line in lines if "seed=2" in line) for lines in frames]
    assert all(len(line) <= columns for lines in frames for line in lines)
    assert rows[0].startswith(f"  {label} ") and rows[1].startswith(f"  {label} ")  # whole, in every frame
    assert rows[0].index("eta") == rows[1].index("eta")  # the columns keep their places
    assert "3/5" in rows[1] and "val_acc 0.8500" in rows[1] and "eta 0:00:" in rows[1]
    assert ("loss 0.4321" in rows[1]) == (columns == 160)


def test_first_packs_late_for_their_first_epoch_do_not_stretch_the_packs_to_come():
    # The first packs' first epochs also start a process, import TensorFlow or wait for a worker: their
    # lateness is no sign of a slow machine. Two workers, four packs of one run, 5 s in 5 epochs each.
    time = FakeTime()
    clock = SweepClock([5.0] * 4, parallelism=2, now=time)
    clock.run_started("a", epochs=5), clock.run_started("b", epochs=5)
    time.now += 0.5
    assert clock.remaining() == (4.5 + 4.5 + 5.0 + 5.0) / 2  # on schedule
    time.now += 19.5  # 20 s into runs estimated at 5 s, no epoch ended
    # Each still has the four epochs after its first to do, at the estimate's pace; those to come keep theirs.
    assert clock.remaining() == (4.0 + 4.0 + 5.0 + 5.0) / 2
    for run in "ab":
        clock.epoch_done(run, 1)
    time.now += 4.0
    for run in "ab":
        clock.epoch_done(run, 2)  # an epoch in 4 s, estimated at 1 s: now the machine shows its pace
    scale = (4.0 + 4.0 + PRIOR_SECONDS) / (1.0 + 1.0 + PRIOR_SECONDS)
    assert clock.remaining() == pytest.approx((12.0 + 12.0 + 2 * scale * 5.0) / 2)


def test_a_live_warning_keeps_brackets_in_its_message():
    reporter = LiveDisplay(Terminal(stdout=io.StringIO()))
    reporter.progress.console.begin_capture()
    reporter.warn("--set 'hidden_activations=[relu, tanh]' overrides the file")
    assert (
        reporter.progress.console.end_capture()
        == "warning: --set 'hidden_activations=[relu, tanh]' overrides the file\n"
    )


def test_a_runs_own_seconds_rescale_the_time_left_not_the_wait_for_its_worker():
    time = FakeTime()
    clock = SweepClock([10.0] * 4, parallelism=2, now=time)
    clock.run_started("a"), clock.run_started("b")
    time.now += 15.0  # 5 s of workers starting, then 10 s runs: on estimate
    clock.run_done("a", seconds=10.0), clock.run_done("b", seconds=10.0)
    assert clock.remaining() == 10.0  # two 10 s runs, two at a time; not 15 s each


@pytest.mark.parametrize("columns", [80, 120, 160])
def test_every_finished_run_keeps_its_one_line_above_the_live_display(columns, monkeypatch):
    # Redraws as often as they can come: a redraw racing a finished line used to erase that line or
    # leave a stale bar behind, once the in-flight row filled the terminal's width (tmux, 120 and 160).
    monkeypatch.setattr(LiveDisplay, "TICK", 0.0001)
    terminal, screen = tty_terminal(columns, monkeypatch)
    display = LiveDisplay(terminal)
    runs = 40
    display.start(runs, [1.0] * runs, parallelism=1)
    labels = [f"mlp thresholded_relu(threshold=1.0) -> softmax seed={n}" for n in range(runs)]
    try:
        for n, label in enumerate(labels):
            display.run_started(f"id{n:010d}", label, mlp_spec(epochs=2))
            for epoch in (1, 2):
                display.epoch_done(f"id{n:010d}", epoch, {"loss": 0.4321, "val_accuracy": 0.85})
            display.run_done(
                f"id{n:010d}", label, "finished", {"test_accuracy": 0.9, "test_loss": 0.3, "train_seconds": 2.0}
            )
    finally:
        display.finish()
    head, *lines = screen.lines()
    assert head == f"{runs} of {runs} runs to do (0 already finished), about 40s by estimate"
    assert [line.split()[0] for line in lines[:-1]] == [f"[{n}/{runs}]" for n in range(1, runs + 1)]
    assert lines[-1].startswith("runs") and f"{runs}/{runs}" in lines[-1]  # the bar once, at the end
    # Each in one line of the terminal, its label whole: narrow, without the run id (the labels tell the
    # runs apart) and the test loss.
    outcome = {80: "acc 0.9000  2.0s", 120: "test_acc 0.9000  test_loss 0.3000  2.0s"}
    for n, line in enumerate(lines[:-1]):
        run = "" if columns < 120 else f"id{n:010d} "
        assert line == f"[{n + 1}/{runs}] {run}{labels[n]}: {outcome[min(columns, 120)]}"


def test_a_run_left_to_another_invocation_leaves_the_total_and_the_time_left(capsys):
    display = PlainDisplay(Terminal())
    display.start(3, [10.0, 20.0, 30.0], parallelism=1)
    display.run_left()  # the first run to come is claimed elsewhere: 50 s and two runs are this sweep's
    assert display.clock.remaining() == 50.0
    display.clock.run_started("b")
    display.run_done("b", "b's title", "finished", {"test_accuracy": 0.9, "test_loss": 0.3, "train_seconds": 2.0})
    assert "[1/2] b b's title: test_acc 0.9000" in capsys.readouterr().out


def test_with_nothing_to_run_there_is_no_bar(monkeypatch):
    terminal, screen = tty_terminal(120, monkeypatch)
    display = LiveDisplay(terminal)
    display.start(4, [], parallelism=1)
    display.finish()
    assert screen.getvalue() == ""


def test_a_pack_in_flight_counts_once_so_the_time_left_does_not_swing():
    # Two packs of 8 runs, each run estimated at its share of its pack (5 s): 40 s a pack, on estimate.
    time = FakeTime()
    clock = SweepClock([5.0] * 16, now=time, pack_sizes=[8, 8])
    assert clock.remaining() == 80.0
    for n in range(8):
        clock.run_started(f"a{n}")
    seen = []
    for _ in range(4):
        time.now += 10.0
        seen.append(clock.remaining())
    # Counted run by run, the pack's 10 s would come off 8 times (40 s left after 10 s), then, past each
    # run's 5 s, the clock would think the machine 8 times slower (280 s left after 40 s).
    assert seen == [70.0, 60.0, 50.0, 40.0]
    for n in range(8):
        clock.run_done(f"a{n}", seconds=5.0)
    assert clock.remaining() == 40.0
    for n in range(8):
        clock.run_started(f"b{n}")
    time.now += 30.0  # the second pack runs slower: 60 s instead of 40 s
    assert clock.remaining() == 10.0
    time.now += 30.0
    assert clock.remaining() == 0.0
    clock.run_done("b0", seconds=7.5)
    assert 0.0 <= clock.remaining() < 5.0


def test_a_pack_past_its_estimate_has_its_time_left_from_its_epochs():
    # A pack of 4 runs estimated at 20 s, 4 epochs each, twice as slow: half its epochs done at 30 s.
    time = FakeTime()
    clock = SweepClock([5.0] * 4, now=time, pack_sizes=[4])
    for n in range(4):
        clock.run_started(f"a{n}", epochs=4)
    for epoch in (1, 2):
        time.now += 15.0
        for n in range(4):
            clock.epoch_done(f"a{n}", epoch)
    # Its estimate less its time so far would say 0; its epochs say as long again.
    assert clock.remaining() == pytest.approx(30.0)
    time.now += 5.0
    assert clock.remaining() == pytest.approx(25.0)


def test_a_packs_first_epoch_starting_up_is_not_its_pace():
    # On resume the CNN pack is the first of its process: its first epoch also imports TensorFlow and
    # traces (12 s), the next ones take 4 s. The time left used to read 0:00:03 -> 0:00:20 -> 0:00:04 ->
    # 0:00:01 there: its estimate counted down to a second, the first epoch taken for its pace, then the
    # second; and its rows, at rich's own rate, said 0:00:05 beside it.
    time = FakeTime()
    clock = SweepClock([3.0] * 6, now=time, pack_sizes=[6])  # 18 s, 6 s an epoch by the estimate
    for n in range(6):
        clock.run_started(f"c{n}", epochs=3)
    seen = follow(clock, time, {12.0: 1, 16.0: 2, 20.0: 3}, until=21.0)
    assert seen[0.0] == 18.0
    # Before its first epoch ends, never less than the two after it (it used to reach a second) ...
    assert min(left for at, left in seen.items() if at < 12.0) == 12.0
    # ... and that epoch's end does not send it up (it used to read the first epoch's 12 s twice: 24 s).
    assert seen[12.0] == 12.0
    assert seen[16.0] == 4.0  # the second epoch's 4 s: its pace from here
    assert seen[20.0] == 0.0  # its epochs done: testing
    assert all(clock.pack_left(f"c{n}") == clock.remaining() for n in range(6))  # its rows say the same


def test_rows_and_the_sweep_show_one_clock_and_it_never_reads_zero_while_epochs_remain(monkeypatch):
    terminal, _ = tty_terminal(80, monkeypatch)
    display = LiveDisplay(terminal)
    display.start(4, [5.0] * 4, parallelism=1, pack_sizes=[4])  # a pack estimated at 20 s ...
    time = FakeTime()
    display.clock.now = time
    column = next(c for c in display.progress.columns if isinstance(c, _TimeLeftColumn))
    sweep, rows = {}, {}
    try:
        for n in range(4):
            display.run_started(f"a{n}", f"run {n}", mlp_spec(epochs=3))
        ends = {30.0: 1, 70.0: 2, 90.0: 3}  # ... taking 100 s: its epochs end at 30, 70 and 90 s, then testing
        while time.now < 100.0:
            time.now += 1.0
            if time.now in ends:
                for n in range(4):
                    display.epoch_done(f"a{n}", ends[time.now], {"loss": 0.4, "val_accuracy": 0.8})
            with display.lock:
                sweep[time.now], *runs = (str(column.render(task)) for task in display.progress.tasks)
                rows[time.now] = set(runs)
    finally:
        display.finish()
    assert all(rows[at] == {sweep[at]} for at in sweep)  # every run's row shows the sweep's time left
    phases = costs.phases(mlp_spec(epochs=3), 20.0, pack_size=4)  # the pack's 20 s as they pass
    assert sweep[1.0] == "eta 0:00:19"
    assert all(eta != "eta 0:00:00" for at, eta in sweep.items() if at < 90.0)
    # Late for its first epoch: the two after it and testing still to come (it used to read 0:00:01).
    assert sweep[29.0] == f"eta {clock_text(2 * phases.epoch + phases.after)}"
    # Late for its second epoch, 39 s into it: the third and testing at least at that pace.
    assert sweep[69.0] == f"eta {clock_text(39.0 / phases.epoch * (phases.epoch + phases.after))}"
    assert sweep[70.0] == f"eta {clock_text(40.0 / phases.epoch * (phases.epoch + phases.after))}"
    assert sweep[90.0] != "eta 0:00:00" and sweep[93.0] == "eta 0:00:00"  # testing (its estimate at the pace), then 0


def test_a_pack_boundary_does_not_jump_the_packs_to_come_learn_from_epochs():
    # An MLP pack whose first epoch also imports TensorFlow and traces (8 s more than its estimate gives
    # it), then a CNN pack, both at their estimates' pace. The clock used to rescale the CNN pack by the
    # MLP pack's 14 s for 6 estimated, reading 70 s at the boundary, then 20 s at the CNN's first epoch.
    time = FakeTime()
    clock = SweepClock([1.0] * 6 + [5.0] * 6, now=time, pack_sizes=[6, 6])  # 3 epochs of 2 s, then of 10 s
    for n in range(6):
        clock.run_started(f"m{n}", epochs=3)
    seen = follow(clock, time, {10.0: 1, 12.0: 2, 14.0: 3}, until=13.5)
    for n in range(6):
        clock.run_done(f"m{n}", seconds=14.0 / 6)
    for n in range(6):
        clock.run_started(f"c{n}", epochs=3)
    seen |= follow(clock, time, {24.0: 1, 34.0: 2, 44.0: 3}, until=43.5)
    truth = {at: 44.0 - at for at in seen}
    # Starting up, the MLP pack's epochs after its first and the CNN pack are still to come: no less ...
    assert all(seen[at] == 34.0 for at in seen if 2.0 <= at < 10.0)
    # ... and from its first epoch on, the time left is the truth (but in the second before an epoch,
    # which reads at least a second): across the boundary, at every epoch.
    assert all(seen[at] == pytest.approx(truth[at], abs=0.5) for at in seen if at >= 10.0)
    assert all(later <= earlier for earlier, later in zip(seen.values(), list(seen.values())[1:]))  # never up


def test_a_pack_late_for_its_first_epoch_stretches_its_time_left_smoothly():
    # After an MLP pack on its estimate, a CNN pack estimated at 30 s (3 epochs of 10 s) takes twice as long.
    time = FakeTime()
    clock = SweepClock([1.0] * 2 + [15.0] * 2, now=time, pack_sizes=[2, 2])
    clock.run_started("m0", epochs=2), clock.run_started("m1", epochs=2)
    follow(clock, time, {1.0: 1, 2.0: 2}, until=2.0)
    clock.run_done("m0", seconds=1.0), clock.run_done("m1", seconds=1.0)
    time.now = 0.0  # the CNN pack starts
    clock.run_started("c0", epochs=3), clock.run_started("c1", epochs=3)
    seen = follow(clock, time, {20.0: 1, 40.0: 2, 60.0: 3}, until=59.5)
    steps = [later - earlier for earlier, later in zip(seen.values(), list(seen.values())[1:])]
    assert max(abs(step) for step in steps) <= 1.0  # half a second at a time: no jump
    assert seen[10.0] == 20.0  # its first epoch due: the two after it still to come
    # Late for it, slower by as much: at its first epoch, and from there, the truth (it used to read 20 s).
    assert all(seen[at] == pytest.approx(60.0 - at, abs=0.5) for at in seen if at >= 20.0)


def test_ctrl_c_echoed_under_the_display_leaves_no_stale_row(monkeypatch):
    # The terminal echoes ^C where the cursor waits. After a last row as wide as the terminal (rich pads
    # it), the echo began a new line, and rich's final draw, one line too low, left the first row twice.
    terminal, screen = tty_terminal(80, monkeypatch)
    display = LiveDisplay(terminal)
    display.start(2, [1.0, 1.0], parallelism=1)
    display.run_started("a", "mlp relu seed=0", mlp_spec(epochs=2))
    display.epoch_done("a", 1, {"loss": 0.4, "val_accuracy": 0.8})
    screen.write("^C")
    display.finish()
    lines = screen.lines()
    assert [line.split()[0] for line in lines] == ["2", "runs,", "mlp"]  # each row once
    assert not screen.getvalue().endswith("\n\n")  # the empty line under the rows went with the display


def test_a_label_wider_than_the_terminal_goes_on_onto_the_next_line_never_cut(monkeypatch):
    from rich.console import Console

    terminal, screen = tty_terminal(80, monkeypatch)
    display = LiveDisplay(terminal)
    display.start(2, [1.0, 1.0], parallelism=1)
    label = "mlp my_activation(alpha=0.1, beta=0.2, gamma=0.3, delta=0.4, epsilon=0.5) -> softmax seed=12"
    try:
        display.run_started("a", label, mlp_spec(epochs=2))
        frame = Console(width=80, record=True, file=io.StringIO())
        frame.print(display.progress.get_renderable())
        display.run_done("a", label, "finished", {"test_accuracy": 0.9, "test_loss": 0.3, "train_seconds": 2.0})
        display.run_started("b", "mlp relu seed=0", mlp_spec(epochs=2))
        error = "ValueError: " + " ".join(f"word{n}" for n in range(40))
        display.run_done("b", "mlp relu seed=0", "failed", {"error": error})
    finally:
        display.finish()
    row = frame.export_text().split()
    assert all(word in row for word in label.split())  # its row: every word, none cut
    shown = screen.lines()
    # Its finished line goes on onto the next line between two words.
    assert " ".join(shown[1:3]).split() == f"[1/2] {label}: acc 0.9000  2.0s".split() and len(shown[1]) <= 80
    failed = shown[3]  # a failure's message is cut, at a word (metrics.json has it whole)
    assert failed.startswith("[2/2] mlp relu seed=0: FAILED: ValueError: word0 ") and len(failed) <= 80
    assert failed.endswith("…") and failed[:-1].split()[-1] in error.split()


def test_the_console_names_runs_by_what_differs_and_says_the_rest_once(monkeypatch, tmp_path):
    from actbench.config import load_config
    from actbench.executors import Job
    from actbench.planning import plan_runs
    from actbench.results import RunRecord
    from actbench.sinks import SweepStart
    from actbench.sinks.console import ConsoleSink
    from helpers import write_config

    text = "name: t\ndatasets: [mnist]\ndata: {source: sample}\nhidden_activations: [relu, tanh]\n"
    text += "models: [{type: mlp, hidden_units: [16]}, {type: mlp, hidden_units: [32]}]\n"
    config = load_config(write_config(tmp_path, text))
    planned = plan_runs(config, tmp_path / "results", None)[0]
    jobs = [Job(run.spec, run.run_id, run.title) for run in planned]
    live, screen = tty_terminal(80, monkeypatch)
    piped = io.StringIO()
    for terminal in (live, Terminal(stdout=piped)):
        sink = ConsoleSink(terminal)
        sink.opened(SweepStart(tmp_path, config, [job.run_id for job in jobs], [1.0] * len(jobs), 1))
        for job in jobs:
            sink.started(job)
            metrics = {"test_accuracy": 0.9, "test_loss": 0.3, "train_seconds": 1.0}
            sink.finished(job, RunRecord(job.run_id, "finished", metrics))
        sink.closed()
    shown = screen.lines()
    assert shown[1] == "every run: mnist/sample, mlp, output softmax, seed=0"
    # What differs stays, the plan's detail of the other settings too (here the width: both are MLPs).
    assert shown[2] == "[1/4] relu, mlp 16: acc 0.9000  1.0s" and shown[3].startswith("[2/4] tanh, mlp 16")
    # A log's lines stand alone: each with the run's id and whole title, and no heading.
    logged = piped.getvalue().splitlines()
    assert logged[1] == f"[1/4] {jobs[0].run_id} {jobs[0].title}: test_acc 0.9000  test_loss 0.3000  1.0s"
    assert not any(line.startswith("every run") for line in logged)
