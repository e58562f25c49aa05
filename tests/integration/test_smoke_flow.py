from tests.conftest import FIXTURES


def test_two_lane_process_runs_through_http(client, login, deploy):
    deployed = deploy(FIXTURES / "two_lanes.bpmn")
    assert deployed["key"] == "two_lane_review"
    r = client.post("/api/v1/instances", headers=login("designer"),
                    json={"process_key": "two_lane_review", "jurisdiction": "baoji"})
    assert r.status_code == 201
