"""A few questions against the shipped knowledge base, end to end through the Application."""

from __future__ import annotations

from bot.core.strings_zh import HOTLINE
from tests.conftest import KNOWLEDGE
from tests.tg.conftest import BOT_USERNAME, GROUP_ID, MakeHarness, buttons


async def test_the_shipped_knowledge_base_answers_in_private_and_groups(
    make_harness: MakeHarness,
) -> None:
    harness = await make_harness(KNOWLEDGE)
    entry = harness.faq.kb.by_id["apply-e-card"]
    await harness.say("电子社保卡怎么领")
    answer = harness.request.of("sendMessage")[0]
    assert answer.params["text"].startswith(f"<b>{entry.title}</b>")
    assert "来源：" in answer.params["text"]
    assert len(harness.request.of("sendPhoto")) == len(entry.images) == 1
    assert all(len(data.encode()) <= 64 for _, data in buttons(answer))

    await harness.say(f"/ask@{BOT_USERNAME} 护照怎么办理", chat_id=GROUP_ID)
    assert HOTLINE in harness.request.texts()[-1]


async def test_the_shipped_menu_and_inline_mode(make_harness: MakeHarness) -> None:
    harness = await make_harness(KNOWLEDGE)
    await harness.say("/menu")
    [menu] = harness.request.of("sendMessage")
    assert [label for label, _ in buttons(menu)] == list(harness.faq.kb.categories)
    await harness.inline("")
    [inline] = harness.request.of("answerInlineQuery")
    assert len(inline.params["results"]) == 5
