"""The Firmware page and the dashboard's firmware card, on a machine that is not the image."""

from __future__ import annotations

from appliance.firmware import records
from tests.web.conftest import csrf


def test_firmware_page_shows_the_version_and_no_upload_off_the_image(client):
    page = client.get("/firmware")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Firmware" in html and 'id="slots"' in html
    # a developer machine has no RAUC and no slots: nothing to upload to
    assert 'id="upload"' not in html


def test_upload_off_the_image_is_refused_and_nothing_stays(client, configured):
    token = csrf(client.get("/backup").data)
    resp = client.post("/firmware/upload", data=b"not a bundle" * 100,
                       headers={"X-CSRFToken": token,
                                "Content-Type": "application/octet-stream"})
    assert resp.status_code == 400
    assert "cannot install updates" in resp.get_json()["reasons"][0]
    assert not list((configured / "firmware" / "incoming").glob("*"))


def test_upload_needs_the_csrf_token(client):
    resp = client.post("/firmware/upload", data=b"x" * 10,
                       headers={"Content-Type": "application/octet-stream"})
    assert resp.status_code == 400


def test_dashboard_and_firmware_page_show_a_rollback(client, configured):
    records.write(configured, records.LAST, {
        "result": "rolled_back", "version": "0.1.2", "reason": "the web UI does not answer"})
    for url in ("/", "/firmware"):
        html = client.get(url).get_data(as_text=True)
        assert "The update to 0.1.2 failed and was rolled back: the web UI does not answer" \
            in html, url
    assert client.get("/api/v1/status").status_code in (200, 401)


def test_dashboard_has_the_firmware_card(client):
    html = client.get("/").get_data(as_text=True)
    assert 'id="firmware-card"' in html
