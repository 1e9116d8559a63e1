"""Shared fixtures: the vectors the core's tests check (bindings/vectors.json)."""

import json
import pathlib

import pytest

VECTORS_PATH = pathlib.Path(__file__).resolve().parents[2] / "vectors.json"


@pytest.fixture(scope="session")
def vectors():
    return json.loads(VECTORS_PATH.read_text(encoding="utf-8"))


def body_of(case):
    """A payload's body: text, or bytes when it is not UTF-8."""
    if "body" in case:
        return case["body"]
    return bytes.fromhex(case["body_hex"])
