"""Solutions to the exercises of 09_phase_chart.ipynb."""

import tempfile
from pathlib import Path

import hashnet as hn

SWEEP = dict(
    quick=True,
    verbose=0,
    n_train=2000,
    n_test=500,
    snapshots=[0, 1, 2, 5, 10, 20],
)
out = tempfile.mkdtemp(prefix="hashnet-phase-")

# %% Exercise 1: the tutorial's cube, then a bigger one into the same folder. Only the new
# runs are trained: 18 records, then 28 (4 sample sizes x 7 widths).
for sizes, widths in (
    ([100, 400, 1600], [5, 10, 20, 40, 80, 160]),
    ([100, 400, 800, 1600], [5, 10, 20, 40, 80, 160, 320]),
):
    chart = hn.experiments.phase_chart(
        out=out, sample_size=sizes, width=widths, probes=["knn"], acc_threshold=0.70, **SWEEP
    )
    print(len(list(Path(out, "records").glob("*.json"))), "records")
regimes = {(c["sample_size"], c["width"], c["epoch"]): c["regime"] for c in chart["cells"]}
print("width 320:", sorted({regimes[n, 320, e] for n in (100, 400, 800, 1600) for e in (0, 20)}))

# %% Exercise 2: logistic regression as the judge (probes are part of a run's configuration,
# so this trains the tutorial's cube again, into another folder).
out_lr = tempfile.mkdtemp(prefix="hashnet-phase-lr-")
chart = hn.experiments.phase_chart(
    out=out_lr,
    sample_size=[100, 400, 1600],
    width=[5, 10, 20, 40, 80, 160],
    probes=["knn", "lr"],
    **SWEEP,
)
by_knn = hn.experiments.phase_cells(chart["rows"], "knn_test", 0.05, 0.70)
by_lr = hn.experiments.phase_cells(chart["rows"], "lr_test", 0.05, 0.70)
changed = [
    (a["sample_size"], a["width"], a["epoch"], a["regime"], b["regime"])
    for a, b in zip(by_knn, by_lr)
    if a["regime"] != b["regime"]
]
print(f"{len(changed)} of {len(by_knn)} cells change regime with logistic regression:")
for cell in changed:
    print("  n={} width={} epoch={}: {} -> {}".format(*cell))
