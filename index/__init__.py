"""Building and searching the article index: reading sources into articles (`sources`,
`readers`, `feeds`), sentence-aware `chunking`, the `embedding` backends, the generation store
(`store`, `generations`, `writer`, `vectors`, `records`), incremental `sync` and `watch`, and
hybrid `search`. It imports only itself and outside libraries, never `bot`: it knows nothing
of language models, prompts or Telegram.
"""
