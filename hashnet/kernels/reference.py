"""Plain NumPy twins of the Numba kernels in `cpu.py`: the oracle the tests compare against.

Same names, same arguments, same outputs. These are written to be obviously correct, not fast:
read them first to see what each kernel computes.
"""

from __future__ import annotations

import numpy as np


def add_bias(z, b):
    z += b


def bias_act_forward(z, b, alpha, out, mask):
    a = z + b
    mask[...] = a > 0
    out[...] = np.where(a > 0, a, alpha * a)


def act_forward(z, alpha, out, mask):
    bias_act_forward(z, np.zeros(z.shape[1], z.dtype), alpha, out, mask)


def act_backward(dy, mask, alpha, dx):
    dx[...] = np.where(mask.astype(bool), dy, alpha * dy)


def act_backward_bias(dy, mask, alpha, dx, db):
    act_backward(dy, mask, alpha, dx)
    db[...] = dx.sum(axis=0)


def column_sum(dz, db):
    db[...] = dz.sum(axis=0)


def softmax(logits, out):
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    out[...] = e / e.sum(axis=1, keepdims=True)


def softmax_xent(logits, y, dlogits):
    n = logits.shape[0]
    shifted = logits.astype(np.float64) - logits.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    loss = -log_probs[np.arange(n), y].mean()
    onehot = np.zeros_like(log_probs)
    onehot[np.arange(n), y] = 1.0
    dlogits[...] = (np.exp(log_probs) - onehot) / n
    correct = int((logits.argmax(axis=1) == y).sum())
    return loss, correct


def batchnorm_forward_train(x, gamma, beta, eps, out, xhat, mean, var):
    mean[...] = x.mean(axis=0)
    var[...] = x.var(axis=0)
    xhat[...] = (x - mean) / np.sqrt(var + eps)
    out[...] = gamma * xhat + beta


def batchnorm_forward_eval(x, gamma, beta, mean, var, eps, out):
    out[...] = gamma * (x - mean) / np.sqrt(var + eps) + beta


def batchnorm_backward(dy, xhat, gamma, var, eps, dx, dgamma, dbeta):
    dbeta[...] = dy.sum(axis=0)
    dgamma[...] = (dy * xhat).sum(axis=0)
    dx[...] = gamma / np.sqrt(var + eps) * (dy - dy.mean(axis=0) - xhat * (dy * xhat).mean(axis=0))


def dropout_forward(x, u, rate, out, mask):
    mask[...] = u >= rate
    out[...] = x * mask / (1.0 - rate)


def dropout_backward(dy, mask, rate, dx):
    dx[...] = dy * mask / (1.0 - rate)


TINY = 1e-30  # moving averages below this are flushed to zero (see cpu.py)


def _with_decay(p, g, weight_decay, n_decay):
    grad = g.copy()
    grad[:n_decay] += weight_decay * p[:n_decay]
    return grad


def _flush(a):
    a[np.abs(a) < TINY] = 0


def sgd_step(p, g, velocity, lr, momentum, nesterov, weight_decay, n_decay):
    grad = _with_decay(p, g, weight_decay, n_decay)
    velocity[...] = momentum * velocity + grad
    _flush(velocity)
    p -= lr * (grad + momentum * velocity if nesterov else velocity)


def adam_step(p, g, m1, m2, lr, beta1, beta2, eps, step, weight_decay, n_decay):
    grad = _with_decay(p, g, weight_decay, n_decay)
    m1[...] = beta1 * m1 + (1 - beta1) * grad
    m2[...] = beta2 * m2 + (1 - beta2) * grad**2
    _flush(m1)
    _flush(m2)
    m1_hat = m1 / (1 - beta1**step)
    m2_hat = m2 / (1 - beta2**step)
    p -= lr * m1_hat / (np.sqrt(m2_hat) + eps)
