"""Forms of the team pages (issue #18)."""
from django import forms

from herocool_project.forms import StyledFormMixin

from .team_models import Role, Team


class TeamForm(StyledFormMixin, forms.ModelForm):
    class Meta:
        model = Team
        fields = ["name"]
        help_texts = {"name": "You become its first admin."}


class InviteForm(StyledFormMixin, forms.Form):
    email = forms.EmailField(help_text="They accept by signing in with this address, "
                                       "confirmed.")
    role = forms.ChoiceField(choices=Role.choices, initial=Role.VIEWER)


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices)
