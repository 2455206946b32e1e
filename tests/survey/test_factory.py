from __future__ import annotations

import os
import stat
import subprocess
import sys

import pytest

from survey import create_app


def test_config_defaults_and_test_config(tmp_path, monkeypatch):
    monkeypatch.setenv("MANYI_INSTANCE_PATH", str(tmp_path / "inst"))
    monkeypatch.delenv("MANYI_DATABASE_URL", raising=False)
    app = create_app()
    assert not app.testing
    assert app.instance_path == str(tmp_path / "inst")
    assert app.config["DATABASE_URL"] == "sqlite:///" + str(tmp_path / "inst" / "manyi.sqlite3")
    assert app.config["MAX_CONTENT_LENGTH"] == 64 * 1024
    assert create_app({"TESTING": True, "SECRET_KEY": "x"}).testing


def test_secret_key_generated_once_into_instance(tmp_path, monkeypatch):
    monkeypatch.setenv("MANYI_INSTANCE_PATH", str(tmp_path / "inst"))
    first = create_app()
    key_file = tmp_path / "inst" / "secret_key"
    assert key_file.exists()
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    assert len(first.config["SECRET_KEY"]) == 64
    assert create_app().config["SECRET_KEY"] == first.config["SECRET_KEY"]


def test_environment_overrides_database(tmp_path, monkeypatch):
    monkeypatch.setenv("MANYI_INSTANCE_PATH", str(tmp_path / "inst"))
    monkeypatch.setenv("MANYI_DATABASE_URL", f"sqlite:///{tmp_path / 'other.sqlite3'}")
    assert create_app().config["DATABASE_URL"].endswith("other.sqlite3")


def test_instance_config_file_is_read(tmp_path, monkeypatch):
    instance = tmp_path / "inst"
    instance.mkdir()
    (instance / "config.py").write_text('PUBLIC_BASE_URL = "https://survey.example.org"\n')
    monkeypatch.setenv("MANYI_INSTANCE_PATH", str(instance))
    monkeypatch.delenv("MANYI_PUBLIC_BASE_URL", raising=False)
    assert create_app().config["PUBLIC_BASE_URL"] == "https://survey.example.org"


def test_home_page_and_security_headers(client):
    response = client.get("/")
    assert response.status_code == 200
    assert "Content-Security-Policy" in response.headers
    assert "'unsafe-inline'" not in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert client.get("/healthz").get_json() == {"status": "ok"}


def test_unknown_page_is_a_friendly_404(client):
    response = client.get("/no/such/page")
    assert response.status_code == 404
    assert "<h1>" in response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/results/%00", 404),
        ("/results/%00.json", 404),
        ("/s/%00", 404),
        ("/admin/login?next=%00", 400),
        ("/?lang=%00", 400),
    ],
)
def test_nul_bytes_are_refused_before_any_query(client, path, status):
    response = client.get(path)
    assert response.status_code == status
    assert "<h1>" in response.get_data(as_text=True)


def test_nul_byte_in_a_form_is_refused(client):
    response = client.post("/admin/login", data={"username": "ad\x00min", "password": "x"})
    assert response.status_code == 400


def test_create_app_loads_no_pandas_scipy_or_matplotlib(tmp_path):
    """The web app starts light: the statistics' libraries load when the office scores,
    exports or imports, never with the app (nor with a resident page)."""
    code = (
        "import sys\n"
        "from survey import create_app\n"
        f"app = create_app({{'TESTING': True, 'SECRET_KEY': 'x', 'DATABASE_URL': 'sqlite:///{tmp_path}/db.sqlite3'}})\n"
        "app.test_client().get('/')\n"
        "app.test_client().get('/admin/login')\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('pandas', 'scipy', 'matplotlib'))\n"
        "print(','.join(heavy))\n"
    )
    environment = {**os.environ, "MANYI_INSTANCE_PATH": str(tmp_path / "instance")}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=environment)
    assert result.stdout.strip() == ""
