"""esscard-bot: answers Chinese questions about China's social security cards."""

__version__ = "0.1.0"
