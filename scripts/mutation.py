"""Mutation testing of the money code with mutmut, one target (a few modules and the tests that
cover them) at a time, then a report of the surviving mutants. Run it as ``scripts/mutation`` (or
``make mutation``); docs/testing.md explains the targets, the report and the equivalent mutants.

Each target runs in ``var/mutation/<target>/`` (its own mutmut state: ``--resume`` continues an
interrupted run), with one worker. The targets and the equivalent mutants (with the reason each
cannot be killed) are in ``scripts/mutation.toml``; an equivalent mutant is recognised by its name
AND its diff, so a change to the function makes it a plain survivor again until it is re-examined.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import tomllib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "scripts" / "mutation.toml"
WORK = ROOT / "var" / "mutation"
KILLED = {"killed", "timeout", "caught by type check"}
NOT_COUNTED = {"skipped"}  # "# pragma: no mutate" lines
NOT_RUN = {"not checked"}  # not tested yet (a run with --mutants, or an interrupted one)


@dataclass
class Result:
    target: str
    statuses: dict[str, str]  # mutant -> mutmut status
    diffs: dict[str, str] = field(default_factory=dict)  # survivors -> diff
    equivalent: dict[str, str] = field(default_factory=dict)  # mutant -> reason
    stale: list[str] = field(default_factory=list)  # listed as equivalent, but the diff changed

    def counts(self) -> Counter[str]:
        return Counter(self.statuses.values())

    @property
    def survivors(self) -> list[str]:
        return sorted(m for m, s in self.statuses.items()
                      if s not in KILLED | NOT_COUNTED | NOT_RUN and m not in self.equivalent)

    @property
    def not_run(self) -> int:
        return sum(1 for s in self.statuses.values() if s in NOT_RUN)

    @property
    def score(self) -> tuple[int, int]:
        """(killed, non-equivalent mutants tested); a partial run leaves out the mutants not run."""
        killed = sum(1 for s in self.statuses.values() if s in KILLED)
        counted = sum(1 for m, s in self.statuses.items()
                      if s not in NOT_COUNTED | NOT_RUN and m not in self.equivalent)
        return killed, counted


def load_config() -> dict[str, Any]:
    with CONFIG.open("rb") as f:
        return tomllib.load(f)


def changed_lines(diff: str) -> list[str]:
    """The removed and added lines of a unified diff (what identifies a mutation)."""
    return [ln.rstrip() for ln in diff.splitlines()
            if ln[:1] in "+-" and not ln.startswith(("+++", "---"))]


def prepare(name: str, target: dict[str, Any], resume: bool) -> Path:
    work = WORK / name
    if not resume and work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True, exist_ok=True)
    for link in ("src", "tests"):
        if not (work / link).exists():
            (work / link).symlink_to(os.path.relpath(ROOT / link, work))
    (work / "var").mkdir(exist_ok=True)
    settings = {
        "source_paths": ["src"],
        "only_mutate": target["mutate"],
        "pytest_add_cli_args_test_selection": target["tests"],
        "pytest_add_cli_args": ["-p", "no:cacheprovider", *target.get("pytest_args", [])],
    }
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    pyproject += "\n[tool.mutmut]\n" + "".join(f"{k} = {json.dumps(v)}\n" for k, v in settings.items())
    (work / "pyproject.toml").write_text(pyproject, encoding="utf-8")
    return work


def run_mutmut(work: Path, database: str | None, names: list[str]) -> int:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "KOPECK_TEST_SERVICES")}
    env["KOPECK_VAR_DIR"] = str(work / "var")
    env["HYPOTHESIS_PROFILE"] = "mutation"  # no deadline: slowness is not a failure (tests/conftest.py)
    if database:
        env["DATABASE_URL"] = database
    mutmut = Path(sys.executable).with_name("mutmut")
    with (work / "run.log").open("w", encoding="utf-8") as log:
        return subprocess.run([str(mutmut), "run", "--max-children", "1", *names], cwd=work, env=env,
                              stdout=log, stderr=subprocess.STDOUT, check=False).returncode


def collect(name: str, work: Path, equivalents: list[dict[str, str]]) -> Result:
    """Read mutmut's results of the target (mutmut 3's own reader, in the target's directory)."""
    from mutmut import configuration
    from mutmut.mutation.data import SourceFileMutationData
    from mutmut.mutation.diff_apply import get_diff_for_mutant
    from mutmut.stats import status_by_exit_code
    from mutmut.utils.file_utils import walk_mutatable_files

    cwd = Path.cwd()
    os.chdir(work)
    try:
        configuration.reset_config()
        statuses: dict[str, str] = {}
        paths: dict[str, Path] = {}
        for path in walk_mutatable_files():
            data = SourceFileMutationData(path=path)
            data.load()
            for mutant, code in data.exit_code_by_key.items():
                statuses[mutant] = status_by_exit_code[code]
                paths[mutant] = path
        result = Result(name, statuses)
        listed = {e["mutant"]: e for e in equivalents}
        for mutant, status in statuses.items():
            if status in KILLED | NOT_COUNTED | NOT_RUN:
                continue
            diff = get_diff_for_mutant(mutant, path=paths[mutant])
            entry = listed.get(mutant)
            if entry is not None and changed_lines(entry["diff"]) == changed_lines(diff):
                result.equivalent[mutant] = entry["reason"]
                continue
            if entry is not None:
                result.stale.append(mutant)
            result.diffs[mutant] = diff
        return result
    finally:
        os.chdir(cwd)
        configuration.reset_config()


def report(results: list[Result], command: str) -> str:
    today = dt.date.today().isoformat()  # the report's own date, not product time
    out = [f"# Mutation testing report — {today}", "", f"Command: `{command}`", "",
           "| target | mutants | killed | survived | no tests | equivalent | not run | score |",
           "|---|---|---|---|---|---|---|---|"]
    total_killed = total_counted = 0
    for r in results:
        c = r.counts()
        killed, counted = r.score
        total_killed, total_counted = total_killed + killed, total_counted + counted
        out.append(f"| {r.target} | {len(r.statuses)} | {killed} | {c['survived'] + c['suspicious'] + c['segfault']} "
                   f"| {c['no tests']} | {len(r.equivalent)} | {r.not_run} | {pct(killed, counted)} |")
    out += [f"| **all** | | {total_killed} | | | | | **{pct(total_killed, total_counted)}** |", ""]
    partial = [r.target for r in results if r.not_run]
    if partial:
        out += [f"Partial ({', '.join(partial)}): the score is of the mutants tested; those not run are not "
                "counted (a run with --mutants, or an interrupted one: `--resume` tests them).", ""]
    for r in results:
        if r.stale:
            out += [f"Listed as equivalent but changed since (examine again): {', '.join(r.stale)}", ""]
        if not r.survivors:
            continue
        out += [f"## Surviving mutants of `{r.target}` ({len(r.survivors)})", ""]
        for mutant in r.survivors:
            out += [f"### {mutant} — {r.statuses[mutant]}", "", "```diff", r.diffs[mutant], "```", ""]
    return "\n".join(out)


def pct(killed: int, counted: int) -> str:
    return f"{100 * killed / counted:.1f} % ({killed}/{counted})" if counted else "—"


def main() -> int:
    config = load_config()
    targets: dict[str, dict[str, Any]] = config["targets"]
    parser = argparse.ArgumentParser(prog="scripts/mutation", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("targets", nargs="*", metavar="TARGET", help=f"default: all ({', '.join(targets)})")
    parser.add_argument("--list", action="store_true", help="list the targets and exit")
    parser.add_argument("--resume", action="store_true",
                        help="keep the previous state: continue an interrupted run, re-test only what changed")
    parser.add_argument("--retest", action="store_true",
                        help="with --resume: test the surviving mutants again (after adding tests)")
    parser.add_argument("--mutants", nargs="+", metavar="NAME",
                        help="test only these mutants (mutmut names; * and ? as wildcards, e.g. "
                             "'kopeck.core.subscriptions.actions.x__pricing*'); the others keep their last result")
    parser.add_argument("--report-only", action="store_true", help="only write the report of the last runs")
    parser.add_argument("--database", help="DATABASE_URL for the tests (default SQLite); needed for targets "
                                           "that set postgres = true")
    parser.add_argument("--fail-under", type=float, help="exit 1 when the overall score is below this percentage")
    args = parser.parse_args()
    if args.list:
        for name, target in targets.items():
            print(f"{name:14} {' '.join(target['mutate'])}")
        return 0
    unknown = [t for t in args.targets if t not in targets]
    if unknown:
        parser.error(f"unknown target(s): {', '.join(unknown)} (see --list)")
    chosen = args.targets or list(targets)
    equivalents: list[dict[str, str]] = config.get("equivalent", [])
    results = []
    for name in chosen:
        target = targets[name]
        database = (args.database or os.environ.get("DATABASE_URL")) if target.get("postgres") else None
        if target.get("postgres") and not (database or "").startswith("postgres"):
            print(f"{name}: needs PostgreSQL (--database postgres://…): the paths it mutates run there only",
                  file=sys.stderr)
            return 2
        work = WORK / name
        if not args.report_only:
            work = prepare(name, target, args.resume)
            names: list[str] = list(args.mutants or [])
            if args.retest and (work / "mutants").exists():
                names += collect(name, work, equivalents).survivors
            started = dt.datetime.now(dt.UTC)  # how long this tool ran
            print(f"== {name}: mutmut run (log: {work.relative_to(ROOT)}/run.log)", flush=True)
            code = run_mutmut(work, database, names)
            minutes = (dt.datetime.now(dt.UTC) - started).total_seconds() / 60
            if code != 0:
                print(f"{name}: mutmut exited with {code} after {minutes:.1f} min; see the log", file=sys.stderr)
                return 1
        result = collect(name, work, equivalents)
        killed, counted = result.score
        print(f"{name}: {len(result.statuses)} mutants, {pct(killed, counted)} killed, "
              f"{len(result.survivors)} surviving, {len(result.equivalent)} equivalent"
              + (f", {result.not_run} not run (partial)" if result.not_run else ""), flush=True)
        results.append(result)
    command = "scripts/mutation " + " ".join(sys.argv[1:])
    text = report(results, command.strip())
    WORK.mkdir(parents=True, exist_ok=True)
    (WORK / "REPORT.md").write_text(text + "\n", encoding="utf-8")
    print(f"report: {(WORK / 'REPORT.md').relative_to(ROOT)}")
    total_killed = sum(r.score[0] for r in results)
    total = sum(r.score[1] for r in results)
    if args.fail_under is not None and any(r.not_run for r in results):
        print("a partial run (mutants not run) cannot show the score --fail-under asks for", file=sys.stderr)
        return 1
    if args.fail_under is not None and total and 100 * total_killed / total < args.fail_under:
        print(f"score {pct(total_killed, total)} is below {args.fail_under} %", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
