from crispy_forms.helper import FormHelper
from crispy_forms.layout import Submit
from django import forms
from django.contrib.auth.forms import UserCreationForm
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError

# Not "a user with that username already exists": the same words for any name that cannot be
# used; together with the per-address sign-up throttle this slows probing for account names.
USERNAME_UNAVAILABLE = "This user name is not available. Please choose another."


class SignUpForm(UserCreationForm):
    """Django's sign-up form plus an e-mail address (needed for password reset)."""

    email = forms.EmailField(label="E-mail address", help_text="Used only to reset your password.")

    class Meta(UserCreationForm.Meta):
        model = User
        fields = ("username", "email")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.add_input(Submit("submit", "Create account"))

    def clean_username(self) -> str:
        username = self.cleaned_data.get("username")
        if username and User.objects.filter(username__iexact=username).exists():
            raise ValidationError(USERNAME_UNAVAILABLE, code="unavailable")
        return username

    def clean_email(self):
        # No "address already registered" error: it would tell anyone whether a person has an
        # account here (user enumeration). A second account on one address is harmless: a
        # password reset mails a link for each account on it.
        return self.cleaned_data["email"].strip().lower()
