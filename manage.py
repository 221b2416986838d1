#!/usr/bin/env python
"""Django's command-line utility for administrative tasks."""
import os
import sys


def main():
    # Everything the platform writes (database, secrets, stacks, sites, VM disks, and
    # what the processes it starts write) is readable by its own account only.
    os.umask(0o077)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "herocool_project.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
