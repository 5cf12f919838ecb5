"""Draw PNG "step cards" for knowledge-base entries from the entries' own text.

Every entry in ``knowledge/*.yaml`` that declares ``images: [{file: images/<its id>.png}]`` gets
that file drawn: a coloured header with the title, then the numbered ``steps`` (or the answer's
lines when the entry has none), then a footer naming the source. Other image files (real
screenshots, say) are left alone.

Needs Pillow and a CJK font; on Debian/Ubuntu: ``apt-get install fonts-noto-cjk``.

    python tools/draw_step_cards.py [--knowledge DIR] [--font PATH] [--bold-font PATH] [--check]

Drawing is deterministic, so re-running on unchanged entries rewrites identical bytes.
``--check`` draws in memory only and exits 1 if an image is missing or out of date.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from PIL import Image, ImageChops, ImageDraw, ImageFont

ROOT = Path(__file__).resolve().parent.parent
LEARNED_FILE = "learned.yaml"
FONT_PACKAGE = "fonts-noto-cjk"

# (regular, bold) candidates, best first; a .ttc is searched for its Simplified Chinese face.
FONT_CANDIDATES: tuple[tuple[str, str], ...] = (
    (
        "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
        "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc",
    ),
    (
        "/usr/share/fonts/opentype/noto/NotoSansCJKsc-Regular.otf",
        "/usr/share/fonts/opentype/noto/NotoSansCJKsc-Bold.otf",
    ),
    (
        "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
        "/usr/share/fonts/noto-cjk/NotoSansCJK-Bold.ttc",
    ),
    (
        "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
        "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    ),
    (
        "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
        "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    ),
)

# Layout, in pixels.
WIDTH = 1080
MARGIN = 48
TITLE_SIZE = 64
CATEGORY_SIZE = 34
BODY_SIZE = 44
NUMBER_SIZE = 46
FOOTER_SIZE = 30
LINE_PITCH = 1.45  # line height as a multiple of the font size
CIRCLE = 80  # diameter of a step number's circle
BOX_PAD = 28  # padding inside a step box
BOX_GAP = 24  # space between step boxes
RADIUS = 26
BULLET = 14  # side of an answer line's square bullet
STEP_INDENT = BOX_PAD + CIRCLE + BOX_PAD  # text's left edge inside a step box
BULLET_INDENT = BOX_PAD + BULLET + BOX_PAD - 4  # text's left edge inside an answer-line box
LEAD = "lead"  # Block.marker of a lead-in line
BULLET_MARK = "bullet"  # Block.marker of an answer line

# Colours: dark text on white boxes over a light grey-blue page, a deep blue header.
PAGE = (241, 245, 250)
BOX = (255, 255, 255)
BORDER = (200, 213, 230)
HEADER = (21, 88, 168)
HEADER_TEXT = (255, 255, 255)
CATEGORY_TEXT = (214, 230, 250)
ACCENT = (21, 88, 168)
TEXT = (24, 28, 34)
FOOTER_TEXT = (86, 94, 105)
PALETTE_COLOURS = 64

# Line-breaking rules for Chinese: never start a line with a closing mark, never end one with
# an opening mark.
NO_LINE_START = set("，。、；：！？）》」』】〕〉”’…—·,.;:!?)]}%")
NO_LINE_END = set("（《「『【〔〈“‘([{")
NOTICE = "以当地人社部门为准 · 12333"


@dataclass(frozen=True)
class Fonts:
    """The regular and bold faces, opened at every size the card uses."""

    title: ImageFont.FreeTypeFont
    category: ImageFont.FreeTypeFont
    body: ImageFont.FreeTypeFont
    lead: ImageFont.FreeTypeFont
    number: ImageFont.FreeTypeFont
    footer: ImageFont.FreeTypeFont


@dataclass(frozen=True)
class Card:
    """What one card shows, read from a knowledge entry."""

    entry_id: str
    target: Path
    title: str
    category: str
    steps: tuple[str, ...]
    lines: tuple[str, ...]
    source: str


@dataclass(frozen=True)
class Block:
    """One piece of the card's body: a step number, a bullet or a lead-in, and its lines."""

    marker: str
    lines: tuple[str, ...]


# ---------------------------------------------------------------------------------------------
# Reading the knowledge base


def _text(value: Any) -> str:
    if isinstance(value, dt.date):
        return value.isoformat()
    return "" if value is None else str(value).strip()


def _source_line(source: Any) -> str:
    if not isinstance(source, dict):
        return ""
    outlet, date = _text(source.get("outlet")), _text(source.get("date"))
    title = _text(source.get("title")).strip("《》 ")
    named = outlet + (f"《{title}》" if title else "")
    return "来源：" + "，".join(part for part in (named, date) if part)


def _raw_entries(data: Any) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    """Yield (entry, file defaults) from one file's parsed YAML, list or mapping form."""
    defaults: dict[str, Any] = {}
    items = data
    if isinstance(data, dict):
        defaults = {key: data[key] for key in ("source", "category") if key in data}
        items = data.get("entries")
    for item in items if isinstance(items, list) else ():
        if isinstance(item, dict):
            yield item, defaults


def read_cards(knowledge: Path) -> list[Card]:
    """Every entry that declares ``images/<its id>.png``, in file then entry order."""
    cards = []
    for path in sorted(p for p in knowledge.glob("*.yaml") if p.name != LEARNED_FILE):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        for raw, defaults in _raw_entries(data):
            entry = {**defaults, **raw}
            entry_id = _text(entry.get("id"))
            wanted = f"images/{entry_id}.png"
            images = entry.get("images") or []
            files = [_text(i.get("file")) for i in images if isinstance(i, dict)]
            if not entry_id or wanted not in files:
                continue
            steps = tuple(_text(s) for s in entry.get("steps") or [] if _text(s))
            answer = _text(entry.get("answer"))
            cards.append(
                Card(
                    entry_id=entry_id,
                    target=knowledge / wanted,
                    title=_text(entry.get("title")),
                    category=_text(entry.get("category")),
                    steps=steps,
                    lines=tuple(line.strip() for line in answer.splitlines() if line.strip()),
                    source=_source_line(entry.get("source")),
                )
            )
    return cards


# ---------------------------------------------------------------------------------------------
# Fonts


def _open_face(path: str, size: int) -> ImageFont.FreeTypeFont:
    """Open ``path`` at ``size``, taking the Simplified Chinese face of a collection."""
    basic = ImageFont.Layout.BASIC  # same output whether or not libraqm is installed
    first = ImageFont.truetype(path, size, index=0, layout_engine=basic)
    if not path.lower().endswith(".ttc"):
        return first
    for index in range(1, 32):
        try:
            face = ImageFont.truetype(path, size, index=index, layout_engine=basic)
        except OSError:
            break
        family = face.getname()[0] or ""
        if family.endswith(" SC") and "Mono" not in family:
            return face
    return first


def find_fonts(regular: str | None, bold: str | None) -> tuple[str, str]:
    """The (regular, bold) font paths: the ones given, else the first installed candidate."""
    if regular:
        if not Path(regular).is_file():
            sys.exit(f"error: font {regular} does not exist")
        sibling = regular.replace("Regular", "Bold")
        bold = bold or (sibling if Path(sibling).is_file() else regular)
        return regular, bold
    for reg, bld in FONT_CANDIDATES:
        if Path(reg).is_file():
            return reg, bold or (bld if Path(bld).is_file() else reg)
    sys.exit(
        "error: no CJK font found. Install the Debian package with\n"
        f"  apt-get install {FONT_PACKAGE}\n"
        "or pass --font /path/to/a/chinese/font.ttc"
    )


def load_fonts(regular: str, bold: str) -> Fonts:
    """Open the faces at the card's sizes."""
    return Fonts(
        title=_open_face(bold, TITLE_SIZE),
        category=_open_face(regular, CATEGORY_SIZE),
        body=_open_face(regular, BODY_SIZE),
        lead=_open_face(bold, BODY_SIZE),
        number=_open_face(bold, NUMBER_SIZE),
        footer=_open_face(regular, FOOTER_SIZE),
    )


def missing_glyphs(font: ImageFont.FreeTypeFont, text: str) -> list[str]:
    """Characters of ``text`` the font would draw as an empty box (tofu)."""

    def bitmap(ch: str) -> bytes:
        size = int(font.size) * 2
        image = Image.new("L", (size, size))
        ImageDraw.Draw(image).text((0, 0), ch, font=font, fill=255)
        return image.tobytes()

    notdef = bitmap("\U0010fffd")
    return sorted({ch for ch in text if not ch.isspace() and bitmap(ch) == notdef})


# ---------------------------------------------------------------------------------------------
# Layout


def _is_latin(ch: str) -> bool:
    return ch.isascii() and ch.isalnum()


def _tokens(text: str) -> list[str]:
    """Split text into unbreakable pieces: one CJK character, or a run of Latin letters and
    digits, with closing marks glued to the piece before and opening marks to the one after."""
    pieces: list[str] = []
    for ch in text:
        last = pieces[-1][-1] if pieces else ""
        latin_run = _is_latin(ch) and _is_latin(last)
        if pieces and (latin_run or ch in NO_LINE_START or last in NO_LINE_END):
            pieces[-1] += ch
        else:
            pieces.append(ch)
    return pieces


def wrap(text: str, font: ImageFont.FreeTypeFont, width: float) -> list[str]:
    """Break ``text`` into lines no wider than ``width`` as drawn with ``font``, moving a piece
    down when the last line would otherwise hold a lone character."""
    lines: list[list[str]] = []
    line: list[str] = []
    for piece in _tokens(text):
        if line and font.getlength("".join([*line, piece]).strip()) > width:
            lines.append(line)
            line = [piece]
        else:
            line.append(piece)
    if line:
        lines.append(line)
    if len(lines) > 1 and len("".join(lines[-1]).strip()) <= 2 and len(lines[-2]) > 3:
        lines[-1].insert(0, lines[-2].pop())
    return [joined for joined in ("".join(pieces).strip() for pieces in lines) if joined]


def _pitch(size: int) -> int:
    return round(size * LINE_PITCH)


def _draw_lines(
    draw: ImageDraw.ImageDraw,
    xy: tuple[int, int],
    lines: Sequence[str],
    font: ImageFont.FreeTypeFont,
    fill: tuple[int, int, int],
) -> None:
    """Draw lines top-down from ``xy``, each centred vertically in its line pitch."""
    x, y = xy
    pitch = _pitch(int(font.size))
    for number, line in enumerate(lines):
        draw.text((x, y + number * pitch + pitch // 2), line, font=font, fill=fill, anchor="lm")


def _blocks(card: Card, fonts: Fonts, inner: int) -> list[Block]:
    """The body: one boxed block per step (or answer line); a line ending in a colon
    introduces what follows, so it is drawn as a bold lead-in without a box."""
    if card.steps:
        width = inner - STEP_INDENT - BOX_PAD
        return [
            Block(str(n), tuple(wrap(step, fonts.body, width)))
            for n, step in enumerate(card.steps, 1)
        ]
    blocks = []
    for line in card.lines:
        if line.endswith(("：", ":")):
            blocks.append(Block(LEAD, tuple(wrap(line, fonts.lead, inner))))
        else:
            width = inner - BULLET_INDENT - BOX_PAD
            blocks.append(Block(BULLET_MARK, tuple(wrap(line, fonts.body, width))))
    return blocks


def _block_height(block: Block) -> int:
    text_h = len(block.lines) * _pitch(BODY_SIZE)
    if block.marker == LEAD:
        return text_h
    return max(CIRCLE if block.marker != BULLET_MARK else 0, text_h) + 2 * BOX_PAD


def _draw_block(draw: ImageDraw.ImageDraw, block: Block, y: int, fonts: Fonts) -> None:
    """Draw one body block with its top at ``y``."""
    pitch = _pitch(BODY_SIZE)
    if block.marker == LEAD:
        _draw_lines(draw, (MARGIN, y), block.lines, fonts.lead, TEXT)
        return
    box_h = _block_height(block)
    draw.rounded_rectangle(
        (MARGIN, y, WIDTH - MARGIN, y + box_h), RADIUS, fill=BOX, outline=BORDER, width=2
    )
    top = y + (box_h - len(block.lines) * pitch) // 2
    first_mid = top + pitch // 2
    if block.marker == BULLET_MARK:
        x, half = MARGIN + BOX_PAD, BULLET // 2
        draw.rectangle((x, first_mid - half, x + BULLET, first_mid + half), fill=ACCENT)
        _draw_lines(draw, (MARGIN + BULLET_INDENT, top), block.lines, fonts.body, TEXT)
        return
    r = CIRCLE // 2
    cx, cy = MARGIN + BOX_PAD + r, max(first_mid, y + BOX_PAD + r)
    draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=ACCENT)
    draw.text((cx, cy), block.marker, font=fonts.number, fill=HEADER_TEXT, anchor="mm")
    _draw_lines(draw, (MARGIN + STEP_INDENT, top), block.lines, fonts.body, TEXT)


def draw_card(card: Card, fonts: Fonts) -> Image.Image:
    """Draw one card; height grows with the content."""
    inner = WIDTH - 2 * MARGIN
    title_lines = wrap(card.title, fonts.title, inner)
    category_pitch = _pitch(CATEGORY_SIZE) if card.category else 0
    header_h = MARGIN + category_pitch + len(title_lines) * _pitch(TITLE_SIZE) + MARGIN - 8

    blocks = _blocks(card, fonts, inner)
    body_h = sum(_block_height(block) for block in blocks) + BOX_GAP * max(len(blocks) - 1, 0)
    footer_lines = [
        *(wrap(card.source, fonts.footer, inner) if card.source else []),
        *wrap(NOTICE, fonts.footer, inner),
    ]
    footer_h = 24 + len(footer_lines) * _pitch(FOOTER_SIZE)
    height = header_h + MARGIN + body_h + MARGIN + footer_h + MARGIN // 2

    image = Image.new("RGB", (WIDTH, height), PAGE)
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, WIDTH, header_h), fill=HEADER)
    y = MARGIN - 4
    if card.category:
        _draw_lines(draw, (MARGIN, y), [card.category], fonts.category, CATEGORY_TEXT)
        y += category_pitch
    _draw_lines(draw, (MARGIN, y), title_lines, fonts.title, HEADER_TEXT)

    y = header_h + MARGIN
    for block in blocks:
        _draw_block(draw, block, y, fonts)
        y += _block_height(block) + BOX_GAP
    y += MARGIN - BOX_GAP
    draw.line((MARGIN, y, WIDTH - MARGIN, y), fill=BORDER, width=2)
    _draw_lines(draw, (MARGIN, y + 16), footer_lines, fonts.footer, FOOTER_TEXT)
    return image


def encode(image: Image.Image) -> bytes:
    """PNG bytes: palette-quantised and optimised, with no timestamps or other metadata."""
    quantized = image.quantize(
        PALETTE_COLOURS, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE
    )
    buffer = io.BytesIO()
    quantized.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def _same_picture(path: Path, data: bytes) -> bool:
    """Whether the file holds ``data``, or the same pixels encoded differently."""
    old = path.read_bytes()
    if old == data:
        return True
    try:
        with Image.open(path) as a, Image.open(io.BytesIO(data)) as b:
            first, second = a.convert("RGB"), b.convert("RGB")
    except OSError:  # not a readable image
        return False
    return first.size == second.size and ImageChops.difference(first, second).getbbox() is None


# ---------------------------------------------------------------------------------------------
# Command line


def main(argv: Sequence[str] | None = None) -> int:
    """Draw (or with --check, verify) every step card; return the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--knowledge",
        type=Path,
        default=ROOT / "knowledge",
        metavar="DIR",
        help="the knowledge folder (default: knowledge/ of this repository)",
    )
    parser.add_argument("--font", metavar="PATH", help="a CJK font (.ttc/.otf/.ttf)")
    parser.add_argument("--bold-font", metavar="PATH", help="bold face (default: from --font)")
    parser.add_argument(
        "--check", action="store_true", help="exit 1 if any image is missing or out of date"
    )
    args = parser.parse_args(argv)

    fonts = load_fonts(*find_fonts(args.font, args.bold_font))
    cards = read_cards(args.knowledge)
    stale = 0
    for card in cards:
        text = "".join((card.title, card.category, *card.steps, *card.lines, card.source, NOTICE))
        missing = {*missing_glyphs(fonts.body, text), *missing_glyphs(fonts.title, text)}
        if missing:
            lacks = "".join(sorted(missing))
            print(f"error: {card.entry_id}: the font has no glyph for {lacks!r}", file=sys.stderr)
            return 2
        data = encode(draw_card(card, fonts))
        shown = card.target.relative_to(args.knowledge)
        up_to_date = card.target.is_file() and _same_picture(card.target, data)
        if args.check:
            if not up_to_date:
                stale += 1
                print(f"{shown}: {'out of date' if card.target.is_file() else 'missing'}")
            continue
        if up_to_date:  # same pixels: keep the file's bytes so git sees no change
            print(f"{shown}: unchanged")
            continue
        card.target.parent.mkdir(parents=True, exist_ok=True)
        card.target.write_bytes(data)
        print(f"{shown}: drawn ({len(data) // 1024} KB)")
    if args.check:
        print(f"{len(cards) - stale} of {len(cards)} step cards up to date")
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
