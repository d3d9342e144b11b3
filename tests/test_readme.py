"""Every `avemotion` command the README shows runs, on stand-ins for the files it names.

The README's usage lines name files a user has (interview.mp4, talk.wav, photo.jpg...); here each
becomes a real file made from the bundled demo clips, in a temporary folder that is the working
directory, and each command must exit 0 without a traceback. Commands that need a camera, a server
or a cluster are left to their own tests.
"""

from __future__ import annotations

import re
import shlex
import shutil
from pathlib import Path

import numpy as np
import pytest

from .conftest import ROOT

SKIP = ("serve", "--ray")


def readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    out = []
    for block in re.findall(r"```bash\n(.*?)```", text, re.S):
        for line in block.splitlines():
            line = line.split("#", 1)[0].strip()
            for part in line.split("&&"):
                part = part.strip().removeprefix(".venv/bin/")
                if part.startswith("avemotion ") and not any(s in part.split() for s in SKIP):
                    if part.split()[1] == "live" and "--source" not in part:
                        continue  # a camera
                    out.append(part)
    return out


def stand_ins(root: Path) -> None:
    """The files and folders the README's commands name, made from the bundled demo clips."""
    import cv2
    import soundfile as sf

    from avemotion.cli import DEMO_SPEECH, DEMO_VIDEO
    from avemotion.media import iter_frames, load_audio

    shutil.copy(DEMO_VIDEO, root / "interview.mp4")
    shutil.copy(DEMO_VIDEO, root / "clip.mp4")
    sf.write(root / "talk.wav", load_audio(DEMO_SPEECH), 16000)
    frame = next(iter(iter_frames(DEMO_VIDEO, fps=1.0))).image
    cv2.imwrite(str(root / "photo.jpg"), frame)
    for folder in ("videos", "folder", "crops"):
        (root / folder).mkdir()
    shutil.copy(DEMO_VIDEO, root / "videos" / "a.mp4")
    shutil.copy(root / "talk.wav", root / "folder" / "a.wav")
    shutil.copy(DEMO_SPEECH, root / "folder" / "b.flac")
    cv2.imwrite(str(root / "crops" / "c.png"), cv2.resize(frame[:, : frame.shape[0]], (48, 48)))
    import av

    with av.open(str(root / "clip.mp3"), "w") as out:  # an MP3 at 44.1 kHz: what a user might have
        s = out.add_stream("mp3", rate=44100, layout="mono")
        from avemotion.media import resample

        y = resample(load_audio(DEMO_SPEECH), 16000, 44100)
        f = av.AudioFrame.from_ndarray(y[None].astype(np.float32), format="fltp", layout="mono")
        f.sample_rate = 44100
        for p in s.encode(f):
            out.mux(p)
        for p in s.encode(None):
            out.mux(p)


def test_the_readme_shows_commands():
    cmds = readme_commands()
    assert len(cmds) >= 10 and any(c.startswith("avemotion analyze") for c in cmds)


@pytest.mark.parametrize("command", readme_commands())
def test_a_readme_command_runs(command, tmp_path, monkeypatch, capsys):
    from avemotion.cli import main

    stand_ins(tmp_path)
    monkeypatch.chdir(tmp_path)
    argv = shlex.split(command)[1:]
    if argv[0] == "live":
        argv += ["--max-frames", "5"]
    code = main(argv)
    out, err = capsys.readouterr()
    assert code == 0, (command, err[-500:])
    assert "Traceback" not in out + err
