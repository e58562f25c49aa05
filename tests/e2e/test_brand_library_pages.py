"""The brand library pages: the list by status and jurisdiction, a brand's history and processes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from engine.identity import SYSTEM
from services import brands
from tests.api_helpers import TWO_LANES, start
from tests.ui_helpers import page_text, sign_in

Login = Callable[[str], dict[str, str]]


def add_brand(app: Flask, name: str, jurisdiction: str, instance_id: str | None = None) -> str:
    """A nominated brand, then admitted to the library by ``instance_id``."""
    with app.extensions["huiqian.engine"].db.write_session() as s:
        library = brands.library(s)
        record = brands.nominate(
            library,
            name=name,
            jurisdiction=jurisdiction,
            data={"industry": "餐饮"},
            actor=SYSTEM.username,
            instance_id=instance_id,
        )
        s.flush()
        brands.move(
            library,
            record.id,
            brands.IN_LIBRARY,
            action="added",
            jurisdiction=jurisdiction,
            actor="baoji.hrss",
            instance_id=instance_id,
            details={"opinion": "同意纳入"},
        )
        s.commit()
        return record.id


@pytest.fixture
def baoji_brand(app: Flask, client: FlaskClient, deploy: Callable[..., Any], login: Login) -> str:
    deploy(TWO_LANES)
    nomination = start(client, login("admin"), jurisdiction="baoji")
    brand_id = add_brand(app, "宝鸡面点师", "baoji", nomination["id"])
    start(client, login("admin"), jurisdiction="baoji", business_key=brand_id)
    return brand_id


def test_list_shows_status_and_jurisdiction(client: FlaskClient, baoji_brand: str) -> None:
    sign_in(client, "integrator")
    text = page_text(client.get("/brands/?status=in_library"))
    assert f'data-brand-id="{baoji_brand}"' in text
    assert "在库" in text and "宝鸡" in text
    assert f'data-brand-id="{baoji_brand}"' not in page_text(client.get("/brands/?status=exited"))


def test_officer_lists_only_their_own_jurisdiction(
    app: Flask, client: FlaskClient, baoji_brand: str
) -> None:
    qinghai = add_brand(app, "青海拉面师", "qinghai")
    sign_in(client, "baoji.fin")
    text = page_text(client.get("/brands/?jurisdiction=qinghai"))
    assert f'data-brand-id="{baoji_brand}"' in text
    assert f'data-brand-id="{qinghai}"' not in text
    assert client.get(f"/brands/{qinghai}").status_code == 404


def test_brand_page_has_its_history_and_links_its_processes(
    client: FlaskClient, baoji_brand: str, login: Login
) -> None:
    listed = client.get("/api/v1/instances", headers=login("admin")).get_json()
    sign_in(client, "baoji.hrss")
    text = page_text(client.get(f"/brands/{baoji_brand}"))
    assert "推荐入库" in text and "纳入资源库" in text and "同意纳入" in text
    for instance in listed:
        assert f'data-instance-id="{instance["id"]}"' in text
    assert len(listed) == 2
