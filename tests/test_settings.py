"""One Settings object: every setting documented, environment over .env, secrets hidden."""

from __future__ import annotations

import re

import pytest

from index.settings import Settings
from tests.conftest import ROOT


def env_name(field: str) -> str:
    alias = Settings.model_fields[field].validation_alias
    choices = getattr(alias, "choices", None)
    return str(choices[0]) if choices else f"KHABAR_{field.upper()}"


def test_env_example_lists_every_setting() -> None:
    text = (ROOT / ".env.example").read_text()
    listed = set(re.findall(r"^#?\s*([A-Z0-9_]+)=", text, re.MULTILINE))
    assert {env_name(f) for f in Settings.model_fields} <= listed


def test_environment_beats_env_file_and_token_is_secret(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    env_file = tmp_path / ".env"
    env_file.write_text(
        "KHABAR_RESULTS=7\nKHABAR_ADMIN_IDS=[1, 2]\nTELEGRAM_BOT_TOKEN=111:from-file\n"
    )
    monkeypatch.setenv("KHABAR_RESULTS", "3")
    settings = Settings(_env_file=env_file)  # type: ignore[call-arg]
    assert settings.results == 3 and settings.admin_ids == [1, 2]
    assert settings.telegram_bot_token is not None
    assert settings.telegram_bot_token.get_secret_value() == "111:from-file"
    assert "from-file" not in repr(settings) and "from-file" not in str(settings.model_dump())


def test_id_lists_take_commas_or_json(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import pydantic

    for raw, ids in [("123, -100456", [123, -100456]), ("[1,2]", [1, 2]), ("", []), ("7", [7])]:
        monkeypatch.setenv("KHABAR_ADMIN_IDS", raw)
        assert Settings(_env_file=None).admin_ids == ids  # type: ignore[call-arg]
    monkeypatch.setenv("KHABAR_ALLOWED_CHATS", "[1, 2")
    with pytest.raises(pydantic.ValidationError, match="numeric ids"):
        Settings(_env_file=None)  # type: ignore[call-arg]
