"""docs/schedules.md lists exactly the Quartz forms duftui refuses, with their messages,
and the Quartz forms it says work are accepted."""

from __future__ import annotations

import re

import pytest

from duftui.definitions.schedules import REFUSED_QUARTZ_FORMS, normalize_cron
from tests.conftest import REPO

DOC = (REPO / "docs" / "schedules.md").read_text(encoding="utf-8")
SECTION = DOC.split("<!-- refused-quartz-forms:", 1)[1].split("\n\n", 1)[0]
ROWS = [
    tuple(cell.strip() for cell in line.strip("|").split("|"))
    for line in SECTION.splitlines()[3:]
    if line.startswith("|")
]


def test_the_docs_list_exactly_the_refused_forms() -> None:
    assert len(ROWS) >= 10
    assert sorted(form for form, _, _ in ROWS) == sorted(REFUSED_QUARTZ_FORMS)


@pytest.mark.parametrize(("form", "example", "message"), ROWS, ids=[r[0] for r in ROWS])
def test_each_documented_form_is_refused_with_its_message(
    form: str, example: str, message: str
) -> None:
    expression = example.strip("`")
    with pytest.raises(ValueError) as caught:
        normalize_cron(expression)
    assert str(caught.value) == message
    template = REFUSED_QUARTZ_FORMS[form]
    pattern = re.escape(template).replace(r"\{day\}", ".+").replace(r"\{months\}", ".+")
    assert re.search(pattern.replace(r"\{field\}", ".+"), message), form


ACCEPTED = re.findall(r"`([^`]+)`", DOC.split("### Quartz expressions", 1)[1].split("These Quartz forms", 1)[0])


@pytest.mark.parametrize(
    "expression",
    ["0 0 6 ? * MON-FRI", "0 0 6 L * ?", "0 0 6 1,L * ?", "0 0 6 15W * ?", "0 0 6 ? * FRI#3",
     "0 0 6 * * FRI#3", "0 0 6 ? * MON#1,FRI#3", "0 0/15 * * * ?", "0 0 6 ? JAN-MAR SUN"],
)
def test_the_quartz_forms_the_docs_call_working_are_accepted(expression: str) -> None:
    assert normalize_cron(expression) == expression


def test_the_docs_name_the_working_forms() -> None:
    for form in ("?", "L", "1,L", "15W", "FRI#3", "MON#1,FRI#3", "0/15"):
        assert form in ACCEPTED
