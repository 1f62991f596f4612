"""`import hfgan` and the CLI's --help stay cheap: torch, diffusers, datasets and transformers load on first use.

`import hfgan` also prepares the registration of its classifiers with transformers (hfgan.integrations) without
importing transformers: the checks below cover it.
"""

import ast
import importlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("torch", "diffusers", "datasets", "transformers", "huggingface_hub", "numpy", "PIL")
PACKAGES = (
    "hfgan", "hfgan.models", "hfgan.pipelines", "hfgan.metrics", "hfgan.data", "hfgan.training", "hfgan.integrations",
    "hfgan.conversion",
)


def heavy_modules_after(code: str) -> list[str]:
    probe = f"{code}\nimport json, sys\nprint(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("package", PACKAGES)
def test_importing_a_package_imports_nothing_heavy(package):
    assert heavy_modules_after(f"import {package}") == []


@pytest.mark.parametrize("argv", [["--help"], ["sample", "--help"], ["evaluate", "--help"], ["prepare-data", "--help"]])
def test_cli_help_imports_nothing_heavy(argv):
    code = f"from hfgan.cli import main\ntry:\n    main({argv!r})\nexcept SystemExit as e:\n    assert e.code == 0"
    assert heavy_modules_after(code) == []


@pytest.mark.parametrize("package", PACKAGES)
def test_every_public_name_resolves_and_is_listed_for_type_checkers(package):
    module = importlib.import_module(package)
    for name in module.__all__:
        assert getattr(module, name) is not None, name
    assert set(module.__all__) <= set(dir(module))
    # the names imported under `if TYPE_CHECKING:` (what type checkers and editors see) are exactly the lazy ones
    tree = ast.parse(Path(module.__file__).read_text())
    block = next(n for n in tree.body if isinstance(n, ast.If) and getattr(n.test, "id", None) == "TYPE_CHECKING")
    typed = {alias.asname or alias.name for node in block.body for alias in node.names}
    assert typed == set(module.__all__) - {"__version__"}


def test_an_unknown_name_is_an_attribute_error():
    import hfgan

    with pytest.raises(AttributeError, match="no attribute 'DCGANPipelin'"):
        hfgan.DCGANPipelin  # noqa: B018
