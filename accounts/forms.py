"""Django's own account forms, dressed like the rest of the platform."""
from django.contrib.auth.forms import AuthenticationForm, UserCreationForm

from herocool_project.forms import StyledFormMixin


class LoginForm(StyledFormMixin, AuthenticationForm):
    pass


class SignupForm(StyledFormMixin, UserCreationForm):
    pass
