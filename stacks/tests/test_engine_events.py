"""What the engine reads from the event stream, without the CLI: the root stack's
outputs, the change counts, secrets noticed, and an unreadable event skipped."""
import json
from types import SimpleNamespace

from stacks import engine


def event(**body):
    return SimpleNamespace(event=json.dumps({"sequence": 1, "timestamp": 0, **body}))


def outputs_event(type_, outputs):
    step = {"op": "same", "urn": f"urn:pulumi:s::p::{type_}::n", "type": type_,
            "provider": "", "new": {"type": type_, "urn": "u", "custom": False,
                                    "delete": False, "id": "", "parent": "",
                                    "protect": False, "inputs": {}, "outputs": outputs,
                                    "provider": ""}}
    return event(resOutputsEvent={"metadata": step})


def test_outputs_come_from_the_root_stack_only_and_changes_from_the_summary():
    seen = engine._Events()  # noqa: SLF001
    servicer = engine._EventsServicer(seen)  # noqa: SLF001
    servicer.StreamEvents(iter([
        outputs_event("herocool:site:LocalSite", {"path": "/x"}),
        event(summaryEvent={"maybeCorrupt": False, "durationSeconds": 1,
                            "resourceChanges": {"create": 2}, "PolicyPacks": {}}),
        outputs_event("pulumi:pulumi:Stack", {"website_url": "http://a"}),
    ]), None)
    assert seen.outputs == {"website_url": "http://a"}
    assert seen.summary() == {"result": "succeeded", "changes": {"create": 2}}
    assert not seen.has_secrets()


def test_a_withheld_secret_is_noticed_and_a_bad_event_does_not_stop_the_stream():
    seen = engine._Events()  # noqa: SLF001
    withheld = {engine.SECRET_SIG: "1b47061264138c4ac30d75fd1eb44270", "ciphertext": "[secret]"}
    engine._EventsServicer(seen).StreamEvents(iter([  # noqa: SLF001
        SimpleNamespace(event="not json"),
        outputs_event("pulumi:pulumi:Stack", {"token": withheld}),
    ]), None)
    assert seen.has_secrets()
