"""Issue 15, personal data in logs: a database error logs no statement parameters (the
e-mail, phone and street address being written), the messaging channels' log lines
mask phone numbers and e-mail addresses, and :mod:`protocol.redact` leaves order
numbers, prices and times alone."""

from __future__ import annotations

import logging
import os
import subprocess
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from protocol import redact
from shop.db.engine import session_scope
from shop.db.migrate import upgrade
from shop.db.schema import Customer, Order
from tests.paths import ROOT

RASA_PY = ROOT / ".venv" / "rasa" / "bin" / "python"
EMAIL, PHONE, STREET = "jane.private@example.com", "+14155550123", "12 Hidden Lane"
log = logging.getLogger("tests.security.db")


@pytest.fixture
def shop_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'shop.db'}"
    upgrade(url)
    with session_scope(url) as s:
        s.add(Customer(email=EMAIL, first_name="Jane", last_name="Private", phone=PHONE,
                       created_at=datetime(2026, 1, 1)))
    return url


def test_a_db_error_logs_no_parameters(shop_url: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    with pytest.raises(IntegrityError) as raised, session_scope(shop_url) as s:
        s.add(Customer(email=EMAIL, first_name="Jane", last_name="Again", phone=PHONE, city=STREET,
                       created_at=datetime(2026, 1, 2)))
    log.error("insert failed: %s", raised.value)
    log.exception("insert failed", exc_info=raised.value)
    for secret in (EMAIL, PHONE, STREET):
        assert secret not in caplog.text and secret not in str(raised.value)
    assert "hidden due to hide_parameters" in str(raised.value)
    with session_scope(shop_url) as s:  # the failed insert left nothing behind
        assert s.scalar(select(Customer.last_name).where(Customer.email == EMAIL)) == "Private"


def test_a_failed_update_logs_no_street_address(shop_url: str, caplog: pytest.LogCaptureFixture) -> None:
    with pytest.raises(IntegrityError) as raised, session_scope(shop_url) as s:
        s.execute(update(Order).values(status="bogus", ship_line1=STREET))  # no rows, but the CHECK is not reached
        s.execute(update(Customer).values(email=None, city=STREET))          # NOT NULL fails with the params
    log.exception("update failed", exc_info=raised.value)
    assert STREET not in caplog.text and STREET not in str(raised.value)


@pytest.mark.parametrize(("text", "kept", "gone"), [
    ("Twilio message to whatsapp:+14155550123 failed", "whatsapp:+1415***0123", "5550123"),
    ("from +44 7700 900123", "+4477***0123", "7700 900123"),
    ("sms:+447700900123 and tel:4155550123", "tel:4155***0123", "447700900123"),
    ("jane.private@example.com wrote", "j***@example.com", "jane.private"),
    ("a <Jane.Doe+shop@mail.example.org>", "J***@mail.example.org", "Doe+shop"),
])
def test_redact_masks_phones_and_emails(text: str, kept: str, gone: str) -> None:
    out = redact.redact(text)
    assert kept in out and gone not in out


def test_redact_keeps_orders_prices_and_times() -> None:
    text = "order R-100234 of $1,299.50 at 2026-11-20 12:00:00, chat 123456789, 4.6/5"
    assert redact.redact(text) == text


def test_the_filter_redacts_arguments_and_tracebacks(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("tests.security.redacted")
    redact.install(logger)
    redact.install(logger)  # once only
    assert sum(isinstance(f, redact.RedactingFilter) for f in logger.filters) == 1
    try:
        raise ValueError(f"no customer {EMAIL}")
    except ValueError:
        logger.exception("lookup for %s from %s failed", EMAIL, f"whatsapp:{PHONE}")
    assert EMAIL not in caplog.text and PHONE not in caplog.text
    assert "j***@example.com" in caplog.text and "ValueError" in caplog.text


SCRIPT = r'''
import logging, sys
handler = logging.StreamHandler(sys.stdout)
logging.basicConfig(level=logging.INFO, handlers=[handler])
from bot import messaging
messaging.logger.error("Twilio message to %s failed: %s", "whatsapp:+14155550123", "jane.private@example.com")
logging.getLogger("rasa.core.channels.twilio").info("message from whatsapp:+14155550123")
messaging.logger.info("order R-100234 at 2026-11-20 12:00:00")
'''


@pytest.mark.rasa
@pytest.mark.skipif(not RASA_PY.exists(), reason="the Rasa environment is missing: run 'make setup'")
def test_the_messaging_channels_log_masked_numbers() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHOP_")}
    env.update(PYTHONPATH=str(ROOT))
    done = subprocess.run([str(RASA_PY), "-c", SCRIPT], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=180)
    assert done.returncode == 0, done.stderr[-3000:]
    out = done.stdout
    assert "14155550123" not in out and "jane.private" not in out
    assert out.count("whatsapp:+1415***0123") == 2 and "j***@example.com" in out
    assert "order R-100234 at 2026-11-20 12:00:00" in out
