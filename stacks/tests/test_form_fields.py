"""templates/form_fields.html, now written by Jinja2 (stacks/jinja2/herocool/form_fields.html),
gives the markup the Django template gave for every kind of field: radio, checkbox, text,
help, field errors and the form's own errors (issues #11, #13)."""
import re

import pytest
from django import forms
from django.template import Context, Template

from sites.forms import SiteCreateForm
from vms.forms import VmCreateForm

pytestmark = pytest.mark.django_db

# templates/form_fields.html as the Django template engine rendered it before.
DJANGO_FIELDS = Template('{# Every field with its label, help and errors tied to it: ids as Django\'s aria-describedby names them (<id>_helptext, <id>_error). #}\n{% if form.non_field_errors %}<div class="alert alert-danger" role="alert" id="form-errors">{% for e in form.non_field_errors %}{{ e }} {% endfor %}</div>{% endif %}\n{% for field in form %}{% with kind=field.field.widget.input_type help=field.help_text errors=field.errors id=field.auto_id %}\n{% if kind == \'radio\' %}\n<fieldset class="mb-3" id="field-{{ field.name }}" data-source-choice{% if help or errors %} aria-describedby="{% if help %}{{ id }}_helptext{% endif %}{% if errors %} {{ id }}_error{% endif %}"{% endif %}>\n  <legend class="form-label fs-6 mb-1">{{ field.label }}</legend>\n  {% for radio in field %}<div class="form-check form-check-inline">{{ radio.tag }}<label class="form-check-label" for="{{ radio.id_for_label }}">{{ radio.choice_label }}</label></div>{% endfor %}\n{% else %}\n<div class="mb-3" id="field-{{ field.name }}"{% if field.field.source %} data-source="{{ field.field.source }}"{% endif %}>\n  {% if kind == \'checkbox\' %}\n  <div class="form-check">{{ field }}<label class="form-check-label" for="{{ id }}">{{ field.label }}</label></div>\n  {% else %}\n  <label class="form-label" for="{{ id }}">{{ field.label }}</label>\n  {{ field }}\n  {% endif %}\n{% endif %}\n  {% if help %}<div class="form-text" id="{{ id }}_helptext">{{ help }}</div>{% endif %}\n  {% if errors %}<div class="invalid-feedback d-block" id="{{ id }}_error">{% for e in errors %}{{ e }}{% if not forloop.last %}<br>{% endif %}{% endfor %}</div>{% endif %}\n{% if kind == \'radio\' %}</fieldset>{% else %}</div>{% endif %}\n{% endwith %}{% endfor %}\n')
NOW = Template('{% include "form_fields.html" %}')


def _refuse(message):
    def validator(value):
        raise forms.ValidationError(message)
    return validator


class Everything(forms.Form):
    agree = forms.BooleanField(label="I <agree>", help_text="Tick it, it's needed")
    colour = forms.ChoiceField(choices=[("r", "Red & co"), ("g", "Green")],
                               widget=forms.RadioSelect, help_text="Pick one")
    note = forms.CharField(validators=[_refuse("Too <long>."), _refuse("And wrong.")])

    def clean(self):
        raise forms.ValidationError("Nothing <works> & that's that.")


def _same_html(html):
    html = html.replace("&#x27;", "&#39;")
    return re.sub(r"\s+", " ", re.sub(r">\s+<", "><", html)).strip()


@pytest.mark.parametrize("make", [
    lambda owner: Everything(),
    lambda owner: Everything(data={"colour": "x", "note": "long"}),
    lambda owner: SiteCreateForm(owner=owner),
    lambda owner: SiteCreateForm(owner=owner, data={"name": "BAD", "source": "url", "url": "x"}),
    lambda owner: VmCreateForm(owner=owner, client_ip="10.0.0.1", data={"name": "a b"}),
])
def test_the_fields_are_the_django_templates_fields(alice, make):
    form = make(alice)
    form.is_bound and form.is_valid()
    context = Context({"form": form})
    assert _same_html(NOW.render(context)) == _same_html(DJANGO_FIELDS.render(context))
