"""Audit every published claim in the registry and draw published against re-derived values.

Run: python examples/published_claims.py [OUTPUT_DIR]
Writes claims_audit.csv and claims.png to OUTPUT_DIR (default: the current folder).
"""

import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

from sfpc_eval.evidence import audit, reproduce
from sfpc_eval.plotting import plot_claims

out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path()
table = audit()
table.to_csv(out / "claims_audit.csv", index=False)
print(table["status"].value_counts().to_string())

for claim_id in ("leeds_cpp_2011_2017", "herts_days_in_care_dfe", "cla_gcse_ratio"):
    print(reproduce(claim_id))

ax = plot_claims(table)
ax.figure.savefig(out / "claims.png", dpi=120, bbox_inches="tight")
