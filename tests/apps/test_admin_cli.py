"""The admin command line on a real database (SQLite and PostgreSQL): the first admin
and later staff (password rule, duplicates, who may), policy and FAQ texts (plain
text only, numbers kept in params so the enforced rules and the checked answers agree),
and offers (validation, pause, resume, end), each change audited with who made it.
Hostile cases: a non-admin or unknown ``--by``, HTML/script and SQL in bodies,
negative budgets, ending an ended offer, pausing an unknown key."""

from __future__ import annotations

import io
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import func, select

from apps.cli.__main__ import main as cli
from apps.console.staff import verify_password
from shop.db.engine import session_scope
from shop.db.schema import AuditEntry, Category, Customer, Offer, Policy, Product, StaffUser
from shop.promo.offers import applies_to, eligible_offers
from shop.services.admin_offers import OfferSpec, _keeps_margin
from shop.services.policies import faq_answer, return_rules

NOW = datetime.now(timezone.utc).replace(tzinfo=None, microsecond=0)
ADMIN = "Owner@Example.com"
ADMIN_PASSWORD = "correct horse battery staple"
RETURNS_BODY = ("You can return unworn items within {window_days} days of delivery for a full refund. "
                "Socks can't be returned once opened.")


def run(capsys, monkeypatch, args: list[str], stdin: str = "") -> tuple[int, str, str]:
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    try:
        code = cli(args)
    except SystemExit as exc:  # argparse refusing the arguments
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def audit_rows(url: str, action: str) -> list[AuditEntry]:
    with session_scope(url) as s:
        rows = list(s.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)))
        s.expunge_all()
    return rows


@pytest.fixture
def shop(db_url: str, capsys, monkeypatch) -> str:
    """A shop with its first admin (made by the CLI), a supervisor, and the returns policy."""
    code, out, err = run(capsys, monkeypatch, ["admin", "create-user", "--url", db_url, "--email", ADMIN, "--name",
                                               "Olive Owner", "--role", "admin", "--password-stdin"],
                         ADMIN_PASSWORD + "\n")
    assert code == 0, err
    assert "the shop's first admin" in out and ADMIN_PASSWORD not in out + err
    code, _, err = run(capsys, monkeypatch, ["admin", "create-user", "--url", db_url, "--email", "lead@example.com",
                                             "--name", "Robin Lead", "--role", "supervisor", "--password-stdin",
                                             "--by", ADMIN], "tidal-quartz-meadow-41\n")
    assert code == 0, err
    with session_scope(db_url) as s:
        s.add(Policy(key="returns_window", topic="returns", title="Return window", body=RETURNS_BODY,
                     params={"window_days": 30, "final_sale_categories": ["socks"]}, updated_at=NOW))
    return db_url


# --------------------------------------------------------------------------- staff


def test_first_admin_is_hashed_and_audited_and_later_staff_need_an_admin(shop, capsys, monkeypatch) -> None:
    with session_scope(shop) as s:
        owner = s.scalar(select(StaffUser).where(StaffUser.email == ADMIN.lower()))
        assert owner.role == "admin" and owner.password_hash.startswith("$argon2id$")
        assert verify_password(owner.password_hash, ADMIN_PASSWORD)
        owner_id = owner.id
    first, second = audit_rows(shop, "create_staff")
    assert first.user_id == owner_id and first.detail["first_admin"] is True and first.detail["via"] == "cli"
    assert second.user_id == owner_id and second.detail["role"] == "supervisor"
    assert not any(ADMIN_PASSWORD in str(r.detail) for r in (first, second))
    # an agent gets the handoff config's default team
    code, out, _ = run(capsys, monkeypatch, ["admin", "create-user", "--url", shop, "--email", "sam@example.com",
                                             "--name", "Sam Agent", "--role", "agent", "--password-stdin",
                                             "--by", ADMIN], "violet-harbour-engine-7\n")
    assert code == 0 and "teams support" in out


@pytest.mark.parametrize("by, why", [(None, "say who makes the change"),
                                     ("lead@example.com", "is not an active admin"),
                                     ("nobody@example.com", "is not an active admin")])
def test_staff_need_an_active_admin_as_creator(shop, capsys, monkeypatch, by, why) -> None:
    args = ["admin", "create-user", "--url", shop, "--email", "x@example.com", "--name", "X Y", "--role", "admin",
            "--password-stdin", *(["--by", by] if by else [])]
    code, _, err = run(capsys, monkeypatch, args, "violet-harbour-engine-7\n")
    assert code == 1 and why in err
    with session_scope(shop) as s:
        assert s.scalar(select(StaffUser).where(StaffUser.email == "x@example.com")) is None


def test_a_deactivated_admin_may_not_act(shop, capsys, monkeypatch) -> None:
    with session_scope(shop) as s:
        s.scalar(select(StaffUser).where(StaffUser.email == ADMIN.lower())).is_active = False
    code, _, err = run(capsys, monkeypatch, ["offer", "list", "--url", shop])
    assert code == 0  # reading needs no admin
    code, _, err = run(capsys, monkeypatch, ["offer", "pause", "x", "--url", shop, "--by", ADMIN])
    assert code == 1 and "is not an active admin" in err


def test_the_first_account_must_be_an_admin(db_url, capsys, monkeypatch) -> None:
    code, _, err = run(capsys, monkeypatch, ["admin", "create-user", "--url", db_url, "--email", "a@example.com",
                                             "--name", "A B", "--role", "agent", "--password-stdin"],
                       "violet-harbour-engine-7\n")
    assert code == 1 and "first account made here must be --role admin" in err


@pytest.mark.parametrize("password, why", [
    ("short1!", "12-256 characters"),
    ("aaaaaaaaaaaaaaaa", "at least 6 different characters"),
    ("MyPassword2024!", "common password word 'password'"),
    ("zed-olive-owner-99", "the email's name part or the person's name"),
    ("tidal" + "x" * 300, "12-256 characters"),
])
def test_weak_passwords_are_refused_stating_the_rule(shop, capsys, monkeypatch, password, why) -> None:
    code, out, err = run(capsys, monkeypatch, ["admin", "create-user", "--url", shop, "--email", "zed@example.com",
                                               "--name", "Zed Olive", "--role", "agent", "--password-stdin",
                                               "--by", ADMIN], password + "\n")
    assert code == 1 and why in err and "The rule:" in err and password not in out + err


def test_duplicate_emails_and_missing_terminal_are_refused(shop, capsys, monkeypatch) -> None:
    code, _, err = run(capsys, monkeypatch, ["admin", "create-user", "--url", shop, "--email", "OWNER@example.com",
                                             "--name", "Other", "--role", "admin", "--password-stdin", "--by", ADMIN],
                       "violet-harbour-engine-7\n")
    assert code == 1 and "already exists" in err
    code, _, err = run(capsys, monkeypatch, ["admin", "create-user", "--url", shop, "--email", "new@example.com",
                                             "--name", "New", "--role", "admin", "--by", ADMIN])
    assert code == 1 and "--password-stdin" in err  # stdin is no terminal here: nothing to prompt on
    code, _, err = run(capsys, monkeypatch, ["admin", "create-user", "--url", shop, "--email", "new@example.com",
                                             "--name", "New", "--role", "owner", "--password-stdin"])
    assert code == 2  # not a role the console knows


# --------------------------------------------------------------------------- policies


def write(tmp_path: Path, text: str) -> str:
    path = tmp_path / "body.txt"
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_policy_list_and_show(shop, capsys, monkeypatch) -> None:
    code, out, _ = run(capsys, monkeypatch, ["policy", "list", "--url", shop])
    assert code == 0 and "returns_window" in out and "Return window" in out
    code, out, _ = run(capsys, monkeypatch, ["policy", "show", "returns_window", "--url", shop])
    assert code == 0 and "{window_days}" in out and "within 30 days" in out
    code, _, err = run(capsys, monkeypatch, ["policy", "show", "nope", "--url", shop])
    assert code == 1 and "there is no policy 'nope'" in err


def test_a_number_changes_through_its_param_so_rules_and_answers_agree(shop, capsys, monkeypatch, tmp_path) -> None:
    literal = write(tmp_path, "You can return unworn items within 45 days of delivery for a full refund.")
    code, _, err = run(capsys, monkeypatch, ["policy", "set", "returns_window", "--url", shop, "--by", ADMIN,
                                             "--body-file", literal])
    assert code == 1
    assert "no longer shows {window_days}" in err and "states 45" in err and "--param window_days=NEW" in err
    code, out, err = run(capsys, monkeypatch, ["policy", "set", "returns_window", "--url", shop, "--by", ADMIN,
                                               "--body-file", write(tmp_path, RETURNS_BODY.replace("unworn", "unused")),
                                               "--param", "window_days=45"])
    assert code == 0, err
    assert "window_days 30 -> 45" in out and "within 45 days" in out
    with session_scope(shop) as s:
        assert return_rules(s) == (45, frozenset({"socks"}))  # the returns service enforces the new number
        answer = faq_answer(s, key="returns_window", confidence=0.95, text="what is your return policy?")
        assert answer is not None and "within 45 days" in answer.text and "unused" in answer.text
    (entry,) = audit_rows(shop, "policy_update")
    assert entry.detail["params"] == {"window_days": [30, 45]} and "unworn" in entry.detail["before"]["body"]
    code, out, _ = run(capsys, monkeypatch, ["policy", "set", "returns_window", "--url", shop, "--by", ADMIN,
                                             "--param", "window_days=45"])
    assert code == 0 and "nothing changed" in out and len(audit_rows(shop, "policy_update")) == 1


@pytest.mark.parametrize("body, why", [
    ("<script>alert(1)</script> Returns within {window_days} days.", "HTML or script"),
    ('Returns within {window_days} days. <a href="https://evil.example">details</a>', "HTML or script"),
    ("Returns within {window_days} days. javascript:alert(1)", "HTML or script"),
    ("Returns within {window_days} days.\x1b[31m", "control characters"),
    ("Returns within {window_days} days, {restocking_fee} fee.", "{restocking_fee}, which is not a param"),
    ("x" * 2001 + "{window_days}", "at most 2000"),
    ("   ", "the body is empty"),
])
def test_unsafe_or_inconsistent_bodies_are_refused(shop, capsys, monkeypatch, tmp_path, body, why) -> None:
    code, _, err = run(capsys, monkeypatch, ["policy", "set", "returns_window", "--url", shop, "--by", ADMIN,
                                             "--body-file", write(tmp_path, body)])
    assert code == 1 and why in err
    with session_scope(shop) as s:
        assert s.scalar(select(Policy.body).where(Policy.key == "returns_window")) == RETURNS_BODY


def test_sql_in_a_body_is_only_text(shop, capsys, monkeypatch, tmp_path) -> None:
    body = "Returns within {window_days} days'); DROP TABLE policies; -- \" OR 1=1"
    code, _, err = run(capsys, monkeypatch, ["policy", "set", "returns_window", "--url", shop, "--by", ADMIN,
                                             "--body-file", write(tmp_path, body)])
    assert code == 0, err
    with session_scope(shop) as s:
        assert s.scalar(select(Policy.body).where(Policy.key == "returns_window")) == body
        assert s.scalar(select(func.count()).select_from(Policy)) == 1


@pytest.mark.parametrize("param, why", [("window_days=-3", "a number of 0 or more"),
                                        ("window_days=abc", "not a whole number"),
                                        ("window_days=400", "at most 365"), ("Window Days=3", "write key=value"),
                                        ("final_sale_categories=socks,<b>", "comma-separated list of slugs")])
def test_bad_params_are_refused(shop, capsys, monkeypatch, param, why) -> None:
    code, _, err = run(capsys, monkeypatch, ["policy", "set", "returns_window", "--url", shop, "--by", ADMIN,
                                             "--param", param])
    assert code == 1 and why in err


def test_new_policies_need_a_topic_and_non_admins_change_nothing(shop, capsys, monkeypatch, tmp_path) -> None:
    body = write(tmp_path, "Every jacket carries a {years}-year warranty against defects.")
    code, _, err = run(capsys, monkeypatch, ["policy", "set", "warranty", "--url", shop, "--by", ADMIN,
                                             "--body-file", body])
    assert code == 1 and "needs --title, --body-file and --topic" in err
    code, _, err = run(capsys, monkeypatch, ["policy", "set", "warranty", "--url", shop, "--by", "lead@example.com",
                                             "--body-file", body, "--title", "Warranty", "--topic", "warranty",
                                             "--param", "years=2"])
    assert code == 1 and "is not an active admin" in err
    code, out, err = run(capsys, monkeypatch, ["policy", "set", "warranty", "--url", shop, "--by", ADMIN,
                                               "--body-file", body, "--title", "Warranty", "--topic", "warranty",
                                               "--param", "years=2"])
    assert code == 0, err
    assert "Created policy warranty" in out and "2-year warranty" in out and "no examples for 'warranty'" in out
    (entry,) = audit_rows(shop, "policy_create")
    assert entry.detail["key"] == "warranty" and entry.detail["before"] is None


# --------------------------------------------------------------------------- offers


def offer(shop: str, capsys, monkeypatch, key: str, *extra: str, by: str = ADMIN) -> tuple[int, str, str]:
    ends = (NOW + timedelta(days=14)).date().isoformat()
    base = ["offer", "create", key, "--url", shop, "--by", by, "--name", "Spring jackets", "--kind", "percent_off",
            "--value", "15", "--budget", "500", "--ends", ends]
    return run(capsys, monkeypatch, [*base, *extra])


def test_offer_lifecycle_is_audited_and_the_promo_engine_follows_it(shop, capsys, monkeypatch) -> None:
    code, out, err = offer(shop, capsys, monkeypatch, "spring-15")
    assert code == 0, err
    assert "Created offer spring-15 (live" in out
    with session_scope(shop) as s:
        s.add(Customer(email="c@example.com", first_name="C", last_name="D", marketing_opt_in=True, created_at=NOW))
        s.flush()
        customer = s.scalar(select(Customer.id))

    def eligible() -> list[str]:
        with session_scope(shop) as s:
            return [o.key for o in eligible_offers(s, customer_id=customer, now=datetime.now(timezone.utc)
                                                   .replace(tzinfo=None))]

    assert eligible() == ["spring-15"]
    assert run(capsys, monkeypatch, ["offer", "pause", "spring-15", "--url", shop, "--by", ADMIN])[0] == 0
    assert eligible() == []
    code, _, err = run(capsys, monkeypatch, ["offer", "pause", "spring-15", "--url", shop, "--by", ADMIN])
    assert code == 1 and "paused already" in err
    assert run(capsys, monkeypatch, ["offer", "resume", "spring-15", "--url", shop, "--by", ADMIN])[0] == 0
    assert eligible() == ["spring-15"]
    code, out, _ = run(capsys, monkeypatch, ["offer", "end", "spring-15", "--url", shop, "--by", ADMIN])
    assert code == 0 and "is ended now" in out
    assert eligible() == []
    for command in ("end", "pause", "resume"):
        code, _, err = run(capsys, monkeypatch, ["offer", command, "spring-15", "--url", shop, "--by", ADMIN])
        assert code == 1 and "an ended offer stays ended" in err
    code, out, _ = run(capsys, monkeypatch, ["offer", "list", "--url", shop])
    assert "spring-15" in out and "ended" in out
    actions = [r.action for r in audit_rows(shop, "offer_create") + audit_rows(shop, "offer_pause")
               + audit_rows(shop, "offer_resume") + audit_rows(shop, "offer_end")]
    assert actions == ["offer_create", "offer_pause", "offer_resume", "offer_end"]
    assert audit_rows(shop, "offer_end")[0].detail["before"] == "live"


def test_unknown_keys_and_non_admins_are_refused(shop, capsys, monkeypatch) -> None:
    code, _, err = run(capsys, monkeypatch, ["offer", "pause", "no-such-offer", "--url", shop, "--by", ADMIN])
    assert code == 1 and "there is no offer 'no-such-offer'" in err
    code, _, err = offer(shop, capsys, monkeypatch, "sneaky", by="lead@example.com")
    assert code == 1 and "is not an active admin" in err
    code, _, err = run(capsys, monkeypatch, ["offer", "pause", "x", "--url", shop])
    assert code == 2  # --by is required
    with session_scope(shop) as s:
        assert s.scalar(select(func.count()).select_from(Offer)) == 0


@pytest.mark.parametrize("extra, why", [
    (["--budget", "-5"], "the budget must be 0.01"),
    (["--budget", "0"], "the budget must be 0.01"),
    (["--value", "0"], "a percent_off value is a percentage, 1-90"),
    (["--value", "95"], "a percent_off value is a percentage, 1-90"),
    (["--ends", "2001-01-01"], "must end in the future"),
    (["--starts", "2099-01-01"], "must start before it ends"),
    (["--name", "<img src=x onerror=alert(1)>"], "plain text"),
    (["--category", "no-such-category"], "no such categories: no-such-category"),
    (["--product", "424242"], "no such products: 424242"),
    (["--kind", "free_shipping"], "free_shipping takes no value"),
    (["--kind", "bundle", "--min-items", "1"], "a bundle needs --min-items of 2"),
    (["--margin", "150"], "the margin must be 0-100"),
    (["--per-customer", "0"], "codes per customer must be 1-10"),
])
def test_bad_offers_are_refused(shop, capsys, monkeypatch, extra, why) -> None:
    code, _, err = offer(shop, capsys, monkeypatch, "bad-offer", *extra)
    assert code == 1 and why in err, err
    with session_scope(shop) as s:
        assert s.scalar(select(func.count()).select_from(Offer)) == 0


def test_duplicate_keys_and_bad_money_are_refused(shop, capsys, monkeypatch) -> None:
    assert offer(shop, capsys, monkeypatch, "twice")[0] == 0
    code, _, err = offer(shop, capsys, monkeypatch, "twice")
    assert code == 1 and "exists already" in err
    code, _, err = offer(shop, capsys, monkeypatch, "amount", "--kind", "amount_off", "--value", "9.999")
    assert code == 1 and "at most 2 decimals" in err
    code, _, _ = offer(shop, capsys, monkeypatch, "amount", "--budget", "lots")
    assert code == 2


def test_an_offer_no_product_could_get_under_its_margin_floor_is_refused(shop, capsys, monkeypatch) -> None:
    with session_scope(shop) as s:
        cat = Category(slug="jackets", name="Jackets")
        s.add(cat)
        s.flush()
        for n, (price, cost) in enumerate([(10000, 8000), (20000, 17000)]):
            s.add(Product(sku=f"J{n}", handle=f"j{n}", title=f"Jacket {n}", category_id=cat.id, price_cents=price,
                          cost_cents=cost, created_at=NOW, updated_at=NOW))
    code, _, err = offer(shop, capsys, monkeypatch, "too-deep", "--value", "30", "--margin", "10",
                         "--category", "jackets")
    assert code == 1 and "no covered product could get this discount (2 with a known cost checked)" in err
    code, _, err = offer(shop, capsys, monkeypatch, "fine", "--value", "10", "--margin", "10", "--category", "jackets")
    assert code == 0, err


def test_the_margin_rule_is_the_promo_engines(shop) -> None:
    """create's margin check and shop.promo.offers.applies_to agree product by product."""
    with session_scope(shop) as s:
        for n, (price, cost) in enumerate([(10000, 8000), (10000, 9500), (5000, 1000), (7000, 6300)]):
            s.add(Product(sku=f"M{n}", handle=f"m{n}", title=f"M {n}", price_cents=price, cost_cents=cost,
                          created_at=NOW, updated_at=NOW))
        s.flush()
        products = list(s.scalars(select(Product)))
        for kind, value, items in (("percent_off", 15, 1), ("amount_off", 1500, 1), ("bundle", 20, 2)):
            for margin in (0, 5, 10, 40):
                spec = OfferSpec(key="k", name="n", kind=kind, value=value, budget_cents=1, ends_at=NOW,
                                 min_items=items, min_margin_pct=margin)
                row = Offer(key="k", name="n", kind=kind, value=value, min_items=items, min_margin_pct=margin,
                            budget_cents=1, starts_at=NOW, ends_at=NOW, category_slugs=[], product_ids=[])
                for p in products:
                    assert _keeps_margin(spec, p.price_cents, p.cost_cents) == applies_to(s, row, p), (kind, margin)
