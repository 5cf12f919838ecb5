"""The knowledge base: its model, how its YAML files are read, and how they are validated.

``load_knowledge`` is the way in; the names below are what the rest of the bot uses.
"""

from bot.core.knowledge.loader import load_knowledge
from bot.core.knowledge.model import (
    Entry,
    Example,
    Image,
    KnowledgeBase,
    KnowledgeError,
    Problem,
    Source,
)
from bot.core.knowledge.validation import (
    ADVISED_QUESTIONS,
    DECLINED_FILE,
    ID_PATTERN,
    LEARNED_FILE,
    MAX_CAPTION_CHARS,
    MAX_ID_CHARS,
    MAX_TITLE_CHARS,
    MIN_QUESTIONS,
)
from bot.core.knowledge.yamlfile import (
    MAX_FILE_BYTES,
    MAX_YAML_VALUES,
    compose_yaml,
    load_yaml,
    read_text,
    yaml_problem,
)

__all__ = [
    "ADVISED_QUESTIONS",
    "DECLINED_FILE",
    "ID_PATTERN",
    "LEARNED_FILE",
    "MAX_CAPTION_CHARS",
    "MAX_FILE_BYTES",
    "MAX_ID_CHARS",
    "MAX_TITLE_CHARS",
    "MAX_YAML_VALUES",
    "MIN_QUESTIONS",
    "Entry",
    "Example",
    "Image",
    "KnowledgeBase",
    "KnowledgeError",
    "Problem",
    "Source",
    "compose_yaml",
    "load_knowledge",
    "load_yaml",
    "read_text",
    "yaml_problem",
]
