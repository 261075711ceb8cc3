"""FastAPI app: `GET /` (the page), `POST /api/colorize`, `GET /api/health`, `GET /api/model`, OpenAPI at /docs."""

from __future__ import annotations

import io
import threading
from importlib.resources import files

from fastapi import FastAPI, File, Form, HTTPException, Request, UploadFile
from fastapi.responses import HTMLResponse, Response
from PIL import Image, UnidentifiedImageError

from colorgan.errors import UserError
from colorgan.inference import Colorizer

MAX_RENDER_FACTOR = 100


def create_app(colorizer: Colorizer, max_upload_bytes: int = 25 * 2**20, max_pixels: int = 50_000_000, name: str = "model") -> FastAPI:
    """The app around one Colorizer; uploads above `max_upload_bytes` or `max_pixels` get 413."""
    app = FastAPI(title="colorgan", description="Colourise black-and-white photographs.", version="1")
    too_big = f"upload larger than the {max_upload_bytes / 2**20:.3g} MiB limit"
    lock = threading.Lock()  # one photo through the model at a time bounds memory; requests queue
    page = files("colorgan.web").joinpath("static/index.html").read_text()

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def index() -> str:
        return page

    @app.get("/api/health")
    def health() -> dict:
        return {"status": "ok"}

    @app.get("/api/model")
    def model_info() -> dict:
        return {
            "name": name,
            "model": type(colorizer.model).__name__,
            "device": str(colorizer.device),
            "default_render_factor": colorizer.default_render_factor,
            "max_upload_bytes": max_upload_bytes,
            "max_pixels": max_pixels,
        }

    @app.post("/api/colorize", responses={200: {"content": {"image/png": {}}}, 400: {}, 413: {}})
    def colorize(request: Request, file: UploadFile = File(...), render_factor: int | None = Form(None)) -> Response:
        """Colourise one uploaded photo; returns a PNG of the same size."""
        if int(request.headers.get("content-length") or 0) > max_upload_bytes + 64 * 1024:
            raise HTTPException(413, too_big)
        data = file.file.read(max_upload_bytes + 1)
        if len(data) > max_upload_bytes:
            raise HTTPException(413, too_big)
        if render_factor is not None and not 1 <= render_factor <= MAX_RENDER_FACTOR:
            raise HTTPException(400, f"render_factor must be between 1 and {MAX_RENDER_FACTOR}")
        try:
            width, height = Image.open(io.BytesIO(data)).size  # header only: nothing decoded yet
        except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
            raise HTTPException(400, f"{file.filename or 'upload'} is not an image: send a JPEG, PNG, TIFF, WebP or BMP file") from None
        if width * height > max_pixels:
            raise HTTPException(413, f"image has {width * height / 1e6:.0f} megapixels, the limit is {max_pixels / 1e6:.0f}")
        try:
            with lock:
                result = colorizer.colorize(data, render_factor)
        except UserError as exc:
            raise HTTPException(400, str(exc)) from None
        buf = io.BytesIO()
        result.save(buf, format="PNG")
        return Response(buf.getvalue(), media_type="image/png")

    return app
