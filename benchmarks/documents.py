"""Document PDF throughput: PDFs per second per core for each printed form.

Run: ``.venv/bin/python benchmarks/documents.py [--count 20] [--lines 2]``

Each form (the shipped Russian default templates, and the English invoice) is rendered from the
template editor's sample data (``--lines`` lines for the forms with lines): Jinja2 in the sandbox,
then WeasyPrint with the bundled fonts. One warm-up render per form, then ``--count`` renders; the
figures are per PDF as wall-clock and process CPU time (PDFs/s per core = 1 / CPU seconds per PDF,
the figure to compare on a busy machine). No database is touched.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kopeck.settings")
os.environ.setdefault("KOPECK_VAR_DIR", tempfile.mkdtemp(prefix="kopeck-bench-"))

import django

django.setup()

from kopeck.documents.data import sample_data  # noqa: E402
from kopeck.documents.models import TemplateForm  # noqa: E402
from kopeck.documents.pdf import html_to_pdf  # noqa: E402
from kopeck.documents.rendering import default_source, render_source  # noqa: E402


def with_lines(data: dict[str, Any], count: int) -> dict[str, Any]:
    """The sample data with its first line repeated up to ``count`` lines (totals as in the sample)."""
    lines = data.get("lines") or []
    if not lines or count <= len(lines):
        return data
    extra = [{**lines[0], "number": i + 1} for i in range(count)]
    return {**data, "lines": extra}


def measure(form: str, language: str, count: int, lines: int) -> dict[str, Any]:
    data = with_lines(sample_data(form, language), lines)
    source = default_source(form, language)
    size = len(html_to_pdf(render_source(source, data)))  # warm-up: fonts, template compilation
    wall0, cpu0 = time.perf_counter(), time.process_time()
    for _ in range(count):
        html_to_pdf(render_source(source, data))
    wall, cpu = (time.perf_counter() - wall0) / count, (time.process_time() - cpu0) / count
    return {"form": f"{form} ({language})", "lines": len(data.get("lines") or []), "wall_ms": wall * 1000,
            "cpu_ms": cpu * 1000, "per_core": 1 / cpu if cpu else float("inf"), "size": size}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=20, help="renders per form (after one warm-up)")
    parser.add_argument("--lines", type=int, default=2, help="lines of the forms that have lines")
    args = parser.parse_args()
    cases = [(f, "ru") for f in TemplateForm.values] + [(TemplateForm.INVOICE, "en")]
    print(f"Python {platform.python_version()}, {os.cpu_count()} CPU; {args.count} PDFs per form, "
          f"{args.lines} lines")
    print("| form | lines | PDFs/s per core (CPU) | CPU ms / PDF | wall ms / PDF | PDF size |")
    print("|---|---|---|---|---|---|")
    for form, language in cases:
        r = measure(form, language, args.count, args.lines)
        print(f"| {r['form']} | {r['lines']} | {r['per_core']:.1f} | {r['cpu_ms']:.0f} | {r['wall_ms']:.0f} | "
              f"{r['size'] / 1024:.0f} KiB |")


if __name__ == "__main__":
    main()
