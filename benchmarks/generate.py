"""Generated registries of N services for benchmarks: plausible shapes, invented content.

Generated data is for measuring only; it never ships in the seed (`resources/data/`). The same
`n` and `seed` always give the same registry.

    python -m benchmarks.generate 10000 -o /tmp/registry.yaml
"""

from __future__ import annotations

import argparse
import random
from datetime import date, timedelta
from pathlib import Path

from resources.model import (
    TOPICS,
    AreaLevel,
    Confidence,
    ContactKind,
    ContactPoint,
    Eligibility,
    Organization,
    Registry,
    Service,
    ServiceArea,
    ServiceKind,
)
from resources.schedule import Closure, Day, OpeningHours, WeeklyInterval

SERVICES_PER_ORGANIZATION = 5
_WEEKDAYS: tuple[Day, ...] = ("mon", "tue", "wed", "thu", "fri")
_KINDS = (
    ServiceKind.HOTLINE,
    ServiceKind.SNS_CHAT,
    ServiceKind.IBASHO,
    ServiceKind.LOCAL_INSTITUTION,
)
_CONTACTS = (ContactKind.PHONE, ContactKind.LINE, ContactKind.WEB_CHAT, ContactKind.IN_PERSON)


def _value(kind: ContactKind, i: int, k: int) -> str:
    """A contact value of the shape its kind needs (the model checks it)."""
    if kind is ContactKind.PHONE:
        return f"050-{i // 10000 % 10000:04d}-{i % 10000:04d}"
    if kind is ContactKind.LINE:
        return f"@gen{i}-{k}"
    if kind is ContactKind.WEB_CHAT:
        return f"https://gen{i}.example.jp/chat/{k}"
    return f"{kind.value}-{i}-{k}"


def _hours(rng: random.Random) -> OpeningHours:
    shape = rng.random()
    if shape < 0.1:
        return OpeningHours(always_open=True)
    if shape < 0.2:
        return OpeningHours(known=False, note="varies by office")
    opens = rng.choice(("09:00", "10:00", "13:00", "17:00", "20:00"))
    closes = rng.choice(("17:00", "21:00", "22:00", "02:00", "06:00"))
    weekly = [WeeklyInterval(days=_WEEKDAYS, open=opens, close=closes)]
    if rng.random() < 0.5:
        weekly.append(WeeklyInterval(days=("sat", "sun", "holiday"), open="10:00", close="16:00"))
    return OpeningHours(
        weekly=tuple(weekly),
        closed_on_holidays=rng.random() < 0.3,
        closures=(Closure(start="12-29", end="01-03", note="年末年始"),)
        if rng.random() < 0.5
        else (),
    )


def _areas(rng: random.Random) -> tuple[ServiceArea, ...]:
    shape = rng.random()
    pref = f"{rng.randint(1, 47):02d}"
    if shape < 0.1:
        return (ServiceArea(level=AreaLevel.NATIONAL),)
    if shape < 0.6:
        return (ServiceArea(level=AreaLevel.PREFECTURE, code=pref),)
    return (
        ServiceArea(
            level=AreaLevel.MUNICIPALITY, code=f"{pref}{rng.randint(100, 999)}{rng.randint(0, 9)}"
        ),
    )


def generate_registry(n: int, seed: int = 20261127) -> Registry:
    """A valid registry of `n` services in ⌈n/5⌉ organisations."""
    rng = random.Random(seed)
    org_count = max(1, -(-n // SERVICES_PER_ORGANIZATION))
    organizations = tuple(
        Organization(id=f"gen_org_{i:06d}", name_ja=f"生成団体{i}", name_en=f"Generated org {i}")
        for i in range(org_count)
    )
    today = date(2026, 11, 27)
    services = []
    for i in range(n):
        contacts = tuple(
            ContactPoint(kind=kind, value=_value(kind, i, k), hours=_hours(rng))
            for k, kind in enumerate(rng.sample(_CONTACTS, rng.randint(1, 3)))
        )
        low = rng.choice((None, None, 6, 13, 18, 65))
        services.append(
            Service(
                id=f"gen_svc_{i:06d}",
                organization_id=organizations[i // SERVICES_PER_ORGANIZATION].id,
                name_ja=f"生成サービス{i}",
                name_en=f"Generated service {i}",
                kind=rng.choice(_KINDS),
                topics=tuple(rng.sample(TOPICS, rng.randint(1, 4))),  # type: ignore[arg-type]
                eligibility=Eligibility(age_min=low, age_max=None if low is None else low + 20),
                areas=_areas(rng),
                languages=("ja", "en") if rng.random() < 0.2 else ("ja",),
                contacts=contacts,
                sources=(f"https://example.invalid/generated/{i}",),
                verified_on=today - timedelta(days=rng.randint(0, 1500)),
                confidence=rng.choice(tuple(Confidence)),
            )
        )
    return Registry(organizations=organizations, services=tuple(services))


def cli() -> None:
    parser = argparse.ArgumentParser(description="Write a generated registry as YAML or CSV.")
    parser.add_argument("n", type=int, help="number of services")
    parser.add_argument("-o", "--output", type=Path, required=True, help="a .yaml or .csv path")
    parser.add_argument("--seed", type=int, default=20261127)
    args = parser.parse_args()
    registry = generate_registry(args.n, args.seed)
    if args.output.suffix == ".csv":
        from resources.formats.csv import dump_csv

        args.output.write_text(dump_csv(registry), encoding="utf-8-sig")
    else:
        from resources.formats.yaml import dump_yaml

        args.output.write_text(dump_yaml(registry), encoding="utf-8")


if __name__ == "__main__":
    cli()
