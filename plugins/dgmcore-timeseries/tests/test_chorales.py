"""The Bach chorales: piano rolls against hand-counted frames, the fixed split, the cache."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from dgmcore_timeseries import chorales
from music21 import chord, corpus, note, stream

from dgmcore import plugins

PIECES = ["bach/bwv269", "bach/bwv347", "bach/bwv267"]


def test_piano_roll_samples_the_notes_sounding_at_each_beat():
    s = stream.Stream()
    s.insert(0.0, note.Note("A0", quarterLength=0.5))  # key 0, sounds at beat 0
    s.insert(0.5, note.Note("C8", quarterLength=1.0))  # key 87, sounds at beat 1 only
    s.insert(1.25, note.Note("D4", quarterLength=0.5))  # between beats: not seen
    s.insert(2.0, chord.Chord(["C4", "E4"], quarterLength=2.0))
    roll = chorales.piano_roll(s)
    expected = np.zeros((4, 88), dtype=np.uint8)
    expected[0, 0] = expected[1, 87] = 1
    expected[2:4, 60 - 21] = expected[2:4, 64 - 21] = 1
    np.testing.assert_array_equal(roll, expected)


def test_a_real_chorale_has_four_voices_in_the_vocal_range():
    roll = chorales.piano_roll(corpus.parse("bach/bwv269"))
    score = corpus.parse("bach/bwv269")
    assert len(roll) == int(np.ceil(score.highestTime))
    active = roll.sum(1)
    assert active.max() <= 4 and np.median(active) == 4
    keys = roll.any(0).nonzero()[0] + chorales.LOWEST_PITCH
    assert keys.min() >= 36 and keys.max() <= 84  # bass C2 to soprano C6


def test_split_is_by_piece_and_fixed():
    names = [f"bach/bwv{i}" for i in range(1, 400)]
    splits = [chorales.split_of(n) for n in names]
    assert splits == [chorales.split_of(n) for n in names]
    share = {s: splits.count(s) / len(splits) for s in ("train", "valid", "test")}
    assert 0.5 < share["train"] < 0.7 and 0.12 < share["valid"] < 0.28 and 0.12 < share["test"] < 0.28


def test_parsed_once_then_read_from_the_cache(tmp_path, monkeypatch):
    first = chorales.load_chorales(PIECES, cache_dir=tmp_path, progress=False)
    files = list((tmp_path / "timeseries").glob("*.npz"))
    import music21

    assert len(files) == 1 and music21.__version__ in files[0].name
    monkeypatch.setattr(chorales, "_parse", lambda *a, **k: pytest.fail("parsed again"))
    again = chorales.load_chorales(PIECES, cache_dir=tmp_path, progress=False)
    for split in ("train", "valid", "test"):
        assert again.names[split] == first.names[split]
        assert all(torch.equal(a, b) for a, b in zip(again[split], first[split], strict=True))
        assert all(chorales.split_of(n) == split for n in again.names[split])
    total = sum(len(first[s]) for s in ("train", "valid", "test"))
    assert total == 3
    ref = torch.from_numpy(chorales.piano_roll(corpus.parse("bach/bwv347")).astype(np.float32))
    split = chorales.split_of("bach/bwv347")
    assert torch.equal(again[split][again.names[split].index("bach/bwv347")], ref)


def test_a_subset_is_read_from_the_full_cache(tmp_path, monkeypatch):
    monkeypatch.setattr(chorales, "corpus_names", lambda per_split=None: sorted(PIECES))
    full = chorales.load_chorales(cache_dir=tmp_path, progress=False)
    assert sum(n for n, _ in full.summary().values()) == 3
    monkeypatch.setattr(chorales, "_parse", lambda *a, **k: pytest.fail("parsed again"))
    part = chorales.load_chorales(["bach/bwv347"], cache_dir=tmp_path, progress=False)
    split = chorales.split_of("bach/bwv347")
    assert part.names[split] == ["bach/bwv347"] and sum(len(part[s]) for s in ("train", "valid", "test")) == 1
    assert torch.equal(part[split][0], full[split][full.names[split].index("bach/bwv347")])


def test_corpus_names_per_split_gives_each_split():
    names = chorales.corpus_names(2)
    assert len(names) == 6 and sorted(chorales.split_of(n) for n in names).count("test") == 2


def test_pad_masks_the_padding():
    x, mask = chorales.pad([torch.ones(2, 88), torch.ones(5, 88)])
    assert x.shape == (2, 5, 88) and x[0, 2:].abs().sum() == 0
    assert mask.sum(1).tolist() == [2.0, 5.0]


def test_registered_as_a_data_set(monkeypatch):
    # registered through a deferred wrapper (loading the plugin imports no NumPy parsing code):
    # calling it calls chorales.load_chorales with the same arguments
    seen = []
    monkeypatch.setattr(chorales, "load_chorales", lambda *a, **k: seen.append((a, k)) or "loaded")
    assert plugins.datasets()["bach_chorales"](refresh=True) == "loaded"
    assert seen == [((), {"refresh": True})]
