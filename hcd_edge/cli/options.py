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


threads_option = click.option(
    "--threads", type=click.IntRange(min=1), default=None,
    help="Worker threads (decoder and CPU inference). Default: all cores.",
)
