"""The demo wave's report PDF as the public downloads it: rendered for real from the
database by publishing (``create_demo``), Chinese with its font embedded, every section, page
numbers.  (``manyi score``'s every-file test checks the files it writes with a stand-in PDF;
tests/scoring/test_report.py checks the PDF of the library call in detail.)
"""

from __future__ import annotations

import re
import urllib.request

import pytest

from tests.pdf_support import need_poppler, pdf_fonts, pdf_pages, pdf_text

pytestmark = pytest.mark.browser

SECTIONS = (
    "领导摘要",
    "总体满意度指数",
    "目录",
    "各领域满意度",
    "重点改进事项",
    "监测排名对比",
    "方法说明",
    "数据质量",
)


def test_the_published_report_pdf_is_chinese_with_every_section_and_page_numbers(demo_server, tmp_path):
    with urllib.request.urlopen(f"{demo_server.url}/results/2025/files/report.pdf", timeout=30) as reply:
        assert reply.status == 200 and reply.headers["Content-Type"] == "application/pdf"
        report = tmp_path / "report.pdf"
        report.write_bytes(reply.read())
    assert report.read_bytes().startswith(b"%PDF")
    need_poppler()
    fonts = pdf_fonts(report)
    assert re.search(r"CJK|Han|WenQuanYi|SimHei|YaHei", fonts), fonts
    assert all(line.split()[-5] == "yes" for line in fonts.splitlines()[2:] if line.strip())  # embedded
    text = pdf_text(report, layout=False)
    for phrase in SECTIONS:
        assert phrase in text, phrase
    assert "示意数据" in text and "西城街道" in text  # the demo's data, labelled illustrative
    pages = pdf_pages(report)
    assert pages >= 6 and f"共 {pages} 页" in text
