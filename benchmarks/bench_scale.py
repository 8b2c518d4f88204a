"""Atlas scale: score backed .h5ad files chunk by chunk, and Dask arrays on a LocalCluster.

Writes seeded 50k / 100k / 300k-cell x 20k-gene sparse .h5ad files under
``benchmarks/_data/`` (chunk by chunk, never holding the 300k matrix in memory), then

1. backed: ``tl.score(read_h5ad(path, backed="r"), method="ucell", chunk_size=20000)``:
   time and peak RSS against the on-disk matrix size;
2. the 50k backed scores against the in-memory scores (max |diff|);
3. Dask: ``read_elem_lazy(X, chunks=(20000, -1))`` scored under a
   ``distributed.LocalCluster`` with 1 and with 2 workers (threads_per_worker=1).

With ``--compare N [N ...]``, only the atlas-scale comparison instead: a simulated
study of N cells (16 samples, 8 per arm, 8 cell types, raw counts in ``X``) opened
with ``mekscore.io.backed.open_backed``, timed and measured for ``tl.score`` (ucell,
counts normalised chunk by chunk) and ``tl.compare`` on the mean and pseudobulk paths.

    python benchmarks/bench_scale.py [--quick] [--method ucell]
    python benchmarks/bench_scale.py --compare 300000
"""

from __future__ import annotations

import argparse
import json
import os
import time
import warnings
from pathlib import Path

import _util as U
import anndata as ad
import h5py
import numpy as np
import pandas as pd
from anndata.experimental import read_elem_lazy

import mekscore as mk

CHUNK = 20_000


def write_h5ad(path: Path, n_cells: int, n_genes: int = 20_000) -> None:
    """Stream seeded cells into a CSR ``.h5ad`` one block at a time."""
    if path.exists():
        return
    tmp = path.with_suffix(".partial")
    with h5py.File(tmp, "w") as f:
        f.attrs["encoding-type"] = "anndata"
        f.attrs["encoding-version"] = "0.1.0"
        ad.io.write_elem(f, "obs", pd.DataFrame(index=[f"c{i}" for i in range(n_cells)]))
        ad.io.write_elem(f, "var", pd.DataFrame(index=U.gene_names(n_genes)))
        blocks = U.single_cell_chunks(n_cells, n_genes, seed=0, chunk=CHUNK // 4)
        ad.io.write_elem(f, "X", next(blocks))
        X = ad.io.sparse_dataset(f["X"])
        for block in blocks:
            X.append(block)
    tmp.rename(path)


def on_disk_bytes(path: Path) -> int:
    with h5py.File(path) as f:
        return sum(f["X"][k].size * f["X"][k].dtype.itemsize for k in ("data", "indices", "indptr"))


def score_backed(path: Path, sigs, method: str) -> pd.DataFrame:
    backed = ad.read_h5ad(path, backed="r")
    try:
        return mk.tl.score(backed, sigs, method=method, inplace=False, chunk_size=CHUNK)
    finally:
        backed.file.close()


def lazy_adata(path: Path) -> ad.AnnData:
    with h5py.File(path) as f:
        obs = ad.io.read_elem(f["obs"])
        var = ad.io.read_elem(f["var"])
    X = read_elem_lazy(h5py.File(path)["X"], chunks=(CHUNK, -1))
    return ad.AnnData(X=X, obs=obs, var=var)


def score_dask(path: Path, warm: Path, sigs, method: str, n_workers: int) -> float:
    import distributed

    with (
        distributed.LocalCluster(
            n_workers=n_workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            env={"NUMBA_NUM_THREADS": "1"},  # one core per worker: no numba prange threads
        ) as cluster,
        distributed.Client(cluster),
    ):
        mk.tl.score(lazy_adata(warm), sigs, method=method, inplace=False)  # warm the workers
        t0 = time.perf_counter()
        mk.tl.score(lazy_adata(path), sigs, method=method, inplace=False)
        return time.perf_counter() - t0


def backed_rows(sizes, sigs, method, repeats) -> list[dict]:
    rows = []
    for n in sizes:
        path = U.DATA_DIR / f"cells_{n}.h5ad"
        write_h5ad(path, n)
        score_backed(U.DATA_DIR / f"cells_{sizes[0]}.h5ad", sigs, method)  # warm-up
        load = os.getloadavg()[0]
        m = U.measure(lambda p=path: score_backed(p, sigs, method), repeats)
        rows.append(
            {
                "cells": n,
                "seconds": m.median,
                "runs": len(m.times),
                "peak": m.peak,
                "matrix": on_disk_bytes(path),
                "load": load,
            }
        )
        print(json.dumps(rows[-1]), flush=True)
    return rows


def agreement(path: Path, sigs, method: str) -> float:
    streamed = score_backed(path, sigs, method)
    in_memory = mk.tl.score(ad.read_h5ad(path), sigs, method=method, inplace=False)
    return float(np.nanmax(np.abs(streamed.to_numpy() - in_memory.to_numpy())))


def render(title: str, method: str, backed, diff: float, *, dask: dict[int, float], path) -> str:
    table = U.md_table(
        [
            "cells",
            "matrix (data+indices+indptr)",
            "time",
            "cells/s",
            "peak RSS above start",
            "peak / matrix",
            "load avg before",
        ],
        [
            [
                f"{r['cells']:,}",
                U.fmt_bytes(r["matrix"]),
                f"{U.fmt_seconds(r['seconds'])} (n={r['runs']})",
                f"{r['cells'] / r['seconds']:,.0f}",
                U.fmt_bytes(r["peak"]),
                f"{r['peak'] / r['matrix']:.2f}x",
                f"{r['load']:.1f}",
            ]
            for r in backed
        ],
    )
    dask_rows = [[str(k), U.fmt_seconds(t), f"{dask[1] / t:.2f}x"] for k, t in dask.items()]
    return "\n\n".join(
        [
            title,
            U.environment_md(),
            f"Method `{method}`, 12 up-only signatures, backed `.h5ad` read with "
            f"`read_h5ad(path, backed='r')` and scored with `chunk_size={CHUNK}` (rows streamed "
            "from disk, page cache warm after the untimed warm-up). Peak RSS is the high-water "
            "mark of the first run minus RSS before it.",
            table,
            f"Backed vs in-memory scores on the {backed[0]['cells']:,}-cell file: "
            f"max |diff| = {diff:.3g}.",
            f"Dask (`read_elem_lazy(..., chunks=({CHUNK}, -1))`, {Path(path).name}, "
            "`LocalCluster(threads_per_worker=1, processes=True)` with `NUMBA_NUM_THREADS=1` in "
            "the workers (otherwise each worker's numba kernels use every core), workers warmed "
            "up on the "
            "smallest file; "
            "time includes reading the file in the workers):",
            U.md_table(["workers", "time", "speed-up vs 1 worker"], dask_rows),
        ]
    )


STUDY = dict(
    condition_key="condition",
    control="vehicle",
    treated="trametinib",
    sample_key="sample",
    compartment_key="cell_type",
)


def write_study(path: Path, n_cells: int) -> None:
    """A simulated study with raw counts in ``X`` (8 samples per arm), written once."""
    if path.exists():
        return
    study = mk.datasets.simulate_study(n_samples_per_arm=8, n_cells_mean=n_cells // 16, seed=1)
    study.X = study.layers.pop("counts")
    study.uns = {}
    study.write_h5ad(path.with_suffix(".partial"))
    path.with_suffix(".partial").rename(path)


def run_on_study(path: Path, task: str) -> None:
    """One task on the backed study: ``score`` or ``compare-<aggregate>``."""
    from mekscore.io.backed import open_backed

    adata = open_backed(path)
    if task == "score":
        mk.tl.score(adata, "all", method="ucell", inplace=False, chunk_size=CHUNK)
        return
    if task == "qc":
        mk.tl.signature_qc(adata, "all")
        return
    if task == "compare-four-arm":
        mk.tl.compare(
            adata,
            four_arms(adata),
            sample_key="sample",
            compartment_key="cell_type",
            aggregate="pseudobulk",
            method="mean",
            counts_layer=None,
            qc=False,
            score_kwargs={"chunk_size": CHUNK},
        )
        return
    aggregate = task.removeprefix("compare-")
    method = "ucell" if aggregate == "mean" else "mean"
    mk.tl.compare(
        adata,
        **STUDY,
        aggregate=aggregate,
        method=method,
        counts_layer=None,
        qc=False,  # timed on its own: it reads at most 10,000 rows, whatever the size
        score_kwargs={"chunk_size": CHUNK},
    )


def four_arms(adata) -> mk.tl.Design:
    """The study's 16 samples relabelled as four arms of 4 (vehicle, MEKi, anti-PD-L1, both).

    The same cells and counts as the two-arm tasks: only the design differs (7 contrasts,
    each fitted per program x compartment).
    """
    arms = ("vehicle", "cobi", "aPDL1", "combo")
    samples = sorted(adata.obs["sample"].astype(str).unique())
    arm_of = {sample: arms[i % 4] for i, sample in enumerate(samples)}
    adata.obs["arm"] = adata.obs["sample"].astype(str).map(arm_of).astype("category")
    return mk.tl.Design(
        condition_key="arm",
        control="vehicle",
        agents={"cobi": ["MEKi"], "aPDL1": ["ICI"], "combo": ["MEKi", "ICI"]},
    )


COMPARE_TASKS = ("score", "compare-mean", "compare-pseudobulk", "compare-four-arm", "qc")


def compare_rows(sizes, repeats) -> list[dict]:
    """Time the tasks in interleaved rounds; ratios are taken within each round.

    Run to run, ``score`` itself varies by up to 30% on this machine (page cache,
    CPU frequency, neighbours), so separate medians of separately timed tasks can
    make an unchanged ``compare`` look 1.0x or 1.5x. Each round runs every task once,
    in an order rotated from round to round, and ``compare``'s ratio to ``score`` is
    taken within the round; the table gives the median ratio and its range.
    """
    rows = []
    for n in sizes:
        path = U.DATA_DIR / f"study_{n}.h5ad"
        write_study(path, n)
        peaks = {}
        for task in COMPARE_TASKS:
            run_on_study(path, task)  # warm-up: numba, page cache
            peaks[task] = U.measure(lambda p=path, t=task: run_on_study(p, t), 1).peak
        times = {task: [] for task in COMPARE_TASKS}
        for r in range(repeats):
            k = r % len(COMPARE_TASKS)
            for task in COMPARE_TASKS[k:] + COMPARE_TASKS[:k]:
                times[task].append(U.measure(lambda p=path, t=task: run_on_study(p, t), 1).median)
        for task in COMPARE_TASKS:
            ratios = np.array(times[task]) / np.array(times["score"])
            extra = np.array(times[task]) - np.array(times["score"])
            rows.append(
                {
                    "cells": n,
                    "task": task,
                    "seconds": float(np.median(times[task])),
                    "runs": repeats,
                    "ratio": float(np.median(ratios)),
                    "ratio_range": [float(ratios.min()), float(ratios.max())],
                    "extra": float(np.median(extra)),
                    "peak": peaks[task],
                    "matrix": on_disk_bytes(path),
                }
            )
            print(json.dumps(rows[-1]), flush=True)
        design = np.array(times["compare-four-arm"]) / np.array(times["compare-pseudobulk"])
        rows[-1]["vs_two_arm"] = [
            float(np.median(design)),
            float(design.min()),
            float(design.max()),
        ]
    return rows


def render_compare(rows) -> str:
    base = {r["cells"]: r for r in rows if r["task"] == "score"}
    table = U.md_table(
        [
            "cells",
            "task",
            "matrix (counts, on disk)",
            "time (median)",
            "time / score (range)",
            "extra time",
            "peak RSS",
            "peak / score",
            "peak / matrix",
        ],
        [
            [
                f"{r['cells']:,}",
                f"`{r['task']}`",
                U.fmt_bytes(r["matrix"]),
                f"{U.fmt_seconds(r['seconds'])} (n={r['runs']})",
                f"{r['ratio']:.2f}x ({r['ratio_range'][0]:.2f}-{r['ratio_range'][1]:.2f})",
                f"{r['extra']:+.1f} s",
                U.fmt_bytes(r["peak"]),
                f"{r['peak'] / base[r['cells']]['peak']:.2f}x",
                f"{r['peak'] / r['matrix']:.2f}x",
            ]
            for r in rows
        ],
    )
    return "\n\n".join(
        [
            "## Atlas-scale compare",
            U.environment_md(),
            "Simulated study (`simulate_study(n_samples_per_arm=8, seed=1)`, 2,000 genes, 8 "
            "cell types, raw counts in `X`) opened with `mekscore.io.backed.open_backed` "
            f"(`X` stays on disk), `chunk_size={CHUNK}`. `score`: `tl.score(method='ucell')` "
            "of the library signatures (counts log-normalised per chunk). "
            "`compare-mean`: `tl.compare(aggregate='mean', method='ucell')` (cell scores "
            "streamed, then per-sample means). `compare-pseudobulk`: `tl.compare("
            "aggregate='pseudobulk')` (counts summed per sample chunk by chunk, then "
            "normalised and scored with `mean`). `compare-four-arm`: the same pseudobulk "
            "compare with the 16 samples relabelled as four arms of 4 declared by their agents "
            "(vehicle, MEKi, anti-PD-L1, both: 7 contrasts per program x compartment). The "
            "compare tasks pass `qc=False`; `qc` is `tl.signature_qc` of the library on the "
            "same file, which `compare` runs by default (it reads at most 10,000 rows). After "
            "an untimed warm-up and one memory run "
            "per task (peak RSS is its high-water mark minus RSS before it), the tasks are "
            "timed in interleaved rounds, each round running all five in an order rotated "
            "from round to round. *time / score* is the median over rounds of the ratio "
            "within a round (range in brackets), *extra time* the median within-round "
            "difference: `score`'s own time varies by up to 30% between runs here, so only "
            "within-round comparisons are meaningful.",
            table,
            *(
                f"Four arms against two ({r['cells']:,} cells): {r['vs_two_arm'][0]:.2f}x the "
                f"two-arm pseudobulk time (range {r['vs_two_arm'][1]:.2f}-"
                f"{r['vs_two_arm'][2]:.2f}, within rounds)."
                for r in rows
                if "vs_two_arm" in r
            ),
        ]
    )


def main() -> None:
    U.fixed_malloc_thresholds()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10x fewer cells")
    parser.add_argument("--method", default="ucell")
    parser.add_argument("--repeats", type=int, help="timed runs (rounds with --compare)")
    parser.add_argument("--compare", type=int, nargs="+", help="compare rows at these sizes")
    args = parser.parse_args()
    U.DATA_DIR.mkdir(exist_ok=True)
    if args.compare:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            rows = compare_rows(args.compare, args.repeats or 5)
        U.write_section("scale-compare", render_compare(rows))
        return
    sizes = [5_000, 10_000, 30_000] if args.quick else [50_000, 100_000, 300_000]
    sigs = U.sc_signatures()
    U.DATA_DIR.mkdir(exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        backed = backed_rows(sizes, sigs, args.method, args.repeats or 3)
        diff = agreement(U.DATA_DIR / f"cells_{sizes[0]}.h5ad", sigs, args.method)
        print(f"backed vs in-memory max |diff| {diff:.3g}", flush=True)
        largest = U.DATA_DIR / f"cells_{sizes[-1]}.h5ad"
        smallest = U.DATA_DIR / f"cells_{sizes[0]}.h5ad"
        dask = {k: score_dask(largest, smallest, sigs, args.method, k) for k in (1, 2)}
        print(json.dumps(dask), flush=True)
    name = "scale-quick" if args.quick else "scale"
    title = "## Atlas scale" + (" (quick smoke run, 10x smaller)" if args.quick else "")
    U.write_section(name, render(title, args.method, backed, diff, dask=dask, path=largest))


if __name__ == "__main__":
    main()
