"""PDF of a document's HTML with WeasyPrint.

Cyrillic never depends on the host: DejaVu Sans (regular and bold, shipped in ``fonts/`` with its
licence) is declared by a stylesheet the renderer always adds, under its own family name, and the
:class:`BundledFontsOnly` URL fetcher serves those two files and refuses every other URL — no
network, no local files, no ``data:`` tricks — whatever a template asks for.
"""

from __future__ import annotations

import functools
import logging
from importlib import resources
from typing import Any, Final

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


class FetchRefused(ValueError):
    pass


@functools.cache
def font_bytes(name: str) -> bytes:
    if name not in FONT_FILES:
        raise FetchRefused(f"not a bundled font: {name!r}")
    return resources.files("kopeck.documents").joinpath("fonts", name).read_bytes()


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
