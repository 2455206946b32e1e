"""``python -m scoring integrity``: the findings printed, the section as JSON, exit 2 on bad input."""

from __future__ import annotations

import json

import pytest

from scoring.cli import main
from scoring.synthetic import IntegrityPlants, generate_survey

from .conftest import QUESTIONNAIRE_DIR


@pytest.fixture(scope="module")
def wave(tmp_path_factory, questionnaires):
    plants = IntegrityPlants(random_coached_points=1, coached_responses=40, bot_responses=60)
    _, sample = generate_survey(
        3000, seed=2, population_size=50_000, questionnaires=questionnaires, integrity=plants, paradata=True
    )
    path = tmp_path_factory.mktemp("integrity") / "responses.csv"
    sample.responses.to_csv(path, index=False)
    return sample, path


def test_integrity_prints_the_flagged_point_and_writes_the_section(wave, tmp_path, capsys):
    sample, path = wave
    out = tmp_path / "integrity.json"
    status = main(
        ["integrity", "--responses", str(path), "--questionnaires", str(QUESTIONNAIRE_DIR), "--json", str(out)]
    )
    assert status == 0
    printed = capsys.readouterr().out
    (coached,) = sample.integrity.coached_points
    assert f"  {coached} (" in printed
    assert "Points tested: 48; flagged: 1" in printed
    assert "Addresses tested: 8; flagged: 8" in printed
    for address in sample.integrity.bot_addresses:
        assert address not in printed
        assert address[:12] in printed
    section = json.loads(out.read_text(encoding="utf-8"))
    assert [entry["point"] for entry in section["flagged_points"]] == [coached]
    assert len(section["flagged_addresses"]) == 8
    assert section["headline"] == {"all_responses": None, "without_flagged": None, "with_office_exclusions": None}


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--fdr", "0.7"], "fdr must be a rate between 0 and 0.5"),
        (["--min-point-responses", "1"], "min_point_responses must be a whole number ≥ 5"),
    ],
)
def test_bad_options_exit_2_and_write_nothing(wave, tmp_path, capsys, extra, message):
    _, path = wave
    out = tmp_path / "integrity.json"
    assert main(["integrity", "--responses", str(path), "--json", str(out), *extra]) == 2
    assert message in capsys.readouterr().err
    assert not out.exists()


def test_an_unknown_column_exits_2_naming_it(tmp_path, capsys):
    path = tmp_path / "responses.csv"
    path.write_text("response_id,point,education.school_places,ip_address\nr1,hosp-01,4,10.0.0.1\n", encoding="utf-8")
    out = tmp_path / "integrity.json"
    assert main(["integrity", "--responses", str(path), "--json", str(out)]) == 2
    assert "unknown column 'ip_address'" in capsys.readouterr().err
    assert not out.exists()
