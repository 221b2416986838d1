"""One worker machine of the two-host test (stacks/tests/test_two_hosts.py): a real
`manage.py rqworker maintenance default` (so its host's queue too), with two changes of
programs only: an aws-target site deploys stacks/tests/echo_provider.py (no cloud), and
a local site whose page contains SLOW pauses after declaring its resources, so that the
engine holds the stack's lock while the test kills this worker."""
import os
import time

SLOW = "<!-- slow -->"


def main():
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "herocool_project.settings")
    django.setup()
    from django.core.management import call_command

    from sites.programs import aws, local
    from stacks.tests import echo_provider

    real_local = local.program

    def local_program(spec, **kwargs):
        declare = real_local(spec, **kwargs)
        if SLOW not in spec.index_html:  # the page, for a one-page site
            return declare

        def program():
            declare()
            time.sleep(60)

        return program

    aws.program = echo_provider.program
    local.program = local_program
    call_command("rqworker", "maintenance", "default")


if __name__ == "__main__":
    main()
