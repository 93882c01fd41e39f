"""Building and searching the article index; knows nothing of LLMs or Telegram."""
