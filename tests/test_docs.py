"""Every ```python block in docs/ runs, page by page, in a fresh folder (blocks of one page share a namespace).

Pages may push to the Hub: the blocks see the local Hub test server and a valid HF_TOKEN.
"""

import re
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[1] / "docs"
BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)
PAGES = sorted(p for p in DOCS.rglob("*.md") if BLOCK.search(p.read_text()))


def test_docs_have_examples():
    assert len(PAGES) >= 3


@pytest.mark.parametrize("page", PAGES, ids=[p.relative_to(DOCS).as_posix() for p in PAGES])
def test_doc_examples_run(page, tmp_path, monkeypatch, hub):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HF_TOKEN", hub.token)
    (tmp_path / "data").symlink_to(DOCS.parent / "data", target_is_directory=True)  # shipped datasets
    (tmp_path / "zoo").symlink_to(DOCS.parent / "zoo", target_is_directory=True)  # trained releases
    namespace = {"__name__": f"docs_{page.stem}"}
    for i, block in enumerate(BLOCK.findall(page.read_text())):
        code = compile(block, f"{page.name}[block {i}]", "exec")
        exec(code, namespace)  # noqa: S102 - the docs are ours
