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
    ROUNDING,
    STATED_ONLY,
    STATUS_ORDER,
    WORDING_FAILS,
    Reproduction,
    audit,
    claim_label,
    estimate_from_inputs,
    metric_value,
    reading_order,
    reproduce,
)
from sfpc_eval.evidence.wording import Admissible, admissible, rounding_level

__all__ = [
    "AUDIT_COLUMNS",
    "CONFLICT",
    "METRICS",
    "REPRODUCED",
    "ROUNDING",
    "STATED_ONLY",
    "STATUS_ORDER",
    "WORDING_FAILS",
    "Admissible",
    "Claim",
    "ClaimInputs",
    "Registry",
    "Reproduction",
    "Source",
    "admissible",
    "audit",
    "claim_label",
    "estimate_from_inputs",
    "load_registry",
    "metric_value",
    "parse_registry",
    "reading_order",
    "reproduce",
    "rounding_level",
]
