"""Cloud console / SaaS screenshots (1280×800 PNG, 12–14 px UI text) drawn with Pillow.

A screen is data (``screens.yaml``): top bar, left navigation, a title, optional summary cards
and a table. Every string drawn is recorded as one line of ``page_text``.
"""

from __future__ import annotations

import random
import re
import string
from dataclasses import dataclass, field
from datetime import datetime

from PIL import Image, ImageDraw

from .fonts import pil_font

W, H = 1280, 800
TASKBAR = 40


@dataclass
class Screenshot:
    image: Image.Image
    lines: list[str] = field(default_factory=list)


class _Recorder:
    def __init__(self, img: Image.Image) -> None:
        self.d = ImageDraw.Draw(img)
        self.lines: list[str] = []

    def text(self, xy: tuple[float, float], s: str, size: int = 13, fill=(51, 51, 51),
             bold: bool = False, anchor: str = "la") -> float:
        """Draw and record; returns the text width in px."""
        if not s:
            return 0
        font = pil_font(size, bold=bold)
        self.d.text(xy, s, font=font, fill=fill, anchor=anchor)
        self.lines.append(s)
        return self.d.textlength(s, font=font)


def _fill(template: str, ctx: dict[str, str], rng: random.Random) -> str:
    def rep(m: re.Match[str]) -> str:
        key = m.group(1)
        if key.startswith("id:"):
            _, prefix, n = key.split(":")
            alphabet = string.ascii_lowercase + string.digits
            return prefix + "".join(rng.choice(alphabet) for _ in range(int(n)))
        if key.startswith("num:"):
            _, lo, hi = key.split(":")
            return str(rng.randint(int(lo), int(hi)))
        if key.startswith("dec:"):
            _, lo, hi = key.split(":")
            return f"{rng.uniform(float(lo), float(hi)):.1f}"
        return ctx[key]

    return re.sub(r"\{([^{}]+)\}", rep, template)


def _dark(c: tuple[int, int, int], k: float) -> tuple[int, int, int]:
    return tuple(int(v * k) for v in c)  # type: ignore[return-value]


def render_screen(tpl: dict, brand: str, color: tuple[int, int, int], ctx: dict[str, str],
                  captured: datetime, rng: random.Random) -> Screenshot:
    """Draw one screen from its template. ``ctx`` fills ``{company}``-style placeholders."""
    img = Image.new("RGB", (W, H), (245, 246, 248))
    r = _Recorder(img)
    d = r.d
    # ---- top bar
    bar = tpl.get("bar_color") and tuple(tpl["bar_color"]) or (35, 39, 46)
    d.rectangle((0, 0, W, 48), fill=bar)
    d.rectangle((16, 14, 36, 34), fill=color)
    x = 46 + r.text((46, 24), brand, size=16, fill=(255, 255, 255), bold=True, anchor="lm")
    x += 12
    r.text((x, 24), tpl.get("console", "控制台"), size=14, fill=(230, 230, 230), anchor="lm")
    x = 260
    for item in tpl.get("header", []):
        x += r.text((x, 24), item, size=13, fill=(200, 204, 210), anchor="lm") + 28
    account = _fill(tpl.get("account", "{company}"), ctx, rng)
    font13 = pil_font(13)
    aw = d.textlength(account, font=font13)
    d.ellipse((W - aw - 56, 13, W - aw - 34, 35), fill=_dark(color, 0.9))
    r.text((W - aw - 20, 24), account, size=13, fill=(255, 255, 255), anchor="lm")
    # ---- left navigation
    d.rectangle((0, 48, 200, H - TASKBAR), fill=(255, 255, 255))
    d.line((200, 48, 200, H - TASKBAR), fill=(226, 228, 232))
    r.text((20, 70), _fill(tpl["nav_title"], ctx, rng), size=14, fill=(30, 30, 30), bold=True,
           anchor="lm")
    y = 104
    for item in tpl.get("nav", []):
        active = item == tpl.get("nav_active")
        if active:
            d.rectangle((0, y - 15, 200, y + 15), fill=(235, 242, 255))
            d.rectangle((0, y - 15, 3, y + 15), fill=color)
        r.text((28, y), item, size=13, fill=color if active else (70, 70, 70), anchor="lm")
        y += 34
    # ---- content
    cx = 224
    r.text((cx, 68), _fill(tpl.get("breadcrumb", ""), ctx, rng), size=12, fill=(128, 128, 128),
           anchor="lm")
    r.text((cx, 100), _fill(tpl["title"], ctx, rng), size=20, fill=(20, 20, 20), bold=True,
           anchor="lm")
    y = 128
    if tpl.get("buttons"):
        bx = cx
        for i, b in enumerate(tpl["buttons"]):
            bw = d.textlength(b, font=font13) + 28
            d.rounded_rectangle((bx, y, bx + bw, y + 30), 3,
                                fill=color if i == 0 else (255, 255, 255),
                                outline=None if i == 0 else (210, 212, 216))
            r.text((bx + 14, y + 15), b, size=13,
                   fill=(255, 255, 255) if i == 0 else (60, 60, 60), anchor="lm")
            bx += bw + 10
        y += 46
    if tpl.get("cards"):
        cards = tpl["cards"]
        cw = (W - cx - 24 - 16 * (len(cards) - 1)) / len(cards)
        for i, card in enumerate(cards):
            x0 = cx + i * (cw + 16)
            d.rectangle((x0, y, x0 + cw, y + 78), fill=(255, 255, 255), outline=(230, 232, 236))
            r.text((x0 + 16, y + 22), _fill(card[0], ctx, rng), size=13, fill=(110, 110, 110),
                   anchor="lm")
            r.text((x0 + 16, y + 54), _fill(card[1], ctx, rng), size=22, fill=(20, 20, 20),
                   bold=True, anchor="lm")
        y += 96
    if tpl.get("chart"):
        d.rectangle((cx, y, W - 24, y + 150), fill=(255, 255, 255), outline=(230, 232, 236))
        r.text((cx + 16, y + 20), _fill(tpl["chart"], ctx, rng), size=13, fill=(60, 60, 60),
               bold=True, anchor="lm")
        pts = []
        n = 40
        v = rng.uniform(0.3, 0.7)
        for k in range(n):
            v = min(0.95, max(0.05, v + rng.uniform(-0.12, 0.12)))
            pts.append((cx + 30 + k * (W - cx - 84) / (n - 1), y + 140 - v * 100))
        for k in range(4):
            gy = y + 40 + k * 33
            d.line((cx + 30, gy, W - 54, gy), fill=(238, 240, 243))
        d.line(pts, fill=color, width=2)
        y += 166
    cols = tpl.get("columns") or []
    if cols:
        d.rectangle((cx, y, W - 24, H - TASKBAR - 20), fill=(255, 255, 255))
        widths = tpl.get("widths") or [1] * len(cols)
        total = sum(widths)
        span = W - 24 - cx - 32
        xs = [cx + 16]
        for wv in widths:
            xs.append(xs[-1] + span * wv / total)
        d.rectangle((cx, y, W - 24, y + 36), fill=(242, 243, 245))
        for c, name in enumerate(cols):
            r.text((xs[c], y + 18), name, size=13, fill=(90, 90, 90), anchor="lm")
        y += 36
        status_ok = {"运行中", "正常", "在线", "已启用", "使用中", "可用", "已完成", "成功"}
        status_bad = {"告警", "离线", "已停止", "待处理", "异常"}
        for row in tpl.get("rows", []):
            if y + 40 > H - TASKBAR - 50:
                break
            for c, cell in enumerate(row):
                s = _fill(str(cell), ctx, rng)
                fill = (0, 150, 80) if s in status_ok else (215, 60, 40) if s in status_bad else (51, 51, 51)
                if c == 0 and tpl.get("link_first", True):
                    fill = _dark(color, 0.85)
                r.text((xs[c], y + 20), s, size=13, fill=fill, anchor="lm")
            d.line((cx + 8, y + 40, W - 32, y + 40), fill=(236, 237, 240))
            y += 40
        r.text((cx + 16, y + 22), f"共 {len(tpl.get('rows', []))} 条   每页显示 20 条", size=12,
               fill=(140, 140, 140), anchor="lm")
    # ---- desktop taskbar with the capture time (the screenshot's date)
    d.rectangle((0, H - TASKBAR, W, H), fill=(32, 32, 36))
    for k in range(5):
        d.rounded_rectangle((14 + k * 44, H - 31, 36 + k * 44, H - 9), 4,
                            fill=(70 + 20 * k, 90, 130))
    r.text((W - 16, H - 37), captured.strftime("%H:%M"), size=12, fill=(240, 240, 240), anchor="ra")
    r.text((W - 16, H - 20), f"{captured.year}/{captured.month}/{captured.day}", size=12,
           fill=(240, 240, 240), anchor="ra")
    return Screenshot(img, r.lines)
