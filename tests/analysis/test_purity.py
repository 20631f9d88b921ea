"""The analysis core stays pure: no Flask, no SQLAlchemy, nothing from the web or database."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "assessment" / "analysis"
# scikit-learn's own dependency threadpoolctl keeps k-means single-threaded (clustering.py).
ALLOWED = {"pandas", "numpy", "scipy", "sklearn", "threadpoolctl", "pydantic"}


def test_importing_the_analysis_leaves_flask_and_sqlalchemy_out():
    # In a fresh interpreter: other tests in this process import Flask.
    code = ("import sys, assessment.analysis; "
            "bad = sorted(m for m in ('flask', 'sqlalchemy', 'werkzeug') if m in sys.modules); "
            "print(bad); sys.exit(1 if bad else 0)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=PACKAGE.parents[1])
    assert done.returncode == 0, done.stdout + done.stderr


def test_analysis_imports_only_the_scientific_stack_and_banks():
    stdlib = set(sys.stdlib_module_names)
    for path in PACKAGE.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level > 0:
                continue  # within the analysis package
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module] if isinstance(node, ast.ImportFrom) else [])
            for name in names:
                top = name.split(".")[0]
                assert (top in stdlib or top in ALLOWED or name.startswith("assessment.banks")
                        or top == "__future__"), f"{path.name} imports {name}"
