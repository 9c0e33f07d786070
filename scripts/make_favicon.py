"""Render app/static/favicon.svg (the source) to the PNG icons, with Debian's Chromium.

Run after editing the SVG: `python scripts/make_favicon.py`. The outputs are committed, so
nothing is rendered at run time: favicon.ico (a 32-pixel PNG inside an ICO, which every current
browser reads) and apple-touch-icon.png (180 pixels, for phones' home screens).
"""

from __future__ import annotations

import base64
import os
import struct
from pathlib import Path

from playwright.sync_api import sync_playwright

STATIC = Path(__file__).resolve().parents[1] / "app" / "static"


def render(svg: str, sizes: tuple[int, ...]) -> dict[int, bytes]:
    source = "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()
    pngs = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"),
            args=["--no-sandbox"],
        )
        for size in sizes:
            page = browser.new_page(viewport={"width": size, "height": size})
            page.set_content(
                f'<body style="margin:0"><img src="{source}" width="{size}" height="{size}"'
                ' style="display:block" alt=""></body>'
            )
            pngs[size] = page.screenshot(omit_background=True)
        browser.close()
    return pngs


def ico(png: bytes, size: int) -> bytes:
    """An ICO file holding one PNG: header, one directory entry, the image."""
    header = struct.pack("<HHH", 0, 1, 1)
    entry = struct.pack("<BBBBHHII", size, size, 0, 0, 1, 32, len(png), 6 + 16)
    return header + entry + png


def main() -> None:
    pngs = render((STATIC / "favicon.svg").read_text(), (32, 180))
    (STATIC / "favicon.ico").write_bytes(ico(pngs[32], 32))
    (STATIC / "apple-touch-icon.png").write_bytes(pngs[180])
    print(f"favicon.ico and apple-touch-icon.png written to {STATIC}")  # noqa: T201


if __name__ == "__main__":
    main()
