"""Token estimates for text when no tokenizer or recorded count is available."""

from __future__ import annotations


def estimate_tokens(text: str) -> int:
    """About four characters per token (the usual English rule of thumb), at least one."""
    return max(1, (len(text) + 3) // 4)
