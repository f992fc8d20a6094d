"""Recording: mitmproxy streams each response through untouched while the chunktape addon
notes every chunk's bytes and arrival time, then writes the finished interaction.

    wire -> addon (capture.py: timing; decoding.py: gzip/br) -> writer.py (atomic, redacted) -> cassette

`Recorder` (process.py) runs `chunktape record` (session.py) in a child process; the addon
also loads into plain mitmproxy: `mitmdump -s chunktape/recorder/addon.py`.
"""

from chunktape.recorder.process import Recorder

__all__ = ["Recorder"]
