"""Forecasters trained on real daily series shipped in samples/: a stock price and a city's weather.

Both are the same one-step-ahead `SeriesLSTM` as `sunspots_lstm` (32 units; the series' training
mean and std travel as buffers in the weights), trained by `nnviz/training/forecast.py --series
stock|weather` on the part of the series before its first held-out date (`nnviz.forecast.SHIPPED`).

- `stock_lstm`: Microsoft's adjusted daily close, 2000-2010 trains it, 2011 to March 2013 is held
  out. A price is close to a random walk: this model does not beat repeating yesterday's price,
  which is what the view teaches.
- `weather_lstm`: Seattle's daily maximum temperature, 2012-2014 trains it, 2015 is held out.

Prices are modelled as values normalised on the training part (not as log returns): the view
draws and scores what the model predicts, in the series' own units, with the same model and
trainer as an uploaded CSV; Microsoft's held-out prices lie inside its training range, so no
extrapolation is asked of the model.
"""
from __future__ import annotations

from .recurrent import SERIES_CONFIG, SeriesLSTM
from .registry import register

FORECASTERS = {
    "stock_lstm": (("LSTM (32 units) forecasting Microsoft's daily closing price one trading day ahead "
                    "(Quandl WIKI, 2000-2013)"), "stock_msft.csv"),
    "weather_lstm": (("LSTM (32 units) forecasting Seattle's daily maximum temperature one day ahead "
                      "(NOAA, 2012-2015)"), "seattle_weather.csv"),
}

for _name, (_description, _example) in FORECASTERS.items():
    register(
        _name,
        family="recurrent",
        input_kind="series",
        trace="recurrent",
        description=_description,
        default_weights=f"shipped:{_name}.safetensors",
        config={"cell": "lstm", **SERIES_CONFIG},
        example=_example,
    )(SeriesLSTM)
