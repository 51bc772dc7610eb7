"""The results layout on disk: one directory per run, written atomically, and results.csv rebuilt from them.

    results/<experiment>/config.yaml              the validated config of the latest `run`
    results/<experiment>/plan.json                run ids that config expands to
    results/<experiment>/runs/<run_id>/spec.json  the resolved run spec (sorted keys)
                                      history.csv one row per epoch
                                      predictions.npz raw test outputs (float32) and labels
                                      confusion_matrix.csv rows: true class, columns: predicted
                                      diagnostics.csv, activation_histograms.npz  with diagnostics on
                                      metrics.json final metrics; written last: a run is done
                                                   when it exists and its status is not "failed"
    results/<experiment>/results.csv              one row per run, rebuilt, never appended to
    results/<experiment>/selection.json           a tuned experiment's choices and their scores

runs.py names the files above but results.csv, says how a run ended (RunStatus) and what it produced
(RunOutputs), writes a run's files (run_files, save_record) and reads each back
(read_run, read_spec, read_metrics, read_history, read_confusion, read_predictions,
read_diagnostics, read_histograms, read_plan, read_config); encoding.py encodes their content, table.py builds
results.csv, storage.py makes every write atomic and guarded (one error line, never a traceback). `from actbench.results import X`
works for all but the encoders (histogram_keys aside): run_files is the way to make a run's files.
"""

from actbench.results.encoding import histogram_keys
from actbench.results.runs import (
    CONFIG,
    CONFUSION,
    DIAGNOSTICS,
    DIAGNOSTICS_COLUMNS,
    DONE_STATUSES,
    HISTOGRAMS,
    HISTORY,
    HISTORY_COLUMNS,
    METRICS,
    PLAN,
    PREDICTIONS,
    RUN_FILES,
    SELECTION,
    SPEC,
    RunOutputs,
    RunRecord,
    RunStatus,
    TestOutputs,
    ended_at,
    experiment_dir,
    has_metrics,
    is_done,
    is_experiment_dir,
    is_stale,
    output_units,
    read_config,
    read_confusion,
    read_diagnostics,
    read_histograms,
    read_history,
    read_history_frame,
    read_metrics,
    read_plan,
    read_predictions,
    read_run,
    read_selection,
    read_spec,
    run_dir,
    run_directories,
    run_files,
    run_status,
    runs_dir,
    save_experiment,
    save_record,
    save_selection,
)
from actbench.results.storage import ensure_writable, guarded, read_json, remove, write_atomic, write_json
from actbench.results.table import (
    LEADING_COLUMNS,
    collect_rows,
    flatten_run,
    rebuild_results_csv,
    runs_frame,
    stale_note,
)
