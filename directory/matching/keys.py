"""How a phone user's name is compared with an AAD account's when the portal proposes a link."""
import unicodedata

NameKey = tuple[str, str]


def name_fold(text: str) -> str:
    """Case-, accent- and spacing-insensitive form of a name: "  Émile   DUBOIS " and "emile dubois" agree.

    Unicode's caseless match on compatibility forms (NFKD, casefold, NFKD: "ß" = "ss", "ﬁ" = "fi"), then the
    combining marks dropped ("é" = "e") and each run of spaces made one. ASCII text takes the short road, which
    gives the same answer: most names are ASCII and the matcher folds every name of a large directory.
    """
    if text.isascii():
        return " ".join(text.lower().split())
    decomposed = unicodedata.normalize("NFKD", unicodedata.normalize("NFKD", text).casefold())
    return " ".join("".join(char for char in decomposed if not unicodedata.combining(char)).split())


def name_key(first_name: str, last_name: str) -> NameKey | None:
    """The key two people share when their first and last names agree; None unless both names are given."""
    first, last = name_fold(first_name), name_fold(last_name)
    if not first or not last:
        return None
    return first, last
