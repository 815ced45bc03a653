from django import template
from django.urls import reverse

from pages.content import BY_CODE

register = template.Library()


@register.simple_tag
def class_page(code: str):
    """The info page content for a class code (None for an unknown code)."""
    return BY_CODE.get(code)


@register.simple_tag
def class_url(code: str) -> str:
    page = BY_CODE.get(code)
    return reverse("pages:class_info", args=[page.slug]) if page else reverse("pages:classes")
