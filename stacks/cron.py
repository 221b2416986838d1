"""Periodic jobs, run by `manage.py scheduler stacks/cron.py` (placeholder: none yet;
the sweep registers here with rq.cron.register(func, "default", interval=60))."""
