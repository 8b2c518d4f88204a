"""Regenerate the tables in README.md that are derived from the package.

``python scripts/update_readme.py`` rewrites them; ``--check`` exits 1 if README.md is stale.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from mekscore.methods import METHOD_NAMES, get_method
from mekscore.sig import load_library

README = Path(__file__).resolve().parents[1] / "README.md"


def _markdown(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell.replace("|", "/") for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def signature_table() -> str:
    """Markdown table of the bundled signatures."""
    rows = []
    for s in sorted(load_library().values(), key=lambda s: s.id):
        ref = s.source.get("doi") or f"PMID {s.source.get('pmid')}"
        n = f"{len(s.up)}" + (f" / {len(s.down)}" if s.down else "")
        source = f"{s.source['type']}: {s.source['citation']} ({ref})"
        rows.append([f"`{s.id}`", s.name, s.compartment, s.expected, n, source])
    return _markdown(
        ["id", "program", "compartment", "expected", "genes up / down", "source"], rows
    )


def method_table() -> str:
    """Markdown table of the scoring methods."""
    rows = []
    for name in METHOD_NAMES:
        m = get_method(name)
        defaults = ", ".join(f"{k}={v!r}" for k, v in m.defaults.items()) or "-"
        rows.append([f"`{name}`", defaults, m.data, m.reference, m.signed])
    return _markdown(["method", "defaults", "input", "matches", "down genes"], rows)


def render(text: str) -> str:
    """README text with every generated block replaced."""
    for tag, table in (("signatures", signature_table()), ("methods", method_table())):
        start, end = f"<!-- {tag}:start -->", f"<!-- {tag}:end -->"
        head, rest = text.split(start, 1)
        _, tail = rest.split(end, 1)
        text = f"{head}{start}\n{table}\n{end}{tail}"
    return text


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail if README.md is stale")
    args = parser.parse_args()
    current = README.read_text(encoding="utf-8")
    fresh = render(current)
    if args.check:
        if fresh != current:
            print("README.md is stale: run python scripts/update_readme.py", file=sys.stderr)
            return 1
        return 0
    README.write_text(fresh, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
