"""What a file is, from its leading bytes: PDF, WAV, MP3, MP4 / MOV, and the ``ftyp`` brands
of HEIF / AVIF still images (an ISO ``ftyp`` box with an image brand such as ``avif`` or
``heic`` is an image, not video)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from embedsim.inputs.items import Kind

#: ``ftyp`` major brands of HEIF/AVIF still images and image sequences (ISO/IEC 23008-12, AV1 image format).
IMAGE_BRANDS = frozenset(
    b"avif avis avio heic heix heim heis hevc hevx hevm hevs mif1 mif2 msf1 jpeg jpgs avci avcs vvic vvis".split()
)


def sniff_media(data: bytes) -> tuple[Kind, str] | None:
    """Recognise PDF, WAV, MP3, MP4 and MOV by their leading bytes."""
    if data.startswith(b"%PDF-"):
        return "pdf", "application/pdf"
    if data[:4] == b"RIFF" and data[8:12] == b"WAVE":
        return "audio", "audio/wav"
    if (data.startswith(b"ID3") and len(data) > 4 and data[3] in (2, 3, 4)) or _is_mpeg_audio_frame(data):
        return "audio", "audio/mp3"
    if not _plausible_box(data):
        return None
    if data[4:8] == b"ftyp":
        brand = data[8:12]
        if brand in IMAGE_BRANDS:
            return None
        return "video", "video/quicktime" if brand == b"qt  " else "video/mp4"
    if data[4:8] in (b"moov", b"mdat", b"wide", b"free"):
        return "video", "video/quicktime"
    return None


def image_brand(data: bytes) -> str:
    """The brand of a HEIF/AVIF still image or image sequence, or ``""``."""
    is_image = _plausible_box(data) and data[4:8] == b"ftyp" and data[8:12] in IMAGE_BRANDS
    return data[8:12].decode("ascii") if is_image else ""


def _plausible_box(data: bytes) -> bool:
    """An ISO/QuickTime box header: a big-endian size of 0 (to the end), 1 (64-bit size
    follows) or 8 .. len(data), so text that happens to spell ``wide`` or ``free`` is not video."""
    size = int.from_bytes(data[:4], "big")
    return len(data) >= 8 and (size in (0, 1) or 8 <= size <= len(data))


def _is_mpeg_audio_frame(data: bytes) -> bool:
    """An MP3 frame header: 11 sync bits, a valid version, layer III, a valid bitrate and rate.

    (Requiring layer III keeps a UTF-16 byte order mark ``FF FE`` from passing as audio.)
    """
    if len(data) < 4 or data[0] != 0xFF or data[1] & 0xE0 != 0xE0:
        return False
    version, layer = (data[1] >> 3) & 0b11, (data[1] >> 1) & 0b11
    bitrate, sample_rate = data[2] >> 4, (data[2] >> 2) & 0b11
    return version != 0b01 and layer == 0b01 and bitrate != 0b1111 and sample_rate != 0b11
