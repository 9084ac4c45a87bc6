"""The Bedrock backends (Titan G1, Nova, Cohere v4 on Bedrock) against the loopback Bedrock emulator
(a test tool: its vectors are the pixel baseline's, never Amazon's)."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("boto3")

from embedsim.backends import get_embedder, resolve
from embedsim.backends.bedrock import COHERE, NOVA, TITAN, BedrockAPIError, credentials_found
from embedsim.errors import InputError
from embedsim.inputs.items import item_from_bytes, text_item
from embedsim.testing.bedrock import BedrockEmulator

TITAN_ID, NOVA_ID, COHERE_ID = "amazon.titan-embed-image-v1", "amazon.nova-2-multimodal-embeddings-v1:0", "cohere.embed-v4:0"
SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
TOKEN = "IQoJb3JpZ2luX2VjEXAMPLEsessionTOKENabcdefghijklmnop0123456789"
AWS_VARIABLES = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
                 "AWS_SECURITY_TOKEN", "AWS_BEARER_TOKEN_BEDROCK", "AWS_REGION", "AWS_DEFAULT_REGION",
                 "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_BEDROCK_RUNTIME", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN",
                 "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI",
                 "AWS_EC2_METADATA_DISABLED", "AWS_MAX_ATTEMPTS", "AWS_RETRY_MODE")


def png(rgb: tuple[int, int, int]) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (24, 24), rgb).save(buffer, format="PNG")
    return buffer.getvalue()


RED, BLUE = item_from_bytes(png((200, 10, 10)), "red"), item_from_bytes(png((10, 10, 200)), "blue")
WORD = text_item("a red square", "word")


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    """No AWS setting from the machine: empty config files, no credentials, no region."""
    for name in AWS_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    return monkeypatch


@pytest.fixture
def bedrock(aws: pytest.MonkeyPatch) -> Iterator[BedrockEmulator]:
    """A started emulator; boto3 pointed at it (``AWS_ENDPOINT_URL_BEDROCK_RUNTIME``) with session credentials."""
    with BedrockEmulator() as server:
        aws.setenv("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", server.base_url)
        aws.setenv("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE")
        aws.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
        aws.setenv("AWS_SESSION_TOKEN", TOKEN)
        aws.setenv("AWS_REGION", "eu-west-1")
        yield server


def test_the_ids_resolve_to_their_family() -> None:
    assert resolve(TITAN_ID) is TITAN and resolve(NOVA_ID) is NOVA and resolve(COHERE_ID) is COHERE
    assert resolve("us.amazon.nova-2-multimodal-embeddings-v1:0") is NOVA  # a cross-region inference profile
    assert resolve("global.cohere.embed-v4:0") is COHERE
    assert TITAN.wire is NOVA.wire is COHERE.wire and TITAN.wire.base_url_env[0] == "AWS_ENDPOINT_URL_BEDROCK_RUNTIME"
    assert {"authorization", "x-amz-date", "x-amz-security-token", "x-amz-content-sha256"} <= set(TITAN.wire.credential_headers)
    assert TITAN.accepts(TITAN_ID, "image") and not TITAN.accepts(TITAN_ID, "audio") and NOVA.accepts(NOVA_ID, "video")


@pytest.mark.usefixtures("bedrock")
def test_only_the_offered_output_sizes_are_accepted() -> None:
    with pytest.raises(InputError, match="256, 384, 1024"):
        get_embedder(TITAN_ID, 768)
    with pytest.raises(InputError, match="256, 512, 1024, 1536"):
        get_embedder(f"{COHERE_ID}@384")
    assert get_embedder(f"{NOVA_ID}@3072").dimension == 3072
    assert get_embedder(TITAN_ID).dimension == 1024 and get_embedder(COHERE_ID).dimension == 1536


def test_titan_sends_every_item_alone(bedrock: BedrockEmulator) -> None:
    vectors = get_embedder(TITAN_ID, 256).embed([RED, WORD, BLUE, RED])
    calls = bedrock.embed_calls
    assert len(calls) == 3  # the repeated item once; text and images never share a call (one averaged vector)
    assert all(c.path == f"/model/{TITAN_ID}/invoke" for c in calls)
    bodies = sorted(json.dumps(c.body, sort_keys=True)[:40] for c in calls)
    assert [set(c.body) for c in calls if "inputText" in c.body] == [{"inputText", "embeddingConfig"}]
    assert all(c.body["embeddingConfig"] == {"outputEmbeddingLength": 256} for c in calls), bodies
    assert vectors.shape == (4, 256) and np.allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-5)
    assert np.allclose(vectors[0], vectors[3])


def test_nova_sends_the_documented_single_embedding_body(bedrock: BedrockEmulator) -> None:
    get_embedder(NOVA_ID, 384, task="generic_retrieval").embed([WORD, RED])
    calls = bedrock.embed_calls
    assert {c.path for c in calls} == {"/model/amazon.nova-2-multimodal-embeddings-v1%3A0/invoke"}
    params = sorted((c.body["singleEmbeddingParams"] for c in calls), key=lambda p: "image" in p)
    assert all(c.body["schemaVersion"] == "nova-multimodal-embed-v1" and c.body["taskType"] == "SINGLE_EMBEDDING"
               for c in calls)
    assert params[0] == {"embeddingPurpose": "GENERIC_RETRIEVAL", "embeddingDimension": 384,
                         "text": {"truncationMode": "NONE", "value": "a red square"}}
    assert params[1]["image"]["format"] == "png" and set(params[1]["image"]["source"]) == {"bytes"}
    with pytest.raises(InputError, match="GENERIC_INDEX"):
        get_embedder(NOVA_ID, task="SEMANTIC_SIMILARITY")


def test_cohere_on_bedrock_sends_image_url_as_a_plain_string(bedrock: BedrockEmulator) -> None:
    vectors = get_embedder(COHERE_ID, 512).embed([WORD, RED, BLUE])
    (call,) = bedrock.embed_calls  # several items in one call
    assert call.path == "/model/cohere.embed-v4%3A0/invoke"
    assert call.body["embedding_types"] == ["float"] and call.body["output_dimension"] == 512
    assert call.body["input_type"] == "clustering"
    parts = [entry["content"] for entry in call.body["inputs"]]
    assert parts[0] == [{"type": "text", "text": "a red square"}]
    assert parts[1][0]["type"] == "image_url" and parts[1][0]["image_url"].startswith("data:image/png;base64,")
    assert vectors.shape == (3, 512)


def test_cohere_calls_hold_at_most_96_items(bedrock: BedrockEmulator) -> None:
    words = [text_item(f"word {n}") for n in range(100)]
    assert get_embedder(COHERE_ID, 256).embed(words).shape == (100, 256)
    assert sorted(len(c.body["inputs"]) for c in bedrock.embed_calls) == [4, 96]


def test_single_item_calls_run_with_bounded_concurrency(bedrock: BedrockEmulator) -> None:
    bedrock.latency = 0.05
    words = [text_item(f"word {n}") for n in range(12)]
    vectors = get_embedder(TITAN_ID, 256, max_concurrency=3).embed(words)
    assert len(bedrock.embed_calls) == 12 and 1 <= bedrock.max_in_flight <= 3
    one_by_one = get_embedder(TITAN_ID, 256, max_concurrency=1).embed(words)
    assert np.array_equal(vectors, one_by_one)  # in item order, whatever order the answers came in


def test_boto3_retries_throttling_and_5xx(bedrock: BedrockEmulator) -> None:
    bedrock.inject("throttling", times=1)
    bedrock.inject("503", times=1)
    get_embedder(TITAN_ID, 256, attempts=3, max_concurrency=1).embed([WORD])
    calls = bedrock.embed_calls
    assert len(calls) == 3
    assert [f"attempt={n}" in c.headers["amz-sdk-request"] for n, c in enumerate(calls, 1)] == [True] * 3


def test_throttling_names_the_model_and_the_items_done(bedrock: BedrockEmulator) -> None:
    bedrock.inject("throttling", times=None, after=2)
    with pytest.raises(BedrockAPIError) as caught:
        get_embedder(TITAN_ID, 256, attempts=2, max_concurrency=1).embed([text_item(f"w{n}") for n in range(5)])
    message = str(caught.value)
    assert caught.value.code == "ThrottlingException" and caught.value.done == 2
    assert message.startswith(TITAN_ID) and "after 2 attempts" in message and "2 of 5 item(s) were embedded" in message
    assert "'w2'" in message and caught.value.__context__ is None and caught.value.__cause__ is None
    assert len(bedrock.embed_calls) == 4  # no call started after the failure


def test_expired_credentials_say_so_and_are_not_retried(bedrock: BedrockEmulator) -> None:
    bedrock.inject("expired", times=None)
    with pytest.raises(BedrockAPIError, match="credentials were refused .*ExpiredTokenException.*refresh them"):
        get_embedder(TITAN_ID, 256, attempts=4).embed([WORD])
    assert len(bedrock.embed_calls) == 1


def test_a_malformed_answer_is_an_error(bedrock: BedrockEmulator) -> None:
    bedrock.inject("malformed", times=None)
    with pytest.raises(Exception, match=TITAN_ID.replace(".", r"\.")):
        get_embedder(TITAN_ID, 256, attempts=1).embed([WORD])


def test_the_generic_endpoint_variable_and_the_region_host(aws: pytest.MonkeyPatch) -> None:
    aws.setenv("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE")
    aws.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    embedder = get_embedder(NOVA_ID, region="ap-northeast-1")
    assert embedder.endpoint == "https://bedrock-runtime.ap-northeast-1.amazonaws.com"
    assert any(__import__("re").fullmatch(p, "bedrock-runtime.ap-northeast-1.amazonaws.com") for p in NOVA.wire.official_hosts)
    with BedrockEmulator() as server:
        aws.setenv("AWS_ENDPOINT_URL", server.base_url)
        get_embedder(NOVA_ID, region="us-west-2").embed([WORD])
        assert len(server.embed_calls) == 1


def test_an_api_key_is_a_bearer_token_and_needs_no_aws_set_up(aws: pytest.MonkeyPatch) -> None:
    aws.setenv("AWS_PROFILE", "no-such-profile")  # boto3's chain would fail on it; a key does not consult it
    with BedrockEmulator() as server:
        aws.setenv("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", server.base_url)
        embedder = get_embedder(TITAN_ID, api_key="embedsim-replay-placeholder")
        embedder.embed([WORD])
        assert embedder.region == "us-east-1"
        assert server.embed_calls[0].headers["authorization"] == "Bearer embedsim-replay-placeholder"


def test_items_are_refused_before_any_call(bedrock: BedrockEmulator) -> None:
    with pytest.raises(InputError, match="256-token input limit"):
        get_embedder(TITAN_ID).embed([text_item("word " * 400)])
    gif = item_from_bytes(b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00,"
                          b"\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;", "gif")
    if gif.mime_type != "image/png":
        with pytest.raises(InputError, match="unsupported MIME type"):
            get_embedder(COHERE_ID).embed([gif])
    assert bedrock.embed_calls == []


def test_credentials_are_found_without_the_network(aws: pytest.MonkeyPatch, tmp_path: Path) -> None:
    environ = {"HOME": str(tmp_path), "AWS_CONFIG_FILE": str(tmp_path / "c"), "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "k")}
    assert credentials_found(environ) is None and TITAN.credentials_found(environ) is None
    assert "environment" in credentials_found({**environ, "AWS_ACCESS_KEY_ID": "A", "AWS_SECRET_ACCESS_KEY": "B"})
    (tmp_path / "c").write_text("[profile dev]\nsso_session = x\n")
    assert credentials_found({**environ, "AWS_PROFILE": "dev"}) == "profile 'dev' (c)"
    assert credentials_found({**environ, "AWS_PROFILE": "other"}) is None
    assert TITAN.credentials_found({**environ, "AWS_BEARER_TOKEN_BEDROCK": "ABSK-token"}) == "an API key"
    assert SECRET not in str(credentials_found({**environ, "AWS_ACCESS_KEY_ID": "A", "AWS_SECRET_ACCESS_KEY": SECRET}))


def test_debug_logs_carry_no_secret(bedrock: BedrockEmulator, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG):
        get_embedder(TITAN_ID, 256).embed([WORD])
        get_embedder(TITAN_ID, 256, api_key="ABSKbedrockApiKey0123456789").embed([RED])
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "x-amz-security-token" in text.lower() and "[redacted]" in text  # the headers were logged, redacted
    assert TOKEN not in text and SECRET not in text and "ABSKbedrockApiKey0123456789" not in text


def test_debug_logs_carry_no_access_key_id(bedrock: BedrockEmulator, caplog: pytest.LogCaptureFixture) -> None:
    """Regression: botocore's DEBUG logs wrote the access key id in SigV4's ``Credential=AKIA.../...``
    (the Authorization header and the string to sign) unredacted."""
    with caplog.at_level(logging.DEBUG):
        get_embedder(TITAN_ID, 256).embed([WORD])
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "Credential=[redacted]/" in text  # the signed header was logged, its key id redacted
    assert "AKIAIOSFODNN7EXAMPLE" not in text
