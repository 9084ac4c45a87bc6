"""What happens around one Bedrock call: no credential in any message or log record, cassette
misses not retried, and the :class:`~embedsim.errors.BackendError` a failure becomes.

* **No credential in logs.** botocore logs, at DEBUG, each request with its headers (a session
  token, a bearer token, the access key id in SigV4's ``Credential=``) and each canonical request
  (``x-amz-security-token:...``). :mod:`embedsim.backends.redaction`'s filter on botocore's, boto3's,
  urllib3's and vcrpy's loggers rewrites such a record while calls run (:func:`redacting_logs`,
  with :data:`WIRE`'s ``credential_patterns``); the environment's secrets (``AWS_SECRET_ACCESS_KEY``, ``AWS_SESSION_TOKEN``,
  ``AWS_BEARER_TOKEN_BEDROCK``) are redacted wherever they appear.
* **No credential in errors.** A failure is described in a new exception raised outside botocore's
  ``except`` block, so no chained exception keeps the request (and its headers).
* **Throttling says how far it got**: which model, how many items were embedded before it, and the
  attempts botocore made (its own retry configuration, ``RetryAttempts``).
"""

from __future__ import annotations

import os
from contextlib import AbstractContextManager
from typing import Any

from embedsim.backends import redaction
from embedsim.backends.attempts import labels
from embedsim.backends.bedrock import WIRE, BedrockAPIError
from embedsim.errors import BackendError
from embedsim.inputs.items import Item

#: botocore's and boto3's loggers (botocore logs each request's headers at DEBUG); the HTTP
#: clients' and vcrpy's are always redacted.
LOGGERS = ("botocore", "boto3", "s3transfer")
SECRET_ENV = ("AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_BEARER_TOKEN_BEDROCK")
#: Errors that say the credentials are missing, expired or not accepted.
CREDENTIAL_ERRORS = ("ExpiredTokenException", "ExpiredToken", "UnrecognizedClientException", "InvalidSignatureException",
                     "IncompleteSignature", "MissingAuthenticationTokenException", "InvalidClientTokenId",
                     "SignatureDoesNotMatch", "TokenRefreshRequired")
THROTTLING = ("ThrottlingException", "TooManyRequestsException", "ServiceQuotaExceededException", "Throttling")


def protect(*secrets: str | None) -> None:
    """Remember ``secrets`` and the environment's AWS secrets for redaction."""
    redaction.protect(*secrets, *(os.environ.get(name) for name in SECRET_ENV), patterns=WIRE.credential_patterns)


def redact(text: str) -> str:
    """``text`` without any secret this process knows and without SigV4 / bearer credential values."""
    return redaction.redact(text, WIRE.credential_patterns)


def redacting_logs() -> AbstractContextManager[None]:
    """botocore's, boto3's, the HTTP clients' and vcrpy's loggers redact credentials while inside."""
    return redaction.redacting_logs(LOGGERS, WIRE.credential_patterns)


def no_retry_on_cassette_miss(caught_exception: BaseException | None = None, **_: Any) -> None:
    """botocore ``needs-retry`` handler: a vcrpy cassette miss (wrapped by botocore in an
    ``HTTPClientError``, which its retry policy counts as transient) ends the call at once."""
    inner = getattr(caught_exception, "kwargs", {}).get("error") if caught_exception is not None else None
    if inner is not None:
        from vcr.errors import CannotOverwriteExistingCassetteException

        if isinstance(inner, CannotOverwriteExistingCassetteException):
            raise inner.with_traceback(None)


def describe_failure(exc: BaseException, batch: list[Item], *, model_id: str, number: int, total_calls: int,
                     done: int, total_items: int, region: str | None, endpoint: str,
                     timeout: float | None) -> BackendError | None:
    """A redacted :class:`BackendError` for a failed call, or ``None`` for an exception that is not a
    call failure (a cassette miss): the caller re-raises that one as it is."""
    from botocore import exceptions as bx

    if isinstance(exc, BackendError):
        return exc
    where = f"call {number} of {total_calls} with {len(batch)} item(s): {labels(batch)}"
    progress = f"{done} of {total_items} item(s) were embedded before it"
    if isinstance(exc, bx.ClientError):
        error = exc.response.get("Error", {})
        meta = exc.response.get("ResponseMetadata", {})
        code, message = str(error.get("Code", "?")), redact(str(error.get("Message", "")))
        status = meta.get("HTTPStatusCode")
        attempts = int(meta.get("RetryAttempts", 0)) + 1
        tried = f"{attempts} attempt{'s' if attempts != 1 else ''}"
        if code in THROTTLING or status == 429:
            text = (f"{model_id}: Bedrock throttled the calls ({code}: {message}) after {tried}; {progress} "
                    f"({where}). Lower max_concurrency, raise the account's quota or retry later")
        elif code in CREDENTIAL_ERRORS:
            text = (f"{model_id}: the AWS credentials were refused ({code}: {message}): refresh them (e.g. "
                    f"`aws sso login`, a new session token) and run again; {progress} ({where})")
        elif code in ("ResourceNotFoundException", "AccessDeniedException") or (
                code == "ValidationException" and "model identifier" in message.lower()):
            text = (f"{model_id}: HTTP {status} {code}: {message} - is {model_id} offered in region "
                    f"{region or '?'} and enabled for this account (Bedrock console, Model access)? ({where})")
        else:
            gave_up = f"; gave up after {tried}" if attempts > 1 else ""
            text = f"{model_id}: HTTP {status} {code}: {message} ({where}{gave_up}; {progress})"
        return BedrockAPIError(redact(text), code, status, done, [i.id for i in batch])
    missing = tuple(getattr(bx, name) for name in ("NoCredentialsError", "PartialCredentialsError",
                                                  "CredentialRetrievalError", "TokenRetrievalError", "SSOError")
                    if hasattr(bx, name))
    if isinstance(exc, missing):
        return BackendError(redact(
            f"{model_id}: no usable AWS credentials ({type(exc).__name__}: {exc}); set AWS_PROFILE, "
            f"AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, a role, or AWS_BEARER_TOKEN_BEDROCK ({where})"))
    if isinstance(exc, (bx.ReadTimeoutError, bx.ConnectTimeoutError)):
        limit = "no answer in time" if timeout is None else f"no answer within the {timeout} s timeout"
        return BackendError(redact(f"{model_id}: {limit} from {endpoint} ({where}; {progress})"))
    if isinstance(exc, (bx.EndpointConnectionError, bx.ConnectionError)):
        return BackendError(redact(f"{model_id}: cannot connect to {endpoint} ({type(exc).__name__}) "
                                   f"({where}; {progress})"))
    if isinstance(exc, bx.HTTPClientError):
        return None if _is_cassette_miss(exc) else BackendError(
            redact(f"{model_id}: the HTTP request to {endpoint} failed ({exc}) ({where}; {progress})"))
    if isinstance(exc, bx.BotoCoreError):
        return BackendError(redact(f"{model_id}: {type(exc).__name__}: {exc} ({where})"))
    return None if redact(str(exc)) == str(exc) else BackendError(redact(f"{model_id}: {type(exc).__name__}: {exc}"))


def _is_cassette_miss(exc: BaseException) -> bool:
    inner = getattr(exc, "kwargs", {}).get("error")
    return type(inner).__name__ == "CannotOverwriteExistingCassetteException"
