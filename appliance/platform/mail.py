"""The one place that speaks SMTP: a message handed to the operator's relay.

Used by the alerts' mail channel (``alerts/channels.py``) and by the members' monthly report
card (``alerts/monthly.py``). STARTTLS is on unless the relay says otherwise, and then the
relay's certificate is checked against the system's trust store (a relay that cannot show a
valid certificate gets nothing: an alert text or a report names members). Every failure is
one ``DeliveryError`` saying where and why; retrying is the caller's job.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

# smtplib, ssl and email are imported where a mail is made or sent: the collector that runs
# the alert rounds imports this module and stays resident (issue 14's memory bound).
if TYPE_CHECKING:
    from email.message import EmailMessage

TIMEOUT = 10.0  # seconds for the connection and each SMTP reply


class DeliveryError(Exception):
    """One delivery failed; the message says why (shown on the page and in the log)."""


@dataclass(frozen=True)
class Relay:
    """Where and how to hand mail over."""

    host: str
    port: int = 587
    starttls: bool = True
    username: str | None = None
    password: str | None = None
    timeout: float = TIMEOUT

    @classmethod
    def from_channel(cls, channel: dict[str, Any]) -> Relay:
        """The relay of an alerts mail channel (``alerts/render.py``'s ``channels``)."""
        return cls(host=str(channel["relay"]), port=int(channel["port"]),
                   starttls=bool(channel.get("starttls", True)),
                   username=channel.get("username") or None,
                   password=channel.get("password") or None)

    @property
    def where(self) -> str:
        """``host:port``, for messages."""
        return f"{self.host}:{self.port}"


def message(sender: str, recipients: Iterable[str], subject: str, text: str, *,
            html: str | None = None, headers: dict[str, str] | None = None
            ) -> EmailMessage:
    """A plain-text mail (with an HTML alternative when given), dated and with its own
    Message-ID in the sender's domain."""
    from email.message import EmailMessage
    from email.utils import formatdate, make_msgid

    msg = EmailMessage()
    msg["Subject"] = " ".join(subject.split())[:250]  # one header line, never a folded injection
    msg["From"] = sender
    msg["To"] = ", ".join(recipients)
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = make_msgid(domain=sender.rsplit("@", 1)[-1])
    for name, value in (headers or {}).items():
        msg[name] = value
    msg.set_content(text)
    if html is not None:
        msg.add_alternative(html, subtype="html")
    return msg


def send(relay: Relay, msg: EmailMessage, *, bcc: Iterable[str] = ()) -> None:
    """Hand ``msg`` to ``relay`` (its To and Cc, and ``bcc`` unseen); ``DeliveryError`` when
    the relay did not take it for every recipient."""
    import smtplib
    import ssl

    to = [a.strip() for h in ("To", "Cc") for a in str(msg.get(h) or "").split(",")
          if a.strip()] + list(bcc)
    try:
        with smtplib.SMTP(relay.host, relay.port, timeout=relay.timeout) as smtp:
            smtp.ehlo()
            if relay.starttls:
                smtp.starttls(context=ssl.create_default_context())
                smtp.ehlo()
            if relay.username:
                smtp.login(relay.username, relay.password or "")
            refused = smtp.send_message(msg, to_addrs=to)
    except (smtplib.SMTPException, OSError, ssl.SSLError) as exc:
        raise DeliveryError(f"mail via {relay.where}: {type(exc).__name__}: {exc}") from None
    if refused:
        raise DeliveryError(f"mail via {relay.where}: refused for "
                            + ", ".join(sorted(refused)))
