"""The records of the nine scoring methods: the one place their facts and defaults are written.

Declared without importing any kernel (or numpy), so help texts and lists derived
from them stay fast. Each kernel module reads its defaults from here and binds its
callables (``RECORDS[name].bind(...)``).
"""

from __future__ import annotations

from ._base import Method, Param

RECORDS: dict[str, Method] = {
    m.name: m
    for m in (
        Method(
            name="ucell",
            kind="rank",
            data="any",
            parameters=(
                Param("max_rank", 1500, "rank cap (R maxRank)", "int", low=2),
                Param("w_neg", 1.0, "weight of the down genes", "float", low=0),
                Param(
                    "missing_genes",
                    "skip",
                    "genes absent from the data: skip, or count them "
                    "at max_rank (impute, R UCell's default)",
                    "choice",
                    choices=("skip", "impute"),
                ),
            ),
            streaming="row-wise",
            standardises_genes=False,
            reference=(
                "R UCell >= 2.7.6 (Andreatta & Carmona 2021; its default missing_genes='impute' "
                "needs missing_genes='impute'); pyUCell 0.8 if zeros rank >= max_rank"
            ),
            signed="up and down genes scored separately: max(0, UCell(up) - w_neg * UCell(down))",
            default_for=("cells",),
            why_default=(
                "it ranks each cell's own genes, so depth, normalisation and dropout matter "
                "little and other cells never change a cell's score"
            ),
        ),
        Method(
            name="aucell",
            kind="rank",
            data="any",
            parameters=(
                Param(
                    "max_rank",
                    0.05,
                    "AUC threshold (R aucMaxRank): a fraction of the genes or a number of ranks",
                    "count_or_fraction",
                ),
            ),
            streaming="row-wise",
            standardises_genes=False,
            reference="R AUCell normAUC=TRUE (Aibar et al. 2017); decoupler.mt.aucell without ties",
            signed="up and down genes scored separately: AUC(up) - AUC(down)",
        ),
        Method(
            name="singscore",
            kind="rank",
            data="any",
            parameters=(
                Param(
                    "center",
                    default=True,
                    help="subtract 0.5 from the up and down scores",
                    type="bool",
                ),
            ),
            streaming="row-wise",
            standardises_genes=False,
            reference="R singscore simpleScore (Foroutan et al. 2018), tiesMethod='min'",
            signed=(
                "up and down genes scored separately: Total = Up + Down with "
                "Down = (1 - S_down) - 0.5"
            ),
        ),
        Method(
            name="ssgsea",
            kind="rank",
            data="any",
            parameters=(
                Param("alpha", 0.25, "exponent of the rank weights", "float", low=0),
                Param(
                    "normalize",
                    default=True,
                    help="divide by the score range over all samples and sets",
                    type="bool",
                ),
            ),
            streaming="row-wise",
            standardises_genes=False,
            reference="GSVA 1.46 method='ssgsea' (Barbie et al. 2009); gseapy.ssgsea without ties",
            signed=(
                "down genes scored as a separate set and subtracted: ES(up) - ES(down); "
                "weights ignored"
            ),
        ),
        Method(
            name="gsva",
            kind="standardised",
            data="log",
            parameters=(
                Param(
                    "kcdf",
                    "gaussian",
                    "gene density: gaussian (log data), poisson (counts) or none (empirical)",
                    "choice",
                    choices=("gaussian", "poisson", "none"),
                ),
                Param(
                    "max_diff",
                    default=True,
                    help="score max + min of the walk, not its extreme",
                    type="bool",
                ),
                Param(
                    "abs_ranking",
                    default=False,
                    help="with max_diff, score max - min",
                    type="bool",
                ),
                Param("tau", 1.0, "exponent of the in-set step weights", "float", low=0),
            ),
            streaming=None,
            standardises_genes=True,
            reference="Bioconductor GSVA 1.46 method='gsva' (Hänzelmann et al. 2013)",
            signed=(
                "down genes scored as a separate set and subtracted: ES(up) - ES(down); "
                "weights ignored"
            ),
        ),
        Method(
            name="zscore",
            kind="standardised",
            data="log",
            parameters=(),
            streaming="affine",
            standardises_genes=True,
            reference="GSVA 1.46 method='zscore' (Lee et al. 2008)",
            signed=(
                "down genes scored as a separate set and subtracted: z(up) - z(down); "
                "weights ignored"
            ),
        ),
        Method(
            name="plage",
            kind="standardised",
            data="log",
            parameters=(),
            streaming=None,
            standardises_genes=True,
            reference="GSVA 1.46 method='plage' (Tomfohr et al. 2005); sign fixed, see module docs",
            signed=(
                "down genes scored as a separate set and subtracted: plage(up) - plage(down); "
                "weights ignored"
            ),
        ),
        Method(
            name="scanpy",
            kind="standardised",
            data="log",
            parameters=(
                Param("ctrl_size", 50, "control genes per expression bin", "int", low=1),
                Param("n_bins", 25, "expression bins for the control genes", "int", low=2),
                Param(
                    "random_state",
                    0,
                    "seed of the control-gene draws",
                    "int",
                    low=0,
                    high=2**32 - 1,
                ),
            ),
            streaming="affine",
            standardises_genes=False,
            reference="scanpy 1.11.5 sc.tl.score_genes (Satija et al. 2015)",
            signed=(
                "up and down genes scored as separate score_genes calls (own control genes, "
                "same seed) and subtracted: score(up) - score(down); weights ignored"
            ),
        ),
        Method(
            name="mean",
            kind="standardised",
            data="log",
            parameters=(
                # ssGSEA's on/off --normalize owns the flag name on the command line
                Param(
                    "normalize",
                    "mean",
                    "mean: weighted mean per part; sum: weighted sums "
                    "(a linear model such as PROGENy)",
                    "choice",
                    choices=("mean", "sum"),
                    cli=False,
                ),
            ),
            streaming="row-wise",
            standardises_genes=False,
            reference=(
                "numpy weighted mean; PROGENy linear model (normalize='sum', Schubert et al. 2018)"
            ),
            signed="weighted mean of down genes subtracted from weighted mean of up genes",
            default_for=("samples",),
            why_default=(
                "it is the mean log-expression of the signature's genes, so effect sizes are in "
                "log-expression units; a sample's score never depends on other samples, and "
                "compare's calibration and power were measured with it"
            ),
        ),
    )
}
