"""Reading a PDF in a test: poppler's pdftotext, pdfinfo and pdffonts."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

from tests.conftest import need


def need_poppler() -> None:
    if shutil.which("pdftotext") is None or shutil.which("pdffonts") is None:
        need("poppler-utils (pdftotext, pdffonts)", "apt-get install poppler-utils")


def pdf_text(path: Path, *, first: int | None = None, last: int | None = None, layout: bool = True) -> str:
    command = ["pdftotext", "-layout"] if layout else ["pdftotext"]
    if first:
        command += ["-f", str(first)]
    if last:
        command += ["-l", str(last)]
    return subprocess.run([*command, str(path), "-"], capture_output=True, text=True, check=True).stdout


def pdf_pages(path: Path) -> int:
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True).stdout
    return int(re.search(r"Pages:\s+(\d+)", info).group(1))


def pdf_fonts(path: Path) -> str:
    return subprocess.run(["pdffonts", str(path)], capture_output=True, text=True, check=True).stdout
