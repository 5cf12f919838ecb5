"""Small talk: a bare greeting or thanks is no question, and gets a short friendly reply."""

from __future__ import annotations

from enum import StrEnum


class Talk(StrEnum):
    """What a message of small talk says."""

    GREETING = "greeting"
    THANKS = "thanks"


GREETINGS = frozenset(
    [
        "你好",
        "您好",
        "你好啊",
        "您好啊",
        "在吗",
        "在不在",
        "有人吗",
        "哈喽",
        "嗨",
        "早",
        "早上好",
        "上午好",
        "下午好",
        "晚上好",
        "大家好",
        "hi",
        "hello",
        "hey",
        "你好小助手",
        "小助手你好",
    ]
)
THANKS = frozenset(
    [
        "谢谢",
        "谢谢你",
        "谢谢您",
        "多谢",
        "感谢",
        "谢了",
        "好的",
        "好",
        "知道了",
        "明白了",
        "懂了",
        "收到",
        "ok",
        "okay",
        "好的谢谢",
        "好的谢谢你",
        "谢谢啦",
        "太感谢了",
        "非常感谢",
        "辛苦了",
        "thanks",
        "thankyou",
        "thx",
    ]
)


def small_talk(normalized: str) -> Talk | None:
    """What a message says when it is a bare greeting or thanks (in normalised form); else None."""
    said = normalized.replace(" ", "")
    if said in GREETINGS:
        return Talk.GREETING
    if said in THANKS:
        return Talk.THANKS
    return None
