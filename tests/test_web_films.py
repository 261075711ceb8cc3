"""Films through the web app: upload, shots as thumbnails, hints, one background job at a time, progress, download."""

import contextlib
import io
import threading
import time

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from clips import decoded_frames, shots_clip
from colorgan.errors import UserError
from colorgan.inference import Colorizer
from colorgan.web import films
from colorgan.web.app import create_app


@pytest.fixture
def open_client():
    """Test clients that run the app's lifespan (its film jobs are made there and removed at its end)."""
    with contextlib.ExitStack() as clients:
        yield lambda app: clients.enter_context(TestClient(app))


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    """Two shots of 20 frames, 48 x 64."""
    return shots_clip(tmp_path_factory.mktemp("films") / "reel.mp4", shot_frames=(20, 20))


@pytest.fixture(scope="module")
def colorizer(tiny_checkpoint):
    return Colorizer.from_checkpoint(tiny_checkpoint, device="cpu")


def upload(client, clip, name="reel.mp4"):
    return client.post("/api/videos", files={"file": (name, clip.read_bytes(), "video/mp4")})


def wait_until_finished(client, film_id, seconds=120):
    deadline = time.monotonic() + seconds
    while (status := client.get(f"/api/videos/{film_id}").json())["state"] in ("queued", "running"):
        assert time.monotonic() < deadline, status
        time.sleep(0.2)
    return status


def test_a_film_is_uploaded_coloured_with_a_hint_and_downloaded(tiny_hint_checkpoint, clip, open_client, tmp_path, monkeypatch):
    client = open_client(create_app(Colorizer.from_checkpoint(tiny_hint_checkpoint, device="cpu")))
    film = upload(client, clip).json()

    def scan_again(*args, **kwargs):
        raise RuntimeError("the job scanned the film again: the upload had")

    monkeypatch.setattr("colorgan.video.job.scan", scan_again)
    assert (film["frames"], film["width"], film["height"], film["rate"]) == (40, 64, 48, "30000/1001")
    assert [(shot["first"], shot["end"]) for shot in film["shots"]] == [(0, 20), (20, 40)]
    for shot in film["shots"]:
        thumbnail = client.get(shot["thumbnail"])
        assert thumbnail.headers["content-type"] == "image/jpeg"
        assert Image.open(io.BytesIO(thumbnail.content)).format == "JPEG"
    assert client.get(f"/api/videos/{film['id']}").json()["state"] == "uploaded"
    assert client.get(f"/api/videos/{film['id']}/result").status_code == 409
    started = client.post(f"/api/videos/{film['id']}/start", json={"hints": {"20": [{"x": 30, "y": 20, "color": "#3060c0"}]}})
    assert started.status_code == 200 and started.json()["state"] in ("queued", "running")
    status = wait_until_finished(client, film["id"])
    assert status["state"] == "done" and status["progress"] == {"done": 40, "total": 40}
    result = client.get(f"/api/videos/{film['id']}/result")
    assert result.status_code == 200 and f'filename="{clip.stem}_colour.mp4"' in result.headers["content-disposition"]
    (tmp_path / "coloured.mp4").write_bytes(result.content)
    assert len(decoded_frames(tmp_path / "coloured.mp4")) == 40


def test_uploads_past_the_limits_get_413_and_non_videos_400(colorizer, clip, open_client):
    small = open_client(create_app(colorizer, film_limits=films.FilmLimits(max_bytes=clip.stat().st_size - 1)))
    assert upload(small, clip).status_code == 413
    short = open_client(create_app(colorizer, film_limits=films.FilmLimits(max_seconds=0.5)))
    too_long = upload(short, clip)
    assert too_long.status_code == 413 and "minutes long" in too_long.json()["detail"]
    client = open_client(create_app(colorizer))
    not_video = client.post("/api/videos", files={"file": ("notes.mp4", b"hello, not a film", "video/mp4")})
    assert not_video.status_code == 400 and not_video.json()["detail"].startswith("cannot read notes.mp4 as a video")
    assert client.post("/api/videos", files={"file": ("notes.txt", b"hello", "text/plain")}).status_code == 400
    assert client.get("/api/videos/nosuchfilm").status_code == 404


def test_hints_for_a_model_without_them_get_the_colorizers_one_line(colorizer, clip, open_client):
    client = open_client(create_app(colorizer))
    film = upload(client, clip).json()
    refused = client.post(f"/api/videos/{film['id']}/start", json={"hints": {"0": [{"x": 3, "y": 4, "color": "#ff0000"}]}})
    assert refused.status_code == 400 and refused.json()["detail"].startswith("this model was trained without hints")
    outside = client.post(f"/api/videos/{film['id']}/start", json={"hints": {"99": []}})
    assert outside.status_code == 400 and "not in the film" in outside.json()["detail"]
    assert client.get(f"/api/videos/{film['id']}").json()["state"] == "uploaded"


def test_films_beyond_the_queue_get_503_with_retry_after(colorizer, clip, open_client, monkeypatch):
    release = threading.Event()
    monkeypatch.setattr(films, "colorize_video", lambda *args, **kwargs: release.wait(30))
    client = open_client(create_app(colorizer, film_limits=films.FilmLimits(max_queue=1)))
    first, second = upload(client, clip).json(), upload(client, clip).json()
    assert client.post(f"/api/videos/{first['id']}/start", json={}).status_code == 200
    assert client.post(f"/api/videos/{first['id']}/start", json={}).status_code == 409
    turned_away = client.post(f"/api/videos/{second['id']}/start", json={})
    assert turned_away.status_code == 503 and int(turned_away.headers["retry-after"]) > 0
    release.set()
    assert wait_until_finished(client, first["id"])["state"] == "done"
    assert client.post(f"/api/videos/{second['id']}/start", json={}).status_code == 200


def test_the_oldest_finished_film_makes_room_for_an_upload_and_busy_ones_do_not(colorizer, clip, open_client, monkeypatch):
    release = threading.Event()
    monkeypatch.setattr(films, "colorize_video", lambda *args, **kwargs: release.wait(30))
    client = open_client(create_app(colorizer, film_limits=films.FilmLimits(max_kept=2)))

    def kept() -> list[str]:
        return sorted(path.name for path in client.app_state["films"].root.iterdir())

    a, b = upload(client, clip).json(), upload(client, clip).json()
    c = upload(client, clip).json()  # nothing finished yet: the oldest not started goes
    assert kept() == sorted([b["id"], c["id"]]) and client.get(f"/api/videos/{a['id']}").status_code == 404
    assert client.post(f"/api/videos/{a['id']}/start", json={}).status_code == 404
    for film in (b, c):
        assert client.post(f"/api/videos/{film['id']}/start", json={}).status_code == 200
    refused = upload(client, clip)  # both kept films are busy
    assert refused.status_code == 503 and int(refused.headers["retry-after"]) > 0 and kept() == sorted([b["id"], c["id"]])
    release.set()
    assert wait_until_finished(client, c["id"])["state"] == "done"
    e = upload(client, clip).json()
    f = upload(client, clip).json()  # finished films go before the one not started yet, though it is older
    assert kept() == sorted([e["id"], f["id"]])
    with pytest.raises(UserError, match="film limits must be positive"):
        films.FilmLimits(max_kept=0)


def test_films_and_photos_take_turns_on_the_model(colorizer, clip, open_client):
    inside, most, calls, counting = [0], [0], [], threading.Lock()
    forward = colorizer.model.forward

    def one_at_a_time(*args, **kwargs):
        with counting:
            inside[0] += 1
            most[0] = max(most[0], inside[0])
        calls.append(threading.current_thread().name)
        time.sleep(0.05)  # long enough for another thread to come in, were it let
        try:
            return forward(*args, **kwargs)
        finally:
            with counting:
                inside[0] -= 1

    colorizer.model.forward = one_at_a_time
    try:
        client = open_client(create_app(colorizer))
        film = upload(client, clip).json()
        assert client.post(f"/api/videos/{film['id']}/start", json={}).status_code == 200
        photo = io.BytesIO()
        Image.new("L", (40, 30), 128).save(photo, format="PNG")
        while client.get(f"/api/videos/{film['id']}").json()["state"] in ("queued", "running"):
            assert client.post("/api/colorize", files={"file": ("p.png", photo.getvalue(), "image/png")}).status_code == 200
        assert client.get(f"/api/videos/{film['id']}").json()["state"] == "done"
    finally:
        del colorizer.model.forward
    assert any(name.startswith("colorgan-film") for name in calls) and any(not name.startswith("colorgan-film") for name in calls)
    assert most[0] == 1
