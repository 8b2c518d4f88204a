"""HTML building blocks: escaped tables, embedded PNG figures and the page shell."""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Callable, Iterable, Mapping

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from ..pl._style import VERDICT_COLORS

CSS = """
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 2em auto;
       max-width: 1300px; padding: 0 1em; color: #222; line-height: 1.45; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; } h2 { border-bottom: 1px solid #ddd;
     padding-bottom: 0.2em; margin-top: 2em; } h3 { margin-bottom: 0.3em; }
.meta { color: #666; font-size: 0.9em; }
table { border-collapse: collapse; font-size: 0.85em; margin: 0.5em 0 1em; }
th, td { border: 1px solid #ddd; padding: 0.25em 0.5em; text-align: left; vertical-align: top;
         max-width: 26em; overflow-wrap: break-word; }
.scroll { overflow-x: auto; max-width: 100%; }
td.prose, th.prose { min-width: 18em; max-width: 30em; white-space: normal; }
details summary { cursor: pointer; } details[open] summary { margin-bottom: 0.25em; }
h3.group, summary.group { font-size: 1em; font-weight: bold; margin: 0.8em 0 0.2em; }
.scroll th:first-child, .scroll td:first-child { position: sticky; left: 0; background: #fff;
         box-shadow: 1px 0 0 #ddd; } .scroll th:first-child { background: #f4f4f4; }
th { background: #f4f4f4; } td.num { text-align: right; font-variant-numeric: tabular-nums;
                              white-space: nowrap; }
ul.summary li { margin-bottom: 0.35em; }
.verdict { display: inline-block; padding: 0 0.4em; border-radius: 3px; white-space: nowrap; }
figure { margin: 1em 0; } figure img { max-width: 100%; height: auto; }
figcaption { color: #555; font-size: 0.85em; }
.grid { display: flex; flex-wrap: wrap; gap: 0.5em; } .grid figure { width: 340px; margin: 0; }
.note { background: #f8f8f8; border-left: 4px solid #bbb; padding: 0.5em 1em; }
"""

Formatter = Callable[[object], str]


def esc(value: object) -> str:
    """HTML-escaped text of ``value`` (quotes included)."""
    return html.escape(str(value), quote=True)


def fmt_number(value: object) -> str:
    """Numbers with three significant digits; missing values as an empty cell."""
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return ""
    if isinstance(value, (float, np.floating)):
        return f"{value:.3g}"
    return str(value)


def verdict_badge(verdict: str) -> str:
    """The verdict as a coloured label."""
    color = VERDICT_COLORS.get(verdict, "#ffffff")
    text = "#fff" if verdict in ("consistent", "opposite") else "#222"
    return f'<span class="verdict" style="background:{color};color:{text}">{esc(verdict)}</span>'


def table(
    frame: pd.DataFrame,
    formats: Mapping[str, Formatter] | None = None,
    prose: Iterable[str] = (),
) -> str:
    """An HTML table of ``frame`` (no index); cells are escaped unless a formatter is given.

    Formatters return HTML and must escape any text they take from the data. Columns
    in ``prose`` hold sentences: they keep a readable width (and wrap) however many
    columns the table has.

    Examples
    --------
    >>> table(pd.DataFrame({"a": ["<b>"]}))
    '<table><thead><tr><th>a</th></tr></thead><tbody><tr><td>&lt;b&gt;</td></tr></tbody></table>'
    """
    formats, prose = dict(formats or {}), set(prose)

    def attrs(column, *classes: str) -> str:
        names = " ".join([*classes, *(["prose"] if column in prose else [])])
        return f' class="{names}"' if names else ""

    head = "".join(f"<th{attrs(c)}>{esc(c)}</th>" for c in frame.columns)
    rows = []
    for values in frame.itertuples(index=False):
        cells = []
        for column, value in zip(frame.columns, values, strict=True):
            if column in formats:
                cells.append(f"<td{attrs(column)}>{formats[column](value)}</td>")
            elif isinstance(value, (int, float, np.number)) and not isinstance(value, bool):
                cells.append(f"<td{attrs(column, 'num')}>{esc(fmt_number(value))}</td>")
            else:
                cells.append(f"<td{attrs(column)}>{esc(fmt_number(value))}</td>")
        rows.append(f"<tr>{''.join(cells)}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def folded_list(items: str, shown: int = 8, sep: str = ", ") -> str:
    """A ``sep``-separated list as HTML, folded into ``<details>`` beyond ``shown`` items.

    Examples
    --------
    >>> folded_list("A, B")
    'A, B'
    >>> folded_list("A, B, C", shown=2)
    '<details><summary>3 genes: A, B, &hellip;</summary>A, B, C</details>'
    """
    parts = [p for p in str(items).split(sep) if p]
    if len(parts) <= shown:
        return esc(sep.join(parts))
    head = esc(sep.join(parts[:shown]))
    return (
        f"<details><summary>{len(parts)} genes: {head}, &hellip;</summary>"
        f"{esc(sep.join(parts))}</details>"
    )


def link(url: str, text: str) -> str:
    """An escaped link that opens in a new tab.

    Examples
    --------
    >>> link("https://doi.org/10.1/x", "doi:10.1/x")
    '<a href="https://doi.org/10.1/x" target="_blank" rel="noopener">doi:10.1/x</a>'
    """
    return f'<a href="{esc(url)}" target="_blank" rel="noopener">{esc(text)}</a>'


def scrolling(content: str) -> str:
    """``content`` (a wide table) in a box that scrolls sideways, first column kept in view."""
    return f'<div class="scroll">{content}</div>'


def png_uri(fig: Figure, dpi: int = 110) -> str:
    """The figure as a ``data:image/png;base64`` URI (rendered with Agg, no pyplot)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def figure(fig: Figure, alt: str, caption: str = "") -> str:
    """A ``<figure>`` with the PNG embedded and an escaped caption."""
    cap = f"<figcaption>{esc(caption)}</figcaption>" if caption else ""
    return f'<figure><img alt="{esc(alt)}" src="{png_uri(fig)}">{cap}</figure>'


def section(title: str, *parts: str, anchor: str = "") -> str:
    """An ``<h2>`` section holding already-built HTML ``parts`` (``anchor``: its id, to link)."""
    ident = f' id="{esc(anchor)}"' if anchor else ""
    return f"<section{ident}><h2>{esc(title)}</h2>{''.join(parts)}</section>"


def paragraphs(texts: Iterable[str], css_class: str = "") -> str:
    """Escaped ``<p>`` elements, optionally wrapped in a ``<div class=...>``."""
    body = "".join(f"<p>{esc(t)}</p>" for t in texts)
    return f'<div class="{esc(css_class)}">{body}</div>' if css_class else body


def page(title: str, subtitle: str, body: Iterable[str]) -> str:
    """The whole document: inline CSS, no external resources."""
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{esc(title)}</title><style>{CSS}</style></head><body>"
        f'<h1>{esc(title)}</h1><p class="meta">{esc(subtitle)}</p>'
        f"{''.join(body)}</body></html>\n"
    )
