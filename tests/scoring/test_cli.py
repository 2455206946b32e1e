"""``python -m scoring estimate``: outputs, exit status 2 on bad input with nothing written."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

import pandas as pd
import pytest

from scoring.cli import add_estimate_options, build_parser, main
from scoring.pipeline import EstimateOptions, run_estimate

from .conftest import QUESTIONNAIRE_DIR, REPO
from .results import R_DIR, pipeline_reference
from .support import small_margins, small_responses

RESPONSES = R_DIR / "pipeline_responses.csv"
MARGINS = R_DIR / "pipeline_margins.csv"


#: Manyi's design (statistics.md): strata = the collection point's town, PSU = the point.
MANYI_DESIGN = ("--strata", "point_town", "--cluster", "point", "--lonely-psu", "adjust")


@pytest.fixture
def inputs(tmp_path):
    frame = small_responses(300, seed=12)
    frame["point_town"] = frame["town"]  # every point stands in its residents' town here
    responses, margins = tmp_path / "responses.csv", tmp_path / "margins.csv"
    frame.to_csv(responses, index=False, float_format="%.0f")
    small_margins(frame).to_csv(margins, index=False)
    return frame, responses, margins


def arguments(responses, margins, *extra):
    return [
        "estimate",
        "--responses",
        str(responses),
        "--margins",
        str(margins),
        "--strata",
        "town",
        "--cluster",
        "point",
        *extra,
    ]


def test_estimate_writes_json_and_weights(tmp_path, capsys):
    out, weights = tmp_path / "results.json", tmp_path / "weights.csv"
    status = main(
        [
            "estimate",
            "--responses",
            str(RESPONSES),
            "--questionnaires",
            str(QUESTIONNAIRE_DIR),
            "--margins",
            str(MARGINS),
            "--strata",
            "town",
            "--cluster",
            "point",
            # The R reference (r/pipeline.R) excludes straight-lining alone: the rule before issue 10.
            "--straight-line-fast-fraction",
            "none",
            "--json",
            str(out),
            "--weights-out",
            str(weights),
        ]
    )
    assert status == 0
    results = json.loads(out.read_text(encoding="utf-8"))
    reference = pipeline_reference()
    assert results["overall"]["index"] == pytest.approx(reference["overall_equal"], rel=1e-9)
    assert results["overall"]["se"] == pytest.approx(reference["overall_se_equal"], rel=1e-9)
    assert results["domains"]["healthcare"]["se"] == pytest.approx(reference["se_healthcare"], rel=1e-9)
    assert results["target"]["verdict"] == "not_met" and results["target"]["metric"] == "index"
    # Inputs are named, never located (no path of this machine in the results).
    assert set(results["inputs"]) == {
        "responses",
        f"margins/{MARGINS.name}",
        *(f"questionnaires/{p.name}" for p in sorted(QUESTIONNAIRE_DIR.glob("*.yaml"))),
    }
    written = pd.read_csv(weights, dtype={"response_id": str})
    expected = pd.read_csv(R_DIR / "pipeline_weights.csv", dtype={"response_id": str})
    assert list(written.columns) == ["response_id", "weight"]
    pd.testing.assert_series_equal(written["weight"], expected["weight"], rtol=1e-9, check_names=False)
    printed = capsys.readouterr().out
    assert "OVERALL" in printed and "healthcare" in printed and "target 85.0 (index): not_met" in printed
    assert (
        "excluded: partial 48, outside_district 0, duplicate_browser 24, ip_burst 0, speeder 36, straight_liner 26"
        in printed
    )


@pytest.mark.parametrize(
    "change, message",
    [
        (
            lambda f, m: (f.assign(sex=["other"] + list(f["sex"][1:])), m),
            "column 'sex', row 1 (response_id 'r0001'): 'other' is not a sex code",
        ),
        (
            lambda f, m: (
                f.astype({"education.q2": object}).assign(**{"education.q2": ["x"] + list(f["education.q2"][1:])}),
                m,
            ),
            "column 'education.q2', row 1 (response_id 'r0001'): 'x' is not a number",
        ),
        (
            lambda f, m: (f.assign(town=f["town"].replace("mashan", "libu")), m),
            "town level 'libu' occurs in the responses",
        ),
        (lambda f, m: (f[f["town"] != "mashan"], m), "empty cell: town level 'mashan'"),
        (lambda f, m: (f.drop(columns="point"), m), "missing column 'point'"),
        (lambda f, m: (f.rename(columns={"overall": "general"}), m), "unknown column 'general'"),
        (
            lambda f, m: (f, m.assign(population=m["population"].where(m["level"] != "male", -1))),
            "population for sex=male must be a number ≥ 0",
        ),
    ],
)
def test_bad_input_exits_2_and_writes_nothing(tmp_path, inputs, capsys, change, message):
    frame, _, _ = inputs
    bad_frame, bad_margins = change(frame, small_margins(frame))
    responses, margins = tmp_path / "bad.csv", tmp_path / "bad_margins.csv"
    bad_frame.to_csv(responses, index=False, float_format="%.0f")
    bad_margins.to_csv(margins, index=False)
    out, weights = tmp_path / "out.json", tmp_path / "w.csv"
    status = main(arguments(responses, margins, "--json", str(out), "--weights-out", str(weights)))
    assert status == 2
    error = capsys.readouterr().err
    assert error.startswith("error: ") and message in error
    assert not out.exists() and not weights.exists()
    assert not list(tmp_path.glob(".out.json*")) and not list(tmp_path.glob(".w.csv*"))


def test_a_failed_run_leaves_an_existing_output_untouched(tmp_path, inputs):
    _, responses, _margins = inputs
    out = tmp_path / "out.json"
    out.write_text("previous", encoding="utf-8")
    assert main(arguments(responses, tmp_path / "missing.csv", "--json", str(out))) == 2
    assert out.read_text(encoding="utf-8") == "previous"


def test_unwritable_output_exits_2(tmp_path, inputs, capsys):
    _, responses, margins = inputs
    assert main(arguments(responses, margins, "--json", str(tmp_path / "no" / "such" / "dir" / "out.json"))) == 2
    assert "No such file or directory" in capsys.readouterr().err


def test_lonely_psu_fails_or_adjusts(tmp_path, inputs, capsys):
    frame, _, margins = inputs
    frame = frame.copy()
    frame.loc[frame["town"] == "mashan", "point"] = "mashan-p1"
    responses = tmp_path / "lonely.csv"
    frame.to_csv(responses, index=False, float_format="%.0f")
    assert main(arguments(responses, margins)) == 2
    assert "stratum 'mashan' has only one PSU" in capsys.readouterr().err
    assert main(arguments(responses, margins, "--lonely-psu", "adjust")) == 0


def test_option_errors_exit_2(inputs, capsys):
    _, responses, margins = inputs
    assert main(arguments(responses, margins, "--replicates", "50")) == 2
    assert "--replicates applies to --variance bootstrap" in capsys.readouterr().err
    assert main(arguments(responses, margins, "--target", "0.85", "--target-metric", "satisfied_rate")) == 2
    assert "write the target as a percentage" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_info:
        main(arguments(responses, margins, "--variance", "brr"))
    assert exit_info.value.code == 2
    assert main([]) == 2


def test_variance_methods_and_options(tmp_path, inputs):
    _, responses, margins = inputs
    results = {}
    for name, extra in {
        "boot": ["--variance", "bootstrap", "--replicates", "60", "--seed", "3"],
        "boot again": ["--variance", "bootstrap", "--replicates", "60", "--seed", "3"],
        "jackknife": ["--variance", "jackknife"],
        "trimmed": ["--trim", "0.3", "2.5"],
        "wilson": [
            "--rate-interval",
            "wilson",
            "--target",
            "80",
            "--target-metric",
            "satisfied_rate",
            "--no-screening",
        ],
    }.items():
        out = tmp_path / f"{name}.json"
        assert main(arguments(responses, margins, "--json", str(out), *extra)) == 0
        results[name] = json.loads(out.read_text(encoding="utf-8"))
    assert results["boot"]["overall"]["se"] == results["boot again"]["overall"]["se"]
    assert results["boot"]["design"]["variance"] == "bootstrap"
    assert results["jackknife"]["design"]["variance"] == "jackknife"
    assert results["trimmed"]["weights"]["method"] == "raking+trimming"
    assert results["wilson"]["target"]["metric"] == "satisfied_rate" and results["wilson"]["target"]["value"] == 0.8


def test_same_numbers_from_the_command_and_the_api(tmp_path, inputs):
    frame, responses, margins = inputs
    out = tmp_path / "results.json"
    command = ["estimate", "--responses", str(responses), "--margins", str(margins), *MANYI_DESIGN]
    assert main([*command, "--json", str(out)]) == 0
    from_file = json.loads(out.read_text(encoding="utf-8"))
    # The file holds whole seconds (float_format "%.0f"); the integrity checks read them.
    frame = frame.assign(duration_s=frame["duration_s"].round())
    in_memory = run_estimate(
        EstimateOptions(
            responses=frame, margins=small_margins(frame), strata="point_town", cluster="point", lonely_psu="adjust"
        )
    ).results
    in_memory = json.loads(json.dumps(in_memory))
    assert set(from_file.pop("inputs")) == {"responses", f"margins/{margins.name}"}
    assert list(in_memory.pop("inputs")) == ["responses"]
    assert from_file == in_memory
    assert from_file["design"]["strata"] == "point_town"


def test_shared_options_for_other_commands(inputs):
    _, responses, margins = inputs
    parser = add_estimate_options(argparse.ArgumentParser())
    options = parser.parse_args(["--responses", str(responses), "--margins", str(margins), *MANYI_DESIGN])
    run = run_estimate(options)
    assert run.results["design"]["strata"] == "point_town"
    analysis = run.analysis_frame()
    assert {"weight", "education.q1", "education", "healthcare", "response_id"} <= set(analysis.columns)
    assert analysis["weight"].sum() == pytest.approx(50_000)


def test_help_documents_the_manyi_design_and_the_engine_options(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["estimate", "--help"])
    assert exit_info.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "--strata point_town --cluster point --lonely-psu adjust" in text
    for option in (
        "--mapping",
        "--min-n",
        "--min-psus",
        "--unclustered",
        "--straight-line-fast-fraction",
        "--no-sensitivity",
        "--settings",
    ):
        assert option in text


def test_the_engine_options_reach_the_results(tmp_path, inputs, capsys):
    _, responses, margins = inputs
    out = tmp_path / "results.json"
    extra = ["--mapping", "monitoring", "--min-n", "40", "--min-psus", "6", "--unclustered", "fail"]
    extra += ["--straight-line-fast-fraction", "none", "--no-sensitivity", "--json", str(out)]
    command = ["estimate", "--responses", str(responses), "--margins", str(margins), *MANYI_DESIGN, *extra]
    assert main(command) == 0
    results = json.loads(out.read_text(encoding="utf-8"))
    analysis = results["settings"]["analysis"]
    assert (analysis["mapping"], analysis["min_n"], analysis["min_psus"]) == ("monitoring", 40, 6)
    assert (analysis["unclustered"], analysis["lonely_psu"], analysis["strata"]) == ("fail", "adjust", "point_town")
    assert analysis["screening"]["straight_line_fast_fraction"] is None
    assert results["scale"]["mapping"] == "monitoring" and not results.get("sensitivity")
    with_sensitivity = tmp_path / "with.json"
    assert main([*command[:-3], "--json", str(with_sensitivity)]) == 0
    assert json.loads(with_sensitivity.read_text(encoding="utf-8")).get("sensitivity")
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_info:
        main([*command[:-2], "--straight-line-fast-fraction", "fast"])
    assert exit_info.value.code == 2 and "neither a number" in capsys.readouterr().err


def test_settings_file_reproduces_a_run_and_says_what_differs(tmp_path, inputs, capsys):
    _, responses, margins = inputs
    first, again, changed = (tmp_path / f"{name}.json" for name in ("first", "again", "changed"))
    command = ["estimate", "--responses", str(responses), "--margins", str(margins), *MANYI_DESIGN]
    assert main([*command, "--mapping", "monitoring", "--min-n", "25", "--json", str(first)]) == 0
    original = json.loads(first.read_text(encoding="utf-8"))
    capsys.readouterr()
    # A CSV user with a publication's results.json: its settings, nothing else, give the same numbers.
    plain = ["estimate", "--responses", str(responses), "--settings", str(first)]
    assert main([*plain, "--json", str(again)]) == 0
    assert "settings: exactly those of first.json" in capsys.readouterr().out
    reproduced = json.loads(again.read_text(encoding="utf-8"))
    assert reproduced["inputs"].pop("responses") == original["inputs"].pop("responses")
    assert original["inputs"].pop(f"margins/{margins.name}") and reproduced["inputs"] == original["inputs"] == {}
    assert reproduced == original
    # The settings alone (results.json["settings"]) work too; an option given overrides its setting.
    settings_only = tmp_path / "settings.json"
    settings_only.write_text(json.dumps(original["settings"], ensure_ascii=False), encoding="utf-8")
    assert main(["estimate", "--responses", str(responses), "--settings", str(settings_only), "--min-n", "40",
                 "--json", str(changed)]) == 0  # fmt: skip
    printed = capsys.readouterr().out
    assert "settings: as settings.json except" in printed and "min_n: 25 → 40" in printed
    assert json.loads(changed.read_text(encoding="utf-8"))["settings"]["analysis"]["min_n"] == 40


def test_a_bad_settings_file_exits_2(tmp_path, inputs, capsys):
    _, responses, _ = inputs
    bad = tmp_path / "settings.json"
    bad.write_text('{"mapping": "logarithmic"}', encoding="utf-8")
    assert main(["estimate", "--responses", str(responses), "--settings", str(bad)]) == 2
    assert "--settings" in (err := capsys.readouterr().err) and "mapping" in err
    bad.write_text("not json", encoding="utf-8")
    assert main(["estimate", "--responses", str(responses), "--settings", str(bad)]) == 2
    assert "not JSON" in capsys.readouterr().err


def _scoring_imports() -> dict[str, set[str]]:
    """Module → the scoring modules it imports at run time (at the top or inside a function;
    ``import_module``/``find_spec`` with a literal name count; ``TYPE_CHECKING`` blocks do not)."""
    import ast

    root = REPO / "scoring"

    def module_name(path):
        parts = list(path.relative_to(REPO).with_suffix("").parts)
        return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)

    files = sorted(root.rglob("*.py"))
    known = {module_name(path) for path in files}
    graph = {}
    for path in files:
        name = module_name(path)
        package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
        found: set[str] = set()

        def visit(node, package=package, found=found):
            for child in ast.iter_child_nodes(node):
                if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                    continue
                if isinstance(child, ast.Import):
                    found.update(alias.name for alias in child.names)
                elif isinstance(child, ast.ImportFrom):
                    base = package.split(".")[: len(package.split(".")) - (child.level - 1)] if child.level else []
                    target = ".".join(base + ([child.module] if child.module else [])) if child.level else child.module
                    found.add(target)
                    found.update(f"{target}.{alias.name}" for alias in child.names)
                elif (
                    isinstance(child, ast.Call)
                    and ast.unparse(child.func).endswith(("import_module", "find_spec"))
                    and child.args
                    and isinstance(child.args[0], ast.Constant)
                ):
                    found.add(str(child.args[0].value))
                visit(child)

        visit(ast.parse(path.read_text(encoding="utf-8")))
        graph[name] = {module for module in found if module in known and module != name}
    return graph


def test_no_import_circles_in_scoring():
    """Issue 13: ``scoring/cli.py`` and ``report_cli.py`` imported each other (a plugin hook
    one way, a function-level import the other).  No module of scoring is part of a circle."""
    graph = _scoring_imports()
    circles = []
    for start in graph:
        stack = [(start, [start])]
        while stack:
            node, path = stack.pop()
            for successor in graph[node]:
                if successor == start:
                    circles.append(path)
                elif successor not in path and len(path) < len(graph):
                    stack.append((successor, [*path, successor]))
    assert circles == []
    assert not any("scoring.cli" in imported for module, imported in graph.items() if module != "scoring.__main__")


def test_one_command_module_registers_every_command():
    parser = build_parser()
    subcommands = next(action for action in parser._actions if isinstance(action, argparse._SubParsersAction))
    assert set(subcommands.choices) == {"estimate", "report", "plan", "integrity"}
    assert not (REPO / "scoring" / "report_cli.py").exists()


def test_python_dash_m_scoring(tmp_path, inputs):
    _, responses, margins = inputs
    out = tmp_path / "results.json"
    completed = subprocess.run(
        [sys.executable, "-m", "scoring", *arguments(responses, margins, "--json", str(out))],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert completed.returncode == 0, completed.stderr
    assert json.loads(out.read_text(encoding="utf-8"))["version"].startswith("manyi-scoring")
