"""Build hook: ship the dbt package inside the wheel, so `okr-kpi init` pins the matching version.

pyproject.toml holds all the metadata; this file only adds one step to `build_py`: copy the dbt
package (dbt_project.yml and the folders it names) into okr_kpi/dbt_package/ of the build.
The copy exists only in the build directory and the wheel; nothing is written to scripts/.
See docs/install.md ("What the wheel holds").
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
# What a consumer's `dbt deps` needs: the project file and the folders dbt reads from a package.
DBT_PACKAGE_FILES = ("dbt_project.yml", "README.md")
DBT_PACKAGE_DIRS = ("macros", "models", "seeds", "analyses", "tests/dbt")
IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", "target", "dbt_packages", "logs")


class BuildPyWithDbtPackage(build_py):
    def run(self) -> None:
        if not self.editable_mode:
            # build/lib survives between builds: start from nothing so that a module removed
            # from scripts/ is not shipped again from an earlier build.
            shutil.rmtree(Path(self.build_lib) / "okr_kpi", ignore_errors=True)
        super().run()
        if self.editable_mode:  # an editable install reads the checkout itself
            return
        dest = Path(self.build_lib) / "okr_kpi" / "dbt_package"
        if dest.exists():
            shutil.rmtree(dest)
        dest.mkdir(parents=True)
        for name in DBT_PACKAGE_FILES:
            if (ROOT / name).is_file():
                shutil.copy2(ROOT / name, dest / name)
        for name in DBT_PACKAGE_DIRS:
            if (ROOT / name).is_dir():
                shutil.copytree(ROOT / name, dest / name, ignore=IGNORE)


setup(cmdclass={"build_py": BuildPyWithDbtPackage})
