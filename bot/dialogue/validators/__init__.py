"""Checks for what a user types in the filing dialogue: a normalised value, or an InputError.

Every public function takes the user's text, caps its length before any other work, and raises
nothing but InputError (reason + a valid, obviously fake example). Personal numbers (ID, mobile,
e-mail) come back masked only: the bot pre-checks a filing, it never submits one, so it has no
use for the full number after this check (PIPL art. 28 treats ID data as sensitive, facts 64).
"""

from __future__ import annotations

from bot.dialogue.validators._common import (
    EXAMPLE_COMPANY,
    EXAMPLE_CREDIT_CODE,
    EXAMPLE_DOMAIN,
    EXAMPLE_EMAIL,
    EXAMPLE_ID,
    EXAMPLE_IP,
    EXAMPLE_MOBILE,
    EXAMPLE_NAME,
    EXAMPLE_SITE_NAME,
    CreditCodeInfo,
    DomainInfo,
    EmailInfo,
    IdCardInfo,
    MobileInfo,
    SiteNameInfo,
)
from bot.dialogue.validators.domains import MAX_DOMAINS, check_domains
from bot.dialogue.validators.organisations import check_company_name, check_credit_code
from bot.dialogue.validators.people import (
    check_email,
    check_id_number,
    check_mobile,
    check_person_name,
)
from bot.dialogue.validators.server import (
    check_duration_days,
    check_ip,
    check_server_term,
    read_duration,
)
from bot.dialogue.validators.site_names import check_site_name

__all__ = [
    "EXAMPLE_COMPANY",
    "EXAMPLE_CREDIT_CODE",
    "EXAMPLE_DOMAIN",
    "EXAMPLE_EMAIL",
    "EXAMPLE_ID",
    "EXAMPLE_IP",
    "EXAMPLE_MOBILE",
    "EXAMPLE_NAME",
    "EXAMPLE_SITE_NAME",
    "MAX_DOMAINS",
    "CreditCodeInfo",
    "DomainInfo",
    "EmailInfo",
    "IdCardInfo",
    "MobileInfo",
    "SiteNameInfo",
    "check_company_name",
    "check_credit_code",
    "check_domains",
    "check_duration_days",
    "check_email",
    "check_id_number",
    "check_ip",
    "check_mobile",
    "check_person_name",
    "check_server_term",
    "check_site_name",
    "read_duration",
]
