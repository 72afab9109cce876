"""Every test and doctest starts with a fresh default graph, so placeholder names never clash."""

import pytest

import symgrad as sg


@pytest.fixture(autouse=True)
def _fresh_default_graph():
    sg.reset_default_graph()
    yield
