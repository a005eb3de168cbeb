"""The codebase's own rules, checked: the reference imports without the extension, the package's
modules import each other in one direction only, no source file outgrows 500 lines, and the code
points at the project's docs/, not at documents outside the repository."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "python" / "llamatok"
MAX_LINES = 500


def python_sources() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "data" not in p.relative_to(PACKAGE).parts)


def module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


KNOWN = {module_name(p) for p in python_sources()}


def module_level_imports(path: Path) -> set[str]:
    """The llamatok modules a file imports when it is imported (not inside functions, not under
    ``if TYPE_CHECKING``)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    here = module_name(path)
    package = here if path.name == "__init__.py" else here.rpartition(".")[0]
    out: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            continue
        for sub in ast.walk(node) if not isinstance(node, (ast.FunctionDef, ast.ClassDef)) else []:
            if isinstance(sub, ast.Import):
                out.update(a.name for a in sub.names if a.name.startswith("llamatok"))
            elif isinstance(sub, ast.ImportFrom):
                if sub.level:
                    base = package.rsplit(".", sub.level - 1)[0] if sub.level > 1 else package
                    target = f"{base}.{sub.module}" if sub.module else base
                else:
                    target = sub.module or ""
                if not target.startswith("llamatok"):
                    continue
                # `from pkg import sub` imports the submodule `sub`; `from mod import name`, the module.
                names = [f"{target}.{a.name}" for a in sub.names]
                submodules = [n for n in names if n in KNOWN]
                out.update(submodules if len(submodules) == len(names) else [target, *submodules])
    return {m for m in out if m in KNOWN and m != here}


def test_the_package_has_no_import_cycles():
    graph = {module_name(p): module_level_imports(p) for p in python_sources()}
    # The package's __init__ re-exports lazily and imports nothing at module level.
    assert graph["llamatok"] == set(), graph["llamatok"]
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                cycle = path[path.index(nxt):] + [nxt]
                raise AssertionError("import cycle: " + " -> ".join(cycle))
            if nxt not in state:
                visit(nxt)
        path.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)


def test_the_reference_imports_without_the_extension():
    code = (
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'llamatok._native':\n"
        "            raise ImportError('the extension is blocked for this test')\n"
        "sys.meta_path.insert(0, Block())\n"
        "import llamatok.reference as r\n"
        "import llamatok.constants\n"
        "assert 'llamatok._native' not in sys.modules\n"
        "print(r.ReferenceTokenizer.__name__)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "ReferenceTokenizer"


def test_no_source_file_over_500_lines():
    # Not the fuzz crate's build output (rust/fuzz/target/), which holds generated sources.
    rust = sorted(p for p in (ROOT / "rust").rglob("*.rs") if "target" not in p.relative_to(ROOT).parts)
    long = [f"{p.relative_to(ROOT)}: {n}" for p in [*python_sources(), *rust]
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES]
    assert long == [], long


def test_code_cites_the_projects_docs_not_outside_documents():
    cited = []
    for folder in ("python", "rust", "tests", "benches"):
        for p in (ROOT / folder).rglob("*"):
            if "target" in p.relative_to(ROOT).parts:
                continue
            if p.suffix in (".py", ".rs", ".pyi", ".toml") and p != Path(__file__):
                text = p.read_text(encoding="utf-8", errors="replace")
                if "SPEC §" in text or "SPEC.md" in text or "SPEC section" in text:
                    cited.append(str(p.relative_to(ROOT)))
    assert cited == [], f"cite docs/ instead of SPEC: {cited}"
    for doc in ("encoding", "decoding", "model-files", "infill", "preprocess", "shards", "architecture-core",
                "architecture-python", "transformers", "speed"):
        assert (ROOT / "docs" / f"{doc}.md").is_file(), doc
