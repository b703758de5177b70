"""mypy for mutmut's type-check pass ([tool.mutmut] type_check_command), less mutmut's own noise.

A mutant that mypy --strict rejects cannot land (CI runs mypy), so mutmut counts it as caught
without running tests. mutmut reads mypy's JSON lines; this drops the errors that come from how
mutmut lays out the mutated copy rather than from a mutation, which would otherwise stop the
pass (an error outside any mutant) or count a mutant as caught for nothing:

- unused-ignore: the `# type: ignore` mutmut puts on every line that registers a mutant;
- no-redef, has-type: an attribute annotated in `__init__` is annotated again in each copy of
  `__init__`, so mypy reports every copy and cannot type the attribute's later uses.

Run by mutmut from mutants/ as `python3 ../benchmarks/mutation_typecheck.py mypy bot`.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ARTEFACTS = {"unused-ignore", "no-redef", "has-type"}


def mypy_command() -> str:
    """The project's mypy (the checkout's .venv first: mutmut may run this with any python3)."""
    local = ROOT / ".venv" / "bin" / "mypy"
    return str(local) if local.exists() else shutil.which("mypy") or "mypy"


def main() -> None:
    """Run mypy on the arguments after 'mypy', print the errors that a mutation caused."""
    args = sys.argv[1:]
    if args[:1] == ["mypy"]:
        args = args[1:]
    finished = subprocess.run(
        [mypy_command(), *args, "--output", "json"], capture_output=True, text=True
    )
    if finished.returncode not in (0, 1):
        # Not JSON, so mutmut stops and shows it, instead of counting nothing as caught.
        print(f"mypy failed ({finished.returncode}): {finished.stdout}{finished.stderr}")
        return
    for line in finished.stdout.splitlines():
        if not line.startswith("{"):
            continue
        if json.loads(line).get("code") not in ARTEFACTS:
            print(line)
    # mutmut reads stdout only; an empty one must still be a line (its JSON reader's case).
    print()


if __name__ == "__main__":
    main()
