"""corpus-bot: answers questions by quoting the passages of a folder of articles that match.

The search core (``corpus``, ``passages``, ``analyzer``, ``index``, ``answers``) knows nothing
of Discord; ``bot.discord`` only translates between Discord and the core.
"""

__version__ = "0.1.0"
