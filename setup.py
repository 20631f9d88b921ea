"""Build hook: a wheel carries templates/ and question_banks/ inside the package.

They stay at the top of the repository, where editors and reviewers find them; an installed
package has no checkout to read them from, so the build copies them to `assessment/templates/` and
`assessment/question_banks/`, where `assessment.config.RESOURCE_ROOT` looks first.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

RESOURCES = ("templates", "question_banks")


class BuildWithResources(build_py):
    def run(self) -> None:
        super().run()
        if self.editable_mode:  # an editable install reads them from the checkout
            return
        root = Path(__file__).resolve().parent
        for name in RESOURCES:
            shutil.copytree(root / name, Path(self.build_lib) / "assessment" / name,
                            dirs_exist_ok=True)


setup(cmdclass={"build_py": BuildWithResources})
