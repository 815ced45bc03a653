"""What ONE review action does to the rest of a recording, on MIT-BIH DS1: the shipped review
settings against the model-led ones the vote's re-choice picked and that were not applied
(``benchmarks/results/review_model_led_rechoice.json``, docs/review.md). Nothing is chosen here.

The review benchmark's objective measures 20 confirmed beats per record; the app also suggests
after a single correction, the first thing a clinician does. Two single actions per record:

- **first mistake corrected**: the record's first beat (in time) whose model answer is not its
  reference class and that a clinician would label (``review_benchmark.clinician_labels``),
  given its reference label;
- **first beat confirmed**: the record's first labelled beat, given its reference label (right
  or wrong, as a clinician starting at the beginning would).

For every other beat with a six-class reference: moved (answer changed), fixed (wrong before,
right after) and broken (right before, wrong after), per record and pooled, for both settings.

    python benchmarks/review_one_correction_ds1.py   # -> results/review_one_correction_ds1.json
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import review_benchmark as rb  # noqa: E402

from ecg.classes import DS1_RECORDS, symbol_to_index  # noqa: E402
from ecg.features import corrections  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "review_one_correction_ds1.json"
MODEL_LED = Path(__file__).resolve().parent / "results" / "review_model_led_rechoice.json"


def settings() -> dict[str, dict[str, Any]]:
    """The two sets of ``corrections.teach`` parameters compared."""
    model_led = json.loads(MODEL_LED.read_text())
    premature = model_led["choice_premature"]["chosen"].get("premature", True)
    return {
        "shipped": {**rb.PARAMS, "premature": corrections.PREMATURE_STEP},
        "model_led": {**model_led["scales"], "premature": premature},
    }


def one_action(
    data: dict[str, np.ndarray], truth: np.ndarray, beat: int, params: dict[str, Any]
) -> dict[str, int]:
    """Moved / fixed / broken among the other beats (``truth``: their six-class reference
    index, -1 for none) after ``beat`` gets its reference label."""
    before = data["probs"].argmax(axis=1)
    after = rb.corrected_probs(data, np.array([beat]), params).argmax(axis=1)
    rest = np.setdiff1d(np.flatnonzero(truth >= 0), [beat])
    was, now, ref = before[rest], after[rest], truth[rest]
    return {
        "moved": int((was != now).sum()),
        "fixed": int(((was != ref) & (now == ref)).sum()),
        "broken": int(((was == ref) & (now != ref)).sum()),
        "scored": int(len(rest)),
    }


def first_beats(data: dict[str, np.ndarray]) -> tuple[np.ndarray, dict[str, int | None]]:
    """Six-class reference index per beat (-1 for none), and the beat each single action
    reviews (None when the record has no such beat)."""
    six = symbol_to_index("six")
    truth = np.array([six.get(str(s), -1) for s in data["symbols"]])
    labelled = (rb.clinician_labels(data["symbols"], False) >= 0) & (truth >= 0)
    wrong = np.flatnonzero((data["probs"].argmax(axis=1) != truth) & labelled)
    confirmable = np.flatnonzero(labelled)
    return truth, {
        "first_mistake_corrected": int(wrong[0]) if len(wrong) else None,
        "first_beat_confirmed": int(confirmable[0]) if len(confirmable) else None,
    }


def main() -> None:
    from ecg.io.records import default_data_dir

    data_dir = default_data_dir()
    if data_dir is None:
        sys.exit("needs MIT-BIH (../shared/data/mitdb or $ECG_DATA_DIR)")
    bundle = rb.shipped_recording_bundle()
    compared = settings()
    scenarios: dict[str, dict[str, Any]] = {
        "first_mistake_corrected": {},
        "first_beat_confirmed": {},
    }
    for name in DS1_RECORDS:
        data = rb.with_af_context(rb.cache_record(bundle, data_dir, name), data_dir, name)
        truth, firsts = first_beats(data)
        for scenario, beat in firsts.items():
            if beat is None:
                continue
            row = {"beat": beat, "label": str(data["symbols"][beat])}
            row |= {key: one_action(data, truth, beat, params) for key, params in compared.items()}
            scenarios[scenario][name] = row
            print(name, scenario, row, flush=True)
    pooled = {
        scenario: {
            key: {
                k: sum(r[key][k] for r in rows.values())
                for k in ("moved", "fixed", "broken", "scored")
            }
            for key in compared
        }
        for scenario, rows in scenarios.items()
    }
    result = {
        "data": "MIT-BIH DS1 (22 records), the review benchmark's cache of the shipped model",
        "model": bundle.name,
        "settings": compared,
        "pooled": pooled,
        "records": scenarios,
        "created_at": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }
    RESULTS.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(pooled, indent=1))


if __name__ == "__main__":
    main()
