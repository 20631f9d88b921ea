"""WCAG 2.2's contrast ratio, written out from its definitions of relative luminance and
contrast ratio, so the accessibility tests judge colours without the product's own colour code.
"""

from __future__ import annotations

import re

RGB = tuple[float, float, float]


def relative_luminance(rgb: RGB) -> float:
    def channel(c: float) -> float:
        c = c / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast_ratio(a: RGB, b: RGB) -> float:
    hi, lo = sorted((relative_luminance(a), relative_luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def parse_colour(text: str) -> RGB:
    """`#rrggbb` or an opaque `rgb()`/`rgba(..., 1)` as the browser computes it."""
    text = text.strip().lower()
    if re.fullmatch(r"#[0-9a-f]{6}", text):
        return int(text[1:3], 16), int(text[3:5], 16), int(text[5:7], 16)
    match = re.fullmatch(r"rgba?\(([\d.]+),\s*([\d.]+),\s*([\d.]+)(?:,\s*([\d.]+))?\)", text)
    assert match, f"not a colour: {text!r}"
    assert match.group(4) in (None, "1"), f"a translucent colour cannot be judged: {text}"
    return float(match.group(1)), float(match.group(2)), float(match.group(3))


WHITE: RGB = (255, 255, 255)
