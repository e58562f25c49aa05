"""The webhooks API: subscriptions with a secret shown once, the SSRF guard, the delivery log."""

from __future__ import annotations

import pytest

from engine import jobs
from tests.api_helpers import ok, problem
from tests.webhooks_helpers import emit, settings, verified
from webhooks.ssrf import AllowList
from webhooks.testing import Receiver

API = "/api/v1/webhooks"


@pytest.fixture
def integrator(login):
    return login("integrator")


def _public_resolver(host, port):
    names = {"hooks.example.com": ["93.184.215.14"], "rebind.example.com": ["10.0.0.7"]}
    return names.get(host) or [host.strip("[]")]


@pytest.fixture
def strict(app):
    """No allow-list, a resolver that needs no network."""
    hook_settings = settings(allow=AllowList())
    object.__setattr__(hook_settings.policy, "resolve", _public_resolver)
    app.extensions["huiqian.webhooks"] = hook_settings
    return hook_settings


def _subscribe(client, headers, url, **body):
    body.setdefault("event_types", ["instance.started"])
    return client.post(f"{API}/subscriptions", headers=headers, json={"url": url, **body})


def test_the_secret_is_shown_on_creation_and_never_again(client, integrator, hook_ctx):
    created = ok(_subscribe(client, integrator, "http://127.0.0.1:9/hook"), 201)
    assert created["secret"].startswith("whsec_") and created["enabled"] is True
    read = ok(client.get(f"{API}/subscriptions/{created['id']}", headers=integrator))
    listed = ok(client.get(f"{API}/subscriptions", headers=integrator))
    assert "secret" not in read and all("secret" not in s for s in listed)
    assert created["secret"] not in client.get(f"{API}/subscriptions", headers=integrator).text


def test_update_with_a_stale_version_is_409_and_delete_removes(client, integrator, hook_ctx):
    created = ok(_subscribe(client, integrator, "http://127.0.0.1:9/hook"), 201)
    url = f"{API}/subscriptions/{created['id']}"
    changed = ok(
        client.patch(url, headers=integrator, json={"event_types": ["task.created"], "version": 1})
    )
    assert changed["event_types"] == ["task.created"] and changed["version"] == 2
    problem(
        client.patch(url, headers=integrator, json={"enabled": False, "version": 1}),
        409,
        "conflict",
    )
    assert client.delete(url, headers=integrator).status_code == 204
    problem(client.get(url, headers=integrator), 404, "not-found")


def test_rotation_answers_a_new_secret_and_an_overlap(client, integrator, hook_ctx):
    created = ok(_subscribe(client, integrator, "http://127.0.0.1:9/hook"), 201)
    rotated = ok(
        client.post(
            f"{API}/subscriptions/{created['id']}/rotate-secret",
            headers=integrator,
            json={"overlap_seconds": 3600},
        )
    )
    assert rotated["secret"].startswith("whsec_") and rotated["secret"] != created["secret"]
    assert rotated["previous_secret_expires_at"]
    read = ok(client.get(f"{API}/subscriptions/{created['id']}", headers=integrator))
    assert "secret" not in read


def test_unknown_event_types_are_422(client, integrator, hook_ctx):
    response = _subscribe(client, integrator, "http://127.0.0.1:9/", event_types=["task.eaten"])
    problem(response, 422, "invalid-input")


@pytest.mark.parametrize("user", ["baoji.hrss", "designer"])
def test_only_admins_and_integrators_manage_webhooks(client, login, user, hook_ctx):
    headers = login(user)
    problem(_subscribe(client, headers, "http://127.0.0.1:9/"), 403, "forbidden")
    problem(client.get(f"{API}/subscriptions", headers=headers), 403, "forbidden")


def test_admins_manage_webhooks_too(client, login, hook_ctx):
    ok(_subscribe(client, login("admin"), "http://127.0.0.1:9/hook"), 201)


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("https://127.0.0.1/hook", "loopback"),
        ("https://10.1.2.3/hook", "private"),
        ("https://172.16.0.1/hook", "private"),
        ("https://192.168.1.1/hook", "private"),
        ("https://169.254.169.254/latest/meta-data", "cloud metadata"),
        ("https://100.100.100.200/latest/meta-data", "cloud metadata"),
        ("https://[::1]/hook", "loopback"),
        ("https://[fc00::1]/hook", "private"),
        ("https://[fd12:3456::1]/hook", "private"),
        ("https://[::ffff:127.0.0.1]/hook", "loopback"),
        ("https://0.0.0.0/hook", "unspecified"),
        ("https://224.0.0.1/hook", "multicast"),
        ("https://rebind.example.com/hook", "private"),
    ],
)
def test_internal_targets_are_refused(client, integrator, strict, url, reason):
    body = problem(_subscribe(client, integrator, url), 422, "webhook-target-refused")
    assert reason in body["detail"]


def test_a_hostname_resolving_to_loopback_is_refused(client, integrator, app):
    app.extensions["huiqian.webhooks"] = settings(allow=AllowList())
    body = problem(
        _subscribe(client, integrator, "https://localhost/hook"), 422, "webhook-target-refused"
    )
    assert "loopback" in body["detail"]


def test_https_is_required_outside_demo_mode_and_the_allow_list(client, integrator, strict):
    problem(
        _subscribe(client, integrator, "http://hooks.example.com/"), 422, "webhook-target-refused"
    )
    ok(_subscribe(client, integrator, "https://hooks.example.com/"), 201)


def test_the_delivery_log_and_redelivery(client, integrator, hook_ctx):
    with Receiver(statuses=[503]) as receiver:
        created = ok(_subscribe(client, integrator, receiver.url), 201)
        emit(hook_ctx)
        jobs.run_due_jobs(hook_ctx)
        hook_ctx.clock.advance(seconds=5)
        jobs.run_due_jobs(hook_ctx)
        log_url = f"{API}/subscriptions/{created['id']}/deliveries"
        [delivery] = ok(client.get(log_url, headers=integrator))
        again = ok(
            client.post(f"{API}/deliveries/{delivery['id']}/redeliver", headers=integrator), 202
        )
        jobs.run_due_jobs(hook_ctx)
        log = ok(client.get(log_url, headers=integrator))

    assert delivery["state"] == "delivered" and delivery["attempts"] == 2
    assert [a["status_code"] for a in delivery["attempt_log"]] == [503, 200]
    assert all(a["latency_ms"] is not None for a in delivery["attempt_log"])
    assert delivery["attempt_log"][0]["response"] == "ok"
    assert again["redelivery_of"] == delivery["id"]
    assert [d["id"] for d in log] == [again["id"], delivery["id"]]
    assert log[0]["state"] == "delivered"
    assert len(receiver.message_ids()) == 1 and len(receiver.received) == 3
    for request in receiver.received:
        verified(request, created["secret"])


def test_redelivering_an_unfinished_delivery_is_409(client, integrator, hook_ctx):
    with Receiver(statuses=[500]) as receiver:
        created = ok(_subscribe(client, integrator, receiver.url), 201)
        emit(hook_ctx)
        jobs.run_due_jobs(hook_ctx)
    [delivery] = ok(
        client.get(f"{API}/subscriptions/{created['id']}/deliveries", headers=integrator)
    )
    assert delivery["state"] == "pending"
    response = client.post(f"{API}/deliveries/{delivery['id']}/redeliver", headers=integrator)
    problem(response, 409, "conflict")


def test_an_update_to_an_internal_target_is_refused(client, integrator, strict):
    created = ok(_subscribe(client, integrator, "https://hooks.example.com/"), 201)
    response = client.patch(
        f"{API}/subscriptions/{created['id']}",
        headers=integrator,
        json={"url": "https://169.254.169.254/latest/meta-data"},
    )
    problem(response, 422, "webhook-target-refused")
