"""Matching names the way people type them: without regard to case or accents.

"nunez" finds "Núñez", "soren" finds "Søren", "nguyen" finds "Nguyễn". Unicode decomposition
(NFKD) splits most accented letters into a base letter and marks that are dropped; a few
letters are their own letters, not accented ones (ø, ł, đ, æ, œ, þ), and are spelled the way
a keyboard without them would write them.
"""

import unicodedata

SPELLED_OUT = str.maketrans(
    {"ø": "o", "ł": "l", "đ": "d", "ð": "d", "æ": "ae", "œ": "oe", "þ": "th", "ı": "i"}
)


def fold(text):
    """`text` lower-cased, without accents, for comparing what was typed with a name."""
    decomposed = unicodedata.normalize("NFKD", (text or "").casefold())
    bare = "".join(char for char in decomposed if not unicodedata.combining(char))
    return bare.translate(SPELLED_OUT)
