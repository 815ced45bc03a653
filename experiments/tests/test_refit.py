"""experiments/refit.py: a run's learning-rate schedule replayed on more beats."""

import numpy as np
import pytest

from ecg.training.training import ModelConfig, clean_inputs
from experiments.refit import refit
from tests.ml.conftest import TINY_TRAINING, tiny_inter_patient_table

pytestmark = pytest.mark.slow


def test_a_refit_replays_the_given_learning_rates_on_the_given_beats(tmp_path):
    table, labels, split = tiny_inter_patient_table(tmp_path)
    config = ModelConfig("tiny", use_rr=True, **TINY_TRAINING)
    both = np.concatenate([split.train, split.val])
    model, record = refit(config, table, both, labels, 6, learning_rates=[1e-3, 2.5e-4])
    assert record["epochs_run"] == 2 and record["train_beats"] == len(both)
    assert float(model.optimizer.learning_rate) == pytest.approx(2.5e-4)
    probs = model.predict(clean_inputs(config, table, split.test), verbose=0)
    assert probs.shape == (len(split.test), 6)
    with pytest.raises(ValueError, match="at least one epoch"):
        refit(config, table, both, labels, 6, learning_rates=[])
