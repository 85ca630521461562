"""The verbs' shared argument values: --task, seconds and counts; a bad value is one
clear line, never a traceback."""

from __future__ import annotations

import argparse

import pytest

from edgemoe.commands._argtypes import positive_int, positive_seconds, task_indices
from edgemoe.params import load_model

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def m3vit():
    return load_model("m3vit-micro")


def test_task_by_name_index_or_all(m3vit):
    names = [t.name for t in m3vit.tasks]
    assert len(names) == 2
    assert task_indices(m3vit, "all") == [0, 1]
    assert task_indices(m3vit, "1") == [1]
    assert task_indices(m3vit, names[1]) == [1]


@pytest.mark.parametrize("task", ["2", "segm", "-1", ""])
def test_unknown_task_names_the_choices(m3vit, task):
    with pytest.raises(ValueError, match=r"unknown task .* choose one of .*0\.\.1 or all"):
        task_indices(m3vit, task)


@pytest.mark.parametrize("text", ["0", "-3", "1.5", "many"])
def test_counts_are_whole_and_positive(text):
    with pytest.raises(argparse.ArgumentTypeError):
        positive_int(text)
    assert positive_int("1_000") == 1000


@pytest.mark.parametrize("text", ["0", "-1", "nan", "inf", "soon"])
def test_seconds_are_finite_and_positive(text):
    with pytest.raises(argparse.ArgumentTypeError):
        positive_seconds(text)
    assert positive_seconds("2.5") == 2.5
