"""Shared fixtures."""

from __future__ import annotations

import os

import pytest

from edgemoe.params import load_accel, load_model
from edgemoe.resources import BUILD_ROOT_ENV, default_build_root


def pytest_configure(config):
    """Under pytest-xdist (`make test` runs a worker per CPU) each worker builds into its
    own folder: the Verilator, C-sim and Yosys caches have one writer each."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if worker:
        os.environ[BUILD_ROOT_ENV] = str(default_build_root() / f"test-{worker}")


def pytest_collection_modifyitems(config, items):
    """Under pytest-xdist, the files with RTL simulations first (a stable sort): whole files
    go to one worker each, so the slowest should not be the last ones handed out."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        rtl_files = {item.path for item in items if item.get_closest_marker("sim")}
        items.sort(key=lambda item: item.path not in rtl_files)


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
