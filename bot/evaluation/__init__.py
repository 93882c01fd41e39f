"""Evaluation of retrieval and answers: QA sets in the shared format (`sets`) and the runner that
indexes their passages and scores each question (`runner`), used by `tanya eval` and the
benchmarks.

May import the pipeline, `bot.errors` and `index`; never a front end, the settings or the engine.
"""
