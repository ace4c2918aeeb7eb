"""Placeholder product pictures: a small SVG per product handle (a colour drawn from
the handle and the product's initials), so the demo catalog has images without
shipping image files."""

from __future__ import annotations

import hashlib
from html import escape

_PALETTE = ("#1f6f5c", "#2d5d8a", "#8a4b2d", "#5d3a8a", "#3a7a2d", "#8a2d4b", "#4b5d6b", "#a0662a")


def placeholder_svg(handle: str, *, size: int = 240) -> str:
    """An SVG document (``size`` px square) for ``handle``: same handle, same picture."""
    digest = hashlib.sha256(handle.encode()).digest()
    colour = _PALETTE[digest[0] % len(_PALETTE)]
    words = [w for w in handle.split("-") if w and not w.isdigit()]
    initials = escape("".join(w[0] for w in words[:2]).upper() or "?")
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{size}" height="{size}" viewBox="0 0 100 100"'
        ' role="img">'
        f'<rect width="100" height="100" fill="{colour}"/>'
        f'<circle cx="{30 + digest[1] % 40}" cy="{30 + digest[2] % 40}" r="{18 + digest[3] % 12}"'
        ' fill="#ffffff" opacity="0.15"/>'
        '<text x="50" y="58" font-family="sans-serif" font-size="26" text-anchor="middle" fill="#ffffff">'
        f'{initials}</text>'
        "</svg>"
    )
