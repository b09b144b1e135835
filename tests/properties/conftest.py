"""Hypothesis profiles of the property-based suite (issue 19).

``ci`` (the default) runs a bounded, derandomised number of examples per test so the suite is
reproducible and fast; ``thorough`` runs many, with random seeds. Select one with the
environment variable ``SFPC_HYPOTHESIS_PROFILE``; ``SFPC_PROPERTY_EXAMPLES`` sets the thorough
profile's base number of examples per test (each test scales it by its cost weight, see
``_promise.budget``)::

    SFPC_HYPOTHESIS_PROFILE=thorough SFPC_PROPERTY_EXAMPLES=1000 \\
        python -m pytest tests/properties -q -p no:randomly
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

_SLOW_IS_FINE = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much]

settings.register_profile(
    "ci",
    max_examples=40,
    deadline=None,
    derandomize=True,
    suppress_health_check=_SLOW_IS_FINE,
    print_blob=True,
)
settings.register_profile(
    "thorough",
    max_examples=int(os.environ.get("SFPC_PROPERTY_EXAMPLES", "1000")),
    deadline=None,
    suppress_health_check=_SLOW_IS_FINE,
    print_blob=True,
)
settings.load_profile(os.environ.get("SFPC_HYPOTHESIS_PROFILE", "ci"))
