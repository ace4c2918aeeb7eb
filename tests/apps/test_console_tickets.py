"""The console's tickets desk (``apps/console/routes/ticket_desk.py``) on a real database
(SQLite and PostgreSQL) sending real e-mail over SMTP to a local server
(:mod:`tests.fakes.smtp_server`): list, assign, reply, close, who may do what, the
audit log; hostile input (CRLF in the subject and body, a tampered address, replays);
the mail server down, slow to accept, or without the STARTTLS it must offer (the reply
is kept, the ticket stays open, nothing is lost); and the CSAT rating request relayed
when an agent closes a conversation. Fixtures: ``tests/apps/conftest.py``."""

from __future__ import annotations

import shutil
import ssl
import subprocess
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from apps.console.staff import create_staff
from shop.db.engine import session_scope
from shop.db.schema import AuditEntry, HandoffMessage, Ticket, TicketReply
from shop.handoff.mailer import MailError, SmtpConfig, build_reply, send_message
from shop.handoff.states import start_handoff
from shop.handoff.tickets import leave_ticket
from tests.apps.console_support import NOW, PASSWORD, Env, logged_in
from tests.fakes.smtp_server import SmtpServer, closed_port

SHOPPER = "shopper.one@example.com"


def _ticket(env: Env, team: str, *, email: str = SHOPPER, message: str = "Where is my refund?") -> int:
    with session_scope(env.url) as s:
        handoff = start_handoff(s, sender_id=f"web-ticket-{team}-{email}", channel="socketio", reason="request",
                                team=team, now=NOW - timedelta(hours=2))
        handoff.status = "awaiting_ticket"
        return leave_ticket(s, handoff=handoff, email=email, message=message, now=NOW - timedelta(hours=1)).id


def _smtp(server: SmtpServer, **overrides: Any) -> SmtpConfig:
    values: dict[str, Any] = {"host": "127.0.0.1", "port": server.port, "from_addr": "support@ridgeline.example",
                              "reply_to": "help@ridgeline.example", "from_name": "Ridgeline Outfitters",
                              "starttls": False, "timeout_s": 5.0}
    return SmtpConfig(**{**values, **overrides})


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with SmtpServer() as server:
        yield server


def _client(env: Env, who: str, smtp: SmtpConfig) -> tuple[TestClient, dict[str, str]]:
    return logged_in(env, who, env.client(smtp=smtp))


def _audit(env: Env) -> list[tuple[str, dict[str, Any]]]:
    with session_scope(env.url) as s:
        return [(a, d) for a, d in s.execute(select(AuditEntry.action, AuditEntry.detail).order_by(AuditEntry.id))
                if a.endswith("ticket") or "ticket" in a]


def test_list_assign_reply_by_email_and_close(env: Env, smtp: SmtpServer) -> None:
    support, payments = _ticket(env, "support"), _ticket(env, "payments", email="payer@example.org")
    lead, csrf = _client(env, "lead", _smtp(smtp))
    listed = lead.get("/api/tickets").json()["items"]
    assert [(t["id"], t["team"], t["status"], t["email"]) for t in listed] == [
        (payments, "payments", "open", "payer@example.org"), (support, "support", "open", SHOPPER)]
    options = lead.get(f"/api/tickets/{support}/assignees").json()["items"]
    assert {o["name"] for o in options} == {"Agent", "Lead", "Admin"}  # not the payments agent
    bad = lead.post(f"/api/tickets/{support}/assign", json={"staff_user_id": env.users["payer"]}, headers=csrf)
    assert bad.status_code == 422
    given = lead.post(f"/api/tickets/{support}/assign", json={"staff_user_id": env.users["agent"]}, headers=csrf)
    assert given.json()["ticket"]["assigned_name"] == "Agent"

    agent, agent_csrf = _client(env, "agent", _smtp(smtp))
    assert [t["id"] for t in agent.get("/api/tickets").json()["items"]] == [support]
    sent = agent.post(f"/api/tickets/{support}/reply", json={"subject": "About your refund",
                                                              "body": "Hi! It went out yesterday.\nBest"},
                      headers=agent_csrf)
    assert sent.status_code == 200 and sent.json()["sent"] is True
    reply = sent.json()["reply"]
    assert reply["status"] == "sent" and reply["to"] == SHOPPER and reply["staff_name"] == "Agent"
    assert sent.json()["ticket"]["status"] == "open"  # answered, not closed: closing is a choice

    [mail] = smtp.messages
    assert mail.mail_from == "support@ridgeline.example" and mail.rcpt_tos == [SHOPPER]
    message = mail.message
    assert message["To"] == SHOPPER and message["Reply-To"] == "help@ridgeline.example"
    assert message["Subject"] == f"About your refund [Ticket #{support}]"
    assert message["From"] == "Ridgeline Outfitters <support@ridgeline.example>"
    assert message["X-Shop-Ticket"] == str(support) and message["Message-ID"].endswith("@ridgeline.example>")
    text = message.get_content().replace("\r\n", "\n")
    assert text.startswith("Hi! It went out yesterday.\nBest\n\nAgent\n") and "> Where is my refund?" in text

    closed = agent.post(f"/api/tickets/{support}/close", headers=agent_csrf)
    assert closed.json()["ticket"]["status"] == "closed" and closed.json()["ticket"]["closed_at"]
    assert agent.post(f"/api/tickets/{support}/close", headers=agent_csrf).status_code == 409
    late = agent.post(f"/api/tickets/{support}/reply", json={"body": "one more"}, headers=agent_csrf)
    assert late.status_code == 409 and len(smtp.messages) == 1
    assert agent.get("/api/tickets").json()["items"] == []
    assert [t["id"] for t in agent.get("/api/tickets?status=closed").json()["items"]] == [support]
    view = agent.get(f"/api/tickets/{support}").json()["ticket"]
    assert [r["status"] for r in view["replies"]] == ["sent"] and view["message"] == "Where is my refund?"
    actions = [a for a, _ in _audit(env)]
    assert actions == ["assign_ticket", "reply_ticket", "close_ticket", "view_ticket"]
    assert _audit(env)[1][1] == {"ticket_id": support, "reply_id": reply["id"], "sent": True}


def test_agents_work_their_teams_tickets_only(env: Env, smtp: SmtpServer) -> None:
    support, payments = _ticket(env, "support"), _ticket(env, "payments")
    with session_scope(env.url) as s:
        twin_id = create_staff(s, email="twin@ridgeline.example", name="Twin", password=PASSWORD, role="agent",
                               teams=["support"], now=NOW).id
    agent, csrf = _client(env, "agent", _smtp(smtp))
    for path in (f"/api/tickets/{payments}", f"/api/tickets/{payments}/assignees"):
        assert agent.get(path).status_code == 404  # another team's ticket is not told apart from none
    for path, body in ((f"/api/tickets/{payments}/reply", {"body": "hi"}), (f"/api/tickets/{payments}/close", None),
                       (f"/api/tickets/{payments}/assign", {"staff_user_id": env.users["agent"]})):
        assert agent.post(path, json=body, headers=csrf).status_code == 404
    assert agent.get("/api/tickets/999999").status_code == 404
    assert agent.post(f"/api/tickets/{support}/assign", json={"staff_user_id": env.users["lead"]},
                      headers=csrf).status_code == 403
    assert agent.post(f"/api/tickets/{support}/reply", json={"body": "On it."}, headers=csrf).json()["sent"]
    answered = agent.get(f"/api/tickets/{support}").json()["ticket"]
    assert answered["assigned_to"] == env.users["agent"]  # an agent who answers an unassigned ticket takes it

    twin, twin_csrf = _client(env, "twin", _smtp(smtp))
    assert twin.post(f"/api/tickets/{support}/reply", json={"body": "me too"}, headers=twin_csrf).status_code == 409
    assert twin.post(f"/api/tickets/{support}/close", headers=twin_csrf).status_code == 409
    assert twin.post(f"/api/tickets/{support}/assign", json={"staff_user_id": twin_id},
                     headers=twin_csrf).status_code == 409
    assert agent.post(f"/api/tickets/{support}/reply", json={"body": "x"}).status_code == 403  # no CSRF header
    assert TestClient(env.app()).get("/api/tickets").status_code == 401
    assert len(smtp.messages) == 1


def test_crlf_in_subject_and_body_adds_no_header_or_recipient(env: Env, smtp: SmtpServer) -> None:
    ticket = _ticket(env, "support")
    lead, csrf = _client(env, "lead", _smtp(smtp))
    subject = "Refund\r\nBcc: evil@attacker.example\nX-Evil: 1\u2028Cc: evil2@attacker.example"
    body = ("Hello\r\n.\r\nMAIL FROM:<evil@attacker.example>\r\nRCPT TO:<evil@attacker.example>\r\nDATA\r\n"
            "Subject: smuggled\r\n\r\nowned\r\n.\r\nQUIT\r\n")
    sent = lead.post(f"/api/tickets/{ticket}/reply", json={"subject": subject, "body": body}, headers=csrf)
    assert sent.status_code == 200
    [mail] = smtp.messages
    assert mail.rcpt_tos == [SHOPPER]
    [mail_from] = [c for c in smtp.commands if c.upper().startswith("MAIL")]  # DATA lines are not commands
    assert mail_from.lower().startswith("mail from:<support@ridgeline.example>")
    assert [c.lower() for c in smtp.commands if c.upper().startswith("RCPT")] == [f"rcpt to:<{SHOPPER}>"]
    message = mail.message
    assert message["Bcc"] is None and message["Cc"] is None and message["X-Evil"] is None
    assert message["Subject"] == f"Refund Bcc: evil@attacker.example X-Evil: 1 Cc: evil2@attacker.example " \
                                 f"[Ticket #{ticket}]"
    content = message.get_content().replace("\r\n", "\n")
    assert "MAIL FROM:<evil@attacker.example>" in content and "\n.\n" in content  # text, dot-stuffed on the wire

    # a tampered address in the database never becomes a header or a second recipient
    with session_scope(env.url) as s:
        s.execute(update(Ticket).where(Ticket.id == ticket).values(email=f"{SHOPPER}\r\nBcc: evil@attacker.example"))
    refused = lead.post(f"/api/tickets/{ticket}/reply", json={"body": "again"}, headers=csrf)
    assert refused.status_code == 502 and "not a plain address" in refused.json()["detail"]
    assert len(smtp.messages) == 1 and refused.json()["reply"]["status"] == "failed"


def test_mail_server_down_keeps_the_reply_and_the_ticket_open(env: Env) -> None:
    ticket = _ticket(env, "support")
    with SmtpServer() as never:
        down = _smtp(never, port=closed_port())
    lead, csrf = _client(env, "lead", down)
    failed = lead.post(f"/api/tickets/{ticket}/reply", json={"subject": "Refund", "body": "It's on its way."},
                       headers=csrf)
    assert failed.status_code == 502 and failed.json()["sent"] is False
    assert "could not be reached" in failed.json()["detail"] and "Your reply is saved" in failed.json()["detail"]
    with session_scope(env.url) as s:
        [row] = s.scalars(select(TicketReply))
        assert (row.status, row.body, row.subject, row.to_email) == ("failed", "It's on its way.", "Refund", SHOPPER)
        assert s.get(Ticket, ticket).status == "open"
    assert ("reply_ticket", {"ticket_id": ticket, "reply_id": row.id, "sent": False,
                             "error": failed.json()["reply"]["error"]}) in _audit(env)

    not_set_up, not_csrf = _client(env, "lead", SmtpConfig())
    unset = not_set_up.post(f"/api/tickets/{ticket}/reply", json={"body": "x"}, headers=not_csrf)
    assert unset.status_code == 502 and "e-mail is not set up" in unset.json()["detail"]


def test_a_failed_reply_is_sent_again_once(env: Env) -> None:
    ticket = _ticket(env, "support")
    with SmtpServer(fail_data=True) as server:
        lead, csrf = _client(env, "lead", _smtp(server))
        failed = lead.post(f"/api/tickets/{ticket}/reply", json={"body": "Sorry for the wait."}, headers=csrf)
        assert failed.status_code == 502 and "451" in failed.json()["detail"] and server.messages == []
        reply_id = failed.json()["reply"]["id"]
        server.fail_data = False
        again = lead.post(f"/api/tickets/{ticket}/replies/{reply_id}/retry", headers=csrf)
        assert again.status_code == 200 and again.json()["reply"]["attempts"] == 2
        replay = lead.post(f"/api/tickets/{ticket}/replies/{reply_id}/retry", headers=csrf)
        assert replay.status_code == 409 and len(server.messages) == 1  # a replayed retry sends nothing twice
        assert lead.post(f"/api/tickets/{ticket}/replies/987654/retry", headers=csrf).status_code == 404
    other = _ticket(env, "payments")
    assert lead.post(f"/api/tickets/{other}/replies/{reply_id}/retry", headers=csrf).status_code == 404


def test_starttls_is_required_and_the_password_never_goes_out_in_plain_text(env: Env) -> None:
    ticket = _ticket(env, "support")
    with SmtpServer(credentials=("mailer", "s3cret")) as plain:
        lead, csrf = _client(env, "lead", _smtp(plain, user="mailer", password="s3cret", starttls=True))
        out = lead.post(f"/api/tickets/{ticket}/reply", json={"body": "hello"}, headers=csrf)
        assert out.status_code == 502 and "does not offer STARTTLS" in out.json()["detail"]
        assert not any(c.upper().startswith(("AUTH", "MAIL")) for c in plain.commands)
        assert "s3cret" not in repr(_smtp(plain, password="s3cret"))
    remote = SmtpConfig(host="mail.example.com", from_addr="a@example.com", user="u", password="p", starttls=False)
    assert remote.problem and "unencrypted" in remote.problem
    with SmtpServer(credentials=("mailer", "s3cret")) as local:  # a relay on this machine may take a login
        lead, csrf = _client(env, "lead", _smtp(local, user="mailer", password="s3cret"))
        assert lead.post(f"/api/tickets/{ticket}/reply", json={"body": "hi"}, headers=csrf).json()["sent"]
        assert local.messages[0].user == "mailer"
        wrong, wrong_csrf = _client(env, "lead", _smtp(local, user="mailer", password="nope"))
        refused = wrong.post(f"/api/tickets/{ticket}/reply", json={"body": "hi"}, headers=wrong_csrf)
        assert refused.status_code == 502 and "refused the login (535)" in refused.json()["detail"]
        assert "nope" not in refused.text
    with SmtpServer(refuse_rcpt=True) as picky:
        lead, csrf = _client(env, "lead", _smtp(picky))
        assert "refused the recipient" in lead.post(f"/api/tickets/{ticket}/reply", json={"body": "hi"},
                                                    headers=csrf).json()["detail"]


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl is not installed (needed for a test certificate)")
def test_starttls_with_a_trusted_certificate(tmp_path: Path) -> None:
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    server_side = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_side.load_cert_chain(cert, key)
    with SmtpServer(tls=server_side, credentials=("mailer", "s3cret")) as server:
        config = _smtp(server, user="mailer", password="s3cret", starttls=True)
        message = build_reply(config=config, ticket_id=7, to=SHOPPER, subject="Hi", body="Body", original="Q",
                              original_at=NOW, signature="Sam", now=NOW)
        with pytest.raises(MailError, match="could not be reached"):  # the system CAs don't know this certificate
            send_message(config, message)
        assert not any(c.upper().startswith("AUTH") for c in server.commands)
        send_message(config, message, context=ssl.create_default_context(cafile=str(cert)))
        [mail] = server.messages
        assert mail.tls and mail.user == "mailer" and mail.message["Subject"] == "Hi [Ticket #7]"


def test_the_tickets_page(env: Env) -> None:
    anonymous = env.client()
    assert anonymous.get("/tickets", follow_redirects=False).headers["location"] == "/login"
    lead, _ = logged_in(env, "lead")
    page = lead.get("/tickets")
    assert page.status_code == 200 and '<script src="/assets/tickets.js" defer></script>' in page.text
    assert "script-src 'self'" in page.headers["content-security-policy"]
    script = lead.get("/assets/tickets.js")
    assert script.status_code == 200 and "textContent" in script.text and "innerHTML" not in script.text
    assert 'href="/tickets"' in lead.get("/").text


# --- CSAT: the rating request after a handoff --------------------------------------------


def test_closing_a_conversation_an_agent_was_in_relays_a_rating_request(env: Env) -> None:
    agent, csrf = logged_in(env, "agent")
    hid = env.handoffs["support"]
    agent.post(f"/api/handoffs/{hid}/accept", headers=csrf)
    closed = agent.post(f"/api/handoffs/{hid}/close", headers=csrf).json()
    assert closed["handoff"]["status"] == "closed" and closed["delivered"] is True
    call = env.relay.calls[-1]
    assert call["sender_id"] == "web-support" and call["channel"] == "socketio"
    assert call["message"]["custom"] == {"type": "csat_request", "scale": 5, "handoff_id": hid}
    assert call["message"]["text"].startswith("Thanks for talking with us. How did we do?")
    with session_scope(env.url) as s:
        last = s.scalars(select(HandoffMessage).where(HandoffMessage.handoff_id == hid)
                         .order_by(HandoffMessage.id.desc())).first()
        assert (last.author, last.payload["type"], last.delivered_at is not None) == ("system", "csat_request", True)

    # nobody talked to the shopper of a queued conversation: no rating request
    payer, payer_csrf = logged_in(env, "payer")
    calls = len(env.relay.calls)
    quiet = payer.post(f"/api/handoffs/{env.handoffs['payments']}/close", headers=payer_csrf).json()
    assert quiet["handoff"]["status"] == "closed" and "delivered" not in quiet
    assert len(env.relay.calls) == calls

    # the relay down: the request waits in the transcript for the shopper's return
    second = start_and_accept(env, agent, csrf, "web-second")
    env.relay.fail = True
    out = agent.post(f"/api/handoffs/{second}/close", headers=csrf).json()
    assert out["delivered"] is False and "not delivered yet" in out["warning"]


def start_and_accept(env: Env, client: TestClient, csrf: dict[str, str], sender: str) -> int:
    with session_scope(env.url) as s:
        hid = start_handoff(s, sender_id=sender, channel="telegram", reason="request", team="support", now=NOW).id
    assert client.post(f"/api/handoffs/{hid}/accept", headers=csrf).status_code == 200
    return hid
