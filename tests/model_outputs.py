"""Comparing a network's outputs across runs of the same model.

Float results of a network change with batch shape and CPU kernels (AVX-512 against AVX2, a
different matmul blocking): the same beat classified alone or in a batch of 512 can differ in
the 5th decimal. So outputs are compared with a tolerance and the predicted classes exactly,
never bit for bit (on an AMD EPYC, 36 of 13,626 probabilities of record 100 differed by up to
2.6e-5 between chunked and one-pass analysis).
"""

from __future__ import annotations

import numpy as np

# Far above kernel noise (1e-5), far below anything a user sees (probabilities shown to 0.1%).
PROBABILITY_ATOL = 1e-4


def assert_same_model_outputs(actual, expected, *, atol: float = PROBABILITY_ATOL) -> None:
    """Same shape, probabilities within ``atol``, and the same predicted class for each row."""
    actual, expected = np.asarray(actual), np.asarray(expected)
    assert actual.shape == expected.shape, f"shape {actual.shape} != {expected.shape}"
    np.testing.assert_allclose(actual, expected, rtol=0, atol=atol)
    if actual.ndim >= 1 and actual.size:
        np.testing.assert_array_equal(actual.argmax(axis=-1), expected.argmax(axis=-1))
