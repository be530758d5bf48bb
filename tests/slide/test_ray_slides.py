"""`slide --ray`: slides scored on two local Ray workers give the files of a local run."""

from __future__ import annotations

import pytest

from hcd_edge.distributed.pool import RayOptions
from tests.slide.slides import mosaic, tissue_patches, write_pyramid
from tests.slide.test_run import run

ray = pytest.importorskip("ray", reason="the ray extra is not installed")


@pytest.fixture(scope="module")
def local_ray():
    """One local Ray instance (2 CPUs) for the module."""
    ray.init(num_cpus=2, include_dashboard=False, logging_level="ERROR")
    yield
    ray.shutdown()


def test_two_workers_write_what_a_local_run_writes(local_ray, tmp_path, engine_dir, tissue_slide):
    good, _ = tissue_slide
    other = write_pyramid(tmp_path / "second.tif", mosaic(tissue_patches(6), cols=3)[0], mpp=0.972)
    bad = tmp_path / "notes.svs"
    bad.write_text("not a slide")
    inputs = (good, other, bad)
    local = run(tmp_path, engine_dir, *inputs, out="local")
    remote = run(tmp_path, engine_dir, *inputs, out="ray", ray=RayOptions(workers=2))
    assert [(o.name, o.ok) for o in remote.outcomes] == [(o.name, o.ok) for o in local.outcomes]
    assert [o.ok for o in remote.outcomes] == [True, True, False]
    for outcome in local.outcomes[:2]:
        for name in ("patches.csv", "probability.npy", "tumour.geojson"):
            here = tmp_path / "local" / outcome.name / name
            there = tmp_path / "ray" / outcome.name / name
            assert there.read_bytes() == here.read_bytes(), name
    assert (tmp_path / "ray" / "slides.csv").is_file()
