"""A real forking RQ worker for tests, whose local site programs pause after declaring
their resources: the engine then holds the stack's lock long enough for a test to cancel
the deployment or kill the job's processes mid-update. Only the timing is changed."""
import os
import time

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "herocool_project.settings")
django.setup()

from django.core.management import call_command  # noqa: E402

from sites.programs import local  # noqa: E402

real_program = local.program
pause = float(os.environ.get("HEROCOOL_TEST_PROGRAM_PAUSE", "60"))


def paused_program(spec, **kwargs):
    declare = real_program(spec, **kwargs)

    def program():
        declare()
        time.sleep(pause)

    return program


local.program = paused_program
call_command("rqworker", "maintenance", "default")
