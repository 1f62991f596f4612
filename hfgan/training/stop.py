"""A graceful stop for training loops: the first Ctrl-C (or SIGTERM) asks, the second insists.

    with GracefulStop() as stop:
        while not stop.requested:
            train_one_step()
        save_everything()  # a second Ctrl-C here raises KeyboardInterrupt at once; atomic writes keep old files whole

The first signal only sets `requested` (the loop finishes its step, then checkpoints and releases); the second one
raises `KeyboardInterrupt` wherever the program is. Every file hfgan writes during training is written atomically,
so stopping at once leaves the last complete checkpoint and release as they were.
"""

from __future__ import annotations

import signal
import sys
import threading

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class GracefulStop:
    """Catch SIGINT and SIGTERM for the duration of a `with` block (main thread only; elsewhere it does nothing)."""

    def __init__(self, message: str = "finishing the current step, then saving a checkpoint and a release"):
        self.message = message
        self.requested: str | None = None  # the name of the signal that asked to stop
        self._previous: dict[int, object] = {}

    def __enter__(self) -> GracefulStop:
        if threading.current_thread() is threading.main_thread():
            for sig in SIGNALS:
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        self._previous.clear()

    def _handle(self, signum, frame) -> None:
        if self.requested is not None:
            self.__exit__()  # a third signal gets the default behaviour
            raise KeyboardInterrupt(f"second {signal.Signals(signum).name}: stopped at once")
        self.requested = signal.Signals(signum).name
        print(f"\n{self.requested} received: {self.message}. Press Ctrl-C again to stop at once.", file=sys.stderr,
              flush=True)
