"""The fixed vocabulary of the product: the 12 domains and their names.

Defined once; every file, result and page uses these ids (product.md).
"""

from __future__ import annotations

#: The 12 domains of the national public-service quality monitoring, in their fixed
#: order (product.md).  Ids are the keys of every file and result.
DOMAIN_IDS: tuple[str, ...] = (
    "education",
    "employment",
    "healthcare",
    "social_security",
    "utilities",
    "environment",
    "transport",
    "public_safety",
    "culture",
    "sports",
    "elderly_care",
    "government_services",
)

DOMAIN_LABELS_ZH: dict[str, str] = {
    "education": "公共教育",
    "employment": "公共就业",
    "healthcare": "医疗服务",
    "social_security": "社会保障",
    "utilities": "公用事业",
    "environment": "生态环境",
    "transport": "公共交通",
    "public_safety": "公共安全",
    "culture": "公共文化",
    "sports": "公共体育",
    "elderly_care": "养老服务",
    "government_services": "政务服务",
}

#: How variances are computed: Taylor linearization, or replicate weights (every replicate re-raked).
VARIANCE_METHODS: tuple[str, ...] = ("linearization", "jackknife", "bootstrap")
