"""Whole-slide scoring: read a slide at the model's resolution, mask background, cut a 96x96 grid,
score it through the same slot ring, executors and TTA as `hcd-edge score`, and write a
probability map, heatmap, QuPath GeoJSON and summary per slide.

    reader.py        open a slide: OpenSlide, or tifffile for flat / strip TIFFs (tiff_reader.py)
    resolution.py    which level to read and how much to resample (area averaging)
    grid.py          the patch grid (stride 32 from the level-0 origin) and its read blocks
    tissue.py        thumbnail, tissue mask, which grid patches hold tissue
    feed.py          blocks read ahead, patches cut in memory and normalized into the batch
                     slots (hcd_edge.decode.normalize_patches: the TIFF path's exact values)
    outputs.py       patches.csv, probability.npy, tissue.png, summary.json
    heatmap.py       heatmap.png;  geojson.py: tumour.geojson (QuPath annotations)
    scan.py          one slide: geometry, mask, grid through the pipeline, its output folder
    run.py           many slides, slides.csv, --resume (the library call: score_slides)
    synthetic.py     a generated slide for the demo, docs and tests
    deps.py          the `slide` extra, imported lazily with one clear message

OpenSlide, shapely and matplotlib are the `slide` extra: imported only when a slide is scored.
"""
