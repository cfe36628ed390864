"""Log-mel features: from waveforms to the segments a model reads, and back to sound.

The package follows torchaudio's split: each step is a plain function, and where a step
holds tensors (a window, a filterbank) a thin ``nn.Module`` wraps the same function with
them as buffers. One module per concern:

====================================  ===================================================
:mod:`~sertutor.features.logmel`      :func:`log_mel` (module form :class:`LogMel`):
                                      STFT, mel filterbank, decibels, per-utterance
                                      ``top_db`` clip, optional :func:`deltas`; batched on
                                      the CPU or a GPU. :func:`log_mel_librosa`: the same
                                      numbers with librosa, step by step.
                                      :func:`n_frames`; the settings (``AMIN``,
                                      ``MEL_SCALE``...) and ``FEATURE_VERSION``.
:mod:`~sertutor.features.normalise`   :class:`NormStats` (per corpus) and
                                      :class:`SpeakerNormStats` (per speaker): mean and
                                      standard deviation per channel and mel band.
:mod:`~sertutor.features.segments`    :func:`segment`: fixed-length (optionally
                                      overlapping) segments with a padding mask;
                                      :func:`n_segments`, :func:`segment_layout`.
:mod:`~sertutor.features.inverse`     :func:`log_mel_to_audio` (module form
                                      :class:`LogMelToAudio`): undo the decibels, invert
                                      the mel filterbank by least squares, and
                                      reconstruct the phase with Griffin-Lim; the widgets
                                      play what a decoder generates this way.
:mod:`~sertutor.features.prosody`     :func:`prosody_descriptors`: 18 eGeMAPS-like
                                      numbers per utterance (pitch, loudness, spectral
                                      balance, voicing, tempo) with librosa;
                                      :func:`standardise_by_speaker`. A decoder target
                                      (``model.decoder_prosody``).
====================================  ===================================================

In the order a corpus goes through them::

    feats, n = log_mel(waveforms, config=cfg, lengths=lengths)    # (B, C, n_mels, T), (B,)
    stats = NormStats.fit([f[:, :, :t] for f, t in zip(feats, n)]) # (C, n_mels) mean / std
    segs, mask = segment(stats.apply(feats[0, :, :, :n[0]]),       # (S, C, n_mels, frames)
                         frames=cfg.segment_frames, hop=cfg.segment_hop)
    audio = log_mel_to_audio(stats.invert(segs[0])[0], config=cfg) # (N,): listen to it

:mod:`sertutor.data` runs these steps over whole corpora (with a feature cache). Every name
is importable from here, ``from sertutor.features import log_mel``, wherever it lives.

References
----------
- Y.-Y. Yang et al., "TorchAudio: building blocks for audio and speech processing", ICASSP
  2022 (the functional / transform split).
- The modules cite the sources of each step: the mel scale and deltas (:mod:`.logmel`),
  speaker normalisation (:mod:`.normalise`), Griffin-Lim (:mod:`.inverse`).
"""

import importlib

#: Where each public name lives. Importing ``sertutor.features`` loads none of its modules
#: until a name is used (PEP 562), so ``sertutor.features.prosody``, which needs only numpy
#: and librosa, can be imported without torch: a worker process computing descriptors
#: (:func:`sertutor.data.prosody.corpus_prosody`) then costs about 250 MB, not 500-750.
_WHERE = {
    **dict.fromkeys(("AMIN", "PAD_MODE", "MEL_SCALE", "MEL_NORM", "DELTA_WIN",
                     "FEATURE_VERSION", "n_frames", "log_mel", "LogMel", "log_mel_librosa",
                     "deltas"), "logmel"),
    **dict.fromkeys(("NormStats", "utterance_stats", "SpeakerNormStats"), "normalise"),
    **dict.fromkeys(("segment", "n_segments", "segment_layout"), "segments"),
    **dict.fromkeys(("LogMelToAudio", "log_mel_to_audio"), "inverse"),
    **dict.fromkeys(("PROSODY_NAMES", "prosody_descriptors", "rows_descriptors",
                     "standardise_by_speaker"), "prosody"),
}
_MODULES = frozenset(_WHERE.values())

__all__ = list(_WHERE)


def __getattr__(name: str):
    if name in _MODULES:  # ``sertutor.features.logmel`` without importing it first
        return importlib.import_module(f".{name}", __name__)
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{_WHERE[name]}", __name__), name)
    globals()[name] = value  # found once, then an ordinary attribute
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_WHERE) | _MODULES)
