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

runs.py writes and reads a run's directory (save_record, read_run), table.py builds results.csv,
storage.py makes every write atomic. `from actbench.results import X` works for all of them.
"""

from actbench.results.runs import (
    DONE_STATUSES,
    HISTORY_COLUMNS,
    RUN_FILES,
    RunRecord,
    arrays_npz,
    confusion_csv,
    experiment_dir,
    history_csv,
    is_done,
    is_stale,
    predictions_npz,
    read_history,
    read_predictions,
    read_run,
    rows_csv,
    run_dir,
    run_status,
    save_experiment,
    save_record,
)
from actbench.results.storage import ensure_writable, read_json, write_atomic, write_json
from actbench.results.table import LEADING_COLUMNS, collect_rows, flatten_run, rebuild_results_csv, stale_note

