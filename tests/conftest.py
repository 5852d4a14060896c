"""Shared fixtures: the real NUAA-SIRST copy (skipped cleanly when absent) and a tiny synthetic
dataset written once per test session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DEFAULT_NUAA = REPO.parent / "shared" / "data" / "NUAA-SIRST"


def nuaa_sirst_path() -> Path:
    """Where the real NUAA-SIRST copy is: $IRSTD_NUAA_SIRST, else ../shared/data/NUAA-SIRST."""
    return Path(os.environ.get("IRSTD_NUAA_SIRST", DEFAULT_NUAA))


@pytest.fixture(scope="session")
def nuaa_root() -> Path:
    root = nuaa_sirst_path()
    if not (root / "images").is_dir() or not (root / "masks").is_dir():
        pytest.skip(f"NUAA-SIRST not found at {root} (set IRSTD_NUAA_SIRST to its folder)")
    return root


@pytest.fixture(scope="session")
def tiny_synthetic_root(tmp_path_factory) -> Path:
    """12 synthetic 64x64 infrared scenes in the standard folder layout (seed 0)."""
    from irstd_lib.data.synthetic import write_synthetic_dataset

    out = tmp_path_factory.mktemp("synthetic") / "tiny"
    write_synthetic_dataset(out, n=12, seed=0, size=64)
    return out
