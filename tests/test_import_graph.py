"""The apps depend one way (DESIGN.md): no circle of imports between them, in the suite as in `make lint`."""

from __future__ import annotations

import itertools

import grimp

# Lowest first: each app may import only the apps before it.
LAYERS = ["core", "accounts", "billing", "developer", "webhooks", "phone", "agents", "demo"]


def _graph() -> grimp.ImportGraph:
    return grimp.build_graph(*LAYERS, "config", cache_dir=None)


def test_no_app_imports_an_app_above_it() -> None:
    graph = _graph()
    upward = [
        f"{lower} -> {higher}: "
        + ", ".join(
            f"{chain[0]} -> {chain[-1]}"
            for chain in sorted(graph.find_shortest_chains(importer=lower, imported=higher, as_packages=True))[:3]
        )
        for (i, lower), (j, higher) in itertools.product(enumerate(LAYERS), repeat=2)
        if i < j and graph.direct_import_exists(importer=lower, imported=higher, as_packages=True)
    ]
    assert upward == []


def test_there_is_no_import_cycle_between_the_apps() -> None:
    graph = _graph()
    cycles = [
        f"{a} <-> {b}"
        for a, b in itertools.combinations(LAYERS, 2)
        if graph.chain_exists(importer=a, imported=b, as_packages=True)
        and graph.chain_exists(importer=b, imported=a, as_packages=True)
    ]
    assert cycles == []


def test_nothing_imports_the_demo_app() -> None:
    graph = _graph()
    importers = {
        module
        for module in graph.find_modules_that_directly_import("demo", as_package=True)
        if module.split(".")[0] != "demo"
    }
    assert importers == set()
