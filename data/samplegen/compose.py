"""Composes sentences, paragraphs and short articles from the hand-written blocks in lexicon.

All randomness comes from the `random.Random` passed in, so output depends only on the seed.
"""

from __future__ import annotations

import random
import re

from . import lexicon as lx

_SLOT = re.compile(r"\{(\w+)\}")

TOPIC_TITLES = {
    "astronomy": ["Observing {object} from {place}", "The {place} Observatory", "Notes on {object}"],
    "gardening": ["Growing {plant} in {place}", "The {place} allotments", "A year of {plant}"],
    "cooking": ["How to make {dish}", "{dish} the {place} way", "Kitchen notes: {dish}"],
    "railways": ["The {place} branch line", "Remembering {thing} at {place}", "Rail history of {place}"],
    "rivers": ["The river at {place}", "Floods and bridges of {place}", "Walking the {place} towpath"],
    "software": ["Why we rewrote {thing}", "Notes on {thing}", "Lessons from maintaining {thing}"],
    "music": ["The story of {thing} of {place}", "Music in {place}", "Songs collected in {place}"],
    "birds": ["{bird} at {place}", "Counting {bird}", "The return of the {bird}"],
    "crafts": ["{craft} in {place}", "Learning {craft}", "A short history of {craft}"],
    "history": ["A history of {place}", "{thing} of {place}", "{place} in the age of the mills"],
    "weather": ["The climate of {place}", "A century of weather at {place}", "Storms of {place}"],
    "chess": ["Chess in {place}", "{thing} at {place}", "Notes from {thing}"],
    "libraries": ["The library at {place}", "Inside {thing}", "Books and readers of {place}"],
    "beekeeping": ["Beekeeping at {place}", "A season with {thing}", "Heather honey from {place}"],
    "sailing": ["Sailing from {place}", "The boats of {place}", "{thing} at {place}"],
}


class Composer:
    """Fills templates with invented names, numbers and topic words."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    # -- atoms -----------------------------------------------------------------------------
    def place(self) -> str:
        return self.rng.choice(lx.PLACE_HEADS) + self.rng.choice(lx.PLACE_TAILS)

    def surname(self) -> str:
        return self.rng.choice(lx.SURNAME_HEADS) + self.rng.choice(lx.SURNAME_TAILS)

    def person(self) -> str:
        return f"{self.rng.choice(lx.FIRST_NAMES)} {self.surname()}"

    def year(self) -> int:
        return self.rng.randint(1620, 2019)

    def slot(self, name: str, topic: str | None, fixed: dict[str, str]) -> str:
        if name in fixed:
            return fixed[name]
        rng = self.rng
        if name in ("place", "place2"):
            return self.place()
        if name == "person":
            return self.person()
        if name == "year":
            return str(self.year())
        if name == "num":
            return str(rng.choice([rng.randint(2, 40), rng.randint(40, 900), rng.randint(3, 12)]))
        if name == "month":
            return rng.choice(lx.MONTHS)
        if topic is not None and name in lx.TOPICS[topic]:
            return rng.choice(lx.TOPICS[topic][name])
        if name in lx.GENERIC:
            return rng.choice(lx.GENERIC[name])
        raise KeyError(f"unknown template slot {{{name}}} (topic {topic})")

    def fill(self, template: str, topic: str | None = None, fixed: dict[str, str] | None = None) -> str:
        fixed = fixed or {}
        text = _SLOT.sub(lambda m: self.slot(m.group(1), topic, fixed), template)
        return text[0].upper() + text[1:]

    # -- English prose -----------------------------------------------------------------------
    def topic(self) -> str:
        return self.rng.choice(sorted(lx.TOPICS))

    def sentence(self, topic: str, fixed: dict[str, str] | None = None) -> str:
        if self.rng.random() < 0.08:
            return self.rng.choice(lx.CONNECTIVES)
        return self.fill(self.rng.choice(lx.TOPICS[topic]["templates"]), topic, fixed)

    def paragraph(self, topic: str, fixed: dict[str, str] | None = None, lo: int = 3, hi: int = 6,
                  pool: list[str] | None = None) -> str:
        """Sentences drawn without replacement from `pool` (refilled when empty)."""
        n = self.rng.randint(lo, hi)
        if pool is None:
            pool = []
        sentences: list[str] = []
        for _ in range(n):
            if not pool:
                pool.extend(self._template_pool(topic))
            if self.rng.random() < 0.06:
                sentences.append(self.rng.choice(lx.CONNECTIVES))
            sentences.append(self.vary(pool.pop(), topic, fixed))
        return " ".join(sentences)

    def vary(self, template: str, topic: str, fixed: dict[str, str] | None) -> str:
        """Fill a template, sometimes adding an opener and/or a closing clause."""
        text = self.fill(template, topic, fixed)
        if self.rng.random() < 0.2:
            keeps_case = template.startswith(("{person}", "{place}", "{place2}")) or text.startswith("I ")
            body = text if keeps_case else text[0].lower() + text[1:]
            text = f"{self.rng.choice(lx.OPENERS)} {body}"
        if self.rng.random() < 0.15 and text.endswith(".") and '"' not in text and "'" not in text[-3:]:
            text = f"{text[:-1]}, {self.rng.choice(lx.CLOSERS)}."
        return text

    def _template_pool(self, topic: str) -> list[str]:
        pool = list(lx.TOPICS[topic]["templates"])
        pool += self.rng.sample(lx.GENERIC_TEMPLATES, 5)
        self.rng.shuffle(pool)
        return pool

    def anchor(self, topic: str) -> dict[str, str]:
        """Fixed slots that keep one document about one place and one person."""
        return {"place": self.place(), "person": self.person()}

    def title(self, topic: str, fixed: dict[str, str]) -> str:
        return self.fill(self.rng.choice(TOPIC_TITLES[topic]), topic, fixed)

    def article(self, topic: str, n_paragraphs: int, fixed: dict[str, str] | None = None) -> list[str]:
        fixed = fixed if fixed is not None else self.anchor(topic)
        pool: list[str] = []
        paras = [self.paragraph(topic, fixed, pool=pool) for _ in range(n_paragraphs)]
        if self.rng.random() < 0.15:
            paras.insert(self.rng.randint(0, len(paras)), self.rng.choice(lx.EN_PARAGRAPHS))
        return paras

    # -- low quality -------------------------------------------------------------------------
    def mediocre_lines(self, topic: str, n: int) -> list[str]:
        out = []
        for _ in range(n):
            r = self.rng.random()
            if r < 0.4:
                out.append(self.rng.choice(lx.MEDIOCRE_LINES))
            elif r < 0.7:
                s = self.sentence(topic)
                out.append(s.lower().rstrip(".") + self.rng.choice(["!!", "...", " lol", "!!!", ""]))
            else:
                out.append(f"{self.rng.choice(lx.FIRST_NAMES).lower()}{self.rng.randint(1, 99)} says: "
                           + self.rng.choice(lx.MEDIOCRE_LINES))
        return out

    def spam_lines(self, n: int) -> list[str]:
        product = self.rng.choice(lx.SPAM_PRODUCTS)
        out = []
        for _ in range(n):
            words = [self.rng.choice(lx.SPAM_WORDS) for _ in range(self.rng.randint(4, 12))]
            words.insert(self.rng.randint(0, len(words)), product)
            out.append(" ".join(words))
        return out

    def seo_lines(self, n: int) -> tuple[str, list[str]]:
        product = self.rng.choice(lx.SPAM_PRODUCTS)
        place = self.place()
        title = f"Top {self.rng.randint(5, 25)} Best {product.title()} in 2099 - Reviews & Buying Guide"
        lines = [title]
        stuffing = [
            f"If you are looking for the best {product}, this best {product} guide is the best place to find the best {product}.",
            f"best {product} near me | cheap {product} {place} | {product} deals today",
            f"Buy {product} online. {product.title()} for sale. Discount {product}. {product.title()} coupon.",
            f"Our experts reviewed {self.rng.randint(20, 400)} {product} so you do not have to.",
            f"Which {product} is best? Read our {product} reviews before you buy {product}.",
            f"{product.title()} {place} {product} {place} cheap {product} best {product} 2099",
            "Last updated: 2099-01-01. As an affiliate we earn from qualifying purchases.",
        ]
        for _ in range(n):
            lines.append(self.rng.choice(stuffing))
        return title, lines

    # -- other languages ---------------------------------------------------------------------
    def foreign_paragraph(self, lang: str, lo: int = 3, hi: int = 6, place: str | None = None) -> str:
        if lang in ("ru", "zh"):
            pool = lx.RU if lang == "ru" else lx.ZH
            k = self.rng.randint(2, len(pool))
            sep = " " if lang == "ru" else ""
            return sep.join(self.rng.sample(pool, k))
        table = {"de": lx.DE, "fr": lx.FR, "es": lx.ES}[lang]
        if self.rng.random() < 0.15:
            return self.rng.choice(table["paragraphs"])
        n = self.rng.randint(lo, hi)
        fixed = {"place": place or self.place()}
        picks = self.rng.sample(table["templates"], min(n, len(table["templates"])))
        return " ".join(self.fill(t, None, fixed) for t in picks)

    def noise(self, n_chars: int) -> str:
        """Binary-looking junk: what a mis-decoded or corrupt page turns into (valid UTF-8)."""
        alphabet = "ÿþýüûúùø÷öõôóòñðïîíìëêéèçæåäãâáàßÞÝÜÛÚÙØ×ÖÕÔÓÒÑÐ\ufffd§¤¢£¥¦¨©ª«¬®¯°±²³´µ¶·¸¹º»¼½¾¿"
        alphabet += "0123456789ABCDEFabcdef%$#@!^&*~|\\/<>{}[]"
        chars = [self.rng.choice(alphabet) for _ in range(n_chars)]
        for i in range(0, n_chars, self.rng.randint(60, 120)):
            chars[i] = "\n"
        return "".join(chars).strip()
