"""Masking phone and ID numbers in residents' comments (issue 14): which numbers are
masked and which are left alone, and that a comment is masked when stored — from the
resident form and from an import.  (Masking in exports: ``tests/survey/test_exports.py``.)"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from survey.db import get_session
from survey.models import Response
from survey.services.imports import import_responses
from survey.services.masking import ID_NOTE, LONG_NUMBER_NOTE, PHONE_NOTE, mask_details, mask_personal_details
from survey.services.waves import get_wave
from tests.survey.admin_support import make_wave
from tests.survey.respond_support import complete, responses
from tests.survey.respond_support import make_wave as make_resident_wave


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        # Mobile numbers: 1[3-9] and 9 digits, 3-4-4 with spaces or hyphens, +86, full-width digits.
        ("请打电话13912345678联系我", f"请打电话{PHONE_NOTE}联系我"),
        ("手机 139-1234-5678。", f"手机 {PHONE_NOTE}。"),
        ("+86 139 1234 5678", PHONE_NOTE),
        ("8615012345678", PHONE_NOTE),
        ("电话１８６１２３４５６７８", f"电话{PHONE_NOTE}"),
        ("13912345678和13812345678", f"{PHONE_NOTE}和{PHONE_NOTE}"),
        # Landlines with an area code, in brackets or not, split or not.
        ("社区电话0716-8123456", f"社区电话{PHONE_NOTE}"),
        ("(0716) 812-3456", PHONE_NOTE),
        ("（010）12345678", PHONE_NOTE),
        ("０７１６－８１２３４５６", PHONE_NOTE),
        # ID numbers: 18 characters with the check character (even a wrong one), and 15 digits.
        ("身份证42100219800101123X", f"身份证{ID_NOTE}"),
        ("身份证 421002198001011234 谢谢", f"身份证 {ID_NOTE} 谢谢"),
        ("42100219800101123x", ID_NOTE),
        ("老身份证421002800101123", f"老身份证{ID_NOTE}"),
        # A run of 15 digits or more is masked whole, never cut into a phone number.
        ("卡号62220213912345678901", f"卡号{LONG_NUMBER_NOTE}"),
    ],
)
def test_phone_and_id_numbers_are_masked(text, masked):
    assert mask_details(text).text == masked
    assert mask_details(text).changed


@pytest.mark.parametrize(
    "text",
    [
        "3路公交车20分钟一班，挂号费10元",
        "2025年6月1日上午9:30去的，等了2025-06-01 09:30到11:00",
        "价格1500元，2000-3000元",
        "12912345678",  # not a mobile prefix
        "订单号1391234567890",  # 13 digits: a phone number inside a longer run is left whole
        "房间号0716",
        "电话8123456",  # a local number without area code cannot be told from an amount
        "",
    ],
)
def test_ordinary_numbers_are_left_alone(text):
    result = mask_details(text)
    assert result.text == text and not result.changed


def test_counts_say_what_was_found():
    result = mask_details("13912345678，0716-8123456，42100219800101123X")
    assert result.counts == {"id_number": 1, "mobile": 1, "landline": 1, "long_number": 0}


def test_none_and_empty_stay_as_they_are():
    assert mask_personal_details(None) is None and mask_personal_details("") == ""


def test_the_resident_form_stores_the_comment_masked(app, client):
    token = make_resident_wave(app)
    complete(client, token, services=("transport",), answers={"comment": "候车亭太少，请回电13912345678。"})
    [response] = responses(app)
    assert response.state == "submitted"
    assert response.comment == f"候车亭太少，请回电{PHONE_NOTE}。"


def test_an_import_stores_the_comment_masked(app):
    make_wave(app)
    header = "response_id,town,sex,age_group,overall,comment"
    data = f"{header}\nP-1,xicheng,female,60+,4,身份证42100219800101123X 电话0716-8123456\n".encode()
    with app.test_request_context():
        session = get_session()
        report = import_responses(
            session, get_wave(session, "2025"), data, channel="phone", actor="test", filename="f.csv"
        )
        session.commit()
        assert report.ok and report.stored == 1
        stored = session.scalar(select(Response.comment).where(Response.uid == "P-1"))
    assert stored == f"身份证{ID_NOTE} 电话{PHONE_NOTE}"
