"""The one table that maps MIT-BIH annotation symbols to the product's classes.

Two label sets are supported:

* ``SIX_CLASS`` -- the six classes of the product (the original design);
* ``AAMI`` -- the AAMI EC57 five-class grouping used by the inter-patient benchmark
  (de Chazal et al. 2004).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ClassInfo:
    code: str  # short code used in files, URLs and the database
    name: str  # human-readable name
    symbols: tuple[str, ...]  # MIT-BIH annotation symbols that map to this class


SIX_CLASS: tuple[ClassInfo, ...] = (
    ClassInfo("L", "Left Bundle Branch Block", ("L",)),
    ClassInfo("N", "Normal", ("N",)),
    ClassInfo("A", "Premature Atrial Contraction", ("A",)),
    ClassInfo("V", "Premature Ventricular Contraction", ("V",)),
    ClassInfo("R", "Right Bundle Branch Block", ("R",)),
    # '!' marks each ventricular flutter wave; in MIT-BIH it occurs only in record 207.
    ClassInfo("!", "Ventricular Fibrillation / flutter", ("!",)),
)

AAMI: tuple[ClassInfo, ...] = (
    ClassInfo("N", "Non-ectopic (N)", ("N", "L", "R", "e", "j")),
    ClassInfo("SVEB", "Supraventricular ectopic (S)", ("A", "a", "J", "S")),
    ClassInfo("VEB", "Ventricular ectopic (V)", ("V", "E")),
    ClassInfo("F", "Fusion (F)", ("F",)),
    ClassInfo("Q", "Unknown / paced (Q)", ("/", "f", "Q")),
)

LABEL_SETS: dict[str, tuple[ClassInfo, ...]] = {"six": SIX_CLASS, "aami": AAMI}

# Labels a clinician may give a beat in review that no model predicts, as Holter review labels
# them. A fusion beat (a ventricular and a conducted beat at once) is neither normal nor
# ventricular, and a paced beat none of the six: without these labels a confirmed fusion or
# paced beat could teach nothing (the review's suggestions kept calling its look-alikes V,
# L or N). An artefact is no heartbeat at all: a detection in noise, which the recount leaves
# out of every count and interval (``NOT_A_BEAT``). Symbols: MIT-BIH's.
REVIEW_ONLY: tuple[ClassInfo, ...] = (
    ClassInfo("F", "Fusion beat (review label)", ("F",)),
    ClassInfo("P", "Paced beat (review label)", ("/",)),
    ClassInfo("X", "Artefact, not a beat (review label)", ("|",)),
)
NOT_A_BEAT = "X"

# All MIT-BIH symbols that annotate a beat (or a flutter wave); everything else is rhythm,
# signal-quality or comment annotations and is never a classification target.
BEAT_SYMBOLS = frozenset("NLRAaJSVFEejf/Q!")

PACED_RECORDS = ("102", "104", "107", "217")

# de Chazal et al. 2004 patient-wise split (paced records excluded from both sides).
DS1_RECORDS = (
    "101", "106", "108", "109", "112", "114", "115", "116", "118", "119", "122",
    "124", "201", "203", "205", "207", "208", "209", "215", "220", "223", "230",
)  # fmt: skip
DS2_RECORDS = (
    "100", "103", "105", "111", "113", "117", "121", "123", "200", "202", "210",
    "212", "213", "214", "219", "221", "222", "228", "231", "232", "233", "234",
)  # fmt: skip


class UnknownClassError(ValueError):
    """Raised for a label set or class code that does not exist."""


def label_set(name: str) -> tuple[ClassInfo, ...]:
    try:
        return LABEL_SETS[name]
    except KeyError:
        raise UnknownClassError(
            f"unknown label set {name!r}; choose one of {sorted(LABEL_SETS)}"
        ) from None


def class_codes(name: str = "six") -> list[str]:
    return [c.code for c in label_set(name)]


def class_names(name: str = "six") -> list[str]:
    return [c.name for c in label_set(name)]


def symbol_to_index(name: str = "six") -> dict[str, int]:
    """Map each annotation symbol to its class index in the given label set."""
    mapping: dict[str, int] = {}
    for index, info in enumerate(label_set(name)):
        for symbol in info.symbols:
            mapping[symbol] = index
    return mapping


def class_info(code: str, name: str = "six") -> ClassInfo:
    for info in label_set(name):
        if info.code == code:
            return info
    raise UnknownClassError(f"unknown class {code!r} in label set {name!r}")


def review_labels(classes: list[str] | tuple[str, ...]) -> list[str]:
    """What a reviewer may label a beat: the model's ``classes``, then ``REVIEW_ONLY``."""
    return [*classes, *(c.code for c in REVIEW_ONLY if c.code not in classes)]


def class_display_name(code: str, name: str = "six") -> str:
    """The readable name of a class code (or of a ``REVIEW_ONLY`` label); a code neither knows
    (a row from an older model) is shown as the code itself rather than failing a page."""
    try:
        return class_info(code, name).name
    except UnknownClassError:
        return next((c.name for c in REVIEW_ONLY if c.code == code), code)
