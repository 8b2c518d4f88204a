"""Shared helpers for the benchmark scripts: seeded data, timing, memory, reporting."""

from __future__ import annotations

import gc
import os
import platform
import re
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import numba
import numpy as np
from scipy import sparse

HERE = Path(__file__).resolve().parent
DATA_DIR = HERE / "_data"
RESULTS = HERE / "RESULTS.md"

NB_SHAPE = 2.0  # gamma shape of the gamma-Poisson (negative binomial) counts
PACKAGES = ("numpy", "scipy", "numba", "scanpy", "anndata", "pyucell", "decoupler", "gseapy")


# ---------------------------------------------------------------- synthetic data


def gene_names(n_genes: int) -> list[str]:
    return [f"G{i:05d}" for i in range(1, n_genes + 1)]


def gene_profile(n_genes: int, seed: int = 0) -> np.ndarray:
    """Relative gene abundances (sum 1), lognormal like real transcriptomes."""
    p = np.random.default_rng(seed).lognormal(0.0, 2.0, n_genes)
    return p / p.sum()


@numba.njit(cache=True)
def _nb_counts(lib: np.ndarray, p: np.ndarray, seed: int):
    """Negative-binomial counts (mean lib_i * p_j, shape NB_SHAPE=2) as CSR parts.

    Zero/non-zero is drawn from the exact NB zero probability, non-zero counts by
    inverting the NB CDF, so the cost is one uniform per entry.
    """
    np.random.seed(seed)  # noqa: NPY002 (numba's per-thread legacy RNG, seeded per block)
    n, g = lib.size, p.size
    indptr = np.zeros(n + 1, dtype=np.int64)
    cap = max(1024, n * g // 4)
    indices = np.empty(cap, dtype=np.int32)
    counts = np.empty(cap, dtype=np.float32)
    nnz = 0
    for i in range(n):
        for j in range(g):
            mu = lib[i] * p[j]
            a = 1.0 + mu / 2.0
            p0 = 1.0 / (a * a)
            u = np.random.random()  # noqa: NPY002
            if u < p0:
                continue
            q = mu / (mu + 2.0)
            pk, cdf, k = p0, p0, 0
            while cdf < u and k < 1_000_000:
                k += 1
                pk *= (k + 1.0) / k * q
                cdf += pk
            if nnz == cap:
                cap *= 2
                indices = np.concatenate((indices, np.empty(cap - nnz, dtype=np.int32)))
                counts = np.concatenate((counts, np.empty(cap - nnz, dtype=np.float32)))
            indices[nnz] = j
            counts[nnz] = max(k, 1)
            nnz += 1
        indptr[i + 1] = nnz
    return indptr, indices[:nnz].copy(), counts[:nnz].copy()


def lognorm(counts: sparse.csr_matrix, target: float = 1e4) -> sparse.csr_matrix:
    """``normalize_total(target_sum=1e4)`` then ``log1p``, float32, in place."""
    totals = np.asarray(counts.sum(axis=1)).ravel()
    scale = np.repeat(target / np.maximum(totals, 1.0), np.diff(counts.indptr))
    counts.data = np.log1p(counts.data * scale).astype(np.float32)
    return counts


def single_cell_chunks(
    n_cells: int, n_genes: int = 20_000, seed: int = 0, chunk: int = 5_000
) -> Iterator[sparse.csr_matrix]:
    """Seeded log-normalised cells x genes CSR blocks (float32), ~7% non-zero."""
    p = gene_profile(n_genes, seed)
    rng = np.random.default_rng(seed + 1)
    lib = rng.lognormal(np.log(3_000.0), 0.5, n_cells)
    for block, start in enumerate(range(0, n_cells, chunk)):
        rows = lib[start : start + chunk]
        indptr, indices, counts = _nb_counts(rows, p, seed * 100_003 + block)
        X = sparse.csr_matrix((counts, indices, indptr), shape=(rows.size, n_genes))
        yield lognorm(X)


def single_cell(n_cells: int, n_genes: int = 20_000, seed: int = 0) -> sparse.csr_matrix:
    """The whole matrix; cached under ``_data/`` (git-ignored) after the first call."""
    path = DATA_DIR / f"sc_{n_cells}x{n_genes}_s{seed}.npz"
    if path.exists():
        return sparse.load_npz(path).tocsr()
    X = sparse.vstack(list(single_cell_chunks(n_cells, n_genes, seed)), format="csr")
    DATA_DIR.mkdir(exist_ok=True)
    sparse.save_npz(path, X, compressed=False)
    return X


def sc_signatures(n_genes: int = 20_000, n_sets: int = 12, seed: int = 0) -> dict[str, list[str]]:
    """Up-only signatures of 10-50 genes drawn among the 3,000 most expressed genes."""
    expressed = np.argsort(-gene_profile(n_genes, seed))[:3_000]
    return _draw_sets(expressed, n_genes, n_sets, (10, 50), np.random.default_rng(seed + 2))


def bulk(n_samples: int = 500, n_genes: int = 20_000, seed: int = 0) -> np.ndarray:
    """Samples x genes log-expression-like continuous values (no ties), float64."""
    rng = np.random.default_rng(seed + 3)
    base = rng.normal(6.0, 2.0, n_genes)
    programs = rng.normal(0.0, 0.4, (5, n_genes)) * (rng.random((5, n_genes)) < 0.1)
    activity = rng.normal(0.0, 1.0, (n_samples, 5))
    noise = rng.normal(0.0, 0.5, (n_samples, n_genes))
    return base + activity @ programs + noise + rng.normal(0.0, 0.2, (n_samples, 1))


def bulk_gene_sets(n_genes: int = 20_000, n_sets: int = 50, seed: int = 0) -> dict[str, list[str]]:
    """Gene sets of 15-200 genes drawn among all genes."""
    rng = np.random.default_rng(seed + 4)
    return _draw_sets(np.arange(n_genes), n_genes, n_sets, (15, 200), rng)


def _draw_sets(pool, n_genes, n_sets, size_range, rng) -> dict[str, list[str]]:
    names = gene_names(n_genes)
    sizes = rng.integers(size_range[0], size_range[1] + 1, n_sets)
    return {
        f"S{k + 1:02d}": [names[j] for j in sorted(rng.choice(pool, size, replace=False))]
        for k, size in enumerate(sizes)
    }


# ---------------------------------------------------------------- time and memory


def matrix_nbytes(X) -> int:
    """Bytes of a dense array or of a sparse matrix's data + indices + indptr."""
    if sparse.issparse(X):
        return X.data.nbytes + X.indices.nbytes + X.indptr.nbytes
    return np.asarray(X).nbytes


def _status_kb(field_name: str) -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field_name + ":"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"{field_name} not in /proc/self/status")


def _rss_reader() -> Callable[[], int]:
    try:
        import psutil
    except ImportError:
        return lambda: _status_kb("VmRSS")
    proc = psutil.Process()
    return lambda: proc.memory_info().rss


def _reset_hwm() -> bool:
    """Reset the kernel's peak-RSS counter (VmHWM); False where not permitted."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def fixed_malloc_thresholds() -> None:
    """Re-exec the script with glibc's mmap threshold pinned (once, at start-up).

    glibc raises its mmap threshold after large frees and then serves later
    allocations from memory it already holds, which hides them from RSS deltas.
    A fixed 64 KiB threshold makes every large array a fresh mapping, returned on free.
    """
    if os.environ.get("MALLOC_MMAP_THRESHOLD_") is None:
        env = {**os.environ, "MALLOC_MMAP_THRESHOLD_": "65536"}
        os.execve(sys.executable, [sys.executable, *sys.argv], env)


class PeakRSS:
    """Peak resident memory above the level at entry, in bytes.

    A background thread samples RSS every 2 ms (psutil, or /proc VmRSS). Code that
    holds the GIL (numba without ``nogil``) starves the sampler, so where Linux
    allows it the kernel's own high-water mark (VmHWM, reset on entry) is read too
    and the larger value is reported.
    """

    def __init__(self, interval: float = 0.002):
        self.interval = interval
        self._read = _rss_reader()
        self.peak = 0

    def __enter__(self) -> PeakRSS:
        gc.collect()
        self._hwm = _reset_hwm()
        self.start = self._read()
        self._max = self.start
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.wait(self.interval):
            self._max = max(self._max, self._read())

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        top = max(self._max, self._read(), _status_kb("VmHWM") if self._hwm else 0)
        self.peak = top - self.start


@dataclass
class Measure:
    """Median time over runs, all run times, peak memory of the first run, its result."""

    times: list[float]
    peak: int
    result: Any = field(repr=False)

    @property
    def median(self) -> float:
        return float(np.median(self.times))  # not `statistics`: benchmarks/statistics.py shadows it


def measure(fn: Callable[[], Any], repeats: int = 3, budget: float = 180.0) -> Measure:
    """Run ``fn`` ``repeats`` times (fewer if the runs so far exceed ``budget`` s).

    The first run is also the memory run; its result is returned for checks.
    """
    times: list[float] = []
    with PeakRSS() as mem:
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    while len(times) < repeats and sum(times) < budget:
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return Measure(times, mem.peak, result)


# ---------------------------------------------------------------- machine and report


def machine() -> dict[str, str]:
    cpu = "unknown"
    with open("/proc/cpuinfo") as fh:
        for line in fh:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    ram = _meminfo_kb("MemTotal") / 2**20
    return {
        "cpu": cpu,
        "cores": str(len(os.sched_getaffinity(0))),
        "ram": f"{ram:.1f} GiB",
        "os": platform.platform(),
    }


def _meminfo_kb(key: str) -> int:
    with open("/proc/meminfo") as fh:
        for line in fh:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"{key} not in /proc/meminfo")


def versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for pkg in (*PACKAGES, "mekscore"):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            out[pkg] = "not installed"
    return out


def environment_md() -> str:
    m = machine()
    v = ", ".join(f"{k} {val}" for k, val in versions().items())
    return (
        f"Machine: {m['cpu']}, {m['cores']} cores, {m['ram']} RAM ({m['os']}).  \n"
        f"Versions: {v}.  \n"
        f"Run: {time.strftime('%Y-%m-%d %H:%M %Z')}."
    )


def md_table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def write_section(name: str, body: str, path: Path = RESULTS) -> None:
    """Replace the text between this section's markers in RESULTS.md (append if new)."""
    begin, end = f"<!-- BEGIN {name} -->", f"<!-- END {name} -->"
    block = f"{begin}\n{body.strip()}\n{end}"
    text = path.read_text() if path.exists() else "# Benchmark results\n"
    pattern = re.compile(re.escape(begin) + r".*?" + re.escape(end), re.S)
    if pattern.search(text):
        text = pattern.sub(lambda _: block, text)
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    path.write_text(text)


def fmt_seconds(t: float) -> str:
    return f"{t:.3g} s" if t >= 0.1 else f"{t * 1e3:.3g} ms"


def fmt_bytes(n: float) -> str:
    if n < 2**20:
        return f"{n / 2**10:,.0f} KiB"
    return f"{n / 2**20:,.0f} MiB" if n < 2**30 else f"{n / 2**30:.2f} GiB"
