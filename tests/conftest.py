"""Shared fixtures: the reference folder beside the checkout, small AnnData objects."""

from __future__ import annotations

from pathlib import Path

import pytest

REFERENCE = Path(__file__).resolve().parents[1].parent / "shared" / "reference"


def reference_path(*parts: str) -> Path:
    """Path inside ``../shared/reference``; skips the test (with the reason) if absent."""
    path = REFERENCE.joinpath(*parts)
    if not path.exists():
        pytest.skip(
            f"reference data not available: {path} (needs ../shared/reference beside the checkout)"
        )
    return path


@pytest.fixture
def reference():
    """Function returning paths inside ``../shared/reference`` (skipping when absent)."""
    return reference_path
