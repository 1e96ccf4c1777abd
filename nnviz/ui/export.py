"""Export for slides (issue 9): every figure's camera button saves a slide-sized PNG, and each page
offers a "lecture pack", one self-contained HTML file of the scene it shows.

Pages call `pack_button(title)` right after ui.page_setup(): it starts this run's record and puts the
download in the sidebar. Figures go through `chart` and coloured-text views through `html`, which draw
them and add them to the record, in page order. The pack is built only when the button is clicked
(a deferred download): plotly.js is 4.8 MB, too much to rebuild on every slider move.
"""
from __future__ import annotations

import html as _html
import re
from dataclasses import dataclass, field
from urllib.parse import urlencode

import plotly.io as pio
import plotly.offline
import streamlit as st

# A 16:9 PNG at scale 2: 960x540 CSS pixels give 1920x1080, with text as large relative to the slide
# as it is on a 1280x720 projector. Taller figures keep their height (never squeezed) and widen to 16:9.
SLIDE_W, SLIDE_H, SLIDE_SCALE = 960, 540, 2
RECORD_KEY = "_nnviz_pack"  # session_state: this run's Pack


@dataclass
class Pack:
    """What a page drew in one run: (kind, item) in order, kind "figure" (a Plotly figure) or "html"."""

    title: str
    query: str = ""
    items: list[tuple[str, object]] = field(default_factory=list)

    keys: list[str | None] = field(default_factory=list)  # the chart key of each item (html: None)

    @property
    def figures(self) -> list:
        return [x for kind, x in self.items if kind == "figure"]

    def put(self, kind: str, item, key: str | None = None) -> None:
        """Add an item; a chart drawn again under the same key (a fragment's rerun redraws only its
        own charts, and the record outlives it) replaces its earlier figure in place."""
        if key is not None and key in self.keys:
            self.items[self.keys.index(key)] = (kind, item)
            return
        self.items.append((kind, item))
        self.keys.append(key)


def slug(text: str, limit: int = 60) -> str:
    """A filename piece: tags and punctuation dropped, lower case, dashes."""
    text = re.sub(r"<[^>]+>", " ", str(text))
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:limit].strip("-")


def figure_title(fig) -> str:
    t = fig.layout.title.text if fig.layout.title is not None else None
    return t or ""


def image_options(fig, page: str = "", key: str = "") -> dict:
    """Plotly's toImageButtonOptions: a 16:9 PNG at scale 2, named after the page and the figure."""
    h = max(SLIDE_H, int(fig.layout.height or 0))
    name = "-".join(p for p in (slug(page, 30), slug(figure_title(fig)) or slug(key)) if p) or "nnviz-figure"
    return {"format": "png", "filename": name, "width": round(h * 16 / 9), "height": h, "scale": SLIDE_SCALE}


def current() -> Pack | None:
    """This run's record, or None where no page started one (a notebook, a widget test)."""
    return st.session_state.get(RECORD_KEY)


def _link() -> str:
    return urlencode(st.query_params.to_dict())


def chart(fig, *, key: str, where=None, **kwargs):
    """`(where or st).plotly_chart(fig, key=key, **kwargs)` with the slide-sized camera button, recorded
    for the lecture pack. Returns what plotly_chart returns (the selection event with on_select)."""
    pack = current()
    config = {**kwargs.pop("config", {})}
    config["toImageButtonOptions"] = {**image_options(fig, pack.title if pack else "", key),
                                      **config.get("toImageButtonOptions", {})}
    if pack is not None:
        pack.put("figure", fig, key)
        pack.query = _link()  # the link as of the latest figure: widgets drawn above are all known
    return (where or st).plotly_chart(fig, key=key, config=config, **kwargs)


def html(body: str, where=None, *, markdown: bool = False):
    """Draw a coloured-text / token view (st.html, or st.markdown when `markdown`), recorded for the pack."""
    pack = current()
    if pack is not None:
        pack.put("html", body)
    w = where or st
    return w.markdown(body, unsafe_allow_html=True) if markdown else w.html(body)


PACK_CSS = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 1200px; color: #111; }
.link { font-family: monospace; word-break: break-all; background: #f3f3f3; padding: .4rem .6rem; }
.item { margin: 2rem 0; page-break-inside: avoid; }
"""


def build_pack(title: str, query: str, items: list[tuple[str, object]]) -> str:
    """One self-contained HTML document: plotly.js inline once (in the head), then every item in order.
    Nothing is fetched: no CDN, no MathJax, fonts from the system."""
    parts = []
    for i, (kind, item) in enumerate(items):
        if kind == "figure":
            config = {"displaylogo": False, "toImageButtonOptions": image_options(item, title)}
            body = pio.to_html(item, full_html=False, include_plotlyjs=False, include_mathjax=False,
                               config=config, div_id=f"figure-{i}")
        else:
            body = str(item)
        parts.append(f'<section class="item">{body}</section>')
    link = f"?{query}" if query else "(the page's defaults: no query string)"
    return ("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">"
            f"<title>{_html.escape(title)}</title><style>{PACK_CSS}</style>"
            f'<script type="text/javascript">{plotly.offline.get_plotlyjs()}</script></head><body>'
            f"<h1>{_html.escape(title)}</h1><p>Link to this view:</p><p class=\"link\">{_html.escape(link)}</p>"
            + "\n".join(parts) + "</body></html>")


def pack_bytes(pack: Pack) -> bytes:
    return build_pack(pack.title, pack.query, pack.items).encode("utf-8")


def pack_button(title: str) -> Pack:
    """Start this run's record and offer it as a lecture pack in the sidebar. Call once per page,
    before anything is drawn through `chart` / `html`."""
    pack = Pack(title, _link())
    st.session_state[RECORD_KEY] = pack
    # Deferred: built from this run's record when clicked, after the run has drawn everything.
    st.sidebar.download_button("Lecture pack (HTML)", lambda: pack_bytes(pack), f"nnviz-{slug(title)}.html",
                               "text/html", key="lecture_pack", icon=":material/slideshow:", on_click="ignore",
                               help="This page's figures as one HTML file that opens offline, for slides.")
    return pack
