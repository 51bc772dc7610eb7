"""The sweep's display: the time left (estimates per run, corrected by how the finished runs compared
with theirs), the live rows at any width, and finished-run lines that stay on the screen."""

import io
import re

import pytest

from actbench.progress import LiveDisplay, PlainDisplay, SweepClock, _SweepRemainingColumn
from actbench.terminal import Terminal


class Screen(io.StringIO):
    """A terminal's output stream (isatty), replayed by `lines()` as a terminal would show it: rich's live
    display draws with carriage returns, line erases and cursor-ups."""

    def isatty(self):
        return True

    def lines(self) -> list[str]:
        rows, row, col = [""], 0, 0
        for token in re.findall(r"\x1b\[[0-9;?]*[A-Za-z]|\r|\n|[^\x1b\r\n]+", self.getvalue()):
            if token == "\r":
                col = 0
            elif token == "\n":
                row, col = row + 1, 0
                rows += [""] * (row + 1 - len(rows))
            elif token == "\x1b[2K":
                rows[row] = ""
            elif token.startswith("\x1b[") and token.endswith("A"):
                row = max(0, row - int(token[2:-1] or 1))
            elif not token.startswith("\x1b"):
                rows[row] = rows[row][:col].ljust(col) + token + rows[row][col + len(token) :]
                col += len(token)
        return [line.rstrip() for line in rows if line.strip()]


def tty_terminal(columns, monkeypatch) -> tuple[Terminal, Screen]:
    monkeypatch.setenv("COLUMNS", str(columns))
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.setenv("TERM", "xterm-256color")
    screen = Screen()
    return Terminal(stdout=screen), screen


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
    clock.run_done("c")  # in 4 s instead of 10: runs now look 0.8 times their estimate (24 s for 30)
    # d has 0.8 * 10 - 4 = 4 s left; e and f (8 s each) take the first worker free: 0-8 and 4-12.
    assert clock.remaining() == pytest.approx(12.0)


@pytest.mark.parametrize("columns", [80, 160])
def test_live_rows_keep_counts_times_and_accuracy_at_any_width(columns, monkeypatch):
    from rich.console import Console

    from actbench.config import ExperimentConfig, expand_runs
    from actbench.executors import Job
    from actbench.naming import run_title
    from actbench.sinks.console import ConsoleSink

    terminal, _ = tty_terminal(columns, monkeypatch)
    config = ExperimentConfig(name="t", datasets=["fashion_mnist"], hidden_activations=["elu"], training={"epochs": 5})
    spec = expand_runs(config, {"fashion_mnist": "full"})[0]
    title = run_title(spec)
    assert title == "fashion_mnist/full mlp elu(alpha=1.0) -> softmax seed=0"
    job = Job(spec, "abc", title)
    reporter = LiveDisplay(terminal)
    reporter.start(2, [10.0, 10.0], parallelism=2)
    try:
        console = ConsoleSink(terminal, reporter)  # the sink picks the title the display's width wants
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
    titles = [f"fashion_mnist/full mlp thresholded_relu(threshold=1.0) -> softmax seed={n}" for n in range(runs)]
    try:
        for n, title in enumerate(titles):
            display.run_started(f"id{n:010d}", title, 2)
            for epoch in (1, 2):
                display.epoch_done(f"id{n:010d}", epoch, {"loss": 0.4321, "val_accuracy": 0.85})
            display.run_done(
                f"id{n:010d}", title, "finished", {"test_accuracy": 0.9, "test_loss": 0.3, "train_seconds": 2.0}
            )
    finally:
        display.finish()
    head, *lines = screen.lines()
    assert head == f"{runs} of {runs} runs to do (0 already finished), about 40s by estimate"
    assert [line.split()[0] for line in lines[:-1]] == [f"[{n}/{runs}]" for n in range(1, runs + 1)]
    assert lines[-1].startswith("runs") and f"{runs}/{runs}" in lines[-1]  # the bar once, at the end
    assert all(len(line) <= columns for line in lines)  # a finished line is one line of the terminal
    for n, line in enumerate(lines[:-1]):
        assert line.startswith(f"[{n + 1}/{runs}] id{n:010d} ") and line.endswith(
            "0.9000  " + ("loss" if columns < 120 else "test_loss") + " 0.3000  2.0s"
        )
    assert titles[0] in lines[0] or columns < 160  # the title gives way only where the line would not fit


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


def test_a_packs_first_epoch_tracing_is_not_its_pace():
    # The first epoch also traces and compiles (20 s); the next ones take 5 s: the third is 5 s away.
    time = FakeTime()
    clock = SweepClock([10.0, 10.0], now=time, pack_sizes=[2])
    clock.run_started("a", epochs=3), clock.run_started("b", epochs=3)
    time.now += 20.0
    clock.epoch_done("a", 1), clock.epoch_done("b", 1)
    assert clock.remaining() == pytest.approx(40.0)  # one epoch seen: its pace, tracing and all
    time.now += 5.0
    clock.epoch_done("a", 2), clock.epoch_done("b", 2)
    assert clock.remaining() == pytest.approx(5.0)


def test_the_time_left_never_reads_zero_while_a_run_has_epochs_to_do(monkeypatch):
    terminal, _ = tty_terminal(80, monkeypatch)
    display = LiveDisplay(terminal)
    display.start(4, [5.0] * 4, parallelism=1, pack_sizes=[4])  # a pack estimated at 20 s ...
    time = FakeTime()
    display.clock.now = time
    column = next(c for c in display.progress.columns if isinstance(c, _SweepRemainingColumn))
    shown = {}
    try:
        for n in range(4):
            display.run_started(f"a{n}", f"run {n}", 3)
        ends = {30.0: 1, 70.0: 2, 90.0: 3}  # ... taking 100 s: its epochs end at 30, 70 and 90 s, then testing
        while time.now < 100.0:
            time.now += 1.0
            if time.now in ends:
                for n in range(4):
                    display.epoch_done(f"a{n}", ends[time.now], {"loss": 0.4, "val_accuracy": 0.8})
            with display.lock:  # the column itself: rich keeps what it drew for half a second of real time
                shown[time.now] = str(column.render(display.progress.tasks[0]))
    finally:
        display.finish()
    assert shown[1.0] == "0:00:19" and shown[29.0] == "0:00:01"  # past its estimate, no epoch yet: not done
    assert shown[30.0] == "0:01:00"  # one epoch of 3 in 30 s: two more
    assert shown[69.0] == "0:00:30"  # late for its second epoch: its third still to come
    assert shown[70.0] == "0:00:40"
    assert all(eta != "0:00:00" for now, eta in shown.items() if now < 90.0)
    assert shown[90.0] == "0:00:00"  # its epochs all done: testing and saving
