"""Throwaway: train `--model encoder` on the five corpora with another attention member
(consistency, seeds, crop), as `avemotion train speech` would, into runs/exp/NAME/, for
benchmarks/opus_agreement.py --model runs/exp/NAME/speech.onnx.

    python scripts/experiments/attn_model.py NAME CONSISTENCY SEEDS CROP
"""
import sys
from pathlib import Path

import avemotion.training.speech as S
from avemotion.datasets import read_corpora

D = "../shared/data/"
name, cons, seeds, crop = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
S.ATTENTION_MEMBERS["attention"] = S.AttentionMember(consistency=cons, seeds=seeds, crop=crop)
CORPORA = ["ravdess_speech_16k", "casia_speech_16k", "emovo_speech_16k", "nemo_speech_16k", "ased_speech_16k"]
items = read_corpora([D + c for c in CORPORA])
print(S.train_and_export(items, "encoder", Path("runs/exp") / name))
