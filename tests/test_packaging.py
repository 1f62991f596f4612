import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_every_subpackage_is_listed_in_pyproject():
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    on_disk = {
        ".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "hfgan").rglob("__init__.py")
    } | {"hfgan.model_cards"}
    assert on_disk == listed


def test_library_never_imports_hydra_or_wandb():
    offenders = [
        str(p.relative_to(ROOT))
        for p in (ROOT / "hfgan").rglob("*.py")
        for line in p.read_text().splitlines()
        if line.strip().startswith(("import hydra", "from hydra", "import wandb", "from wandb"))
    ]
    assert offenders == []


def test_model_card_template_ships_with_the_package():
    from importlib import resources

    assert "library_name" not in resources.files("hfgan.model_cards").joinpath("model_card.md.j2").read_text()
    assert "{{ card_data }}" in resources.files("hfgan.model_cards").joinpath("model_card.md.j2").read_text()


def test_license_is_an_spdx_string_and_the_build_backend_reads_it():
    # the TOML-table form ({ text = ... }) is deprecated: setuptools warns about it on every install; the SPDX string
    # needs setuptools >= 77
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert project["project"]["license"] == "Apache-2.0"
    requires = project["build-system"]["requires"]
    assert any(r.replace(" ", "").startswith("setuptools>=") and int(r.split(">=")[1].split(".")[0]) >= 77
               for r in requires), requires
