"""The administration pages: users, departments, webhook subscriptions, incidents."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from engine.models import AuditEntry, Event, Incident, Job, utcnow
from tests.ui_helpers import page_text, sign_in, submit
from webhooks.models import DELIVERED, Delivery, Subscription

HOOK_URL = "https://8.8.8.8/huiqian-hook"
NEW_OFFICER = {
    "username": "baoji.fin2",
    "display_name": "财政局二科",
    "password": "a-long-enough-secret",
    "role": "officer",
    "jurisdiction": "baoji",
    "department": "fin",
}


def test_admin_creates_an_officer_who_can_then_sign_in(app: Flask, client: FlaskClient) -> None:
    sign_in(client, "admin")
    answer = submit(client, "/admin/users", "/admin/users", NEW_OFFICER)
    assert answer.status_code == 302
    text = page_text(client.get("/admin/users"))
    assert "已创建用户 baoji.fin2" in text and 'data-username="baoji.fin2"' in text
    with app.extensions["huiqian.engine"].db.read_session() as s:
        audit = s.scalars(select(AuditEntry).where(AuditEntry.action == "user_created")).one()
    assert (audit.actor, audit.details["department"]) == ("admin", "fin")
    submit(client, "/admin/users", "/logout", {})
    assert sign_in(client, "baoji.fin2", NEW_OFFICER["password"]).status_code == 302


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"department": "nosuch"}, "has no department 'nosuch'"),
        ({"jurisdiction": "", "department": ""}, "an officer needs a jurisdiction"),
        ({"jurisdiction": ""}, "a department belongs to a jurisdiction"),
        ({"password": "short"}, "at least 10 characters"),
        ({"username": "admin"}, "already exists"),
        ({"username": "宝鸡 财政"}, "a username has 2 to 120 letters"),
    ],
)
def test_refused_user_is_explained_and_the_form_keeps_its_values(
    client: FlaskClient, change: dict[str, str], reason: str
) -> None:
    sign_in(client, "admin")
    answer = submit(client, "/admin/users", "/admin/users", {**NEW_OFFICER, **change})
    assert answer.status_code in (409, 422)
    text = page_text(answer)
    assert "未能创建用户" in text and reason in text
    assert 'value="财政局二科"' in text


def test_departments_come_from_the_jurisdiction_packs(client: FlaskClient) -> None:
    sign_in(client, "admin")
    text = page_text(client.get("/admin/departments"))
    assert 'data-jurisdiction="baoji"' in text and 'data-jurisdiction="qinghai"' in text
    assert "<code>hrss</code>" in text


def test_webhook_secret_is_shown_once_on_creation(client: FlaskClient) -> None:
    sign_in(client, "integrator")
    answer = submit(
        client,
        "/admin/webhooks",
        "/admin/webhooks",
        {"url": HOOK_URL, "event_types": ["task.created", "task.completed"], "enabled": "on"},
    )
    assert answer.status_code == 201
    secret = re.search(
        r'<output id="new-secret" class="secret"><code>(whsec_[^<]+)</code>', page_text(answer)
    )
    assert secret
    listing = page_text(client.get("/admin/webhooks"))
    assert HOOK_URL in listing and secret[1] not in listing


def test_webhook_with_a_private_address_is_refused(client: FlaskClient) -> None:
    sign_in(client, "admin")
    form = {"url": "https://10.0.0.1/hook", "event_types": ["task.created"]}
    answer = submit(client, "/admin/webhooks", "/admin/webhooks", form)
    assert answer.status_code == 422
    assert "未能创建订阅" in page_text(answer)


def _delivered(app: Flask) -> tuple[str, str]:
    """A subscription and a finished delivery of it, as the delivery worker leaves them."""
    with app.extensions["huiqian.engine"].db.write_session() as s:
        subscription = Subscription(url=HOOK_URL, event_types=["task.created"], secret="whsec_x")
        event = Event(type="task.created", data={})
        s.add_all([subscription, event])
        s.flush()
        delivery = Delivery(
            message_id=f"msg_{event.id}",
            subscription_id=subscription.id,
            event_id=event.id,
            event_type=event.type,
            state=DELIVERED,
            attempts=1,
            created_at=utcnow(),
        )
        s.add(delivery)
        s.commit()
        return subscription.id, delivery.id


def test_finished_delivery_is_redelivered_from_the_delivery_log(
    app: Flask, client: FlaskClient
) -> None:
    subscription_id, delivery_id = _delivered(app)
    sign_in(client, "admin")
    page = f"/admin/webhooks/{subscription_id}"
    assert f'data-delivery-id="{delivery_id}"' in page_text(client.get(page))
    answer = submit(
        client,
        page,
        f"/admin/webhooks/deliveries/{delivery_id}/redeliver",
        {"subscription_id": subscription_id},
    )
    assert answer.status_code == 302 and answer.location.endswith(page)
    text = page_text(client.get(page))
    assert "已安排重新投递" in text
    assert text.count("data-delivery-id=") == 2 and "（重新投递）" in text


def test_incident_is_retried_from_its_row(app: Flask, client: FlaskClient) -> None:
    with app.extensions["huiqian.engine"].db.write_session() as s:
        job = Job(kind="timer", due_at=utcnow(), state="failed")
        s.add(job)
        s.flush()
        incident = Incident(job_id=job.id, kind="timer", error="boom", attempts=5)
        s.add(incident)
        s.commit()
        incident_id = incident.id
    sign_in(client, "admin")
    assert f'data-incident-id="{incident_id}"' in page_text(client.get("/admin/incidents"))
    answer = submit(client, "/admin/incidents", f"/admin/incidents/{incident_id}/retry", {})
    assert answer.status_code == 302
    text = page_text(client.get("/admin/incidents"))
    assert f"故障 {incident_id} 已重新排程" in text
    assert f'data-incident-id="{incident_id}"' not in text
    assert "admin 已重试" in page_text(client.get("/admin/incidents?state=all"))


def test_integrator_manages_webhooks_but_not_users(client: FlaskClient) -> None:
    sign_in(client, "integrator")
    assert client.get("/admin/").location == "/admin/departments"
    assert client.get("/admin/users").status_code == 403
    assert client.get("/admin/incidents").status_code == 403
    assert client.get("/admin/webhooks").status_code == 200
