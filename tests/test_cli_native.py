"""The command line behaves like a native tool: fast help, Ctrl-C, one-line errors, exit codes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import warnings
from pathlib import Path

import anndata as ad
import numpy as np
import pytest
from click.testing import CliRunner
from scipy import sparse

import mekscore as mk
from mekscore.cli import main
from mekscore.cli._common import Reporter, reported_warnings

HEAVY = ("pandas", "anndata", "numpy", "scanpy", "dask", "numba", "scipy")
#: Runs the command line in a fresh interpreter and reports the heavy modules it imported.
PROBE = """
import atexit, runpy, sys
heavy = set(sys.argv[1].split(","))
atexit.register(lambda: print(sorted({m.split(".")[0] for m in sys.modules} & heavy)))
sys.argv = ["mekscore", *sys.argv[2:]]
runpy.run_module("mekscore", run_name="__main__")
"""


@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        ["--version"],
        ["compare", "--help"],
        ["score", "--help"],
        ["qc", "--help"],
        ["signatures", "export", "--help"],
    ],
)
def test_help_and_version_do_not_import_the_numerical_stack(args):
    run = subprocess.run(
        [sys.executable, "-c", PROBE, ",".join(HEAVY), *args],
        capture_output=True,
        text=True,
        check=True,
    )
    assert run.stdout.strip().splitlines()[-1] == "[]"


def test_import_mekscore_is_light_and_namespaces_still_work():
    code = (
        "import sys, mekscore as mk; print('anndata' in sys.modules); print(mk.tl.score.__name__)"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert run.stdout.split() == ["False", "score"]


# --- one-line usage errors and exit codes ------------------------------------------------


_COMPARE = "compare x.h5ad -o o --condition-key c --control a --treated b --sample-key s".split()


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["compare", "x.h5ad"], "error: Missing option '-o' / '--output'"),
        (
            [*_COMPARE, "--test", "ttest"],
            "error: Invalid value for '--test': 'ttest' is not one of 'welch', 'mannwhitney', "
            "'paired-t', 'wilcoxon' (see 'mekscore compare --help')",
        ),
        (
            [*_COMPARE, "--alpha", "1.5"],
            "error: Invalid value for '--alpha': 1.5 is not in the range 0<x<1",
        ),
        (
            ["score", "x.h5ad", "-o", "y.csv", "--min-genes", "three"],
            "error: Invalid value for '--min-genes': 'three' is not a valid integer",
        ),
        (["scroe"], "error: No such command 'scroe'"),
    ],
)
def test_usage_errors_are_one_error_line_with_exit_2(args, expected):
    result = CliRunner().invoke(main, args, prog_name="mekscore")
    assert result.exit_code == 2
    assert len(result.stderr.splitlines()) == 1
    assert result.stderr.startswith(expected)


def test_bugs_exit_1_with_internal_error_and_bad_input_exits_2(tmp_path, monkeypatch):
    table = tmp_path / "expr.csv"
    genes = [f"G{i}" for i in range(20)]
    table.write_text("gene,s1,s2\n" + "".join(f"{g},{i},{i + 1}\n" for i, g in enumerate(genes)))

    def broken(*args, **kwargs):
        raise KeyError("n_obs")

    monkeypatch.setattr(mk.tl, "score", broken)
    result = CliRunner().invoke(main, ["score", str(table), "-o", str(tmp_path / "s.csv")])
    assert result.exit_code == 1
    assert result.stderr == (
        "error: internal error (KeyError: n_obs); rerun with --verbose for the traceback\n"
    )
    for args in (["-m", "nope"], ["-s", "not_a_signature"]):
        bad = CliRunner().invoke(main, ["score", str(table), "-o", str(tmp_path / "t.csv"), *args])
        assert bad.exit_code == 2, bad.stderr
        assert bad.stderr.startswith("error: ") and bad.stderr.count("\n") == 1, bad.stderr
    verbose = CliRunner().invoke(main, ["score", str(table), "-o", str(tmp_path / "v.csv"), "-v"])
    assert verbose.exit_code == 1 and "Traceback" in verbose.stderr
    assert verbose.stderr.splitlines()[-1] == "error: internal error (KeyError: n_obs)"


def test_library_raises_input_errors_for_unknown_names():
    from mekscore.errors import InputError
    from mekscore.methods import get_method

    with pytest.raises(InputError, match="method='nope' is unknown"):
        get_method("nope")
    with pytest.raises(InputError, match="unknown signature id"):
        mk.sig.get("nope")
    with pytest.raises(InputError, match="has no parameter"):
        get_method("ucell").params({"alpha": 1})


def test_messages_speak_in_flags_and_numeric_warnings_are_shown(tmp_path):
    args = [
        "compare",
        "in.h5ad",
        "-o",
        str(tmp_path / "out"),
        "--condition-key",
        "c",
        "--control",
        "a",
        "--treated",
        "b",
        "--sample-key",
        "s",
        "--compartment-map",
        "tumor=T",
    ]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "error: --compartment-map needs --compartment-key (the column it maps)"
    ]
    reporter = Reporter()
    with reported_warnings(reporter):
        warnings.warn_explicit(
            "Precision loss occurred in moment calculation due to catastrophic cancellation.",
            RuntimeWarning,
            "/site-packages/scipy/stats/_axis_nan_policy.py",
            1,
        )
        warnings.warn_explicit("a library detail", DeprecationWarning, "/elsewhere.py", 1)
    assert reporter.pending == [
        "warning: Precision loss occurred in moment calculation due to catastrophic cancellation."
    ]


def test_interrupt_wrapped_by_numba_is_an_interrupt(tmp_path, monkeypatch):
    table = tmp_path / "expr.csv"
    table.write_text("gene,s1,s2\n" + "".join(f"G{i},{i},{i + 1}\n" for i in range(20)))

    def kernel(*args, **kwargs):
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt as err:
            raise SystemError("CPUDispatcher(<function _dense_counts>) returned a result") from err

    monkeypatch.setattr(mk.tl, "score", kernel)
    result = CliRunner().invoke(main, ["score", str(table), "-o", str(tmp_path / "s.csv")])
    assert (result.exit_code, result.stderr) == (130, "error: interrupted\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["expr.csv"]


# --- Ctrl-C in a real process --------------------------------------------------------------


@pytest.fixture(scope="module")
def cells(tmp_path_factory) -> Path:
    """A few thousand cells, so that reading, scoring and writing take a moment."""
    rng = np.random.default_rng(0)
    X = sparse.random(4000, 3000, density=0.1, format="csr", random_state=rng, dtype=np.float32)
    adata = ad.AnnData(X * 20)
    adata.var_names = [f"G{i}" for i in range(3000)]
    folder = tmp_path_factory.mktemp("cells")
    adata.write_h5ad(folder / "cells.h5ad")
    (folder / "sets.gmt").write_text(
        "".join(
            f"s{k}\tna\t" + "\t".join(f"G{g}" for g in range(k, 3000, 40)) + "\n" for k in range(40)
        )
    )
    return folder / "cells.h5ad"


def _interrupt(args: list[str], ready: Path, delay: float = 0.0, prelude: str = ""):
    """Run the command line; send SIGINT ``delay`` s after the file ``ready`` appears."""
    code = f"from mekscore.cli import main\n{prelude}\nmain(prog_name='mekscore')"
    proc = subprocess.Popen(
        [sys.executable, "-c", code, *args],
        stderr=subprocess.PIPE,
        text=True,
        stdout=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    while not ready.exists() and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.02)
    time.sleep(delay)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    return proc.returncode, err


@pytest.mark.parametrize("delay", [0.0, 1.0, 2.5, 4.0])
def test_ctrl_c_while_scoring_leaves_nothing(cells, tmp_path, delay):
    before = cells.stat().st_mtime_ns, cells.stat().st_size
    out = tmp_path / "scored.h5ad"
    args = [
        "score",
        str(cells),
        "-o",
        str(out),
        "-s",
        str(cells.parent / "sets.gmt"),
        "-m",
        "ssgsea",
    ]
    started = tmp_path.parent / f"started-{delay}"
    code, err = _interrupt(args, started, delay, f"open({str(started)!r}, 'w').close()")
    if code == 0:  # finished before the signal: a complete file
        assert ad.read_h5ad(out).obsm["mekscore_ssgsea"].shape == (4000, 40)
        return
    assert (code, err) == (130, "error: interrupted\n")
    assert list(tmp_path.iterdir()) == []
    assert (cells.stat().st_mtime_ns, cells.stat().st_size) == before


def test_ctrl_c_during_a_blocked_h5ad_write_leaves_nothing(cells, tmp_path):
    marker = tmp_path / "writing"
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    prelude = textwrap.dedent(f"""
        import time, pathlib, anndata
        def blocked(self, path, *args, **kwargs):
            pathlib.Path(path).write_bytes(b"partial")
            pathlib.Path({str(marker)!r}).touch()
            time.sleep(60)
        anndata.AnnData.write_h5ad = blocked
    """)
    args = [
        "score",
        str(cells),
        "-o",
        str(out_dir / "scored.h5ad"),
        "-m",
        "mean",
        "-s",
        str(cells.parent / "sets.gmt"),
    ]
    code, err = _interrupt(args, marker, prelude=prelude)
    assert (code, err) == (130, "error: interrupted\n")
    assert list(out_dir.iterdir()) == []


def test_swallowed_ctrl_c_in_a_writer_still_stops_the_write(tmp_path):
    from mekscore.io.write import write_atomic

    def swallowing_writer(path):
        path.write_text("partial")
        try:
            os.kill(os.getpid(), signal.SIGINT)
        except KeyboardInterrupt:
            pass  # as h5py's callbacks do

    with pytest.raises(KeyboardInterrupt):
        write_atomic(tmp_path / "a.txt", swallowing_writer)
    assert list(tmp_path.iterdir()) == []


# --- rich and numba -------------------------------------------------------------------------


def test_progress_bars_leave_rich_global_console_alone(monkeypatch, capsys):
    import rich

    from mekscore.io.backed import track

    console = rich.get_console()
    monkeypatch.setattr(rich, "reconfigure", lambda *a, **k: pytest.fail("global console"))
    assert list(track([1, 2, 3], progress=True, description="testing")) == [1, 2, 3]
    assert rich.get_console() is console and console.file is sys.stdout
    assert capsys.readouterr().out == ""


def test_njit_without_any_cache_folder_falls_back(tmp_path, monkeypatch):
    import numba
    from numba.core import caching

    from mekscore.methods import _numba

    # no cache beside the code or per user (a read-only install): numba refuses cache=True
    only_numba_cache_dir = [caching.UserProvidedCacheLocator]
    monkeypatch.setattr(caching.CacheImpl, "_locator_classes", only_numba_cache_dir)
    monkeypatch.setattr(numba.config, "CACHE_DIR", "")
    monkeypatch.setattr(_numba.tempfile, "gettempdir", lambda: str(tmp_path))
    module = tmp_path / "kernels.py"
    module.write_text("def triple(x):\n    return 3 * x\n")
    namespace: dict = {}
    exec(compile(module.read_text(), str(module), "exec"), namespace)
    with pytest.raises(RuntimeError, match="no locator"):
        numba.njit(cache=True)(namespace["triple"])
    assert _numba.njit()(namespace["triple"])(14) == 42
    assert Path(numba.config.CACHE_DIR).parent == tmp_path


def test_dask_workers_limit_numba_threads():
    distributed = pytest.importorskip("distributed")
    import numba

    from mekscore.tl._execute import _share_worker_threads

    def threads_in_task():
        _share_worker_threads()
        return numba.get_num_threads()

    with (
        distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False) as cluster,
        distributed.Client(cluster) as client,
    ):
        assert client.submit(threads_in_task).result() == 1


def test_compare_outputs_are_written_as_one_folder(tmp_path, monkeypatch):
    import importlib

    import pandas as pd

    cli_compare = importlib.import_module("mekscore.cli.compare")

    from mekscore.tl._record import Comparison

    out = tmp_path / "out"
    frame = pd.DataFrame({"a": [1]})
    first = Comparison(parameters={"x": 1}, results=frame, samples=frame)
    cli_compare.write_outputs(out, first, "<html>", input_path=Path("in.h5ad"))
    assert sorted(p.name for p in out.iterdir()) == sorted(cli_compare.OUTPUTS)
    written = json.loads((out / "verdict.json").read_text())["parameters"]
    assert written == {"x": 1, "input": "in.h5ad"}

    def crash(self, *args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(pd.DataFrame, "to_csv", crash)
    with pytest.raises(OSError, match="disk full"):
        second = Comparison(parameters={"x": 2}, results=frame, samples=frame)
        cli_compare.write_outputs(out, second, "<html>", input_path=Path("in.h5ad"), force=True)
    assert json.loads((out / "verdict.json").read_text())["parameters"] == written
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
