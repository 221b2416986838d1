"""Our create forms render through the shared Jinja2 renderer (issues #11, #13): the same
widgets, attributes, errors and CSRF token as Django's own renderer, only faster."""
import re

import pytest
from django.forms.renderers import DjangoTemplates
from django.urls import reverse

from herocool_project.form_renderer import RENDERER
from sites.forms import SiteCreateForm
from vms.forms import VmCreateForm

pytestmark = pytest.mark.django_db

BAD_SITE = {"name": "BAD NAME", "source": "url", "url": "ftp://x"}
BAD_VM = {"name": "BAD NAME", "instance_type": "nope", "allowed_cidr": "x"}


def _same_html(html):
    """Whitespace between tags and the spelling of a quote aside."""
    html = re.sub(r"\s+", " ", str(html).replace("&#34;", "&quot;"))
    return re.sub(r"> <", "><", html).strip()


def _fields(form):
    return {name: (_same_html(form[name]), list(form[name].errors)) for name in form.fields}


@pytest.mark.parametrize("make, data", [
    (lambda owner, **kw: SiteCreateForm(owner=owner, **kw), BAD_SITE),
    (lambda owner, **kw: VmCreateForm(owner=owner, client_ip="10.0.0.1", **kw), BAD_VM),
])
def test_jinja2_renders_the_same_fields_and_errors_as_django(alice, make, data):
    django_renderer = DjangoTemplates()
    for kwargs in ({}, {"data": data}):
        ours, theirs = make(alice, **kwargs), make(alice, renderer=django_renderer, **kwargs)
        assert ours.renderer is RENDERER
        if kwargs:
            assert not ours.is_valid() and not theirs.is_valid()
            assert "aria-invalid" in str(ours["name"])
        assert _fields(ours) == _fields(theirs)


def test_the_create_pages_keep_their_csrf_token_and_fields(client, alice):
    client.force_login(alice)
    for name, field in (("sites-create", 'name="html"'), ("vms-create", 'name="ssh_public_key"')):
        page = client.get(reverse(name)).content.decode()
        assert 'name="csrfmiddlewaretoken"' in page
        assert field in page and 'class="form-control' in page


def test_the_expiry_form_on_a_resource_page_renders_as_django_would(alice):
    from sites.models import Site
    from stacks.templatetags.cost import expiry_form

    site = Site.objects.create(owner=alice, name="blog")
    ours = expiry_form(site)
    theirs = type(ours)(resource=site, renderer=DjangoTemplates())
    assert ours.renderer is RENDERER
    assert _fields(ours) == _fields(theirs)
    assert _same_html(ours["expires_in"].label_tag()) == _same_html(
        theirs["expires_in"].label_tag())
