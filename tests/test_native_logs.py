"""TensorFlow's native start-up notices are filtered out of stderr; real errors are not."""

import subprocess
import sys

import pytest

from actbench.native_logs import is_noise
from helpers import REPO

# Seen on TensorFlow 2.21 (CPU only), twice per process, whatever TF_CPP_MIN_LOG_LEVEL says.
TF_START_UP = [
    b"WARNING: All log messages before absl::InitializeLog() is called are written to STDERR",
    b"I0000 00:00:1795347201.861368    8597 port.cc:153] oneDNN custom operations are on. You may see slightly different numerical results.",
    b"I0000 00:00:1795347201.861845    8597 cudart_stub.cc:31] Could not find cuda drivers on your machine, GPU will not be used.",
    b"I0000 00:00:1795347220.229035    8795 cpu_feature_guard.cc:227] This TensorFlow binary is optimized to use available CPU instructions.",
    b"To enable the following instructions: AVX2 AVX512F FMA, in other operations, rebuild TensorFlow with the appropriate compiler flags.",
    b"E0000 00:00:1795347226.468105    8795 cuda_platform.cc:52] failed call to cuInit: INTERNAL: CUDA error: UNKNOWN ERROR (303)",
]
REAL = [
    b"E0000 00:00:1795347226.468105    8795 op_kernel.cc:1830] OP_REQUIRES failed: Out of memory",
    b"W0000 00:00:1795347226.468105    8795 allocator.cc:122] Allocation of 400000000 exceeds 10% of free system memory.",
    b"Traceback (most recent call last):",
    b"warning: fashion_mnist: full data unavailable",
]


def test_start_up_notices_are_noise_and_errors_are_not():
    assert all(is_noise(line) for line in TF_START_UP)
    assert not any(is_noise(line) for line in REAL)


def _stderr_of(script: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", script], capture_output=True, cwd=REPO, timeout=120)


def test_the_filter_drops_notices_written_to_descriptor_2_and_keeps_the_rest_in_order():
    script = (
        "import os, sys; from actbench.native_logs import start_up_filtered\n"
        "with start_up_filtered():\n"
        f"    os.write(2, b'\\n'.join({TF_START_UP + REAL!r}) + b'\\n'); print('python warning', file=sys.stderr)\n"
        "raise SystemExit('bye')"
    )
    out = _stderr_of(script)
    assert out.stderr.splitlines() == [*REAL, b"python warning", b"bye"]
    assert out.returncode == 1


def test_what_the_filter_kept_is_written_before_the_block_ends_so_no_exit_can_lose_it():
    # The error lines that vanished (exit 2, empty stderr) were lost by a copier thread that an exit
    # stopped before it had copied them: the filter now hands everything on before its block ends.
    script = (
        "import os; from actbench.native_logs import start_up_filtered\n"
        "with start_up_filtered():\n"
        "    os.write(2, b'error: inside\\n' + b'I0000 00:00:1.0 1 port.cc:1] noise\\n')\n"
        "os._exit(2)"  # no atexit, no flush: only what is already on descriptor 2 counts
    )
    out = _stderr_of(script)
    assert (out.returncode, out.stderr) == (2, b"error: inside\n")


def test_a_block_that_raises_still_hands_on_what_it_wrote_and_gives_descriptor_2_back():
    script = (
        "import os; from actbench.native_logs import start_up_filtered\n"
        "before = os.fstat(2).st_ino\n"
        "try:\n"
        "    with start_up_filtered():\n"
        "        os.write(2, b'why it failed\\n'); raise ImportError('no tensorflow')\n"
        "except ImportError:\n"
        "    os.write(2, b'after: same descriptor %d\\n' % (os.fstat(2).st_ino == before))"
    )
    assert _stderr_of(script).stderr == b"why it failed\nafter: same descriptor 1\n"


def test_importing_tensorflow_after_the_hook_prints_none_of_its_start_up_notices():
    # TF_CPP_MIN_LOG_LEVEL unset, as in a library user's worker: even the cuInit error is dropped.
    script = (
        "import os; os.environ.pop('TF_CPP_MIN_LOG_LEVEL', None)\n"
        "from actbench.native_logs import filter_tensorflow_start_up; filter_tensorflow_start_up()\n"
        "os.write(2, b'before\\n'); import keras; os.write(2, b'after\\n')\n"
        "import tensorflow as tf; assert type(tf.__loader__).__name__ == 'SourceFileLoader'"
    )
    out = _stderr_of(script)
    assert out.returncode == 0, out.stderr
    assert out.stderr == b"before\nafter\n"


def test_a_failing_command_leaves_descriptor_2_alone(tmp_path):
    # Nothing stands between a config error and stderr: no pipe, no thread (TensorFlow never loads).
    script = (
        "import os, sys, threading; from typer.testing import CliRunner; from actbench.cli import app\n"
        "before = os.fstat(2).st_ino\n"
        f"result = CliRunner().invoke(app, ['run', {str(tmp_path / 'missing.yaml')!r}])\n"
        "print(result.exit_code, os.fstat(2).st_ino == before, 'tensorflow' in sys.modules, threading.active_count())"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=REPO, timeout=120)
    assert out.stdout.split() == ["2", "True", "False", "1"], out.stderr


def test_a_quiet_sweep_prints_nothing_on_stderr(tiny_config, tmp_path):
    command = [
        sys.executable,
        "-m",
        "actbench",
        "run",
        str(tiny_config),
        "--results-dir",
        str(tmp_path / "r"),
        "--quiet",
    ]
    out = subprocess.run(command, capture_output=True, text=True, cwd=REPO)
    assert out.returncode == 0, out.stderr
    assert out.stderr == "" and out.stdout == ""


@pytest.mark.slow
def test_the_library_with_workers_prints_nothing_from_them(tiny_config, tmp_path):
    # docs/results.md: the library "prints nothing but failed runs"; its worker processes import
    # TensorFlow (TF_CPP_MIN_LOG_LEVEL unset, as in a user's script) and used to print its start-up.
    script = (
        "import os; os.environ.pop('TF_CPP_MIN_LOG_LEVEL', None); import actbench; "
        f"actbench.run({str(tiny_config)!r}, results_dir={str(tmp_path / 'r')!r}, workers=2, pack='off')"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=tmp_path, timeout=600)
    assert out.returncode == 0, out.stderr
    assert (out.stdout, out.stderr) == ("", "")
