"""Every Schemathesis check against a live gunicorn, as a coordinator, a student and an SME.

test_api_schemathesis.py runs four checks in-process; this runs `schemathesis run --checks all`
(every phase: examples, coverage, fuzzing, stateful) over HTTP against gunicorn serving a seeded
SQLite file, the way a university's program would meet the API. Among the checks only this run
has: positive_data_acceptance (what the description allows is accepted), negative_data_rejection
(what it forbids is refused), unsupported_method (405 with `Allow`), ignored_auth,
use_after_free, ensure_resource_availability, missing_required_header. Any failure fails the
test, with Schemathesis' report (and a curl command per failure) in the message.
scripts/api_live_check.py does the same with more examples.
"""

from __future__ import annotations

import importlib.util
import sys
import time
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
# (role, examples per operation, extra arguments). The coordinator reaches every operation: every
# phase, except that the coverage phase leaves out the two sign-ups (it tries each of the ~250
# country and ~180 language codes in turn: minutes; scripts/api_live_check.py runs them), which
# the fuzzing run then covers. The student and the SME fuzz what only they may do (decisions,
# kickoff, export status). Bounded so that the whole test stays near a minute on a quiet machine.
SIGNUPS = ["--exclude-operation-id", "createStudent", "--exclude-operation-id", "createSme"]
RUNS = (
    ("coordinator", 4, ["--phases", "examples,coverage,stateful", *SIGNUPS]),
    ("coordinator", 4, ["--phases", "fuzzing"]),
    ("student", 2, ["--phases", "fuzzing,stateful", *SIGNUPS]),
    ("sme", 2, ["--phases", "fuzzing,stateful", *SIGNUPS]),
)


def _live_check() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "api_live_check", ROOT / "scripts/api_live_check.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_every_check_passes_against_gunicorn(tmp_path: Path, capsys: Any) -> None:
    live = _live_check()
    env = live.environment(tmp_path)
    started = time.monotonic()
    live.prepare(env, students=8, smes=4)
    report = []
    with live.gunicorn(env, tmp_path) as base:
        for role, examples, extra in RUNS:
            began = time.monotonic()
            code, failures, output = live.run_schemathesis(
                base, env, tmp_path, role, max_examples=examples, seed=1, extra=extra
            )
            assert code == 0 and not failures, f"{role}: {failures}\n\n{output[-20000:]}"
            report.append(f"{role} {extra[1]}: 0 failures, {time.monotonic() - began:.0f} s")
    with capsys.disabled():
        print(
            f"\nschemathesis --checks all against gunicorn in {time.monotonic() - started:.0f} s: "
            + "; ".join(report)
        )
