"""The shape the code keeps so one screen shows a module's purpose (issue 10's limits).

- No application module over 600 lines (migrations aside).
- At most a dozen imports of the project's own modules inside functions in the whole tree,
  each with a comment on its line or the line above saying why (a real cycle, or
  AppConfig.ready() wiring signal handlers).
"""

import ast
from pathlib import Path

from django.conf import settings

APPS = ("cms", "courses", "certification", "payments")
MAX_MODULE_LINES = 600
MAX_LOCAL_IMPORTS = 12


def _modules():
    root = Path(settings.BASE_DIR)
    for app in APPS:
        for path in sorted((root / app).rglob("*.py")):
            if "migrations" not in path.parts:
                yield path.relative_to(root), path.read_text(encoding="utf-8")


def _is_project_import(node):
    if isinstance(node, ast.ImportFrom):
        return node.level > 0 or (node.module or "").split(".")[0] in APPS
    if isinstance(node, ast.Import):
        return any(alias.name.split(".")[0] in APPS for alias in node.names)
    return False


def _local_imports(source):
    """(line number, has a reason) for each project import inside a function body."""
    lines = source.splitlines()
    found = set()
    for function in ast.walk(ast.parse(source)):
        if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        for node in ast.walk(function):
            if _is_project_import(node):
                line = lines[node.lineno - 1]
                above = lines[node.lineno - 2].strip() if node.lineno > 1 else ""
                found.add((node.lineno, "#" in line or above.startswith("#")))
    return found


def test_no_application_module_is_over_600_lines():
    too_long = {
        str(path): len(source.splitlines())
        for path, source in _modules()
        if len(source.splitlines()) > MAX_MODULE_LINES
    }
    assert too_long == {}


def test_imports_inside_functions_are_few_and_each_says_why():
    local = [
        (f"{path}:{lineno}", has_reason)
        for path, source in _modules()
        for lineno, has_reason in sorted(_local_imports(source))
    ]
    assert [where for where, has_reason in local if not has_reason] == []
    assert len(local) <= MAX_LOCAL_IMPORTS, [where for where, _ in local]


def test_the_check_sees_a_local_import_and_its_reason():
    source = (
        "def ready(self):\n"
        "    # the signal handlers need the app registry\n"
        "    from cms import signals\n"
        "def f():\n"
        "    from courses.models import EventPage\n"
    )
    assert _local_imports(source) == {(3, True), (5, False)}
