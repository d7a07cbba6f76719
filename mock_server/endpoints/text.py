"""Text an LLM-like endpoint answers with, made locally: the same prompt, the same words.

It is not a model: it says it is falfake, repeats the prompt, and goes on with words drawn from
the prompt's digest, so a test can assert on it and a stream has enough words to send.
"""

from __future__ import annotations

import hashlib

_WORDS = (
    "the", "a", "model", "answer", "simply", "offline", "test", "stream", "token", "reply",
    "local", "quick", "clear", "steady", "every", "word", "arrives", "in", "order", "here",
    "with", "care", "and", "then", "more", "text", "follows", "until", "done", "now",
)  # fmt: skip
REPLY_WORDS = 40


def reply_text(prompt: str) -> str:
    """A deterministic answer to `prompt`: about 50 words, the prompt quoted at the start."""
    digest = hashlib.sha256(prompt.encode("utf-8", "surrogatepass")).digest()
    quoted = " ".join(prompt.split()[:20])
    words = [_WORDS[byte % len(_WORDS)] for byte in (digest * 2)[:REPLY_WORDS]]
    return f'falfake answers "{quoted}": ' + " ".join(words) + "."
