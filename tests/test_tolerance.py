"""The comparison rule of `assert_close`: it absorbs rounding noise, and nothing more."""

import numpy as np
import pytest
from _tolerance import ULPS, assert_close, default_rtol


def terms_and_sum(seed=0, n=100):
    terms = np.random.default_rng(seed).normal(size=n)
    return terms, float(np.sum(terms))


def test_default_rtol_follows_the_dtype():
    assert default_rtol(np.float64) == ULPS * np.finfo(np.float64).eps
    assert 1e-14 < default_rtol(np.float64) < 1e-12
    assert 1e-5 < default_rtol(np.float32) < 1e-4


def test_accepts_rounding_noise_around_zero():
    # A total that is exactly 0 in one implementation and a few ulps in the other.
    assert_close(np.full(3, 8.881784197001252e-16), np.zeros(3), scale=np.full(3, 14.0))
    # Without a scale, the whole array's magnitude sets it: a 0 among values of order 1.
    assert_close(np.array([2.5, 1e-16, -0.3]), np.array([2.5, 0.0, -0.3]))
    assert_close(np.zeros(4), np.zeros(4))
    assert_close(0.0, 0.0)


def test_accepts_reordered_sums():
    terms, total = terms_and_sum()
    forward = 0.0
    for t in terms[::-1]:
        forward += t
    assert_close(forward, total, scale=np.abs(terms).sum())
    # float32 arithmetic against a float64 reference, at float32's tolerance
    x = np.random.default_rng(1).normal(size=50)
    assert_close(x.astype(np.float32), x)
    assert_close(float(np.float32(np.pi)), np.pi, dtype=np.float32)


def test_rejects_a_wrong_sign():
    x = np.array([0.5, -1.2, 3.0, 1e-3])
    flipped = x.copy()
    flipped[3] = -flipped[3]  # even the smallest entry
    with pytest.raises(AssertionError, match="1 of 4 elements"):
        assert_close(flipped, x)
    with pytest.raises(AssertionError):
        assert_close(-x, x)


def test_rejects_a_dropped_term():
    terms, total = terms_and_sum()
    smallest = np.argmin(np.abs(terms))  # the least visible term to leave out
    partial = float(np.sum(np.delete(terms, smallest)))
    with pytest.raises(AssertionError):
        assert_close(partial, total, scale=np.abs(terms).sum())
    # also in float32, at its much larger tolerance
    with pytest.raises(AssertionError):
        assert_close(np.float32(partial), total, scale=np.abs(terms).sum())


def test_rejects_an_off_by_one_shift():
    y = np.sin(np.linspace(0.0, 1.0, 1001))  # neighbours differ by only 1e-3
    with pytest.raises(AssertionError):
        assert_close(y[1:], y[:-1])
    with pytest.raises(AssertionError):
        assert_close(np.roll(y, 1), y)


def test_rejects_noise_larger_than_the_scale_allows():
    # 1e-16 against 0 is noise only next to numbers of order 1, not on its own.
    with pytest.raises(AssertionError):
        assert_close(np.array([1e-16]), np.array([0.0]))
    with pytest.raises(AssertionError):
        assert_close(np.array([1e-12]), np.array([0.0]), scale=1.0)


def test_nan_inf_and_shapes():
    assert_close(np.array([1.0, np.nan, np.inf]), np.array([1.0, np.nan, np.inf]))
    with pytest.raises(AssertionError, match="NaN"):
        assert_close(np.array([1.0, np.nan]), np.array([1.0, 2.0]))
    with pytest.raises(AssertionError, match="infinities"):
        assert_close(np.array([np.inf]), np.array([-np.inf]))
    with pytest.raises(AssertionError, match="shapes"):
        assert_close(np.zeros(3), np.zeros(4))
    assert_close(np.full(5, 1.0), 1.0)  # a scalar is compared with every element
    with pytest.raises(ValueError, match="scale"):
        assert_close(1.0, 1.0, scale=-1.0)


def test_failure_message_names_the_worst_element():
    with pytest.raises(AssertionError) as info:
        assert_close(
            np.array([[1.0, 2.0], [3.0, 4.5]]), np.array([[1.0, 2.0], [3.0, 4.0]]), err_msg="W"
        )
    message = str(info.value)
    for part in ("1 of 4 elements", "(1, 1)", "actual 4.5", "desired 4.0", "rtol", "scale", "W"):
        assert part in message
