"""Shared fixtures."""

from __future__ import annotations

import pytest

from edgemoe.params import load_accel, load_model


@pytest.fixture(scope="session")
def tiny():
    """The small design point used for fast tests (4x4 linear tile, 2 attention lanes)."""
    return load_accel("tiny")


@pytest.fixture(scope="session")
def zcu102():
    """Edge-MoE's design point."""
    return load_accel("edge-moe-zcu102")


@pytest.fixture(scope="session")
def micro():
    return load_model("m3vit-micro")
