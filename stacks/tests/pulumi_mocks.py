"""Pulumi's own unit-test mocks, set up the way the AWS program tests share.

Resource and invoke answers come from a subclass's `outputs(typ, name, inputs)` and
`answer(token, args)`; everything is recorded for the tests to inspect."""
import pulumi
from pulumi.runtime.mocks import MockMonitor
from pulumi.runtime.settings import set_root_resource


class RecordingMocks(pulumi.runtime.Mocks):
    """Records every resource and invoke; answers with plausible provider outputs."""

    def __init__(self):
        self.resources = []  # (type, name, inputs) in registration order
        self.calls = []  # (token, args)

    def outputs(self, typ, name, inputs):
        """(id, extra state) for a new resource; override per program."""
        return f"{typ.rsplit(':', 1)[-1]}-{name}", {}

    def answer(self, token, args):
        return {}

    def new_resource(self, args):
        self.resources.append((args.typ, args.name, args.inputs))
        resource_id, extra = self.outputs(args.typ, args.name, args.inputs)
        return resource_id, {**args.inputs, **extra}

    def call(self, args):
        self.calls.append((args.token, args.args))
        return self.answer(args.token, args.args)

    def all_of(self, typ):
        return [inputs for t, _, inputs in self.resources if t == typ]

    def only(self, typ):
        """The inputs of the single resource of type typ."""
        found = self.all_of(typ)
        assert len(found) == 1, f"expected one {typ}, got {len(found)}"
        return found[0]


class DependencyMonitor(MockMonitor):
    """The stock mock monitor, also keeping each resource's URN and dependency URNs."""

    def __init__(self, mocks):
        super().__init__(mocks)
        self.urns = {}
        self.dependencies = {}

    def RegisterResource(self, request):
        self.dependencies[request.name] = set(request.dependencies)
        response = super().RegisterResource(request)
        self.urns[request.name] = response.urn
        return response


def install(recorder):
    """Make `recorder` answer for Pulumi in this process, from a clean root stack
    (mocks and the root stack are process-global: nothing leaks between tests)."""
    set_root_resource(None)
    recorder.monitor = DependencyMonitor(recorder)
    pulumi.runtime.set_mocks(recorder, preview=False, monitor=recorder.monitor)
    return recorder


def deploy(program):
    """Run an inline program under the mocks; return the resolved stack exports."""
    exports = {}

    @pulumi.runtime.test
    def run():
        program()
        declared = pulumi.runtime.get_root_resource().outputs
        return pulumi.Output.all(**declared).apply(exports.update)

    run()  # returns only once every registration RPC has finished
    return exports
