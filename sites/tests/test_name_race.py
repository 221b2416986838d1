"""Two simultaneous creates with one name, on two real connections: one site, one form
error, never a 500 (the database's unique constraint decides; the form says so)."""
import threading

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from sites.forms import SiteCreateForm
from sites.models import Site


@pytest.mark.django_db(transaction=True)
def test_two_simultaneous_creates_with_one_name(alice, queue, monkeypatch):
    both_checked = threading.Barrier(2, timeout=20)
    check_name = SiteCreateForm.clean_name

    def clean_name_then_wait(form):
        name = check_name(form)
        if threading.current_thread() is not threading.main_thread():
            both_checked.wait()  # both requests have seen the name free
        return name

    monkeypatch.setattr(SiteCreateForm, "clean_name", clean_name_then_wait)
    answers = []

    def create():
        client = Client()
        client.force_login(alice)
        try:
            response = client.post(reverse("sites-create"),
                                   {"name": "twin", "source": "html", "html": "<p>x</p>"})
            answers.append((response.status_code, response.content.decode()))
        finally:
            connection.close()

    threads = [threading.Thread(target=create) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(status for status, _ in answers) == [200, 302]
    refused = next(page for status, page in answers if status == 200)
    assert "You already have a site named twin." in refused
    assert Site.objects.filter(name="twin").count() == 1
