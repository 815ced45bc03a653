"""The one class-name table (``ecg.classes``) that pages, reports and exports read."""

from __future__ import annotations

from ecg.classes import class_display_name


def test_display_name_of_a_known_code():
    assert class_display_name("V") == "Premature Ventricular Contraction"
    assert class_display_name("!") == "Ventricular Fibrillation / flutter"
    assert class_display_name("VEB", "aami") == "Ventricular ectopic (V)"


def test_an_unknown_code_is_shown_as_it_is():
    assert class_display_name("Q") == "Q"
