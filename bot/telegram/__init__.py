"""The Telegram bot (python-telegram-bot): message handling and the question queue (`app`,
with `jobs`), who may ask (`access`), the commands for everyone (`commands`) and for admins
(`admin`), what is remembered per chat (`conversations`), the streamed, edited answer message
(`stream`), message formatting (`render`) and the process entry point (`main`).

A front end: may import the engine, settings, pipeline and `index`; never `bot.cli` or the
evaluation.
"""
