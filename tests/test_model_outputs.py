"""The suite's rule for comparing network outputs (issue 15, item 1)."""

import numpy as np
import pytest

from tests.model_outputs import assert_same_model_outputs


def test_kernel_noise_is_tolerated():
    # The difference seen on an AMD EPYC between chunked and one-pass analysis of record 100.
    one_pass = np.array([[0.98949355, 0.01050645]], np.float32)
    chunked = np.array([[0.98948991, 0.01051009]], np.float32)
    assert_same_model_outputs(chunked, one_pass)


def test_a_changed_class_fails_even_within_the_tolerance():
    with pytest.raises(AssertionError):
        assert_same_model_outputs([[0.50002, 0.49998]], [[0.49998, 0.50002]])


def test_a_real_difference_fails():
    with pytest.raises(AssertionError):
        assert_same_model_outputs([[0.7, 0.3]], [[0.6, 0.4]])
    with pytest.raises(AssertionError, match="shape"):
        assert_same_model_outputs([[0.7, 0.3]], [[0.7, 0.3], [0.7, 0.3]])
