"""Build of the native TIFF decode-and-normalize extension; all metadata is in pyproject.toml."""

import glob
import os

from setuptools import Extension, setup


def native_extensions() -> list:
    """The hcd_edge._tiffdec extension from csrc/, unless HCD_EDGE_SKIP_NATIVE=1 asks for none."""
    if os.environ.get("HCD_EDGE_SKIP_NATIVE") == "1":
        # Explicit opt-out for machines without a C compiler: decode then uses tifffile.
        return []
    import numpy
    from Cython.Build import cythonize

    c_sources = sorted(glob.glob("csrc/*.c"))
    ext = Extension(
        "hcd_edge._tiffdec",
        sources=["csrc/_tiffdec.pyx", *c_sources],
        include_dirs=["csrc", numpy.get_include()],
        libraries=["z"],
        # No -march: the wheel must run on any x86-64 / aarch64 of its platform.
        extra_compile_args=["-O3", "-std=c11", "-Wall", "-Wextra", "-fno-strict-aliasing", "-pthread"],
        extra_link_args=["-pthread"],
        define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
    )
    # The generated C goes to build/, so csrc/ holds only hand-written code.
    return cythonize([ext], language_level=3, build_dir="build/cython",
                     compiler_directives={"boundscheck": False})


setup(ext_modules=native_extensions())
