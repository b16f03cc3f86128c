"""The Discord front end: translates between Discord and the answer engine, nothing more.

``runner.run_bot`` is the entry point (``python -m bot run``); ``client.CorpusBot`` is the bot;
``cogs`` hold the commands; ``render`` turns answers into messages within Discord's limits.
"""
