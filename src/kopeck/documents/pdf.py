"""PDF of a document's HTML with WeasyPrint.

Cyrillic never depends on the host: DejaVu Sans (regular and bold, shipped in ``fonts/`` with its
licence) is declared by a stylesheet the renderer always adds, under its own family name, and the
:class:`BundledFontsOnly` URL fetcher serves those two files and refuses every other URL — no
network, no local files, no ``data:`` tricks — whatever a template asks for.

The fonts are served cut down, once per process, to the scripts documents are written in (Latin,
Greek, Cyrillic, punctuation, currency and other common signs: :data:`FONT_RANGES`), without
hinting (a PDF is drawn from outlines). WeasyPrint subsets the font of every PDF again to the glyphs
used, and that took three quarters of a render on the full fonts (6,000 glyphs, large layout
tables); on the cut-down ones it is a fraction.
"""

from __future__ import annotations

import functools
import io
import logging
from importlib import resources
from typing import Any, Final

from fontTools import subset  # type: ignore[import-untyped]
from fontTools.ttLib import TTFont  # type: ignore[import-untyped]
from weasyprint import CSS, HTML
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import URLFetcher, URLFetcherResponse

FONT_SCHEME: Final = "kopeck-font:"
FONT_FAMILY: Final = "Kopeck DejaVu Sans"
FONT_FILES: Final = ("DejaVuSans.ttf", "DejaVuSans-Bold.ttf")
FONT_CSS: Final = f"""
@font-face {{ font-family: "{FONT_FAMILY}"; font-weight: normal; src: url("{FONT_SCHEME}DejaVuSans.ttf"); }}
@font-face {{ font-family: "{FONT_FAMILY}"; font-weight: bold; src: url("{FONT_SCHEME}DejaVuSans-Bold.ttf"); }}
html, body, table, td, th, div, span, p {{ font-family: "{FONT_FAMILY}"; }}
"""

log = logging.getLogger("kopeck.documents")
# WeasyPrint warns on every render that it subsets fonts with fontTools (no HarfBuzz-Subset here).
logging.getLogger("weasyprint").setLevel(logging.ERROR)
logging.getLogger("fontTools.subset").setLevel(logging.ERROR)  # "FFTM NOT subset": a timestamp table


class FetchRefused(ValueError):
    pass


FONT_RANGES: Final = ((0x20, 0x7E), (0xA0, 0x24F), (0x370, 0x3FF), (0x400, 0x52F), (0x2000, 0x206F),
                      (0x20A0, 0x20CF), (0x2100, 0x215F), (0x2190, 0x21FF), (0x2200, 0x22FF), (0x25A0, 0x25FF))
"""Latin with its extensions, Greek, Cyrillic with its supplement, general punctuation, currency signs
(₽), letter-like symbols (№), arrows, mathematical operators (−, ×, ≤), geometric shapes."""


@functools.cache
def font_bytes(name: str) -> bytes:
    """The bundled font ``name`` cut down to :data:`FONT_RANGES` (once per process)."""
    if name not in FONT_FILES:
        raise FetchRefused(f"not a bundled font: {name!r}")
    font = TTFont(io.BytesIO(resources.files("kopeck.documents").joinpath("fonts", name).read_bytes()))
    options = subset.Options()
    options.layout_features = ["kern", "liga"]
    options.name_IDs = ["*"]  # keep the names (and the licence) of the font
    options.hinting = False
    options.notdef_outline = True
    cutter = subset.Subsetter(options)
    cutter.populate(unicodes=[code for first, last in FONT_RANGES for code in range(first, last + 1)])
    cutter.subset(font)
    out = io.BytesIO()
    font.save(out)
    return out.getvalue()


class BundledFontsOnly(URLFetcher):  # type: ignore[misc]
    """Serves ``kopeck-font:<file>`` from the bundled fonts; refuses everything else."""

    refused: list[str]

    def __init__(self) -> None:
        super().__init__(allowed_protocols=[], allow_redirects=False, fail_on_errors=False)
        self.refused = []

    def fetch(self, url: str, headers: Any = None) -> URLFetcherResponse:
        if url.startswith(FONT_SCHEME):
            return URLFetcherResponse(url, font_bytes(url[len(FONT_SCHEME):]), {"Content-Type": "font/ttf"})
        self.refused.append(url)
        raise FetchRefused(f"documents may not load external resources: {url[:200]!r}")


def html_to_pdf(html: str) -> bytes:
    """The PDF of ``html`` (A4 unless the template's CSS says otherwise)."""
    fetcher = BundledFontsOnly()
    fonts = FontConfiguration()  # @font-face rules apply only with a font configuration
    pdf = HTML(string=html, url_fetcher=fetcher, base_url="kopeck-document:/").write_pdf(
        stylesheets=[CSS(string=FONT_CSS, url_fetcher=fetcher, font_config=fonts)], font_config=fonts)
    if fetcher.refused:
        log.info("document PDF: refused %d external resource(s)", len(fetcher.refused))
    return bytes(pdf)
