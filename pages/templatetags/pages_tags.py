from django import template

from pages.content import BY_CODE

register = template.Library()


@register.filter
def pct(value) -> str:
    """0.9731 -> '97.3 %'; missing -> an en dash."""
    return "–" if value is None else f"{float(value) * 100:.1f} %"


@register.filter
def fixed3(value) -> str:
    return "–" if value is None else f"{float(value):.3f}"


@register.simple_tag
def class_page(code: str):
    """The info page content for a class code (None for an unknown code): pages owns the
    class pages, other apps' templates show them through this tag."""
    return BY_CODE.get(code)
