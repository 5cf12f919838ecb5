from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from bot.core.knowledge import MIN_QUESTIONS, KnowledgeError, load_knowledge
from bot.core.lexicon import load_lexicon
from tests.conftest import KNOWLEDGE, SOURCE, entry_yaml

REQUIRED_IDS = {
    "apply-e-card",
    "sync-application",
    "what-is-e-card",
    "e-card-history",
    "third-gen-features",
    "card-functions",
    "e-card-services",
    "green-energy",
    "query-and-payment",
    "pension-verification",
    "work-injury",
    "unemployment-benefits",
    "job-search",
    "forgot-card",
}


def messages(error: pytest.ExceptionInfo[KnowledgeError]) -> list[str]:
    return [str(problem) for problem in error.value.problems]


def test_shipped_kb_has_every_required_entry() -> None:
    kb = load_knowledge(KNOWLEDGE)
    assert set(kb.by_id) >= REQUIRED_IDS
    for entry in kb.entries:
        assert len(entry.questions) >= MIN_QUESTIONS, entry.id
        assert entry.source.date == "2021-11-30"
        assert entry.answer.strip()
    for entry_id in ("apply-e-card", "pension-verification", "third-gen-features"):
        assert kb.by_id[entry_id].images, entry_id
        assert all(image.path and image.path.is_file() for image in kb.by_id[entry_id].images)


def test_shipped_answers_point_unknowns_to_the_hotline() -> None:
    kb = load_knowledge(KNOWLEDGE)
    assert "12333" in kb.by_id["forgot-card"].answer


def test_list_and_mapping_files_load(write_kb: Callable[..., Path]) -> None:
    listed = (
        "- id: a-one\n  title: 一\n  category: 测试\n  answer: 答\n"
        "  questions: [" + ", ".join(f"一{i}" for i in range(8)) + "]\n"
        "  source: {outlet: 测试日报, date: 2021-11-30}\n"
    )
    folder = write_kb(
        {
            "a.yaml": listed,
            "b.yaml": SOURCE + "entries:\n" + entry_yaml("b-two", related=["a-one"]),
        }
    )
    kb = load_knowledge(folder)
    assert [entry.id for entry in kb.entries] == ["a-one", "b-two"]
    assert kb.by_id["b-two"].source.outlet == "测试日报"
    assert kb.by_id["b-two"].related == ("a-one",)
    assert kb.categories == ("测试",)


def test_syntax_error_names_file_and_line(write_kb: Callable[..., Path]) -> None:
    folder = write_kb({"bad.yaml": SOURCE + "entries:\n  - id: x\n    title: [unclosed\n"})
    with pytest.raises(KnowledgeError) as error:
        load_knowledge(folder)
    (message,) = messages(error)
    assert "bad.yaml:" in message
    assert "YAML syntax error" in message
    assert int(message.split(":")[1]) >= 5


@pytest.mark.parametrize(
    ("mistake", "message"),
    [
        ("    title 没有冒号", "could not find expected ':'"),
        ('    title: "引号没关上', "is a quote left open?"),
    ],
)
def test_a_syntax_error_is_located_on_the_line_of_the_mistake(
    write_kb: Callable[..., Path], mistake: str, message: str
) -> None:
    """Not on the line where PyYAML noticed it (the next one, or the end of the file)."""
    lines = entry_yaml("x").splitlines()
    title = next(i for i, line in enumerate(lines) if line.strip().startswith("title:"))
    lines[title] = mistake
    text = SOURCE + "entries:\n" + "\n".join(lines) + "\n" + entry_yaml("y")
    folder = write_kb({"bad.yaml": text})
    with pytest.raises(KnowledgeError) as error:
        load_knowledge(folder)
    (problem,) = error.value.problems
    assert problem.line == text.splitlines().index(mistake) + 1
    assert problem.message.startswith("YAML syntax error") and message in problem.message


def test_a_long_title_names_its_length_and_the_limit(write_kb: Callable[..., Path]) -> None:
    title = "电子社保卡" * 7
    folder = write_kb({"a.yaml": SOURCE + "entries:\n" + entry_yaml("long", title=title)})
    with pytest.raises(KnowledgeError) as error:
        load_knowledge(folder)
    (message,) = messages(error)
    assert message.endswith(
        "entry 'long': title is 35 characters long; keep it to 30 (it is shown on buttons)"
    )


def test_every_problem_is_reported_with_its_line(write_kb: Callable[..., Path]) -> None:
    text = (
        SOURCE
        + "entries:\n"
        + entry_yaml("dup")
        + entry_yaml("dup")
        + entry_yaml("empty", answer="''")
        + entry_yaml("refs", related=["nowhere"])
        + entry_yaml("few", questions=["只有一个"])
        + entry_yaml("Bad_Id")
        + entry_yaml("shared", questions=[f"dup 问法{i}" for i in range(8)])
        + "  - id: pic\n    title: 图\n    category: 测试\n"
        + "    questions: ["
        + ", ".join(f"图{i}" for i in range(8))
        + "]\n"
        + "    answer: 有图\n    images: [{file: images/missing.png}]\n    colour: red\n"
    )
    folder = write_kb({"kb.yaml": text})
    with pytest.raises(KnowledgeError) as error:
        load_knowledge(folder)
    found = "\n".join(messages(error))
    expectations = [
        "duplicate id 'dup'",
        "entry 'empty': answer is empty",
        "related id 'nowhere' does not exist",
        "entry 'few': has 1 questions, needs at least 3",
        "id must be lowercase",
        "is also in entry 'dup'",
        "image file 'images/missing.png' does not exist",
        "unknown field 'colour'",
    ]
    for expected in expectations:
        assert expected in found, expected
    for problem in error.value.problems:
        assert problem.file.endswith("kb.yaml")
        assert problem.line > 0


def test_image_outside_the_folder_is_refused(write_kb: Callable[..., Path]) -> None:
    text = SOURCE + "entries:\n" + entry_yaml("pic") + "    images: [{file: ../../etc/passwd}]\n"
    with pytest.raises(KnowledgeError, match="outside knowledge"):
        load_knowledge(write_kb({"kb.yaml": text}))


def test_missing_source_and_bad_date(write_kb: Callable[..., Path]) -> None:
    folder = write_kb(
        {
            "a.yaml": "entries:\n" + entry_yaml("nosource"),
            "b.yaml": "source: {outlet: 报, date: 30/11/2021}\nentries:\n" + entry_yaml("bad"),
        }
    )
    with pytest.raises(KnowledgeError) as error:
        load_knowledge(folder)
    found = "\n".join(messages(error))
    assert "a.yaml:2: entry 'nosource': source is missing" in found
    assert "is not YYYY-MM-DD" in found


def test_missing_folder_and_empty_folder(tmp_path: Path) -> None:
    with pytest.raises(KnowledgeError, match="does not exist"):
        load_knowledge(tmp_path / "nowhere")
    with pytest.raises(KnowledgeError, match=r"no \*\.yaml files"):
        load_knowledge(tmp_path)


def test_learned_phrasings_join_their_entry(write_kb: Callable[..., Path]) -> None:
    folder = write_kb(
        {
            "kb.yaml": SOURCE + "entries:\n" + entry_yaml("one"),
            "learned.yaml": "learned:\n  - {question: 新学的问法, id: one}\n",
        }
    )
    kb = load_knowledge(folder)
    assert kb.by_id["one"].learned == ("新学的问法",)
    assert "新学的问法" in kb.by_id["one"].phrasings


def test_learned_with_unknown_id_or_taken_phrasing(write_kb: Callable[..., Path]) -> None:
    folder = write_kb(
        {
            "kb.yaml": SOURCE + "entries:\n" + entry_yaml("one") + entry_yaml("two"),
            "learned.yaml": "learned:\n"
            "  - {question: 另一个问法, id: ghost}\n"
            "  - {question: one 问法1, id: two}\n",
        }
    )
    with pytest.raises(KnowledgeError) as error:
        load_knowledge(folder)
    found = messages(error)
    assert any("learned.yaml:2:" in m and "unknown id 'ghost'" in m for m in found)
    assert any("learned.yaml:3:" in m and "already a question of entry 'one'" in m for m in found)


def test_an_id_too_long_for_a_deep_link_is_a_problem(write_kb: Callable[..., Path]) -> None:
    long_id = "a" * 65
    folder = write_kb({"kb.yaml": SOURCE + "entries:\n" + entry_yaml(long_id)})
    with pytest.raises(KnowledgeError) as caught:
        load_knowledge(folder)
    assert any("65 characters" in problem.message for problem in caught.value.problems)


def test_a_python_tag_in_a_lexicon_file_is_a_located_problem(
    write_kb: Callable[..., Path],
) -> None:
    tagged = "社保卡: [社会保障卡]\n失业金: !!python/object/apply:os.system [x]\n"
    folder = write_kb({"lexicon/synonyms.yaml": tagged})
    with pytest.raises(KnowledgeError) as caught:
        load_lexicon(folder)
    [problem] = caught.value.problems
    assert problem.file.endswith("synonyms.yaml") and problem.line == 2
    assert "not allowed" in problem.message


def test_words_can_bring_an_out_of_scope_term_back_in_scope(
    write_kb: Callable[..., Path],
) -> None:
    folder = write_kb(
        {
            "lexicon/synonyms.yaml": "电子社保卡: [网上社保卡]\n",
            "lexicon/out_of_scope.yaml": (
                "terms: [激活, 密码]\nin_scope_with:\n  激活: [网上社保卡]\n"
            ),
        }
    )
    lexicon = load_lexicon(folder)
    assert lexicon.in_scope_with == {"激活": frozenset({"电子社保卡"})}  # canonical words
    assert lexicon.out_of_scope_in(("电子社保卡", "激活", "密码")) == ("密码",)
    assert lexicon.out_of_scope_in(("社保卡", "激活")) == ("激活",)


@pytest.mark.parametrize(
    "exceptions", ["in_scope_with: [激活]\n", "in_scope_with:\n  挂失: [电子社保卡]\n"]
)
def test_a_malformed_in_scope_exception_is_a_problem(
    write_kb: Callable[..., Path], exceptions: str
) -> None:
    folder = write_kb({"lexicon/out_of_scope.yaml": "terms: [激活]\n" + exceptions})
    with pytest.raises(KnowledgeError) as caught:
        load_lexicon(folder)
    [problem] = caught.value.problems
    assert problem.file.endswith("out_of_scope.yaml") and "in_scope_with" in problem.message


# -- files that would make a reload hang (issue 12 §3) ---------------------------------------


def alias_bomb(levels: int = 9, width: int = 9) -> str:
    """A few hundred bytes of YAML whose aliases stand for width**levels values."""
    lines = ["a0: &a0 [" + ", ".join(['"哈"'] * width) + "]"]
    for level in range(1, levels):
        lines.append(f"a{level}: &a{level} [" + ", ".join([f"*a{level - 1}"] * width) + "]")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize(
    ("name", "text", "line", "message"),
    [
        ("bomb.yaml", alias_bomb() + "entries: [*a8]\n", 6, "more than 100,000 values"),
        ("learned.yaml", alias_bomb() + "learned: *a8\n", 6, "more than 100,000 values"),
        ("lexicon/synonyms.yaml", alias_bomb(), 6, "more than 100,000 values"),
        ("lexicon/out_of_scope.yaml", alias_bomb() + "terms: *a8\n", 6, "100,000 values"),
        ("loop.yaml", "entries: &loop\n  - *loop\n", 1, "refers to a value it is part of"),
        ("lexicon/out_of_scope.yaml", "terms: &t [a, *t]\n", 1, "refers to a value it is"),
    ],
)
def test_aliases_that_explode_or_loop_are_a_located_problem(
    write_kb: Callable[..., Path], name: str, text: str, line: int, message: str
) -> None:
    folder = write_kb({"kb.yaml": SOURCE + "entries:\n" + entry_yaml("a-one"), name: text})
    with pytest.raises(KnowledgeError) as caught:  # at once: no expanding, no endless walk
        load_knowledge(folder)
        load_lexicon(folder)
    [problem] = [p for p in caught.value.problems if p.file.endswith(name)]
    assert (problem.line, message in problem.message) == (line, True), problem


def test_an_alias_used_in_moderation_is_fine(write_kb: Callable[..., Path]) -> None:
    first = entry_yaml("a-one").replace("    related: []", "    related: &none []")
    second = entry_yaml("b-two").replace("    related: []", "    related: *none")
    folder = write_kb({"kb.yaml": SOURCE + "entries:\n" + first + second})
    kb = load_knowledge(folder)
    assert kb.by_id["a-one"].related == kb.by_id["b-two"].related == ()


def test_a_file_over_a_mebibyte_is_a_problem_without_being_read(
    write_kb: Callable[..., Path],
) -> None:
    filler = "# 填充\n" * (1024 * 1024 // 9 + 1)
    folder = write_kb({"kb.yaml": SOURCE + "entries:\n" + entry_yaml("a-one") + filler})
    with pytest.raises(KnowledgeError) as caught:
        load_knowledge(folder)
    [problem] = caught.value.problems
    assert problem.line == 1 and "larger than 1,024 KB" in problem.message
