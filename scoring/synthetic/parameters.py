"""The synthetic district's fixed parameters: towns, population shares, answer-model effects,
timings, paradata, and the response file's columns.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from ..data import FIXED_COLUMNS

SEXES: tuple[str, ...] = ("male", "female")


AGE_GROUPS: tuple[str, ...] = ("18-29", "30-44", "45-59", "60+")


#: The fixed leading columns of the responses contract (docs/contracts.md), in order: the
#: contract's own tuple (:data:`scoring.data.FIXED_COLUMNS`), written once.
RESPONSE_FIXED_COLUMNS: tuple[str, ...] = FIXED_COLUMNS


CONTAMINATION_KINDS: tuple[str, ...] = ("speeders", "straight_liners", "duplicate_browser", "partial")


#: A straight-liner gives the same answer to at least this many answered aspect items.
STRAIGHT_LINE_MIN_ITEMS = 8


#: Integrity plants (issue 15), keys of :attr:`SyntheticSample.planted` besides the contamination kinds.
PLANT_KINDS: tuple[str, ...] = ("coached", "bot_farm")


#: Declared column: the town where the row's collection point stands (empty without a point).
POINT_TOWN_COLUMN = "point_town"


#: Pseudonymous paradata columns written with ``paradata=True`` (keyed hashes, 64 hex digits).
PARADATA_COLUMNS: tuple[str, ...] = ("ip_hash", "browser_hash")


#: Share of residents whose collection point stands outside their town of residence.
DEFAULT_CROSS_TOWN_SHARE = 0.25


#: Shares of responses without a point, by channel (phone interviews, paper forms).
DEFAULT_NO_POINT_CHANNELS: Mapping[str, float] = MappingProxyType({"phone": 0.06, "paper": 0.04})


#: Towns, streets and management areas of common.yaml (code, Chinese name); used when no
#: questionnaire set is given.
DEFAULT_TOWNS: tuple[tuple[str, str], ...] = (
    ("xicheng", "西城街道"),
    ("dongcheng", "东城街道"),
    ("chengnan", "城南街道"),
    ("yingcheng", "郢城街道"),
    ("jinan", "纪南镇"),
    ("chuandian", "川店镇"),
    ("mashan", "马山镇"),
    ("balingshan", "八岭山镇"),
    ("libu", "李埠镇"),
    ("mishi", "弥市镇"),
    ("taihugang", "太湖港管理区"),
    ("lingjiaohu", "菱角湖管理区"),
)


# --- Illustrative population structure (not census figures) -------------------------
_TOWN_RELATIVE_SIZE = {
    "xicheng": 1.6,
    "dongcheng": 1.5,
    "chengnan": 1.3,
    "yingcheng": 1.0,
    "jinan": 0.9,
    "chuandian": 0.7,
    "mashan": 0.8,
    "balingshan": 0.6,
    "libu": 0.8,
    "mishi": 0.6,
    "taihugang": 0.35,
    "lingjiaohu": 0.3,
}


_AGE_SHARES_URBAN = (0.20, 0.28, 0.28, 0.24)


_AGE_SHARES_RURAL = (0.13, 0.22, 0.32, 0.33)


_MALE_SHARE = 0.51


# --- Satisfaction model ---------------------------------------------------------------
_DOMAIN_BASE_LATENT = {
    "education": 0.55,
    "employment": 0.15,
    "healthcare": 0.30,
    "social_security": 0.45,
    "utilities": 0.60,
    "environment": 0.40,
    "transport": 0.25,
    "public_safety": 0.70,
    "culture": 0.50,
    "sports": 0.35,
    "elderly_care": 0.20,
    "government_services": 0.75,
}


_AGE_EFFECT = (-0.25, -0.12, 0.0, 0.30)  # older residents are more satisfied


_SEX_EFFECT = (0.0, 0.04)


_CUTPOINTS_5 = (-2.3, -1.6, -0.7, 0.8)


_SD = {
    "town": 0.15,
    "town_domain": 0.08,
    "sex_domain": 0.04,
    "age_domain": 0.08,
    "point": 0.22,
    "person": 0.8,
    "item_noise": 1.0,
    "item_offset": 0.3,
    "domain_overall_noise": 0.6,
    "overall_noise": 0.7,
}


_POINT_SHARED_SHARE = 0.5  # share of the point effect's variance common to all domains


_PERSON_GENERAL_SHARE = 0.4  # ρ: share of the personal variance common to all domains


_DRIVER_STRENGTH = 1.5  # λ: how strongly <domain>.overall follows the aspect items


_OVERALL_OFFSET = 0.0


# --- Usage: P(used domain in last 12 months | age group), illustrative ----------------
_USAGE_BY_AGE = {
    "education": (0.25, 0.65, 0.30, 0.12),
    "employment": (0.40, 0.30, 0.20, 0.04),
    "healthcare": (0.55, 0.60, 0.70, 0.85),
    "social_security": (0.35, 0.45, 0.55, 0.75),
    "utilities": (0.70, 0.80, 0.80, 0.75),
    "environment": (0.45, 0.50, 0.50, 0.45),
    "transport": (0.60, 0.50, 0.45, 0.50),
    "public_safety": (0.35, 0.40, 0.40, 0.35),
    "culture": (0.35, 0.30, 0.25, 0.30),
    "sports": (0.40, 0.30, 0.25, 0.25),
    "elderly_care": (0.03, 0.08, 0.15, 0.50),
    "government_services": (0.45, 0.60, 0.55, 0.40),
}


_DEFAULT_USAGE = (0.4, 0.4, 0.4, 0.4)


# --- Selection: response propensity within a point (multiplicative) -----------------
_SELECTION_BY_SEX = (1.0, 1.35)


_SELECTION_BY_AGE = (0.55, 0.85, 1.2, 1.7)


_TOWN_ALLOCATION_POWER = 0.5  # n_town ∝ population ** power


# --- Durations ------------------------------------------------------------------------
_DURATION_BASE_S = 45.0


_DURATION_PER_DOMAIN_S = 30.0


_DURATION_LOG_SD = 0.35


_DURATION_FLOOR_SHARE = 0.4  # clean durations stay above 0.4 × median …


_SPEEDER_SHARE_RANGE = (0.08, 0.25)  # … speeders fall below 0.25 × median (rule: 1/3)


# --- Cross-town residents: pull of a point on residents of other towns ----------------
_DISTRICT_INSTITUTION_PULL = 5.0  # the district seat's hospital, service hall, coach station


_URBAN_POINT_PULL = 2.0  # other points of the streets (街道)


# --- Times of day: (start hour, end hour, weight) windows, China time -------------------
_OFFICE_HOURS = ((9.0, 12.0, 0.55), (13.5, 17.5, 0.45))


_TIME_OF_DAY: Mapping[str, tuple[tuple[float, float, float], ...]] = {
    "hospital": ((7.5, 11.5, 0.65), (13.5, 17.0, 0.35)),
    "school": ((7.2, 8.2, 0.45), (11.3, 12.3, 0.1), (16.0, 17.8, 0.45)),
    "service_hall": _OFFICE_HOURS,
    "bus_stop": ((6.5, 9.0, 0.4), (9.0, 16.5, 0.2), (16.5, 19.5, 0.4)),
    "elderly_care": ((8.5, 11.5, 0.6), (14.5, 17.0, 0.4)),
    "market": ((6.0, 10.0, 0.75), (16.0, 18.5, 0.25)),
    "social_security": _OFFICE_HOURS,
    "employment": _OFFICE_HOURS,
    "culture": ((9.0, 12.0, 0.35), (14.0, 17.5, 0.4), (18.5, 20.5, 0.25)),
    "sports": ((6.0, 8.5, 0.4), (18.0, 21.5, 0.6)),
    "park": ((6.0, 9.0, 0.35), (9.0, 17.0, 0.2), (18.0, 21.5, 0.45)),
    "utility_office": _OFFICE_HOURS,
    "police_station": _OFFICE_HOURS,
    "community": ((8.5, 11.5, 0.4), (14.5, 17.5, 0.3), (19.0, 21.0, 0.3)),
    "phone": ((9.0, 12.0, 0.45), (14.0, 17.5, 0.35), (18.5, 20.5, 0.2)),
    "paper": _OFFICE_HOURS,  # forms entered by staff
    "bot_farm": ((8.0, 21.0, 1.0),),  # plausible: daytime, spread over the period
}


# --- Paradata -----------------------------------------------------------------------
_WIFI_KINDS = frozenset(
    {"hospital", "service_hall", "elderly_care", "culture", "social_security", "utility_office", "police_station"}
)


_WIFI_SHARE = 0.3  # at a point with public Wi-Fi, share of residents using it


_MOBILE_ADDRESSES_PER_TOWN = 2000  # carrier (NAT) addresses seen in a town


# --- Integrity plants ---------------------------------------------------------------
_BOT_DURATION_LOG_SD = 0.04  # bots: durations within a few percent of one another …


_BOT_ANSWER_CHANGE = 0.1  # … answers copied from a template, 10% of items moved by one step


_BOT_TEMPLATE_DOMAINS = 2  # template domains ticked besides the point's focus domain


@dataclass(frozen=True)
class _PointKind:
    prefix: str
    kind: str
    focus_domain: str | None
    street_place: str
    rural_place: str
    catchment_weight: float
    age_attraction: tuple[float, float, float, float]


# The first four kinds are present in every town; the others are drawn per town.
_POINT_KINDS: tuple[_PointKind, ...] = (
    _PointKind(
        "hosp", "hospital", "healthcare", "{town}社区卫生服务中心", "{town}卫生院门诊大厅", 1.5, (0.6, 0.8, 1.1, 1.8)
    ),
    _PointKind(
        "school", "school", "education", "{town}实验小学校门口", "{town}中心小学校门口", 1.0, (0.5, 2.2, 0.8, 0.4)
    ),
    _PointKind(
        "hall",
        "service_hall",
        "government_services",
        "{town}党群服务中心便民大厅",
        "{town}便民服务中心",
        1.2,
        (0.9, 1.2, 1.1, 0.8),
    ),
    _PointKind("bus", "bus_stop", "transport", "{town}公交站台", "{town}客运站候车室", 1.0, (1.8, 1.0, 0.8, 0.9)),
    _PointKind(
        "elder", "elderly_care", "elderly_care", "{town}社区养老服务中心", "{town}敬老院", 0.6, (0.2, 0.4, 0.9, 3.0)
    ),
    _PointKind("market", "market", None, "{town}农贸市场", "{town}农贸市场", 1.2, (0.6, 0.9, 1.2, 1.4)),
    _PointKind(
        "social",
        "social_security",
        "social_security",
        "{town}社保服务窗口",
        "{town}社保服务站",
        0.7,
        (0.6, 0.9, 1.3, 1.4),
    ),
    _PointKind("job", "employment", "employment", "{town}就业服务站", "{town}劳动保障所", 0.6, (2.2, 1.4, 0.7, 0.2)),
    _PointKind("culture", "culture", "culture", "{town}图书馆分馆", "{town}综合文化站", 0.6, (1.0, 0.9, 1.0, 1.2)),
    _PointKind("sports", "sports", "sports", "{town}全民健身广场", "{town}全民健身中心", 0.6, (1.4, 1.0, 0.9, 1.0)),
    _PointKind("park", "park", "environment", "{town}滨河公园", "{town}湿地公园", 0.7, (1.1, 1.1, 0.9, 1.0)),
    _PointKind(
        "water", "utility_office", "utilities", "{town}供水供电营业厅", "{town}供电所营业厅", 0.6, (0.8, 1.1, 1.1, 1.0)
    ),
    _PointKind(
        "police",
        "police_station",
        "public_safety",
        "{town}派出所户籍窗口",
        "{town}派出所户籍窗口",
        0.6,
        (1.2, 1.1, 0.9, 0.8),
    ),
    _PointKind("square", "community", None, "{town}社区居委会", "{town}村民广场", 0.8, (0.8, 0.9, 1.0, 1.4)),
)


_ALWAYS_PRESENT_KINDS = 4


# District-level institutions stand in the first street (the district seat).
_DISTRICT_PLACES = {"hosp": "区人民医院门诊大厅", "hall": "区政务服务中心大厅", "bus": "荆州区客运站候车厅"}


_WAVE_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")


_CHINA_OFFSET = "+08:00"
