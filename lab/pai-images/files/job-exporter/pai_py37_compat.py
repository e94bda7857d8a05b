"""Python 3.7 behaviour job-exporter relies on, for the stand-in image's Python 3.11.

OpenPAI's job-exporter ran on python:3.7; its network.py calls array.array.tostring(), which
Python 3.9 removed (tobytes() is the same). The array module is replaced by one whose array type
has the old names again; everything else is the original module's. Loaded at start-up by
pai_py37_compat.pth, in this image only.
"""
import array as _array
import sys
import types


class _Array(_array.array):
    """array.array with the pre-3.9 tostring()/fromstring() aliases."""

    def tostring(self):
        return self.tobytes()

    def fromstring(self, data):
        return self.frombytes(data)


_module = types.ModuleType("array", _array.__doc__)
_module.__dict__.update({name: getattr(_array, name) for name in dir(_array) if not name.startswith("__")})
_module.array = _Array
_module.ArrayType = _Array
sys.modules["array"] = _module
