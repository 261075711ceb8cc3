"""Films through the web app: `POST /api/videos` (upload; shots with thumbnails), `POST /api/videos/{id}/start`
(hints by frame), `GET /api/videos/{id}` (state and progress), `GET /api/videos/{id}/result`.

Uploads are bounded by bytes and by length in seconds (413). Films are coloured by one background worker thread,
one at a time, with at most `max_queue` admitted (queued or running; 503 with Retry-After beyond). At most `max_kept`
films are kept: an accepted upload beyond that removes the oldest finished (done or failed) film, else the oldest not
started (503 when every one is waiting or being coloured).
Uploads, thumbnails and results live in a temporary folder of the app's, removed at shutdown (a running job is
stopped first). A job colours with the shots its upload found (no second scan).
"""

from __future__ import annotations

import logging
import secrets
import shutil
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from fastapi import APIRouter, Body, File, HTTPException, Request, UploadFile
from fastapi.responses import FileResponse
from PIL import Image

from colorgan.errors import UserError
from colorgan.hints import Hint, hints_from_json
from colorgan.video import VIDEO_SUFFIXES, VideoOptions, colorize_video
from colorgan.video.io import VideoInfo, output_name, probe, read_frames
from colorgan.video.job import upright_shape
from colorgan.video.shots import Timeline, scan

CHUNK = 2**20
log = logging.getLogger(__name__)
THUMBNAIL_WIDTH = 480


class Stopped(Exception):
    """The app is shutting down: the running job stops at its next frame."""


@dataclass(frozen=True)
class FilmLimits:
    """Bounds on the films an app takes: bytes and seconds per upload, films admitted to colouring, films kept."""

    max_bytes: int = 500 * 2**20
    max_seconds: float = 600
    max_queue: int = 4
    max_kept: int = 20

    def __post_init__(self):
        if min(self.max_bytes, self.max_seconds, self.max_queue, self.max_kept) <= 0:
            raise UserError(f"film limits must be positive: {self}")


@dataclass
class Film:
    """One uploaded film and its colouring job: state is uploaded, queued, running, done or failed (with `error`)."""

    id: str
    src: Path
    info: VideoInfo
    timeline: Timeline
    name: str  # the file's name as uploaded: the download is named after it
    state: str = "uploaded"
    error: str | None = None
    done: int = 0

    @property
    def busy(self) -> bool:
        """Waiting for the worker or being coloured."""
        return self.state in ("queued", "running")

    @property
    def result(self) -> Path:
        return output_name(self.src.with_name(f"coloured{self.src.suffix}"))

    def status(self) -> dict:
        return {"id": self.id, "state": self.state, "error": self.error, "progress": {"done": self.done, "total": len(self.timeline.pts)}}


class FilmJobs:
    """The films uploaded to the app (in upload order) and the one worker thread that colours them."""

    def __init__(self, colorizer, limits: FilmLimits):
        self.colorizer, self.limits = colorizer, limits
        self.root = Path(tempfile.mkdtemp(prefix="colorgan-films-"))
        self.films: dict[str, Film] = {}
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="colorgan-film")
        self._lock = threading.Lock()
        self._stopping = False

    def admitted(self) -> int:
        """Films queued or being coloured now (called under the lock, which every change to `films` holds)."""
        return sum(film.busy for film in self.films.values())

    def submit(self, film: Film, hints: dict[int, list[Hint]]) -> None:
        """Queue `film` for colouring; 404 when it was removed meanwhile, 409 when it is already queued or coloured,
        503 when the queue is full."""
        with self._lock:
            if self.films.get(film.id) is not film:
                raise HTTPException(404, "no such film (it made room for newer uploads)")
            if film.busy or film.state == "done":
                raise HTTPException(409, f"this film is already {film.state}")
            waiting = self.admitted()
            if waiting >= self.limits.max_queue:
                raise HTTPException(503, f"{waiting} films are being coloured or waiting: try again later", headers={"Retry-After": str(30 * waiting)})
            film.state, film.error, film.done = "queued", None, 0
        self._worker.submit(self._colour, film, hints)

    def add(self, film: Film) -> None:
        """Keep a new film, removing the oldest finished films (then the oldest not started) beyond `max_kept`;
        503 when every kept film is waiting or being coloured."""
        with self._lock:
            idle = sorted((kept for kept in self.films.values() if not kept.busy), key=lambda kept: kept.state == "uploaded")
            excess = len(self.films) + 1 - self.limits.max_kept
            if excess > len(idle):
                raise HTTPException(503, f"{len(self.films)} films are waiting or being coloured: try again later", headers={"Retry-After": "60"})
            removed = idle[: max(excess, 0)]
            for old in removed:
                del self.films[old.id]
            self.films[film.id] = film
        for old in removed:
            shutil.rmtree(old.src.parent, ignore_errors=True)

    def _colour(self, film: Film, hints: dict[int, list[Hint]]) -> None:
        def report(done: int, total: int) -> None:
            if self._stopping:
                raise Stopped
            film.done = done

        film.state = "running"
        try:
            colorize_video(self.colorizer, film.src, film.result, VideoOptions(hints=hints), progress=report, timeline=film.timeline)
            film.state = "done"
        except Stopped:
            film.state, film.error = "failed", "the server stopped"
        except Exception as exc:  # every failure reaches the page as one line; unexpected ones are logged in full
            if not isinstance(exc, UserError):
                log.exception("colouring film %s failed", film.id)
            film.state, film.error = "failed", (str(exc).splitlines() or [type(exc).__name__])[0]

    def close(self) -> None:
        """Stop the running job at its next frame, drop the queued ones and remove every file."""
        self._stopping = True
        self._worker.shutdown(wait=True, cancel_futures=True)
        shutil.rmtree(self.root, ignore_errors=True)


def film_of(request: Request, film_id: str) -> Film:
    film = request.state.films.films.get(film_id)
    if film is None:
        raise HTTPException(404, "no such film (films are kept until the server restarts)")
    return film


async def save_upload(request: Request, file: UploadFile, folder: Path, max_bytes: int) -> Path:
    """The upload written into `folder` under its own suffix; 400 for a name no video has, 413 past `max_bytes`."""
    suffix = Path(file.filename or "").suffix.lower()
    if suffix not in VIDEO_SUFFIXES:
        raise UserError(f"{file.filename}: send a video ({', '.join(sorted(VIDEO_SUFFIXES))})")
    too_big = HTTPException(413, f"video larger than the {max_bytes / 2**20:.3g} MiB limit")
    if int(request.headers.get("content-length") or 0) > max_bytes + 64 * 1024:
        raise too_big
    path, size = folder / f"upload{suffix}", 0
    with open(path, "wb") as out:
        while chunk := await file.read(CHUNK):
            size += len(chunk)
            if size > max_bytes:
                raise too_big
            out.write(chunk)
    return path


def check_length(seconds: float, max_seconds: float) -> None:
    """413 when the film is longer than `max_seconds`: by its header before scanning, by its frames after."""
    if seconds > max_seconds:
        raise HTTPException(413, f"video is {seconds / 60:.1f} minutes long, the limit is {max_seconds / 60:.3g}")


def write_thumbnails(film: Film) -> None:
    """A JPEG of each shot's first frame (upright, at most THUMBNAIL_WIDTH wide) beside the upload."""
    for k, (first, _) in enumerate(film.timeline.shots()):
        pts = film.timeline.pts[first]
        frame = next((rgb for _, rgb in read_frames(film.src, pts, pts, film.info.rotation) if rgb is not None), None)
        image = Image.fromarray(frame) if frame is not None else Image.new("RGB", upright_shape(film.info)[::-1])
        image.thumbnail((THUMBNAIL_WIDTH, THUMBNAIL_WIDTH * 4))
        image.save(film.src.with_name(f"shot-{k}.jpg"), quality=88)


router = APIRouter(prefix="/api/videos")


@router.post("", responses={400: {"description": "not a video"}, 413: {"description": "over the byte or length limit"}})
async def upload_video(request: Request, file: UploadFile = File(..., description="the film (mp4, mkv, mov, avi, webm)")) -> dict:
    """Upload a film: its shots are found and a thumbnail made of each shot's first frame."""
    jobs: FilmJobs = request.state.films
    film_id = secrets.token_hex(8)
    folder = jobs.root / film_id
    folder.mkdir()
    try:
        src = await save_upload(request, file, folder, jobs.limits.max_bytes)
        info = probe(src)
        check_length(info.declared_s or 0.0, jobs.limits.max_seconds)
        film = Film(film_id, src, info, scan(src, info, progress=False), Path(file.filename or "film").name)
        check_length(len(film.timeline.pts) / info.rate, jobs.limits.max_seconds)
        write_thumbnails(film)
        jobs.add(film)
    except UserError as exc:  # its line names the upload by the server's path: name it as the client did
        shutil.rmtree(folder)
        raise UserError(str(exc).replace(str(folder / "upload"), Path(file.filename or "upload").stem)) from None
    except BaseException:
        shutil.rmtree(folder)
        raise
    height, width = upright_shape(info)
    shots = [{"first": first, "end": end, "thumbnail": f"/api/videos/{film_id}/shots/{k}.jpg"} for k, (first, end) in enumerate(film.timeline.shots())]
    return {"id": film_id, "frames": len(film.timeline.pts), "rate": str(info.rate), "width": width, "height": height, "shots": shots}


@router.get("/{film_id}/shots/{k}.jpg", response_class=FileResponse)
def shot_thumbnail(request: Request, film_id: str, k: int) -> FileResponse:
    """The JPEG of shot k's first frame."""
    path = film_of(request, film_id).src.with_name(f"shot-{k}.jpg")
    if k < 0 or not path.is_file():
        raise HTTPException(404, "no such shot")
    return FileResponse(path, media_type="image/jpeg")


def parse_frame_hints(hints: dict, film: Film, colorizer) -> dict[int, list[Hint]]:
    """{"frame": [{x, y, color}]} as {frame: [Hint]}; 400 for a frame outside the film or a malformed hint."""
    try:
        parsed = {int(frame): hints_from_json(items) for frame, items in hints.items()}
    except (ValueError, TypeError, UserError) as exc:
        raise UserError(f"hints: {exc}") from None
    outside = [frame for frame in parsed if not 0 <= frame < len(film.timeline.pts)]
    if outside:
        raise UserError(f"hints: frame {outside[0]} is not in the film (frames 0 to {len(film.timeline.pts) - 1})")
    colorizer.check_hints(parsed)
    return parsed


@router.post("/{film_id}/start", responses={400: {"description": "bad hints"}, 409: {"description": "already started"}, 503: {"description": "queue full"}})
def start_video(request: Request, film_id: str, hints: dict = Body({}, embed=True)) -> dict:
    """Queue the film for colouring with hints by frame index: {"hints": {"0": [{"x": 120, "y": 80, "color": "#3060C0"}]}}."""
    film = film_of(request, film_id)
    jobs: FilmJobs = request.state.films
    jobs.submit(film, parse_frame_hints(hints, film, jobs.colorizer))
    return film.status()


@router.get("/{film_id}")
def video_status(request: Request, film_id: str) -> dict:
    """The job's state (uploaded, queued, running, done, failed with its error) and progress in frames."""
    return film_of(request, film_id).status()


@router.get("/{film_id}/result", response_class=FileResponse)
def video_result(request: Request, film_id: str) -> FileResponse:
    """The coloured film, in the upload's container, once done."""
    film = film_of(request, film_id)
    if film.state != "done":
        raise HTTPException(409, f"the film is {film.state}, not done")
    return FileResponse(film.result, filename=f"{Path(film.name).stem}_colour{film.result.suffix}")
