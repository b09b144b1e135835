"""A report spec file reads and writes only inside its folder and the data folder (issue 19).

Before: ``data.path = "../secret.csv"`` (or an absolute path, or a link pointing out) read any
file the account could read, and the error for its missing columns echoed the file's first
line; ``output.html = "../x.html"`` wrote anywhere. Now those are a SpecError naming the key,
raised before the file is opened, unless the caller passes ``allow_paths_outside=True``
(``--allow-paths-outside``). Paths the caller gives (``data=``/``--data``, ``-o``) and dict
specs (the caller's own code) are not confined.
"""

from __future__ import annotations

import io
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest

from sfpc_eval.cli import main
from sfpc_eval.errors import MissingColumnError, SpecError
from sfpc_eval.report import build, load_spec

SECRET = "secret-token-7f3a"


def _spec(folder: Path, data_path: str, *, extra: str = "", fmt: str = "csv") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    spec = folder / "spec.toml"
    spec.write_text(
        f'[report]\ntitle = "x"\n[data]\npath = "{data_path}"\nformat = "{fmt}"\n'
        f'level = "child"\n{extra}[[analysis]]\ndesign = "claims"\n'
    )
    return spec


@pytest.fixture
def secret(tmp_path: Path) -> Path:
    """A readable file outside the spec's folder whose first line must never be shown."""
    path = tmp_path / "secret.csv"
    path.write_text(f"{SECRET},other\n1,2\n")
    return path


def test_data_path_climbing_out_is_refused_before_reading(tmp_path, secret):
    spec = _spec(tmp_path / "specs", "../secret.csv")
    with pytest.raises(SpecError) as err:
        build(spec)
    message = str(err.value)
    assert err.value.key == "data.path"
    assert "outside the spec's folder" in message and "--allow-paths-outside" in message
    assert SECRET not in message


def test_absolute_and_home_paths_are_refused(tmp_path, secret):
    with pytest.raises(SpecError, match=r"`data.path`: .*secret.csv is outside"):
        load_spec(_spec(tmp_path / "a", str(secret)))
    with pytest.raises(SpecError, match=r"`data.path`: .* is outside"):
        load_spec(_spec(tmp_path / "b", "~"))


def test_a_link_inside_the_folder_pointing_out_is_refused(tmp_path, secret):
    folder = tmp_path / "specs"
    folder.mkdir()
    (folder / "data.csv").symlink_to(secret)
    with pytest.raises(SpecError, match=r"`data.path`: .*data.csv is outside"):
        load_spec(_spec(folder, "data.csv"))


def test_only_the_caller_can_allow_paths_outside(tmp_path, secret):
    spec = _spec(tmp_path / "specs", "../secret.csv")
    loaded = load_spec(spec, allow_paths_outside=True)
    assert loaded.data["path"] == tmp_path / "specs" / ".." / "secret.csv"
    # the trusted spec is then read, and its error names the columns it found
    with pytest.raises(MissingColumnError, match=SECRET):
        build(spec, allow_paths_outside=True)


def test_paths_inside_the_folder_and_the_callers_data_are_accepted(tmp_path, secret):
    folder = tmp_path / "specs"
    (folder / "data").mkdir(parents=True)
    inside = folder / "data" / "p.csv"
    inside.write_text("la_name,year\nA,2010\n")
    assert load_spec(_spec(folder, "data/p.csv")).data["path"] == inside
    # the caller's data= is theirs: not confined, and its folder may receive the output
    spec = _spec(
        tmp_path / "other", "unused.csv", extra='[output]\nhtml = "../secret-report.html"\n'
    )
    loaded = load_spec(spec, data=secret)
    assert loaded.data["path"] == secret
    assert loaded.output["html"] == tmp_path / "other" / ".." / "secret-report.html"


def test_output_paths_climbing_out_are_refused(tmp_path):
    folder = tmp_path / "specs"
    (folder / "out").mkdir(parents=True)
    for key, value in (("html", "../r.html"), ("pdf", "/tmp/r.pdf")):
        spec = folder / f"{key}.toml"
        spec.write_text(
            f'[report]\ntitle = "x"\n[[analysis]]\ndesign = "claims"\n[output]\n{key} = "{value}"\n'
        )
        with pytest.raises(SpecError, match=rf"`output.{key}`: .* is outside") as err:
            load_spec(spec)
        assert err.value.key == f"output.{key}"
    ok = folder / "ok.toml"
    ok.write_text(
        '[report]\ntitle = "x"\n[[analysis]]\ndesign = "claims"\n[output]\nhtml = "out/../r.html"\n'
    )
    assert load_spec(ok).output["html"] == folder / "out" / ".." / "r.html"


def test_neighbours_file_must_stay_in_the_data_folder(tmp_path):
    folder = tmp_path / "specs"
    (folder / "dfe").mkdir(parents=True)
    spec = _spec(folder, "dfe", fmt="dfe", extra='neighbours = "../../elsewhere.csv"\n')
    with pytest.raises(SpecError, match=r"`data.neighbours`: .* is outside") as err:
        load_spec(spec)
    assert err.value.key == "data.neighbours"


def test_a_dict_spec_is_the_callers_own(tmp_path, secret):
    spec = {
        "report": {"title": "x"},
        "data": {"path": str(secret), "level": "child"},
        "analysis": [{"design": "claims"}],
    }
    assert load_spec(spec).data["path"] == secret


def _cli(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(list(args))
    return code, out.getvalue(), err.getvalue()


def test_command_line_flag(tmp_path, secret):
    spec = _spec(tmp_path / "specs", "../secret.csv")
    html = str(tmp_path / "r.html")
    code, _, err = _cli("report", str(spec), "-o", html)
    assert code == 1 and "--allow-paths-outside" in err and SECRET not in err
    code, _, err = _cli("report", str(spec), "-o", html, "--allow-paths-outside")
    assert code == 1 and "`data.unit / data.time`" in err  # read: the spec was trusted
