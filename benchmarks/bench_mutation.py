"""Mutation testing of the modules where a mistake reaches a user: the score per module group.

Run from the repository root (slow: minutes per group, hours for all; not a pass/fail test and
not in CI)::

    .venv/bin/python benchmarks/bench_mutation.py                  # every group
    .venv/bin/python benchmarks/bench_mutation.py faq validators   # some groups
    .venv/bin/python benchmarks/bench_mutation.py reminders --retest  # only what was not killed
    .venv/bin/python benchmarks/bench_mutation.py --report         # figures of the last runs
    .venv/bin/python benchmarks/bench_mutation.py --report --diffs # ... and each survivor's diff

mutmut ([tool.mutmut] in pyproject.toml) copies bot/ into mutants/, makes every mutant of the
files it is told to mutate, and runs against each one the selected tests that reach the mutated
function. A mutant is killed when a test fails (or it times out, or mypy rejects it when mutmut
is told to type-check); it survives when every test passes, and has no tests when none reaches
it. The score of a group is killed / (all - skipped). Survivors written down as equivalent in
benchmarks/mutation_equivalents.md (they cannot change what a user sees) are counted apart:
the score "with equivalents" leaves them out of the mutants, and what is neither killed nor
written down is listed as unexplained.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MUTANTS = ROOT / "mutants"
EQUIVALENTS = ROOT / "benchmarks" / "mutation_equivalents.md"
MUTMUT = Path(sys.executable).with_name("mutmut")
LOG = MUTANTS / "bench-mutation.log"

# Group -> the source files it mutates (each must be in [tool.mutmut] only_mutate, or it is
# only copied and has no mutants). Ordered cheapest first, which is the order a full run takes.
GROUPS: dict[str, list[str]] = {
    "storage": [  # /forget, the key check, sessions and filings
        "bot/storage/sql/storage.py",
        "bot/storage/sqlite/storage.py",
        "bot/storage/sql/sessions.py",
        "bot/storage/sql/filings.py",
    ],
    "validators": ["bot/dialogue/validators/*.py"],
    "reminders": [  # planning, and claiming due rows exactly once
        "bot/reminders/planner.py",
        "bot/storage/sql/reminders.py",
        "bot/storage/sqlite/reminders.py",
    ],
    "faq": ["bot/faq/retriever.py", "bot/faq/evaluation.py"],
    "dedupe": ["bot/storage/sql/updates.py"],  # seen updates and the inbox
    "precheck": ["bot/dialogue/precheck.py"],
    "addressing": [  # who a group message is for, on each platform
        "bot/channels/telegram/codec.py",
        "bot/channels/wecom/frames.py",
    ],
}

# mutmut's exit codes (mutmut.stats.status_by_exit_code), folded into the columns printed here.
STATUS: dict[int | None, str] = {1: "killed", 3: "killed", 37: "type check"}
STATUS |= {code: "timeout" for code in (36, 24, -24, 152, 255)}
STATUS |= {0: "survived", 5: "no tests", 33: "no tests", 34: "skipped", None: "not checked"}
COLUMNS = ["killed", "timeout", "type check", "survived", "no tests", "not checked", "other"]


def status(exit_code: int | None) -> str:
    """The column a mutant's recorded exit code falls in (a crash of the test run is 'other')."""
    return STATUS.get(exit_code, "other")


def module_of(path: str) -> str:
    """bot/faq/retriever.py -> bot.faq.retriever, the prefix of its mutants' names."""
    return path.removesuffix(".py").replace("/", ".").removesuffix(".__init__")


def name_patterns(group: str) -> list[str]:
    """The mutant-name globs `mutmut run` takes for a group's files."""
    return [module_of(path) + ".*" for path in GROUPS[group]]


def load_results() -> dict[str, tuple[str, int | None]]:
    """Every mutant mutmut has recorded: name -> (source file, exit code or None)."""
    results: dict[str, tuple[str, int | None]] = {}
    for meta in sorted((MUTANTS / "bot").rglob("*.py.meta")):
        source = str(meta.relative_to(MUTANTS)).removesuffix(".meta")
        codes = json.loads(meta.read_text(encoding="utf-8"))["exit_code_by_key"]
        for name, code in codes.items():
            results[name] = (source, code)
    return results


def load_equivalents() -> dict[str, str]:
    """Mutant name -> reason, from the table rows of mutation_equivalents.md."""
    if not EQUIVALENTS.exists():
        return {}
    found: dict[str, str] = {}
    for line in EQUIVALENTS.read_text(encoding="utf-8").splitlines():
        # Cells split on unescaped pipes: a quoted line of code may hold an escaped one.
        cells = [cell.strip() for cell in re.split(r"(?<!\\)\|", line.strip().strip("|"))]
        names = re.findall(r"`([\w.ǁ]+__mutmut_\d+)`", cells[0]) if len(cells) >= 3 else []
        for name in names:
            found[name] = cells[-1]
    return found


@dataclass
class Tally:
    """The mutants of one group (or file) by column, and the names not killed."""

    counts: Counter[str] = field(default_factory=Counter)
    not_killed: list[str] = field(default_factory=list)
    equivalent: int = 0

    def add(self, name: str, column: str, equivalents: dict[str, str]) -> None:
        self.counts[column] += 1
        if column not in {"killed", "timeout", "type check"}:
            if name in equivalents:
                self.equivalent += 1
            else:
                self.not_killed.append(name)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def killed(self) -> int:
        return self.counts["killed"] + self.counts["timeout"] + self.counts["type check"]

    def score(self, *, without_equivalents: bool = False) -> float:
        """Killed over mutants, in percent; optionally with the equivalent ones left out."""
        tested = self.total - self.counts["skipped"]
        if without_equivalents:
            tested -= self.equivalent
        return 100.0 * self.killed / tested if tested else 0.0


def tally(groups: list[str]) -> dict[str, dict[str, Tally]]:
    """group -> source file -> its tally, from mutmut's recorded results."""
    results = load_results()
    equivalents = load_equivalents()
    by_group: dict[str, dict[str, Tally]] = {}
    for group in groups:
        files: dict[str, Tally] = {}
        for name, (source, code) in sorted(results.items()):
            if any(fnmatch.fnmatch(name, pattern) for pattern in name_patterns(group)):
                files.setdefault(source, Tally()).add(name, status(code), equivalents)
        by_group[group] = files
    return by_group


def merged(files: dict[str, Tally]) -> Tally:
    """One tally for a group's files."""
    total = Tally()
    for one in files.values():
        total.counts.update(one.counts)
        total.not_killed.extend(one.not_killed)
        total.equivalent += one.equivalent
    return total


def report(groups: list[str], *, diffs: bool) -> None:
    """Print the table per group and file, then every mutant neither killed nor equivalent."""
    by_group = tally(groups)
    header = f"{'group / file':<40}" + "".join(f"{c:>12}" for c in COLUMNS)
    header += f"{'total':>7}{'equiv.':>7}{'score':>8}{'w/ eq.':>8}"
    print(header)
    print("-" * len(header))
    for group, files in by_group.items():
        if not files or merged(files).counts["not checked"] == merged(files).total:
            print(f"{group:<40} (no results: run this group first)")
            continue
        rows = [(group, merged(files))] + [(f"  {p}", t) for p, t in files.items()]
        for label, one in rows:
            print(
                f"{label:<40}"
                + "".join(f"{one.counts[c]:>12}" for c in COLUMNS)
                + f"{one.total:>7}{one.equivalent:>7}"
                + f"{one.score():>7.1f}%{one.score(without_equivalents=True):>7.1f}%"
            )
    for group, files in by_group.items():
        unexplained = merged(files).not_killed
        if not unexplained or len(unexplained) == merged(files).counts["not checked"]:
            continue
        print(f"\n{group}: {len(unexplained)} not killed and not written down as equivalent")
        results = load_results()
        for name in unexplained:
            print(f"  {status(results[name][1]):<12} {name}")
            if diffs:
                shown = subprocess.run(
                    [str(MUTMUT), "show", name], cwd=ROOT, capture_output=True, text=True
                )
                print("    " + shown.stdout.strip().replace("\n", "\n    "))


def run(groups: list[str], *, retest: bool, max_children: int) -> None:
    """`mutmut run` over the groups' mutants (or, with retest, only those not killed yet)."""
    names: list[str] = []
    for group in groups:
        if retest:
            names += merged(tally([group])[group]).not_killed
        else:
            names += name_patterns(group)
    if not names:
        print("nothing to retest")
        return
    MUTANTS.mkdir(exist_ok=True)
    started = time.monotonic()
    # mutmut redraws a progress line many times a second: keep it out of the terminal.
    with LOG.open("w", encoding="utf-8") as log:
        command = [str(MUTMUT), "run", "--max-children", str(max_children), *names]
        finished = subprocess.run(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    elapsed = time.monotonic() - started
    print(f"mutmut run {' '.join(groups)}: {elapsed:.0f} s, exit {finished.returncode}")
    if finished.returncode != 0:
        tail = LOG.read_text(encoding="utf-8", errors="replace")[-3000:]
        print(f"mutmut failed (full log {LOG.relative_to(ROOT)}):\n{tail}")
        raise SystemExit(finished.returncode)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("groups", nargs="*", help=f"default: all of {', '.join(GROUPS)}")
    parser.add_argument("--retest", action="store_true", help="rerun only what was not killed")
    parser.add_argument("--report", action="store_true", help="print the last results only")
    parser.add_argument("--diffs", action="store_true", help="show each survivor's diff")
    parser.add_argument("--fresh", action="store_true", help="delete mutants/ first")
    parser.add_argument(
        "--max-children", type=int, default=min(2, os.cpu_count() or 1), help="parallel mutants"
    )
    args = parser.parse_args()
    groups = args.groups or list(GROUPS)
    unknown = sorted(set(groups) - set(GROUPS))
    if unknown:
        parser.error(f"unknown group {', '.join(unknown)}; the groups: {', '.join(GROUPS)}")
    if args.fresh and MUTANTS.exists():
        shutil.rmtree(MUTANTS)
    if not args.report:
        run(groups, retest=args.retest, max_children=args.max_children)
    report(groups, diffs=args.diffs)


if __name__ == "__main__":
    main()
