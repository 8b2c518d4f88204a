"""``tl.signature_qc``: whether each signature holds together as a program in a dataset."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
from anndata import AnnData
from scipy import sparse, stats

from ..errors import InputError
from ..genes import SignatureMatch, match_signatures
from ..io.checks import check_finite, check_not_empty, looks_scaled
from ..io.matrix import as_scorable
from ..methods import get_method
from ..sig import resolve
from ..sig.gmt import SignatureSpec
from ._execute import is_dask
from ._score import score_with
from ._settings import Matching, MatrixChoice, ScoreSettings, choose_matrix

#: Plain-words statuses, from best to worst.
STATUSES = ("coherent", "weak", "not expressed")
#: Columns of the :func:`signature_qc` table, in order.
QC_COLUMNS = [
    "n_genes",
    "n_found",
    "missing",
    "n_expressed",
    "detection_rate",
    "coherence",
    "coherence_random_median",
    "coherence_p",
    "score_gene_r",
    "status",
]


def signature_qc(  # noqa: PLR0913 - public keyword API, like scanpy.tl.score_genes
    adata: AnnData,
    signatures: SignatureSpec = "all",
    method: str = "ucell",
    *,
    layer: str | None = None,
    use_raw: bool = False,
    gene_symbols: str | None = None,
    species: str = "auto",
    aliases: bool = True,
    n_random: int = 100,
    seed: int = 0,
    max_obs: int = 10_000,
    min_detection: float = 0.01,
    alpha: float = 0.05,
    n_bins: int = 25,
) -> pd.DataFrame:
    """Check whether each signature behaves as a coherent program in ``adata``.

    A signature whose genes are not expressed, or do not vary together across the
    observations, gives a score that measures little in these data: read its verdict
    with care. For each signature:

    * ``n_genes``, ``n_found``, ``missing``: its genes, how many the data hold
      (matched as :func:`mekscore.genes.match_signatures` does), which are absent;
    * ``detection_rate``: the fraction of observations in which a gene is detected,
      averaged over the found genes (informative for single-cell data; bulk is usually
      1); ``n_expressed``: found genes detected in at least ``min_detection`` of them.
      Detected means non-zero; in scaled data (``sc.pp.scale``: negative values, genes
      centred on 0) a gene's zeros all became its minimum, so there it means above the
      gene's minimum;
    * ``coherence``: the mean pairwise Spearman correlation of the expressed genes
      across observations (cells, or samples for bulk data);
    * ``coherence_random_median`` and ``coherence_p``: the median coherence of
      ``n_random`` random gene sets of the same size drawn from the same
      mean-expression bins as the signature's genes, and the empirical p-value
      ``(1 + #random >= observed) / (1 + n_random)``;
    * ``score_gene_r``: the mean Spearman correlation of each expressed gene with the
      signature's ``method`` score (low: the score follows few of its genes);
    * ``status``: ``"not expressed"`` if fewer than 2 genes are expressed or the
      signature's ``detection_rate`` is below ``min_detection`` (its genes are mostly
      zeros, so a few cells drive any coherence); otherwise ``"coherent"`` if
      ``coherence_p <= alpha`` (the genes co-vary more than expression-matched random
      genes do), else ``"weak"``.

    Up and down genes are pooled: for a signed signature, down genes anti-correlate
    with up genes and lower the coherence. Sparse matrices stay sparse: at most
    ``max_obs`` evenly spaced observations are used, and only signature columns
    (a few at a time) are made dense.

    Parameters
    ----------
    adata
        Cells x genes or samples x genes; counts or log data (correlations are on ranks).
    signatures
        As for :func:`mekscore.tl.score`: ``"all"``, ids, a dict, a GMT path, ...
    method
        Scoring method for ``score_gene_r`` (see :func:`mekscore.tl.score`).
    layer, use_raw
        Use ``adata.layers[layer]`` or ``adata.raw`` instead of ``adata.X``.
    gene_symbols, species, aliases
        Gene matching, as in :func:`mekscore.tl.score`.
    n_random
        Random gene sets per signature for the p-value (at least 20).
    seed
        Seed of the random gene sets; equal arguments give equal tables.
    max_obs
        Observations used (evenly spaced); bounds time and memory on large data.
    min_detection
        Detection rate a gene needs to count as expressed.
    alpha
        Largest ``coherence_p`` called ``"coherent"``.
    n_bins
        Mean-expression bins for matching random genes.

    Returns
    -------
    One row per signature (index: signature id), columns :data:`QC_COLUMNS`.

    Examples
    --------
    >>> import mekscore as mk, scanpy as sc
    >>> adata = sc.datasets.pbmc68k_reduced()
    >>> qc = mk.tl.signature_qc(adata, "mhc2_presentation", use_raw=True, n_random=50)
    >>> int(qc.loc["mhc2_presentation", "n_found"]), qc.loc["mhc2_presentation", "status"]
    (9, 'coherent')
    """
    _check_options(n_random, max_obs, min_detection, alpha, n_bins)
    get_method(method)
    settings = ScoreSettings(
        matrix=MatrixChoice(layer=layer, use_raw=use_raw),
        matching=Matching(gene_symbols=gene_symbols, species=species, aliases=aliases),
    )
    matrix = choose_matrix(adata, settings.matrix)
    X = matrix.X
    check_not_empty(X)
    names = matrix.gene_names(gene_symbols)
    matches, _ = match_signatures(resolve(signatures), names, species, aliases=aliases)
    rows = evenly_spaced(X.shape[0], max_obs)
    sampled = X[rows]
    sampled = as_scorable(sampled.compute() if is_dask(sampled) else sampled)  # max_obs rows
    sub = _columns_ready(sampled)
    check_finite(sub)
    means = gene_means(sub)
    detection = detection_rates(sub, scaled=looks_scaled(sub))
    rng = np.random.default_rng(seed)
    observations = AnnData(sampled, var=matrix.var)  # the chosen matrix, these rows only
    scores = _scores(observations, matches, method, replace(settings, matrix=MatrixChoice()))
    ranked = RankedColumns(sub)
    test = _CoherenceTest(n_random, min_detection, alpha, n_bins)
    table = [_qc_row(m, ranked, means, detection, scores, rng=rng, test=test) for m in matches]
    return pd.DataFrame(table, index=pd.Index([m.signature.id for m in matches], name="id"))[
        QC_COLUMNS
    ]


def _check_options(n_random: int, max_obs: int, min_detection: float, alpha: float, n_bins: int):
    if int(n_random) < 20:
        raise InputError("{n_random=} is too few for a p-value; use at least 20", n_random=n_random)
    if int(max_obs) < 10:
        raise InputError("{max_obs=} is too few observations; use at least 10", max_obs=max_obs)
    if not 0 <= min_detection < 1:
        raise InputError("{min_detection=} must be in [0, 1)", min_detection=min_detection)
    if not 0 < alpha < 1:
        raise InputError("{alpha=} must be in (0, 1)", alpha=alpha)
    if int(n_bins) < 1:
        raise InputError("{n_bins=} must be at least 1", n_bins=n_bins)


def evenly_spaced(n: int, at_most: int) -> np.ndarray:
    """Indices of at most ``at_most`` evenly spaced rows out of ``n``.

    Examples
    --------
    >>> evenly_spaced(10, 4).tolist()
    [0, 3, 6, 9]
    """
    if n <= at_most:
        return np.arange(n)
    return np.unique(np.linspace(0, n - 1, at_most).round().astype(int))


def _columns_ready(X):
    """CSC for sparse input (cheap column extraction), the array otherwise."""
    return X.tocsc() if sparse.issparse(X) else X


def gene_means(X) -> np.ndarray:
    """Mean of each column in float64, without densifying a sparse matrix.

    Dense input is summed through the same sparse (CSR) path, so dense and sparse storage
    of the same values give bit-identical means and rank the genes identically.
    """
    X = X if sparse.issparse(X) else sparse.csr_matrix(X)
    return np.asarray(X.mean(axis=0, dtype=np.float64)).ravel()


def detection_rates(X, *, scaled: bool = False) -> np.ndarray:
    """Fraction of rows in which each column (gene) is detected (sparse stays sparse).

    Detected is non-zero; with ``scaled`` (genes centred and scaled, where every zero
    became the gene's minimum) it is above the column's minimum.

    Examples
    --------
    >>> X = np.array([[0.0, 1.0], [2.0, 0.0], [3.0, 0.0]])
    >>> detection_rates(X).tolist()
    [0.6666666666666666, 0.3333333333333333]
    >>> detection_rates((X - X.mean(0)) / X.std(0), scaled=True).tolist()
    [0.6666666666666666, 0.3333333333333333]
    """
    if scaled:
        dense = X.toarray() if sparse.issparse(X) else np.asarray(X)
        return np.mean(dense > dense.min(axis=0), axis=0)
    if sparse.issparse(X):
        nonzero = np.bincount(X.nonzero()[1], minlength=X.shape[1])
    else:
        nonzero = np.count_nonzero(X, axis=0)
    return nonzero / max(X.shape[0], 1)


def expression_bins(means: np.ndarray, n_bins: int = 25) -> np.ndarray:
    """Bin of each gene by mean expression: equal-sized quantile bins, 0 = lowest.

    Examples
    --------
    >>> expression_bins(np.array([0.1, 5.0, 0.2, 3.0]), n_bins=2).tolist()
    [0, 1, 0, 1]
    """
    order = np.argsort(np.argsort(means, kind="stable"), kind="stable")
    return (order * n_bins // max(len(means), 1)).astype(int)


def matched_random_sets(
    means: np.ndarray,
    members: Sequence[int],
    n_sets: int,
    *,
    seed: int | np.random.Generator = 0,
    n_bins: int = 25,
) -> np.ndarray:
    """Random gene sets matched to ``members`` in size and mean expression.

    Genes are binned by mean expression (:func:`expression_bins`); each random set
    draws, without replacement, as many genes from each bin as ``members`` has
    there, never a member itself. A bin too small for that draws from the whole
    non-member pool instead.

    Parameters
    ----------
    means
        Mean expression of every gene of the dataset.
    members
        Column indices of the signature's genes.
    n_sets
        Number of random sets.
    seed
        Seed or generator.
    n_bins
        Number of mean-expression bins.

    Returns
    -------
    ``n_sets x len(members)`` column indices.

    Examples
    --------
    >>> means = np.arange(100.0)
    >>> sets = matched_random_sets(means, [90, 95, 99], 5, n_bins=10)
    >>> sets.shape, bool((sets >= 90).all()), bool(np.isin(sets, [90, 95, 99]).any())
    ((5, 3), True, False)
    """
    rng = np.random.default_rng(seed)
    members = np.asarray(members, dtype=int)
    bins = expression_bins(np.asarray(means, dtype=float), n_bins)
    outside = np.ones(len(bins), dtype=bool)
    outside[members] = False
    wanted = pd.Series(bins[members]).value_counts()
    pools = {int(b): np.flatnonzero(outside & (bins == b)) for b in wanted.index}
    spare = np.flatnonzero(outside)
    if len(spare) < len(members):
        raise InputError(
            f"the data have {len(spare)} genes outside the signature, too few to draw "
            f"random sets of {len(members)}; use data with more genes"
        )
    out = np.empty((n_sets, len(members)), dtype=int)
    for i in range(n_sets):
        picks = [
            rng.choice(pools[b] if len(pools[b]) >= k else spare, size=k, replace=False)
            for b, k in wanted.items()
        ]
        chosen = np.concatenate(picks)
        if len(np.unique(chosen)) < len(chosen):  # a fallback draw overlapped a bin's draw
            chosen = rng.choice(spare, size=len(members), replace=False)
        out[i] = chosen
    return out


class RankedColumns:
    """Columns of a matrix as average ranks, ranked once each and kept as sparse as the data.

    Spearman's correlation is Pearson's on average ranks. In one column every zero
    has the same rank, and subtracting it leaves a vector that is zero wherever the
    column is zero, with the same correlations: so a column is ranked by sorting its
    non-zero values only, and kept as its non-zero entries. Ranks are cached, so a
    gene drawn into many random sets is ranked once.

    Examples
    --------
    >>> x = np.arange(10.0)
    >>> ranked = RankedColumns(np.column_stack([x, x**2, -x]))
    >>> float(ranked.coherence([0, 1, 2]))
    -0.3333333333333333
    """

    def __init__(self, X) -> None:
        self._X = X
        self._n = X.shape[0]
        self._cache: dict[int, tuple[np.ndarray, np.ndarray, bool]] = {}

    def coherence(self, cols) -> float:
        """Mean pairwise Spearman correlation of ``cols``; constant columns left out.

        NaN if fewer than two non-constant columns remain.
        """
        cols = [c for c in map(int, cols) if not self._column(c)[2]]
        if len(cols) < 2:
            return float("nan")
        S = self._block(cols)
        mean = S.mean(axis=0)
        cov = S.T @ S / self._n - np.outer(mean, mean)
        sd = np.sqrt(np.diag(cov))
        corr = cov / np.outer(sd, sd)
        return float(np.mean(corr[np.triu_indices_from(corr, k=1)]))

    def correlations(self, values: np.ndarray, cols) -> np.ndarray:
        """Spearman correlation of ``values`` (one per row) with each non-constant column."""
        cols = [c for c in map(int, cols) if not self._column(c)[2]]
        centred = stats.rankdata(values) - (self._n + 1) / 2
        S = self._block(cols)
        sd = np.sqrt(np.mean(S**2, axis=0) - S.mean(axis=0) ** 2)
        cov = S.T @ centred / self._n
        return cov / (sd * np.sqrt(np.mean(centred**2)))

    def _block(self, cols: list[int]) -> np.ndarray:
        """Observations x ``cols`` (a few signature columns, so dense is small and fast)."""
        block = np.zeros((self._n, len(cols)))
        for j, col in enumerate(cols):
            rows, values, _ = self._column(col)
            block[rows, j] = values
        return block

    def _column(self, col: int) -> tuple[np.ndarray, np.ndarray, bool]:
        """``(rows of non-zeros, their rank minus the zeros' rank, constant)``."""
        if col not in self._cache:
            rows, values = _nonzeros(self._X, col)
            ranks = stats.rankdata(values)
            n_zero = self._n - len(values)
            ranks[values > 0] += n_zero  # zeros rank above negatives, below positives
            zero_rank = np.sum(values < 0) + (n_zero + 1) / 2
            constant = len(values) == 0 or (n_zero == 0 and np.ptp(values) == 0)
            self._cache[col] = (rows, ranks - zero_rank, bool(constant))
        return self._cache[col]


def _nonzeros(X, col: int) -> tuple[np.ndarray, np.ndarray]:
    """Row indices and values of the non-zero entries of column ``col`` (CSC or dense)."""
    if sparse.issparse(X):
        start, stop = X.indptr[col], X.indptr[col + 1]
        rows, values = X.indices[start:stop], np.asarray(X.data[start:stop], dtype=float)
    else:
        values = np.asarray(X[:, col], dtype=float)
        rows = np.arange(len(values))
    keep = values != 0
    return rows[keep], values[keep]


def _scores(
    observations: AnnData, matches, method: str, settings: ScoreSettings
) -> pd.DataFrame | None:
    """Each signature's ``method`` score on the QC observations (NaN where not scorable)."""
    usable = [m.signature for m in matches if m.n_found >= 2]
    if not usable:
        return None
    settings = replace(settings, matching=replace(settings.matching, min_genes=2))
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="signature .* skipped")
        return score_with(observations, usable, method, settings).frames["score"]


@dataclass(frozen=True)
class _CoherenceTest:
    """How a signature's coherence is tested: against ``n_random`` matched random sets."""

    n_random: int
    min_detection: float
    alpha: float
    n_bins: int


def _qc_row(
    match: SignatureMatch,
    ranked: RankedColumns,
    means: np.ndarray,
    detection: np.ndarray,
    scores: pd.DataFrame | None,
    *,
    rng: np.random.Generator,
    test: _CoherenceTest,
) -> dict:
    """One signature's QC row."""
    cols = np.array(match.gene_set.up.tolist() + match.gene_set.down.tolist(), dtype=int)
    expressed = cols[detection[cols] >= test.min_detection] if len(cols) else cols
    rate = float(detection[cols].mean()) if len(cols) else 0.0
    row = {
        "n_genes": match.n_found + len(match.missing),
        "n_found": match.n_found,
        "missing": ", ".join(match.missing),
        "n_expressed": len(expressed),
        "detection_rate": rate,
        "coherence": np.nan,
        "coherence_random_median": np.nan,
        "coherence_p": np.nan,
        "score_gene_r": np.nan,
        "status": "not expressed",
    }
    if len(expressed) < 2:
        return row
    observed = ranked.coherence(expressed)
    random = np.array(
        [
            ranked.coherence(s)
            for s in matched_random_sets(
                means, expressed, test.n_random, seed=rng, n_bins=test.n_bins
            )
        ]
    )
    random = random[np.isfinite(random)]
    p = (1 + np.sum(random >= observed)) / (1 + len(random))
    row.update(
        coherence=observed,
        coherence_random_median=float(np.median(random)) if len(random) else np.nan,
        coherence_p=float(p),
        score_gene_r=_score_gene_r(ranked, expressed, scores, match.signature.id),
        status=_status(observed, p, test.alpha, detected=rate >= test.min_detection),
    )
    return row


def _status(coherence: float, p: float, alpha: float, *, detected: bool) -> str:
    """``coherent`` or ``weak`` by the coherence p-value, if the genes are detected at all."""
    if not detected:
        return "not expressed"
    return "coherent" if np.isfinite(coherence) and p <= alpha else "weak"


def _score_gene_r(
    ranked: RankedColumns, cols: np.ndarray, scores: pd.DataFrame | None, sig_id: str
) -> float:
    """Mean Spearman correlation of each gene with the signature's score."""
    if scores is None or sig_id not in scores:
        return float("nan")
    values = scores[sig_id].to_numpy(float)
    if not np.isfinite(values).all() or np.ptp(values) == 0:
        return float("nan")
    correlations = ranked.correlations(values, cols)
    return float(np.mean(correlations)) if len(correlations) else float("nan")
