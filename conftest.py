"""Repository-wide fixtures: the face fixtures every spec experiment uses."""

from __future__ import annotations

from pathlib import Path

import pytest

from embedsim.inputs.datasets import Dataset

FACES = Path(__file__).resolve().parent / "fixtures" / "faces"


@pytest.fixture(scope="session")
def faces() -> Dataset:
    """``fixtures/faces``: photos of people, the ``face16`` grid of one woman and the
    ``emoji16`` grid, with their labels (``fixtures/faces/manifest.toml``). Grids are cut
    into tiles at test time by ``faces.grid(id)``."""
    return Dataset.load(FACES)
