"""The console's REST API under /api/admin: everything the pages do, for automation.

Callers authenticate with an API token (`Authorization: Bearer <token>`). Every route asks
`admin.roles.authorize` before it reads or writes; every request and answer is a pydantic
model, so the OpenAPI description at /docs is complete.
"""

from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, Response
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from fastapi.security import HTTPBearer
from pydantic import BaseModel, ConfigDict, Field

from admin import audit, reports
from admin.console import Console
from admin.registry import (
    InvalidChange,
    ServiceFilter,
    ServiceNotFound,
    apply_import,
    find_services,
    hours_computable,
    preview_import,
    save_service,
    service_of,
    update_service,
    verify_service,
)
from admin.roles import Action, Forbidden, Role, authorize, can
from admin.rulesets import (
    ActivationRefused,
    RuleSetCheck,
    VersionNotFound,
    activate_version,
    active_ruleset,
    check_rule_set,
    save_version,
    version_text,
)
from admin.simulator import Simulation, simulate
from admin.users import Operator, OperatorError, create_api_token, create_operator, list_operators
from resources import store
from resources.model import TOPICS, Registry, Service, ServiceKind, Topic
from resources.schedule import OpeningHours
from routing.model import RoutingResult

ServiceId = Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9_]{1,63}$")]
VersionId = Annotated[int, Path(ge=1, le=2**31 - 1)]
"""A stored rule set version (database integers stop at 2³¹ − 1)."""
PrefCode = Annotated[str, Field(pattern=r"^(0[1-9]|[1-3][0-9]|4[0-7])$")]


# ---------------------------------------------------------------- shapes
class OperatorOut(BaseModel):
    id: int
    email: str
    role: Role
    organization_id: str | None


class OperatorIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: str = Field(min_length=3, max_length=254)
    password: str = Field(min_length=10, max_length=1000)
    role: Role
    organization_id: str | None = Field(default=None, pattern=r"^[a-z0-9][a-z0-9_]{1,63}$")


class TokenIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    label: str = Field(default="", max_length=200)


class TokenOut(BaseModel):
    token: str = Field(description="shown once; only its hash is stored")


class ServiceSummary(BaseModel):
    id: str
    name_ja: str
    name_en: str
    organization_id: str
    kind: ServiceKind
    topics: list[str]
    verified_on: date | None
    stale: bool
    can_edit: bool


class ServiceDetail(BaseModel):
    service: Service
    organization_name: str
    stale: bool
    can_edit: bool
    verified_by: str | None = Field(description="who last marked the facts as verified")


class ImportIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    format: Literal["yaml", "csv"] = "yaml"
    text: str = Field(max_length=10_000_000)
    filename: str = Field(default="upload", max_length=200)
    apply: bool = Field(default=False, description="false: only show what would change")


class ImportOut(BaseModel):
    applied: bool
    problems: list[str]
    warnings: list[str]
    changes: list[str] = Field(
        description="`+ service x`, `~ service y: hours`, `- organization z`"
    )
    diff: dict[str, Any] | None


class RulesIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(max_length=1_000_000)
    label: str = Field(default="", max_length=200)


class CaseOut(BaseModel):
    name: str
    passed: bool
    top: list[str]
    problems: list[str]


class CheckOut(BaseModel):
    ok: bool = Field(description="parses and passes its tests: it may be activated")
    problems: list[str]
    failures: list[str]
    tests: list[CaseOut]
    diff: str = Field(description="unified diff against the active rule set")


class SavedRules(BaseModel):
    id: int
    check: CheckOut


class VersionOut(BaseModel):
    id: int
    label: str
    created_at: datetime
    created_by: str
    active: bool
    activated_at: datetime | None


class VersionDetail(VersionOut):
    text: str


class ContactOut(BaseModel):
    kind: str
    value: str


class ReferralOut(BaseModel):
    service_id: str
    name: str
    kind: str
    open_now: bool
    opens_at: datetime | None
    closes_at: datetime | None
    contact: ContactOut
    reasons: list[str]
    explanation_ja: str
    explanation_en: str


class SimulationOut(BaseModel):
    at: datetime
    risk: str
    fallback: bool
    rules_applied: list[str]
    referrals: list[ReferralOut]


class GapOut(BaseModel):
    prefecture: str
    prefecture_name: str
    topic: str
    empty_hours: int
    when: str


class AuditOut(BaseModel):
    id: int
    at: datetime
    actor: str
    action: str
    target: str
    before: Any
    after: Any


class Problems(BaseModel):
    detail: str | list[str] | dict[str, Any]


# ---------------------------------------------------------------- conversions
def check_out(check: RuleSetCheck) -> CheckOut:
    cases = check.report.cases if check.report else ()
    return CheckOut(
        ok=check.ok,
        problems=list(check.problems),
        failures=check.failures(),
        tests=[
            CaseOut(name=c.name, passed=c.passed, top=list(c.top), problems=list(c.problems))
            for c in cases
        ],  # fmt: skip
        diff=check.diff,
    )


def summary(s: Service, operator: Operator, today: date, stale_after: int) -> ServiceSummary:
    return ServiceSummary(
        id=s.id, name_ja=s.name_ja, name_en=s.name_en, organization_id=s.organization_id,
        kind=s.kind, topics=list(s.topics), verified_on=s.verified_on,
        stale=s.is_stale(today, stale_after),
        can_edit=can(operator, Action.EDIT_SERVICE, s.organization_id),
    )  # fmt: skip


def simulation_out(result: RoutingResult, at: datetime, applied: tuple[str, ...]) -> SimulationOut:
    return SimulationOut(
        at=at, risk=result.risk.value, fallback=result.fallback, rules_applied=list(applied),
        referrals=[
            ReferralOut(
                service_id=r.service_id, name=r.name, kind=r.kind, open_now=r.open_now,
                opens_at=r.opens_at, closes_at=r.closes_at,
                contact=ContactOut(kind=r.contact.kind.value, value=r.contact.value),
                reasons=list(r.reasons), explanation_ja=r.explanation_ja,
                explanation_en=r.explanation_en,
            )
            for r in result.referrals
        ],
    )  # fmt: skip


def import_out(preview: Any, applied: bool) -> ImportOut:
    return ImportOut(
        applied=applied,
        problems=list(preview.problems),
        warnings=list(preview.warnings),
        changes=preview.diff.lines() if preview.diff else [],
        diff=preview.diff.to_json() if preview.diff else None,
    )


@contextmanager
def plain_errors() -> Iterator[None]:
    """The domain's refusals as HTTP answers operators can read."""
    try:
        yield
    except Forbidden as exc:
        raise HTTPException(403, str(exc)) from exc
    except (ServiceNotFound, VersionNotFound, store.RuleSetNotFound) as exc:
        raise HTTPException(404, f"not found: {exc}") from exc
    except InvalidChange as exc:
        raise HTTPException(422, list(exc.problems)) from exc


# ---------------------------------------------------------------- routes
class ConsoleRoute(APIRoute):
    """Turns a refusal anywhere in a route into 403/404/422 with a sentence saying why, so no
    route can forget to (an unexpected refusal must never surface as a 500)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def guarded(request: Request) -> Response:
            try:
                return await handler(request)
            except Forbidden as exc:
                return JSONResponse({"detail": str(exc)}, status_code=403)
            except (ServiceNotFound, VersionNotFound, store.RuleSetNotFound) as exc:
                return JSONResponse({"detail": f"not found: {exc}"}, status_code=404)
            except InvalidChange as exc:
                return JSONResponse({"detail": list(exc.problems)}, status_code=422)

        return guarded


def build_api_router(console: Console) -> APIRouter:
    router = APIRouter(
        route_class=ConsoleRoute,
        prefix="/api/admin",
        tags=["admin"],
        # shown in /docs as the way to authenticate; the check itself is `console.api_operator`
        dependencies=[Depends(HTTPBearer(auto_error=False))],
        responses={401: {"model": Problems}, 403: {"model": Problems}},
    )
    Who = Annotated[Operator, Depends(console.api_operator)]
    engine = console.engine

    @router.get("/me", response_model=OperatorOut)
    async def me(who: Who) -> OperatorOut:
        """The operator this token or session belongs to."""
        return OperatorOut(id=who.id, email=who.email, role=who.role,
                           organization_id=who.organization_id)  # fmt: skip

    @router.get("/services", response_model=list[ServiceSummary])
    async def services(
        who: Who,
        q: Annotated[str, Query(max_length=200)] = "",
        topic: Topic | None = None,
        prefecture: Annotated[str | None, Query(pattern=r"^(0[1-9]|[1-3][0-9]|4[0-7])$")] = None,
        kind: ServiceKind | None = None,
        stale: bool | None = None,
        organization: Annotated[str | None, Query(max_length=64)] = None,
    ) -> list[ServiceSummary]:
        """Find services: text in id or name, topic, prefecture served, kind, stale or not."""
        authorize(who, Action.READ)
        registry = await store.load_registry(engine)
        wanted = ServiceFilter(q, topic, prefecture, kind.value if kind else None, stale,
                               organization)  # fmt: skip
        today = console.today()
        return [summary(s, who, today, console.stale_after_days)
                for s in find_services(registry, wanted, today, console.stale_after_days)]  # fmt: skip

    @router.get("/services/{service_id}", response_model=ServiceDetail,
                responses={404: {"model": Problems}})  # fmt: skip
    async def service(who: Who, service_id: ServiceId) -> ServiceDetail:
        """One service with its contact points and their hours."""
        with plain_errors():
            authorize(who, Action.READ)
            registry = await store.load_registry(engine)
            s = service_of(registry, service_id)
        verified = await audit.last_verification(engine, service_id)
        return detail(registry, s, who, verified.actor if verified else None)

    def detail(registry: Registry, s: Service, who: Operator, by: str | None) -> ServiceDetail:
        org = next((o for o in registry.organizations if o.id == s.organization_id), None)
        return ServiceDetail(
            service=s, organization_name=org.name_ja if org else s.organization_id,
            stale=s.is_stale(console.today(), console.stale_after_days),
            can_edit=can(who, Action.EDIT_SERVICE, s.organization_id), verified_by=by,
        )  # fmt: skip

    @router.put("/services/{service_id}", response_model=Service,
                responses={404: {"model": Problems}, 422: {"model": Problems}})  # fmt: skip
    async def put_service(who: Who, service_id: ServiceId, body: Service) -> Service:
        """Replace a service (contact points and hours included). Org editors: own services only."""
        if body.id != service_id:
            raise HTTPException(422, "the service id in the body differs from the one in the path")
        with plain_errors():
            hours_computable(body, console.now())
            return await save_service(engine, console.bus, who, who.actor, body)

    @router.put("/services/{service_id}/contacts/{index}/hours", response_model=Service,
                responses={404: {"model": Problems}, 422: {"model": Problems}})  # fmt: skip
    async def put_hours(
        who: Who,
        service_id: ServiceId,
        index: Annotated[int, Path(ge=0, le=99)],
        hours: OpeningHours,
    ) -> Service:
        """Replace the opening hours of one contact point (0 is the first)."""

        def with_hours(current: Service) -> Service:
            # applied under the writers' lock to the service as stored: nothing saved by
            # someone else a moment before is undone
            if index >= len(current.contacts):
                raise ServiceNotFound(f"{service_id} has no contact point {index}")
            contacts = list(current.contacts)
            contacts[index] = contacts[index].model_copy(update={"hours": hours})
            new = current.model_copy(update={"contacts": tuple(contacts)})
            hours_computable(new, console.now())
            return new

        with plain_errors():
            authorize(who, Action.READ)
            _, saved = await update_service(engine, console.bus, who, who.actor, service_id,
                                            with_hours)  # fmt: skip
            return saved

    @router.post("/services/{service_id}/verify", response_model=Service,
                 responses={404: {"model": Problems}})  # fmt: skip
    async def verify(who: Who, service_id: ServiceId) -> Service:
        """Mark the service's facts as checked today, by you."""
        with plain_errors():
            return await verify_service(engine, console.bus, who, who.actor, service_id,
                                        console.today())  # fmt: skip

    @router.post("/registry/import", response_model=ImportOut,
                 responses={422: {"model": ImportOut}})  # fmt: skip
    async def import_registry(who: Who, body: ImportIn, response: Response) -> ImportOut:
        """A YAML or CSV registry file: the changes it would make, and with `apply` makes them
        (all or nothing). A file with problems changes nothing."""
        with plain_errors():
            authorize(who, Action.IMPORT_REGISTRY)
            active = await active_ruleset(engine)
            if body.apply:
                preview = await apply_import(engine, console.bus, who, who.actor, body.text,
                                             body.format, body.filename, active)  # fmt: skip
            else:
                preview = await preview_import(engine, body.text, body.format, body.filename,
                                               active)  # fmt: skip
        if not preview.ok:
            response.status_code = 422
        return import_out(preview, applied=body.apply and preview.ok)

    @router.get("/registry/export", response_model=Registry)
    async def export_registry(who: Who) -> Registry:
        """The whole stored registry."""
        authorize(who, Action.READ)
        return await store.load_registry(engine)

    @router.get("/rules", response_model=list[VersionOut])
    async def rule_versions(who: Who) -> list[VersionOut]:
        """Every stored rule set version, newest first; one is active."""
        authorize(who, Action.READ)
        return [VersionOut(**v.__dict__) for v in await store.list_rule_sets(engine)]

    @router.get("/rules/{rule_set_id}", response_model=VersionDetail,
                responses={404: {"model": Problems}})  # fmt: skip
    async def rule_version(who: Who, rule_set_id: VersionId) -> VersionDetail:
        authorize(who, Action.READ)
        with plain_errors():
            text = await version_text(engine, rule_set_id)
        version = next(v for v in await store.list_rule_sets(engine) if v.id == rule_set_id)
        return VersionDetail(**version.__dict__, text=text)

    @router.post("/rules/check", response_model=CheckOut)
    async def check_rules(who: Who, body: RulesIn) -> CheckOut:
        """Validate a draft, run its tests against the registry, diff it with the active set."""
        authorize(who, Action.READ)
        return check_out(await check_rule_set(engine, body.text, console.prefectures))

    @router.post("/rules", status_code=201, response_model=SavedRules,
                 responses={422: {"model": CheckOut}})  # fmt: skip
    async def save_rules(who: Who, body: RulesIn) -> SavedRules | JSONResponse:
        """Store a new version (not yet active). One that does not parse is not stored."""
        with plain_errors():
            rule_set_id, check = await save_version(engine, who, who.actor, body.text, body.label,
                                                    console.prefectures)  # fmt: skip
        if rule_set_id is None:
            return JSONResponse(check_out(check).model_dump(mode="json"), status_code=422)
        return SavedRules(id=rule_set_id, check=check_out(check))

    @router.post("/rules/{rule_set_id}/activate", response_model=CheckOut,
                 responses={404: {"model": Problems}, 422: {"model": CheckOut}})  # fmt: skip
    async def activate(who: Who, rule_set_id: VersionId, response: Response) -> CheckOut:
        """Make this version the active one (an earlier one: a rollback). Refused, changing
        nothing, unless it parses and passes its tests against the registry as it is now."""
        with plain_errors():
            try:
                check = await activate_version(engine, console.bus, who, who.actor, rule_set_id,
                                               console.prefectures)  # fmt: skip
            except ActivationRefused as refused:
                response.status_code = 422
                return check_out(refused.check)
        return check_out(check)

    @router.post("/simulate", response_model=SimulationOut, responses={404: {"model": Problems}})
    async def simulator(who: Who, body: Simulation) -> SimulationOut:
        """Route a person's answers at a moment, as the bot would, with every reason shown."""
        authorize(who, Action.READ)
        with plain_errors():
            result, at, applied = await simulate(engine, console.prefectures, body, console.now())
        return simulation_out(result, at, applied)

    @router.get("/reports/stale", response_model=list[ServiceSummary])
    async def stale_report(who: Who) -> list[ServiceSummary]:
        """Services whose facts were last verified too long ago, or never."""
        authorize(who, Action.READ)
        today = console.today()
        registry = await store.load_registry(engine)
        return [summary(s, who, today, console.stale_after_days)
                for s in reports.stale(registry, today, console.stale_after_days)]  # fmt: skip

    @router.get("/reports/gaps", response_model=list[GapOut])
    async def gap_report(
        who: Who,
        prefecture: Annotated[list[PrefCode] | None, Query()] = None,
        topic: Annotated[list[Topic] | None, Query()] = None,
        week_of: date | None = None,
    ) -> list[GapOut]:
        """Where and when no fitting service is open, hour by hour over a week."""
        authorize(who, Action.READ)
        if week_of is not None and not 2000 <= week_of.year <= 2100:
            raise HTTPException(422, "give a week between the years 2000 and 2100")
        catalog = await store.load_catalog(engine, console.prefectures)
        _, found = reports.gaps(catalog, await active_ruleset(engine), week_of or console.today(),
                                prefecture or None, topic or TOPICS)  # fmt: skip
        return [GapOut(**g.__dict__) for g in found]

    @router.get("/audit", response_model=list[AuditOut])
    async def audit_log(
        who: Who,
        target: Annotated[str | None, Query(max_length=200)] = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    ) -> list[AuditOut]:
        """Every change, newest first: who, when, what, before and after."""
        authorize(who, Action.READ)
        return [AuditOut(**e.__dict__) for e in await audit.entries(engine, limit=limit,
                                                                      target=target)]  # fmt: skip

    @router.get("/operators", response_model=list[OperatorOut])
    async def operators(who: Who) -> list[OperatorOut]:
        authorize(who, Action.MANAGE_OPERATORS)
        return [OperatorOut(id=o.id, email=o.email, role=o.role, organization_id=o.organization_id)
                for o in await list_operators(engine)]  # fmt: skip

    @router.post("/operators", status_code=201, response_model=OperatorOut,
                 responses={409: {"model": Problems}, 422: {"model": Problems}})  # fmt: skip
    async def add_operator(who: Who, body: OperatorIn) -> OperatorOut:
        """A new operator account (platform admins only)."""
        with plain_errors():
            authorize(who, Action.MANAGE_OPERATORS)
        try:
            new_id = await create_operator(engine, body.email, body.password, body.role.value,
                                           body.organization_id, actor=who.actor)  # fmt: skip
        except OperatorError as exc:
            status = 409 if "already exists" in str(exc) else 422
            raise HTTPException(status, str(exc)) from exc
        return OperatorOut(id=new_id, email=body.email.strip().lower(), role=body.role,
                           organization_id=body.organization_id)  # fmt: skip

    @router.post("/tokens", status_code=201, response_model=TokenOut)
    async def new_token(who: Who, body: TokenIn) -> TokenOut:
        """An API token for yourself, with your role; keep it secret."""
        return TokenOut(token=await create_api_token(engine, who, body.label))

    return router
