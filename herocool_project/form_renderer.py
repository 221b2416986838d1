"""The renderer of the platform's own forms (issues #11, #13): Django's widget templates
in their Jinja2 versions, which render a field several times faster than the Django
template engine. One shared instance, so its engine (and its template cache) is built
once per process. Only our forms use it (`default_renderer`); the admin's widgets have
no Jinja2 templates and keep the global FORM_RENDERER.
"""
from django.forms.renderers import Jinja2

RENDERER = Jinja2()
