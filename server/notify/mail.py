"""E-mail over SMTP (aiosmtplib): plain text and HTML in one multipart/alternative."""

from __future__ import annotations

import hashlib
import html
from email.message import EmailMessage
from email.utils import formatdate

import aiosmtplib

from .transports import ChannelConfig, DeliveryError, Outgoing, SendContext


def compose(ctx: SendContext, to: str, message: Outgoing) -> EmailMessage:
    mail = EmailMessage()
    mail["From"] = ctx.settings.smtp_from
    mail["To"] = to
    mail["Subject"] = message.text
    mail["Date"] = formatdate(localtime=False)
    # The same delivery always carries the same Message-ID: a retry after a crash can be
    # recognised (and is, by most mail stores) as the message already received.
    digest = hashlib.sha256(message.idempotency_key.encode()).hexdigest()[:32]
    mail["Message-ID"] = f"<{digest}@yizhan>"
    plain = [message.text]
    if message.body:
        plain.append(message.body)
    if message.url:
        plain.append(f"{message.open_label}: {message.url}")
    mail.set_content("\n\n".join(plain))
    parts = [f"<p><strong>{html.escape(message.text)}</strong></p>"]
    if message.body:
        parts.append(f"<p>{html.escape(message.body)}</p>")
    if message.url:
        parts.append(f'<p><a href="{html.escape(message.url)}">'
                     f"{html.escape(message.open_label)}</a></p>")
    mail.add_alternative("<html><body>" + "".join(parts) + "</body></html>", subtype="html")
    return mail


async def send(ctx: SendContext, channel: ChannelConfig, message: Outgoing) -> str:
    settings = ctx.settings
    to = message.address or channel.address
    if not settings.smtp_host:
        raise DeliveryError("YIZHAN_SMTP_HOST is not set", permanent=True)
    if not to:
        raise DeliveryError("no e-mail address", permanent=True)
    try:
        await aiosmtplib.send(
            compose(ctx, to, message), hostname=settings.smtp_host, port=settings.smtp_port,
            username=settings.smtp_user, password=settings.smtp_password,
            use_tls=settings.smtp_tls == "tls", start_tls=settings.smtp_tls == "starttls",
            timeout=settings.timeout_s)
    except aiosmtplib.SMTPRecipientsRefused as exc:
        raise DeliveryError(f"refused: {exc}", permanent=True) from exc
    except aiosmtplib.SMTPException as exc:
        raise DeliveryError(f"SMTP: {exc}") from exc
    return "accepted"
