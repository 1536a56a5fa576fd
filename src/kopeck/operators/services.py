"""Writers for operators and API keys."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass

from django.db import transaction
from django.utils.translation import gettext as _

from kopeck.audit.services import audit_record
from kopeck.common import clock
from kopeck.common.actor import Actor, ActorKind
from kopeck.common.errors import Conflict, ValidationFailed
from kopeck.operators.models import ApiKey, Operator
from kopeck.operators.roles import ROLE_MATRIX, Access, Area, Role, role_allows, scopes_allow, validate_scopes

KEY_PREFIX = "kpk"


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def api_key_state(key: ApiKey) -> dict[str, object]:
    return {
        "name": key.name,
        "prefix": key.prefix,
        "scopes": list(key.scopes),
        "expires_at": key.expires_at,
        "revoked_at": key.revoked_at,
    }


Holder = ApiKey | Operator


def holder_allows(holder: Holder, area: Area, access: Access) -> bool:
    """Whether an API key (by its scopes) or an operator (by its role) has ``access`` to ``area``."""
    if isinstance(holder, ApiKey):
        return scopes_allow(holder.scopes, area, access)
    return holder.is_active and (holder.is_superuser or role_allows(holder.role, area, access))


def scopes_beyond(holder: Holder, scopes: list[str]) -> list[str]:
    """The scopes of ``scopes`` that ``holder`` does not hold itself (and so may not grant)."""
    beyond = []
    for scope in scopes:
        area, _sep, access = scope.partition(":")
        areas = list(Area) if area == "*" else [Area(area)]
        if not all(holder_allows(holder, a, Access(access)) for a in areas):
            beyond.append(scope)
    return beyond


def role_beyond(holder: Holder, role: str) -> list[Area]:
    """The areas where ``role`` has more access than ``holder`` (a role it may not grant)."""
    granted = ROLE_MATRIX.get(role, {})
    return [area for area, access in granted.items() if not holder_allows(holder, area, access)]


def operator_grant_problems(*, editor: Operator, role: str, superuser: bool,
                            target: Operator | None = None) -> dict[str, list[str]]:
    """Why ``editor`` may not give ``target`` (None: a new operator) this role and superuser flag:
    nobody grants more than they hold, and only a superuser touches a superuser."""
    if editor.is_superuser:
        return {}
    errors: dict[str, list[str]] = {}
    if superuser:
        errors["is_superuser"] = [_("Only a superuser may make a superuser.")]
    if target is not None and target.is_superuser:
        errors["username"] = [_("Only a superuser may change a superuser.")]
    beyond = role_beyond(editor, role)
    if beyond:
        errors["role"] = [_("This role has access you do not have yourself: %(scopes)s.")
                          % {"scopes": ", ".join(sorted(beyond))}]
    return errors


@dataclass(frozen=True)
class IssuedKey:
    key: ApiKey
    token: str  # shown once: "kpk_<prefix>_<secret>"


def api_key_create(
    *, name: str, scopes: list[str], actor: Actor, created_by: Operator | None = None,
    expires_at: dt.datetime | None = None, grantor: Holder | None = None,
) -> IssuedKey:
    """Create a key. ``grantor`` — the key or operator creating it — may grant only scopes it holds
    itself; only the system actor (the command line, which owns the installation) needs none."""
    if grantor is None and actor.kind != ActorKind.SYSTEM:
        raise ValueError("api_key_create: an operator or a key creating a key must be given as grantor")
    errors: dict[str, list[str]] = {}
    if not name.strip():
        errors["name"] = [_("Name is required.")]
    if not scopes:
        errors["scopes"] = [_("At least one scope is required.")]
    elif unknown := validate_scopes(scopes):
        errors["scopes"] = [_("Unknown scope: %(scope)s") % {"scope": s} for s in unknown]
    elif grantor is not None and (beyond := scopes_beyond(grantor, scopes)):
        errors["scopes"] = [_("You cannot grant a scope you do not hold: %(scope)s") % {"scope": s} for s in beyond]
    if expires_at is not None and expires_at <= clock.now():
        errors["expires_at"] = [_("Expiry must be in the future.")]
    if errors:
        raise ValidationFailed(_("Invalid API key."), errors=errors)
    prefix = secrets.token_hex(4)
    secret = secrets.token_urlsafe(32)
    with transaction.atomic():
        key = ApiKey.objects.create(
            name=name.strip(), prefix=prefix, secret_hash=_hash(secret), scopes=sorted(set(scopes)),
            created_by=created_by, created_at=clock.now(), expires_at=expires_at,
        )
        audit_record(actor=actor, action="api_key.create", object_type="api_key", object_id=key.pk,
                     after=api_key_state(key))
    return IssuedKey(key, f"{KEY_PREFIX}_{prefix}_{secret}")


def api_key_revoke(*, key: ApiKey, actor: Actor) -> ApiKey:
    if actor.kind == ActorKind.API_KEY and actor.id == str(key.pk):
        raise Conflict(_("A key cannot revoke itself; revoke it with another key or in the back office."))
    with transaction.atomic():
        key = ApiKey.objects.select_for_update().get(pk=key.pk)
        if key.revoked_at is not None:
            raise Conflict(_("This API key is already revoked."))
        before = api_key_state(key)
        key.revoked_at = clock.now()
        key.save(update_fields=["revoked_at"])
        audit_record(actor=actor, action="api_key.revoke", object_type="api_key", object_id=key.pk,
                     before=before, after=api_key_state(key))
    return key


class KeyRefused(Exception):
    pass


LAST_USE_RESOLUTION = dt.timedelta(minutes=1)


def api_key_authenticate(token: str, *, ip: str | None = None) -> ApiKey:
    """Check a presented token; record the last use (at most once a minute, to keep it cheap)."""
    parts = token.split("_", 2)
    if len(parts) != 3 or parts[0] != KEY_PREFIX:
        raise KeyRefused("Malformed API key.")
    key = ApiKey.objects.filter(prefix=parts[1]).first()
    if key is None or not hmac.compare_digest(key.secret_hash, _hash(parts[2])):
        raise KeyRefused("Invalid API key.")
    now = clock.now()
    if key.revoked_at is not None:
        raise KeyRefused("This API key has been revoked.")
    if key.expires_at is not None and key.expires_at <= now:
        raise KeyRefused("This API key has expired.")
    if key.last_used_at is None or now - key.last_used_at >= LAST_USE_RESOLUTION or key.last_used_ip != ip:
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=now, last_used_ip=ip)
        key.last_used_at, key.last_used_ip = now, ip
    return key


def operator_create(
    *, username: str, password: str, role: str, actor: Actor, email: str = "", superuser: bool = False,
    editor: Operator | None = None,
) -> Operator:
    """Create an operator; ``editor`` (None: the system) may grant only what it holds."""
    if role not in Role.values:
        raise ValidationFailed.field("role", _("Unknown role %(role)r.") % {"role": role})
    if editor is None and actor.kind != ActorKind.SYSTEM:
        raise ValueError("operator_create: the operator creating one must be given as editor")
    if editor is not None and (problems := operator_grant_problems(editor=editor, role=role, superuser=superuser)):
        raise ValidationFailed(_("You cannot grant more access than you have."), errors=problems)
    with transaction.atomic():
        if Operator.objects.filter(username=username).exists():
            raise Conflict(_("Operator %(username)r already exists.") % {"username": username})
        op = Operator(username=username, email=email, role=role, is_staff=True, is_superuser=superuser,
                      date_joined=clock.now())
        op.set_password(password)
        op.save()
        audit_record(actor=actor, action="operator.create", object_type="operator", object_id=op.pk,
                     after=operator_state(op))
    return op


def operator_state(op: Operator) -> dict[str, object]:
    return {"username": op.username, "email": op.email, "first_name": op.first_name, "last_name": op.last_name,
            "role": op.role, "is_active": op.is_active, "is_staff": op.is_staff, "is_superuser": op.is_superuser}


def operator_record_change(
    *, actor: Actor, operator: Operator, before: dict[str, object] | None, password_changed: bool = False
) -> None:
    """Audit an operator saved by Django's user admin (which owns password hashing)."""
    after = operator_state(operator)
    if before == after and not password_changed:
        return
    audit_record(actor=actor, action="operator.create" if before is None else "operator.update",
                 object_type="operator", object_id=operator.pk, before=before,
                 after={**after, "password_changed": password_changed} if password_changed else after)


def actor_for_operator(op: Operator) -> Actor:
    return Actor(ActorKind.OPERATOR, str(op.pk), op.username)


def actor_for_key(key: ApiKey) -> Actor:
    return Actor(ActorKind.API_KEY, str(key.pk), f"{key.name} ({key.prefix})")
