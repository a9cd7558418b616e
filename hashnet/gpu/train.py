"""`fit(..., device="cuda")`: the training loop of `Sequential.fit`, with the data on the GPU.

The loop is the CPU one, step for step: the same seeded shuffling generator (the permutation is
drawn on the host, exactly as on the CPU, and uploaded once per epoch), the same mini-batches,
the same learning-rate schedule, early stopping, checkpoints, history and progress lines. What
changes is where the numbers live: X and y are copied to the GPU once per fit, each batch is
gathered there from the permutation, and the loss and accuracy of every example are kept there
for the whole epoch and added up once at its end, so the host waits for the GPU once per epoch
rather than after every batch. The weights come back to the model's flat host vector at every
checkpoint and when training ends (also when it is interrupted), so predict and save work as
after a CPU fit.

Results agree with the CPU path to float32 rounding, not bit for bit: the GPU adds up the
matrix products in a different order than BLAS does, and those tiny differences grow slowly as
training goes on.
"""

from __future__ import annotations

import time

import numpy as np
from numba import cuda

from hashnet.gpu.runner import Runner, _optimizer_step, optimizer_state
from hashnet.kernels import cuda as K


def fit(net, X, y, validation_data, epochs, batch_size, opt, schedule, shuffle, start_log, verbose):
    """Train `net` on the GPU. `Sequential.fit(..., device="cuda")` calls this with its checked
    arguments, its optimiser and schedule, and `start_log(stacklevel)`, which makes the
    `FitLog` keeping history_, checkpoints and the stopping rules. Returns net."""
    from hashnet.nn.fitting import fit_streams

    base_lr = opt.lr
    runner = Runner(net)  # refuses layers the GPU path does not have, before any work
    runner.warmup(opt, verbose=verbose > 0)
    # The generators of the CPU path, from the same seed and fit count: the same batches.
    shuffle_rng = fit_streams(net)
    log = start_log(stacklevel=4)  # warnings point at the caller of Sequential.fit

    n = X.shape[0]
    features = int(np.prod(net.input_shape))
    data_x = cuda.to_device(X.reshape(n, features))
    data_y = cuda.to_device(y)
    validate = None
    if validation_data is not None:
        Xv, yv = validation_data
        val_x = cuda.to_device(Xv.reshape(Xv.shape[0], features))
        val_y = cuda.to_device(yv)

        def validate():
            return runner.evaluate(val_x, val_y, net._chunk_rows)

    order = cuda.to_device(np.arange(n, dtype=np.int64))  # replaced every epoch when shuffling
    row_loss = cuda.device_array(n, np.float64)
    row_correct = cuda.device_array(n, np.int32)
    state = optimizer_state(opt, net.n_params, runner.dtype)
    ws, step = runner.ws, 0
    try:
        for epoch in range(epochs):
            start_time = time.perf_counter()
            opt.lr = base_lr * schedule(epoch)
            if shuffle:
                order.copy_to_device(shuffle_rng.permutation(n).astype(np.int64))
            for start in range(0, n, batch_size):
                stop = min(start + batch_size, n)
                index = order[start:stop]
                xb = ws.array("batch x", (stop - start, features), runner.dtype)
                yb = ws.array("batch y", (stop - start,), np.int64)
                K.take_rows(data_x, index, xb)
                K.take(data_y, index, yb)
                logits = runner.forward(xb.reshape(stop - start, *net.input_shape), training=True)
                dlogits = ws.array("dlogits", logits.shape, runner.dtype)
                K.softmax_xent_rows(
                    logits, yb, dlogits, row_loss[start:stop], row_correct[start:stop]
                )
                runner.backward(dlogits)
                step += 1
                _optimizer_step(opt, runner.params, runner.grads, state, net._n_decay, step)
            # Copying the per-example numbers back waits for the epoch's last kernel.
            epoch_loss = float(row_loss.copy_to_host().sum()) / n
            correct = int(row_correct.copy_to_host().sum())
            seconds = time.perf_counter() - start_time
            if log.end_epoch(
                epoch + 1, epoch_loss, correct / n, opt.lr, seconds, validate, sync=runner.pull
            ):
                break
    finally:
        runner.pull()  # the weights trained so far, even after an interruption
    return net
