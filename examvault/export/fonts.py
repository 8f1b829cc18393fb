"""CJK fonts for PDFs: an OFL font that arrives with `pip install`, or a site font.

The default is Noto Serif SC / Noto Sans SC (SIL OFL 1.1) from the `pylopdf-fonts-zh-cn`
package. They ship as CFF-flavoured OpenType, which reportlab cannot embed, so each
document gets its own subset — only the characters it prints — converted to TrueType
outlines with fontTools (a fraction of a second), which reportlab then embeds; the text
stays extractable. `EXAMVAULT_FONT` (and `EXAMVAULT_FONT_BOLD` for headings) names a
site font instead, e.g. a 宋体 TTF.

A character the font lacks is an error naming it, never a blank box in a printed paper.
"""

from __future__ import annotations

import hashlib
import io
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from examvault.errors import ConfigurationError, ValidationError

_WHITESPACE = set("\t\r\n")  # control characters only: U+3000 (全角空格) must be in the subset


@dataclass(frozen=True)
class FontPair:
    body: str  # reportlab font names, registered
    heading: str


def _packaged(kind: str) -> Path:
    try:
        import pylopdf_fonts_zh_cn as fonts
    except ImportError:  # pragma: no cover - a dependency of examvault
        raise ConfigurationError("the CJK font package pylopdf-fonts-zh-cn is not installed; reinstall examvault or set EXAMVAULT_FONT") from None
    return fonts.serif_path() if kind == "serif" else fonts.sans_path()


def font_paths() -> tuple[Path, Path]:
    """(body, heading) font files: the site's, or the packaged Noto Serif SC / Noto Sans SC."""
    site = os.environ.get("EXAMVAULT_FONT")
    body = Path(site) if site else _packaged("serif")
    bold = os.environ.get("EXAMVAULT_FONT_BOLD")
    heading = Path(bold) if bold else (body if site else _packaged("sans"))
    for path, var in ((body, "EXAMVAULT_FONT"), (heading, "EXAMVAULT_FONT_BOLD")):
        if not path.is_file():
            raise ConfigurationError(f"{var}: font file {path} does not exist")
    return body, heading


def register_fonts(text: str, heading_text: str) -> FontPair:
    """Register subsets covering `text` (body font) and `heading_text` (heading font); return their names.

    Headings print far fewer characters than the items, and subsetting a CJK font costs
    time per glyph, so each font gets only what it prints.
    """
    body, heading = font_paths()

    def chars(s: str) -> str:
        return "".join(sorted(set(s) - _WHITESPACE))

    if heading == body:
        both = chars(text + heading_text)
        name = _register(str(body), both)
        return FontPair(name, name)
    return FontPair(_register(str(body), chars(text)), _register(str(heading), chars(heading_text)))


@lru_cache(maxsize=32)
def _register(path: str, chars: str) -> str:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont as ReportlabFont

    name = "EV" + hashlib.sha256(f"{path}\0{chars}".encode()).hexdigest()[:12]
    data = _subset_truetype(Path(path), chars, name)
    pdfmetrics.registerFont(ReportlabFont(name, io.BytesIO(data)))
    return name


def _subset_truetype(path: Path, chars: str, face_name: str) -> bytes:
    from fontTools import subset
    from fontTools.ttLib import TTFont, TTLibError

    try:
        font = TTFont(str(path), fontNumber=0, lazy=False)
    except (TTLibError, OSError) as exc:
        raise ConfigurationError(f"font {path} cannot be read: {exc}") from None
    cmap = font.getBestCmap() or {}
    missing = [c for c in chars if ord(c) not in cmap]
    if missing:
        shown = " ".join(f"{c} (U+{ord(c):04X})" for c in missing[:20])
        raise ValidationError(f"font {path.name} has no glyph for {len(missing)} character(s) the document prints: {shown}; "
                              "set EXAMVAULT_FONT to a font that has them")  # fmt: skip
    options = subset.Options()
    options.name_IDs = ["*"]
    options.notdef_outline = True
    options.glyph_names = True
    options.layout_features = ["*"]
    subsetter = subset.Subsetter(options)
    subsetter.populate(text=chars)
    subsetter.subset(font)
    if "CFF " in font:
        _cff_to_glyf(font)
    # reportlab keeps one face per internal name for the whole process: each subset needs its own,
    # or a second document would print with the first one's glyphs.
    names = font["name"]
    for name_id in (1, 3, 4, 6):
        names.removeNames(nameID=name_id)
        names.setName(face_name, name_id, 3, 1, 0x409)
        names.setName(face_name, name_id, 1, 0, 0)
    out = io.BytesIO()
    font.save(out)
    return out.getvalue()


def _cff_to_glyf(font: object) -> None:
    """CFF (cubic) outlines → TrueType (quadratic), after fontTools' otf2ttf recipe."""
    from fontTools.pens.cu2quPen import Cu2QuPen
    from fontTools.pens.ttGlyphPen import TTGlyphPen
    from fontTools.ttLib import newTable

    glyph_set = font.getGlyphSet()  # type: ignore[attr-defined]
    order = font.getGlyphOrder()  # type: ignore[attr-defined]
    glyf = newTable("glyf")
    glyf.glyphOrder = order
    glyf.glyphs = {}
    for name in order:
        pen = TTGlyphPen(glyph_set)
        glyph_set[name].draw(Cu2QuPen(pen, max_err=1.0, reverse_direction=True))
        glyf.glyphs[name] = pen.glyph()
    font["glyf"] = glyf  # type: ignore[index]
    font["loca"] = newTable("loca")  # type: ignore[index]
    for tag in ("CFF ", "VORG"):
        if tag in font:  # type: ignore[operator]
            del font[tag]  # type: ignore[attr-defined]
    maxp = newTable("maxp")
    maxp.tableVersion = 0x00010000
    for field in ("maxZones", "maxTwilightPoints", "maxStorage", "maxFunctionDefs", "maxInstructionDefs",
                  "maxStackElements", "maxSizeOfInstructions", "maxComponentElements"):  # fmt: skip
        setattr(maxp, field, 0)
    maxp.maxZones = 1
    maxp.numGlyphs = len(order)
    font["maxp"] = maxp  # type: ignore[index]
    font["head"].indexToLocFormat = 0  # type: ignore[index]
    font["head"].glyphDataFormat = 0  # type: ignore[index]
    post = font["post"]  # type: ignore[index]
    post.formatType = 2.0
    post.extraNames = []
    post.mapping = {}
    font.sfntVersion = "\x00\x01\x00\x00"  # type: ignore[attr-defined]
