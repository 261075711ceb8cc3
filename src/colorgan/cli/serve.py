"""`colorgan-serve CKPT [--host 127.0.0.1] [--port 8000]`: the colourising web page and API."""

from __future__ import annotations

import argparse
from pathlib import Path

from colorgan.cli.errors import report_user_errors

PROG = "colorgan-serve"


def main(argv: list[str] | None = None) -> None:
    """Console entry point."""
    p = argparse.ArgumentParser(prog=PROG, description=__doc__)
    p.add_argument("checkpoint", help="a .ckpt, an export folder, or hf://owner/name[@revision] on the Hugging Face Hub")
    p.add_argument("--host", default="127.0.0.1", help="0.0.0.0 to listen on every interface")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--device", default="auto")
    p.add_argument("--max-upload-mb", type=float, default=25)
    p.add_argument("--max-megapixels", type=float, default=50)
    p.add_argument("--max-queue", type=int, default=8, help="requests waiting for the model beyond this get 503 (Retry-After)")
    p.add_argument("--max-video-mb", type=float, default=500, help="films larger than this get 413")
    p.add_argument("--max-video-minutes", type=float, default=10, help="films longer than this get 413")
    p.add_argument("--max-video-queue", type=int, default=4, help="films being coloured or waiting beyond this get 503 (Retry-After)")
    p.add_argument("--max-videos-kept", type=int, default=20, help="films kept; a new upload removes the oldest finished one (else the oldest not started)")
    args = p.parse_args(argv)
    with report_user_errors(PROG):
        import uvicorn

        from colorgan.inference import Colorizer
        from colorgan.web.app import create_app
        from colorgan.web.films import FilmLimits

        colorizer = Colorizer.from_checkpoint(args.checkpoint, device=args.device)
        app = create_app(
            colorizer,
            int(args.max_upload_mb * 2**20),
            int(args.max_megapixels * 1e6),
            name=Path(args.checkpoint).name,
            max_queue=args.max_queue,
            film_limits=FilmLimits(int(args.max_video_mb * 2**20), args.max_video_minutes * 60, args.max_video_queue, args.max_videos_kept),
        )
    print(f"colorgan: open http://{args.host}:{args.port}/ (API docs at /docs)")
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
