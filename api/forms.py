"""The API access page's form: a new token's name and lifetime."""

from django import forms

EXPIRY_CHOICES = [(7, "7 days"), (30, "30 days"), (90, "90 days"), (365, "1 year")]


class TokenCreateForm(forms.Form):
    name = forms.CharField(
        max_length=64, help_text="What uses it, e.g. “lab import script”.", strip=True
    )
    expires_in_days = forms.TypedChoiceField(
        label="Valid for", choices=EXPIRY_CHOICES, coerce=int, initial=90
    )
