"""The Telegram bot (python-telegram-bot): message handling and the question queue (`app`,
with `jobs`), who may ask (`access`), the commands for everyone (`commands`) and for admins
(`admin`), the Sources / More buttons (`buttons`), what is kept between updates (`memory`: the
protocols and the one choice of store; `conversations`: SQLite under TANYA_HOME; `pgstate`:
PostgreSQL with TANYA_DATABASE_URL, each user's question order included), the streamed, edited
answer message (`stream`), message formatting (`render`) and the process entry point (`main`).

A front end: may import the engine, settings, pipeline and `index`; never `bot.cli` or the
evaluation.
"""
