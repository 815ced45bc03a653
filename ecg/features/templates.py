"""Beat templates: a recording's beats grouped by morphology, for review one group at a time.

Each beat is described by a morphology vector (``morphology_vectors``): its band-passed window
from 200 ms before to 400 ms after the R peak, averaged in 12 ms bins, the window's median
subtracted -- amplitude is KEPT in mV, because a PVC differs from a normal beat by size as much
as by shape -- plus its QRS width (``context.qrs_widths``), weighted so that 40 ms of width
counts like a 0.1 mV difference in every bin. Distances between vectors are RMS differences
in mV.

Clustering (``group_vectors``), deterministic for a seed:

1. draw at most ``SAMPLE_MAX`` beats with ``numpy.random.default_rng(seed)`` (all of them in a
   short recording), cluster them by average-linkage agglomerative clustering on that distance
   and cut the tree at ``CUT_MV``: two groups whose beats differ on average by more than that
   stay apart;
2. each cluster's template is the median of its members' vectors; EVERY beat of the recording
   is then assigned to its nearest template (a 24-hour Holter's 100,000 beats cost one
   nearest-template pass, not a 100,000-beat clustering);
3. beats left further than ``CUT_MV`` from every template (a rare morphology the sample
   missed) are clustered the same way among themselves, once, and everything is assigned
   again;
4. groups of fewer than ``SMALL_GROUP`` beats (mostly noisy beats) join the nearest larger
   group when the two templates lie within ``MERGE_FACTOR * CUT_MV``; a rare morphology
   further away than that keeps its own card.

Identical beats have distance 0, so they always share a group.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ecg.features.context import qrs_widths

SPAN_S = (0.20, 0.40)  # the part of the beat window compared: P wave to the end of T
BIN_S = 0.012  # bin width of the morphology vector
QRS_WEIGHT_MV_PER_S = 2.5  # 40 ms of QRS width counts like 0.1 mV in every bin
CUT_MV = 0.18  # RMS distance (mV) at which the tree is cut; chosen on DS1 (docs/review.md)
SAMPLE_MAX = 2000  # beats clustered directly; the rest are assigned to the nearest template
SMALL_GROUP = 5  # groups of fewer beats join a larger group if close (``_merge_small``)
MERGE_FACTOR = 2.0
ASSIGN_BLOCK = 8192  # beats per block in the nearest-template pass (bounded memory)


@dataclass
class TemplateGroup:
    """One morphology group: its members (indices into the beats given), median beat (mV, on
    the window's time axis), size, share of the recording, the model's class mix inside it and
    the medoid (the member nearest the group's median vector: the beat a card shows first)."""

    index: np.ndarray
    median_beat: np.ndarray
    count: int
    share: float
    medoid: int
    class_mix: dict[str, float] = field(default_factory=dict)


def morphology_vectors(windows: np.ndarray, fs: float, r_index: int) -> np.ndarray:
    """Morphology vector of each beat window (n, samples; mV, band-passed; R peak at column
    ``r_index``): binned amplitudes (mV, window median removed) and the weighted QRS width."""
    windows = np.asarray(windows, dtype=np.float64)
    if windows.ndim != 2:
        raise ValueError("windows must be (n_beats, samples)")
    lo = max(0, r_index - int(round(SPAN_S[0] * fs)))
    hi = min(windows.shape[1], r_index + int(round(SPAN_S[1] * fs)))
    step = max(1, int(round(BIN_S * fs)))
    n_bins = (hi - lo) // step
    part = windows[:, lo : lo + n_bins * step]
    binned = part.reshape(len(windows), n_bins, step).mean(axis=2)
    binned -= np.median(windows, axis=1, keepdims=True)  # baseline: the window's median
    if len(windows):
        width = qrs_widths(windows, fs, r_index).astype(np.float64)
    else:
        width = np.zeros(0)
    # Scaled by sqrt(n_bins) so that the RMS over the vector weighs width like one full bin row.
    width_col = width * QRS_WEIGHT_MV_PER_S * np.sqrt(n_bins)
    return np.concatenate([binned, width_col[:, None]], axis=1)


def rms_distances(vectors: np.ndarray, templates: np.ndarray) -> np.ndarray:
    """RMS difference (mV) of every vector from every template, shape (n, k)."""
    sq = (
        (vectors**2).sum(axis=1)[:, None]
        + (templates**2).sum(axis=1)[None, :]
        - 2.0 * vectors @ templates.T
    )
    return np.sqrt(np.maximum(sq, 0.0) / vectors.shape[1])


def _cluster_templates(vectors: np.ndarray, cut: float) -> np.ndarray:
    """Templates (median vectors) of an average-linkage clustering cut at ``cut`` mV RMS."""
    if len(vectors) == 1:
        return vectors.copy()
    from scipy.cluster.hierarchy import fcluster, linkage

    # Euclidean distance divided by sqrt(dims) is the RMS distance: cut the tree in those units.
    tree = linkage(vectors, method="average", metric="euclidean")
    labels = fcluster(tree, t=cut * np.sqrt(vectors.shape[1]), criterion="distance")
    return np.stack([np.median(vectors[labels == k], axis=0) for k in np.unique(labels)])


def _nearest(vectors: np.ndarray, templates: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Nearest template of each vector and its RMS distance, block by block."""
    nearest = np.empty(len(vectors), dtype=np.int64)
    distance = np.empty(len(vectors))
    for lo in range(0, len(vectors), ASSIGN_BLOCK):
        d = rms_distances(vectors[lo : lo + ASSIGN_BLOCK], templates)
        nearest[lo : lo + ASSIGN_BLOCK] = d.argmin(axis=1)
        distance[lo : lo + ASSIGN_BLOCK] = d.min(axis=1)
    return nearest, distance


def _merge_small(vectors: np.ndarray, group: np.ndarray, cut: float) -> np.ndarray:
    """Groups under SMALL_GROUP beats joined to the nearest larger group when their templates
    lie within MERGE_FACTOR * cut of each other: noisy beats stop making a card each, while a
    rare morphology (a PVC lies several cuts from the normal beat) keeps its own."""
    used, counts = np.unique(group, return_counts=True)
    large = used[counts >= SMALL_GROUP]
    small = used[counts < SMALL_GROUP]
    if len(large) == 0 or len(small) == 0:
        return group
    centre = {g: np.median(vectors[group == g], axis=0) for g in used}
    large_t = np.stack([centre[g] for g in large])
    small_t = np.stack([centre[g] for g in small])
    d = rms_distances(small_t, large_t)
    target = dict(zip(small, large[d.argmin(axis=1)], strict=True))
    close = dict(zip(small, d.min(axis=1) <= MERGE_FACTOR * cut, strict=True))
    out = group.copy()
    for g in small:
        if close[g]:
            out[group == g] = target[g]
    return out


def _sample(n: int, size: int, rng: np.random.Generator) -> np.ndarray:
    return np.arange(n) if n <= size else np.sort(rng.choice(n, size=size, replace=False))


def cluster_vectors(
    vectors: np.ndarray, *, seed: int = 0, cut: float = CUT_MV, sample_max: int = SAMPLE_MAX
) -> np.ndarray:
    """Group number of every vector (0 = the largest group), by the module's procedure."""
    vectors = np.asarray(vectors, dtype=np.float64)
    n = len(vectors)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    rng = np.random.default_rng(seed)
    templates = _cluster_templates(vectors[_sample(n, sample_max, rng)], cut)
    nearest, distance = _nearest(vectors, templates)
    far = np.flatnonzero(distance > cut)
    if len(far):  # one more round for morphologies the sample missed
        extra = _cluster_templates(vectors[far[_sample(len(far), sample_max, rng)]], cut)
        templates = np.concatenate([templates, extra])
        nearest, _ = _nearest(vectors, templates)
    nearest = _merge_small(vectors, nearest, cut)
    # Renumber by size (largest first; ties by first member) so group 0 is the dominant beat.
    used, first, counts = np.unique(nearest, return_index=True, return_counts=True)
    order = np.lexsort((first, -counts))
    renumber = np.empty(templates.shape[0], dtype=np.int64)
    renumber[used[order]] = np.arange(len(used))
    return renumber[nearest]


def group_vectors(
    vectors: np.ndarray,
    *,
    labels: np.ndarray | None = None,
    classes: list[str] | None = None,
    beats: np.ndarray | None = None,
    seed: int = 0,
    cut: float = CUT_MV,
    sample_max: int = SAMPLE_MAX,
) -> list[TemplateGroup]:
    """Template groups of precomputed morphology vectors, largest first. ``labels``: the
    model's class index per beat (for the class mix, named by ``classes``); ``beats``: what the
    median beat is taken over (the windows; default the vectors themselves)."""
    vectors = np.asarray(vectors, dtype=np.float64)
    group = cluster_vectors(vectors, seed=seed, cut=cut, sample_max=sample_max)
    source = vectors if beats is None else np.asarray(beats, dtype=np.float64)
    out = []
    for g in range(int(group.max()) + 1 if len(group) else 0):
        members = np.flatnonzero(group == g)
        centre = np.median(vectors[members], axis=0)
        medoid = members[int(rms_distances(vectors[members], centre[None])[:, 0].argmin())]
        mix: dict[str, float] = {}
        if labels is not None:
            codes, counts = np.unique(np.asarray(labels)[members], return_counts=True)
            for code, count in zip(codes, counts, strict=True):
                name = classes[int(code)] if classes is not None else str(code)
                mix[name] = float(count / len(members))
        out.append(
            TemplateGroup(
                index=members,
                median_beat=np.median(source[members], axis=0),
                count=int(len(members)),
                share=float(len(members) / len(vectors)),
                medoid=int(medoid),
                class_mix=mix,
            )
        )
    return out


def group_beats(
    windows: np.ndarray,
    fs: float,
    r_index: int,
    *,
    labels: np.ndarray | None = None,
    classes: list[str] | None = None,
    seed: int = 0,
    cut: float = CUT_MV,
) -> list[TemplateGroup]:
    """Group a recording's beat windows (n, samples; mV, band-passed, R at ``r_index``) by
    morphology; each group's median beat is on the windows' own time axis, in mV."""
    vectors = morphology_vectors(windows, fs, r_index)
    return group_vectors(vectors, labels=labels, classes=classes, beats=windows, seed=seed, cut=cut)
