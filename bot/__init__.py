"""Answering questions over the index, and the ways people ask.

- `pipeline/`: retrieve, pick evidence, prompt, generate, check citations (no front end);
- `cli/` and `telegram/`: the two front ends;
- `evaluation/`: QA sets and the metrics of `tanya eval`;
- `config`, `errors`: settings from the environment and the error types every layer shares;
- `runtime`, `engine`: build the embedder, index and model from the settings, and hold them
  for a process and its conversations.

Imports run one way: front ends -> engine/runtime/config -> pipeline -> `index`, and
evaluation -> pipeline -> `index` (tests/test_layers.py holds this).
"""
