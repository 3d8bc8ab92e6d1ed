"""Domain constants from ``docs/domain.md``: the regions, industries and levels kam knows.

These are the allowed values of the data contract and the defaults of the demo database.
"""

from __future__ import annotations

__all__ = [
    "REGIONS",
    "INDUSTRIES",
    "ADMIN_LEVELS",
    "PRODUCT_LINES",
    "CONTACT_LEVELS",
    "REP_ROLES",
    "PARTNER_TIERS",
    "ACCOUNT_STATUSES",
    "TICKET_KINDS",
    "TICKET_SEVERITIES",
    "OPPORTUNITY_SOURCES",
    "OPPORTUNITY_STAGES",
    "OPPORTUNITY_OUTCOMES",
    "VISIT_KINDS",
]

#: The 18 sales regions (slug -> display name).
REGIONS: dict[str, str] = {
    "heilongjiang_jilin": "Heilongjiang-Jilin",
    "shanxi_inner_mongolia": "Shanxi-Inner Mongolia",
    "beijing_tianjin_hebei": "Beijing-Tianjin-Hebei",
    "liaoning": "Liaoning",
    "shandong": "Shandong",
    "fujian": "Fujian",
    "shanghai": "Shanghai",
    "jiangsu_anhui": "Jiangsu-Anhui",
    "zhejiang": "Zhejiang",
    "sichuan_chongqing": "Sichuan-Chongqing",
    "northwest": "Northwest",
    "xinjiang": "Xinjiang",
    "yunnan_guizhou": "Yunnan-Guizhou",
    "guangdong": "Guangdong",
    "henan": "Henan",
    "hubei": "Hubei",
    "shenzhen_guangxi": "Shenzhen-Guangxi",
    "hunan_jiangxi": "Hunan-Jiangxi",
}

#: Industries of both lists in the source, plus energy.
INDUSTRIES: tuple[str, ...] = (
    "government",
    "education",
    "public_utilities",
    "transport",
    "finance",
    "telecom",
    "manufacturing",
    "enterprise",
    "military",
    "power",
    "energy",
)

#: Administrative level of public-sector accounts (null for others).
ADMIN_LEVELS: tuple[str, ...] = ("central", "provincial", "municipal", "county")
PRODUCT_LINES: tuple[str, ...] = ("desktop", "notebook", "server", "tablet", "services")
CONTACT_LEVELS: tuple[str, ...] = ("operations", "management", "decision")
REP_ROLES: tuple[str, ...] = ("outside", "inside")
PARTNER_TIERS: tuple[str, ...] = ("platinum", "gold", "silver")
ACCOUNT_STATUSES: tuple[str, ...] = ("active", "dormant", "closed")
TICKET_KINDS: tuple[str, ...] = ("complaint", "repair", "installation", "inquiry")
TICKET_SEVERITIES: tuple[str, ...] = ("low", "medium", "high", "critical")
OPPORTUNITY_SOURCES: tuple[str, ...] = (
    "inside_callout",
    "partner",
    "marketing_event",
    "web",
    "referral",
    "field",
)
OPPORTUNITY_STAGES: tuple[str, ...] = ("lead", "qualified", "proposal", "negotiation", "closed")
OPPORTUNITY_OUTCOMES: tuple[str, ...] = ("open", "won", "lost")
VISIT_KINDS: tuple[str, ...] = ("onsite", "phone", "executive")
