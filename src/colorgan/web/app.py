"""FastAPI app: `GET /` (the page and its assets), `POST /api/colorize`, `GET /api/health`, `GET /api/model`, OpenAPI at /docs.

Requests are bounded: uploads by bytes and by the pixels their header declares (413), waiting requests by a
queue length (503 with Retry-After), and a request whose client has gone away is not computed. The page
is served with a Content-Security-Policy that allows only its own assets.
"""

from __future__ import annotations

import asyncio
import io
import json
import threading
from pathlib import Path

from fastapi import FastAPI, File, Form, HTTPException, Request, UploadFile
from fastapi.responses import FileResponse, Response
from PIL import Image, UnidentifiedImageError
from starlette.concurrency import run_in_threadpool

from colorgan.errors import UserError
from colorgan.hints import hints_from_json
from colorgan.inference import Colorizer

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


def create_app(colorizer: Colorizer, max_upload_bytes: int = 25 * 2**20, max_pixels: int = 50_000_000, name: str = "model", max_queue: int = 8) -> FastAPI:
    """The app around one Colorizer: one photo through the model at a time, at most `max_queue` waiting."""
    app = FastAPI(title="colorgan", description="Colourise black-and-white photographs, optionally with colour hints.", version="2")
    too_big = f"upload larger than the {max_upload_bytes / 2**20:.3g} MiB limit"
    model_lock = threading.Lock()  # not an asyncio lock: servers and test clients may run requests on several event loops
    waiting = 0

    @app.middleware("http")
    async def security_headers(request: Request, call_next):
        response = await call_next(request)
        response.headers.update(ALWAYS)
        if not request.url.path.startswith(DOCS):
            response.headers["Content-Security-Policy"] = PAGE_POLICY
        return response

    @app.get("/", include_in_schema=False)
    def index() -> FileResponse:
        return FileResponse(STATIC / "index.html", media_type="text/html")

    @app.get("/static/{asset}", include_in_schema=False)
    def static(asset: str) -> FileResponse:
        if asset not in ("app.js", "app.css"):
            raise HTTPException(404, "no such asset")
        return FileResponse(STATIC / asset, media_type="text/javascript" if asset.endswith(".js") else "text/css")

    @app.get("/api/health")
    def health() -> dict:
        return {"status": "ok", "waiting": waiting}

    @app.get("/api/model")
    def model_info() -> dict:
        return {
            "name": name,
            "model": type(colorizer.model).__name__,
            "device": str(colorizer.device),
            "default_render_factor": colorizer.default_render_factor,
            "hints": colorizer.contract.hints,
            "max_upload_bytes": max_upload_bytes,
            "max_pixels": max_pixels,
        }

    @app.post(
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
        nonlocal waiting
        if int(request.headers.get("content-length") or 0) > max_upload_bytes + 64 * 1024:
            raise HTTPException(413, too_big)
        data = await file.read(max_upload_bytes + 1)
        if len(data) > max_upload_bytes:
            raise HTTPException(413, too_big)
        if render_factor is not None and not 1 <= render_factor <= MAX_RENDER_FACTOR:
            raise HTTPException(400, f"render_factor must be between 1 and {MAX_RENDER_FACTOR}")
        declared_pixels(data, file.filename or "upload", max_pixels)
        try:
            given = hints_from_json(json.loads(hints)) if hints else None
        except (ValueError, UserError) as exc:
            raise HTTPException(400, f"hints: {exc}") from None
        if given and not colorizer.contract.hints:
            raise HTTPException(
                400, "this model was trained without hints: send no hints, or serve a model trained with them (colorgan-train experiment=hints)"
            )
        if waiting >= max_queue:
            raise HTTPException(503, f"{waiting} photos are waiting: try again shortly", headers={"Retry-After": str(max(1, waiting))})
        waiting += 1
        try:
            while not model_lock.acquire(blocking=False):
                if await request.is_disconnected():  # the client gave up while waiting: do not compute for nobody
                    return Response(status_code=499)
                await asyncio.sleep(0.02)
            try:
                result = await run_in_threadpool(colorizer.colorize, data, render_factor, given)
            finally:
                model_lock.release()
        except UserError as exc:
            raise HTTPException(400, str(exc)) from None
        finally:
            waiting -= 1
        buf = io.BytesIO()
        result.save(buf, format="PNG")
        return Response(buf.getvalue(), media_type="image/png")

    return app
