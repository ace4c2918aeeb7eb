"""E-mail replies to tickets over SMTP (the standard library's ``smtplib``).

:func:`build_reply` makes the message: ``To`` the ticket's address only, ``From`` and
``Reply-To`` the shop's (``SHOP_SMTP_FROM``, ``SHOP_SMTP_REPLY_TO``), ``Subject`` with
the ticket number (``… [Ticket #12]``), a ``Message-ID``; the staff member's text, then
the shopper's own message quoted. Header values are made single-line first (CR, LF and
other control characters become spaces), so nothing a shopper or staff member typed can
add a header or a recipient. :func:`send_message` delivers it: STARTTLS when configured
(refused, never downgraded, when the server does not offer it), login when a user is
set (only over TLS, or to a loopback server), one recipient. Every failure is a
:class:`MailError` whose message says what went wrong, without the password.
"""

from __future__ import annotations

import ipaddress
import re
import smtplib
import ssl
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, formataddr, make_msgid, parseaddr

from shop.settings import Settings

EMAIL_RE = re.compile(r"[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9.-]{1,190}\.[A-Za-z]{2,24}")
MAX_SUBJECT = 150
_HEADER_UNSAFE = re.compile(r"[\x00-\x1f\x7f\u0085\u2028\u2029]+")
_BODY_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class MailError(RuntimeError):
    """The reply could not be sent; the message says why (never a secret)."""


@dataclass(frozen=True)
class SmtpConfig:
    """Where replies go out (``SHOP_SMTP_*``). ``host`` empty: e-mail is not set up.
    ``starttls``: upgrade the connection before anything else (default on; refused
    when the server does not offer it); ``user``/``password``: SMTP AUTH (sent only
    over TLS or to a loopback server); ``from_addr``: the shop's sender address;
    ``reply_to``: where shoppers' answers go (default ``from_addr``); ``from_name``:
    the sender's display name (the shop's name)."""

    host: str = ""
    port: int = 587
    user: str = ""
    password: str = field(default="", repr=False)
    from_addr: str = ""
    reply_to: str = ""
    from_name: str = ""
    starttls: bool = True
    timeout_s: float = 10.0

    @property
    def problem(self) -> str | None:
        """Why replies cannot be sent with this configuration, or ``None``."""
        if not self.host.strip():
            return "e-mail is not set up (SHOP_SMTP_HOST is empty)"
        if not EMAIL_RE.fullmatch(self.from_addr.strip()):
            return "e-mail is not set up (SHOP_SMTP_FROM is not an e-mail address)"
        if self.reply_to.strip() and not EMAIL_RE.fullmatch(self.reply_to.strip()):
            return "SHOP_SMTP_REPLY_TO is not an e-mail address"
        if self.user and not self.starttls and not _is_loopback(self.host):
            return ("refusing to send the SMTP password unencrypted: set SHOP_SMTP_STARTTLS=true "
                    "(or use a mail relay on this machine)")
        return None


def smtp_config(settings: Settings) -> SmtpConfig:
    """The :class:`SmtpConfig` of ``SHOP_SMTP_*`` (the sender's name: ``SHOP_NAME``)."""
    return SmtpConfig(host=settings.smtp_host, port=settings.smtp_port, user=settings.smtp_user,
                      password=settings.smtp_password.get_secret_value(), from_addr=settings.smtp_from,
                      reply_to=settings.smtp_reply_to, from_name=settings.shop_name,
                      starttls=settings.smtp_starttls, timeout_s=settings.smtp_timeout_s)


def _is_loopback(host: str) -> bool:
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip()).is_loopback
    except ValueError:
        return False


def header_text(value: str, *, limit: int = MAX_SUBJECT) -> str:
    """``value`` as one header line: control characters and line breaks (CR, LF, NEL,
    U+2028/9) become one space, whitespace is collapsed, cut at ``limit``."""
    return " ".join(_HEADER_UNSAFE.sub(" ", value or "").split())[:limit].strip()


def body_text(value: str) -> str:
    """``value`` as a mail body: line breaks normalised to ``\\n`` (the SMTP policy writes
    CRLF and ``smtplib`` dot-stuffs lines), other control characters dropped."""
    text = (value or "").replace("\r\n", "\n").replace("\r", "\n")
    return _BODY_CONTROL.sub("", text)


def ticket_subject(ticket_id: int, subject: str) -> str:
    """``"<subject> [Ticket #12]"`` (the subject made one safe line)."""
    return f"{header_text(subject) or 'Your message'} [Ticket #{ticket_id}]"


def build_reply(*, config: SmtpConfig, ticket_id: int, to: str, subject: str, body: str,
                original: str, original_at: datetime, signature: str, now: datetime) -> EmailMessage:
    """The reply to ticket ``ticket_id`` for ``to`` (see the module doc). ``original``:
    the shopper's message, quoted below ``body``; ``now``: naive UTC.

    Raises:
        MailError: ``to`` is not one plain e-mail address, or the configuration is unusable.
    """
    problem = config.problem
    if problem:
        raise MailError(problem)
    address = to.strip()
    if not EMAIL_RE.fullmatch(address) or parseaddr(address)[1] != address:
        raise MailError("the ticket's e-mail address is not a plain address")
    from_addr = config.from_addr.strip()
    message = EmailMessage(policy=SMTP)
    message["From"] = formataddr((header_text(config.from_name, limit=100), from_addr)) if config.from_name \
        else from_addr
    message["To"] = address
    message["Reply-To"] = (config.reply_to or config.from_addr).strip()
    message["Subject"] = ticket_subject(ticket_id, subject)
    message["Date"] = format_datetime(now.replace(tzinfo=timezone.utc))
    message["Message-ID"] = make_msgid(idstring=f"ticket-{ticket_id}", domain=from_addr.rsplit("@", 1)[1])
    message["X-Shop-Ticket"] = str(ticket_id)
    quoted = "\n".join(f"> {line}" for line in body_text(original).split("\n"))
    text = (f"{body_text(body).strip()}\n\n{body_text(signature).strip()}\n\n"
            f"You wrote on {original_at:%Y-%m-%d %H:%M} UTC:\n{quoted}\n")
    message.set_content(text, charset="utf-8")
    return message


def send_message(config: SmtpConfig, message: EmailMessage, *, context: ssl.SSLContext | None = None) -> None:
    """Deliver ``message`` to its one ``To`` address through ``config``'s server.
    ``context``: the TLS context for STARTTLS (default: the system's trusted CAs,
    host name checked).

    Raises:
        MailError: not configured, the server unreachable or slow, no STARTTLS when it
            is required, login refused, or the recipient or message refused.
    """
    problem = config.problem
    if problem:
        raise MailError(problem)
    recipient = str(message["To"])
    try:
        with smtplib.SMTP(config.host.strip(), config.port, timeout=config.timeout_s) as smtp:
            smtp.ehlo()
            if config.starttls:
                smtp.starttls(context=context or ssl.create_default_context())
                smtp.ehlo()
            if config.user:
                smtp.login(config.user, config.password)
            refused = smtp.send_message(message, from_addr=config.from_addr.strip(), to_addrs=[recipient])
    except smtplib.SMTPNotSupportedError as exc:
        raise MailError("the mail server does not offer STARTTLS, which SHOP_SMTP_STARTTLS requires") from exc
    except smtplib.SMTPAuthenticationError as exc:
        raise MailError(f"the mail server refused the login ({exc.smtp_code})") from exc
    except smtplib.SMTPRecipientsRefused as exc:
        raise MailError("the mail server refused the recipient address") from exc
    except smtplib.SMTPResponseException as exc:
        raise MailError(f"the mail server answered {exc.smtp_code}: {_said(exc.smtp_error)}") from exc
    except (smtplib.SMTPException, ssl.SSLError, OSError) as exc:
        raise MailError(f"the mail server at {config.host}:{config.port} could not be reached "
                        f"({exc.__class__.__name__})") from exc
    if refused:
        raise MailError("the mail server refused the recipient address")


def _said(raw: bytes | str) -> str:
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
    return header_text(text, limit=120)
