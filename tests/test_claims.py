"""Claims: one holder per run, even when several invocations find the same dead holder's claim at once."""

import json
import multiprocessing
import subprocess
import sys

from actbench.claims import Claims


def _take(exp_dir, run_id, start, answers, finish):
    claims = Claims(exp_dir)
    start.wait()
    answers.put((claims.me["pid"], claims.take(run_id)))
    finish.wait(30)  # a holder lives on while it trains: its claim must not look dead meanwhile


def test_invocations_taking_over_one_dead_claim_at_once_leave_exactly_one_holder(tmp_path):
    gone = int(
        subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True).stdout
    )
    context = multiprocessing.get_context("fork")  # no TensorFlow here: fork is safe and quick
    for attempt in range(20):
        exp_dir = tmp_path / str(attempt)
        (exp_dir / "claims").mkdir(parents=True)
        (exp_dir / "claims" / "run").write_text(json.dumps({"host": Claims(exp_dir).me["host"], "pid": gone}))
        start, answers, finish = context.Event(), context.Queue(), context.Event()
        takers = [context.Process(target=_take, args=(exp_dir, "run", start, answers, finish)) for _ in range(4)]
        for process in takers:
            process.start()
        start.set()
        won = [pid for pid, took in (answers.get(timeout=30) for _ in takers) if took]
        finish.set()
        for process in takers:
            process.join(timeout=30)
        assert len(won) == 1, f"attempt {attempt}: {len(won)} invocations hold the run"
        assert json.loads((exp_dir / "claims" / "run").read_text())["pid"] == won[0]
