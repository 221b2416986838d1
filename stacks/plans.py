"""Apply exactly what was previewed (issue #17): a preview saves Pulumi's update plan in
its summary (kept with its history); the update that applies it carries the preview's
code in its params (PLAN_OF) and runs `up` with that plan, so an update that would depart
from it (the resource or its inputs changed in between) fails, changing nothing the plan
did not allow."""
import re

from .models import Deployment

PLAN_OF = "_plan_of"
DEPARTURE = re.compile(r"violates plan|not allowed by the plan|by the plan", re.I)


def apply_params(preview):
    """The params of the update that applies `preview`: its changes, and its plan."""
    if not (preview.summary or {}).get("plan"):
        return preview.params
    return {**preview.params, PLAN_OF: str(preview.code)}


def approved_plan(deployment):
    """The plan (JSON text) this deployment must follow, or "" for none."""
    code = (deployment.params or {}).get(PLAN_OF)
    if not code:
        return ""
    preview = Deployment.objects.filter(
        code=code, action=Deployment.Action.PREVIEW,
        stack_name=deployment.stack_name).only("summary").first()
    return (preview.summary or {}).get("plan", "") if preview else ""


def departure(exc):
    """The engine's refusal, said for the user when the plan refused it."""
    from .engine import EngineError  # the web processes never import the engine

    if not DEPARTURE.search(str(exc)):
        return exc
    return EngineError(
        "This update departs from the plan you approved in its preview (the resource or "
        "its inputs changed since), so the engine stopped it; nothing the plan did not "
        f"allow was changed. Preview again to see what it would do now. ({exc})")
