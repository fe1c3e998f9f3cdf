"""Draw the site's icons into static/icons/: the favicon (ICO, 16–48 px), the PNGs the web-app
manifest names (192 and 512 px) and the Apple touch icon (180 px), from the same design as
static/icons/favicon.svg: two white arrows chasing each other round a circle (循环, a cycle)
on the site's green. The files are committed; run this again only to change the design."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand
from PIL import Image, ImageDraw

GREEN = (31, 122, 77)  # --green in static/css/site.css
WHITE = (255, 255, 255)
SCALE = 4  # drawn four times larger, then reduced: smooth edges without anti-aliasing support


def draw_icon(size: int) -> Image.Image:
    big = size * SCALE
    image = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((0, 0, big - 1, big - 1), radius=big * 0.2, fill=GREEN)
    centre, radius, width = big / 2, big * 0.28, max(SCALE, round(big * 0.085))
    box = (centre - radius, centre - radius, centre + radius, centre + radius)
    for start in (200, 20):  # two arcs of 140°, each ending in an arrowhead
        end = start + 140
        draw.arc(box, start=start, end=end, fill=WHITE, width=width)
        angle = math.radians(end)
        tip_x, tip_y = centre + radius * math.cos(angle), centre + radius * math.sin(angle)
        # The head points along the circle (clockwise in image coordinates).
        along = (-math.sin(angle), math.cos(angle))
        across = (math.cos(angle), math.sin(angle))
        head = width * 1.6
        draw.polygon(
            [
                (tip_x + along[0] * head, tip_y + along[1] * head),
                (tip_x + across[0] * head - along[0] * head * 0.2, tip_y + across[1] * head - along[1] * head * 0.2),
                (tip_x - across[0] * head - along[0] * head * 0.2, tip_y - across[1] * head - along[1] * head * 0.2),
            ],
            fill=WHITE,
        )
    return image.resize((size, size), Image.Resampling.LANCZOS)


class Command(BaseCommand):
    help = "Draw the favicon and the web-app icons into static/icons/."

    def handle(self, *args: Any, **options: Any) -> None:
        folder = Path(settings.BASE_DIR) / "static" / "icons"
        folder.mkdir(parents=True, exist_ok=True)
        for size, name in ((192, "icon-192.png"), (512, "icon-512.png"), (180, "apple-touch-icon.png")):
            icon = draw_icon(size)
            if name.startswith("apple"):  # iOS shows no transparency: fill the corners
                icon = Image.alpha_composite(Image.new("RGBA", icon.size, (*GREEN, 255)), icon)
            icon.save(folder / name, optimize=True)
        draw_icon(48).save(folder / "favicon.ico", sizes=[(16, 16), (32, 32), (48, 48)])
        self.stdout.write(f"Icons written to {folder}")
