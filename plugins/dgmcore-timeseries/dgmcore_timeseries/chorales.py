"""The Bach chorales as 88-key binary piano rolls, one frame per quarter note.

Built from the 371 four-part chorales (Riemenschneider's numbering) that the
``music21`` corpus ships; nothing is downloaded. Each piece is parsed once and
the rolls are cached under the user cache directory (``platformdirs``), keyed
by music21's version, so later loads take a fraction of a second.

A frame is one quarter note (the frame rate of the JSB chorales of
Boulanger-Lewandowski et al. 2012): key ``k`` (MIDI pitch ``21 + k``, A0 to C8)
is on in frame ``i`` when a note of that pitch sounds at the beat ``i`` (quarter
notes from the first note), so each voice gives at most one key per frame and
passing notes between beats are not seen. The split is by piece and fixed: a piece goes to train, valid
or test by the CRC-32 of its corpus name (3 : 1 : 1).
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from dgmcore.errors import DGMError

__all__ = [
    "KEYS", "LOWEST_PITCH", "Chorales", "batches", "corpus_names", "independent_keys_nll", "load_chorales",
    "pad", "piano_roll", "split_of",
]

KEYS = 88
LOWEST_PITCH = 21  # MIDI A0
SPLITS = ("train", "valid", "test")
FORMAT = 1  # bumped whenever the encoding changes, so an old cache is never read


def split_of(name: str) -> str:
    """The fixed split of a piece (by the CRC-32 of its name: 3/5 train, 1/5 valid, 1/5 test)."""
    return ("train", "train", "train", "valid", "test")[zlib.crc32(name.encode()) % 5]


def piano_roll(score: Any) -> np.ndarray:
    """A ``(frames, 88)`` 0/1 array of a music21 stream, sampled at each quarter-note beat.

    Frame ``i`` holds the pitches sounding at ``i`` quarters after the first
    note: a note from ``a`` to ``b`` is on in the frames ``a <= i < b``.

    Example:
        >>> from music21 import chord, note, stream
        >>> s = stream.Stream()
        >>> s.insert(0.0, note.Note("C4", quarterLength=1.0))
        >>> s.insert(1.0, chord.Chord(["E4", "G4"], quarterLength=1.5))
        >>> roll = piano_roll(s)
        >>> roll.shape, [[int(k) + 21 for k in frame.nonzero()[0]] for frame in roll]
        ((3, 88), [[60], [64, 67], [64, 67]])
    """
    notes = list(score.flatten().notes)
    start = min((float(n.offset) for n in notes), default=0.0)
    end = max((float(n.offset + n.duration.quarterLength) for n in notes), default=0.0)
    roll = np.zeros((int(np.ceil(end - start)), KEYS), dtype=np.uint8)
    for n in notes:
        if n.duration.quarterLength <= 0:  # grace notes
            continue
        a = float(n.offset) - start
        b = a + float(n.duration.quarterLength)
        for p in n.pitches:
            k = p.midi - LOWEST_PITCH
            if 0 <= k < KEYS:
                roll[int(np.ceil(a)) : int(np.ceil(b)), k] = 1
    return roll


@dataclass(frozen=True)
class Chorales:
    """The piano rolls by split: each a list of ``(T_i, 88)`` float tensors, with the pieces' names."""

    train: list[torch.Tensor]
    valid: list[torch.Tensor]
    test: list[torch.Tensor]
    names: dict[str, list[str]] = field(default_factory=dict)
    frame: str = "quarter note"

    def __getitem__(self, split: str) -> list[torch.Tensor]:
        if split not in SPLITS:
            raise DGMError(f"the Bach chorales have the splits {list(SPLITS)}, not {split!r}")
        return list(getattr(self, split))

    def summary(self) -> dict[str, tuple[int, int]]:
        """``{split: (pieces, frames)}``."""
        return {s: (len(self[s]), sum(len(r) for r in self[s])) for s in SPLITS}


def pad(rolls: Sequence[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """A right-padded batch ``(batch, T_max, 88)`` and its ``(batch, T_max)`` 0/1 mask.

    Example:
        >>> x, mask = pad([torch.ones(3, 88), torch.ones(1, 88)])
        >>> x.shape, mask.tolist()
        (torch.Size([2, 3, 88]), [[1.0, 1.0, 1.0], [1.0, 0.0, 0.0]])
    """
    longest = max(len(r) for r in rolls)
    x = rolls[0].new_zeros(len(rolls), longest, rolls[0].shape[-1])
    mask = rolls[0].new_zeros(len(rolls), longest)
    for i, r in enumerate(rolls):
        x[i, : len(r)], mask[i, : len(r)] = r, 1.0
    return x, mask


def batches(
    rolls: Sequence[torch.Tensor], size: int, generator: torch.Generator | None = None
) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Pieces bucketed by length into padded ``(x, mask)`` batches (little padding);
    the batch order shuffled when a generator is given.

    Example:
        >>> rolls = [torch.ones(n, 88) for n in (5, 2, 4, 3)]
        >>> [tuple(x.shape[:2]) for x, _ in batches(rolls, 2)]
        [(2, 3), (2, 5)]
    """
    order = sorted(range(len(rolls)), key=lambda i: len(rolls[i]))
    groups = [order[i : i + size] for i in range(0, len(order), size)]
    if generator is not None:
        groups = [groups[i] for i in torch.randperm(len(groups), generator=generator).tolist()]
    return [pad([rolls[i] for i in g]) for g in groups]


def independent_keys_nll(train: Sequence[torch.Tensor], test: Sequence[torch.Tensor]) -> float:
    """Negative log-likelihood per frame of ``test`` under independent keys with the training
    frequencies: the baseline a sequence model must beat (it knows no time and no harmony).

    Example:
        >>> round(independent_keys_nll([torch.eye(2)], [torch.eye(2)]), 4)  # 2 log 2
        1.3863
    """
    frames = torch.cat(list(train))
    p = ((frames.sum(0) + 0.5) / (len(frames) + 1.0)).clamp(1e-6, 1 - 1e-6)  # add-half smoothing
    x = torch.cat(list(test))
    return float(-(x * p.log() + (1 - x) * (1 - p).log()).sum() / len(x))


def _parse(names: Iterable[str], progress: bool) -> dict[str, np.ndarray]:
    from music21 import corpus

    names = list(names)
    try:
        from tqdm.auto import tqdm
    except ImportError:  # no progress bar without tqdm (the chorales extra installs it)
        return {name: piano_roll(corpus.parse(name)) for name in names}
    bar = tqdm(names, desc="Parsing the Bach chorales (once; cached)", unit="piece", disable=not progress)
    return {name: piano_roll(corpus.parse(name)) for name in bar}


def corpus_names(per_split: int | None = None) -> list[str]:
    """The corpus names of the chorales (``"bach/bwv269"``...), sorted; with ``per_split``,
    the first that many of each split (a small, fixed subset for quick runs)."""
    from music21.corpus import chorales

    names = sorted(chorales.Iterator(returnType="filename"))
    if per_split is None:
        return names
    return sorted(n for s in SPLITS for n in [m for m in names if split_of(m) == s][:per_split])


def load_chorales(
    pieces: Sequence[str] | None = None, cache_dir: str | Path | None = None, progress: bool = True
) -> Chorales:
    """The Bach chorales, parsed once and then read from the cache.

    Args:
        pieces: corpus names (``"bach/bwv269"``) to restrict to; default all 371.
        cache_dir: where the cache lives; default ``platformdirs.user_cache_dir("dgmcore")``
            (``~/.cache/dgmcore`` without platformdirs).
        progress: show a progress bar while parsing.

    Raises:
        DGMError: music21 is not installed (``pip install "dgmcore-timeseries[chorales]"``).
    """
    try:
        import music21
    except ImportError as err:
        raise DGMError(
            'the Bach chorales need music21: pip install "dgmcore-timeseries[chorales]"'
        ) from err
    if cache_dir is None:
        try:
            import platformdirs

            cache_dir = platformdirs.user_cache_dir("dgmcore")
        except ImportError:  # the chorales extra installs platformdirs
            cache_dir = Path.home() / ".cache" / "dgmcore"
    names = sorted(pieces) if pieces is not None else corpus_names()
    key = "all" if pieces is None else f"{zlib.crc32(' '.join(names).encode()):08x}"
    stem = f"bach-chorales-beats-v{FORMAT}-music21-{music21.__version__}"
    path = Path(cache_dir) / "timeseries" / f"{stem}-{key}.npz"
    everything = path.with_name(f"{stem}-all.npz")
    if pieces is not None and everything.exists():  # a subset of the full cache
        full = load_chorales(None, cache_dir, progress)
        keep = set(names)
        kept = {s: [i for i, n in enumerate(full.names[s]) if n in keep] for s in SPLITS}
        train, valid, test = ([full[s][i] for i in kept[s]] for s in SPLITS)
        return Chorales(train, valid, test, {s: [full.names[s][i] for i in kept[s]] for s in SPLITS})
    if path.exists():
        with np.load(path) as data:
            names = [str(n) for n in data["names"]]
            rolls = np.split(data["frames"], np.cumsum(data["lengths"])[:-1])
    else:
        parsed = _parse(names, progress)
        rolls = [parsed[n] for n in names]
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp.npz")
        np.savez_compressed(tmp, names=np.array(names), lengths=np.array([len(r) for r in rolls]),
                            frames=np.concatenate(rolls))
        tmp.replace(path)  # atomic: a concurrent reader never sees half a file
    by_split: dict[str, list[torch.Tensor]] = {s: [] for s in SPLITS}
    split_names: dict[str, list[str]] = {s: [] for s in SPLITS}
    for name, roll in zip(names, rolls, strict=True):
        s = split_of(name)
        by_split[s].append(torch.from_numpy(roll.astype(np.float32)))
        split_names[s].append(name)
    return Chorales(by_split["train"], by_split["valid"], by_split["test"], split_names)
