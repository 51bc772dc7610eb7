"""TensorFlow's native start-up notices are filtered out of stderr; real errors are not."""

import os
import signal
import subprocess
import sys

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


def test_the_filter_drops_notices_written_to_descriptor_2_and_keeps_the_rest():
    script = (
        "import os, sys; from actbench.native_logs import filter_native_stderr; filter_native_stderr(); "
        f"os.write(2, b'\\n'.join({TF_START_UP + REAL!r}) + b'\\n'); "
        "print('python warning', file=sys.stderr); raise SystemExit('bye')"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, cwd=REPO)
    lines = out.stderr.splitlines()
    assert lines == [*REAL, b"python warning", b"bye"]
    assert out.returncode == 1


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


def test_the_filter_stops_at_exit_while_a_child_still_holds_descriptor_2():
    # Worker processes (and multiprocessing's resource tracker) inherit the filter's pipe, so its
    # end never comes while they live; waiting for it used to add a 2 s timeout to every parallel sweep.
    # The check is registered first, so it runs after the filter's own exit handler.
    script = (
        "import atexit, os, subprocess, sys, threading; from actbench.native_logs import filter_native_stderr; "
        "atexit.register(lambda: print([t.name for t in threading.enumerate() if t.name == 'stderr-filter'])); "
        "filter_native_stderr(); child = subprocess.Popen(['sleep', '30'], stdout=subprocess.DEVNULL); print(child.pid, flush=True); "
        "os.write(2, b'last words\\n')"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=REPO, timeout=60)
    child, copier_left = out.stdout.splitlines()
    os.kill(int(child), signal.SIGKILL)
    assert out.stderr == "last words\n"
    assert copier_left == "[]", "the filter thread was still waiting for the pipe to close"
