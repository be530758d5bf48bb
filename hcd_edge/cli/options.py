"""Options and parameter types shared by several hcd-edge commands."""

from __future__ import annotations

import math

import click


class FiniteFloatRange(click.FloatRange):
    """A FloatRange that also refuses nan and inf (a usage error, exit 2)."""

    def convert(self, value, param, ctx):
        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number", param, ctx)
        return number


class IntListType(click.ParamType):
    """A comma-separated list of positive integers, e.g. 1,8,64,256."""

    name = "N,N,..."

    def convert(self, value, param, ctx):
        if isinstance(value, tuple):
            return value
        try:
            numbers = tuple(int(v) for v in str(value).split(",") if v.strip())
        except ValueError:
            self.fail(f"{value!r} is not a comma-separated list of integers", param, ctx)
        if not numbers or any(n < 1 for n in numbers):
            self.fail(f"{value!r} must list positive integers", param, ctx)
        return numbers


# score, slide, evaluate and watch: the engine's optimal batch unless asked otherwise.
batch_option = click.option(
    "--batch", type=click.IntRange(min=1), default=None,
    help="Patches per batch [default: the engine's optimal batch, the OPT of its build-engine "
         "--batch MIN:OPT:MAX; 64 unless built otherwise].")

threads_option = click.option(
    "--threads", type=click.IntRange(min=1), default=None,
    help="Worker threads (decoder and CPU inference). Default: all cores.",
)


def ray_options(what: str):
    """--ray [ADDRESS] and --workers N, for a command that scores `what` on Ray workers."""

    def decorate(command):
        command = click.option(
            "--workers", type=click.IntRange(min=1), default=None,
            help="Ray workers [default: one per GPU of the cluster, else one per node].")(command)
        return click.option(
            "--ray", "ray_address", is_flag=False, flag_value="local", default=None,
            metavar="[ADDRESS]",
            help=f"Score {what} on Ray workers: alone, join or start a local Ray; with an address "
                 "(ray://head:10001), that cluster. Needs the ray extra.")(command)

    return decorate


def ray_request(address: str | None, workers: int | None):
    """The RayOptions of --ray/--workers, or None without --ray (--workers alone: usage error)."""
    if address is None:
        if workers is not None:
            raise click.UsageError("--workers needs --ray")
        return None
    from hcd_edge.distributed.pool import RayOptions

    return RayOptions(address=address, workers=workers)
