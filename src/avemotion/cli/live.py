"""``avemotion live``: faces from a webcam or a file, streamed frame by frame as JSON Lines."""

from __future__ import annotations

import argparse
import json

from .common import err


def add_parser(sub) -> None:
    from ..face.analyzer import FaceOptions
    from ..face.detect import DETECTORS

    d = FaceOptions()
    lv = sub.add_parser("live", help="faces from a webcam or a file, streamed frame by frame (JSON Lines)")
    lv.add_argument("--camera", type=int, default=0, help="camera index (default 0)")
    lv.add_argument("--source", default=None, help="read this video file instead of a camera")
    lv.add_argument("--fps", type=float, default=None, help="analyse at most this many frames a second")
    lv.add_argument("--smooth", type=float, default=1.0, help="time constant of the running state (s)")
    lv.add_argument("--max-frames", type=int, default=None, help="stop after this many frames read")
    lv.add_argument("--show", action="store_true", help="overlay window (needs a display and GUI OpenCV)")
    lv.add_argument("--detector", default=d.detector, choices=list(DETECTORS))
    lv.add_argument("--model", default=d.model)
    lv.set_defaults(func=run)


def _check(args: argparse.Namespace) -> None:
    from ..errors import OptionError, check_number

    if args.fps is not None:
        check_number("--fps (frames analysed a second)", args.fps, 0.01, 1000)
    if args.max_frames is not None and (check_number("--max-frames", args.max_frames, 1, 1e12) != int(args.max_frames)):
        raise OptionError(f"--max-frames must be a whole number, got {args.max_frames}")
    if args.source is not None:
        from ..media import check_file

        check_file(args.source)  # a FIFO or a device would block the capture forever


def run(args: argparse.Namespace) -> int:
    from ..live import LiveAnalyzer, camera_frames, gui_available

    if args.show and not gui_available():
        err(
            "--show needs a display and an OpenCV build with GUI support (pip install opencv-python "
            "in place of opencv-python-headless); streaming JSON Lines instead"
        )
        args.show = False
    _check(args)
    live = LiveAnalyzer(args.model, detector=args.detector, tau=args.smooth)
    step = 1.0 / args.fps if args.fps else 0.0
    next_t = 0.0
    source = args.source if args.source is not None else str(args.camera)
    for t, frame in camera_frames(source, args.max_frames):
        if t + 1e-6 < next_t:
            continue
        next_t = t + step
        out = live.step(frame, t)
        print(json.dumps(out.to_dict()), flush=True)
        if args.show:
            import cv2

            from ..report.draw import draw_live

            cv2.imshow("avemotion live (q quits)", draw_live(frame, out))
            if cv2.waitKey(1) & 0xFF == ord("q"):
                break
    return 0
