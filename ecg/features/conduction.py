"""The recording's conduction pattern from its beats: left or right bundle branch block, normal
conduction, or not determined (issue 17, point 7: "a record's class from its beats").

A 12-lead reading names a bundle branch block once per ECG, not per beat; a clinician uploading
a 10-second strip or a Holter recording expects the same line. The finding is made from the
mean of the model's probabilities over the readable beats (classified or uncertain: an
uncertain beat still carries evidence; an unreadable one carries none):

* a block (L or R) when its mean probability reaches the rule's threshold for it, the larger of
  the two when both do;
* otherwise the class with the largest mean probability when that is N (normal conduction);
* otherwise not determined (the blocks are most probable but under their thresholds, or the
  beats are mostly ectopic, or no beat was readable).

``MAJORITY`` is the record vote the model report used before (the class most beats are
called); ``SHIPPED_RULE`` was chosen on PTB-XL fold 9 by ``benchmarks/conduction_ptbxl.py``
(docs/model-selection.md, "The recording's conduction pattern").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

BLOCKS = ("L", "R")
NORMAL = "N"
FINDINGS = {
    "L": "left bundle branch block pattern",
    "R": "right bundle branch block pattern",
    "N": "normal conduction",
    None: "not determined",
}


@dataclass(frozen=True)
class ConductionRule:
    """Mean probability over the readable beats at which each block is called."""

    lbbb_min: float
    rbbb_min: float

    def threshold(self, code: str) -> float:
        return self.lbbb_min if code == "L" else self.rbbb_min


Rule = ConductionRule | Literal["majority"]
MAJORITY: Literal["majority"] = "majority"
# Chosen on PTB-XL fold 9 (benchmarks/results/conduction_ptbxl.json): a cross-validated gain
# of 0.013 in mean record F1 over four leads, the rule asking 0.01.
SHIPPED_RULE: ConductionRule = ConductionRule(lbbb_min=0.4, rbbb_min=0.7)
# For the mean over several leads the model was trained on (each lead's mean probabilities
# averaged): chosen on PTB-XL fold 9 by benchmarks/conduction_leads_ptbxl.py, a cross-validated
# gain of 0.105 in mean record F1 over lead II alone (results/conduction_leads_ptbxl.json).
ALL_LEADS_RULE = ConductionRule(lbbb_min=0.35, rbbb_min=0.5)


def record_means(probabilities: np.ndarray, records: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(record names, each record's mean probability vector over its beats)."""
    names, inverse = np.unique(np.asarray(records), return_inverse=True)
    sums = np.zeros((len(names), probabilities.shape[1]), np.float64)
    np.add.at(sums, inverse, probabilities)
    counts = np.bincount(inverse, minlength=len(names))[:, None]
    return names, sums / np.maximum(counts, 1)


def conduction_call(
    mean_probabilities: np.ndarray, classes: Sequence[str], rule: ConductionRule
) -> list[str | None]:
    """The call for each row of ``mean_probabilities`` (records x classes) under ``rule``:
    "L", "R", "N" or None (not determined)."""
    means = np.atleast_2d(np.asarray(mean_probabilities, np.float64))
    index = {c: list(classes).index(c) for c in (*BLOCKS, NORMAL)}
    calls: list[str | None] = []
    for row in means:
        reached = [c for c in BLOCKS if row[index[c]] >= rule.threshold(c)]
        if reached:
            calls.append(max(reached, key=lambda c: row[index[c]]))
        elif int(np.argmax(row)) == index[NORMAL]:
            calls.append(NORMAL)
        else:
            calls.append(None)
    return calls


def majority_call(
    probabilities: np.ndarray, records: np.ndarray, classes: Sequence[str]
) -> tuple[np.ndarray, list[str | None]]:
    """(record names, the class most of each record's beats are called when it is L, R or N,
    else None): the vote the model report used (ties: the lower class index)."""
    names, inverse = np.unique(np.asarray(records), return_inverse=True)
    counts = np.zeros((len(names), len(classes)), np.int64)
    np.add.at(counts, (inverse, probabilities.argmax(axis=1)), 1)
    top = [classes[i] for i in counts.argmax(axis=1)]
    return names, [c if c in (*BLOCKS, NORMAL) else None for c in top]


def applies(classes: Sequence[str]) -> bool:
    """Whether a model's classes can say it: it must know both blocks and normal beats."""
    return all(c in classes for c in (*BLOCKS, NORMAL))


def _readable(probabilities: np.ndarray, states: Sequence[str] | None) -> np.ndarray:
    """The rows of readable beats (all when ``states`` is None)."""
    probabilities = np.asarray(probabilities, np.float64)
    if states is None:
        return probabilities
    return probabilities[np.asarray(states) != "unreadable"]


def lead_evidence(
    lead: str, probabilities: np.ndarray, states: Sequence[str] | None = None
) -> dict[str, Any]:
    """One lead's evidence: how many readable beats it has and their mean probability of each
    of the model's classes (``states``: unreadable beats carry none)."""
    used = _readable(probabilities, states)
    means = used.mean(axis=0) if len(used) else np.zeros(used.shape[1])
    return {"lead": str(lead), "beats": int(len(used)),
            "mean": [round(float(v), 4) for v in means]}  # fmt: skip


def finding_from_leads(
    evidence: Sequence[dict[str, Any]], classes: Sequence[str], *, rule: Rule | None = None
) -> dict[str, Any]:
    """The finding from one lead's evidence or several (``lead_evidence``). With one lead
    ``SHIPPED_RULE`` reads its means; with several, ``ALL_LEADS_RULE`` reads the mean of their
    means, each lead weighing the same whatever its beat count. Leads without a readable beat
    are left out; none left: not determined. ``rule`` overrides the choice (a
    ``ConductionRule``; ``MAJORITY`` needs the beats, see ``conduction_finding``)."""
    if rule == MAJORITY:
        raise ValueError("the majority vote needs the beats: use conduction_finding")
    read = [e for e in evidence if e["beats"]]
    if rule is None:
        rule = ALL_LEADS_RULE if len(read) > 1 else SHIPPED_RULE
    means = np.mean([e["mean"] for e in read], axis=0) if read else np.zeros(len(classes))
    call = conduction_call(means, classes, rule)[0] if read else None
    return _finding(call, means, classes, evidence)


def _finding(
    call: str | None, means: np.ndarray, classes: Sequence[str], evidence: Sequence[dict]
) -> dict[str, Any]:
    return {
        "call": call,
        "finding": FINDINGS[call],
        "beats": int(sum(e["beats"] for e in evidence)),
        "leads": [dict(e) for e in evidence],
        "mean_probability": {
            c: round(float(means[list(classes).index(c)]), 4)
            for c in (*BLOCKS, NORMAL)
            if c in classes
        },  # fmt: skip
        "rule": "mean probability thresholds",
    }


def conduction_finding(
    probabilities: np.ndarray,
    classes: Sequence[str],
    states: Sequence[str] | None = None,
    *,
    rule: Rule | None = None,
    lead: str = "",
) -> dict[str, Any]:
    """The finding from one lead's beats (``finding_from_leads`` with that lead alone); under
    ``MAJORITY`` the class most readable beats are called decides instead."""
    evidence = lead_evidence(lead, probabilities, states)
    if rule != MAJORITY:
        return finding_from_leads([evidence], classes, rule=rule)
    used = _readable(probabilities, states)
    call = majority_call(used, np.zeros(len(used), np.int64), classes)[1][0] if len(used) else None
    return _finding(call, np.asarray(evidence["mean"]), classes, [evidence]) | {
        "rule": "majority of beats"
    }


def shown_means(finding: dict[str, Any]) -> list[tuple[str, float]]:
    """The finding's mean probabilities in the order L, R, N, whatever order the stored JSON
    kept (PostgreSQL's jsonb sorts an object's keys)."""
    means = finding.get("mean_probability") or {}
    return [(c, float(means[c])) for c in (*BLOCKS, NORMAL) if c in means]


def finding_text(finding: dict[str, Any]) -> str:
    """The finding as the page and the report say it, e.g. "right bundle branch block pattern
    (mean probability over 1,204 readable beats of lead II: L 0.01, R 0.74, N 0.18)"; over
    several leads "(mean over leads II, V1, V5 of each one's readable beats: ...)"."""
    read = [e for e in finding.get("leads") or [] if e.get("beats")]
    beats = int(finding.get("beats", 0))
    if not beats:
        return f"{finding['finding']} (no readable beat)"
    figures = ", ".join(f"{c} {v:.2f}" for c, v in shown_means(finding))
    if len(read) > 1:
        names = ", ".join(str(e["lead"]) for e in read)
        over = f"mean over leads {names} of each one's readable beats"
    else:
        noun = "beat" if beats == 1 else "beats"
        of_lead = f" of {_lead_words(read[0]['lead'])}" if read and read[0].get("lead") else ""
        over = f"mean probability over {beats:,} readable {noun}{of_lead}"
    return f"{finding['finding']} ({over}: {figures})"


def _lead_words(name: str) -> str:
    return name if name.lower().startswith("lead") else f"lead {name}"
