"""StackExchange Posts.xml in the official dump schema, for three invented-content sites.

cooking: new schema (ContentLicense attribute, Tags as |a|b|), as a folder with Posts.xml.
astronomy: old schema (no ContentLicense, Tags as <a><b>), as a folder with Posts.xml.
gardening: new schema, only as gardening.stackexchange.com.7z (Posts.xml + Users.xml inside).
Every site has a question whose answers score 10, 9, 2 and -1 (string order "9" > "2" > "10"
differs from numeric order) and questions without answers; a tag-wiki row is not a Q or A.
"""

from __future__ import annotations

from pathlib import Path

from .common import SEED, rng_for, write_bytes
from .compose import Composer
from .sevenzip import seven_zip

SITES = {
    # site: (topic for prose, new schema?, as 7z only?, number of questions, tags)
    "cooking": ("cooking", True, False, 34, ["baking", "bread", "soup", "storage", "knives",
                                             "fermentation", "substitutions", "cast-iron"]),
    "astronomy": ("astronomy", False, False, 30, ["telescope", "observation", "comets", "moon",
                                                  "light-pollution", "double-stars", "photography"]),
    "gardening": ("gardening", True, True, 22, ["vegetables", "compost", "pests", "fruit-trees",
                                                "soil", "watering", "seeds"]),
}
QUESTION_TITLES = [
    "How do I stop my {noun} from {problem}?",
    "Why does my {noun} keep {problem}?",
    "Is it safe to leave {noun} overnight?",
    "What is the difference between these two kinds of {noun}?",
    "Best way to store {noun} for the winter?",
    "Can I replace {noun} with something cheaper?",
    "How long should {noun} rest before use?",
]
NOUNS = {
    "cooking": ["sourdough", "stock", "a cast-iron pan", "pickled cabbage", "rye bread", "butter",
                "onion tart", "barley soup"],
    "astronomy": ["a small refractor", "the eyepiece", "the finder scope", "a camera sensor",
                  "the mount", "a star chart", "the dew shield"],
    "gardening": ["tomato seedlings", "the compost heap", "garlic", "an apple tree", "leeks",
                  "a rainwater butt", "raised beds"],
}
PROBLEMS = ["going soft", "cracking", "smelling sour", "fogging up", "drying out", "turning brown",
            "wobbling", "attracting slugs"]
ANSWER_OPENERS = [
    "The short answer is yes, but with a caveat.",
    "This usually happens because of moisture.",
    "I had the same problem for years.",
    "It depends mostly on temperature.",
    "Check the simple things first.",
]


def _attr(value: str) -> str:
    """Escape an XML attribute value as the official dumps do (newlines as &#xA;)."""
    return (value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;").replace("\n", "&#xA;"))


def _row(attrs: list[tuple[str, str | int | None]]) -> str:
    return "  <row " + " ".join(f'{k}="{_attr(str(v))}"' for k, v in attrs if v is not None) + " />"


def _body(c: Composer, topic: str, question: bool) -> str:
    rng = c.rng
    parts = [f"<p>{'' if question else rng.choice(ANSWER_OPENERS) + ' '}{c.paragraph(topic, None, 2, 4)}</p>"]
    if rng.random() < 0.35:
        items = "".join(f"<li>{c.sentence(topic)}</li>\n" for _ in range(rng.randint(2, 4)))
        parts.append(f"<ul>\n{items}</ul>")
    if rng.random() < 0.25:
        code = rng.choice([
            f"temperature = {rng.randint(60, 250)}\nminutes = {rng.randint(5, 90)}\nprint(temperature, minutes)",
            f"ratio = {rng.randint(1, 9)} / {rng.randint(10, 20)}  # water to flour\nprint(round(ratio, 2))",
            f"magnitude = -2.5 * log10(flux / {rng.randint(100, 999)})",
        ])
        parts.append(f"<pre><code>{code.replace('&', '&amp;').replace('<', '&lt;').replace('>', '&gt;')}\n</code></pre>")
    if rng.random() < 0.3:
        parts.append(f"<p>{c.sentence(topic)} <em>{c.fill('{adj}')}</em> results are common.</p>")
    return "\n\n".join(parts) + "\n"


def _date(c: Composer, base_day: int) -> str:
    day = min(base_day, 27)
    return (f"2019-{1 + base_day // 28 % 12:02d}-{day + 1:02d}T{c.rng.randint(0, 23):02d}:"
            f"{c.rng.randint(0, 59):02d}:{c.rng.randint(0, 59):02d}.{c.rng.randint(0, 999):03d}")


def _site_xml(c: Composer, site: str) -> tuple[bytes, dict[str, int]]:
    topic, new_schema, _, n_questions, tags = SITES[site]
    rng = c.rng
    rows: list[str] = []
    next_id = 1
    stats = {"questions": 0, "answers": 0, "other": 0, "unanswered": 0}
    license_ = "CC BY-SA 4.0"
    for q in range(n_questions):
        qid = next_id
        next_id += 1
        if q == 3:
            scores = [10, 9, 2, -1]  # numeric vs string order differ
        elif q % 6 == 5:
            scores = []  # unanswered question
        else:
            scores = [rng.randint(-2, 15) for _ in range(rng.randint(1, 4))]
        answer_ids = list(range(next_id, next_id + len(scores)))
        next_id += len(scores)
        accepted = None
        if scores and rng.random() < 0.6:
            accepted = answer_ids[rng.randrange(len(answer_ids))]
        qtags = rng.sample(tags, rng.randint(1, 3))
        tag_attr = ("|" + "|".join(qtags) + "|") if new_schema else "".join(f"<{t}>" for t in qtags)
        title = c.fill(rng.choice(QUESTION_TITLES), None,
                       {"noun": rng.choice(NOUNS[site]), "problem": rng.choice(PROBLEMS)})
        rows.append(_row([
            ("Id", qid), ("PostTypeId", 1), ("AcceptedAnswerId", accepted),
            ("CreationDate", _date(c, q)), ("Score", rng.randint(-1, 30)),
            ("ViewCount", rng.randint(20, 5000)), ("Body", _body(c, topic, True)),
            ("OwnerUserId", rng.randint(2, 900)), ("LastActivityDate", _date(c, q + 1)),
            ("Title", title), ("Tags", tag_attr), ("AnswerCount", len(scores)),
            ("CommentCount", rng.randint(0, 6)),
            ("FavoriteCount", None if new_schema else rng.randint(0, 5)),
            ("ContentLicense", license_ if new_schema else None),
        ]))
        stats["questions"] += 1
        stats["unanswered"] += not scores
        for aid, score in zip(answer_ids, scores, strict=True):
            rows.append(_row([
                ("Id", aid), ("PostTypeId", 2), ("ParentId", qid),
                ("CreationDate", _date(c, q + 1)), ("Score", score),
                ("Body", _body(c, topic, False)), ("OwnerUserId", rng.randint(2, 900)),
                ("LastActivityDate", _date(c, q + 2)), ("CommentCount", rng.randint(0, 4)),
                ("ContentLicense", license_ if new_schema else None),
            ]))
            stats["answers"] += 1
    # A tag-wiki excerpt (PostTypeId 4): neither question nor answer, ingestion skips it.
    rows.append(_row([("Id", next_id), ("PostTypeId", 4), ("CreationDate", _date(c, 40)),
                      ("Score", 0), ("Body", f"<p>Questions about {tags[0]}.</p>\n"),
                      ("ContentLicense", license_ if new_schema else None)]))
    stats["other"] += 1
    xml = '\ufeff<?xml version="1.0" encoding="utf-8"?>\n<posts>\n' + "\n".join(rows) + "\n</posts>"
    return xml.encode("utf-8"), stats


def generate(out: Path, seed: int = SEED) -> dict[str, int]:
    counts: dict[str, int] = {}
    for site, (_, _, only_7z, _, _) in SITES.items():
        c = Composer(rng_for(f"stackexchange-{site}", seed))
        data, stats = _site_xml(c, site)
        host = f"{site}.stackexchange.com"
        if only_7z:
            users = b'\xef\xbb\xbf<?xml version="1.0" encoding="utf-8"?>\n<users>\n</users>'
            name = f"stackexchange/{host}.7z"
            write_bytes(out / name, seven_zip([("Posts.xml", data), ("Users.xml", users)]))
        else:
            name = f"stackexchange/{host}/Posts.xml"
            write_bytes(out / name, data)
        for k, v in stats.items():
            counts[f"{name}#{k}"] = v
    return counts
