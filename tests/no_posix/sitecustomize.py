"""Loaded by Python at start-up when this folder is on PYTHONPATH: tenderx's own modules cannot import
the POSIX-only standard modules, as on Windows (the standard library's platform branches are left alone)."""

import sys

POSIX_ONLY = {"fcntl", "resource", "termios", "tty", "pty", "pwd", "grp", "posix", "syslog", "crypt", "nis",
              "spwd", "_posixsubprocess"}


class _NoPosixForTenderx:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] not in POSIX_ONLY:
            return None
        frame = sys._getframe(1)
        while frame is not None and frame.f_code.co_filename.startswith("<frozen importlib"):
            frame = frame.f_back
        importer = str(frame.f_globals.get("__name__", "")) if frame is not None else ""
        if importer == "extractor" or importer.startswith("extractor."):
            raise ModuleNotFoundError(f"No module named {name!r} (blocked: POSIX-only)", name=name)
        return None


sys.meta_path.insert(0, _NoPosixForTenderx())
