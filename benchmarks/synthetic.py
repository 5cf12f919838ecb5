"""Deterministic synthetic knowledge bases: the shipped entries plus made-up neighbours.

The made-up entries recombine the domain's vocabulary (cards, benefits, places, the people who
ask) with question templates and with the shipped phrasings themselves, whose topic word is
swapped for the new topic, so their words and lengths look like real questions.
"""

from __future__ import annotations

import random
from collections.abc import Iterator

from bot.core.knowledge import Entry, KnowledgeBase, Source
from bot.core.lexicon import Lexicon

SEED = 20211130
PHRASINGS_PER_ENTRY = 20
SOURCE = Source(outlet="合成数据（基准测试）", date="2021-11-30")

SUBJECTS = (
    "社保卡", "电子社保卡", "第三代社保卡", "医保卡", "医保电子凭证", "养老金", "失业金",
    "工伤保险", "生育保险", "生育津贴", "公积金", "住房公积金", "居住证", "驾驶证", "户口",
    "身份证", "老年证", "残疾证", "低保", "个税", "参保证明", "缴费证明", "灵活就业参保",
    "异地就医备案", "门诊统筹", "大病保险", "技能提升补贴", "失业登记", "退休手续",
    "养老保险关系", "社保卡密码", "社保卡金融账户", "就业登记", "职业资格证书", "创业担保贷款",
    "高龄补贴", "医保个人账户", "家庭共济", "住院报销", "城乡居民医保", "城乡居民养老保险",
    "企业养老保险", "工伤认定", "劳动能力鉴定", "就业创业证", "人才补贴", "公租房",
    "取暖费补贴", "独生子女费", "丧葬费", "抚恤金", "养老待遇资格认证", "工伤待遇",
    "失业保险待遇", "社保缴费记录", "医保缴费", "新生儿医保", "学生医保", "退役军人优待证",
    "老年卡",
)  # fmt: skip
ACTIONS = (
    "领取", "申领", "办理", "补办", "挂失", "查询", "激活", "注销", "缴费", "续费", "转移",
    "变更", "认证", "报销", "提取", "预约", "开通", "申请", "打印", "修改", "绑定", "解绑",
    "年审", "审核", "退费",
)  # fmt: skip
MODIFIERS = (
    "", "", "", "沈阳", "大连", "鞍山", "抚顺", "本溪", "丹东", "锦州", "营口", "阜新",
    "辽阳", "铁岭", "朝阳", "盘锦", "葫芦岛", "异地", "外地", "退休人员", "灵活就业人员",
    "个体户", "农村户口", "在校学生",
)  # fmt: skip
TEMPLATES = (
    "{s}怎么{a}", "{s}在哪里{a}", "{s}{a}需要什么材料", "{m}{s}怎么{a}", "{a}{s}要多久",
    "手机上能{a}{s}吗", "支付宝能{a}{s}吗", "帮我妈{a}一下{s}", "我爸的{s}想{a}，咋整",
    "{s} {a}", "{a}{s}", "{m}的{s}去哪{a}", "请问{s}{a}的流程是什么", "{s}{a}有什么条件",
    "老人{a}{s}要本人去吗", "{s}{a}不了怎么办", "在线等，{s}怎么{a}", "{s}{a}可以代办吗",
    "{m}{s}{a}在哪个窗口", "{s}{a}要去社保局吗", "网上怎么{a}{s}", "{m}{a}{s}的步骤",
    "{s}能不能在手机上{a}", "俺想{a}个{s}，咋弄", "{s}{a}以后多久能用",
    "不去大厅能{a}{s}吗", "{m}{s}{a}打12333能办吗", "{s}的{a}是什么意思",
)  # fmt: skip


def _topic_word(text: str, words: list[str]) -> str | None:
    """The longest domain word in *text* (the one to swap for a new topic)."""
    return next((word for word in words if word in text), None)


def synthetic_entries(
    shipped: KnowledgeBase, lexicon: Lexicon, count: int, seed: int = SEED
) -> Iterator[Entry]:
    """Made-up entries holding *count* phrasings in all, none equal to a shipped one."""
    rng = random.Random(seed)
    words = sorted(
        (w for w in lexicon.vocabulary if len(w) >= 2 and w not in lexicon.intent_words),
        key=lambda w: (-len(w), w),
    )
    recombinable = [
        (text, word)
        for entry in shipped.entries
        for text in entry.questions
        if (word := _topic_word(text, words)) is not None
    ]
    seen = {text for entry in shipped.entries for text in entry.phrasings}
    topics = list(dict.fromkeys((m, s, a) for m in MODIFIERS for s in SUBJECTS for a in ACTIONS))
    rng.shuffle(topics)
    left = count
    for number, (modifier, subject, action) in enumerate(_cycle(topics), start=1):
        if left <= 0:
            return
        title = f"{modifier}{subject}{action}"
        if title in seen:
            title = f"{title}（{number}）"
        seen.add(title)
        questions: list[str] = []
        want = min(left, PHRASINGS_PER_ENTRY) - 1
        for _ in range(20 * PHRASINGS_PER_ENTRY):
            if len(questions) >= want:
                break
            if rng.random() < 0.3:
                text, word = rng.choice(recombinable)
                text = text.replace(word, subject + (action if rng.random() < 0.5 else ""), 1)
            else:
                place = modifier or rng.choice(MODIFIERS)
                text = rng.choice(TEMPLATES).format(s=subject, a=action, m=place)
            if text not in seen:
                seen.add(text)
                questions.append(text)
        left -= 1 + len(questions)
        yield Entry(
            id=f"synthetic-{number}",
            title=title,
            category="合成",
            questions=tuple(questions),
            answer=f"{title}：这是基准测试用的合成答案。",
            source=SOURCE,
        )


def _cycle(topics: list[tuple[str, str, str]]) -> Iterator[tuple[str, str, str]]:
    while True:
        yield from topics


def synthetic_kb(shipped: KnowledgeBase, lexicon: Lexicon, phrasings: int) -> KnowledgeBase:
    """The shipped entries first, then made-up ones up to *phrasings* phrasings in all."""
    extra = max(0, phrasings - shipped.phrasing_count)
    entries = (*shipped.entries, *synthetic_entries(shipped, lexicon, extra))
    return KnowledgeBase(entries, shipped.directory)
