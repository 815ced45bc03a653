"""The PAC-record count behind issue 17's validation-set plan, on a hand-made label table."""

import pandas as pd

from benchmarks.ptbxl_atrial_ectopy import atrial_ectopy_counts


def test_pac_records_are_counted_by_split_and_conducted_label_and_other_ectopy_left_out():
    rows = [
        # ecg_id, patient, fold, statements
        (1, 10, 1, {"CRBBB": 100, "PAC": 100, "SR": 0}),  # train, R
        (2, 10, 1, {"CRBBB": 100, "PAC": 50}),  # same patient, second record
        (3, 11, 2, {"NORM": 100, "PAC": 100}),  # train, N once the PAC is ignored
        (4, 12, 3, {"CRBBB": 100, "PAC": 100, "PVC": 100}),  # other ectopy: left out
        (5, 13, 4, {"SR": 100, "PAC": 100, "AFIB": 0}),  # AF statement: left out
        (6, 14, 9, {"CLBBB": 100, "PAC": 100}),  # validation, L
        (7, 15, 10, {"SR": 100, "PAC": 100, "LAFB": 100}),  # test, no label
        (8, 16, 9, {"CRBBB": 100}),  # no PAC: not counted
    ]
    table = pd.DataFrame(
        {
            "patient_id": [r[1] for r in rows],
            "strat_fold": [r[2] for r in rows],
            "scp_codes": [r[3] for r in rows],
        },  # fmt: skip
        index=pd.Index([r[0] for r in rows], name="ecg_id"),
    )
    counts = atrial_ectopy_counts(table)
    assert counts["train"] == {
        "N": {"records": 1, "patients": 1},
        "R": {"records": 2, "patients": 1},
    }
    assert counts["validation"] == {"L": {"records": 1, "patients": 1}}
    assert counts["test"] == {"-": {"records": 1, "patients": 1}}
