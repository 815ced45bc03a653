from django import template

register = template.Library()


@register.filter
def pct(value) -> str:
    """0.9731 -> '97.3 %'; missing -> an en dash."""
    return "–" if value is None else f"{float(value) * 100:.1f} %"


@register.filter
def fixed3(value) -> str:
    return "–" if value is None else f"{float(value):.3f}"
