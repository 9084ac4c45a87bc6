"""The Amazon Bedrock backends' facts - Titan Multimodal Embeddings G1, Nova Multimodal Embeddings
and Cohere Embed v4 on Bedrock - cheap to import (no boto3).

Three :class:`BackendSpec` s (entry points ``bedrock-titan``, ``bedrock-nova``, ``bedrock-cohere``)
because their output sizes, modalities and grouping differ; they share one :data:`WIRE` (the
``bedrock-runtime`` ``InvokeModel`` call) and one embedder
(:class:`~embedsim.backends.bedrock.embedder.BedrockEmbedder`, built on boto3, the ``[bedrock]``
extra). Request bodies are in :mod:`embedsim.backends.bedrock.payload`.

Credentials and region come from boto3's standard chain (profile, environment, SSO, role); a
Bedrock API key (``AWS_BEARER_TOKEN_BEDROCK``) is an API key in embedsim's sense.
:func:`credentials_found` tells the recording layer, without any network call, whether the chain
has something to sign with.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from embedsim.backends.base import BackendSpec, Wire
from embedsim.errors import BackendError, InputError

#: ``InvokeModel`` as botocore 1.44 sends it (``botocore/data/bedrock-runtime/2023-09-30/service-2.json``):
#: ``POST /model/{modelId}/invoke`` on ``bedrock-runtime.<region>.amazonaws.com``, SigV4-signed
#: (signing name ``bedrock``) or, with ``AWS_BEARER_TOKEN_BEDROCK``, ``Authorization: Bearer``.
WIRE = Wire(
    official_hosts=(r"bedrock-runtime(?:-fips)?\.[a-z0-9-]+\.amazonaws\.com(?:\.cn)?",
                    r"bedrock-runtime\.[a-z0-9-]+\.api\.aws"),
    # SigV4 headers carry the credential scope, the signature and a session token, and change on
    # every call; botocore's invocation id and attempt counter change on every call too.
    credential_headers=("authorization", "x-amz-date", "x-amz-security-token", "x-amz-content-sha256",
                        "amz-sdk-invocation-id", "amz-sdk-request"),
    credential_params=("X-Amz-Signature", "X-Amz-Credential", "X-Amz-Security-Token"),
    # as botocore's DEBUG logs write them: a session token, a bearer token, a SigV4 signature and
    # the access key id (``Credential=AKIA.../<date>/<region>/bedrock/aws4_request``)
    credential_patterns=(r"(?i)x-amz-security-token['\"]?\s*[:=]\s*b?['\"]?(?P<secret>[^'\"\s,}]{8,})",
                         r"(?i)authorization['\"]?\s*[:=]\s*b?['\"]?bearer\s+(?P<secret>[^'\"\s,}]{8,})",
                         r"(?i)signature=(?P<secret>[0-9a-f]{64})",
                         r"\b(?:AKIA|ASIA)[A-Z0-9]{16}\b"),
    media_paths=("inputImage", "singleEmbeddingParams.image.source.bytes",
                 "singleEmbeddingParams.audio.source.bytes", "singleEmbeddingParams.video.source.bytes",
                 "inputs[].content[].image_url", "images[]"),
    # Titan, Nova, Cohere on Bedrock
    dimension_paths=("embeddingConfig.outputEmbeddingLength", "singleEmbeddingParams.embeddingDimension",
                     "output_dimension"),
    task_paths=("singleEmbeddingParams.embeddingPurpose", "input_type"),
    # the model and the method; the region (in the host) and a gateway's prefix are not compared
    call_path=r"/model/(?P<call>[^/]+/invoke)$",
    # boto3's chain fetching credentials while a call is recorded: STS (assume role, web identity),
    # IAM Identity Center (SSO), the container and EC2 metadata endpoints - answers holding keys
    credential_urls=(r"https://sts(?:\.[a-z0-9-]+)?\.amazonaws\.com(?:\.cn)?/.*",
                     r"https://(?:portal\.sso|oidc)\.[a-z0-9-]+\.amazonaws\.com/.*",
                     r"http://169\.254\.(?:169\.254|170\.2)/.*", r"http://\[fd00:ec2::254\]/.*"),
    base_url_env=("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", "AWS_ENDPOINT_URL"),
    default_api_version=None,
    default_timeout=60.0,
)
#: The official host of a region (provenance, messages).
OFFICIAL_HOST = "bedrock-runtime.us-east-1.amazonaws.com"
#: Where a replay points the client when no region is configured (nothing is sent there).
REPLAY_REGION = "us-east-1"
#: Cross-region inference profiles prefix a model id with a geography (``us.``, ``eu.``, ``global.`` ...).
_PROFILE = r"(?:[a-z]{2,6}\.)?"


@dataclass(frozen=True)
class BedrockSpec(BackendSpec):
    """A :class:`BackendSpec` whose output sizes are a fixed set (Bedrock models offer a few sizes,
    not a range); ``family`` picks the request body (:mod:`embedsim.backends.bedrock.payload`)."""

    family: str = ""
    allowed_dimensions: tuple[int, ...] = ()
    #: At most this many items per call (Titan and Nova: 1).
    max_items: int = 1
    #: The largest media item (raw bytes) one call takes.
    max_media_bytes: int = 25 * 1024 * 1024

    def check_dimension(self, model_id: str, dimension: object) -> int:
        if isinstance(dimension, bool) or dimension not in self.allowed_dimensions:
            raise InputError(f"{model_id}: output dimension {dimension!r} is not offered; use one of "
                             f"{', '.join(map(str, self.allowed_dimensions))}")
        return dimension  # type: ignore[return-value]


def _spec(name: str, family: str, ids: tuple[str, ...], pattern: str, modalities: set[str], sizes: tuple[int, ...],
          default: int, grouping: str, text_tokens: int, **extra: object) -> BedrockSpec:
    return BedrockSpec(
        name=name, model_ids=ids, id_pattern=pattern, modalities=frozenset(modalities), local=False,
        key_env=("AWS_BEARER_TOKEN_BEDROCK",), dimensions=(min(sizes), max(sizes)),
        default_dimension=default, grouping=grouping, factory="embedsim.backends.bedrock.embedder:BedrockEmbedder",
        wire=WIRE, text_limits=((r".*", text_tokens),), credentials="embedsim.backends.bedrock:credentials_found",
        credential_env=CREDENTIAL_ENV, family=family, allowed_dimensions=sizes, **extra)  # type: ignore[arg-type]


#: Variables that name AWS credentials (shown in messages and record commands).
CREDENTIAL_ENV = ("AWS_PROFILE", "AWS_ACCESS_KEY_ID")

TITAN = _spec(
    "bedrock-titan", "titan", ("amazon.titan-embed-image-v1",), _PROFILE + r"amazon\.titan-embed-image-v\d+(?::\d+)?",
    {"text", "image"}, (256, 384, 1024), 1024,
    "one item per InvokeModel call (a call with text and image returns ONE averaged vector)", 256)
NOVA = _spec(
    "bedrock-nova", "nova", ("amazon.nova-2-multimodal-embeddings-v1:0",),
    _PROFILE + r"amazon\.nova-[a-z0-9-]*multimodal-embeddings-v\d+(?::\d+)?",
    {"text", "image", "audio", "video"}, (256, 384, 1024, 3072), 1024,
    "one item per InvokeModel call (SINGLE_EMBEDDING)", 8192)
COHERE = _spec(
    "bedrock-cohere", "cohere", ("cohere.embed-v4:0",), _PROFILE + r"cohere\.embed-v4(?::\d+)?",
    {"text", "image"}, (256, 512, 1024, 1536), 1536,
    "one inputs[] content per item; at most 96 inputs and 20 MB of images per InvokeModel call", 8192,
    max_items=96, max_media_bytes=20 * 1024 * 1024)
SPECS = (TITAN, NOVA, COHERE)


def spec_of(model_id: str) -> BedrockSpec:
    """The Bedrock spec serving ``model_id``; :class:`InputError` for any other id."""
    for spec in SPECS:
        if spec.matches(model_id):
            return spec
    raise InputError(f"{model_id!r} is not a Bedrock embedding model id; use one of "
                     f"{', '.join(i for s in SPECS for i in s.model_ids)}")


def credentials_found(environ: Mapping[str, str]) -> str | None:
    """Where boto3's chain would find credentials (``"environment"``, ``"profile 'dev'"``, ...), or
    ``None`` - decided from the environment and the shared config files only, with no network call:
    an instance role (EC2 metadata) is not probed unless ``AWS_EC2_METADATA_DISABLED=false`` says
    it is there. Never returns a secret."""
    get = lambda name: environ.get(name, "").strip()  # noqa: E731
    if get("AWS_BEARER_TOKEN_BEDROCK"):
        return "a Bedrock API key (AWS_BEARER_TOKEN_BEDROCK)"
    if get("AWS_ACCESS_KEY_ID") and get("AWS_SECRET_ACCESS_KEY"):
        return "environment variables (AWS_ACCESS_KEY_ID)"
    if get("AWS_WEB_IDENTITY_TOKEN_FILE") and get("AWS_ROLE_ARN"):
        return "a web identity role (AWS_ROLE_ARN)"
    if get("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI") or get("AWS_CONTAINER_CREDENTIALS_FULL_URI"):
        return "the container credentials endpoint"
    if get("AWS_EC2_METADATA_DISABLED").lower() == "false":
        return "the EC2 instance role (AWS_EC2_METADATA_DISABLED=false)"
    profile = get("AWS_PROFILE") or get("AWS_DEFAULT_PROFILE") or "default"
    home = Path(environ.get("HOME") or os.path.expanduser("~"))
    files = (Path(get("AWS_SHARED_CREDENTIALS_FILE") or home / ".aws" / "credentials"),
             Path(get("AWS_CONFIG_FILE") or home / ".aws" / "config"))
    headers = {f"[{profile}]", f"[profile {profile}]"}
    for path in files:
        try:
            lines = {line.strip() for line in path.read_text(encoding="utf-8", errors="replace").splitlines()}
        except OSError:
            continue
        if lines & headers:
            return f"profile {profile!r} ({path.name})"
    return None


class BedrockAPIError(BackendError):
    """Bedrock answered an error: ``code`` (the error name, e.g. ``ThrottlingException``), ``status``
    (HTTP), ``done`` (items embedded before it) and ``labels`` (the items of the failed call)."""

    def __init__(self, text: str, code: str, status: int | None, done: int, labels: list[str]) -> None:
        super().__init__(text)
        self.code, self.status, self.done, self.labels = code, status, done, labels
