"""Surface features of a query's text for the novelty detector's ``surf`` view: what a task family's prompt template
looks like (length, lines, digits, non-ASCII, capitals, code symbols, spacing, words, option markers), whatever its
topic."""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

#: Names of the surface features, in column order (stored in checkpoints so a reader can check them).
SURFACE_FEATURES = ("log_chars", "log_lines", "digits", "non_ascii", "upper", "code_symbols", "spaces", "log_words",
                    "option_markers")
_OPTION = re.compile(r"(?m)(?:^|\s)\(?[A-Ea-e][.):]\s")
#: Code symbols, as a lookup table over the ASCII code points (faster than ``np.isin`` per query).
_CODE = np.zeros(128, dtype=bool)
_CODE[np.frombuffer("{}[]();=<>_#:".encode("utf-32-le"), dtype=np.uint32)] = True


def surface_features(texts: Sequence[str]) -> NDArray[np.float64]:
    """(n, 9) surface features of each text: what a task family's prompt template looks like, independent of topic."""
    out = np.zeros((len(texts), len(SURFACE_FEATURES)), dtype=np.float64)
    for i, text in enumerate(texts):
        codes = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
        n = max(len(codes), 1)
        digits = ((codes >= 48) & (codes <= 57)).sum()
        upper = ((codes >= 65) & (codes <= 90)).sum()
        spaces = ((codes == 32) | (codes == 9) | (codes == 10) | (codes == 13)).sum()
        newlines = (codes == 10).sum()
        out[i] = (np.log1p(len(codes)), np.log1p(newlines), digits / n, (codes > 127).sum() / n, upper / n,
                  _CODE[codes[codes < 128]].sum() / n, spaces / n, np.log1p(len(text.split())),
                  np.log1p(len(_OPTION.findall(text))))
    return out
