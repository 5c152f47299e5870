"""Reading answers out of generated text, and comparing them with the references.

- Closed-book QA: the generation is cut at the first stop string (newline, ".", ","), stripped,
  then compared with each alias after lowercasing and removing ASCII punctuation, which is
  lm-evaluation-harness's triviaqa setting (exact_match with ignore_case and
  ignore_punctuation); ``squad_normalize`` is the paper's wording (also drops articles and
  collapses whitespace), reported as ``em_squad``.
- GSM8K: the number after "The answer is" / "####" when the model wrote one, else the last
  number in the text; commas, "$" and a trailing ".0" do not matter.
- MATH: the content of the last ``\\boxed{...}`` (else of "The final answer is ..."), normalised
  the way Minerva / lm-eval's MATH task compare answers: spaces, ``\\left``/``\\right``,
  ``\\!``, units in ``\\text{}``, dollar signs, degrees and ``dfrac``/``tfrac`` spellings removed,
  ``\\frac12`` braced, ``a/b`` written as a fraction, a leading "x =" dropped.
"""

from __future__ import annotations

import re
import string
from collections import Counter
from collections.abc import Iterable, Sequence

_PUNCTUATION = str.maketrans("", "", string.punctuation)


def cut_at_stop(text: str, stops: Sequence[str]) -> str:
    """``text`` up to the first occurrence of any stop string."""
    end = len(text)
    for stop in stops:
        if stop:
            found = text.find(stop)
            if found != -1:
                end = min(end, found)
    return text[:end]


def harness_normalize(text: str) -> str:
    """lm-eval's exact_match with ignore_case and ignore_punctuation."""
    return text.lower().translate(_PUNCTUATION)


def squad_normalize(text: str) -> str:
    """Lowercase, no punctuation, no articles, single spaces (the paper's QA normalisation)."""
    text = harness_normalize(text)
    text = re.sub(r"\b(a|an|the)\b", " ", text)
    return " ".join(text.split())


def qa_match(prediction: str, answers: Iterable[str], normalize=harness_normalize) -> bool:
    """True when the (stripped) prediction equals any reference after normalisation."""
    predicted = normalize(prediction.strip())
    return any(predicted == normalize(answer) for answer in answers)


_NUMBER = re.compile(r"-?[\d,]*\.?\d+")
_STATED = re.compile(r"(?:[Tt]he (?:final )?answer is|####)\s*\$?\s*(-?[\d,]*\.?\d+)")


def _clean_number(text: str) -> str:
    text = text.replace(",", "").replace("$", "").strip()
    if "." in text:
        text = text.rstrip("0").rstrip(".") or "0"
    if text.startswith("-0") and text.strip("-0") == "":
        text = "0"
    return text


def gsm8k_answer(generation: str) -> str | None:
    """The final number of a GSM8K generation (normalised), or None if it has none."""
    stated = _STATED.findall(generation)
    if stated:
        return _clean_number(stated[-1])
    numbers = _NUMBER.findall(generation)
    return _clean_number(numbers[-1]) if numbers else None


def gsm8k_reference(answer: str) -> str:
    """The reference number of a GSM8K record ("18", or a full "... #### 18" answer)."""
    return gsm8k_answer(answer) or answer.strip()


def last_boxed(text: str) -> str | None:
    """Content of the last ``\\boxed{...}`` (or ``\\fbox{...}``), braces balanced; else None."""
    start = max(text.rfind("\\boxed"), text.rfind("\\fbox"))
    if start == -1:
        return None
    brace = text.find("{", start)
    if brace == -1:
        rest = text[start + len("\\boxed") :].strip()  # "\boxed 5"
        return rest.split()[0].rstrip("$.") if rest else None
    depth = 0
    for index in range(brace, len(text)):
        if text[index] == "{":
            depth += 1
        elif text[index] == "}":
            depth -= 1
            if depth == 0:
                return text[brace + 1 : index]
    return None


def math_answer(generation: str) -> str | None:
    """The final answer of a MATH generation: the last box, else "The final answer is X"."""
    boxed = last_boxed(generation)
    if boxed is not None:
        return boxed
    match = re.findall(r"[Ff]inal [Aa]nswer(?: is)?:?\s*\$?([^$\n]+?)\$?\s*(?:\.|$)", generation)
    return match[-1].strip() if match else None


def _brace_fracs(text: str) -> str:
    """\\frac12 -> \\frac{1}{2}, \\frac1{2} -> \\frac{1}{2}."""
    parts = text.split("\\frac")
    out = parts[0]
    for part in parts[1:]:
        out += "\\frac"
        if part.startswith("{") or len(part) < 2:
            out += part
            continue
        numerator, rest = part[0], part[1:]
        if rest.startswith("{"):
            out += "{" + numerator + "}" + rest
        else:
            out += "{" + numerator + "}{" + rest[0] + "}" + rest[1:]
    return out


def normalize_math(answer: str) -> str:
    """Canonical spelling of a MATH answer, so that equal answers compare equal as strings."""
    text = answer.strip().replace("\n", "").rstrip(".")
    text = text.replace("\\!", "").replace("\\\\", "\\")
    text = text.replace("tfrac", "frac").replace("dfrac", "frac")
    text = text.replace("\\left", "").replace("\\right", "")
    text = text.replace("^{\\circ}", "").replace("^\\circ", "")
    text = text.replace("\\$", "").replace("$", "")
    text = re.sub(r"\\text\{\s*[a-zA-Z ]*\}$", "", text.strip())  # a trailing unit
    text = re.sub(r"\\(?:text|mbox|mathrm)\{([^}]*)\}", r"\1", text)
    text = text.replace("\\%", "").replace("%", "")
    text = text.replace(" .", " 0.").replace("{.", "{0.")
    if text.startswith("."):
        text = "0" + text
    if re.match(r"^[a-zA-Z]\s*=", text) and len(text.split("=")[0].strip()) <= 2:
        text = text.split("=", 1)[1]
    text = _brace_fracs(text.replace(" ", ""))
    if text == "0.5":
        text = "\\frac{1}{2}"
    simple = re.fullmatch(r"(-?\d+)/(\d+)", text)
    if simple:
        text = f"\\frac{{{simple.group(1)}}}{{{simple.group(2)}}}"
    return text


def math_equal(prediction: str | None, reference: str) -> bool:
    return prediction is not None and normalize_math(prediction) == normalize_math(reference)


def majority(answers: Sequence[str | None]) -> str | None:
    """The most frequent extracted answer (first seen wins a tie); None if none was extracted."""
    counted = Counter(a for a in answers if a is not None)
    if not counted:
        return None
    best = max(counted.values())
    return next(a for a in answers if a is not None and counted[a] == best)
