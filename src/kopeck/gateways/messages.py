"""The gateways' stored messages told in the operator's language.

A notification's detail, an online payment's failure reason and an autopayment charge's last error are
stored in English — the logs, the audit and the provider-facing records read them as they are — and
are made of the fixed forms below (the services and the providers write them with these constants).
:func:`told` recognises a stored text's form and gives it in the active language; a value inside it
that is itself a stored message (``%(message)s``) is told too, and ЮKassa's cancellation codes are told
by their meaning. What is not Kopeck's (a provider's own words, a technical error) stays as it is."""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from django.utils.html import conditional_escape, format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language, gettext, gettext_noop, pgettext_lazy

from kopeck.core.documents import format_amount

# the providers' names as the messages write them, and as the operator's language does
PROVIDER_NAMES = {"ЮKassa": "ЮKassa", "Robokassa": pgettext_lazy("provider name", "Robokassa"),
                  "CloudPayments": "CloudPayments", "ЮMoney": "ЮMoney", "PayPal": "PayPal", "Qiwi": "Qiwi"}

# --- settlement and receiving (kopeck.gateways.services, kopeck.gateways.notifications)
TEST_PAYMENT_ON_LIVE = gettext_noop("A test payment on a live gateway.")
TEST_NOTIFICATION_ON_LIVE = gettext_noop("A test notification on a live gateway.")
INSTEAD = gettext_noop("%(got)s instead of %(expected)s.")
NO_AMOUNT = gettext_noop("No amount; the order is for %(expected)s.")
ALREADY_PAID = gettext_noop("The order is already paid.")
MAY_PROCEED = gettext_noop("Payment may proceed.")
PAID_BY_ANOTHER = gettext_noop("Paid by %(paid)s; this is %(this)s.")
ALREADY_CREDITED = gettext_noop("Already credited.")
NO_STATUS_API = gettext_noop("This provider has no status API.")
FOR_ANOTHER_ORDER = gettext_noop("The provider's payment is for %(order)s.")
REPLAY = gettext_noop("Sent at %(sent)s UTC, more than %(hours)s h ago.")
NOTHING_TO_CREDIT = gettext_noop("%(event)s: nothing to credit.")
NO_ORDER = gettext_noop("No order %(order)s on this gateway.")
TAKEN = gettext_noop("This transaction was already taken.")
DISABLED = gettext_noop("The gateway is disabled.")
UNREACHABLE = gettext_noop("provider unreachable: %(message)s")
ORDER_GONE = gettext_noop("The order is gone.")
AUTOPAY_OFF = gettext_noop("Autopay is off.")

# --- the providers (kopeck.gateways.providers)
CALL_FAILED = gettext_noop("%(provider)s %(call)s failed: %(error)s")
CALL_ANSWERED = gettext_noop("%(provider)s %(call)s answered %(code)s: %(error)s")
CALL_UNEXPECTED = gettext_noop("%(provider)s %(call)s: unexpected answer.")
CALL_DTD = gettext_noop("%(provider)s %(call)s answered with a DTD; refused.")
KNOWS_NO_PAYMENT = gettext_noop("%(provider)s knows no payment %(id)s.")
KNOWS_NO_SUCH_PAYMENT = gettext_noop("%(provider)s knows no such payment.")
NOT_A_NOTIFICATION = gettext_noop("Not a %(provider)s notification: %(error)s")
UNKNOWN_KIND = gettext_noop("Unknown %(provider)s notification %(kind)s.")
NOT_IN_RANGES = gettext_noop("%(address)s is not in %(provider)s's ranges.")
UNKNOWN_HASH = gettext_noop("Unknown %(provider)s hash algorithm %(algorithm)s.")
NOT_AN_AMOUNT = gettext_noop("%(field)s %(value)s is not an amount.")
BAD_AMOUNT_OR_DATE = gettext_noop("Bad amount or datetime: %(error)s")
NO_CAPTURE_AMOUNT = gettext_noop("No capture amount: %(error)s")
ROBOKASSA_SIGNATURE = gettext_noop("SignatureValue does not match Password #2.")
CLOUDPAYMENTS_SIGNATURE = gettext_noop("Content-HMAC does not match the API secret.")
QIWI_SIGNATURE = gettext_noop("X-Api-Signature-SHA256 does not match the secret key.")
YOOMONEY_SIGNATURE = gettext_noop("sha1_hash does not match the notification secret.")
PAYPAL_HEADERS = gettext_noop("PayPal transmission headers missing.")
PAYPAL_SAYS = gettext_noop("PayPal's signature check says %(status)s.")
PROTECTED = gettext_noop("The transfer is under a protection code.")
UNACCEPTED = gettext_noop("The transfer is not accepted yet.")
PAYMENT_CANCELED = gettext_noop("The provider canceled the payment.")
REFUND_CANCELED = gettext_noop("The provider canceled the refund.")
PROVIDER_REFUSED = gettext_noop("The provider refused.")
CHARGE_DECLINED = gettext_noop("The provider declined the charge.")
NO_CAPTURE = gettext_noop("The order has no capture to refund.")
CASH_REGISTER_INN = gettext_noop("CloudPayments needs the cash register owner's ИНН: set the option inn or the "
                                 "legal entity.")

# a receipt's problems (kopeck.gateways.receipts.PROBLEMS, which knows no Django)
RECEIPT_PROBLEMS = (
    gettext_noop("No receipt VAT code for the rate %(rate)s."),
    gettext_noop("Unknown payment method sign %(method)s."),
    gettext_noop("Unknown tax system %(tax_system)s."),
    gettext_noop("A receipt needs the client's e-mail or phone."),
    gettext_noop("A receipt needs at least one line."),
)

# a failure of the settlement worker itself (kept for a retry): the exception's kind and words
_FAILURE = re.compile(r"^(?P<kind>[A-Za-z_]\w*(?:Error|Exception)): (?P<error>.*)$", re.DOTALL)
SETTLEMENT_FAILED = gettext_noop("Settlement failed, retried later: %(kind)s: %(error)s")

# ЮKassa's cancellation reasons (cancellation_details.reason), as its documentation explains them
YOOKASSA_REASONS = {
    "3d_secure_failed": gettext_noop("3-D Secure authentication failed"),
    "call_issuer": gettext_noop("declined by the issuing bank"),
    "canceled_by_merchant": gettext_noop("canceled by the shop"),
    "card_expired": gettext_noop("the card has expired"),
    "country_forbidden": gettext_noop("cards issued in this country are not accepted"),
    "expired_on_capture": gettext_noop("the authorised payment was not captured in time"),
    "expired_on_confirmation": gettext_noop("the payer did not confirm the payment in time"),
    "fraud_suspected": gettext_noop("suspected fraud"),
    "general_decline": gettext_noop("declined without a reason given"),
    "identification_required": gettext_noop("the limits of an unidentified wallet are exceeded"),
    "insufficient_funds": gettext_noop("insufficient funds"),
    "internal_timeout": gettext_noop("a technical failure at ЮKassa"),
    "invalid_card_number": gettext_noop("invalid card number"),
    "invalid_csc": gettext_noop("invalid CVV2/CVC2 code"),
    "issuer_unavailable": gettext_noop("the issuing bank is unavailable"),
    "payment_method_limit_exceeded": gettext_noop("the payment method's limit is exceeded"),
    "payment_method_restricted": gettext_noop("payments by this method are restricted"),
    "permission_revoked": gettext_noop("the payer revoked the permission for autopayments"),
    "unsupported_mobile_operator": gettext_noop("payments from this mobile operator are not supported"),
}

# the forms, most specific first (a form's values are matched lazily, its ends exactly)
FORMS = (
    TEST_PAYMENT_ON_LIVE, TEST_NOTIFICATION_ON_LIVE, NO_AMOUNT, ALREADY_PAID, MAY_PROCEED, PAID_BY_ANOTHER,
    ALREADY_CREDITED, NO_STATUS_API, FOR_ANOTHER_ORDER, REPLAY, NO_ORDER, TAKEN, DISABLED, UNREACHABLE, ORDER_GONE,
    AUTOPAY_OFF, CALL_UNEXPECTED, CALL_DTD, CALL_ANSWERED, CALL_FAILED, KNOWS_NO_SUCH_PAYMENT, KNOWS_NO_PAYMENT,
    NOT_A_NOTIFICATION, UNKNOWN_KIND, NOT_IN_RANGES, UNKNOWN_HASH, NOT_AN_AMOUNT, BAD_AMOUNT_OR_DATE,
    NO_CAPTURE_AMOUNT, ROBOKASSA_SIGNATURE, CLOUDPAYMENTS_SIGNATURE, QIWI_SIGNATURE, YOOMONEY_SIGNATURE,
    PAYPAL_HEADERS, PAYPAL_SAYS, PROTECTED, UNACCEPTED, PAYMENT_CANCELED, REFUND_CANCELED, PROVIDER_REFUSED,
    CHARGE_DECLINED, NO_CAPTURE, CASH_REGISTER_INN, NOTHING_TO_CREDIT, INSTEAD,
)
_PLACEHOLDER = re.compile(r"%\((\w+)\)s")
# what a value may be: a provider's name, an API call or an answer code (no space), else anything
_VALUES = {"provider": "|".join(re.escape(n) for n in PROVIDER_NAMES), "call": r"\S+", "code": r"\S*"}


def _pattern(form: str) -> re.Pattern[str]:
    parts, at = [], 0
    for match in _PLACEHOLDER.finditer(form):
        parts.append(re.escape(form[at:match.start()]))
        name = match.group(1)
        parts.append(f"(?P<{name}>{_VALUES.get(name, '.+?')})")
        at = match.end()
    parts.append(re.escape(form[at:]))
    return re.compile("^" + "".join(parts) + "$", re.DOTALL)


_PATTERNS = [(_pattern(form), form) for form in FORMS]


# the values that are words of Kopeck's language (amounts, currencies, hours, a time): not marked as code
_PLAIN = {"got", "expected", "hours", "sent"}
_AMOUNT = re.compile(r"^-?\d+(?:\.(\d+))?$")


def _plain(value: str) -> str:
    """An amount as the language writes it ("1 499,00" in Russian), anything else as it is."""
    match = _AMOUNT.match(value)
    if not match:
        return value
    language = "en" if (get_language() or "ru").startswith("en") else "ru"
    sign = "−" if value.startswith("-") else ""
    return sign + format_amount(abs(Decimal(value)), language, len(match.group(1) or ""))


def _told(text: str, value: Callable[[str], str], escape: Callable[[str], str]) -> str:
    if not text:
        return text
    if text in YOOKASSA_REASONS:
        return escape(gettext(YOOKASSA_REASONS[text]))
    failure = _FAILURE.match(text)
    if failure:
        return escape(gettext(SETTLEMENT_FAILED)) % {k: value(v) for k, v in failure.groupdict().items()}
    for pattern, form in _PATTERNS:
        match = pattern.match(text)
        if match:
            params: dict[str, Any] = {}
            for name, found in match.groupdict().items():
                if name == "message":
                    params[name] = _told(found, value, escape)
                elif name == "provider":
                    params[name] = escape(str(PROVIDER_NAMES[found]))
                else:
                    params[name] = escape(_plain(found)) if name in _PLAIN else value(found)
            return escape(gettext(form)) % params
    return value(text)


def told(text: str) -> str:
    """``text`` (a stored English message of gateways) in the active language; as it is when unknown."""
    return _told(text, str, str)


def told_html(text: str) -> SafeString:
    """:func:`told` for a page: the values that are not Kopeck's words (identifiers, the provider's own
    words, a technical error) marked as code, as is a whole text of unknown form."""
    return mark_safe(_told(text, lambda v: format_html('<code class="kopeck-code">{}</code>', v),  # noqa: S308
                           lambda t: str(conditional_escape(t))))


# --- the providers' notification events by their meaning (the code itself is shown beside it)
EVENTS: dict[str, Any] = {
    # CloudPayments: one URL per notification type (kopeck.gateways.providers.cloudpayments.KINDS)
    "check": pgettext_lazy("gateway event", "payment check"),
    "pay": pgettext_lazy("gateway event", "payment"),
    "fail": pgettext_lazy("gateway event", "payment declined"),
    "confirm": pgettext_lazy("gateway event", "payment confirmed"),
    "refund": pgettext_lazy("gateway event", "refund"),
    "recurrent": pgettext_lazy("gateway event", "recurring payment changed"),
    "cancel": pgettext_lazy("gateway event", "payment cancelled"),
    # Robokassa's ResultURL
    "result": pgettext_lazy("gateway event", "payment"),
    # ЮKassa
    "payment.succeeded": pgettext_lazy("gateway event", "payment succeeded"),
    "payment.waiting_for_capture": pgettext_lazy("gateway event", "payment awaiting capture"),
    "payment.canceled": pgettext_lazy("gateway event", "payment cancelled"),
    "refund.succeeded": pgettext_lazy("gateway event", "refund made"),
    # ЮMoney
    "p2p-incoming": pgettext_lazy("gateway event", "transfer from a wallet"),
    "card-incoming": pgettext_lazy("gateway event", "card payment"),
    # PayPal
    "CHECKOUT.ORDER.APPROVED": pgettext_lazy("gateway event", "order approved by the payer"),
    "PAYMENT.CAPTURE.COMPLETED": pgettext_lazy("gateway event", "payment captured"),
    "PAYMENT.CAPTURE.DENIED": pgettext_lazy("gateway event", "payment declined"),
    "PAYMENT.CAPTURE.REFUNDED": pgettext_lazy("gateway event", "refund"),
    # Qiwi bill statuses
    "PAID": pgettext_lazy("gateway event", "bill paid"),
    "REJECTED": pgettext_lazy("gateway event", "bill rejected"),
    "EXPIRED": pgettext_lazy("gateway event", "bill expired"),
    "WAITING": pgettext_lazy("gateway event", "bill awaiting payment"),
}


def event_label(code: str) -> str:
    """A provider's event told by its meaning in the active language; an unknown one as it came."""
    label = EVENTS.get(code)
    return str(label) if label is not None else code
