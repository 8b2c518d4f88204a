"""The ``mean`` method: direct numpy computation on real data, and PROGENy's mouse model."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import sparse

from mekscore import sig
from mekscore.errors import InputError
from mekscore.methods import GeneSet, get_method
from mekscore.methods.mean import mean

from .conftest import reference_path
from .test_methods_scanpy import PBMC_SETS, read_h5ad


@pytest.fixture(scope="module")
def pbmc():
    """Log-normalised PBMC 68k reduced: (CSR float32, the same as dense float64, var_names)."""
    adata = read_h5ad("pbmc68k_reduced_scanpy.h5ad").raw.to_adata()
    return adata.X, adata.X.toarray().astype(np.float64), adata.var_names


def signed_sets(var_names: pd.Index, *, weighted: bool) -> list[GeneSet]:
    """Real immune signatures, unsigned and signed (T vs myeloid, NK vs B), optionally weighted."""
    rng = np.random.default_rng(0)
    idx = {name: var_names.get_indexer(genes) for name, genes in PBMC_SETS.items()}
    pairs = [("T_12", None), ("myeloid_10", None), ("T_12", "myeloid_10"), ("NK_9", "B_3")]
    sets = []
    for up, down in pairs:
        up_idx = idx[up]
        down_idx = idx[down] if down else np.empty(0, dtype=np.int64)
        weights = {}
        if weighted:
            weights = {
                "up_weights": rng.uniform(0.2, 3.0, len(up_idx)),
                "down_weights": rng.uniform(0.2, 3.0, len(down_idx)),
            }
        sets.append(GeneSet(f"{up}-{down}", up=up_idx, down=down_idx, **weights))
    return sets


def direct(dense: np.ndarray, gs: GeneSet, normalize: str) -> np.ndarray:
    """The definition, written out with numpy on the densified matrix."""
    total = np.zeros(dense.shape[0])
    for idx, w, sign in ((gs.up, gs.up_weights, 1), (gs.down, gs.down_weights, -1)):
        if len(idx):
            w = np.ones(len(idx)) if w is None else w
            part = (dense[:, idx] * w).sum(axis=1)
            total += sign * (part / w.sum() if normalize == "mean" else part)
    return total


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("normalize", ["mean", "sum"])
def test_pbmc_matches_direct_numpy(pbmc, weighted, normalize):
    csr, dense, var_names = pbmc
    sets = signed_sets(var_names, weighted=weighted)
    expected = np.column_stack([direct(dense, gs, normalize) for gs in sets])
    for X in (csr, csr.toarray(), dense, sparse.csr_matrix(dense)):
        got = mean(X, sets, normalize=normalize)
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12)


def test_unweighted_mean_is_plain_mean_difference(pbmc):
    csr, dense, var_names = pbmc
    t, m = (var_names.get_indexer(PBMC_SETS[k]) for k in ("T_12", "myeloid_10"))
    got = mean(csr, [GeneSet("t", up=t, down=m)])[:, 0]
    np.testing.assert_allclose(got, dense[:, t].mean(1) - dense[:, m].mean(1), rtol=0, atol=1e-12)


def test_row_chunks_give_the_same_scores(pbmc):
    csr, _, var_names = pbmc
    sets = signed_sets(var_names, weighted=True)
    chunks = [mean(csr[i : i + 128], sets) for i in range(0, csr.shape[0], 128)]
    np.testing.assert_array_equal(np.vstack(chunks), mean(csr, sets))


def test_sparse_input_gives_a_dense_float64_array(pbmc):
    csr, _, var_names = pbmc
    got = mean(csr, signed_sets(var_names, weighted=False))
    assert isinstance(got, np.ndarray) and got.dtype == np.float64 and got.shape == (700, 4)


def test_set_without_genes_is_nan_and_missing_part_is_zero(pbmc):
    csr, dense, var_names = pbmc
    down_only = GeneSet("down", up=np.empty(0, np.int64), down=var_names.get_indexer(["LYZ"]))
    empty = GeneSet("empty", up=np.empty(0, np.int64))
    got = mean(csr, [down_only, empty])
    np.testing.assert_allclose(got[:, 0], -dense[:, var_names.get_loc("LYZ")], atol=1e-12)
    assert np.isnan(got[:, 1]).all()


@pytest.mark.parametrize(
    ("weights", "message"),
    [
        (np.array([1.0, 0.0, 2.0]), "weights must be finite and positive"),
        (np.array([1.0, np.nan, 2.0]), "weights must be finite and positive"),
        (np.array([1.0, 2.0]), "2 weights for 3 genes"),
    ],
)
def test_bad_weights(pbmc, weights, message):
    csr, _, var_names = pbmc
    gs = GeneSet("bad", up=var_names.get_indexer(PBMC_SETS["T_3"]), up_weights=weights)
    with pytest.raises(ValueError, match=f"signature 'bad': {message}"):
        mean(csr, [gs])


def test_bad_normalize(pbmc):
    csr, _, var_names = pbmc
    with pytest.raises(InputError, match="normalize='median' must be one of 'mean', 'sum'"):
        mean(csr, signed_sets(var_names, weighted=False), normalize="median")


def test_tl_score_front_door_matches_direct_numpy(pbmc):
    from anndata import AnnData

    from mekscore.tl import score

    csr, dense, var_names = pbmc
    adata = AnnData(X=csr, var=pd.DataFrame(index=var_names))
    spec = {"T_vs_myeloid": {"up": PBMC_SETS["T_12"], "down": PBMC_SETS["myeloid_10"]}}
    got = score(adata, signatures=spec, method="mean", inplace=False)["T_vs_myeloid"].to_numpy()
    t, m = (var_names.get_indexer(PBMC_SETS[k]) for k in ("T_12", "myeloid_10"))
    np.testing.assert_allclose(got, dense[:, t].mean(1) - dense[:, m].mean(1), rtol=0, atol=1e-12)


# --- PROGENy (METHODS.md section 8) -------------------------------------------------------


def progeny_mouse():
    """Mouse input (samples x genes), top-10 footprint sets and ``progeny(top=10, scale=TRUE)``."""
    expr = pd.read_csv(reference_path("progeny", "mouse_input.csv"), index_col=0).T
    expected = pd.read_csv(reference_path("progeny", "mouse_def_expected.csv"), index_col=0)
    model = pd.read_csv(reference_path("progeny", "progeny_mouse_model_full.tsv.gz"), sep="\t")
    # getModel(top=10): slice_min(p.value, n = 10) per pathway, ties kept
    top = pd.concat(
        group.nsmallest(10, "p.value", keep="all") for _, group in model.groupby("pathway")
    )
    top = top[top["gene"].isin(expr.columns)]  # progeny() uses the genes in common
    sets = []
    for pathway in expected.columns:
        rows = top[top["pathway"] == pathway]
        pos, neg = rows[rows["weight"] > 0], rows[rows["weight"] < 0]
        sets.append(
            GeneSet(
                pathway,
                up=expr.columns.get_indexer(pos["gene"]),
                down=expr.columns.get_indexer(neg["gene"]),
                up_weights=pos["weight"].to_numpy(),
                down_weights=-neg["weight"].to_numpy(),
            )
        )
    return expr, sets, expected


def zscale(scores: np.ndarray) -> np.ndarray:
    return (scores - scores.mean(axis=0)) / scores.std(axis=0, ddof=1)


@pytest.mark.contract
def test_progeny_mouse_weighted_sum_reproduces_progeny():
    expr, sets, expected = progeny_mouse()
    for X in (expr.to_numpy(), sparse.csr_matrix(expr.to_numpy())):
        got = zscale(mean(X, sets, normalize="sum"))
        np.testing.assert_allclose(got, expected.to_numpy(), rtol=0, atol=1e-8)


@pytest.mark.contract
def test_progeny_weighted_means_are_not_progeny():
    # up mean - down mean divides the two parts by different sums: for a pathway with
    # genes of both signs this is not an affine map of X^T W (one-signed ones still agree)
    expr, sets, expected = progeny_mouse()
    got = zscale(mean(expr.to_numpy(), sets, normalize="mean"))
    error = np.abs(got - expected.to_numpy()).max(axis=0)
    mixed = np.array([len(gs.up) > 0 and len(gs.down) > 0 for gs in sets])
    assert error[mixed].max() > 0.1
    np.testing.assert_array_less(error[~mixed], 1e-8)


def test_registered():
    method = get_method("mean")
    assert method.func is mean and method.row_wise and method.defaults == {"normalize": "mean"}


# --- the library's PROGENy MAPK footprint (signatures/progeny_mapk.yaml) -------------------

#: Symbols of PROGENy's human top-100 table that HGNC has since renamed (old -> approved).
PROGENY_RENAMED = {"CCDC53": "WASHC3", "KIAA1522": "NHSL3", "MPP6": "PALS2", "SDCCAG3": "ENTR1"}


def progeny_mapk_top10() -> list[str]:
    """PROGENy's top=10 MAPK genes: smallest p-values of the full model, as human symbols.

    The human full model is not staged; the mouse full model carries the human weights and
    p-values over to the orthologs, and the library's mouse map translates them back.
    """
    model = pd.read_csv(reference_path("progeny", "progeny_mouse_model_full.tsv.gz"), sep="\t")
    top = model[model["pathway"] == "MAPK"].nsmallest(10, "p.value", keep="all")["gene"]
    to_human = {m: h for h, ms in sig.get("progeny_mapk").mouse.items() for m in ms}
    return [to_human[m] for m in top]


@pytest.mark.contract
def test_library_progeny_mapk_reproduces_progeny_human_top10():
    from anndata import AnnData

    from mekscore.tl import score

    expr = pd.read_csv(reference_path("progeny", "human_input.csv"), index_col=0).T
    expected = pd.read_csv(reference_path("progeny", "human_def_expected.csv"), index_col=0)
    # progeny(top = 10) scores only its 10 best MAPK genes: keep those in the data and let
    # the library signature (100 genes) match them
    adata = AnnData(expr[progeny_mapk_top10()])
    got = score(
        adata,
        ["progeny_mapk"],
        method="mean",
        normalize="sum",
        log_normalize=False,
        inplace=False,
        min_genes=10,
    )["progeny_mapk"].to_numpy()
    np.testing.assert_allclose(zscale(got), expected["MAPK"].to_numpy(), rtol=0, atol=1e-9)


def test_library_progeny_mapk_is_the_human_top100_table():
    table = pd.read_csv(reference_path("progeny", "progeny_human_model_top100.tsv"), sep="\t")
    mapk = table.set_index("gene")["MAPK"]
    mapk = mapk[mapk != 0].rename(index=lambda g: PROGENY_RENAMED.get(g, g))
    footprint = sig.get("progeny_mapk")
    assert set(footprint.up) == set(mapk.index[mapk > 0])
    assert set(footprint.down) == set(mapk.index[mapk < 0])
    weights = pd.Series(dict(footprint.weights))[mapk.index]
    np.testing.assert_allclose(weights, mapk.abs(), rtol=1e-15)
    assert footprint.source["licence"].startswith("Apache-2.0")


#: Symbols of PROGENy's mouse top-100 table that MGI has since renamed (old -> current).
PROGENY_MOUSE_RENAMED = {"1700123L14Rik": "Nup50l", "C77080": "Nhsl3", "Mpp6": "Pals2"}


@pytest.mark.contract
def test_library_progeny_mapk_mouse_weights_are_progenys_mouse_weights():
    # a human gene with two mouse orthologs gives each half its weight, as PROGENy's mouse
    # table does (HMGA1 -> Hmga1, Hmga1b; NUP50, PBLD, PNP likewise)
    table = pd.read_csv(reference_path("progeny", "progeny_mouse_model_top100.tsv"), sep="\t")
    mapk = table.set_index("gene")["MAPK"]
    mapk = mapk[mapk != 0].rename(index=lambda g: PROGENY_MOUSE_RENAMED.get(g, g))
    up, down, weights = sig.get("progeny_mapk").for_species("mouse")
    signed = pd.Series({g: weights[g] for g in up} | {g: -weights[g] for g in down})
    common = signed.index.intersection(mapk.index)
    assert len(common) >= 95  # the rest: genes outside one of the two top-100 selections
    np.testing.assert_allclose(signed[common], mapk[common], rtol=1e-9)
    assert weights["Hmga1"] == weights["Hmga1b"] == sig.get("progeny_mapk").weights["HMGA1"] / 2
