"""The `tanya` command line: the typer app (`app`), one module per command group (`indexing`,
`models`, `evaluation`), shared options and error handling (`common`), the terminal renderer
(`render`), and the settings table of `tanya config` and docs/configuration.md (`settings`).

A front end: may import anything in `bot` and `index`, including `bot.telegram` to start the
bot; nothing imports it.
"""
