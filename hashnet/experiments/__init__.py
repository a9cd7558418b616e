"""The study's experiments: sweeps, a resumable result store, figures and the phase chart.

    import hashnet as hn
    rows = hn.experiments.sweep("width", out="runs/width", quick=True)   # resumable
    hn.experiments.reproduce("time", out="runs/time", quick=True)        # + CSV and PNG
    hn.experiments.phase_chart(out="runs/phase", quick=True)             # the three regimes
    rows = hn.experiments.load_results("runs/width", "runs/time")        # every stored point

Modules, one idea each:
  grid       configurations (DEFAULTS), protocols (the study's, hashnet's), presets, shards
  store      one JSON record per run, written atomically, checked when read
  runner     the data of a run, training and measuring, jobs, progress, resuming
  table      rows, summaries over repeats (mean, std, min, max), CSV, merging folders
  figures    the sweep figures (determinism and categorization against the swept quantity)
  phase      the regimes, their thresholds and the phase chart
  study      run + tables + figures in one call: reproduce(), phase_chart()
The command line (`python -m hashnet reproduce|phase|merge`) is in `cli`.
"""

from __future__ import annotations

import importlib

_LAZY = {
    "KINDS": "grid",
    "DEFAULTS": "grid",
    "PRESETS": "grid",
    "make_grid": "grid",
    "config_hash": "grid",
    "select_shard": "grid",
    "read_record": "store",
    "write_record": "store",
    "RecordError": "store",
    "prepare_data": "runner",
    "train_and_measure": "runner",
    "run_configs": "runner",
    "sweep": "runner",
    "load_results": "table",
    "summarize": "table",
    "write_csv": "table",
    "merge": "table",
    "plot_sweep": "figures",
    "plot_regularization": "figures",
    "plot_kind": "figures",
    "REGIMES": "phase",
    "classify_regime": "phase",
    "phase_cells": "phase",
    "plot_phase": "phase",
    "reproduce": "study",
    "phase_chart": "study",
}

__all__ = sorted(_LAZY)


def __getattr__(name):
    if name in _LAZY:
        return getattr(importlib.import_module(f"hashnet.experiments.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'hashnet.experiments' has no attribute {name!r}")


def __dir__():
    return __all__
