"""engine._log: the kam logger tree, JSON lines, and a redaction filter a test tries to defeat."""

from __future__ import annotations

import io
import json
import logging

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine._errors import ConfigError
from engine._log import configure_logging, get_logger, redact

SECRET_ALPHABET = st.characters(min_codepoint=33, max_codepoint=126, exclude_characters="@/:?#&;'\",)=%\\ ")


@pytest.fixture
def captured():
    stream = io.StringIO()
    yield stream
    logger = get_logger()
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
    logger.setLevel(logging.NOTSET)
    logger.propagate = True


def test_url_password_is_masked_in_every_form():
    assert redact("postgresql://kam:pw123@db/sales") == "postgresql://kam:***@db/sales"
    assert redact("postgresql+psycopg://u:p%40ss@h:5432/d?sslmode=require") == "postgresql+psycopg://u:***@h:5432/d?sslmode=require"
    assert redact("postgresql://kam@db/sales?password=pw123") == "postgresql://kam@db/sales?password=***"
    assert redact("Authorization: Bearer abcdef123") == "Authorization: Bearer ***"
    assert redact("no secret here") == "no secret here"


@given(secret=st.text(SECRET_ALPHABET, min_size=6, max_size=30))
def test_filter_masks_a_secret_however_it_reaches_the_record(secret):
    stream = io.StringIO()
    configure_logging("DEBUG", "json", stream=stream, secrets=[secret])
    try:
        log = get_logger("test")
        log.info("url %s", f"postgresql://kam:{secret}@db/x")
        log.info("plain %s and %r", secret, secret)
        log.warning("dsn host=db password=%s", secret)
        log.info("extra field", extra={"target": f"smtp://u:{secret}@mail"})
        try:
            raise RuntimeError(f"could not connect with {secret}")
        except RuntimeError:
            log.exception("failed")
    finally:
        for handler in list(get_logger().handlers):
            get_logger().removeHandler(handler)
        get_logger().propagate = True
    text = stream.getvalue()
    assert secret not in text
    assert len(text.splitlines()) == 5
    for line in text.splitlines():
        json.loads(line)


def test_json_lines_carry_level_logger_message_and_extras(captured):
    configure_logging("INFO", "json", stream=captured)
    get_logger("score").info("read %d rows", 12, extra={"table": "orders"})
    get_logger("score").debug("not shown")
    (line,) = captured.getvalue().splitlines()
    record = json.loads(line)
    assert record["level"] == "INFO" and record["logger"] == "kam.score"
    assert record["message"] == "read 12 rows" and record["table"] == "orders"


def test_configure_twice_does_not_stack_handlers(captured):
    configure_logging("INFO", stream=captured)
    configure_logging("INFO", stream=captured)
    get_logger("x").info("once")
    assert captured.getvalue().count("once") == 1


def test_bad_level_and_format_name_the_fix():
    with pytest.raises(ConfigError, match="log level must be one of .*got 'LOUD'"):
        configure_logging("LOUD")
    with pytest.raises(ConfigError, match="log format must be one of text, json; got 'xml'"):
        configure_logging("INFO", "xml")
