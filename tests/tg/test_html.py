"""Telegram's HTML limits: splitting long markup, cutting captions."""

from __future__ import annotations

from bot.tg.html import split_html, truncate_caption
from tests.core.test_render import assert_well_formed


def test_split_html_respects_the_limit_and_tags() -> None:
    markup = "<b>标题</b>\n" + "\n".join(f"第{i}行 &amp; 内容" * 20 for i in range(200))
    parts = split_html(markup, 4096)
    assert len(parts) > 1
    assert all(len(part) <= 4096 for part in parts)
    for part in parts:
        assert_well_formed(part)
    assert "".join(p.replace("\n", "") for p in parts) == markup.replace("\n", "")


def test_split_html_cuts_one_huge_line_outside_entities() -> None:
    line = "&amp;" * 2000
    parts = split_html(line, 4096)
    assert all(len(p) <= 4096 for p in parts)
    assert all(p.count("&") == p.count("&amp;") for p in parts)
    assert "".join(parts) == line


def test_caption_truncation() -> None:
    assert truncate_caption("短") == "短"
    long = truncate_caption("字" * 2000)
    assert len(long) == 1024 and long.endswith("…")
