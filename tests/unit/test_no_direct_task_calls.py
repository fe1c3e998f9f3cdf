"""Background work starts one way: through the outbox (marketplace/services/outbox.py),
which survives a broker outage. Any `.delay(…)` / `.apply_async(…)` elsewhere in the
project — called, or passed on as `functools.partial(task.delay, …)` — would fail the
write it follows, or lose the task, when Redis is down."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("marketplace", "grading", "wipe_cert", "search", "cms", "config")
ALLOWED = {Path("marketplace/services/outbox.py")}
SENDING = {"delay", "apply_async"}


def direct_sends(source: str) -> list[int]:
    """Lines where `.delay` or `.apply_async` is used (a call or a reference)."""
    return sorted(
        node.lineno for node in ast.walk(ast.parse(source)) if isinstance(node, ast.Attribute) and node.attr in SENDING
    )


def project_files() -> list[Path]:
    return sorted(
        path
        for package in PACKAGES
        for path in (ROOT / package).rglob("*.py")
        if "migrations" not in path.relative_to(ROOT).parts
    )


def test_the_walk_sees_every_package():
    files = project_files()
    for package in PACKAGES:
        assert any(path.relative_to(ROOT).parts[0] == package for path in files), package
    assert ROOT / "marketplace/services/outbox.py" in files


def test_the_check_finds_calls_and_references():
    source = "import functools\ntask.delay(1)\nx.apply_async(kwargs={})\nf = functools.partial(t.delay, a=1)\n"
    assert direct_sends(source) == [2, 3, 4]
    assert direct_sends("delay = 3\nsleep(delay)\n") == []


def test_no_task_is_sent_except_through_the_outbox():
    found = [
        f"{path.relative_to(ROOT)}:{line}"
        for path in project_files()
        if path.relative_to(ROOT) not in ALLOWED
        for line in direct_sends(path.read_text(encoding="utf-8"))
    ]
    assert found == [], "Send tasks with marketplace.services.outbox.task_enqueue_on_commit:\n" + "\n".join(found)
