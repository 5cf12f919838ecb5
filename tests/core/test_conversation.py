"""Follow-up questions read against a conversation's last answered topic."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from bot.core.conversation import CONTEXT_SECONDS, MAX_FOLLOW_UP_WORDS, Conversations
from bot.core.decision import Kind
from bot.core.dialogues import Said, evaluate_dialogues, format_dialogue_report, load_dialogues
from bot.core.faq import Faq
from bot.core.knowledge import Entry
from bot.core.render import render_turn
from bot.core.service import Answering, Incoming
from bot.core.strings_zh import ASSUMED_TEXT
from tests.conftest import DATA, KNOWLEDGE, SOURCE, entry_yaml
from tests.question_sets import DIALOGUE_HOLDOUT, DIALOGUES, DIALOGUES_FROM_ANSWERS, header

FOLLOW_UP_BAR = float(header(DIALOGUES)["bar"]["follow_ups"])
"""From the dialogue file's header, where its bar_note says why it is below issue 15's 85%."""
GJJ_BARS = {"extension": 0.74, "fresh": 0.67}
"""The housing-fund dialogue check (26 follow-ups): 76.9% and 69.2% measured, less 2 points."""


class Clock:
    """A clock that moves only when told."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def entry_of(entry: Entry | None) -> str | None:
    return entry.id if entry else None


@pytest.fixture
def admin_kb(write_kb: Callable[..., Path]) -> Path:
    """Housing-fund entries as an admin would add them, with the shipped lexicon."""
    entries = [
        entry_yaml(
            "fund-withdraw",
            title="怎样提取住房公积金",
            category="住房公积金",
            questions=[
                "公积金怎么提取",
                "住房公积金提取流程",
                "怎么把公积金取出来",
                "提取公积金要什么材料",
                "公积金提取在哪里办",
                "公积金能取吗",
                "怎么取公积金",
                "公积金取出来",
            ],
        ),
        entry_yaml(
            "fund-loan",
            title="住房公积金贷款怎么申请",
            category="住房公积金",
            questions=[
                "公积金贷款怎么办",
                "公积金贷款额度",
                "用公积金贷款买房",
                "公积金贷款要什么条件",
                "公积金贷款流程",
                "公积金能贷款吗",
                "公积金贷款怎么申请",
                "申请公积金贷款",
            ],
        ),
    ]
    folder = write_kb({"fund.yaml": SOURCE + "entries:\n" + "".join(entries)})
    shutil.copytree(KNOWLEDGE / "lexicon", folder / "lexicon")
    return folder


def test_a_follow_up_naming_only_an_aspect_is_read_against_the_last_topic(faq: Faq) -> None:
    conversations = Conversations(faq)
    assert faq.ask("在哪办").kind is not Kind.ANSWER
    first = conversations.ask("chat", "养老认证怎么做")
    assert not first.used_context and entry_of(first.decision.entry) == "pension-verification"
    turn = conversations.ask("chat", "在哪办")
    assert turn.used_context and turn.decision.kind is Kind.ANSWER
    assert entry_of(turn.decision.entry) == "pension-verification"
    assert turn.assumed is not None and turn.assumed.id == "pension-verification"
    assert turn.decision.question == "在哪办"
    # The same words after another topic follow that topic.
    conversations.ask("chat", "失业金怎么领")
    assert entry_of(conversations.ask("chat", "在哪办").decision.entry) == "unemployment-benefits"


def test_a_follow_up_may_move_to_another_entry_of_the_topic(faq: Faq) -> None:
    conversations = Conversations(faq)
    conversations.ask(1, "电子社保卡怎么申请")
    turn = conversations.ask(1, "那它还能干啥")
    assert turn.used_context and entry_of(turn.decision.entry) == "e-card-services"
    assert conversations.last(1) == turn.decision.entry  # the topic moves on with the answer


def test_a_modifier_of_the_last_topic_names_a_new_one(faq: Faq) -> None:
    conversations = Conversations(faq)
    conversations.ask(1, "电子社保卡怎么申请")
    turn = conversations.ask(1, "那第三代的呢")  # 第三代 + 社保卡, asked as before
    assert turn.used_context and entry_of(turn.decision.entry) == "sync-application"
    conversations.ask(2, "第三代社保卡怎么领")
    turn = conversations.ask(2, "电子的呢")
    assert turn.used_context and entry_of(turn.decision.entry) == "apply-e-card"


@pytest.mark.parametrize("question", ["公积金怎么取", "今天天气怎么样", "要钱吗", "我想买房子"])
def test_an_unrelated_or_uncovered_follow_up_is_still_refused(faq: Faq, question: str) -> None:
    conversations = Conversations(faq)
    conversations.ask(1, "电子社保卡怎么领")
    turn = conversations.ask(1, question)
    assert turn.decision.kind is not Kind.ANSWER and not turn.used_context


def test_a_message_whose_words_do_not_tell_its_answer_from_the_topic_follows_the_topic(
    faq: Faq,
) -> None:
    alone = faq.ask("手机上能办吗")  # 线上 + 办: as true of several entries as of its answer
    assert alone.kind is Kind.ANSWER and entry_of(alone.entry) != "pension-verification"
    conversations = Conversations(faq)
    conversations.ask(1, "领养老金要认证吗")
    turn = conversations.ask(1, "手机上能办吗")
    assert turn.used_context and entry_of(turn.decision.entry) == "pension-verification"
    assert alone.entry in turn.alternatives  # the answer it has alone is one press away
    assert entry_of(conversations.last(1)) == "pension-verification"


def test_a_message_naming_its_answers_own_topic_is_answered_as_alone(faq: Faq) -> None:
    conversations = Conversations(faq)
    conversations.ask(1, "老人领养老金怎么认证")
    question = "还没领电子社保卡咋整"  # 电子社保卡: the title topic of apply-e-card
    turn = conversations.ask(1, question)
    assert not turn.used_context and turn.decision == faq.ask(question)
    assert entry_of(turn.decision.entry) == "apply-e-card"


def test_an_answer_leaving_the_topic_on_words_that_do_not_name_it_is_only_offered(
    faq: Faq,
) -> None:
    question = "手机上能查吗"  # alone: querying and paying; nothing in it the e-card lacks
    alone = faq.ask(question)
    assert alone.kind is Kind.ANSWER and entry_of(alone.entry) == "query-and-payment"
    conversations = Conversations(faq)
    conversations.ask(1, "电子社保卡怎么领")
    turn = conversations.ask(1, question)
    assert turn.decision.kind is Kind.SUGGEST and turn.decision.suggestions == (alone.entry,)
    assert entry_of(conversations.last(1)) == "apply-e-card"  # the topic stays
    # Without a topic, the same message is answered as alone; a message saying what the
    # topic does not (技能提升补贴) is a new question, answered as alone too.
    assert conversations.ask(2, question).decision == alone
    conversations.ask(3, "电子社保卡怎么领")
    turn = conversations.ask(3, "技能提升补贴咋领")
    assert not turn.used_context and turn.decision == faq.ask("技能提升补贴咋领")
    assert entry_of(turn.decision.entry) == "unemployment-benefits"


def test_a_follow_up_to_something_no_entry_covers_is_not_answered(faq: Faq) -> None:
    assert faq.ask("手机上能办吗").kind is Kind.ANSWER
    conversations = Conversations(faq)
    assert conversations.ask(1, "驾照怎么换证").decision.kind is not Kind.ANSWER
    assert conversations.last(1) is None
    turn = conversations.ask(1, "手机上能办吗")  # still about the driving licence
    assert turn.decision.kind is not Kind.ANSWER and not turn.used_context
    turn = conversations.ask(1, "电子社保卡怎么领")  # a question of its own
    assert entry_of(turn.decision.entry) == "apply-e-card"


def test_a_follow_up_asking_what_the_answer_says_it_does_not_know_is_not_answered(
    faq: Faq,
) -> None:
    """The unemployment answer says "谁能领、能领多少、领多久，文章没有讲"."""
    conversations = Conversations(faq)
    conversations.ask(1, "失业金怎么领")
    turn = conversations.ask(1, "能领多少")
    assert turn.decision.kind is not Kind.ANSWER and not turn.used_context
    conversations.ask(2, "失业金怎么领")
    assert entry_of(conversations.ask(2, "能查进度吗").decision.entry) == ("unemployment-benefits")


def test_a_long_message_is_read_only_on_its_own(faq: Faq) -> None:
    conversations = Conversations(faq)
    conversations.ask(1, "养老认证怎么做")
    story = "那个 这个 在哪办 在哪里办 哪里办 去哪办 去哪里办 哪儿办 在哪儿办 到哪办 到哪里办"
    assert len(faq.ask(story).analysis.tokens) > MAX_FOLLOW_UP_WORDS
    turn = conversations.ask(1, story)
    assert not turn.used_context and turn.decision == faq.ask(story)


def test_a_message_answered_alone_is_answered_as_alone(faq: Faq) -> None:
    conversations = Conversations(faq)
    conversations.ask(1, "养老认证怎么做")
    turn = conversations.ask(1, "电子社保卡怎么领")
    assert not turn.used_context and turn.decision == faq.ask("电子社保卡怎么领")
    assert entry_of(conversations.last(1)) == "apply-e-card"


def test_a_new_topic_that_is_not_answered_ends_the_old_one(faq: Faq) -> None:
    conversations = Conversations(faq)
    conversations.ask(1, "电子社保卡怎么领")
    conversations.ask(1, "公积金怎么取")
    assert conversations.last(1) is None
    assert conversations.ask(1, "在哪办").decision.kind is not Kind.ANSWER


def test_thanks_in_between_keeps_the_topic(faq: Faq) -> None:
    conversations = Conversations(faq)
    conversations.ask(1, "养老认证怎么做")
    conversations.ask(1, "谢谢")
    assert entry_of(conversations.ask(1, "在哪办").decision.entry) == "pension-verification"


def test_conversations_are_separate(faq: Faq) -> None:
    conversations = Conversations(faq)
    conversations.ask(("group", 1), "养老认证怎么做")
    assert conversations.ask(("group", 2), "在哪办").decision.kind is not Kind.ANSWER
    assert conversations.ask(("group", 1), "在哪办").used_context


def test_the_topic_expires(faq: Faq) -> None:
    clock = Clock()
    conversations = Conversations(faq, clock=clock)
    conversations.ask(1, "养老认证怎么做")
    clock.now += CONTEXT_SECONDS - 1
    assert conversations.last(1) is not None
    clock.now += 2
    assert conversations.last(1) is None and len(conversations) == 0
    assert conversations.ask(1, "在哪办").decision.kind is not Kind.ANSWER


def test_the_memory_is_bounded_least_recent_first(faq: Faq) -> None:
    conversations = Conversations(faq, capacity=2)
    for key in (1, 2, 3):
        conversations.remember(key, faq.kb.by_id["apply-e-card"])
    assert len(conversations) == 2
    assert conversations.last(1) is None and conversations.last(3) is not None


def test_the_memory_keeps_no_personal_data(faq: Faq) -> None:
    conversations = Conversations(faq)
    answering = Answering(faq, conversations)  # the use case redacts before anything is kept
    answering.ask(Incoming("电子社保卡怎么领，我身份证号110101199003074518", conversation=1))
    kept = repr(conversations._memory)
    assert "110101199003074518" not in kept and "apply-e-card" in kept


def test_a_topic_removed_by_a_reload_is_forgotten_without_harm(admin_kb: Path) -> None:
    faq = Faq(admin_kb)
    conversations = Conversations(faq)
    conversations.ask(1, "公积金怎么提取")
    conversations.ask(2, "公积金贷款怎么办")
    assert entry_of(conversations.last(2)) == "fund-loan"
    assert conversations.ask(1, "在哪里办").used_context
    path = admin_kb / "fund.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("id: fund-loan", "id: fund-credit"), "utf-8")
    faq.reload()
    assert entry_of(conversations.last(1)) == "fund-withdraw"
    assert conversations.last(2) is None
    assert not conversations.ask(2, "去哪办").used_context


def test_the_reply_says_which_topic_it_assumed_and_offers_the_others(faq: Faq) -> None:
    conversations = Conversations(faq)
    conversations.ask(1, "电子社保卡怎么申请")
    turn = conversations.ask(1, "在哪办")
    reply = render_turn(turn, faq.kb)
    note = ASSUMED_TEXT.format(title="怎样领取电子社保卡")
    assert reply.text.startswith(note + "\n怎样领取电子社保卡")
    assert reply.html.startswith(note)
    offered = [row[0].value for row in reply.buttons if row[0].action == "entry"]
    assert offered == [entry.id for entry in turn.alternatives] and offered
    assert "apply-e-card" not in offered
    assert all(entry.title in reply.text for entry in turn.alternatives)
    # Without context, the same entry renders exactly as before.
    alone = conversations.ask(2, "电子社保卡怎么申请")
    assert not render_turn(alone, faq.kb).text.startswith(note)


def test_an_admins_own_entries_follow_up_too(admin_kb: Path) -> None:
    """Topics the shipped KB never had, written the way an admin writes them."""
    faq = Faq(admin_kb)
    conversations = Conversations(faq)
    for question in ("在哪里办", "去哪办"):
        assert faq.ask(question).kind is not Kind.ANSWER
        conversations.ask(1, "公积金怎么提取")
        turn = conversations.ask(1, question)
        assert turn.used_context and entry_of(turn.decision.entry) == "fund-withdraw"
    assert not conversations.ask(1, "今天天气怎么样").used_context


@pytest.mark.parametrize("scenario", sorted(GJJ_BARS))
def test_follow_ups_on_a_new_topic_knowledge_base(
    scenario: str, tmp_path: Path, kb_copy: Path
) -> None:
    """The housing-fund benchmark's entries, with the shipped ones or alone: follow-ups
    written for them (an id the knowledge base lacks means: refuse)."""
    folder = kb_copy if scenario == "extension" else tmp_path / "fresh"
    folder.mkdir(exist_ok=True)
    for file in (DATA / "topics" / "gjj" / "knowledge").glob("*.yaml"):
        shutil.copy(file, folder / file.name)
    (folder / "learned.yaml").unlink(missing_ok=True)
    faq = Faq(folder)
    dialogues = [
        [Said(s.question, s.expect if s.expect in faq.kb.by_id else None) for s in dialogue]
        for dialogue in load_dialogues(DATA / "topics" / "gjj" / "dialogues.yaml")
    ]
    report = evaluate_dialogues(faq, dialogues)
    assert report.follow_ups == 26
    assert report.rate >= GJJ_BARS[scenario], format_dialogue_report(report)
    assert report.right > report.right_alone


def test_follow_up_accuracy_on_the_independent_dialogue_set(faq: Faq) -> None:
    report = evaluate_dialogues(faq, load_dialogues(DIALOGUES))
    assert report.follow_ups == 87
    assert report.rate >= FOLLOW_UP_BAR
    assert report.right > report.right_alone  # the context helps, and costs nothing overall


def test_follow_up_accuracy_on_dialogues_written_from_the_answers(faq: Faq) -> None:
    report = evaluate_dialogues(faq, load_dialogues(DIALOGUES_FROM_ANSWERS))
    bar = float(header(DIALOGUES_FROM_ANSWERS)["bar"]["follow_ups"])
    assert report.follow_ups == 80
    assert report.rate >= bar, format_dialogue_report(report)
    assert report.right > report.right_alone


def test_follow_up_accuracy_on_the_frozen_dialogue_holdout(faq: Faq) -> None:
    report = evaluate_dialogues(faq, load_dialogues(DIALOGUE_HOLDOUT))
    bar = float(header(DIALOGUE_HOLDOUT)["bar"]["follow_ups"])
    assert report.follow_ups == 94
    assert report.rate >= bar, (
        f"holdout follow-ups {report.rate:.1%} < {bar:.0%}"
    )  # no misses shown
    assert report.right > report.right_alone
