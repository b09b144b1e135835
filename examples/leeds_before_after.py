"""Leeds Family Valued: children on child protection plans, 974 (2011) to 515 (2017).

Run: python examples/leeds_before_after.py [OUTPUT_DIR]
Prints the comparison, and writes leeds_cpp.png and leeds_cpp.csv (the tidy table).
"""

import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import sfpc_eval as se

out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path()
leeds = se.compare_counts(974, 515, labels=("2011", "2017"))
print(leeds)
leeds.tidy().to_csv(out / "leeds_cpp.csv", index=False)
ax = leeds.plot()
ax.figure.savefig(out / "leeds_cpp.png", dpi=120, bbox_inches="tight")

# Hertfordshire Family Safeguarding over a shorter window, for comparison.
print(se.compare_counts(1032, 530, labels=("Jan 2015", "Nov 2016")).summary().as_markdown())
