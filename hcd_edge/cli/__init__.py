"""The `hcd-edge` command group; each subcommand's module is imported only when it runs."""

from __future__ import annotations

import importlib

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
    "slide": "hcd_edge.cli.slide:slide",
    "bench": "hcd_edge.cli.bench:bench",
    "watch": "hcd_edge.cli.watch:watch",
}


class LazyGroup(click.Group):
    """A click group that imports a subcommand's module only when that command is used."""

    def __init__(self, *args, lazy_commands: dict[str, str], **kwargs):
        super().__init__(*args, **kwargs)
        self.lazy_commands = lazy_commands

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


@click.group(cls=LazyGroup, lazy_commands=COMMANDS, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="hcd-edge")
def main() -> None:
    """Score 96x96 H&E lymph-node patches for metastatic tumour on edge devices."""
