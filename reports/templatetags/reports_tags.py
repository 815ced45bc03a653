from django import template

from ecg.models.explain import READING_NOTE
from reports.selectors import heatmap_unavailable_reason

register = template.Library()


@register.inclusion_tag("reports/_prediction_explain.html")
def prediction_explanation(prediction):
    """The heat map block of the result page (the image itself is fetched, and computed the
    first time only, by the browser from the owner-only heat map view)."""
    return {
        "prediction": prediction,
        "reason": heatmap_unavailable_reason(prediction=prediction),
        "reading_note": READING_NOTE,
    }
