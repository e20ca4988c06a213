"""Exit statuses and the exceptions that carry them.

Every failure the user can cause or meet is one of these exceptions; `cli.main` is the single place that
turns them into a one-line message and an exit status (a traceback only with -v).
"""
import reprlib
from enum import IntEnum


class ExitStatus(IntEnum):
    OK = 0
    DIFFERENCES = 1  # `diff` found differences, `check` a failing check
    USAGE = 2  # bad flags, invalid definitions, refused or aborted destructive action
    UNREACHABLE = 3  # cannot reach Kubernetes or NATS (or JetStream), or timed out waiting
    PARTIAL = 4  # the server rejected some operations; the rest were applied
    INTERRUPTED = 130  # SIGINT


_SHORT = reprlib.Repr()
_SHORT.maxstring = _SHORT.maxother = 80
_SHORT.maxlevel, _SHORT.maxlist, _SHORT.maxdict = 2, 4, 4


def shown(value):
    """`value` as a message quotes it: repr(), cut short. A value from a file may be megabytes, or (through
    YAML aliases) a structure that would print forever."""
    return _SHORT.repr(value)


class ToolError(Exception):
    """Base class: a failure with a one-line message and an exit status."""

    exit_status = ExitStatus.USAGE


class UsageError(ToolError):
    exit_status = ExitStatus.USAGE


class Refused(ToolError):
    """A destructive action was not confirmed (no terminal and no --yes, or the user said no)."""

    exit_status = ExitStatus.USAGE


class InvalidDefinition(ToolError):
    """One problem in one streams.d file; `key` is a dotted path such as `consumers[0].ack_wait`."""

    exit_status = ExitStatus.USAGE

    def __init__(self, path, key, message):
        self.path = str(path)
        self.key = key
        self.message = message
        where = f"{self.path}: {key}" if key else self.path
        super().__init__(f"{where}: {message}")


class DefinitionErrors(ToolError):
    """All problems found while loading streams.d; raised only after every file was checked."""

    exit_status = ExitStatus.USAGE

    def __init__(self, errors):
        self.errors = list(errors)
        super().__init__("\n".join(str(e) for e in self.errors))


class Unreachable(ToolError):
    """Kubernetes or NATS could not be reached, refused our credentials, or never became ready."""

    exit_status = ExitStatus.UNREACHABLE


class KubernetesError(Unreachable):
    pass


class NatsConnectionError(Unreachable):
    pass


class JetStreamNotEnabled(NatsConnectionError):
    """The server (or the account) answers, without JetStream."""


class AmbiguousService(UsageError):
    """Discovery found several NATS Services; the user must pick one with --service."""


def error_message(exc):
    """What `error: ...` says: a ToolError's own message; for anything else (a bug, an unmapped error) its type
    too."""
    return str(exc) if isinstance(exc, ToolError) else f"{type(exc).__name__}: {exc}"


def exit_status_of(exc):
    """A ToolError's exit status; anything else: 3 for OS errors and timeouts (cannot reach), else 2."""
    if isinstance(exc, ToolError):
        return ExitStatus(exc.exit_status)
    return ExitStatus.UNREACHABLE if isinstance(exc, (OSError, TimeoutError)) else ExitStatus.USAGE


class JetStreamAPIError(ToolError):
    """The JetStream API answered a request with an error (e.g. 10058 stream name in use)."""

    exit_status = ExitStatus.PARTIAL

    def __init__(self, code, err_code, description):
        self.code = code
        self.err_code = err_code
        self.description = description
        super().__init__(f"{description} (err_code {err_code})" if err_code else description)


# JetStream API err_codes the tool branches on (from nats-server's errors.json).
JS_ERR_STREAM_NOT_FOUND = 10059
JS_ERR_CONSUMER_NOT_FOUND = 10014
JS_ERR_STREAM_NAME_IN_USE = 10058
JS_ERR_NOT_ENABLED = 10076
JS_ERR_NOT_ENABLED_FOR_ACCOUNT = 10039
JS_ERR_NO_MESSAGE = 10037
JS_ERR_CLUSTER_NOT_AVAILABLE = 10008  # clustered JetStream without a meta leader
