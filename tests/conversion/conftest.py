import pytest
from official_pickles import fake_official_modules


@pytest.fixture
def official(monkeypatch):
    """The official module names, faked: what is pickled while this fixture is active names NVIDIA's globals."""
    return fake_official_modules(monkeypatch)
