"""What the bot remembers per chat: recent turns for follow-ups, and the answers its Sources and
More buttons point at (the newest few hundred, by a short key)."""

from __future__ import annotations

from collections import OrderedDict, defaultdict

from bot.pipeline.answer import Answer, Turn

KEEP_ANSWERS = 500


class Conversations:
    """In-memory turns and answers of one bot process."""

    def __init__(self, history_turns: int, keep_answers: int = KEEP_ANSWERS) -> None:
        self._turns: dict[int, list[Turn]] = defaultdict(list)
        self._answers: OrderedDict[str, Answer] = OrderedDict()
        self._last: dict[int, str] = {}
        self._history_turns = history_turns
        self._keep = keep_answers
        self._next_id = 0

    def history(self, chat_id: int) -> list[Turn]:
        """A copy of the chat's recent turns, oldest first."""
        return list(self._turns[chat_id])

    def forget(self, chat_id: int) -> None:
        """Start a new topic: the chat's turns are dropped (its answers' buttons still work)."""
        self._turns.pop(chat_id, None)

    def add(self, chat_id: int, answer: Answer) -> str:
        """Record an answer as the chat's newest turn; returns the key its buttons carry."""
        turns = self._turns[chat_id]
        turns.append(Turn(answer.standalone_question, answer.text))
        del turns[: -self._history_turns]
        self._next_id += 1
        key = f"{self._next_id:x}"
        self._answers[key] = answer
        while len(self._answers) > self._keep:
            self._answers.popitem(last=False)
        self._last[chat_id] = key
        return key

    def answer(self, key: str) -> Answer | None:
        """The answer a button points at, unless it has expired."""
        return self._answers.get(key)

    def last(self, chat_id: int) -> Answer | None:
        """The newest answer in a chat."""
        return self._answers.get(self._last.get(chat_id, ""))
