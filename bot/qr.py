"""QR code images of deep links."""

from __future__ import annotations

import io

import qrcode


def qr_png(data: str) -> bytes:
    """A PNG image of a QR code holding `data`."""
    image = qrcode.make(data, border=2)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()
