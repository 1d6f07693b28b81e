"""The channels the administrator configures: add, edit, disable; secrets sealed."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.core import audit
from server.core.clock import Clock
from server.core.errors import N_, NotFound
from server.core.fields import FieldReader
from server.models import Department, NoticeChannel, Site

from . import sealing
from .transports import OPTION_FIELDS, SECRET_FIELDS, TRANSPORTS, ChannelConfig

SCOPES: Mapping[str, str] = {
    "department": N_("A department's group"), "site": N_("A site's group"),
    "street": N_("The street office"), "personal": N_("Each person (e-mail, SMS)"),
}
TRANSPORT_NAMES: Mapping[str, str] = {
    "wecom": N_("WeCom group robot"), "dingtalk": N_("DingTalk group robot"),
    "email": N_("E-mail"), "sms": N_("SMS (Alibaba Cloud)"), "webhook": N_("Webhook"),
}
ALL_SECRETS = tuple(dict.fromkeys(s for names in SECRET_FIELDS.values() for s in names))
ALL_OPTIONS = tuple(dict.fromkeys(o for names in OPTION_FIELDS.values() for o in names))


@dataclass(frozen=True, kw_only=True)
class SaveChannel:
    name: str
    transport: str
    scope: str
    department_id: int | None
    site_id: int | None
    address: str
    options: dict[str, str] = field(default_factory=dict)
    # A blank secret field keeps what is stored: pages never hold the secret to send back.
    secrets: dict[str, str] = field(default_factory=dict)
    enabled: bool = True


def channel_from_fields(data: Mapping[str, object]) -> SaveChannel:
    reader = FieldReader(data)
    name = reader.line("name", max_len=100)
    transport = reader.line("transport", max_len=16)
    if transport not in TRANSPORTS:
        reader.fail("transport", N_("Choose one of the options."))
    scope = reader.line("scope", max_len=16)
    if scope not in SCOPES:
        reader.fail("scope", N_("Choose one of the options."))
    department_id = reader.optional_id("department_id") if scope == "department" else None
    site_id = reader.optional_id("site_id") if scope == "site" else None
    if scope == "department" and department_id is None:
        reader.fail("department_id", N_("Choose one of the options."))
    if scope == "site" and site_id is None:
        reader.fail("site_id", N_("Choose one of the options."))
    if scope == "personal" and transport not in ("email", "sms"):
        reader.fail("scope", N_("Only e-mail and SMS reach a person."))
    if transport == "sms" and scope != "personal":
        reader.fail("scope", N_("SMS goes to people, not to groups."))
    address = reader.line("address", max_len=500, required=False)
    needs_url = transport == "webhook" or (bool(address) and transport in ("wecom", "dingtalk",
                                                                          "sms"))
    if needs_url and not address.startswith(("http://", "https://")):
        reader.fail("address", N_("Enter an http:// or https:// URL."))
    if transport == "email" and scope != "personal" and "@" not in address:
        reader.fail("address", N_("Enter an e-mail address."))
    options = {o: reader.line(o, max_len=100, required=False)
               for o in OPTION_FIELDS.get(transport, ())}
    secrets = {s: reader.line(s, max_len=200, required=False)
               for s in SECRET_FIELDS.get(transport, ())}
    reader.check()
    return SaveChannel(name=name, transport=transport, scope=scope,
                       department_id=department_id, site_id=site_id, address=address,
                       options={k: v for k, v in options.items() if v},
                       secrets={k: v for k, v in secrets.items() if v},
                       enabled=reader.flag("enabled"))


async def _check_unit(db: AsyncSession, command: SaveChannel) -> None:
    if command.department_id is not None and await db.get(Department,
                                                          command.department_id) is None:
        raise NotFound("Not found.")
    if command.site_id is not None and await db.get(Site, command.site_id) is None:
        raise NotFound("Not found.")


async def save_channel(db: AsyncSession, channel_id: int | None, command: SaveChannel, *,
                       secret_key: str, actor_id: int | None, clock: Clock) -> NoticeChannel:
    await _check_unit(db, command)
    now = clock()
    if channel_id is None:
        row = NoticeChannel(created_at=now, secret_hints={})
        db.add(row)
        stored: dict[str, str] = {}
    else:
        found = await db.get(NoticeChannel, channel_id)
        if found is None:
            raise NotFound("Not found.")
        row = found
        stored = sealing.unseal(secret_key, row.sealed_secrets)
    kept = {k: v for k, v in stored.items() if k in SECRET_FIELDS.get(command.transport, ())}
    secrets = {**kept, **command.secrets}
    row.name, row.transport, row.scope = command.name, command.transport, command.scope
    row.department_id, row.site_id = command.department_id, command.site_id
    row.address, row.options, row.enabled = command.address, dict(command.options), \
        command.enabled
    row.sealed_secrets = sealing.seal(secret_key, secrets)
    row.secret_hints = {k: sealing.hint(v) for k, v in secrets.items()}
    row.updated_at = now
    await db.flush()
    audit.record(db, at=now, actor_id=actor_id, action="notice_channel.save",
                 target_type="notice_channel", target_id=row.id,
                 changes={"transport": [None, row.transport], "scope": [None, row.scope],
                          "enabled": [None, row.enabled],
                          "secrets_changed": [None, sorted(command.secrets)]})
    return row


async def all_channels(db: AsyncSession) -> list[NoticeChannel]:
    return list(await db.scalars(select(NoticeChannel).order_by(NoticeChannel.id)))


async def get_channel(db: AsyncSession, channel_id: int) -> NoticeChannel:
    row = await db.get(NoticeChannel, channel_id)
    if row is None:
        raise NotFound("Not found.")
    return row


def config_of(row: NoticeChannel, secret_key: str) -> ChannelConfig:
    return ChannelConfig(id=row.id, name=row.name, transport=row.transport,
                         address=row.address, options=dict(row.options),
                         secrets=sealing.unseal(secret_key, row.sealed_secrets))
