"""Fixed wording in both languages, as the data files (flow, safety, cards) hold it."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Lang = Literal["ja", "en"]


class Strict(BaseModel):
    """A data-file model: frozen, and an unknown key is an error rather than a silent typo."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Wording(Strict):
    ja: str = Field(min_length=1)
    en: str = Field(min_length=1)

    def __call__(self, lang: str) -> str:
        return self.ja if lang == "ja" else self.en
