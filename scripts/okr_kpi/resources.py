"""Files the toolkit reads at run time, all package data of okr_kpi (docs/install.md).

- the Great Expectations context template: okr_kpi/checks/great_expectations.yml, written into a
  project's gx/ by its first check;
- the templates of `okr-kpi init`: okr_kpi/init_templates/;
- the dbt package itself: okr_kpi/dbt_package/ in a built wheel (copied in by setup.py), so that
  `okr-kpi init` points a new project at the package of exactly this version. Run from a source
  checkout (an editable install, or PYTHONPATH=scripts) the checkout is the package.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from okr_kpi.project import OkrKpiError

PACKAGE = "okr_kpi"


def _package_root() -> Path:
    return Path(str(resources.files(PACKAGE)))


def gx_template_text() -> str:
    """The GX context config (great_expectations.yml) a project's gx/ starts from."""
    return (resources.files(PACKAGE) / "checks" / "great_expectations.yml").read_text()


def init_templates_dir() -> Path:
    return _package_root() / "init_templates"


def _is_dbt_package(path: Path) -> bool:
    project_file = path / "dbt_project.yml"
    if not project_file.is_file():
        return False
    import yaml

    try:
        return (yaml.safe_load(project_file.read_text()) or {}).get("name") == PACKAGE
    except yaml.YAMLError:
        return False


def dbt_package_dir() -> Path:
    """The okr_kpi dbt package matching this toolkit: shipped in the wheel, else the source checkout."""
    shipped = _package_root() / "dbt_package"
    if _is_dbt_package(shipped):
        return shipped
    # A source checkout: scripts/okr_kpi/ lies two levels below the package's dbt_project.yml.
    checkout = _package_root().parent.parent
    if (checkout / "scripts" / PACKAGE).is_dir() and _is_dbt_package(checkout):
        return checkout
    raise OkrKpiError(
        "this okr-kpi install holds no dbt package (okr_kpi/dbt_package): install okr-kpi from a "
        "built wheel, or use --package-git/--package-local to say where the dbt package is"
    )
