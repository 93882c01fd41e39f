"""Filters typed in front of a question: `since:2023-04 outlet:"Tech Review" How many GPUs…`.

The words since:, until: and outlet: (any case; outlet may repeat, a name with spaces in
quotes) take the same values as the command line's --since, --until and --outlet.
"""

from __future__ import annotations

import re

from index.filters import Filters, build

_TOKEN = re.compile(r'\s*(since|until|outlet):(?:"([^"]*)"|(\S+))', re.IGNORECASE)


def split(text: str) -> tuple[Filters, str]:
    """The filters at the start of a message and the question after them (FilterError when a
    value is not understood)."""
    values: dict[str, str] = {}
    outlets: list[str] = []
    pos = 0
    while m := _TOKEN.match(text, pos):
        key, value = m[1].lower(), m[2] if m[2] is not None else m[3]
        if key == "outlet":
            outlets.append(value)
        else:
            values[key] = value
        pos = m.end()
    return build(values.get("since"), values.get("until"), outlets), text[pos:].strip()
