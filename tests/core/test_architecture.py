"""The structure, checked rather than remembered (docs/architecture.md): the floors and the
Qt-free / PyTorch-free contracts (import-linter, pyproject.toml), no import cycle but the
registries' lazy imports, and no widget that knows the main window."""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parents[2]
UI = ROOT / "latentlab" / "ui"


def test_import_contracts_floors_and_qt_free_core():
    exe = shutil.which("lint-imports") or str(Path(sys.executable).with_name("lint-imports"))
    if not Path(exe).exists():
        pytest.fail("lint-imports is missing: install the test extra (pip install -e '.[test]')")
    proc = subprocess.run([exe], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "The floors" in proc.stdout and "broken" in proc.stdout  # the layers contract ran


def _cycles(graph) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    modules = sorted(m for m in graph.modules if m.startswith("latentlab"))
    edges = {m: sorted(i for i in graph.find_modules_directly_imported_by(m) if i.startswith("latentlab"))
             for m in modules}
    index, low, on_stack, stack, found, counter = {}, {}, set(), [], [], 0
    for root in modules:
        if root in index:
            continue
        work = [(root, 0)]
        while work:
            node, i = work.pop()
            if i == 0:
                index[node] = low[node] = counter
                counter += 1
                stack.append(node)
                on_stack.add(node)
            if i < len(edges[node]):
                work.append((node, i + 1))
                nxt = edges[node][i]
                if nxt not in index:
                    work.append((nxt, 0))
                elif nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
                continue
            for nxt in edges[node]:
                if nxt in on_stack:
                    low[node] = min(low[node], low[nxt])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_no_import_cycle_but_the_registries_lazy_imports():
    """The family and backbone registries import their members when asked (a registry
    filled by decorators); every other module sits on a floor above what it imports."""
    for cycle in _cycles(grimp.build_graph("latentlab")):
        assert all(m.startswith("latentlab.models.") for m in cycle), cycle
        assert any(m.endswith((".registry", ".backbones")) for m in cycle), cycle


def test_no_widget_knows_the_main_window():
    """Only the window's own module and the app's entry point name MainWindow: the rooms get
    the app state, the explorer, the error sink and the widgets they drive."""
    naming = sorted(str(p.relative_to(UI)) for p in UI.rglob("*.py") if "MainWindow" in p.read_text())
    assert naming == ["main/app.py", "main/main_window.py"]


def test_no_probing_which_session_it_is():
    """The session protocol (app/protocol.py) declares what the window reads; nobody probes."""
    probes = [str(p.relative_to(ROOT)) for p in (ROOT / "latentlab").rglob("*.py")
              if re.search(r"getattr\([^)]*\"(is_preview|data_note)\"", p.read_text())
              or re.search(r"getattr\((self\.)?session, \"", p.read_text())]
    assert probes == []


#: The objects whose job is the top-level window itself (its size on the screen, full
#: screen, the first paint): they get it as a plain QWidget and use Qt's widget API only.
WINDOW_CONTROLLERS = {"ScreenFit", "PresentationMode", "StartupTrace"}


def test_no_widget_constructor_takes_the_window():
    """A constructor in ui/ with a ``window`` parameter belongs to a window controller, and
    none of those is a widget (widgets get a parent, the state, the sink, the widgets they drive)."""
    import ast
    import importlib

    takers = {}
    for path in UI.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ClassDef):
                for item in node.body:
                    if isinstance(item, ast.FunctionDef) and item.name == "__init__" \
                            and any(a.arg in ("window", "main_window") for a in item.args.args + item.args.kwonlyargs):
                        takers[node.name] = ".".join(path.relative_to(ROOT).with_suffix("").parts)
    assert set(takers) == WINDOW_CONTROLLERS
    from PySide6.QtWidgets import QWidget

    for name, module in takers.items():
        assert not issubclass(getattr(importlib.import_module(module), name), QWidget), name


def test_ui_is_in_rooms():
    """ui/ holds sub-packages that name the rooms, no loose modules."""
    loose = sorted(p.name for p in UI.glob("*.py") if p.name != "__init__.py")
    assert loose == []
    assert {p.name for p in UI.iterdir() if (p / "__init__.py").exists()} >= {"main", "map", "panels", "analysis"}


def test_importing_the_core_and_the_app_state_loads_no_qt():
    code = (
        "import sys, latentlab.models, latentlab.training.trainer, latentlab.data, latentlab.cli,"
        " latentlab.app.session, latentlab.app.state, latentlab.app.analysis_jobs, latentlab.app.training_job;"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('PySide6', 'pyqtgraph', 'shiboken6')];"
        "print(bad); sys.exit(1 if bad else 0)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
