"""Redaction of agent output: realistic secrets out, the rest of the line kept, counted."""

from __future__ import annotations

import base64
import logging
import os
import secrets
import string

import pytest

from parent_harness.redaction import Redactor, compile_pattern

ALNUM = string.ascii_letters + string.digits


def rand(n: int, alphabet: str = ALNUM) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(n))


def pem_lines(kind: str = "RSA PRIVATE KEY") -> list[str]:
    body = base64.b64encode(os.urandom(1190)).decode()
    return [
        f"-----BEGIN {kind}-----",
        *[body[i : i + 64] for i in range(0, len(body), 64)],
        f"-----END {kind}-----",
    ]


SECRETS = {
    "anthropic_key": lambda: "sk-ant-api03-" + rand(93, ALNUM + "-_") + "AA",
    "openai_key": lambda: "sk-proj-" + rand(48, ALNUM + "-_"),
    "google_key": lambda: "AIza" + rand(35, ALNUM + "-_"),
    "github_token": lambda: "ghp_" + rand(36),
    "aws_access_key": lambda: "AKIA" + rand(16, string.ascii_uppercase + string.digits),
}


@pytest.mark.parametrize("name", sorted(SECRETS))
def test_each_key_shape_is_redacted_and_counted(name: str) -> None:
    secret = SECRETS[name]()
    redactor = Redactor()
    line = f"export TOKEN={secret} # from the vault"
    out = redactor.redact(line)
    assert secret not in out
    assert out == f"export TOKEN=[REDACTED:{name}] # from the vault"
    assert redactor.counts == {name: 1}


def test_github_fine_grained_and_oauth_tokens() -> None:
    pat = "github_pat_11ABCDEFG0" + rand(70, ALNUM + "_")
    oauth = "gho_" + rand(36)
    redactor = Redactor()
    out = redactor.redact(f"git clone https://{oauth}@github.com/x/y.git; GH_TOKEN={pat}")
    assert pat not in out and oauth not in out
    assert redactor.counts["github_token"] == 2


def test_bearer_header_keeps_its_words() -> None:
    token = "eyJhbGciOiJIUzI1NiJ9." + rand(40) + "." + rand(43, ALNUM + "-_")
    redactor = Redactor()
    out = redactor.redact(f"curl -H 'Authorization: Bearer {token}' https://api.example.com")
    assert token not in out
    assert out == "curl -H 'Authorization: Bearer [REDACTED:bearer]' https://api.example.com"


def test_aws_secret_key_assignment() -> None:
    secret = rand(40, ALNUM + "/+")
    redactor = Redactor()
    out = redactor.redact(f'aws_secret_access_key = "{secret}"')
    assert secret not in out and "[REDACTED:aws_secret_key]" in out
    assert out.startswith("aws_secret_access_key")


def test_private_key_block_across_lines_keeps_the_line_count() -> None:
    lines = ["writing key:", *pem_lines(), "done, key written to id_rsa"]
    redactor = Redactor()
    out = [redactor.redact(line) for line in lines]
    assert len(out) == len(lines)
    joined = "\n".join(out)
    assert not any(chunk in joined for chunk in lines[2:-2])
    assert out[0] == "writing key:"
    assert out[-1] == "done, key written to id_rsa"
    assert out[1].startswith("-----BEGIN RSA PRIVATE KEY-----")
    assert all(line == "[REDACTED:private_key]" for line in out[2:-2])
    assert redactor.counts == {"private_key": 1}


def test_private_key_on_one_line_as_json_is_one_match() -> None:
    pem = "\\n".join(pem_lines("PRIVATE KEY"))
    redactor = Redactor()
    out = redactor.redact(f'{{"key": "{pem}", "kept": true}}')
    assert out == '{"key": "[REDACTED:private_key]", "kept": true}'


def test_a_cut_block_ends_at_the_first_line_that_is_not_key_material() -> None:
    lines = pem_lines("OPENSSH PRIVATE KEY")[:4]  # no END: the tool crashed
    redactor = Redactor()
    out = [redactor.redact(line) for line in [*lines, "Traceback (most recent call last):"]]
    assert all(secret not in "\n".join(out) for secret in lines[1:])
    assert out[-1] == "Traceback (most recent call last):"


def test_streams_keep_their_own_blocks() -> None:
    redactor = Redactor()
    pem = pem_lines()
    assert redactor.redact(pem[0], "stderr").endswith("[REDACTED:private_key]")
    assert redactor.redact("plain stdout line", "stdout") == "plain stdout line"
    assert redactor.redact(pem[1], "stderr") == "[REDACTED:private_key]"


def test_configured_patterns() -> None:
    redactor = Redactor([compile_pattern(0, r"corp-[0-9a-f]{32}")])
    secret = "corp-" + secrets.token_hex(16)
    assert redactor.redact(f"id={secret}") == "id=[REDACTED:custom_0]"
    assert redactor.total == 1


def test_a_bad_pattern_is_named_by_place_not_text() -> None:
    with pytest.raises(ValueError, match="pattern 3 is not a valid") as info:
        compile_pattern(3, "sk-live-(secret")
    assert "sk-live" not in str(info.value)


def test_words_that_look_like_prefixes_are_kept() -> None:
    redactor = Redactor()
    text = "task-sk-1 risk-assessment-of-the-new-parser ghp_short AKIA bearer x"
    assert redactor.redact(text) == text
    assert redactor.total == 0


def test_the_secret_is_never_logged(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    secret = SECRETS["anthropic_key"]()
    redactor = Redactor()
    redactor.redact(secret)
    assert secret not in caplog.text
    assert secret not in repr(redactor.counts)
