"""FastAPI app: `GET /` (the page and its assets), `POST /api/colorize`, `GET /api/health`, `GET /api/model`, films under
`/api/videos` (colorgan.web.films), OpenAPI at /docs.

Requests are bounded: uploads by bytes and by the pixels their header declares (413), waiting requests by a
queue length (503 with Retry-After), and a request whose client has gone away is not computed. The page
is served with a Content-Security-Policy that allows only its own assets.
"""

from __future__ import annotations

import io
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from fastapi import APIRouter, FastAPI, File, Form, HTTPException, Request, UploadFile
from fastapi.responses import FileResponse, JSONResponse, Response
from PIL import Image, UnidentifiedImageError

from colorgan.errors import UserError
from colorgan.hints import Hint, hints_from_json
from colorgan.inference import Colorizer
from colorgan.web.films import FilmJobs, FilmLimits
from colorgan.web.films import router as films_router
from colorgan.web.queue import ModelQueue, QueueFull

MAX_RENDER_FACTOR = 100
STATIC = Path(__file__).parent / "static"
PAGE_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; connect-src 'self'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)
ALWAYS = {"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer"}
DOCS = ("/docs", "/redoc", "/openapi.json")  # Swagger UI loads its assets from a CDN: no page policy there


def declared_pixels(data: bytes, name: str, max_pixels: int) -> int:
    """Width x height from the image header (nothing decoded); 400 for non-images, 413 past `max_pixels`."""
    try:
        width, height = Image.open(io.BytesIO(data)).size
    except Image.DecompressionBombError:  # PIL refuses headers far past its own limit: say what it is
        raise HTTPException(413, f"image declares far more than the {max_pixels / 1e6:.0f} megapixel limit") from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        raise HTTPException(400, f"{name} is not an image: send a JPEG, PNG, TIFF, WebP or BMP file") from None
    if width * height > max_pixels:
        raise HTTPException(413, f"image has {width * height / 1e6:.0f} megapixels, the limit is {max_pixels / 1e6:.0f}")
    return width * height


@dataclass(frozen=True)
class Service:
    """What the app serves: one Colorizer under its name, and the limits on uploads."""

    colorizer: Colorizer
    name: str
    max_upload_bytes: int
    max_pixels: int


router = APIRouter()


def create_app(
    colorizer: Colorizer,
    max_upload_bytes: int = 25 * 2**20,
    max_pixels: int = 50_000_000,
    name: str = "model",
    max_queue: int = 8,
    film_limits: FilmLimits = FilmLimits(),
) -> FastAPI:
    """The app around one Colorizer: one photo through the model at a time, at most `max_queue` admitted; films within
    `film_limits` coloured one at a time in the background."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[dict]:
        films = FilmJobs(colorizer, film_limits)
        try:
            yield {"queue": ModelQueue(max_queue), "films": films}  # made on the serving loop; every request's state has them
        finally:
            films.close()

    app = FastAPI(title="colorgan", description="Colourise black-and-white photographs, optionally with colour hints.", version="2", lifespan=lifespan)
    app.state.service = Service(colorizer, name, max_upload_bytes, max_pixels)
    app.middleware("http")(security_headers)
    app.exception_handler(UserError)(user_error)
    app.include_router(router)
    app.include_router(films_router)
    return app


async def security_headers(request: Request, call_next) -> Response:
    """The same protective headers on every answer; the page policy everywhere but the API docs."""
    response = await call_next(request)
    response.headers.update(ALWAYS)
    if not request.url.path.startswith(DOCS):
        response.headers["Content-Security-Policy"] = PAGE_POLICY
    return response


async def user_error(request: Request, exc: UserError) -> JSONResponse:
    """A UserError (its one line) is the client's mistake: 400."""
    return JSONResponse({"detail": str(exc)}, status_code=400)


@router.get("/", include_in_schema=False)
def index() -> FileResponse:
    return FileResponse(STATIC / "index.html", media_type="text/html")


@router.get("/static/{asset}", include_in_schema=False)
def static(asset: str) -> FileResponse:
    if asset not in ("app.js", "films.js", "app.css"):
        raise HTTPException(404, "no such asset")
    return FileResponse(STATIC / asset, media_type="text/javascript" if asset.endswith(".js") else "text/css")


@router.get("/api/health")
def health(request: Request) -> dict:
    return {"status": "ok", "waiting": request.state.queue.admitted}


@router.get("/api/model")
def model_info(request: Request) -> dict:
    service: Service = request.app.state.service
    return {
        "name": service.name,
        "model": type(service.colorizer.model).__name__,
        "device": str(service.colorizer.device),
        "default_render_factor": service.colorizer.default_render_factor,
        "hints": service.colorizer.contract.hints,
        "max_upload_bytes": service.max_upload_bytes,
        "max_pixels": service.max_pixels,
    }


async def read_upload(request: Request, file: UploadFile, max_bytes: int) -> bytes:
    """The upload's bytes; 413 past `max_bytes` (from the declared length where it tells, without reading on)."""
    too_big = HTTPException(413, f"upload larger than the {max_bytes / 2**20:.3g} MiB limit")
    if int(request.headers.get("content-length") or 0) > max_bytes + 64 * 1024:
        raise too_big
    data = await file.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise too_big
    return data


def parse_hints(hints: str | None, colorizer: Colorizer) -> list[Hint] | None:
    """The form's JSON hints (400 when malformed), refused by the Colorizer when its model takes none."""
    try:
        given = hints_from_json(json.loads(hints)) if hints else None
    except (ValueError, UserError) as exc:
        raise HTTPException(400, f"hints: {exc}") from None
    colorizer.check_hints(given or [])
    return given


@router.post(
    "/api/colorize",
    responses={
        200: {"content": {"image/png": {}}, "description": "the colour photo, same size as the upload"},
        400: {"description": "not an image, a bad render factor or bad hints"},
        413: {"description": "upload over the byte limit, or an image (or a header) over the pixel limit"},
        503: {"description": "too many requests waiting; retry after the seconds in Retry-After"},
    },
)
async def colorize(
    request: Request,
    file: UploadFile = File(..., description="the photo (any size; colour or grey)"),
    render_factor: int | None = Form(None, description="long side of the model's input = 16 x this (default: the training size)"),
    hints: str | None = Form(
        None,
        description='JSON list of colour hints, [{"x": 120, "y": 80, "color": "#3060C0"}, ...]: x, y in the photo\'s pixels from the top-left (models trained with hints)',
    ),
) -> Response:
    """Colourise one uploaded photo, optionally with colour hints; returns a PNG of the same size."""
    service: Service = request.app.state.service
    data = await read_upload(request, file, service.max_upload_bytes)
    if render_factor is not None and not 1 <= render_factor <= MAX_RENDER_FACTOR:
        raise HTTPException(400, f"render_factor must be between 1 and {MAX_RENDER_FACTOR}")
    declared_pixels(data, file.filename or "upload", service.max_pixels)
    given = parse_hints(hints, service.colorizer)
    queue: ModelQueue = request.state.queue
    try:
        result = await queue.run(request, service.colorizer.colorize, data, render_factor, given)
    except QueueFull:
        raise HTTPException(503, f"{queue.admitted} photos are waiting: try again shortly", headers={"Retry-After": str(max(1, queue.admitted))}) from None
    if result is None:  # the client gave up while waiting: nothing was computed for nobody
        return Response(status_code=499)
    buf = io.BytesIO()
    result.save(buf, format="PNG")
    return Response(buf.getvalue(), media_type="image/png")
