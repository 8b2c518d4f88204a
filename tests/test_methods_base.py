"""The method records: every fact about a method in one place, lists and defaults derived."""

from __future__ import annotations

import inspect

import numpy as np
import pytest

from mekscore.errors import InputError
from mekscore.methods import (
    DATA_KINDS,
    METHOD_NAMES,
    RANK_BASED,
    STANDARDISED,
    STREAMABLE,
    Param,
    default_method,
    get_method,
    method_info,
)


@pytest.mark.parametrize("name", METHOD_NAMES)
def test_kernel_takes_its_defaults_from_its_record(name):
    meth = get_method(name)
    signature = inspect.signature(meth.func).parameters
    kernel = {k: p.default for k, p in list(signature.items())[2:]}
    assert kernel == meth.defaults
    assert meth.name == name and method_info(name).func is None  # the record stays light


@pytest.mark.parametrize("name", METHOD_NAMES)
def test_streaming_matches_what_the_kernel_binds(name):
    meth = get_method(name)
    assert (meth.affine is not None) == (meth.streaming == "affine")
    assert meth.row_wise == (name in STREAMABLE and meth.affine is None)
    assert meth.standardises_genes <= (meth.kind == "standardised")


def test_lists_are_derived_from_the_records():
    assert set(RANK_BASED) | set(STANDARDISED) == set(METHOD_NAMES)
    assert not set(RANK_BASED) & set(STANDARDISED)
    assert RANK_BASED == ("ucell", "aucell", "singscore", "ssgsea")
    assert STREAMABLE == ("ucell", "aucell", "singscore", "ssgsea", "zscore", "scanpy", "mean")
    standardising = [n for n in METHOD_NAMES if method_info(n).standardises_genes]
    assert standardising == ["gsva", "zscore", "plage"]


def test_one_default_method_per_data_kind_with_a_reason():
    assert [default_method(kind) for kind in DATA_KINDS] == ["ucell", "mean"]
    for kind in DATA_KINDS:
        owners = [n for n in METHOD_NAMES if kind in method_info(n).default_for]
        assert len(owners) == 1 and method_info(owners[0]).why_default
    with pytest.raises(InputError, match="unknown data kind 'tissue'"):
        default_method("tissue")


@pytest.mark.parametrize(
    ("param", "good", "bad"),
    [
        (Param("n", 3, "", "int", low=2), [2, 7.0, np.int64(5)], [1, 2.5, "3", True, None]),
        (Param("x", 0.5, "", "float", low=0), [0, 1.5, np.float32(2)], [-1, float("nan"), "1"]),
        (Param("b", default=True, help="", type="bool"), [False, np.True_], [1, "yes", None]),
        (Param("k", "a", "", "choice", choices=("a", "b")), ["b"], ["c", ["a"], None]),
        (Param("r", 0.05, "", "count_or_fraction"), [0.5, 2, 1500.0], [0, 1, 1.5, -1, "x"]),
    ],
)
def test_param_checks_types_ranges_and_choices(param, good, bad):
    for value in good:
        assert param.check(value, "m") == value
    for value in bad:
        with pytest.raises(InputError, match=f"method 'm': {param.name}=.* must be "):
            param.check(value, "m")


def test_unknown_parameters_name_the_methods_own():
    with pytest.raises(
        InputError, match=r"method 'gsva' has no parameter alpha \(its parameters: "
    ):
        method_info("gsva").params({"alpha": 1.0})
    assert method_info("gsva").params({"kcdf": "none"})["kcdf"] == "none"
