"""The answer pipeline: retrieval through `index`, evidence trimmed to sentences, the prompt,
the language model (in-process llama.cpp or an OpenAI-compatible server), and the checks that
keep only claims their cited passage supports.

May import `index`, `bot.errors` and itself; never a front end, the evaluation, the settings or
the engine (each step takes its settings as an argument, so tests run it with fakes).
"""
