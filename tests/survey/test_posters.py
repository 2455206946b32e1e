"""QR codes and the A4 collection-point poster (``manyi qr``)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import segno
from PIL import Image

from survey.cli import main
from survey.posters import QR_SCALE, poster_pdf, qr_code, write_qr
from tests.conftest import need
from tests.survey.respond_support import make_wave

URL = "https://manyi.example.gov.cn/s/zC3Sg6BqZvCuL08r6xdbgA"


def _poppler(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        need(tool, "apt-get install poppler-utils")
    return path


def scan_printed_poster(pdf: Path) -> str:
    """Print the poster (rasterise the PDF at a modest 100 dpi, as a phone camera sees a
    sheet on the wall) and scan it with an independent QR decoder (zbar): the text read."""
    page = pdf.with_suffix("")
    subprocess.run([_poppler("pdftoppm"), "-r", "100", "-png", "-singlefile", str(pdf), str(page)], check=True)
    scanner = shutil.which("zbarimg")
    if scanner is None:
        need("zbarimg", "apt-get install zbar-tools")
    scanned = subprocess.run([scanner, "--quiet", "--raw", f"{page}.png"], capture_output=True, text=True)
    assert scanned.returncode == 0, scanned.stderr
    return scanned.stdout.strip()


def test_qr_code_uses_error_correction_m_and_never_micro():
    code = qr_code(URL)
    assert code.error == "M" and not code.is_micro


def test_png_modules_match_the_encoded_url(tmp_path):
    path = write_qr(URL, tmp_path / "qr.png", "png")
    expected = segno.make(URL, error="m", micro=False, boost_error=False)
    rows = list(expected.matrix)
    border = 4
    image = Image.open(path).convert("L")
    assert image.size == ((len(rows) + 2 * border) * QR_SCALE,) * 2
    for y, row in enumerate(rows):
        for x, dark in enumerate(row):
            centre = ((x + border) * QR_SCALE + QR_SCALE // 2, (y + border) * QR_SCALE + QR_SCALE // 2)
            assert (image.getpixel(centre) < 128) == bool(dark), (x, y)


@pytest.mark.parametrize(("fmt", "magic"), [("svg", b"<?xml"), ("pdf", b"%PDF"), ("png", b"\x89PNG")])
def test_qr_formats(tmp_path, fmt, magic):
    path = write_qr(URL, tmp_path / f"qr.{fmt}", fmt)
    assert path.read_bytes().startswith(magic)


def test_unknown_qr_format_is_refused(tmp_path):
    with pytest.raises(ValueError, match="use one of png, svg, pdf"):
        write_qr(URL, tmp_path / "qr.gif", "gif")


def test_poster_is_a4_with_an_embedded_cjk_font_and_both_languages(app, tmp_path):
    token = make_wave(app)
    from survey.db import get_session
    from survey.services.waves import find_point_by_token

    with app.app_context():
        point = find_point_by_token(get_session(), token)
        pdf = poster_pdf(point, point.wave, f"https://manyi.example.gov.cn/s/{token}")
    path = tmp_path / "poster.pdf"
    path.write_bytes(pdf)
    fonts = subprocess.run([_poppler("pdffonts"), str(path)], capture_output=True, text=True, check=True).stdout
    cjk = [line for line in fonts.splitlines() if "CJK" in line]
    assert cjk, fonts
    assert all(" yes " in line for line in cjk), fonts  # embedded
    info = subprocess.run([_poppler("pdfinfo"), str(path)], capture_output=True, text=True, check=True).stdout
    assert "Pages:           1" in info and "(A4)" in info
    text = subprocess.run([_poppler("pdftotext"), str(path), "-"], capture_output=True, text=True, check=True).stdout
    flat = "".join(text.split())
    for expected in (
        "扫码参加公共服务满意度调查",
        "Scanthecodetotakethepublic-servicesatisfactionsurvey",
        "区人民医院门诊大厅",
        "西城街道",
        "2025年度荆州区公共服务满意度调查",
        "调查点",
        "每项约1分钟，全部约需2至4分钟",  # the welcome page's estimate, word for word
        "2to4minutesinall",
        token,
    ):
        assert expected in flat, expected


def test_printed_poster_scans_to_the_points_url(app, tmp_path):
    token = make_wave(app)
    from survey.db import get_session
    from survey.services.waves import find_point_by_token

    url = f"https://manyi.example.gov.cn/s/{token}"
    with app.app_context():
        point = find_point_by_token(get_session(), token)
        (tmp_path / "poster.pdf").write_bytes(poster_pdf(point, point.wave, url))
    assert scan_printed_poster(tmp_path / "poster.pdf") == url


def test_qr_command_writes_a_code_and_a_poster_per_point(app, runner, tmp_path):
    make_wave(app)
    make_wave(app, point_code="bus-01", focus=None)
    out = tmp_path / "posters"
    result = runner.invoke(main, ["qr", "2025", "--out", str(out), "--format", "svg"])
    assert result.exit_code == 0, result.output
    assert sorted(path.name for path in out.iterdir()) == [
        "bus-01-poster.pdf",
        "bus-01-qr.svg",
        "hosp-01-poster.pdf",
        "hosp-01-qr.svg",
    ]
    assert "phones cannot reach" in result.output  # PUBLIC_BASE_URL is http://localhost in the tests
    only = runner.invoke(main, ["qr", "2025", "--out", str(tmp_path / "one"), "--point", "bus-01"])
    assert only.exit_code == 0 and sorted(p.name for p in (tmp_path / "one").iterdir()) == [
        "bus-01-poster.pdf",
        "bus-01-qr.png",
    ]


def test_qr_command_errors_exit_2_and_write_nothing(app, runner, tmp_path):
    out = tmp_path / "out"
    unknown = runner.invoke(main, ["qr", "1999", "--out", str(out)])
    assert unknown.exit_code == 2 and "no wave '1999'" in unknown.output
    make_wave(app)
    bad_point = runner.invoke(main, ["qr", "2025", "--out", str(out), "--point", "nowhere"])
    assert bad_point.exit_code == 2 and "has no point(s) nowhere" in bad_point.output
    bad_format = runner.invoke(main, ["qr", "2025", "--out", str(out), "--format", "gif"])
    assert bad_format.exit_code == 2 and "'gif' is not one of" in bad_format.output
    a_file = tmp_path / "file"
    a_file.write_text("x")
    not_a_folder = runner.invoke(main, ["qr", "2025", "--out", str(a_file / "sub")])
    assert not_a_folder.exit_code == 2 and "cannot create the folder" in not_a_folder.output
    assert not out.exists()


def test_qr_command_on_a_wave_without_points(app, runner, tmp_path):
    runner.invoke(main, ["wave", "create", "2026"])
    result = runner.invoke(main, ["qr", "2026", "--out", str(tmp_path / "out")])
    assert result.exit_code == 2 and "has no collection points" in result.output
