"""Django's own account forms, dressed like the rest of the platform, and the form
for a new personal access token."""
from datetime import timedelta

from django import forms
from django.contrib.auth.forms import AuthenticationForm, UserCreationForm

from herocool_project.forms import StyledFormMixin

from .models import Token


class LoginForm(StyledFormMixin, AuthenticationForm):
    pass


class SignupForm(StyledFormMixin, UserCreationForm):
    """A name, an address (verified by a link: accounts/email_verification.py) and a
    password."""

    email = forms.EmailField(label="Email address", max_length=254,
                             help_text="For password resets and notices; we send a link "
                                       "to confirm it.")

    class Meta(UserCreationForm.Meta):
        fields = ["username", "email"]


class TokenForm(StyledFormMixin, forms.Form):
    """A new personal access token: a name to recognise it by, what it may do, how long
    it lives."""

    LIFETIMES = [(7, "7 days"), (30, "30 days"), (90, "90 days"), (365, "1 year")]

    name = forms.CharField(max_length=100, help_text="What it is for, e.g. ci-deploy.")
    scopes = forms.MultipleChoiceField(
        choices=Token.Scope.choices, widget=forms.CheckboxSelectMultiple,
        initial=[Token.Scope.READ],
        help_text="Every token can read; deploy and machines let it make changes.")
    days = forms.TypedChoiceField(choices=LIFETIMES, coerce=int, initial=30,
                                  label="Expires after")

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_name(self):
        name = self.cleaned_data["name"].strip()
        if self.user.tokens.filter(name=name, revoked_at=None).exists():
            raise forms.ValidationError(f"You already have a token named {name}.")
        return name

    def save(self):
        """(token, its text): the text is shown to the user once, never again."""
        scopes = {Token.Scope.READ, *self.cleaned_data["scopes"]}
        return Token.issue(self.user, self.cleaned_data["name"], scopes,
                           timedelta(days=self.cleaned_data["days"]))
