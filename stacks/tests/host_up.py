"""`python stacks/tests/host_up.py STACK START_AT`: one host's `up` of a shared stack (the
two-host test runs two at once); prints succeeded or busy."""
import os
import sys
import time

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "herocool_project.settings")
django.setup()

import pulumi  # noqa: E402

from stacks import engine  # noqa: E402

PROJECT = "herocool-twohosts"


def program():
    pulumi.export("answer", os.environ["HEROCOOL_HOST"])
    time.sleep(4)


time.sleep(max(0.0, float(sys.argv[2]) - time.time()))
try:
    engine.up(PROJECT, sys.argv[1], program)
    print("succeeded")
except engine.StackBusy:
    print("busy")
