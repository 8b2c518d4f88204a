"""The signature-QC section of the compare report: whether each signature holds together."""

from __future__ import annotations

import pandas as pd

from ..errors import InputError
from ._html import esc, folded_list, paragraphs, section, table

#: Status -> background colour (Okabe-Ito blue, orange, light grey).
QC_COLORS = {"coherent": "#0072B2", "weak": "#E69F00", "not expressed": "#D9D9D9"}
_SHOWN = {
    "n_found": "genes found",
    "missing": "missing",
    "detection_rate": "detection rate",
    "coherence": "coherence",
    "coherence_random_median": "random median",
    "coherence_p": "p",
    "status": "status",
}
HOW_TO_READ = (
    "Coherence is the mean pairwise Spearman correlation of a signature's expressed genes "
    "across the observations; p compares it with random gene sets of the same size and "
    "expression level. 'coherent' (p <= 0.05): the genes vary together as a program in "
    "these data. 'weak': they do not co-vary more than random genes, so a verdict "
    "reflects individual genes rather than the program. 'not expressed': fewer than two "
    "genes are detected in 1% of the observations, or its genes are detected in under 1% "
    "on average, so the signature cannot be read here."
)


def qc_badge(status: str) -> str:
    """The QC status as a coloured label.

    Examples
    --------
    >>> qc_badge("weak")
    '<span class="verdict" style="background:#E69F00;color:#222">weak</span>'
    """
    color = QC_COLORS.get(status, "#ffffff")
    text = "#fff" if status == "coherent" else "#222"
    return f'<span class="verdict" style="background:{color};color:{text}">{esc(status)}</span>'


def qc_section(qc: pd.DataFrame) -> str:
    """An HTML section with the :func:`mekscore.tl.signature_qc` table and how to read it.

    Parameters
    ----------
    qc
        The table returned by :func:`mekscore.tl.signature_qc` (index: signature id).

    Examples
    --------
    >>> qc = pd.DataFrame(
    ...     {"n_found": [7], "missing": [""], "detection_rate": [0.08], "coherence": [0.34],
    ...      "coherence_random_median": [0.09], "coherence_p": [0.0099], "status": ["coherent"]},
    ...     index=pd.Index(["treg_core"], name="id"),
    ... )
    >>> html = qc_section(qc)
    >>> "Signature QC" in html and "treg_core" in html and "0.34" in html
    True
    """
    missing = [c for c in _SHOWN if c not in qc.columns]
    if missing:
        raise InputError(
            f"the QC table lacks column(s) {', '.join(missing)}; "
            "pass the table returned by mekscore.tl.signature_qc"
        )
    shown = qc[list(_SHOWN)].rename(columns=_SHOWN)
    shown.insert(0, "signature", qc.index.astype(str))
    formats = {"status": qc_badge, "missing": folded_list}
    return section("Signature QC", paragraphs([HOW_TO_READ]), table(shown, formats))
