"""Admin commands through the real Application: /stats, /unanswered, /teach and /reload, on
a real SQLite file where figures matter, with storage faults that must not cost any reply."""

from __future__ import annotations

import asyncio
import html
import logging
import random
import re
import shutil
import sqlite3
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.core import strings_zh as zh
from bot.core.knowledge import KnowledgeError, Problem
from bot.core.strings_zh import APOLOGY, HOTLINE
from bot.core.teach import USAGE as TEACH_USAGE
from bot.core.teach import TeachResult, teach_command
from bot.storage.base import QuestionRecord
from bot.storage.stats import MAX_DAYS, MAX_UNANSWERED
from bot.tg import admin, context
from bot.tg.html import MESSAGE_LIMIT
from tests.storage.test_durability import corrupt_pages
from tests.storage.test_sqlite import exclusive_lock
from tests.tg.conftest import (
    ADMIN_ID,
    FIXTURE_KB,
    GROUP_ID,
    USER_ID,
    Harness,
    MakeHarness,
    SqliteBot,
    buttons,
    sqlite_bot,
)

APPLY_TITLE_HTML = "<b>怎样领取电子社保卡 &lt;新&gt; &amp; 快</b>"
LOST_JOB = "丢了工作以后每月能领多少钱"
"""Not answered by the shipped knowledge base; taught to ``unemployment-benefits`` below."""


async def as_admin(harness: Harness, text: str) -> str:
    """Send *text* as the admin in a private chat; every reply, unescaped, one a line."""
    harness.request.clear()
    await harness.say(text, user_id=ADMIN_ID, chat_id=ADMIN_ID)
    return html.unescape("\n".join(harness.request.texts()))


async def ask(harness: Harness, text: str, user_id: int = USER_ID) -> str:
    """A user's question; the first message the bot sent back, as sent (HTML)."""
    harness.request.clear()
    await harness.say(text, user_id=user_id, chat_id=user_id)
    return harness.request.texts()[0]


def button_data(harness: Harness, label: str) -> str:
    """The callback data of the newest button *label* the bot sent."""
    calls = reversed(harness.request.of("sendMessage"))
    return next(data for call in calls for text, data in buttons(call) if text == label)


def query(path: Path, sql: str) -> list[tuple[Any, ...]]:
    connection = sqlite3.connect(path)
    try:
        return list(connection.execute(sql))
    finally:
        connection.close()


@pytest.fixture
def kb_dir(tmp_path: Path) -> Path:
    """A copy of the small fixture knowledge base, free to change."""
    target = tmp_path / "kb"
    shutil.copytree(FIXTURE_KB, target)
    return target


@pytest.fixture
async def bot(tmp_path: Path) -> AsyncIterator[SqliteBot]:
    """The bot on the fixture knowledge base with a fresh SQLite file."""
    async with sqlite_bot(tmp_path / "data" / "bot.sqlite3") as made:
        yield made


# -- /stats ----------------------------------------------------------------------------------


async def test_stats_counts_what_users_asked(bot: SqliteBot) -> None:
    harness = bot.harness
    assert (await ask(harness, "电子社保卡怎么领", user_id=1)).startswith(APPLY_TITLE_HTML)
    await harness.press(button_data(harness, "👍 有用"), user_id=1, chat_id=1)
    await ask(harness, "电子社保卡怎么领", user_id=2)
    await ask(harness, "养老认证怎么弄", user_id=2)
    await harness.press(button_data(harness, "👎 没用"), user_id=2, chat_id=2)
    assert await ask(harness, "社保", user_id=3) == "您是不是想问："
    await harness.press(button_data(harness, "都不是"), user_id=3, chat_id=3)
    await ask(harness, "护照怎么办理", user_id=3)
    assert await ask(harness, "我的手机号13812345678，社保", user_id=4) == "您是不是想问："
    await harness.press(button_data(harness, "电子社保卡能做什么"), user_id=4, chat_id=4)

    reply = await as_admin(harness, "/stats")
    lines = reply.splitlines()
    assert lines[0].startswith("最近 7 天的统计")
    assert lines[1:4] == [
        "提问 6 次，来自 4 位用户。",
        "直接回答 50%（3）· 给出建议 33%（2）· 未能回答 17%（1）",
        "选「都不是」1 次；含个人信息（已隐去）1 次。",
    ]
    assert "1. 怎样领取电子社保卡 <新> & 快：2 次  👍 1 👎 0" in lines
    assert "2. 养老资格认证怎么做：1 次  👍 0 👎 1" in lines
    assert "3. 电子社保卡能做什么：1 次（其中选中 1）  👍 0 👎 0" in lines
    assert lines[lines.index("👎 比 👍 多、值得改进：") + 1] == "• 养老资格认证怎么做"
    assert lines[-1].startswith("最忙的时段（北京时间）：") and lines[-1].endswith(" 6 次")
    [sent] = harness.request.of("sendMessage")
    assert "&lt;新&gt; &amp; 快" in sent.params["text"]  # escaped for parse_mode=HTML
    assert sent.params["parse_mode"] == "HTML"
    await bot.db.flush()
    stored = query(bot.db.file or Path(), "SELECT text FROM questions ORDER BY id")
    assert ("我的手机号[手机号]，社保",) in stored and len(stored) == 6


@pytest.mark.parametrize(("argument", "days"), [("1", 1), ("30", 30), ("３０", 30)])
async def test_stats_takes_a_number_of_days(bot: SqliteBot, argument: str, days: int) -> None:
    await ask(bot.harness, "电子社保卡怎么领")
    reply = await as_admin(bot.harness, f"/stats {argument}")
    assert reply.startswith(f"最近 {days} 天的统计") and "提问 1 次" in reply


@pytest.mark.parametrize("argument", ["abc", "-3", "0", "3651", "7天", "1.5"])
async def test_stats_with_a_bad_number_says_what_is_wrong(harness: Harness, argument: str) -> None:
    reply = await as_admin(harness, f"/stats {argument}")
    assert reply == admin.BAD_DAYS.format(value=argument, maximum=MAX_DAYS)
    assert f"「{argument}」不是有效的天数" in reply and "用法：/stats [天数]" in reply


async def test_stats_with_no_questions_yet(bot: SqliteBot) -> None:
    reply = await as_admin(bot.harness, "/stats")
    assert reply.splitlines()[1] == "这段时间还没有人提问。"


# -- /unanswered -----------------------------------------------------------------------------


async def test_unanswered_groups_similar_questions_newest_first(bot: SqliteBot) -> None:
    harness = bot.harness
    await ask(harness, "护照怎么办理")
    await ask(harness, "医保报销比例是多少")
    await ask(harness, "请问护照怎么办理")
    await ask(harness, "社保")
    await harness.press(button_data(harness, "都不是"))
    await ask(harness, "电子社保卡怎么领")  # answered: never listed

    reply = await as_admin(harness, "/unanswered")
    numbered = [line for line in reply.splitlines() if line[:1].isdigit()]
    assert [line.partition("（")[0] for line in numbered] == [
        "1. 社保",
        "2. 请问护照怎么办理 ×2",
        "3. 医保报销比例是多少",
    ]
    assert numbered[0].endswith("，其中 1 次选了「都不是」）")
    assert "   类似：护照怎么办理" in reply.splitlines()
    assert "电子社保卡怎么领" not in reply
    assert reply.endswith("教我新问法：/teach 问题 => 条目id；撤销上一条：/teach undo")

    shorter = (await as_admin(harness, "/unanswered 1")).splitlines()
    assert [line.partition("（")[0] for line in shorter if line[:1].isdigit()] == ["1. 社保"]


async def test_unanswered_when_everything_was_answered(bot: SqliteBot) -> None:
    await ask(bot.harness, "电子社保卡怎么领")
    assert await as_admin(bot.harness, "/unanswered") == "没有未能回答的问题。"


@pytest.mark.parametrize("argument", ["abc", "0", "51", "-1"])
async def test_unanswered_with_a_bad_number(harness: Harness, argument: str) -> None:
    reply = await as_admin(harness, f"/unanswered {argument}")
    assert reply == admin.BAD_COUNT.format(value=argument, maximum=MAX_UNANSWERED)


async def test_a_long_list_is_split_into_messages_telegram_accepts(harness: Harness) -> None:
    chars = random.Random(4).sample([chr(c) for c in range(0x4E00, 0x9FA5)], 3000)
    questions = ["".join(chars[i * 57 : i * 57 + 57]) + "<&>" for i in range(MAX_UNANSWERED)]
    for text in questions:
        await harness.storage.log_question(
            QuestionRecord("private", USER_ID, text, text, "fallback", None, 0.1)
        )
    harness.request.clear()
    await harness.say(f"/unanswered {MAX_UNANSWERED}", user_id=ADMIN_ID, chat_id=ADMIN_ID)
    parts = harness.request.texts()
    assert len(parts) >= 2
    assert all(len(part) <= MESSAGE_LIMIT for part in parts)
    shown = html.unescape("\n".join(parts))
    assert all(text in shown for text in questions)
    assert f"{MAX_UNANSWERED}. " in shown and "&lt;&amp;&gt;" in parts[0]


# -- /teach ----------------------------------------------------------------------------------


async def test_teach_round_trip_on_the_shipped_knowledge(kb_copy: Path, tmp_path: Path) -> None:
    database = tmp_path / "bot.sqlite3"
    async with sqlite_bot(database, kb_copy) as bot:
        harness = bot.harness
        title = harness.faq.kb.by_id["unemployment-benefits"].title
        assert HOTLINE in await ask(harness, LOST_JOB)  # not answered yet
        assert LOST_JOB in await as_admin(harness, "/unanswered")

        reply = await as_admin(harness, f"/teach {LOST_JOB} => unemployment-benefits")
        assert reply.splitlines() == [
            f"学会了：「{LOST_JOB}」→「{title}」（unemployment-benefits）。撤销请发 /teach undo。",
            zh.TAUGHT,
        ]
        learned = yaml.safe_load((kb_copy / "learned.yaml").read_text("utf-8"))["learned"]
        assert [(item["question"], item["id"]) for item in learned] == [
            (LOST_JOB, "unemployment-benefits")
        ]
        assert (await ask(harness, LOST_JOB)).startswith(f"<b>{html.escape(title)}</b>")

        reply = await as_admin(harness, "/teach undo")
        assert reply.splitlines()[0] == f"已撤销：「{LOST_JOB}」→ unemployment-benefits。"
        assert yaml.safe_load((kb_copy / "learned.yaml").read_text("utf-8")) == {"learned": []}
        assert HOTLINE in await ask(harness, LOST_JOB)  # back to not answering
        assert "没有可撤销" in await as_admin(harness, "/teach undo")
    actions = query(database, "SELECT admin_id, action, detail FROM admin_actions ORDER BY id")
    assert actions[:2] == [
        (ADMIN_ID, "teach", f"{LOST_JOB} => unemployment-benefits"),
        (ADMIN_ID, "teach undo", f"{LOST_JOB} => unemployment-benefits"),
    ]
    assert actions[2][1:] == ("teach undo", "failed: 还没有教过的问法，没有可撤销的。")


async def test_teach_with_a_bad_entry_id_names_the_ids(
    make_harness: MakeHarness, kb_copy: Path
) -> None:
    harness = await make_harness(kb_copy)
    kb = harness.faq.kb
    reply = await as_admin(harness, f"/teach {LOST_JOB} => unemployment-benefit")
    assert reply == "没有 id 为「unemployment-benefit」的条目。相近的有：unemployment-benefits。"

    reply = await as_admin(harness, f"/teach {LOST_JOB} => xyzzy")
    assert reply.startswith("没有 id 为「xyzzy」的条目。现有的条目 id：")
    assert all(entry_id in reply for entry_id in kb.by_id)

    assert not (kb_copy / "learned.yaml").exists()
    assert harness.faq.kb is kb  # nothing reloaded
    assert [a.detail.startswith("failed: 没有 id") for a in harness.storage.admin_actions] == [
        True,
        True,
    ]


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("/teach", TEACH_USAGE),
        (f"/teach {LOST_JOB}", "缺少 => 。\n" + TEACH_USAGE),
        (f"/teach {LOST_JOB} =>", "=> 后面要写条目 id。\n" + TEACH_USAGE),
        ("/teach 问法 => Bad_Id", "「bad_id」不是条目 id（小写字母、数字和 -）。\n" + TEACH_USAGE),
    ],
)
async def test_teach_usage_mistakes_show_the_usage(
    make_harness: MakeHarness, kb_dir: Path, command: str, expected: str
) -> None:
    harness = await make_harness(kb_dir)
    assert await as_admin(harness, command) == expected
    assert not (kb_dir / "learned.yaml").exists()


async def test_teach_replies_are_escaped(make_harness: MakeHarness, kb_dir: Path) -> None:
    harness = await make_harness(kb_dir)
    harness.request.clear()
    await harness.say("/teach 问法 => <b>x</b>", user_id=ADMIN_ID, chat_id=ADMIN_ID)
    [text] = harness.request.texts()
    assert text.startswith("「&lt;b&gt;x&lt;/b&gt;」不是条目 id")


async def test_teach_that_cannot_be_loaded_says_so(
    make_harness: MakeHarness, kb_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    harness = await make_harness(kb_dir)

    def broken() -> object:
        raise KnowledgeError([Problem("lexicon/synonyms.yaml", 3, "not a mapping")])

    monkeypatch.setattr(harness.faq, "prepare", broken)
    reply = await as_admin(harness, "/teach 护照怎么办理 => apply-e-card")
    assert reply.startswith("学会了：「护照怎么办理」")
    assert reply.endswith(
        "\n\n⚠️ learned.yaml 已经改好，但知识库没能重新加载，新问法还没生效。"
        "发 /reload 可以看到问题所在。"
    )
    [action] = harness.storage.admin_actions
    assert action.detail.startswith("护照怎么办理 => apply-e-card\nreload failed: 1 problem")


async def test_teach_runs_in_a_thread_without_blocking_answers(
    make_harness: MakeHarness, kb_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    harness = await make_harness(kb_dir)

    released = threading.Event()

    def held_teach(knowledge: Path, text: str) -> TeachResult:
        released.wait(10)  # until the user below has been answered
        return teach_command(knowledge, text)

    monkeypatch.setattr("bot.tg.admin.teach_command", held_teach)
    message = harness.message(
        "/teach 护照怎么办 => apply-e-card", user_id=ADMIN_ID, chat_id=ADMIN_ID
    )
    teaching = asyncio.create_task(harness.feed("message", message))
    await asyncio.sleep(0.05)
    try:  # a teach that blocked answers would hold this until the timeout
        await asyncio.wait_for(harness.say("电子社保卡怎么领"), 5)
    finally:
        released.set()
    await teaching
    texts = harness.request.texts()
    assert texts[0].startswith(APPLY_TITLE_HTML) and texts[-1].startswith("学会了")


# -- who may use them ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "command",
    [
        "/stats",
        "/stats 30",
        "/unanswered",
        "/teach 护照怎么办 => apply-e-card",
        "/teach undo",
        "/reload",
    ],
)
async def test_everyone_else_is_refused_and_logged(
    make_harness: MakeHarness, kb_dir: Path, caplog: pytest.LogCaptureFixture, command: str
) -> None:
    harness = await make_harness(kb_dir)
    kb = harness.faq.kb
    with caplog.at_level(logging.WARNING, logger="bot.tg.admin"):
        await harness.say(command, user_id=USER_ID)
    assert harness.request.texts() == [zh.ADMIN_ONLY]
    name = command.split()[0]
    assert any(f"Refused {name} from user {USER_ID}" in r.getMessage() for r in caplog.records), (
        caplog.text
    )
    assert harness.storage.admin_actions == []
    assert not (kb_dir / "learned.yaml").exists()
    assert harness.faq.kb is kb


async def test_refused_commands_are_logged_without_flooding_the_log(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG, logger="bot.tg.admin"):
        for _ in range(50):
            await harness.say("/stats", user_id=USER_ID, chat_id=USER_ID)
        for user in range(5000, 5020):
            await harness.say("/teach 问题 => x", user_id=user, chat_id=user)
    assert harness.request.texts() == [zh.ADMIN_ONLY] * 70  # everyone is still told
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == context.REFUSALS_LOGGED_PER_MINUTE
    assert sum(f"from user {USER_ID} " in line for line in warnings) == 1
    assert "49 more refused since the last such line" in warnings[1]
    assert len([r for r in caplog.records if r.levelno == logging.DEBUG]) == 60


async def test_unreadable_figures_are_not_reported_as_nobody_asking(tmp_path: Path) -> None:
    database = tmp_path / "bot.sqlite3"
    async with sqlite_bot(database) as bot:
        harness = bot.harness
        for number in range(20):
            await ask(harness, f"护照怎么办理{number}" * 10)
        await bot.db.flush()
        corrupt_pages(database)
        reply = await as_admin(harness, "/stats")
        assert "还没有人提问" not in reply and "读不出来（corrupt）" in reply
        assert await as_admin(harness, "/unanswered") == zh.UNREADABLE.format(what="未回答的问题")


async def test_admins_are_asked_to_use_a_private_chat(harness: Harness) -> None:
    message = await harness.say("/unanswered@esscard_test_bot", user_id=ADMIN_ID, chat_id=GROUP_ID)
    [reply] = harness.request.of("sendMessage")
    assert reply.params["text"] == zh.PRIVATE_ONLY
    assert reply.params["reply_parameters"]["message_id"] == message["message_id"]


# -- storage faults: users are answered, admins told -----------------------------------------


async def test_read_only_database(tmp_path: Path) -> None:
    database = tmp_path / "bot.sqlite3"
    async with sqlite_bot(database) as bot:
        await ask(bot.harness, "护照怎么办理")
    async with sqlite_bot(f"file:{database}?mode=ro") as bot:
        harness = bot.harness
        assert (await ask(harness, "电子社保卡怎么领")).startswith(APPLY_TITLE_HTML)
        await harness.press(button_data(harness, "👍 有用"))
        [thanks] = harness.request.of("answerCallbackQuery")
        assert thanks.params["text"] == "谢谢您的反馈！"
        await bot.db.flush()
        reply = await as_admin(harness, "/stats")
        assert "提问 1 次" in reply  # what was saved before; new questions could not be
        assert "⚠️ 本次运行以来的存储错误：" in reply and "read-only" in reply
        assert "护照怎么办理" in await as_admin(harness, "/unanswered")
    assert query(database, "SELECT text FROM questions") == [("护照怎么办理",)]


async def test_locked_database(tmp_path: Path) -> None:
    database = tmp_path / "bot.sqlite3"
    async with sqlite_bot(database) as bot:
        harness = bot.harness
        with exclusive_lock(database):
            # Far below the 5 s busy timeout: the reply never waits for the locked file.
            reply = await asyncio.wait_for(ask(harness, "电子社保卡怎么领"), 2.5)
            assert reply.startswith(APPLY_TITLE_HTML)
            await bot.db.flush()
            reply = await as_admin(harness, "/stats")  # the lock keeps readers out too
            assert "还没有人提问" not in reply  # unreadable is not "nobody asked"
            assert "读不出来（locked）" in reply
            assert "2 条记录正在等待重试" in reply  # the question and its picture's file_id
        assert (await ask(harness, "养老认证怎么弄")).startswith("<b>养老资格认证怎么做</b>")
        await bot.db.close()  # the question asked while locked gets its last try
        assert query(database, "SELECT count(*) FROM questions") == [(2,)]


async def test_database_folder_that_cannot_be_created(tmp_path: Path, kb_dir: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    database = blocker / "bot.sqlite3"
    async with sqlite_bot(database, kb_dir) as bot:
        harness = bot.harness
        assert not bot.db.available
        assert (await ask(harness, "电子社保卡怎么领")).startswith(APPLY_TITLE_HTML)
        assert HOTLINE in await ask(harness, "护照怎么办理")
        await harness.press("e:e-card-uses")
        assert harness.request.texts()[-1].startswith("<b>电子社保卡能做什么</b>")
        assert await as_admin(harness, "/stats") == zh.STORAGE_DOWN.format(
            database=database, what="统计"
        )
        assert await as_admin(harness, "/unanswered") == zh.STORAGE_DOWN.format(
            database=database, what="未回答的问题"
        )
        reply = await as_admin(harness, "/teach 护照怎么办理 => apply-e-card")
        assert reply.startswith("学会了")  # the knowledge base does not need the database
        assert (await ask(harness, "护照怎么办理")).startswith(APPLY_TITLE_HTML)
        assert APOLOGY not in harness.request.texts()


async def test_a_failing_read_is_explained(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(*args: object, **kwargs: object) -> object:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(harness.storage, "stats", broken)
    monkeypatch.setattr(harness.storage, "unanswered", broken)
    expected = zh.STORAGE_ERROR.format(what="统计", error="RuntimeError")
    assert await as_admin(harness, "/stats") == expected
    expected = zh.STORAGE_ERROR.format(what="未回答的问题", error="RuntimeError")
    assert await as_admin(harness, "/unanswered") == expected


# -- admin /reload ---------------------------------------------------------------------------


async def test_reload_by_an_admin_swaps_in_the_new_knowledge(
    make_harness: MakeHarness, kb_dir: Path
) -> None:
    harness = await make_harness(kb_dir)
    path = kb_dir / "cards.yaml"
    path.write_text(
        path.read_text("utf-8").replace("title: 电子社保卡能做什么", "title: 电子社保卡的用处"),
        "utf-8",
    )
    await harness.say("/reload", user_id=ADMIN_ID, chat_id=ADMIN_ID)
    [reply] = harness.request.texts()
    assert reply.splitlines() == [
        "Knowledge base reloaded: 3 entries, 27 phrasings.",
        "Added: none",
        "Removed: none",
        "Changed: e-card-uses",
    ]
    assert harness.faq.kb.by_id["e-card-uses"].title == "电子社保卡的用处"
    [action] = harness.storage.admin_actions
    assert (action.admin_id, action.action) == (ADMIN_ID, "reload")
    assert "e-card-uses" in action.detail


async def test_failed_reload_lists_every_error_and_keeps_the_old_knowledge(
    make_harness: MakeHarness, kb_dir: Path
) -> None:
    harness = await make_harness(kb_dir)
    path = kb_dir / "cards.yaml"
    text = path.read_text("utf-8")
    text = text.replace("  - id: e-card-uses", "  - id: Bad_Id").replace(
        "related: [apply-e-card]", "related: [nowhere]"
    )
    path.write_text(text, "utf-8")
    await harness.say("/reload", user_id=ADMIN_ID, chat_id=ADMIN_ID)
    [reply] = harness.request.texts()
    problems = [line for line in reply.splitlines() if line.startswith(str(path))]
    assert len(problems) >= 2, reply
    assert all(line.split(":")[1].isdigit() for line in problems)
    assert reply.startswith(
        f"The knowledge base has {len(problems)} problem(s); nothing was loaded and the "
        "previous version is still in use:\n"
    )
    assert not re.search(r"[\u3000-\u9fff\uff00-\uffef]", reply), "one language: no Chinese"
    assert "e-card-uses" in harness.faq.kb.by_id  # the old knowledge base still serves
    await harness.say("电子社保卡有什么用")
    assert harness.request.texts()[-1].startswith("<b>电子社保卡能做什么</b>")
    assert harness.storage.admin_actions[0].detail.startswith("failed")


async def test_reload_runs_in_a_thread_without_blocking_answers(
    make_harness: MakeHarness, kb_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    harness = await make_harness(kb_dir)
    prepare = harness.faq.prepare

    released = threading.Event()

    def held_prepare() -> object:
        released.wait(10)  # until the user below has been answered
        return prepare()

    monkeypatch.setattr(harness.faq, "prepare", held_prepare)
    admin = harness.message("/reload", user_id=ADMIN_ID, chat_id=ADMIN_ID)
    reloading = asyncio.create_task(harness.feed("message", admin))
    await asyncio.sleep(0.05)
    try:  # a reload that blocked answers would hold this until the timeout
        await asyncio.wait_for(harness.say("电子社保卡怎么领"), 5)
    finally:
        released.set()
    await reloading
    texts = harness.request.texts()
    assert texts[0].startswith(APPLY_TITLE_HTML) and "reloaded" in texts[-1]


async def test_a_reload_that_takes_too_long_is_abandoned_and_the_old_knowledge_stays(
    make_harness: MakeHarness, kb_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    harness = await make_harness(kb_dir)
    path = kb_dir / "cards.yaml"
    path.write_text(
        path.read_text("utf-8").replace("title: 电子社保卡能做什么", "title: 电子社保卡的用处"),
        "utf-8",
    )
    monkeypatch.setattr(admin, "RELOAD_SECONDS", 0.2)
    prepare = harness.faq.prepare
    released = threading.Event()

    def stuck_prepare() -> object:
        released.wait(10)  # as a hostile file would, before the limits on YAML
        return prepare()

    monkeypatch.setattr(harness.faq, "prepare", stuck_prepare)
    try:
        reply = await as_admin(harness, "/reload")
        assert "was abandoned; the previous version is still in use" in reply
        assert await as_admin(harness, "/reload") == admin.RELOAD_BUSY  # no second thread
    finally:
        released.set()
    work = harness.app.bot_data["runtime"].reloading
    await work  # the abandoned reload finishes in its thread...
    assert harness.faq.kb.by_id["e-card-uses"].title == "电子社保卡能做什么"  # ...unused
    assert [action.detail for action in harness.storage.admin_actions] == [
        "failed: took too long",
        "failed: the previous reload is still running",
    ]
    monkeypatch.setattr(harness.faq, "prepare", prepare)
    assert "Changed: e-card-uses" in await as_admin(harness, "/reload")
    assert harness.faq.kb.by_id["e-card-uses"].title == "电子社保卡的用处"
