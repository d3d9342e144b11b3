"""Throwaway: Whisper's block-2 and block-3 outputs per frame (averaged over pairs of frames, 25 per
second, float16) for every clip of the five corpora and the Opus copies of the lossless ones, into
runs/exp/wframes/{index}.npy and {index}_opus.npy (index: read_corpora's order, as member_probs.py).
The shipped encoder's graph is read with those two tensors added as outputs."""
import os, sys, numpy as np
from pathlib import Path
from concurrent.futures import ProcessPoolExecutor
OUT = Path("runs/exp/wframes"); OUT.mkdir(parents=True, exist_ok=True)
D = "../shared/data/"
_sess = None
def session():
    global _sess
    if _sess is None:
        import onnx, onnxruntime as ort
        m = onnx.load("src/avemotion/models/whisper_encoder.onnx")
        for t in ("/blocks.1/Add_3_output_0", "/blocks.2/Add_3_output_0"):
            m.graph.output.append(onnx.helper.make_tensor_value_info(t, onnx.TensorProto.FLOAT, None))
        o = ort.SessionOptions(); o.intra_op_num_threads = 1
        _sess = ort.InferenceSession(m.SerializeToString(), o, providers=["CPUExecutionProvider"])
    return _sess
def frames(y):
    from avemotion.speech.features import trim_silence, whisper_mel
    mel = whisper_mel(trim_silence(y))[:, :3000]
    _, b2, b3 = session().run(None, {"mel": mel[None]})
    f = np.concatenate([b2[0], b3[0]], axis=1)
    n = len(f) // 2 * 2
    f = f[:n].reshape(-1, 2, f.shape[1]).mean(1) if n >= 2 else f
    return f.astype(np.float16)
def job(args):
    i, path, opus = args
    from avemotion.media import load_audio
    from avemotion.training.features import codec_roundtrip
    tgt = OUT / (f"{i}_opus.npy" if opus else f"{i}.npy")
    if tgt.exists(): return
    y = load_audio(path)
    np.save(tgt, frames(codec_roundtrip(y, "opus32") if opus else y))
if __name__ == "__main__":
    from avemotion.datasets import read_corpora
    items = read_corpora([D + c for c in ["ravdess_speech_16k", "casia_speech_16k", "emovo_speech_16k", "nemo_speech_16k", "ased_speech_16k"]])
    lossless = {"ravdess", "casia", "emovo"}
    jobs = [(i, str(it.path), False) for i, it in enumerate(items)]
    jobs += [(i, str(it.path), True) for i, it in enumerate(items) if str(it.corpus).lower() in lossless]
    print(len(jobs), sorted({str(it.corpus) for it in items}), flush=True)
    with ProcessPoolExecutor(2) as pool:
        for k, _ in enumerate(pool.map(job, jobs, chunksize=16)):
            if k % 1000 == 0: print(k, flush=True)
    print("done")
