"""Safe by default: the token, the Host list, CSRF, media types and downloads as attachments."""

from __future__ import annotations

import httpx
import pytest

import mloop
from mloop.errors import Unauthorized
from tests.integration.api.conftest import Mounted

TOKEN = "team-secret"


def test_writes_need_the_token_and_reads_do_not(mount: Mounted) -> None:
    url = f"{mount(token=TOKEN)}/api/v1"
    refused = httpx.post(f"{url}/experiments", json={"name": "e"})
    assert refused.status_code == 401
    assert refused.json()["code"] == "unauthorized"
    assert httpx.get(f"{url}/experiments").status_code == 200
    wrong = httpx.post(f"{url}/experiments", json={"name": "e"}, headers=_bearer("nope"))
    assert wrong.status_code == 401
    made = httpx.post(f"{url}/experiments", json={"name": "e"}, headers=_bearer(TOKEN))
    assert made.status_code == 200


def test_reads_need_the_token_when_configured(mount: Mounted) -> None:
    url = f"{mount(token=TOKEN, token_reads=True)}/api/v1"
    assert httpx.get(f"{url}/experiments").status_code == 401
    assert httpx.get(f"{url}/experiments", headers=_bearer(TOKEN)).status_code == 200


def test_a_remote_client_sends_mloop_token(mount: Mounted, monkeypatch: pytest.MonkeyPatch) -> None:
    url = mount(token=TOKEN)
    with pytest.raises(Unauthorized):
        mloop.Client(url).create_run("remote")
    mloop.store.close_stores()
    monkeypatch.setenv("MLOOP_TOKEN", TOKEN)
    run_id = mloop.Client(url).create_run("remote")
    assert mloop.Client(url).get_run(run_id).status == "RUNNING"


def test_a_foreign_host_is_refused(api: httpx.Client) -> None:
    answer = api.get("/experiments", headers={"host": "attacker.example"})
    assert answer.status_code == 403
    assert answer.json()["field"] == "host"
    assert api.get("/experiments", headers={"host": "localhost:5000"}).status_code == 200


def test_a_cross_origin_form_post_is_refused(api: httpx.Client) -> None:
    answer = api.post(
        "/experiments",
        content=b"name=pwned",
        headers={"origin": "http://attacker.example", "content-type": _FORM},
    )
    assert answer.status_code == 403
    json_from_elsewhere = api.post(
        "/experiments", json={"name": "x"}, headers={"origin": "http://attacker.example"}
    )
    assert json_from_elsewhere.status_code == 403
    assert api.get("/experiments").json() == []


def test_form_and_text_bodies_get_415(api: httpx.Client) -> None:
    for media in (_FORM, "text/plain", "multipart/form-data; boundary=x"):
        answer = api.post("/experiments", content=b'{"name": "x"}', headers={"content-type": media})
        assert answer.status_code == 415, media
        assert answer.json()["code"] == "unsupported_media_type"
    same_origin = {"origin": str(api.base_url.copy_with(path="")).rstrip("/")}
    assert api.post("/experiments", json={"name": "x"}, headers=same_origin).status_code == 200


def test_artifact_downloads_are_attachments(api: httpx.Client) -> None:
    run_id = api.post("/runs", json={"experiment_id": _experiment(api), "name": "r", "user": "u"})
    path = f"/runs/{run_id.json()['id']}/artifacts/report.html"
    page = b"<script>alert(1)</script>"
    uploaded = api.put(path, content=page, headers={"content-type": "application/octet-stream"})
    assert uploaded.status_code == 200
    download = api.get(path)
    assert download.content == page
    assert download.headers["content-disposition"].startswith("attachment;")
    assert download.headers["x-content-type-options"] == "nosniff"
    assert download.headers["content-type"] == "application/octet-stream"
    blob = api.get(f"/blobs/{uploaded.json()['digest']}")
    assert blob.headers["content-disposition"].startswith("attachment;")


def test_a_blob_that_does_not_match_its_address_is_refused(api: httpx.Client) -> None:
    digest = "0" * 64
    answer = api.put(f"/blobs/{digest}", content=b"x", headers={"content-type": _OCTETS})
    assert answer.status_code == 422
    assert api.get(f"/blobs/{digest}/exists").json() == {"exists": False}


def _experiment(api: httpx.Client) -> int:
    return int(api.post("/experiments", json={"name": "e"}).json()["id"])


def _bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


_FORM = "application/x-www-form-urlencoded"
_OCTETS = "application/octet-stream"
