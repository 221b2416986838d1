"""base.html's links and assets, worked out once (issues #11, #13): the same URLs as
{% url %} and {% static %}, under any script prefix."""
from django.template import Context, Template
from django.templatetags.static import static
from django.urls import reverse, set_script_prefix

PAGE = Template("{% load herocool %}{% route 'sites-index' %} {% route 'vms-index' as v %}{{ v }} "
                "{% asset 'js/ui.js' %}")


def test_route_and_asset_give_what_url_and_static_give():
    try:
        for prefix in ("/", "/herocool/", "/"):
            set_script_prefix(prefix)
            assert PAGE.render(Context()).split() == [
                reverse("sites-index"), reverse("vms-index"), static("js/ui.js")]
            assert reverse("sites-index").startswith(prefix)
    finally:
        set_script_prefix("/")
