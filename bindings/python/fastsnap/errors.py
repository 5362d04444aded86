# SPDX-License-Identifier: Apache-2.0
# fastsnap/errors.py: one Python exception class per FASTSNAP_E* code, each
# also a subclass of the built-in exception that means the same thing
# (not found -> LookupError, forbidden -> PermissionError, ...), and the
# function that turns a code plus message into the right one.

class FastsnapError(Exception):
    """A libfastsnap failure. `code` is the negative FASTSNAP_E* code,
    `name` fastsnap_strerror(code), `result` the run's Result when the
    call made one (it holds the plan and the message)."""
    code = -1

    def __init__(self, message, code=None, result=None):
        super().__init__(message)
        if code is not None:
            self.code = code
        self.message = message
        self.result = result


class InvalidArgument(FastsnapError, ValueError):
    code = -2


class OutOfMemory(FastsnapError, MemoryError):
    code = -3


class NotFound(FastsnapError, LookupError):
    code = -4


class Conflict(FastsnapError):
    code = -5


class Forbidden(FastsnapError, PermissionError):
    code = -6


class Unauthorized(FastsnapError, PermissionError):
    code = -7


class BadRequest(FastsnapError, ValueError):
    code = -8


class TooLarge(FastsnapError):
    code = -9


class Unavailable(FastsnapError, ConnectionError):
    code = -10


class TransportError(FastsnapError, ConnectionError):
    code = -11


class Timeout(FastsnapError, TimeoutError):
    code = -12


class ProtocolError(FastsnapError):
    code = -13


class CephError(FastsnapError, OSError):
    code = -14


class LocalIOError(FastsnapError, OSError):
    code = -15


class LocationDisallowed(Forbidden):
    code = -16


class LocationRejected(FastsnapError):
    code = -17


class Unsupported(FastsnapError, NotImplementedError):
    code = -18


class ChecksumError(FastsnapError):
    code = -19


class Canceled(FastsnapError):
    code = -20


class ConfigError(FastsnapError, ValueError):
    code = -21


class FormatError(FastsnapError, ValueError):
    code = -22


BY_CODE = {cls.code: cls for cls in (
    FastsnapError, InvalidArgument, OutOfMemory, NotFound, Conflict, Forbidden,
    Unauthorized, BadRequest, TooLarge, Unavailable, TransportError, Timeout,
    ProtocolError, CephError, LocalIOError, LocationDisallowed, LocationRejected,
    Unsupported, ChecksumError, Canceled, ConfigError, FormatError)}


def error_for(code, message, result=None):
    """The exception for a negative code (an unknown code gives FastsnapError)."""
    cls = BY_CODE.get(code, FastsnapError)
    err = cls(message, code=code, result=result)
    return err
