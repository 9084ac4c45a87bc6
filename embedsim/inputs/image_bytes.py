"""Image bytes as a model gets them: PNG and JPEG unchanged, any other image Pillow reads
(WebP, BMP, GIF, TIFF, AVIF, ...) or one with an EXIF orientation as deterministic PNG;
high bit depth kept as 16-bit greyscale (:func:`high_depth`)."""

from __future__ import annotations

import io
import warnings

from PIL import Image, ImageOps, UnidentifiedImageError

from embedsim.errors import InputError

#: Formats the Gemini API takes as images; everything else is converted to PNG.
PASS_THROUGH_IMAGES = {"PNG": "image/png", "JPEG": "image/jpeg"}
_EXIF_ORIENTATION = 0x0112
#: Formats Pillow recognises but draws only through an external program: refused by name.
EXTERNAL_RENDERERS = {"EPS": ("an EPS (PostScript) image", "Ghostscript")}


#: Leading bytes of PNG, JPEG, GIF and TIFF: such a file Pillow cannot open is a broken image.
IMAGE_SIGNATURES = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF87a", b"GIF89a", b"II*\x00", b"MM\x00*")


def looks_like_image(data: bytes) -> bool:
    if data.startswith(IMAGE_SIGNATURES) or (data[:4] == b"RIFF" and data[8:12] == b"WEBP"):
        return True
    try:
        with Image.open(io.BytesIO(data)):
            return True
    except Image.DecompressionBombError:
        return True  # an image, refused with a clear message by normalise_image
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        return False


def normalise_image(data: bytes, where: str) -> tuple[bytes, str]:
    """Return ``(bytes, mime)``: PNG/JPEG unchanged, anything else as deterministic PNG.

    The whole image is decoded, so truncated or corrupt files are caught here.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                fmt = image.format or ""
                if fmt in EXTERNAL_RENDERERS:
                    what, program = EXTERNAL_RENDERERS[fmt]
                    raise InputError(f"{what}, which Pillow draws only with {program} (not a dependency of "
                                     "embedsim); convert it to PNG")
                orientation = image.getexif().get(_EXIF_ORIENTATION, 1)
                image.load()
                if fmt in PASS_THROUGH_IMAGES and orientation in (1, None):
                    return data, PASS_THROUGH_IMAGES[fmt]
                return encode_png(ImageOps.exif_transpose(image)), "image/png"
    except InputError as exc:
        raise InputError(f"{where}: {exc}") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise InputError(f"{where}: image is too large ({exc}); downscale it") from None
    except (OSError, ValueError, SyntaxError) as exc:
        raise InputError(
            f"{where}: image is truncated or corrupt ({exc}); re-export or replace the file"
        ) from None


def encode_png(image: Image.Image) -> bytes:
    """Encode ``image`` as PNG with no metadata, so equal pixels give equal bytes.

    A high-bit-depth image becomes 16-bit greyscale (:func:`high_depth`), not 8-bit."""
    if image.mode in HIGH_DEPTH_MODES:
        image = high_depth(image)
    elif image.mode not in ("RGB", "RGBA", "L", "LA"):
        image = image.convert("RGBA" if "A" in image.getbands() or "transparency" in image.info else "RGB")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=False, compress_level=6)
    return buffer.getvalue()


#: Pillow modes of greyscale images with more than 8 bits per pixel.
HIGH_DEPTH_MODES = frozenset({"I", "F", "I;16", "I;16L", "I;16B", "I;16N"})


def high_depth(image: Image.Image) -> Image.Image:
    """A 16-bit greyscale (``I;16``) copy of a high-bit-depth greyscale ``image``.

    16-bit values and 32-bit integers within 0..65535 are kept as they are; other 32-bit
    integer and all float images are stretched linearly from their minimum (0) to their
    maximum (65535), a flat one becomes 0. NaN or infinite pixels raise :class:`InputError`."""
    import numpy as np

    values = np.asarray(image)
    if image.mode.startswith("I;16"):
        return Image.fromarray(values.astype(np.uint16))
    values = values.astype(np.float64)
    if not np.all(np.isfinite(values)):
        raise InputError("image has NaN or infinite pixel values; replace them before embedding")
    low, high = float(values.min()), float(values.max())
    if image.mode == "F" or low < 0 or high > 65535:
        values = (values - low) * (65535 / (high - low)) if high > low else np.zeros_like(values)
    return Image.fromarray(np.rint(values).astype(np.uint16))
