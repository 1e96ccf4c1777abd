"""numpy / plain data -> Plotly figures, one module per family. Never imports streamlit or
torch, so notebooks and tests use it directly: `nnviz.plots.feature_mosaic(maps)`."""
from .base import (DIVERGING, FONT, SEQUENTIAL, base_layout, colorbar_trace, colorize, heatmap, lut, palette,
                   palette_indices, rgb_image, side_by_side, to_png_uri, top_k_bar, value_range)
from .cnn import (LOSSLESS_PIXELS, MOSAIC_SIDE, MosaicLayout, architecture_strip, channel_order, encode_mosaic,
                  feature_mosaic, filter_grid, mosaic_image, overlay)

__all__ = [
    "DIVERGING", "FONT", "LOSSLESS_PIXELS", "MOSAIC_SIDE", "MosaicLayout", "SEQUENTIAL", "architecture_strip",
    "base_layout", "channel_order", "colorbar_trace", "colorize", "encode_mosaic", "feature_mosaic", "filter_grid",
    "heatmap", "lut", "mosaic_image", "overlay", "palette", "palette_indices", "rgb_image", "side_by_side",
    "to_png_uri", "top_k_bar", "value_range",
]
