"""Published claims: a registry of figures, their re-derivation, and an audit.

Examples
--------
>>> from sfpc_eval.evidence import reproduce
>>> print(reproduce("leeds_cpp_2011_2017").status)
reproduced
"""

from sfpc_eval.evidence.registry import (
    METRICS,
    Claim,
    ClaimInputs,
    Registry,
    Source,
    load_registry,
    parse_registry,
)
from sfpc_eval.evidence.reproduce import (
    AUDIT_COLUMNS,
    CONFLICT,
    REPRODUCED,
    STATED_ONLY,
    WORDING_FAILS,
    Reproduction,
    audit,
    estimate_from_inputs,
    metric_value,
    reproduce,
)
from sfpc_eval.evidence.wording import Admissible, admissible

__all__ = [
    "AUDIT_COLUMNS",
    "CONFLICT",
    "METRICS",
    "REPRODUCED",
    "STATED_ONLY",
    "WORDING_FAILS",
    "Admissible",
    "Claim",
    "ClaimInputs",
    "Registry",
    "Reproduction",
    "Source",
    "admissible",
    "audit",
    "estimate_from_inputs",
    "load_registry",
    "metric_value",
    "parse_registry",
    "reproduce",
]
