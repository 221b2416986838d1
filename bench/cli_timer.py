"""Times each Pulumi CLI process the Automation API starts in this process, for the
measurement only: the SDK's `PulumiCommand.run` (every command) and its constructor
(the `pulumi version` check each workspace makes), wrapped while the timer is on."""
import time


def cli_subcommand(args):
    words = [a for a in args if not a.startswith("-")]
    if not words:
        return "?"
    return " ".join(words[:2]) if words[0] in ("stack", "config") else words[0]


class CliCallTimer:
    def __enter__(self):
        from pulumi.automation import _cmd

        self.cls = _cmd.PulumiCommand
        self.saved = {"run": self.cls.run, "__init__": self.cls.__init__}
        self.calls = []
        self.cls.run = self._wrap(self.saved["run"], lambda args: cli_subcommand(args[0]))
        self.cls.__init__ = self._wrap(self.saved["__init__"], lambda args: "version")
        return self

    def _wrap(self, real, name):
        calls = self.calls

        def timed(cmd, *args, **kwargs):
            t0 = time.perf_counter()
            try:
                return real(cmd, *args, **kwargs)
            finally:
                calls.append((name(args), time.perf_counter() - t0))

        return timed

    def __exit__(self, *exc):
        for attr, real in self.saved.items():
            setattr(self.cls, attr, real)

    def take(self):
        """Seconds per subcommand since the last take()."""
        out = {}
        for name, seconds in self.calls:
            out[name] = out.get(name, 0.0) + seconds
        self.calls.clear()
        return out
