"""Reading a JSON document that came from outside (a file, a webhook), with a sentence for each way it fails.

Whatever the bytes, the answer is a parsed document or `BadBody` naming the problem, never
another exception: a body nested thousands of levels deep is refused here, where json would
otherwise raise RecursionError (a 500 that a CRM redelivers forever). None of the body's
content is repeated in the message, so it can go to a log line or an HTTP answer.
"""

from __future__ import annotations

import json
from typing import Any

MAX_DEPTH = 32  # a contract is 3 levels deep, a SendGrid batch 4: far more is no document of ours


class BadBody(ValueError):
    """A body that is not a JSON document we read; the message says why in a sentence."""


def read_json(raw: str | bytes) -> Any:
    """The parsed document, or BadBody: not UTF-8, not JSON, or nested deeper than MAX_DEPTH."""
    try:
        document = json.loads(raw)
    except json.JSONDecodeError as e:
        raise BadBody(f"not valid JSON: {e.msg} at line {e.lineno}, column {e.colno}") from None
    except UnicodeDecodeError:
        raise BadBody("not valid UTF-8 text") from None
    except RecursionError:
        raise BadBody(too_deep()) from None
    if depth(document) > MAX_DEPTH:
        raise BadBody(too_deep())
    return document


def too_deep() -> str:
    return f"nested more than {MAX_DEPTH} levels deep; no document we accept goes beyond a few levels"


def depth(document: Any) -> int:
    """How many arrays and objects deep a parsed document goes (without recursion)."""
    deepest = 0
    pending: list[tuple[Any, int]] = [(document, 1)]
    while pending:
        node, level = pending.pop()
        children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else None
        if children is None:
            continue
        deepest = max(deepest, level)
        if level <= MAX_DEPTH:
            pending.extend((child, level + 1) for child in children)
    return deepest
