"""Static files of the dashboards: the stylesheet shipped here and plotly.js from the plotly package.

plotly.js is served from the installed plotly package, so it always matches the figures plotly
writes and never comes from the network.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import plotly

STATIC_DIR = Path(__file__).parent / "static"


def plotly_js_path() -> Path:
    """The minified plotly.js that ships with the installed plotly package."""
    return Path(plotly.__file__).parent / "package_data" / "plotly.min.js"


@cache
def plotly_js() -> str:
    """The text of plotly.js, for pages that must carry it inline."""
    return plotly_js_path().read_text("utf-8")


@cache
def stylesheet() -> str:
    """The dashboards' stylesheet."""
    return (STATIC_DIR / "dashboards.css").read_text("utf-8")
