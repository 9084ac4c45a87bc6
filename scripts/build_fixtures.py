"""Build the images of ``fixtures/faces/`` from the fixture sources, deterministically.

Usage::

    python scripts/build_fixtures.py [SOURCE_DIR]

``SOURCE_DIR`` defaults to ``../shared/fixture-sources`` next to the repository (its
``SOURCES.md`` says where each file comes from; ``fixtures/LICENSES.md`` keeps the
attributions). Photos are downscaled to at most 512 px on the long side and saved as
JPEG (quality 85, no metadata); the 16 Pexels frames are assembled into the 4 x 4
grid ``face16.jpg``; the emoji grid is downscaled to 512 x 512 PNG. The labels live
in the hand-written ``fixtures/faces/manifest.toml``, which is checked at the end.
Same sources and Pillow version, same bytes.
"""

from __future__ import annotations

import argparse
import io
import sys
from pathlib import Path

from PIL import Image, ImageOps

from embedsim.inputs.datasets import Dataset
from embedsim.inputs.image_bytes import encode_png

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "fixtures" / "faces"
MAX_SIDE = 512
JPEG_QUALITY = 85
GRID_TILE = 128  # px; 4 x 128 = 512

PHOTOS = {  # fixture file: source file
    "obama_1.jpg": "public-domain/obama.jpg",
    "obama_2.jpg": "public-domain/obama2.jpg",
    "obama_3.jpg": "public-domain/obama3.jpg",
    "biden.jpg": "public-domain/biden.jpg",
    "collins.jpg": "public-domain/astronaut.png",
    "jesper_1.jpg": "kphotoalbum-cc-by-sa-4.0/jesper.jpg",
    "jesper_2.jpg": "kphotoalbum-cc-by-sa-4.0/jesper_2.jpg",
    "jesper_3.jpg": "kphotoalbum-cc-by-sa-4.0/new_wave_2.jpg",
}
PEXELS_FRAMES = (0, 31, 62, 94, 125, 157, 188, 219, 251, 282, 314, 345, 376, 408, 439, 471)
EMOJI_GRID = "noto-emoji-apache-2.0/emoji16_grid.png"


def open_rgb(path: Path) -> Image.Image:
    """The image at ``path``, upright (EXIF orientation applied), as RGB."""
    with Image.open(path) as image:
        return ImageOps.exif_transpose(image).convert("RGB")


def fit(image: Image.Image, max_side: int) -> Image.Image:
    """Downscale (never upscale) so the long side is at most ``max_side``."""
    scale = max_side / max(image.size)
    if scale >= 1:
        return image
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    return image.resize(size, Image.Resampling.LANCZOS)


def encode_jpeg(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=JPEG_QUALITY, optimize=False, progressive=False)
    return buffer.getvalue()


def face16(frames_dir: Path) -> Image.Image:
    """The 16 Pexels frames as a 4 x 4 grid in reading order, frame 000 first."""
    grid = Image.new("RGB", (4 * GRID_TILE, 4 * GRID_TILE))
    for index, frame in enumerate(PEXELS_FRAMES):
        tile = open_rgb(frames_dir / f"frame_{frame:03d}.png").resize(
            (GRID_TILE, GRID_TILE), Image.Resampling.LANCZOS
        )
        row, col = divmod(index, 4)
        grid.paste(tile, (col * GRID_TILE, row * GRID_TILE))
    return grid


def build(sources: Path) -> dict[str, bytes]:
    """Return ``{file name: bytes}`` of every generated fixture."""
    files = {name: encode_jpeg(fit(open_rgb(sources / source), MAX_SIDE)) for name, source in PHOTOS.items()}
    files["face16.jpg"] = encode_jpeg(face16(sources / "pexels-video-3063838"))
    emoji = open_rgb(sources / EMOJI_GRID).resize((4 * GRID_TILE, 4 * GRID_TILE), Image.Resampling.LANCZOS)
    files["emoji16.png"] = encode_png(emoji)
    return files


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("sources", nargs="?", type=Path, default=REPO.parent / "shared" / "fixture-sources")
    args = parser.parse_args(argv)
    if not (args.sources / "SOURCES.md").is_file():
        parser.error(f"{args.sources}: not a fixture-sources folder (no SOURCES.md)")
    OUT.mkdir(parents=True, exist_ok=True)
    for name, data in build(args.sources).items():
        (OUT / name).write_bytes(data)
        print(f"{len(data):>8} B  {OUT.relative_to(REPO) / name}")
    dataset = Dataset.load(OUT)
    tiles = sum(len(dataset.grid(grid_id)) for grid_id in dataset.grids)
    total = sum(p.stat().st_size for p in OUT.parent.rglob("*") if p.is_file())
    print(f"manifest ok: {len(dataset.items)} items, {len(dataset.grids)} grids, {tiles} tiles; "
          f"fixtures/ total {total / 1e6:.2f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
