"""The three embedded synthetic corpora: ``synth-emo``, ``synth-aux`` and ``synth-field``.

They mirror the data setting of Latif et al. (IEEE TAC 2022): a small emotion-labelled corpus,
a large auxiliary corpus labelled only with speaker and gender (the paper uses LibriSpeech),
and a second emotion corpus recorded differently for cross-corpus tests. The voice is the
source-filter synthesiser of :mod:`sertutor.data.voice` (Klatt 1980 formant cascade, Rosenberg
1971 glottal pulses, emotion correlates after Banse and Scherer 1996, Scherer 2003 and Juslin
and Laukka 2003); this module draws speakers, emotions, intensities and recording conditions
and writes the corpora to disk.

===============  ==========================================================================
corpus           content (sizes from :class:`~sertutor.config.SynthConfig`)
===============  ==========================================================================
``synth-emo``    ``emo_speakers`` speakers (alternating female / male), each saying
                 ``emo_utts_per_emotion`` utterances per core emotion (neutral, happy, sad,
                 angry) and ``emo_utts_per_extended`` per extra emotion (fear, disgust,
                 surprise, calm), graded intensity, one studio (light room, quiet).
``synth-aux``    ``aux_speakers`` x ``aux_utts_per_speaker`` utterances of mostly neutral read
                 speech with mild unlabelled variation; speaker and gender labels only; each
                 speaker records at home (own microphone, room and noise), like LibriSpeech.
``synth-field``  ``field_speakers`` other speakers, ``field_utts_per_emotion`` per core emotion,
                 weaker expression, band-limited microphones, noisier and more reverberant
                 rooms: the cross-corpus target.
===============  ==========================================================================

Speakers are disjoint across corpora (ids ``emo_s03``, ``aux_s117``, ``field_s02``);
``group`` is the speaker id. Each corpus's seed derives from ``SynthConfig.seed`` and the
corpus name (CRC-32), each speaker's from (corpus seed, speaker index) and each utterance's
from (corpus seed, speaker, emotion, repetition), so any utterance can be rendered alone, in
any order, in parallel, and comes out bit-identical on the same platform; a smaller preset's
speakers sound the same as a larger preset's.

Every emotion-labelled utterance has an ``intensity`` in [0, 1] (0 for neutral) and arousal,
valence and dominance ratings on 1-5: ``3 + intensity * (prototype - 3)`` plus annotator noise
(SD 0.3), rounded to 0.01. What the acoustics show is ``intensity`` times the speaker's
expressiveness and per-emotion style, so a mild speaker's "strong anger" sounds mild.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import stat
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np
import pandas as pd

from ..config import Config, SynthConfig, get_config
from ..storage import atomic_write_text
from ..storage import data_dir as default_data_dir
from .manifest import (EMOTIONS, EMOTIONS_EXTENDED, make_manifest, read_manifest_csv,
                       write_manifest_csv)
from .voice import (EMOTION_PROTOTYPES, SAMPLE_RATE, RecordingConditions, Speaker, make_speaker,
                    plan_utterance, record, render, synthesize_voice, voice_params)

__all__ = [
    "CORPORA",
    "SYNTH_VERSION",
    "UtteranceSpec",
    "corpus_speakers",
    "corpus_plan",
    "corpus_dir",
    "render_utterance",
    "iter_corpus",
    "generate_corpus",
    "write_corpus",
    "load_synth",
    "synthesize_voice",
]

#: The embedded corpora, by name.
CORPORA: tuple[str, ...] = ("synth-emo", "synth-aux", "synth-field")
#: Bumped whenever the synthesis changes, so corpora on disk are regenerated.
SYNTH_VERSION = 1

_PREFIX = {"synth-emo": "emo", "synth-aux": "aux", "synth-field": "field"}
_EXTRA = tuple(e for e in EMOTIONS_EXTENDED if e not in EMOTIONS)  # fear, disgust, surprise, calm


# ----------------------------------------------------------------------- corpus designs
@dataclass(frozen=True)
class _Design:
    """How a corpus is drawn (besides its sizes)."""

    expressiveness: tuple[float, float]  # uniform range of the speakers' expressiveness
    style_sd: float  # spread of per-speaker, per-emotion style factors
    intensity: tuple[float, float]  # uniform range of the (non-neutral) utterance intensity
    variation: float  # scale of emotion-unrelated utterance variation
    labelled: bool  # emotion labels in the manifest


_DESIGNS = {
    "synth-emo": _Design(expressiveness=(0.5, 1.3), style_sd=0.25, intensity=(0.5, 1.0),
                         variation=1.0, labelled=True),
    "synth-aux": _Design(expressiveness=(0.2, 0.8), style_sd=0.3, intensity=(0.05, 0.35),
                         variation=1.0, labelled=False),
    "synth-field": _Design(expressiveness=(0.3, 1.0), style_sd=0.35, intensity=(0.3, 0.9),
                           variation=1.2, labelled=True),
}
_AUX_NEUTRAL_SHARE = 0.75  # synth-aux: share of plain neutral read speech


@dataclass(frozen=True)
class UtteranceSpec:
    """Everything that determines one utterance (cheap to build, no audio)."""

    utt_id: str  # unique within the corpus
    corpus: str  # corpus name
    speaker: Speaker  # who speaks
    emotion: str  # the expressed emotion (hidden for synth-aux), from EMOTIONS_EXTENDED
    intensity: float  # in [0, 1], 0 for neutral
    labelled: bool  # whether the manifest shows emotion, intensity and A/V/D
    seed: tuple[int, ...]  # entropy of the utterance's SeedSequence
    recording: RecordingConditions  # microphone, room, noise, level
    variation: float  # scale of emotion-unrelated variation
    duration_range: tuple[float, float]  # (min, max) duration, seconds


def _check_corpus(name: str) -> str:
    if not isinstance(name, str) or name not in CORPORA:
        raise ValueError(f"name must be one of {list(CORPORA)}, got {name!r}")
    return name


def _resolve_preset(preset: str | Config | SynthConfig) -> tuple[str, SynthConfig]:
    """(preset name, SynthConfig) from a preset name, a Config or a SynthConfig."""
    if isinstance(preset, SynthConfig):
        name, cfg = "custom", preset
    elif isinstance(preset, Config):
        name, cfg = preset.name, preset.synth
    elif isinstance(preset, str):
        name, cfg = preset, get_config(preset).synth
    else:
        raise TypeError(f"preset must be a preset name, a Config or a SynthConfig, "
                        f"got {type(preset).__name__}")
    for field in ("emo_speakers", "aux_speakers", "field_speakers"):
        value = getattr(cfg, field)
        if not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"preset: SynthConfig.{field} must be an integer >= 1, got {value!r}")
    for field in ("emo_utts_per_emotion", "emo_utts_per_extended", "aux_utts_per_speaker",
                  "field_utts_per_emotion"):
        value = getattr(cfg, field)
        if not isinstance(value, (int, np.integer)) or value < 0:
            raise ValueError(f"preset: SynthConfig.{field} must be an integer >= 0, got {value!r}")
    if not 0.3 <= cfg.min_duration_s <= cfg.max_duration_s <= 30.0:
        raise ValueError("preset: SynthConfig needs 0.3 <= min_duration_s <= max_duration_s "
                         f"<= 30, got {cfg.min_duration_s} and {cfg.max_duration_s}")
    return name, cfg


def _corpus_seed(name: str, cfg: SynthConfig) -> tuple[int, int]:
    """Stable entropy of a corpus: (master seed, CRC-32 of the corpus name)."""
    return int(cfg.seed), zlib.crc32(name.encode("utf-8"))


def _width(n: int) -> int:
    return max(2, len(str(n - 1)))


def corpus_speakers(name: str, *, preset: str | Config | SynthConfig = "classroom"
                    ) -> list[Speaker]:
    """The speakers of a corpus, in index order (even index: female, odd: male)."""
    _check_corpus(name)
    _, cfg = _resolve_preset(preset)
    n = {"synth-emo": cfg.emo_speakers, "synth-aux": cfg.aux_speakers,
         "synth-field": cfg.field_speakers}[name]
    design = _DESIGNS[name]
    base = _corpus_seed(name, cfg)
    w = _width(n)
    return [make_speaker(np.random.default_rng([*base, 1, k]),
                         speaker_id=f"{_PREFIX[name]}_s{k:0{w}d}",
                         gender="female" if k % 2 == 0 else "male",
                         expressiveness=design.expressiveness, style_sd=design.style_sd)
            for k in range(n)]


def _recording(name: str, k: int, base: tuple[int, int]) -> RecordingConditions:
    """Recording conditions of speaker ``k`` of a corpus."""
    if name == "synth-emo":  # one studio for everyone: quiet, light room, flat microphone
        return RecordingConditions(name="studio", level_dbfs=-30.0, highpass_hz=70.0,
                                   lowpass_hz=7600.0, eq_freq_hz=4500.0, eq_gain_db=2.0,
                                   eq_q=0.8, snr_db=35.0, noise_color=1.0, rt60_s=0.18,
                                   drr_db=14.0, room_seed=base[1] % 2**31)
    rng = np.random.default_rng([*base, 3, k])
    if name == "synth-field":  # band-limited microphones, noisy reverberant rooms
        return RecordingConditions(
            name=f"field_s{k:02d}", level_dbfs=float(rng.uniform(-34.0, -30.0)),
            highpass_hz=float(rng.uniform(150.0, 250.0)),
            lowpass_hz=float(rng.uniform(3800.0, 5500.0)),
            eq_freq_hz=float(rng.uniform(1500.0, 2500.0)),
            eq_gain_db=float(rng.uniform(3.0, 7.0)), eq_q=1.2,
            snr_db=float(rng.uniform(10.0, 20.0)), noise_color=float(rng.uniform(0.5, 1.5)),
            hum_db=-25.0 if rng.random() < 0.5 else -math.inf,
            rt60_s=float(rng.uniform(0.35, 0.6)), drr_db=float(rng.uniform(2.0, 7.0)),
            room_seed=int(rng.integers(2**31)))
    # synth-aux: everyone records at home, with their own microphone
    reverb = rng.random() > 0.3
    return RecordingConditions(
        name=f"home_s{k:03d}", level_dbfs=float(rng.uniform(-32.0, -24.0)),
        highpass_hz=float(rng.uniform(40.0, 150.0)), lowpass_hz=float(rng.uniform(5500.0, 7800.0)),
        eq_freq_hz=float(rng.uniform(800.0, 5000.0)), eq_gain_db=float(rng.uniform(-5.0, 5.0)),
        eq_q=float(rng.uniform(0.7, 2.0)), snr_db=float(rng.uniform(18.0, 40.0)),
        noise_color=float(rng.uniform(0.0, 2.0)),
        rt60_s=float(rng.uniform(0.1, 0.35)) if reverb else 0.0,
        drr_db=float(rng.uniform(5.0, 15.0)), room_seed=int(rng.integers(2**31)))


def corpus_plan(name: str, *, preset: str | Config | SynthConfig = "classroom"
                ) -> list[UtteranceSpec]:
    """Every utterance of a corpus, without audio (cheap): what :func:`generate_corpus` renders.

    Returns
    -------
    list of UtteranceSpec
        In speaker order, then emotion (EMOTIONS_EXTENDED order), then repetition.
    """
    _check_corpus(name)
    _, cfg = _resolve_preset(preset)
    design = _DESIGNS[name]
    base = _corpus_seed(name, cfg)
    durations = (float(cfg.min_duration_s), float(cfg.max_duration_s))
    specs: list[UtteranceSpec] = []
    for k, spk in enumerate(corpus_speakers(name, preset=cfg)):
        rec = _recording(name, k, base)
        if name == "synth-aux":
            reps = [("", r) for r in range(cfg.aux_utts_per_speaker)]
        elif name == "synth-emo":
            reps = [(e, r) for e in EMOTIONS for r in range(cfg.emo_utts_per_emotion)]
            reps += [(e, r) for e in _EXTRA for r in range(cfg.emo_utts_per_extended)]
        else:
            reps = [(e, r) for e in EMOTIONS for r in range(cfg.field_utts_per_emotion)]
        rw = _width(max(cfg.aux_utts_per_speaker if name == "synth-aux" else
                        cfg.field_utts_per_emotion if name == "synth-field" else
                        max(cfg.emo_utts_per_emotion, cfg.emo_utts_per_extended), 1))
        for emotion, r in reps:
            e_idx = EMOTIONS_EXTENDED.index(emotion) if emotion else len(EMOTIONS_EXTENDED)
            seed = (*base, 2, k, e_idx, r)
            pick = np.random.default_rng([*seed, 0])  # emotion and intensity draw
            if name == "synth-aux":  # hidden, mild variation
                if pick.random() < _AUX_NEUTRAL_SHARE:
                    emotion = "neutral"
                else:
                    emotion = EMOTIONS_EXTENDED[1 + int(pick.integers(len(EMOTIONS_EXTENDED) - 1))]
            intensity = 0.0 if emotion == "neutral" else float(pick.uniform(*design.intensity))
            uid = (f"{spk.speaker_id}_{r:0{rw}d}" if name == "synth-aux"
                   else f"{spk.speaker_id}_{emotion}_{r:0{rw}d}")
            specs.append(UtteranceSpec(utt_id=uid, corpus=name, speaker=spk, emotion=emotion,
                                       intensity=round(intensity, 3), labelled=design.labelled,
                                       seed=seed, recording=rec, variation=design.variation,
                                       duration_range=durations))
    return specs


def render_utterance(spec: UtteranceSpec, *, audio: bool = True
                     ) -> tuple[np.ndarray | None, dict]:
    """Render one utterance of a plan and its manifest row.

    Parameters
    ----------
    spec : UtteranceSpec
    audio : bool
        False: only the manifest row (transcript, ratings), no synthesis.

    Returns
    -------
    waveform : numpy.ndarray, shape (n_samples,), float32 in (-1, 1), or None
    row : dict
        Manifest fields (without ``path`` and ``audio``).
    """
    meta_ss, audio_ss = np.random.SeedSequence(list(spec.seed)).spawn(2)
    meta = np.random.default_rng(meta_ss)
    duration = float(meta.uniform(*spec.duration_range))
    params = voice_params(spec.speaker, spec.emotion, spec.intensity, variation=meta,
                          variation_scale=spec.variation)
    plan = plan_utterance(params, duration_s=duration, rng=meta)
    row = {"utt_id": spec.utt_id, "corpus": spec.corpus, "speaker": spec.speaker.speaker_id,
           "gender": spec.speaker.gender, "group": spec.speaker.speaker_id,
           "transcript": plan.text}
    if spec.labelled:
        proto = EMOTION_PROTOTYPES[spec.emotion]
        noise = meta.normal(0.0, 0.3, size=3)
        dims = [round(float(np.clip(3.0 + spec.intensity * (p - 3.0) + d, 1.0, 5.0)), 2)
                for p, d in zip((proto.arousal, proto.valence, proto.dominance), noise)]
        row.update(emotion=spec.emotion if spec.emotion in EMOTIONS else "",
                   emotion_extended=spec.emotion, intensity=spec.intensity,
                   arousal=dims[0], valence=dims[1], dominance=dims[2])
    if not audio:
        return None, row
    rng = np.random.default_rng(audio_ss)
    dry, _ = render(plan, params, spec.speaker, rng=rng, sample_rate=SAMPLE_RATE,
                    level_dbfs=spec.recording.level_dbfs)
    wave = record(dry, spec.recording, rng, sample_rate=SAMPLE_RATE).astype(np.float32)
    return wave, row


def _progress(items, enabled: bool, desc: str):
    if not enabled:
        return items
    from tqdm.auto import tqdm

    return tqdm(items, desc=desc, unit="utt")


# ----------------------------------------------------------------------- public API
def generate_corpus(name: str, *, preset: str | Config | SynthConfig = "classroom",
                    progress: bool = False) -> pd.DataFrame:
    """Synthesise a corpus in memory.

    Parameters
    ----------
    name : {"synth-emo", "synth-aux", "synth-field"}
    preset : str, Config or SynthConfig
        Corpus sizes: a preset name (``tiny``, ``classroom``, ``paper``), a ``Config`` (its
        ``.synth``) or a ``SynthConfig``.
    progress : bool
        Show a tqdm progress bar.

    Returns
    -------
    pandas.DataFrame
        A manifest (:func:`~sertutor.data.manifest.make_manifest`); ``audio`` holds float32
        arrays of shape (n_samples,) at 16 kHz, ``path`` is empty.
    """
    _check_corpus(name)
    _resolve_preset(preset)
    rows = []
    for spec in _progress(corpus_plan(name, preset=preset), progress, name):
        wave, row = render_utterance(spec)
        row.update(path="", audio=wave)
        rows.append(row)
    return make_manifest(rows)


def _fingerprint(name: str, preset_name: str, cfg: SynthConfig) -> dict:
    return {"corpus": name, "preset": preset_name, "synth": dataclasses.asdict(cfg),
            "synth_version": SYNTH_VERSION, "sample_rate": SAMPLE_RATE}


def corpus_dir(name: str, *, preset: str | Config | SynthConfig = "classroom",
               data_dir: str | Path | None = None) -> Path:
    """``<data_dir>/corpora/<preset name>/<name>``: where :func:`write_corpus` writes."""
    _check_corpus(name)
    preset_name, _ = _resolve_preset(preset)
    root = Path(data_dir) if data_dir is not None else default_data_dir()
    return root / "corpora" / preset_name / name


def _read_json(path: Path) -> dict | None:
    """The JSON in ``path``; None when it is missing or not valid JSON (an interrupted write).

    A file that exists but cannot be read (another user's corpus without read permission)
    raises ``PermissionError`` with what to do: it must never be taken as "changed", which
    would delete the corpus and regenerate it.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as exc:
        if not path.exists() or path.is_dir():
            return None
        raise _unreadable(path, exc) from None
    try:
        data = json.loads(text)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def _unreadable(path: Path, exc: OSError) -> PermissionError:
    folder = path.parent
    return PermissionError(
        f"cannot read {path} ({exc.strerror or exc}): the synthetic corpus in {folder} was "
        f"written by another user or with other permissions; nothing was deleted. Ask its "
        f"owner to make it readable (chmod -R a+rX {folder}) or set SERTUTOR_DATA_DIR to a "
        f"folder of your own")


def _unwritable(folder: Path, exc: OSError) -> PermissionError:
    return PermissionError(
        f"cannot write the synthetic corpus in {folder} ({exc.strerror or exc}: "
        f"{exc.filename}); it is incomplete or of another version and must be (re)generated. "
        f"Ask its owner to regenerate it (sertutor synth) or set SERTUTOR_DATA_DIR to a folder "
        f"of your own")


def _wav_intact(path: Path, expected_size: int | None) -> bool:
    """Whether ``path`` is a complete WAV file: of the size recorded when it was written, or
    (corpora written before sizes were recorded) as long as its RIFF header says."""
    try:
        st = path.stat()
    except OSError:
        return False
    if not stat.S_ISREG(st.st_mode):
        return False
    if expected_size is not None:
        return st.st_size == expected_size
    try:
        with open(path, "rb") as handle:
            head = handle.read(12)
    except OSError:
        return True  # unreadable here: leave it to the loader to report, never overwrite
    if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        return False
    return int.from_bytes(head[4:8], "little") + 8 <= st.st_size


def write_corpus(name: str, *, preset: str | Config | SynthConfig = "classroom",
                 data_dir: str | Path | None = None, force: bool = False,
                 progress: bool = True) -> Path:
    """Synthesise a corpus to WAV files and a manifest, unless it is already there.

    Layout: ``<data_dir>/corpora/<preset>/<name>/`` holds ``wav/<utt_id>.wav`` (16-bit PCM,
    16 kHz mono), ``synth_config.json`` (the fingerprint: corpus, preset, sizes, synthesiser
    version) and ``manifest.csv`` (paths relative to the folder), written last as the
    completion marker.

    A second call with the same fingerprint returns at once. A changed fingerprint (or
    ``force``) regenerates everything; missing WAV files (e.g. an interrupted run) and files
    whose size differs from the one recorded in the fingerprint when they were written (cut or
    replaced by hand) are rendered again and the intact ones kept (they are bit-identical by
    construction). A corpus that cannot be read or written (another user's) raises
    ``PermissionError`` saying what to do; it is never deleted.

    Parameters
    ----------
    name : {"synth-emo", "synth-aux", "synth-field"}
    preset : str, Config or SynthConfig
    data_dir : path, optional
        Root folder (default :func:`sertutor.storage.data_dir`).
    force : bool
        Regenerate even if the corpus is complete.
    progress : bool
        Show a tqdm progress bar while rendering.

    Returns
    -------
    pathlib.Path
        The manifest CSV.
    """
    # deferred: `import sertutor.data.synth` needs no soundfile until a corpus is written
    from ..audio import write_wav

    _check_corpus(name)
    preset_name, cfg = _resolve_preset(preset)
    folder = corpus_dir(name, preset=preset, data_dir=data_dir)
    manifest_path = folder / "manifest.csv"
    fp_path = folder / "synth_config.json"
    wav_dir = folder / "wav"
    fingerprint = _fingerprint(name, preset_name, cfg)
    specs = corpus_plan(name, preset=cfg)
    stored = _read_json(fp_path) or {}
    sizes = stored.get("sizes") if isinstance(stored.get("sizes"), dict) else {}
    same = not force and {k: v for k, v in stored.items() if k != "sizes"} == fingerprint

    def intact(spec: UtteranceSpec) -> bool:
        size = sizes.get(spec.utt_id)
        return _wav_intact(wav_dir / f"{spec.utt_id}.wav",
                           size if isinstance(size, int) and same else None)

    if same and manifest_path.is_file() and all(intact(s) for s in specs):
        if not os.access(manifest_path, os.R_OK):
            raise _unreadable(manifest_path, PermissionError(13, "Permission denied"))
        return manifest_path
    try:
        # from here on the folder is incomplete: drop the completion marker first
        manifest_path.unlink(missing_ok=True)
        if not same:
            fp_path.unlink(missing_ok=True)
            if wav_dir.is_dir():
                for old in wav_dir.glob("*.wav"):
                    old.unlink()
            wav_dir.mkdir(parents=True, exist_ok=True)
            atomic_write_text(fp_path, json.dumps(fingerprint, indent=2, sort_keys=True))
            sizes = {}
        wav_dir.mkdir(parents=True, exist_ok=True)
        rows, written = [], {}
        for spec in _progress(specs, progress, name):
            wav_path = wav_dir / f"{spec.utt_id}.wav"
            exists = intact(spec)  # a truncated or replaced file is rendered again
            wave, row = render_utterance(spec, audio=not exists)
            if not exists:
                write_wav(wav_path, wave, sample_rate=SAMPLE_RATE)
            written[spec.utt_id] = wav_path.stat().st_size
            row["path"] = f"wav/{spec.utt_id}.wav"
            rows.append(row)
        # the sizes let the next call tell a complete corpus from one whose files were cut
        atomic_write_text(fp_path, json.dumps({**fingerprint, "sizes": written}, indent=2,
                                              sort_keys=True))
        write_manifest_csv(make_manifest(rows), manifest_path)
    except PermissionError as exc:
        raise _unwritable(folder, exc) from None
    return manifest_path


def load_synth(name: str, *, preset: str | Config | SynthConfig = "classroom",
               data_dir: str | Path | None = None, progress: bool = False) -> pd.DataFrame:
    """A synthetic corpus from disk (generated first if needed), with absolute paths.

    Parameters
    ----------
    name : {"synth-emo", "synth-aux", "synth-field"}
    preset : str, Config or SynthConfig
    data_dir : path, optional
        Root folder (default :func:`sertutor.storage.data_dir`).
    progress : bool
        Progress bar if the corpus has to be generated.

    Returns
    -------
    pandas.DataFrame
        The manifest, ``path`` absolute, ``audio`` None.
    """
    path = write_corpus(name, preset=preset, data_dir=data_dir, progress=progress)
    return read_manifest_csv(path, corpus=name)


def iter_corpus(name: str, *, preset: str | Config | SynthConfig = "classroom"
                ) -> Iterator[tuple[np.ndarray, dict]]:
    """Yield ``(waveform, manifest row)`` one utterance at a time, without keeping them."""
    for spec in corpus_plan(name, preset=preset):
        yield render_utterance(spec)
