"""The `hcd-edge` command group; each subcommand's module is imported only when it runs."""

from __future__ import annotations

import importlib
import sys

import click

from hcd_edge import __version__

# command name -> "module:attribute"; modules import their heavy dependencies lazily too,
# so `hcd-edge --help` works on a machine with no onnxruntime, torch or TensorRT.
COMMANDS = {
    "synth": "hcd_edge.cli.synth:synth",
    "train": "hcd_edge.cli.train:train",
    "export": "hcd_edge.cli.export:export",
    "build-engine": "hcd_edge.cli.build_engine:build_engine",
    "inspect": "hcd_edge.cli.inspect:inspect_engine",
    "score": "hcd_edge.cli.score:score",
    "evaluate": "hcd_edge.cli.evaluate:evaluate",
    "split": "hcd_edge.cli.split:split",
    "slide": "hcd_edge.cli.slide:slide",
    "bench": "hcd_edge.cli.bench:bench",
    "doctor": "hcd_edge.cli.doctor:doctor",
    "watch": "hcd_edge.cli.watch:watch",
}


class LazyGroup(click.Group):
    """A click group that imports a subcommand's module only when that command is used."""

    def __init__(self, *args, lazy_commands: dict[str, str], **kwargs):
        super().__init__(*args, **kwargs)
        self.lazy_commands = lazy_commands

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode: bool = True,
             **extra):
        """Run the command; in standalone mode every error is one line on stderr and an exit code.

        Exit codes: 0 done, 1 error, 2 usage error, 3 some inputs failed (score), 130 Ctrl-C.
        """
        run = dict(args=args, prog_name=prog_name, complete_var=complete_var, **extra)
        if not standalone_mode:
            return super().main(standalone_mode=False, **run)
        from hcd_edge.cli.errors import exit_on_error

        try:
            code = super().main(standalone_mode=False, **run)
        except SystemExit:
            raise
        except BaseException as exc:  # noqa: BLE001 - every escape becomes one line + exit code
            code = exit_on_error(exc)
        sys.exit(code if isinstance(code, int) else 0)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy_commands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.lazy_commands:
            return super().get_command(ctx, cmd_name)
        module_name, attr = self.lazy_commands[cmd_name].split(":")
        command = getattr(importlib.import_module(module_name), attr)
        if not isinstance(command, click.Command):
            raise TypeError(f"{module_name}:{attr} is not a click command")
        return command

    def resolve_command(self, ctx: click.Context, args: list[str]):
        """As click's, with "did you mean" naming the closest commands for a typo."""
        name = args[0] if args else ""
        if name and not name.startswith("-") and self.get_command(ctx, name) is None:
            close = similar_commands(name, self.list_commands(ctx))
            hint = f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
            ctx.fail(f"No such command {name!r}.{hint}")
        return super().resolve_command(ctx, args)


def similar_commands(name: str, commands: list[str]) -> list[str]:
    """Commands that `name` is a prefix, extension or near-spelling of, closest first."""
    import difflib  # only on a mistyped command: kept out of every run's start-up

    related = [c for c in commands if c.startswith(name) or name.startswith(c)]
    close = difflib.get_close_matches(name, commands, n=2, cutoff=0.6)
    return list(dict.fromkeys(related + close))[:2]


@click.group(cls=LazyGroup, lazy_commands=COMMANDS, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="hcd-edge")
def main() -> None:
    """Score 96x96 H&E lymph-node patches for metastatic tumour on edge devices."""
