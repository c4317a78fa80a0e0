"""`make bench`: run every tests/perf/bench_*.py that has a main(), each in its own process.

Each benchmark prints one JSON object per line. A separate process per module lets each one
choose its own settings and servers. `python -m tests.perf.run_all pages` runs bench_pages only.
"""

import ast
import subprocess
import sys
from pathlib import Path

PERF_DIR = Path(__file__).resolve().parent
PROJECT_ROOT = PERF_DIR.parent.parent


def discover(selected):
    """Module names of the benchmarks that define main(), filtered by the names given."""
    modules = []
    for path in sorted(PERF_DIR.glob("bench_*.py")):
        name = path.stem
        if selected and name.removeprefix("bench_") not in selected and name not in selected:
            continue
        # Read, not imported: a benchmark may import Django models at the top, which only
        # works after its own process has configured settings.
        tree = ast.parse(path.read_text(encoding="utf-8"))
        if any(isinstance(node, ast.FunctionDef) and node.name == "main" for node in tree.body):
            modules.append(f"tests.perf.{name}")
    return modules


def main(argv=None):
    selected = set(sys.argv[1:] if argv is None else argv)
    modules = discover(selected)
    if not modules:
        print(f"No benchmark matched {sorted(selected)}", file=sys.stderr)
        return 1
    failed = []
    for module_name in modules:
        print(f"# {module_name}", file=sys.stderr, flush=True)
        result = subprocess.run(
            [sys.executable, "-c", f"import {module_name} as m, sys; sys.exit(m.main())"],
            cwd=PROJECT_ROOT,
            check=False,
        )
        if result.returncode != 0:
            failed.append(module_name)
    if failed:
        print(f"# failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
