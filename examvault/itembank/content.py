"""Item content ↔ the bytes that get sealed. Pure."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field


@dataclass
class MediaFile:
    name: str
    mime: str
    data: bytes


@dataclass
class ItemContent:
    stem: str
    options: list[str] = field(default_factory=list)
    answer: str = ""
    analysis: str = ""
    media: list[MediaFile] = field(default_factory=list)


def pack(content: ItemContent) -> dict[str, bytes | None]:
    return {
        "stem": content.stem.encode(),
        "options": json.dumps(content.options, ensure_ascii=False).encode() if content.options else None,
        "answer": content.answer.encode() if content.answer else None,
        "analysis": content.analysis.encode() if content.analysis else None,
        "media": (
            json.dumps(
                [{"name": m.name, "mime": m.mime, "data": base64.b64encode(m.data).decode()} for m in content.media]
            ).encode()
            if content.media
            else None
        ),
    }


def unpack(fields: dict[str, bytes | None]) -> ItemContent:
    def text(name: str) -> str:
        raw = fields.get(name)
        return raw.decode() if raw else ""

    options = fields.get("options")
    media = fields.get("media")
    return ItemContent(
        stem=text("stem"),
        options=json.loads(options) if options else [],
        answer=text("answer"),
        analysis=text("analysis"),
        media=[MediaFile(m["name"], m["mime"], base64.b64decode(m["data"])) for m in json.loads(media)] if media else [],
    )
