"""Whole-slide scoring: read a slide at the model's resolution, mask background, cut a 96x96 grid,
score it through the same slot ring, executors and TTA as `hcd-edge score`, and write a
probability map, heatmap, QuPath GeoJSON and summary per slide.

    reader.py        open a slide: OpenSlide, or tifffile for flat / strip TIFFs (tiff_reader.py)
    resolution.py    which level to read and how much to resample (area averaging)
    grid.py          the patch grid (stride 32 from the level-0 origin) and its read blocks
    tissue.py        thumbnail, tissue mask, which grid patches hold tissue
    feed.py          patches cut from blocks in memory, normalized into the batch slots
                     (hcd_edge.decode.normalize_patches: native, the TIFF path's exact math)
    outputs.py       patches.csv, probability.npy, tissue.png, summary.json
    heatmap.py       heatmap.png;  geojson.py: tumour.geojson (QuPath annotations)
    run.py           one slide, many slides, slides.csv, --resume

OpenSlide, shapely and matplotlib are the `slide` extra: imported only when a slide is scored.
"""
