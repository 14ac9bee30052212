"""Hypothesis fuzzing of every input parser we wrote (the properties live in fuzz_properties.py).

In CI each parser gets ``SNAPSET_FUZZ_EXAMPLES`` inputs (default 300: a few thousand in all);
bench/fuzz.py runs the same properties over a million. The inputs that once broke a parser
(``FOUND`` in fuzz_properties.py) are replayed first on every run. A failure is shrunk by
Hypothesis to a small input that makes our code raise an undocumented error or return
something that breaks its promise.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, example, given, settings

from tests.reliability.fuzz_properties import FOUND, Parser, parsers

pytestmark = pytest.mark.reliability

EXAMPLES = int(os.environ.get("SNAPSET_FUZZ_EXAMPLES", "300"))
NAMES = [
    "explore_query",
    "iso_time",
    "metadata_schema",
    "metadata_value",
    "metadata_csv",
    "metadata_json",
    "metadata_form",
    "import_folder",
    "upload_name",
    "stage_uploads",
    "zip_members",
    "jwt",
]


@pytest.fixture(scope="module")
def by_name(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Parser]:
    return {p.name: p for p in parsers(tmp_path_factory.mktemp("fuzz") / "work")}


def test_every_parser_is_fuzzed(by_name: dict[str, Parser]) -> None:
    assert sorted(by_name) == sorted(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_a_parser_answers_hostile_input_only_with_its_documented_errors(
    by_name: dict[str, Parser], name: str
) -> None:
    parser = by_name[name]
    test = given(parser.strategy)(parser.run)
    for known in FOUND.get(name, []):  # inputs that once broke it come first, every run
        test = example(known)(test)
    settings(
        max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck)
    )(test)()
