"""The console's pages under /admin: server-rendered forms for operators who are not
programmers. Every page asks who is signed in; every form carries a CSRF token; every change
goes through the same functions (and the same `authorize`) as the API."""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Mapping
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Request, Response
from fastapi import Path as FastApiPath
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates
from pydantic import ValidationError
from starlette.datastructures import UploadFile

from admin import audit, reports
from admin.auth import Session
from admin.console import Console
from admin.contact_form import (
    HOURS_CHOICES,
    KIND_LABELS,
    NEW,
    ContactChanges,
    ContactFormError,
    ContactsChanged,
    check_unchanged,
    contacts_from_form,
    fingerprint,
)
from admin.registry import (
    Format,
    InvalidChange,
    ServiceFilter,
    ServiceNotFound,
    apply_import,
    find_services,
    hours_computable,
    preview_import,
    service_of,
    update_service,
    verify_service,
)
from admin.roles import Action, Forbidden, authorize, can
from admin.rulesets import (
    ActivationRefused,
    VersionNotFound,
    activate_version,
    active_ruleset,
    active_text,
    check_rule_set,
    save_version,
    version_text,
)
from admin.simulator import Simulation, simulate
from admin.users import Operator, authenticate
from admin.week import (
    DAY_LABELS,
    DAYS,
    SLOTS,
    WeekFormError,
    pairs_by_day,
    week_bars,
)
from resources import store
from resources.model import TOPICS, ContactKind, Service, ServiceKind
from resources.schedule import TOKYO, OpeningHours
from routing.explain import TOPIC_NAMES
from routing.rules import RuleSetError

VersionId = Annotated[int, FastApiPath(ge=1, le=2**31 - 1)]
HERE = Path(__file__).resolve().parent
templates = Jinja2Templates(directory=str(HERE / "templates"))


def _local(at: datetime, fmt: str) -> str:
    """A moment as operators read it: Japan time (the registry's local time)."""
    return (at.astimezone(TOKYO) if at.tzinfo else at).strftime(fmt)


templates.env.filters["local"] = _local
templates.env.globals.update(
    DAYS=DAYS, DAY_LABELS=DAY_LABELS, SLOTS=SLOTS, TOPICS=TOPICS, TOPIC_NAMES=TOPIC_NAMES,
    KINDS=[k.value for k in ServiceKind], CONTACT_KINDS=[k.value for k in ContactKind],
    CONTACT_KIND_LABELS=KIND_LABELS, HOURS_CHOICES=HOURS_CHOICES, NEW=NEW,
)  # fmt: skip


PAGE_HEADERS = {
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "frame-ancestors 'none'",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
}


class NotSignedIn(Exception):
    def __init__(self, path: str) -> None:
        self.path = path


class BadCsrf(Exception):
    """A form sent without this session's CSRF token."""


class PageRoute(APIRoute):
    """Refusals become friendly pages: sign in, not yours, not found, form expired."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def guarded(request: Request) -> Response:
            response = await answer(request)
            # operators' pages are never framed by another site, cached, or leaked by referrer
            response.headers.update(PAGE_HEADERS)
            return response

        async def answer(request: Request) -> Response:
            try:
                return await handler(request)
            except NotSignedIn as exc:
                return RedirectResponse(f"/admin/login?next={quote(exc.path)}", status_code=303)
            except Forbidden as exc:
                return _problem(request, 403, "Not allowed / 権限がありません", str(exc))
            except (ServiceNotFound, VersionNotFound, store.RuleSetNotFound):
                return _problem(request, 404, "Not found / 見つかりません",
                                "There is nothing at this address.")  # fmt: skip
            except BadCsrf:
                return _problem(request, 403, "This form has expired / フォームの期限切れ",
                                "Go back, reload the page and send the form again.")  # fmt: skip

        return guarded


def _problem(request: Request, status: int, title: str, message: str) -> HTMLResponse:
    return templates.TemplateResponse(
        request, "problem.html", {"title": title, "message": message, "who": None, "csrf": ""},
        status_code=status,
    )  # fmt: skip


def build_pages_router(console: Console) -> APIRouter:
    router = APIRouter(prefix="/admin", route_class=PageRoute, include_in_schema=False)
    engine = console.engine
    signer = console.signer

    # ------------------------------------------------------------- session plumbing
    def session_of(request: Request) -> tuple[Session, bool]:
        """This browser's session; a new anonymous one (to be set as a cookie) if it has none."""
        found = console.session(request)
        return (found, False) if found is not None else (Session.anonymous(), True)

    async def signed_in(request: Request) -> tuple[Operator, Session]:
        session = console.session(request)
        operator = await console.from_session(session)
        if operator is None or session is None:
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            raise NotSignedIn(target)
        return operator, session

    async def form_of(request: Request, session: Session) -> Mapping[str, Any]:
        form = await request.form()
        token = form.get("csrf")
        if not signer.csrf_ok(session, token if isinstance(token, str) else None):
            raise BadCsrf
        return form

    def page(
        request: Request, name: str, who: Operator | None, session: Session,
        status: int = 200, new_cookie: bool = False, **context: Any,
    ) -> HTMLResponse:  # fmt: skip
        response = templates.TemplateResponse(
            request, name,
            {"who": who, "csrf": signer.csrf_token(session), "now": console.now(), **context},
            status_code=status,
        )  # fmt: skip
        if new_cookie:
            response.set_cookie(value=signer.dumps(session), **signer.cookie_options())
        return response

    def back(to: str, message: str = "") -> RedirectResponse:
        suffix = f"{'&' if '?' in to else '?'}done={quote(message)}" if message else ""
        return RedirectResponse(to + suffix, status_code=303)

    @router.get("/static/console.css")
    async def stylesheet() -> FileResponse:
        return FileResponse(HERE / "static" / "console.css", media_type="text/css")

    # ------------------------------------------------------------- sign in and out
    @router.get("/login", response_class=HTMLResponse)
    async def login_form(request: Request, next: str = "/admin/") -> HTMLResponse:
        session, new = session_of(request)
        return page(request, "login.html", None, session, new_cookie=new, next=_safe_next(next))

    @router.post("/login", response_class=HTMLResponse)
    async def login(request: Request) -> Response:
        session, new = session_of(request)
        form = await form_of(request, session)
        email = str(form.get("email", ""))[:254]
        password = str(form.get("password", ""))[:1000]
        target = _safe_next(str(form.get("next", "/admin/")))
        client = request.client.host if request.client else "unknown"
        wait = await console.limiter.retry_after(email, client)
        if wait:
            return page(request, "login.html", None, session, status=429, next=target,
                        email=email, error=f"Too many attempts. Try again in {wait // 60 + 1} "
                        f"minutes. / 試行回数が多すぎます。しばらくしてから再度お試しください。")  # fmt: skip
        operator = await authenticate(engine, email, password)
        if operator is None:
            await console.limiter.failed(email, client)
            return page(request, "login.html", None, session, status=401, next=target,
                        email=email, error="Wrong e-mail or password. / メールアドレスまたは"
                        "パスワードが違います。")  # fmt: skip
        await console.limiter.succeeded(email)
        response = RedirectResponse(target, status_code=303)
        # a fresh nonce on sign-in: a session planted before login is worth nothing after it
        fresh = Session(operator.id, Session.anonymous().nonce)
        response.set_cookie(value=signer.dumps(fresh), **signer.cookie_options())
        return response

    @router.post("/logout")
    async def logout(request: Request) -> Response:
        _, session = await signed_in(request)
        await form_of(request, session)
        response = RedirectResponse("/admin/login", status_code=303)
        response.set_cookie(value=signer.dumps(Session.anonymous()), **signer.cookie_options())
        return response

    # ------------------------------------------------------------- services
    @router.get("/", response_class=HTMLResponse)
    async def home(request: Request) -> Response:
        who, _ = await signed_in(request)
        # an org editor starts from its own services
        start = "/admin/services?mine=1" if who.organization_id else "/admin/services"
        return RedirectResponse(start, status_code=303)

    @router.get("/services", response_class=HTMLResponse)
    async def services(
        request: Request, q: str = "", topic: str = "", prefecture: str = "", kind: str = "",
        stale: str = "", mine: str = "",
    ) -> HTMLResponse:  # fmt: skip
        who, session = await signed_in(request)
        registry = await store.load_registry(engine)
        wanted = ServiceFilter(
            q=q[:200], topic=topic or None, prefecture=prefecture or None, kind=kind or None,
            stale={"yes": True, "no": False}.get(stale),
            organization=who.organization_id if mine and who.organization_id else None,
        )  # fmt: skip
        today = console.today()
        found = find_services(registry, wanted, today, console.stale_after_days)
        rows = [(s, s.is_stale(today, console.stale_after_days),
                 can(who, Action.EDIT_SERVICE, s.organization_id)) for s in found]  # fmt: skip
        return page(request, "services.html", who, session, rows=rows, total=len(registry.services),
                    f={"q": q, "topic": topic, "prefecture": prefecture, "kind": kind,
                       "stale": stale, "mine": mine},
                    prefectures=console.prefectures)  # fmt: skip

    @router.get("/services/{service_id}", response_class=HTMLResponse)
    async def service(request: Request, service_id: str, done: str = "") -> HTMLResponse:
        who, session = await signed_in(request)
        registry = await store.load_registry(engine)
        s = service_of(registry, service_id)
        org = next((o for o in registry.organizations if o.id == s.organization_id), None)
        verified = await audit.last_verification(engine, service_id)
        history = await audit.entries(engine, limit=20, target=f"service:{service_id}")
        return page(request, "service.html", who, session, s=s, org=org, done=done,
                    bars=[week_bars(c.hours) for c in s.contacts],
                    open_now=[c.hours.known and c.hours.is_open(console.now()) for c in s.contacts],
                    stale=s.is_stale(console.today(), console.stale_after_days),
                    verified_by=verified.actor if verified else None, history=history,
                    can_edit=can(who, Action.EDIT_SERVICE, s.organization_id),
                    can_verify=can(who, Action.VERIFY_SERVICE, s.organization_id))  # fmt: skip

    def edit_page(
        request: Request, who: Operator, session: Session, s: Service, errors: list[str],
        form: Mapping[str, Any] | None = None, status: int = 200,
        field_errors: Mapping[str, str] | None = None,
    ) -> HTMLResponse:  # fmt: skip
        return page(request, "service_edit.html", who, session, status=status, s=s, errors=errors,
                    form=form, pairs=[pairs_by_day(c.hours) for c in s.contacts],
                    bars=[week_bars(c.hours) for c in s.contacts], field_errors=field_errors or {},
                    seen=fingerprint(s.contacts), new_pairs=pairs_by_day(OpeningHours()),
                    adding_open=bool(form and form.get(f"{NEW}_value")) or any(
                        name.startswith(f"{NEW}_") for name in field_errors or {}))  # fmt: skip

    @router.get("/services/{service_id}/edit", response_class=HTMLResponse)
    async def edit_service_form(request: Request, service_id: str) -> HTMLResponse:
        who, session = await signed_in(request)
        s = service_of(await store.load_registry(engine), service_id)
        authorize(who, Action.EDIT_SERVICE, s.organization_id)
        return edit_page(request, who, session, s, [])

    @router.post("/services/{service_id}/edit", response_class=HTMLResponse)
    async def edit_service(request: Request, service_id: str) -> Response:
        who, session = await signed_in(request)
        form = await form_of(request, session)
        s = service_of(await store.load_registry(engine), service_id)
        authorize(who, Action.EDIT_SERVICE, s.organization_id)
        changes: list[ContactChanges] = []

        def edited(current: Service) -> Service:
            # applied to the service as stored under the writers' lock: all of it or nothing
            check_unchanged(current.contacts, form)
            new, contact_changes = service_from_form(current, form)
            hours_computable(new, console.now())
            changes.append(contact_changes)
            return new

        try:
            await update_service(engine, console.bus, who, who.actor, service_id, edited)
        except ContactsChanged as exc:
            fresh = service_of(await store.load_registry(engine), service_id)
            return edit_page(request, who, session, fresh, [str(exc)], status=409)
        except ContactFormError as exc:
            return edit_page(request, who, session, s, _messages(exc), form, status=422,
                             field_errors=exc.fields)  # fmt: skip
        except (WeekFormError, InvalidChange, ValidationError, ValueError) as exc:
            return edit_page(request, who, session, s, _messages(exc), form, status=422)
        what = changes[-1].summary() if changes else ""
        return back(f"/admin/services/{service_id}",
                    f"Saved{f' ({what})' if what else ''}. Routing uses the new facts now.")  # fmt: skip

    @router.post("/services/{service_id}/verify")
    async def verify(request: Request, service_id: str) -> Response:
        who, session = await signed_in(request)
        await form_of(request, session)
        await verify_service(engine, console.bus, who, who.actor, service_id, console.today())
        return back(f"/admin/services/{service_id}", "Marked as verified today.")

    # ------------------------------------------------------------- import
    @router.get("/import", response_class=HTMLResponse)
    async def import_form(request: Request) -> HTMLResponse:
        who, session = await signed_in(request)
        authorize(who, Action.IMPORT_REGISTRY)
        return page(request, "import.html", who, session, preview=None)

    @router.post("/import", response_class=HTMLResponse)
    async def import_file(request: Request) -> HTMLResponse:
        who, session = await signed_in(request)
        form = await form_of(request, session)
        authorize(who, Action.IMPORT_REGISTRY)
        upload = form.get("file")
        if isinstance(upload, UploadFile) and upload.filename:
            raw = await upload.read()
            filename = upload.filename
        else:
            raw = str(form.get("text", "")).encode()
            filename = str(form.get("filename", "upload"))
        text = raw.decode("utf-8-sig", errors="replace")
        csv = filename.lower().endswith(".csv") or form.get("format") == "csv"
        fmt: Format = "csv" if csv else "yaml"
        active = await active_ruleset(engine)
        applying = form.get("apply") == "yes"
        if applying:
            preview = await apply_import(engine, console.bus, who, who.actor, text, fmt, filename,
                                         active)  # fmt: skip
        else:
            preview = await preview_import(engine, text, fmt, filename, active)
        return page(request, "import.html", who, session, status=200 if preview.ok else 422,
                    preview=preview, text=text, filename=filename, fmt=fmt,
                    applied=applying and preview.ok)  # fmt: skip

    # ------------------------------------------------------------- rules
    @router.get("/rules", response_class=HTMLResponse)
    async def rules(request: Request, done: str = "") -> HTMLResponse:
        who, session = await signed_in(request)
        versions = await store.list_rule_sets(engine)
        return page(request, "rules.html", who, session, versions=versions, done=done,
                    active=await active_text(engine), check=None, draft=None,
                    can_save=can(who, Action.SAVE_RULES),
                    can_activate=can(who, Action.ACTIVATE_RULES))  # fmt: skip

    @router.post("/rules", response_class=HTMLResponse)
    async def rules_draft(request: Request) -> Response:
        """Check a draft (always), and store it as a new version when asked."""
        who, session = await signed_in(request)
        form = await form_of(request, session)
        # browsers send a textarea's line breaks as CRLF: keep the stored text as it was typed
        draft = str(form.get("text", "")).replace("\r\n", "\n")
        label = str(form.get("label", ""))[:200]
        if form.get("save") == "yes":
            rule_set_id, check = await save_version(engine, who, who.actor, draft, label,
                                                    console.prefectures)  # fmt: skip
            if rule_set_id is not None:
                return back(f"/admin/rules/{rule_set_id}", "Saved as a new version.")
        else:
            check = await check_rule_set(engine, draft, console.prefectures)
        return page(request, "rules.html", who, session, status=200 if check.ok else 422,
                    versions=await store.list_rule_sets(engine), active=await active_text(engine),
                    check=check, draft=draft, label=label, done="",
                    can_save=can(who, Action.SAVE_RULES),
                    can_activate=can(who, Action.ACTIVATE_RULES))  # fmt: skip

    @router.get("/rules/{rule_set_id}", response_class=HTMLResponse)
    async def rule_version(
        request: Request, rule_set_id: VersionId, done: str = ""
    ) -> HTMLResponse:
        who, session = await signed_in(request)
        text = await version_text(engine, rule_set_id)
        check = await check_rule_set(engine, text, console.prefectures, f"version {rule_set_id}")
        version = next(v for v in await store.list_rule_sets(engine) if v.id == rule_set_id)
        return page(request, "rule_version.html", who, session, version=version, text=text,
                    check=check, done=done, refused=None,
                    can_activate=can(who, Action.ACTIVATE_RULES))  # fmt: skip

    @router.post("/rules/{rule_set_id}/activate", response_class=HTMLResponse)
    async def activate(request: Request, rule_set_id: VersionId) -> Response:
        who, session = await signed_in(request)
        await form_of(request, session)
        try:
            await activate_version(engine, console.bus, who, who.actor, rule_set_id,
                                   console.prefectures)  # fmt: skip
        except ActivationRefused as refused:
            version = next(v for v in await store.list_rule_sets(engine) if v.id == rule_set_id)
            return page(request, "rule_version.html", who, session, status=422, version=version,
                        text=await version_text(engine, rule_set_id), check=refused.check,
                        done="", refused=refused.check.failures(),
                        can_activate=can(who, Action.ACTIVATE_RULES))  # fmt: skip
        return back("/admin/rules", f"Version {rule_set_id} is active now.")

    # ------------------------------------------------------------- simulator
    @router.get("/simulator", response_class=HTMLResponse)
    async def simulator(request: Request) -> HTMLResponse:
        who, session = await signed_in(request)
        query = request.query_params
        versions = await store.list_rule_sets(engine)
        context: dict[str, Any] = {"q": query, "versions": versions, "result": None,
                                   "errors": [], "prefectures": console.prefectures}  # fmt: skip
        if "run" in query:
            try:
                sim = simulation_from_query(query, console)
                context["result"] = await simulate(engine, console.prefectures, sim, console.now())
            except (ValidationError, ValueError, RuleSetError) as exc:
                context["errors"] = _messages(exc)
        return page(request, "simulator.html", who, session, **context)

    # ------------------------------------------------------------- reports and audit
    @router.get("/reports", response_class=HTMLResponse)
    async def report_page(
        request: Request, prefecture: str = "13", topic: str = ""
    ) -> HTMLResponse:
        who, session = await signed_in(request)
        today = console.today()
        registry = await store.load_registry(engine)
        stale = reports.stale(registry, today, console.stale_after_days)
        gaps: list[reports.Gap] = []
        codes = {p.code for p in console.prefectures} or {prefecture}
        if prefecture in codes:
            catalog = await store.load_catalog(engine, console.prefectures)
            topics = [topic] if topic in TOPICS else list(TOPICS)
            _, gaps = reports.gaps(catalog, await active_ruleset(engine), today, [prefecture],
                                   topics)  # fmt: skip
        return page(request, "reports.html", who, session, stale=stale, gaps=gaps, today=today,
                    prefecture=prefecture, topic=topic, prefectures=console.prefectures,
                    stale_after=console.stale_after_days)  # fmt: skip

    @router.get("/audit", response_class=HTMLResponse)
    async def audit_page(request: Request, target: str = "") -> HTMLResponse:
        who, session = await signed_in(request)
        found = await audit.entries(engine, limit=200, target=target[:200] or None)
        rows = [(e, audit.changed_fields(e.before, e.after)) for e in found]
        return page(request, "audit.html", who, session, rows=rows, target=target)

    return router


def _safe_next(target: str) -> str:
    """Only our own console pages: never an open redirect to another site."""
    return target if target.startswith("/admin") and "//" not in target else "/admin/"


def _messages(exc: Exception) -> list[str]:
    if isinstance(exc, ValidationError):
        return [f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()]
    if isinstance(exc, InvalidChange):
        return list(exc.problems)
    if isinstance(exc, RuleSetError):
        return [str(p) for p in exc.problems]
    if isinstance(exc, ContactFormError):
        return [*exc.general, *(f"{_field_title(name)}: {message}"
                                for name, message in exc.fields.items())]  # fmt: skip
    return [str(exc)]


def _field_title(name: str) -> str:
    """A form field's name as the summary above the form says it: "Contact point 2 · value"."""
    prefix, _, field = name.partition("_")
    which = "New contact point" if prefix == NEW else f"Contact point {int(prefix[1:]) + 1}"
    return f"{which} · {field.replace('_', ' ')}"


def service_from_form(old: Service, form: Any) -> tuple[Service, ContactChanges]:
    """The service as the edit form describes it: names, web address, topics, areas, ages,
    each contact point's value, labels, note and week of hours, the contact points removed
    and the one added. A field the form did not show keeps its value."""

    def text(name: str, default: str) -> str:
        value = form.get(name)
        return str(value).strip() if isinstance(value, str) else default

    contacts, changes = contacts_from_form(
        old.contacts, {k: v for k, v in form.items() if isinstance(v, str)}
    )
    data = old.model_dump()
    data.update(
        name_ja=text("name_ja", old.name_ja), name_en=text("name_en", old.name_en),
        url=text("url", old.url or "") or None, hours_note=text("hours_note", old.hours_note),
        status=text("status", old.status), contacts=[c.model_dump() for c in contacts],
        description_ja=text("description_ja", old.description_ja),
    )  # fmt: skip
    if "topics_shown" in form:
        data["topics"] = [str(t) for t in form.getlist("topics")]
    if "areas" in form:
        data["areas"] = areas_from_text(text("areas", ""))
    for bound in ("age_min", "age_max"):
        if bound in form:
            value = text(bound, "")
            data["eligibility"][bound] = int(value) if value.isdigit() else None
    return Service.model_validate(data), changes


def areas_from_text(value: str) -> list[dict[str, str | None]]:
    """`national`, or prefecture (2 digits) and municipality (5–6 digits) codes by spaces."""
    words = value.replace(",", " ").split()
    if not words or words == ["national"]:
        return [{"level": "national", "code": None}]
    return [{"level": "prefecture" if len(w) == 2 else "municipality", "code": w} for w in words]


def simulation_from_query(query: Mapping[str, str] | Any, console: Console) -> Simulation:
    at_text = str(query.get("at", "")).strip()
    at = None
    if at_text:
        at = datetime.fromisoformat(at_text)
        if at.tzinfo is None:
            at = at.replace(tzinfo=console.tz)
    age = str(query.get("age", "")).strip()
    version = str(query.get("rule_set_id", "")).strip()
    return Simulation.model_validate(
        {
            "topics": query.getlist("topics") if hasattr(query, "getlist") else [],
            "age": int(age) if age else None,
            "prefecture": query.get("prefecture") or None,
            "channel": query.get("channel") or "any",
            "lang": query.get("lang") or "ja",
            "need": query.get("need") or "any",
            "text": query.get("text") or None,
            "at": at,
            "rule_set_id": int(version) if version else None,
        }
    )
