"""Speed, memory and agreement of mekscore methods next to their reference packages.

Single-cell (100k cells x 20k genes, sparse, log-normalised): ucell vs pyucell,
scanpy vs per-signature ``sc.tl.score_genes``, mean vs one sparse ``X @ W``,
aucell vs ``decoupler.mt.aucell``. Bulk (500 samples x 20k genes, dense): ssgsea
vs ``gseapy.ssgsea``, gsva vs ``gseapy.gsva``.

    python benchmarks/bench_scoring.py            # full run, rewrites RESULTS.md section
    python benchmarks/bench_scoring.py --quick    # 10x fewer cells/samples (smoke run)
    python benchmarks/bench_scoring.py --only ucell
"""

from __future__ import annotations

import argparse
import json
import os
import time
import warnings
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import _util as U
import anndata as ad
import numba
import numpy as np
import pandas as pd
from scipy import sparse

import mekscore as mk
from mekscore.methods import GeneSet, get_method
from mekscore.methods._base import as_index


@dataclass
class Data:
    """Inputs shared by the tasks of one group (single-cell or bulk)."""

    adata: ad.AnnData
    sigs: dict[str, list[str]]

    @property
    def X(self):
        return self.adata.X

    def gene_sets(self) -> list[GeneSet]:
        pos = pd.Index(self.adata.var_names)
        return [GeneSet(k, up=as_index(pos.get_indexer(v))) for k, v in self.sigs.items()]

    def head(self, n: int = 300) -> Data:
        return Data(self.adata[:n].copy(), self.sigs)


@dataclass
class Task:
    """One side-by-side comparison."""

    name: str
    group: str
    method: str
    params: dict[str, Any]
    peer_label: str
    peer: Callable[[Data], pd.DataFrame]
    tolerance: float | None
    target: str
    target_ratio: float
    note: str = ""


# ---------------------------------------------------------------- peers


def pyucell_scores(d: Data) -> pd.DataFrame:
    import pyucell

    a = ad.AnnData(X=d.X, obs=pd.DataFrame(index=d.adata.obs_names), var=d.adata.var)
    pyucell.compute_ucell_scores(a, d.sigs, max_rank=1500, n_jobs=1)
    return _columns(a.obs, d.sigs, "{}_UCell")


def score_genes_loop(d: Data) -> pd.DataFrame:
    import scanpy as sc

    a = ad.AnnData(X=d.X, obs=pd.DataFrame(index=d.adata.obs_names), var=d.adata.var)
    for name, genes in d.sigs.items():
        sc.tl.score_genes(a, genes, score_name=name)
    return _columns(a.obs, d.sigs, "{}")


def sparse_product(d: Data) -> pd.DataFrame:
    W = _weights(d)
    return pd.DataFrame((d.X @ W).toarray(), index=d.adata.obs_names, columns=list(d.sigs))


def _weights(d: Data) -> sparse.csr_matrix:
    rows, cols, vals = [], [], []
    for j, gs in enumerate(d.gene_sets()):
        rows.append(gs.up)
        cols.append(np.full(gs.up.size, j))
        vals.append(np.full(gs.up.size, 1.0 / gs.up.size))
    shape = (d.X.shape[1], len(d.sigs))
    return sparse.csr_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape
    )


def decoupler_aucell(d: Data) -> pd.DataFrame:
    import decoupler as dc

    net = pd.DataFrame(
        [(name, g) for name, genes in d.sigs.items() for g in genes], columns=["source", "target"]
    )
    a = ad.AnnData(X=d.X, obs=pd.DataFrame(index=d.adata.obs_names), var=d.adata.var)
    dc.mt.aucell(a, net, tmin=1)
    return a.obsm["score_aucell"][list(d.sigs)]


def gseapy_ssgsea(d: Data) -> pd.DataFrame:
    import gseapy

    res = gseapy.ssgsea(
        data=_genes_by_samples(d),
        gene_sets=d.sigs,
        outdir=None,
        sample_norm_method="rank",
        correl_norm_type="rank",
        weight=0.25,
        min_size=1,
        max_size=100_000,
        permutation_num=0,
        no_plot=True,
        threads=1,
    )
    return _pivot(res.res2d, "ES", d)


def gseapy_gsva(d: Data) -> pd.DataFrame:
    import gseapy

    res = gseapy.gsva(
        data=_genes_by_samples(d),
        gene_sets=d.sigs,
        outdir=None,
        kcdf="Gaussian",
        weight=1.0,
        mx_diff=True,
        abs_rnk=False,
        min_size=1,
        max_size=100_000,
        threads=1,
    )
    return _pivot(res.res2d, "ES", d)


def _genes_by_samples(d: Data) -> pd.DataFrame:
    return pd.DataFrame(d.X.T, index=d.adata.var_names, columns=d.adata.obs_names)


def _pivot(res2d: pd.DataFrame, value: str, d: Data) -> pd.DataFrame:
    wide = res2d.pivot(index="Name", columns="Term", values=value).astype(float)
    return wide.loc[d.adata.obs_names, list(d.sigs)]


def _columns(obs: pd.DataFrame, sigs, pattern: str) -> pd.DataFrame:
    out = obs[[pattern.format(k) for k in sigs]].astype(float)
    out.columns = list(sigs)
    return out


TASKS = [
    Task(
        name="ucell",
        group="sc",
        method="ucell",
        params={"max_rank": 1500},
        peer_label="pyucell 0.8 (n_jobs=1)",
        peer=pyucell_scores,
        tolerance=1e-5,
        target="ratio >= 5 at equal scores",
        target_ratio=5.0,
        note="pyUCell ranks zeros at max_rank, UCell (and mekscore) at their average rank; "
        "identical here: every cell has <= 5,796 non-zeros, so its zeros rank >= 12,898",
    ),
    Task(
        name="scanpy",
        group="sc",
        method="scanpy",
        params={},
        peer_label="12 x sc.tl.score_genes",
        peer=score_genes_loop,
        tolerance=1e-6,
        target="ratio >= 10",
        target_ratio=10.0,
    ),
    Task(
        name="mean",
        group="sc",
        method="mean",
        params={},
        peer_label="one sparse X @ W",
        peer=sparse_product,
        tolerance=1e-6,
        target="ratio >= 1/3 (within 3x)",
        target_ratio=1 / 3,
        note="the kernel is the product itself (float32 X times float64 W, row chunks)",
    ),
    Task(
        name="aucell",
        group="sc",
        method="aucell",
        params={},
        peer_label="decoupler.mt.aucell",
        peer=decoupler_aucell,
        tolerance=None,
        target="ratio > 1",
        target_ratio=1.0,
        note="decoupler breaks ties by a seed-0 gene shuffle; scores differ where tied "
        "counts straddle the top-5% cut-off",
    ),
    Task(
        name="ssgsea",
        group="bulk",
        method="ssgsea",
        params={"normalize": False},
        peer_label="gseapy.ssgsea (threads=1), raw ES",
        peer=gseapy_ssgsea,
        tolerance=1e-6,
        target="ratio >= 20",
        target_ratio=20.0,
    ),
    Task(
        name="gsva",
        group="bulk",
        method="gsva",
        params={},
        peer_label="gseapy.gsva (threads=1)",
        peer=gseapy_gsva,
        tolerance=1e-6,
        target="ratio > 1",
        target_ratio=1.0,
        note="agreement is ~1e-10 except for a few entries (15 of 5,000 in a 100-sample "
        "check, up to 1.2e-4) where gseapy's Rust port and mekscore order near-tied CDF "
        "values differently; mekscore is tested against GSVA 1.46 itself",
    ),
]


# ---------------------------------------------------------------- data


def load(group: str, *, quick: bool) -> Data:
    scale = 10 if quick else 1
    if group == "sc":
        n = 100_000 // scale
        X = U.single_cell(n)
        sigs = U.sc_signatures()
    else:
        n = 500 // scale
        X = U.bulk(n)
        sigs = U.bulk_gene_sets()
    obs = pd.DataFrame(index=[f"{group}{i}" for i in range(n)])
    var = pd.DataFrame(index=U.gene_names(X.shape[1]))
    return Data(ad.AnnData(X=X, obs=obs, var=var), sigs)


# ---------------------------------------------------------------- running


def method_ready(name: str) -> bool:
    try:
        get_method(name)
    except ImportError:
        return False
    return True


def front_door(task: Task, d: Data) -> pd.DataFrame:
    return mk.tl.score(d.adata, d.sigs, method=task.method, inplace=False, **task.params)


def kernel(task: Task, d: Data, gene_sets: list[GeneSet]):
    meth = get_method(task.method)
    params = meth.params(task.params)
    out = meth.func(d.X, gene_sets, **params)
    score = out["score"] if isinstance(out, dict) else out
    return meth.finalize(score, params) if meth.finalize else score


@contextmanager
def one_numba_thread():
    """Limit numba's parallel loops to one thread (peers run with threads=1/n_jobs=1)."""
    before = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        yield
    finally:
        numba.set_num_threads(before)


def run_task(task: Task, d: Data, repeats: int, budget: float) -> dict[str, Any]:
    small = d.head()
    front_door(task, small)  # numba compilation and imports happen here, untimed
    task.peer(small)
    load = os.getloadavg()[0]
    print(f"[{task.name}] mekscore ...", flush=True)
    mine = U.measure(lambda: front_door(task, d), repeats, budget)
    gene_sets = d.gene_sets()
    kern = U.measure(lambda: kernel(task, d, gene_sets), repeats, budget)
    with one_numba_thread():
        kern1 = U.measure(lambda: kernel(task, d, gene_sets), repeats, budget)
    print(f"[{task.name}] peer: {task.peer_label} ...", flush=True)
    peer = U.measure(lambda: task.peer(d), repeats, budget)
    diff = np.abs(mine.result.to_numpy() - peer.result.loc[:, mine.result.columns].to_numpy())
    size = U.matrix_nbytes(d.X)
    ratio = peer.median / mine.median
    row = {
        "task": task.name,
        "shape": _shape(d.X),
        "mekscore_s": mine.median,
        "mekscore_runs": len(mine.times),
        "kernel_s": kern.median,
        "kernel_1thread_s": kern1.median,
        "peer": task.peer_label,
        "peer_s": peer.median,
        "peer_runs": len(peer.times),
        "ratio": ratio,
        "mek_peak": mine.peak,
        "peer_peak": peer.peak,
        "input_bytes": size,
        "max_abs_diff": float(np.nanmax(diff)),
        "mean_abs_diff": float(np.nanmean(diff)),
        "tolerance": task.tolerance,
        "speed_met": bool(ratio >= task.target_ratio),
        "equal": None if task.tolerance is None else bool(np.nanmax(diff) <= task.tolerance),
        "memory_met": bool(mine.peak <= 2 * size),
        "target": task.target,
        "note": task.note,
        "when": time.strftime("%Y-%m-%d %H:%M"),
        "load_before": load,
        "load_after": os.getloadavg()[0],
    }
    print(json.dumps(row), flush=True)
    return row


def _shape(X) -> str:
    kind = "sparse" if sparse.issparse(X) else "dense"
    return f"{X.shape[0]:,} x {X.shape[1]:,} {kind}"


def render(rows: dict[str, dict], *, quick: bool) -> str:
    header = [
        "task",
        "data",
        "mekscore (front door)",
        "kernel only (1 numba thread)",
        "peer",
        "peer time",
        "ratio peer/mekscore",
        "speed target",
        "mekscore peak mem / input",
        "peer peak mem",
        "max abs diff",
        "equal?",
        "load avg before/after",
    ]
    table = []
    for task in TASKS:
        r = rows.get(task.name)
        if r is None:
            missing = [task.name, "", "not run (method missing)", "", task.peer_label, ""]
            table.append([*missing, "", task.target, "", "", "", "", ""])
            continue
        table.append(
            [
                r["task"],
                r["shape"],
                f"{U.fmt_seconds(r['mekscore_s'])} (n={r['mekscore_runs']})",
                f"{U.fmt_seconds(r['kernel_s'])} ({_one_thread(r)})",
                r["peer"],
                f"{U.fmt_seconds(r['peer_s'])} (n={r['peer_runs']})",
                f"{r['ratio']:.2f}x",
                f"{r['target']}: **{'met' if r['speed_met'] else 'NOT met'}**",
                f"{U.fmt_bytes(r['mek_peak'])} / {U.fmt_bytes(r['input_bytes'])} = "
                f"{r['mek_peak'] / r['input_bytes']:.2f}x "
                f"({'met' if r['memory_met'] else 'NOT met'})",
                U.fmt_bytes(r["peer_peak"]),
                f"{r['max_abs_diff']:.2g} (mean {r['mean_abs_diff']:.2g})",
                _equal_text(r),
                _load_text(r),
            ]
        )
    notes = [f"- {t.name}: {t.note}" for t in TASKS if t.note]
    title = "## Scoring vs peers" + (" (quick smoke run, 10x smaller)" if quick else "")
    return "\n\n".join(
        [
            title,
            U.environment_md(),
            "Times are medians over n runs (fewer than 3 when one run exceeded the time budget), "
            "after an untimed warm-up on 300 rows (numba compilation). Peak memory is the RSS "
            "high-water mark of the first run minus RSS before it; input = data+indices+indptr "
            "(sparse) or the dense array. *Kernel only* calls `get_method(m).func(X, gene_sets)` "
            "directly (no gene matching, checks or DataFrame assembly); in brackets the same with "
            "`numba.set_num_threads(1)`. mekscore's kernels use numba `prange` over all cores "
            "(2 here) unless limited; the peers run single-process (pyucell `n_jobs=1`, gseapy "
            "`threads=1`) except decoupler's aucell, whose per-set numba loop is also parallel. "
            "The machine is shared with other engineers' test runs: the 1-minute load average "
            "before and after each task is shown (above ~1 the timings are disturbed; 2 cores).",
            U.md_table(header, table),
            "Notes:\n" + "\n".join(notes),
        ]
    )


def _one_thread(r: dict) -> str:
    return U.fmt_seconds(r["kernel_1thread_s"]) if "kernel_1thread_s" in r else "not run"


def _load_text(r: dict) -> str:
    if "load_before" not in r:
        return "not recorded"
    return f"{r['load_before']:.1f} / {r['load_after']:.1f}"


def _equal_text(r: dict) -> str:
    if r["equal"] is None:
        return "n/a (tie rule differs)"
    return f"{'yes' if r['equal'] else 'NO'} (tol {r['tolerance']:g})"


def main() -> None:
    U.fixed_malloc_thresholds()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10x fewer cells/samples")
    parser.add_argument("--only", action="append", help="task name (repeatable)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--budget", type=float, default=240.0, help="seconds per measurement")
    args = parser.parse_args()
    names = [t.name for t in TASKS]
    unknown = set(args.only or []) - set(names)
    if unknown:
        parser.error(f"unknown task(s) {sorted(unknown)}; choose from {', '.join(names)}")
    store = U.DATA_DIR / f"scoring_rows{'_quick' if args.quick else ''}.json"
    rows = json.loads(store.read_text()) if store.exists() else {}
    data: dict[str, Data] = {}
    for task in TASKS:
        if args.only and task.name not in args.only:
            continue
        if not method_ready(task.method):
            print(f"[{task.name}] skipped: mekscore method {task.method!r} not available yet")
            continue
        if task.group not in data:
            data[task.group] = load(task.group, quick=args.quick)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            rows[task.name] = run_task(task, data[task.group], args.repeats, args.budget)
        U.DATA_DIR.mkdir(exist_ok=True)
        store.write_text(json.dumps(rows, indent=1))
    U.write_section("scoring-quick" if args.quick else "scoring", render(rows, quick=args.quick))


if __name__ == "__main__":
    main()
