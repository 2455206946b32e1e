"""A wave's analysis settings: validation, exact round trip, digest, and running from them."""

from __future__ import annotations

import json

import pytest

from scoring.errors import SettingsError
from scoring.pipeline import EstimateOptions, run_estimate
from scoring.screening import ScreeningRules
from scoring.settings import AnalysisSettings, margins_rows_from_csv

from .support import small_margins, small_responses

MARGINS_CSV = "variable,level,population\ntown,xicheng,20000\ntown,dongcheng,15000\ntown,jinan,10000\n"
MARGINS_CSV += "town,mashan,5000\nsex,male,25500\nsex,female,24500\n"
BENCHMARKS_CSV = "year,level,unit,score,rank,se,source\n2021,national,全国,79.09,,,SAMR 2021 No. 39\n"


def full_settings() -> AnalysisSettings:
    return AnalysisSettings(
        target=85,
        target_metric="satisfied_rate",
        mapping="monitoring",
        variance="bootstrap",
        replicates=600,
        seed=7,
        screening=ScreeningRules(speeder_fraction=0.25),
        min_n=40,
        min_psus=6,
        domain_weights={"education": 2.0, "healthcare": 1.0},
        margins=margins_rows_from_csv(MARGINS_CSV),
        trim=(0.3, 3.0),
        benchmarks=BENCHMARKS_CSV,
        assumed_se=1.5,
        illustrative=True,
    ).validate()


def test_defaults_are_the_design_of_what_manyi_collects():
    settings = AnalysisSettings().validate()
    assert (settings.strata, settings.cluster, settings.lonely_psu) == ("point_town", "point", "adjust")
    assert (settings.target, settings.target_metric, settings.mapping) == (85.0, "index", "linear")
    assert (settings.min_n, settings.min_psus, settings.assumed_se) == (30, 5, 1.0)
    assert settings.screening.straight_line_fast_fraction == 0.5


def test_to_dict_is_json_and_round_trips_exactly():
    settings = full_settings()
    data = settings.to_dict()
    text = json.dumps(data, ensure_ascii=False, allow_nan=False)
    again = AnalysisSettings.from_dict(json.loads(text))
    assert again == settings
    assert again.to_dict() == data
    assert again.digest() == settings.digest() and len(settings.digest()) == 64
    assert data["margins"]["rows"][0] == ["town", "xicheng", 20000]
    assert data["benchmarks"]["csv"] == BENCHMARKS_CSV and len(data["benchmarks"]["sha256"]) == 64
    assert "/" not in json.dumps({k: v for k, v in data.items() if k != "benchmarks"})  # no paths anywhere


def test_a_change_changes_the_digest_and_is_named():
    settings = full_settings()
    other = settings.replace(mapping="linear", margins=margins_rows_from_csv(MARGINS_CSV.replace("5000", "5001")))
    assert other.digest() != settings.digest()
    differences = settings.differences(other)
    assert set(differences) == {"mapping", "margins"}
    assert differences["mapping"] == ("monitoring", "linear")
    assert differences["margins"][0] == settings.margins_sha256


def test_whole_populations_have_one_form():
    a = AnalysisSettings(margins=(("sex", "male", 25500.0), ("sex", "female", 24500)))
    b = AnalysisSettings(margins=(("sex", "male", 25500), ("sex", "female", 24500.0)))
    assert a == b and a.digest() == b.digest() and a.margins_sha256 == b.margins_sha256


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"mapping": "percent"}, "mapping must be one of linear, monitoring"),
        ({"target": 0.85, "target_metric": "satisfied_rate"}, "write the target as a percentage"),
        ({"target_metric": "median"}, "target_metric must be one of index, satisfied_rate"),
        ({"variance": "sdr"}, "variance must be one of linearization, jackknife, bootstrap"),
        ({"replicates": 100}, "replicates apply to the bootstrap only"),
        ({"lonely_psu": "certainty"}, "lonely_psu must be one of fail, adjust"),
        ({"min_psus": 1}, "min_psus .* must be a whole number ≥ 2"),
        ({"min_n": 0}, "min_n .* must be a whole number ≥ 1"),
        ({"suppress_max_cv": 0}, "suppress_max_cv must be a positive number"),
        ({"rate_interval": "wald"}, "rate_interval must be one of logit, korn_graubard, wilson"),
        ({"domain_weights": {"parks": 1}}, "'parks' is not a domain id"),
        ({"domain_weights": {"education": -1}}, r"domain_weights\['education'\] must be a positive number"),
        ({"margins": (("sex", "male", -5),)}, "population for sex=male must be a number ≥ 0"),
        ({"margins": (("sex", "male", 1), ("sex", "male", 2))}, "sex=male is listed twice"),
        ({"trim": (0.3, 3.0)}, "trim needs margins"),
        ({"benchmarks": "year,unit,score\n"}, "benchmarks CSV must have the header"),
        ({"assumed_se": 0}, "assumed_se .* must be a positive number"),
        ({"strata": " town"}, "strata must be a column name"),
        ({"unclustered": "merge"}, "must be one of channel_strata, fail"),
        ({"district": ""}, "district must be the district's name"),
    ],
)
def test_validate_names_the_setting_and_the_fix(changes, message):
    with pytest.raises(SettingsError, match=message):
        AnalysisSettings(**changes).validate()


def test_from_dict_refuses_unknown_keys_schemas_and_altered_content():
    data = full_settings().to_dict()
    with pytest.raises(SettingsError, match="unknown setting 'mappings'"):
        AnalysisSettings.from_dict({**data, "mappings": "linear"})
    with pytest.raises(SettingsError, match="settings schema 2 is not supported"):
        AnalysisSettings.from_dict({**data, "schema": 2})
    altered = json.loads(json.dumps(data))
    altered["margins"]["rows"][0][2] = 1
    with pytest.raises(SettingsError, match="margins content does not match its sha256"):
        AnalysisSettings.from_dict(altered)
    with pytest.raises(SettingsError, match="unknown screening rule"):
        AnalysisSettings.from_dict({**data, "screening": {"enabled": True, "captcha": True}})


def test_margins_csv_is_read_into_rows_with_errors_naming_the_line():
    assert margins_rows_from_csv(MARGINS_CSV)[:2] == (("town", "xicheng", 20000), ("town", "dongcheng", 15000))
    with pytest.raises(SettingsError, match="header variable,level,population"):
        margins_rows_from_csv("var,level,pop\n")
    with pytest.raises(SettingsError, match="line 3: the population 'many' is not a number"):
        margins_rows_from_csv("variable,level,population\nsex,male,1\nsex,female,many\n")


def test_the_estimate_step_runs_from_settings_and_records_them():
    frame = small_responses(500, seed=21)
    margins = small_margins(frame)
    rows = tuple((v, level, float(p)) for v, level, p in margins.itertuples(index=False, name=None))
    settings = AnalysisSettings(
        strata="town", cluster="point", margins=rows, mapping="monitoring", min_psus=2, illustrative=True
    ).validate()
    run = run_estimate(EstimateOptions.from_settings(frame, None, settings))
    recorded = run.results["settings"]
    assert recorded["analysis"] == settings.to_dict() and recorded["digest"] == settings.digest()
    assert AnalysisSettings.from_dict(recorded["analysis"]) == settings
    assert run.results["scale"]["mapping"] == "monitoring"
    assert run.results["weights"]["method"] == "raking"
    # The same run from plain options records the same settings but what the estimate step
    # does not know (illustrative, benchmarks …) at its defaults.
    plain = run_estimate(
        EstimateOptions(
            responses=frame, margins=margins, strata="town", cluster="point", mapping="monitoring", min_psus=2
        )
    )
    assert plain.results["overall"] == run.results["overall"]
    differences = AnalysisSettings.from_dict(plain.results["settings"]["analysis"]).differences(settings)
    assert set(differences) == {"illustrative", "lonely_psu"}
    # Options changed after from_settings are what the run records.
    changed = run_estimate(EstimateOptions.from_settings(frame, None, settings, mapping="linear"))
    assert changed.results["settings"]["analysis"]["mapping"] == "linear"
    assert changed.results["settings"]["analysis"]["illustrative"] is True
