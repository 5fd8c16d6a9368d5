"""Files a chef might upload: a phone photo with its GPS position, a PNG
decompression bomb, a text file; and reading a published photo back."""

from __future__ import annotations

import io
import struct
import zlib

from PIL import Image, ImageDraw

GPS_IFD = 0x8825
ORIENTATION = 0x0112
MAKE = 0x010F
# The chef's home, as a phone writes it into the photo.
HOME_GPS = {1: "N", 2: (48.0, 51.0, 30.0), 3: "E", 4: (2.0, 21.0, 7.0)}


def jpeg_with_gps(*, width: int = 800, height: int = 600) -> bytes:
    """A landscape-stored JPEG that a phone held upright took (EXIF orientation 6:
    rotate 90° to show it), with the camera's make and the GPS position of the home."""
    image = Image.new("RGB", (width, height), (200, 120, 40))
    ImageDraw.Draw(image).ellipse((100, 100, width - 100, height - 100), fill=(250, 250, 240))
    exif = Image.Exif()
    exif[ORIENTATION] = 6
    exif[MAKE] = "FoodieCam"
    exif.get_ifd(GPS_IFD).update(HOME_GPS)
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=90, exif=exif.tobytes(), comment=b"kitchen at home")
    return out.getvalue()


def png(*, width: int = 300, height: int = 200, color=(30, 140, 60)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), color).save(out, format="PNG")
    return out.getvalue()


def png_bomb(*, side: int = 12_000) -> bytes:
    """A small, valid PNG (a few kB) that decodes to ``side``² pixels (144 million by
    default): a decompression bomb."""
    row = b"\x00" + b"\x00" * ((side + 7) // 8)  # filter byte, then 1-bit pixels
    compressor = zlib.compressobj(9)
    data = b"".join(compressor.compress(row) for _ in range(side)) + compressor.flush()

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b"")


TEXT = b"Boeuf bourguignon: 1 kg beef, 75 cl Burgundy wine, carrots, onions.\n"


def metadata_of(data: bytes) -> dict:
    """What a published photo carries besides its pixels."""
    with Image.open(io.BytesIO(data)) as image:
        exif = image.getexif()
        return {
            "format": image.format,
            "size": image.size,
            "exif": dict(exif),
            "gps": dict(exif.get_ifd(GPS_IFD)),
            "info": sorted(k for k in image.info if k not in ("loop", "background", "duration", "timestamp")),
        }
