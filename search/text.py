"""Text analysis shared by the search backends: how a title or a query becomes tokens.

Chinese has no spaces between words, so CJK runs become overlapping bigrams, the way
Elasticsearch's built-in `cjk` analyzer does it ("苹果手机" → 苹果 果手 手机). A query
run of one character cannot be a bigram; it matches single characters, which the
database backend indexes as well (and Elasticsearch in a `standard`-analyzed sub-field).
Latin words are lower-cased, stop words dropped and plurals folded with a light
stemmer, so "Laptops" finds "laptop". Full-width letters and digits are normalised
(NFKC) first, as Chinese input methods often produce them.

Pure functions: no Django, no database."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Literal

from stdnum import isbn as isbn_module

# Han (with extensions A and compatibility), kana and hangul: the scripts written
# without spaces between words.
_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u3040-\u30ff\uac00-\ud7af"
_SEGMENT = re.compile(rf"[{_CJK}]+|[^\W_{_CJK}]+")
_IS_CJK = re.compile(rf"[{_CJK}]")
_VIN = re.compile(r"[A-HJ-NPR-Z0-9]{17}")

# Elasticsearch's `_english_` stop words, which its cjk and english analyzers drop.
STOP_WORDS = frozenset(
    {
        *("a", "an", "and", "are", "as", "at", "be", "but", "by", "for", "if", "in", "into", "is", "it", "no"),
        *("not", "of", "on", "or", "such", "that", "the", "their", "then", "there", "these", "they", "this"),
        *("to", "was", "will", "with"),
    }
)


def normalise(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()


def light_stem(word: str) -> str:
    """Fold English plurals ("phones" → "phone", "batteries" → "battery"); words with
    digits (model numbers) stay as they are."""
    if len(word) <= 3 or not word.isalpha():
        return word
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith(("sses", "shes", "ches", "xes", "zes")):
        return word[:-2]
    if word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def _bigrams(run: str) -> list[str]:
    return [run[i : i + 2] for i in range(len(run) - 1)]


@dataclass(frozen=True)
class QueryPart:
    """One thing every match must contain: a latin `word`, a CJK run of two or more
    characters (`cjk`, matched as all of its bigrams) or a single CJK `char`."""

    kind: Literal["word", "cjk", "char"]
    text: str

    def tokens(self) -> list[str]:
        if self.kind == "word":
            return [light_stem(self.text)]
        if self.kind == "cjk":
            return _bigrams(self.text)
        return [self.text]


def query_parts(text: str) -> list[QueryPart]:
    parts: list[QueryPart] = []
    seen: set[QueryPart] = set()
    for segment in _SEGMENT.findall(normalise(text)):
        if _IS_CJK.match(segment):
            part = QueryPart("char" if len(segment) == 1 else "cjk", segment)
        elif segment in STOP_WORDS:
            continue
        else:
            part = QueryPart("word", segment)
        if part not in seen:
            seen.add(part)
            parts.append(part)
    return parts


def query_tokens(text: str) -> list[str]:
    """The tokens a document must all contain to match `text`."""
    tokens: list[str] = []
    for part in query_parts(text):
        tokens.extend(token for token in part.tokens() if token not in tokens)
    return tokens


def document_tokens(*texts: str) -> list[str]:
    """Every token of the texts: stemmed words, CJK bigrams and single characters."""
    tokens: dict[str, None] = {}
    for text in texts:
        for segment in _SEGMENT.findall(normalise(text)):
            if _IS_CJK.match(segment):
                tokens.update(dict.fromkeys(_bigrams(segment)))
                tokens.update(dict.fromkeys(segment))
            elif segment not in STOP_WORDS:
                tokens[light_stem(segment)] = None
    return list(tokens)


def is_short_cjk(text: str) -> bool:
    """One or two Chinese characters and nothing else: "书", "手机"."""
    parts = query_parts(text)
    return bool(parts) and all(part.kind != "word" for part in parts) and sum(len(p.text) for p in parts) <= 2


def identifier_candidates(text: str) -> list[str]:
    """An ISBN (10 or 13 digits, hyphens allowed; stored as ISBN-13) or a VIN typed as
    the query, normalised the way documents store them."""
    compact = re.sub(r"[\s\-]", "", unicodedata.normalize("NFKC", text)).upper()
    if not compact:
        return []
    if isbn_module.is_valid(compact):
        return [isbn_module.to_isbn13(isbn_module.compact(compact))]
    if _VIN.fullmatch(compact):
        return [compact]
    return []


def suggestion_key(text: str) -> str:
    """What a suggestion is matched on: the normalised text, spaces collapsed."""
    return " ".join(normalise(text).split())
