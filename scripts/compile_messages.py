"""Compile the .po translation catalogues to .mo with polib (no GNU gettext needed).

``--check`` fails when a committed .mo is missing or differs from its .po (run by the test command).
Extract new strings with ``django-admin makemessages -l ru`` (needs GNU gettext), translate them in
the .po, then run this script."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import polib

ROOT = Path(__file__).resolve().parents[1] / "src" / "kopeck"


def main() -> int:
    check = "--check" in sys.argv
    stale = []
    for po_path in sorted(ROOT.rglob("*.po")):
        mo_path = po_path.with_suffix(".mo")
        po = polib.pofile(str(po_path))
        with tempfile.TemporaryDirectory() as tmp:
            fresh = Path(tmp) / "out.mo"
            po.save_as_mofile(str(fresh))
            data = fresh.read_bytes()
        if check:
            if not mo_path.exists() or mo_path.read_bytes() != data:
                stale.append(str(po_path))
        else:
            mo_path.write_bytes(data)
            print(f"compiled {mo_path.relative_to(ROOT.parent.parent)}")
    if stale:
        print("out of date .mo files (run: .venv/bin/python scripts/compile_messages.py):", *stale, sep="\n  ")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
