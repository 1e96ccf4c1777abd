"""numpy / plain data -> Plotly figures, one module per family. Never imports streamlit or
torch, so notebooks and tests use it directly: `nnviz.plots.feature_mosaic(maps)`."""
from .base import (DIVERGING, FONT, SEQUENTIAL, base_layout, box_average, colorbar_trace, heatmap, lut, palette,
                   palette_indices, rgb_image, side_by_side, to_png_uri, top_k_bar, value_range)
from .cnn import (LOSSLESS_PIXELS, MOSAIC_SIDE, MosaicLayout, architecture_strip, channel_order, class_evidence_bar,
                  encode_mosaic, feature_mosaic, filter_grid, mosaic_image, overlay)

__all__ = [
    "DIVERGING", "FONT", "LOSSLESS_PIXELS", "MOSAIC_SIDE", "MosaicLayout", "SEQUENTIAL", "architecture_strip",
    "class_evidence_bar",
    "base_layout", "box_average", "channel_order", "colorbar_trace", "encode_mosaic", "feature_mosaic", "filter_grid",
    "heatmap", "lut", "mosaic_image", "overlay", "palette", "palette_indices", "rgb_image", "side_by_side",
    "to_png_uri", "top_k_bar", "value_range",
]
from .conv import (PANEL_SIDE, conv_input_output, conv_step_figure, figure_bytes, fit_for_screen, image_trace,
                   kernel_figure, pool_step_figure, pool_views, signed_range)

__all__ += [
    "PANEL_SIDE", "conv_input_output", "conv_step_figure", "figure_bytes", "fit_for_screen", "image_trace",
    "kernel_figure", "pool_step_figure", "pool_views", "signed_range",
]
from .recurrent import (QUANTITIES, gradient_decay, next_char_bar, pattern_vs_unit, quantity_range, series_figure,
                        show_char, state_heatmap, text_html, unit_ranking, window_bounds)

__all__ += [
    "QUANTITIES", "gradient_decay", "next_char_bar", "pattern_vs_unit", "quantity_range", "series_figure", "show_char",
    "state_heatmap", "text_html", "unit_ranking", "window_bounds",
]
from .attention import (ATTENTION_SCALE, attention_comparison, attention_heatmap, cosine_by_layer, head_lines,
                        head_mosaic, labelled_heatmap, matrix_image, plot_text, positional_heatmap, positional_waves,
                        prob_table, query_steps, show_token, tick_font_size, token_bar, tokens_html, weighted_sum)

__all__ += [
    "ATTENTION_SCALE", "attention_comparison", "attention_heatmap", "cosine_by_layer", "head_lines", "head_mosaic",
    "labelled_heatmap", "matrix_image", "plot_text", "positional_heatmap", "positional_waves", "prob_table", "query_steps",
    "show_token", "tick_font_size", "token_bar", "tokens_html", "weighted_sum",
]
