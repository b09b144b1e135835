"""The simulated panel with known synthetic-control weights, shared by the synthetic tests.

tests/fixtures/synthetic/make_pysyncon_fixture.py builds the same panel (same seeds and
construction) for the pysyncon reference; it keeps its own copy to run standalone.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

UNITS = [f"LA{i:02d}" for i in range(12)]
YEARS = list(range(2008, 2020))
TRUE = {"LA03": 0.5, "LA06": 0.3, "LA08": 0.2}


def known_weights_panel(effect: float = -3.0, noise: float = 0.0) -> pd.DataFrame:
    """Treated council LA00 = 0.5 LA03 + 0.3 LA06 + 0.2 LA08 before 2015 (seeded), plus
    independent noise of SD ``noise`` on LA00 (then not an exact combination of donors)."""
    rng = np.random.default_rng(3)
    factors = rng.normal(0, 1, (len(YEARS), 2)).cumsum(0)
    y = rng.normal(50, 5, 12)[None, :] + factors @ rng.uniform(0, 3, (12, 2)).T
    y += rng.normal(0, 0.3, y.shape)
    y[:, 0] = sum(w * y[:, UNITS.index(u)] for u, w in TRUE.items())
    y[YEARS.index(2015) :, 0] += effect
    y[:, 0] += np.random.default_rng(4).normal(0, noise, len(YEARS)) if noise else 0.0
    return pd.DataFrame(
        [(u, yr, y[j, i]) for i, u in enumerate(UNITS) for j, yr in enumerate(YEARS)],
        columns=["la", "year", "rate"],
    )
