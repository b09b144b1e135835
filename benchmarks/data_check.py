"""Benchmark: `sfpc-eval data check` on the shared folder of DfE files (target: under 10 s).

Run: python benchmarks/data_check.py [PATH]   (default ../shared/data/raw beside the checkout)
Prints the wall time of the whole command (a fresh process, as a user runs it: start-up,
imports, reading and checking every file) and of `check_folder` alone, best of 3, and the
ratio of the command to a bare `python -c "import pandas"` start-up measured in the same run.
"""

import subprocess
import sys
import time
from pathlib import Path

import sfpc_eval.data as sd


def best(function, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    default = Path(__file__).resolve().parents[2] / "shared" / "data" / "raw"
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else default
    command = [sys.executable, "-m", "sfpc_eval", "data", "check", str(path)]
    whole = best(lambda: subprocess.run(command, capture_output=True, check=True))
    inner = best(lambda: sd.check_folder(path))
    floor = best(lambda: subprocess.run([sys.executable, "-c", "import pandas"], check=True))
    report = sd.check_folder(path)
    print(f"sfpc-eval data check {path}: {len(report.files)} files, "
          f"{len(report.recognised)} recognised")
    print(f"{'whole command':<24}{whole:>8.2f} s   (target < 10 s)")
    print(f"{'check_folder alone':<24}{inner:>8.2f} s")
    print(f"{'python + import pandas':<24}{floor:>8.2f} s   command / floor = {whole / floor:.1f}x")


if __name__ == "__main__":
    main()
