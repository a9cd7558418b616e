"""The study's record for one trained network: its encoding properties in one call.

*Determinism*: the redundancy ratio of the training and test codes (0 = every example alone in
its linear region). *Categorization*: how well three simple algorithms classify with the codes
alone: K-Means (unsupervised, scored by cluster accuracy), K-NN in Hamming distance, and
logistic regression. The network's own loss and accuracy are recorded beside them.
"""

from __future__ import annotations

import contextlib
import time

import numpy as np

from hashnet._validation import check_y
from hashnet.codes import redundancy_ratio
from hashnet.device import check_device
from hashnet.probes import KNN, KMeans, LogisticRegression, cluster_accuracy

PROBES = ("kmeans", "knn", "lr")
# The measured keys of a record, in reading order (the time_<step> keys come after them).
MEASURES = (
    "train_loss",
    "train_acc",
    "test_loss",
    "test_acc",
    "rr_train",
    "rr_test",
    "rr_random_train",  # random inputs through the same network (the runner's random_inputs)
    "rr_random_test",
    "rr_train_subset",  # the training codes cut to as many as the test codes (the runner's)
    "kmeans_train",
    "kmeans_test",
    "knn_test",
    "lr_test",
    "knn_test_untrained",  # K-NN on the codes of the network before training (the runner's)
    "n_classes",
    "n_bits",
    "code_bits",  # bits of the whole code (n_bits: those the probes saw)
    "train_size",  # examples behind rr_train and kmeans_train: the ratio depends on it
    "test_size",  # examples behind the test columns
)


def encoding_properties(
    net,
    Xtr,
    ytr,
    Xte,
    yte,
    k=9,
    kmeans_mapping="majority",
    kmeans_n_init=10,
    C=1.0,
    multi_class="multinomial",
    drop_constant=False,
    probes=PROBES,
    seed=0,
    device="cpu",
    probe_bits=None,
) -> dict:
    """Measure the encoding properties of `net` on a train/test split.

    Returns a flat dict (ready to be a row of a results table):
      train_loss, train_acc, test_loss, test_acc   the network as a classifier
      rr_train, rr_test                            redundancy ratios of the codes
      kmeans_train, kmeans_test                    K-Means (n_clusters = n_classes) run on the
                                                   train codes and on the test codes separately,
                                                   scored by cluster accuracy (`kmeans_mapping`)
      knn_test                                     K-NN (k, Hamming) trained on train codes
      lr_test                                      logistic regression on the codes' bits
      n_bits                                       code length used by the probes
      code_bits                                    code length of the network
      train_size, test_size                        examples behind the train and test columns
      time_<step>                                  seconds each step took
    `drop_constant=True` removes the bits that are constant on the training codes (from train
    and test alike) before the probes. `probes` picks which of "kmeans", "knn", "lr" to run.
    `device="cuda"` computes the codes and runs the K-NN search on the GPU (same answers);
    the rest runs on the CPU.

    `probe_bits=m` (hashnet's rule for the codes of big CNNs, hundreds of thousands of bits):
    the three probes see m bits drawn at random (seeded by `seed`) from those that vary on the
    training codes, instead of all of them; the redundancy ratios still use whole codes. A
    random subset of bits keeps Hamming distances in proportion on average (each bit is a
    random coordinate of the code), and the probes' cost stops growing with the network.
    """
    check_device(device)
    unknown = set(probes) - set(PROBES)
    if unknown:
        raise ValueError(f"unknown probes {sorted(unknown)}; choose from {PROBES}")
    ytr = check_y(ytr, len(Xtr), net.n_classes, "ytr")
    yte = check_y(yte, len(Xte), net.n_classes, "yte")
    record = {}

    def clock(step):
        return _timed(record, step)

    with clock("evaluate"):
        record["train_loss"], record["train_acc"] = net.evaluate(Xtr, ytr)
        record["test_loss"], record["test_acc"] = net.evaluate(Xte, yte)
    with clock("codes"):
        codes_tr, codes_te = net.codes(Xtr, device=device), net.codes(Xte, device=device)
    with clock("rr"):
        record["rr_train"] = redundancy_ratio(codes_tr)
        record["rr_test"] = redundancy_ratio(codes_te)
    record["code_bits"] = codes_tr.n_bits
    if drop_constant:
        codes_tr, codes_te = codes_tr.drop_constant(), codes_te.drop_constant(reference=codes_tr)
    if probe_bits is not None and codes_tr.n_bits > probe_bits:
        codes_tr, codes_te = sample_bits(codes_tr, codes_te, probe_bits, seed)
    record["n_bits"] = codes_tr.n_bits
    record["train_size"], record["test_size"] = len(codes_tr), len(codes_te)
    if "kmeans" in probes:
        with clock("kmeans"):
            for name, codes, y in (("train", codes_tr, ytr), ("test", codes_te, yte)):
                kmeans = KMeans(n_clusters=net.n_classes, n_init=kmeans_n_init, seed=seed)
                labels = kmeans.fit(codes).labels_
                record[f"kmeans_{name}"] = cluster_accuracy(y, labels, mapping=kmeans_mapping)
    if "knn" in probes:
        with clock("knn"):
            knn = KNN(k=k, metric="hamming", device=device).fit(codes_tr, ytr)
            record["knn_test"] = knn.score(codes_te, yte)
    if "lr" in probes:
        with clock("lr"):
            lr = LogisticRegression(C=C, multi_class=multi_class).fit(codes_tr, ytr)
            record["lr_test"] = lr.score(codes_te, yte)
    return record


def sample_bits(codes_tr, codes_te, m, seed):
    """Both codes cut to m bits drawn (in their order) from those varying on the train codes
    (all of those when there are no more than m): the `probe_bits` rule."""
    varying = np.flatnonzero(~codes_tr.constant_bits())
    if len(varying) > m:
        rng = np.random.default_rng([seed, 7])
        varying = np.sort(rng.choice(varying, m, replace=False))
    return codes_tr.select(varying), codes_te.select(varying)


@contextlib.contextmanager
def _timed(record, step):
    """Store the seconds the `with` block took as record["time_<step>"]."""
    start = time.perf_counter()
    yield
    record[f"time_{step}"] = time.perf_counter() - start


def format_record(record) -> str:
    """A two-column text table of an `encoding_properties` record, for the terminal."""
    rows = [
        (key, f"{value:d}" if isinstance(value, int) else f"{value:.4f}")
        for key, value in record.items()
        if not key.startswith("time_")
    ]
    times = [(k[5:], f"{v:.2f}s") for k, v in record.items() if k.startswith("time_")]
    width = max(len(k) for k, _ in rows + times)
    lines = [f"{k:<{width}}  {v:>8}" for k, v in rows]
    lines.append("time: " + ", ".join(f"{k} {v}" for k, v in times))
    return "\n".join(lines)
