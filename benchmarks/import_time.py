"""Benchmark: how long `import sfpc_eval` and `sfpc-eval --help` take (targets: under 0.5 s).

Run: python benchmarks/import_time.py
Each command runs in a fresh process, best of 5, beside a bare `python -c pass` start-up and
`python -c "import pandas"` measured in the same run, so the ratios say what the package adds.
Also prints the slowest modules of `python -X importtime -c "import sfpc_eval"`.
"""

import subprocess
import sys
import time


def best(command: list[str], repeat: int = 5) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(command, capture_output=True, check=True)
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    python = sys.executable
    floor = best([python, "-c", "pass"])
    rows = {
        "python -c pass": floor,
        "python -c 'import pandas'": best([python, "-c", "import pandas"]),
        "import sfpc_eval": best([python, "-c", "import sfpc_eval"]),
        "sfpc-eval --help": best([python, "-m", "sfpc_eval", "--help"]),
        "import sfpc_eval; se.did": best([python, "-c", "import sfpc_eval as se; se.did"]),
    }
    for name, seconds in rows.items():
        print(f"{name:<30}{seconds:>8.3f} s   {seconds / floor:>6.1f}x bare start-up")
    run = subprocess.run(
        [python, "-X", "importtime", "-c", "import sfpc_eval"], capture_output=True, text=True
    )
    lines = [line.split("|") for line in run.stderr.splitlines()[1:] if line.count("|") == 2]
    slowest = sorted(lines, key=lambda parts: -int(parts[1]))[:5]
    print("slowest imports under `import sfpc_eval` (cumulative microseconds):")
    for _self, cumulative, name in slowest:
        print(f"  {int(cumulative):>9,}  {name.strip()}")


if __name__ == "__main__":
    main()
