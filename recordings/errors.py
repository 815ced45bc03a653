"""The recordings app's errors, each with its user message and HTTP status.

A recording file the parser refuses (``ecg.io`` ``RecordingFormatError``) is a form error: the
service turns it into Django's ``ValidationError`` (400) with the parser's sentence.
"""

from __future__ import annotations

from ecgsite.errors import ApplicationError
from ecgsite.model_registry import RecordingModelMissing


class RecordingModelUnavailable(ApplicationError, RecordingModelMissing):
    """No usable recording model is installed (also the model service's own error)."""

    status = 503
    code = "model_not_installed"
    message = "No recording model is installed."


class AnalysisNotDone(ApplicationError):
    """Results were asked of a recording whose analysis is queued, running or failed."""

    status = 409
    code = "analysis_not_done"


class CorrectionRefused(ApplicationError):
    """A correction that cannot be stored: unknown class, no beat, a beat not in the recording."""

    status = 400
    code = "invalid_correction"
    message = "This correction could not be stored."


class NothingToUndo(ApplicationError):
    """Undo was asked for, but no review action of this recording is left to undo."""

    status = 409
    code = "nothing_to_undo"
    message = "Nothing to undo: no correction, group relabel or re-classification is left."


class NothingToRedo(ApplicationError):
    """Redo was asked for, but no undo is left to redo (none yet, all redone, or a new
    correction, group relabel or re-classification came after the undos)."""

    status = 409
    code = "nothing_to_redo"
    message = "Nothing to redo: no undone action is left, or a new action came after the undo."


class ActionNotUndoable(ApplicationError):
    """ "Undo this action" was asked for an action it cannot undo: already undone, an undo
    (Redo takes it back), an older re-classification, or every beat changed again later."""

    status = 409
    code = "action_not_undoable"
    message = "This action cannot be undone alone."


class EpisodeVerdictRefused(ApplicationError):
    """An episode verdict or added episode that cannot be stored: unknown verdict or kind, a
    span that is not numbers, ends before it starts or lies outside the recording, a note too
    long, a verdict already withdrawn."""

    status = 400
    code = "invalid_episode_verdict"
    message = "This episode verdict could not be stored."


class EpisodeNotFound(ApplicationError):
    """A verdict named an episode that is not in the recording's episodes now (recounted since
    the page was shown, or never there)."""

    status = 409
    code = "episode_not_found"
    message = (
        "No episode of this kind with this start and end: the events may have been recounted "
        "since this page was shown. Reload it; nothing was saved."
    )
