"""The governance registry: tenants, use cases and keys, with the AI Act's registration rules.

Every change goes through ``changes.Transactions``: it is committed only once its event is accepted.
The rules a use case must satisfy live in ``rules``; the request and response models in ``schemas``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from souverain.errors import Conflict, InvalidRequest, NotFound
from souverain.events import EventSink
from souverain.governance import keys, rules
from souverain.governance.changes import Actor, Change, JoinedStore, Transactions
from souverain.governance.models import ApiKey, Tenant, UseCase
from souverain.governance.principal import Role
from souverain.governance.schemas import (
    MAX_KEY_DAYS,
    KeyCreate,
    KeyCreated,
    KeyOut,
    TenantCreate,
    TenantOut,
    UseCaseCreate,
    UseCaseOut,
    UseCaseUpdate,
    aware,
)
from souverain.settings import Settings
from souverain.storage.orm import MAX_ROW_ID

__all__ = ["Actor", "Registry"]


def _now() -> datetime:
    return datetime.now(UTC)


class Registry:
    """Operations on tenants, use cases and keys; one instance may serve many requests."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        settings: Settings,
        events: EventSink,
        joined: JoinedStore | None = None,
    ) -> None:
        self.settings = settings
        self.sessions = sessions
        self.tx = Transactions(sessions, events, joined)

    # -- tenants ----------------------------------------------------------------------------------

    async def create_tenant(self, data: TenantCreate, actor: Actor, *, is_demo: bool = False) -> TenantOut:
        """Register a tenant; 409 if the name is taken."""

        def work(session: Session, change: Change) -> TenantOut:
            change.tenant = data.name
            if session.scalar(select(Tenant.id).where(Tenant.name == data.name)) is not None:
                message = f"A tenant named {data.name!r} already exists."
                raise Conflict(message, param="name", code="duplicate")
            tenant = Tenant(
                name=data.name,
                display_name=data.display_name,
                quotas=data.quotas.stored(),
                is_demo=is_demo,
                created_at=_now(),
            )
            session.add(tenant)
            session.flush()
            change.details = {"tenant_id": tenant.id, "fields": sorted(data.model_fields_set)}
            return TenantOut.of(tenant, use_cases=0)

        return await self.tx.write("admin.tenant.create", actor, work)

    async def list_tenants(self) -> list[TenantOut]:
        """Every tenant, by name."""

        def work(session: Session) -> list[TenantOut]:
            grouped = select(UseCase.tenant_id, func.count()).group_by(UseCase.tenant_id)
            counts: dict[int, int] = dict(session.execute(grouped).all())
            tenants = session.scalars(select(Tenant).order_by(Tenant.name))
            return [TenantOut.of(t, counts.get(t.id, 0)) for t in tenants]

        return await self.tx.read(work)

    async def get_tenant(self, name: str) -> TenantOut:
        """One tenant by name (404 if unknown)."""

        def work(session: Session) -> TenantOut:
            tenant = _tenant(session, name)
            return TenantOut.of(tenant, _count(session, UseCase, UseCase.tenant_id == tenant.id))

        return await self.tx.read(work)

    async def delete_tenant(self, name: str, actor: Actor) -> None:
        """Delete a tenant that has no use cases and no keys (409 otherwise)."""

        def work(session: Session, change: Change) -> None:
            tenant = _tenant(session, name)
            change.details = {"tenant_id": tenant.id}
            used = _count(session, UseCase, UseCase.tenant_id == tenant.id)
            used += _count(session, ApiKey, ApiKey.tenant_id == tenant.id)
            if used:
                raise Conflict(
                    f"The tenant {name!r} still has use cases or keys; delete its use cases first.",
                    code="in_use",
                )
            session.delete(tenant)

        await self.tx.write("admin.tenant.delete", actor, work, Change(tenant=name))

    # -- use cases --------------------------------------------------------------------------------

    async def create_use_case(
        self, tenant_name: str, data: UseCaseCreate, actor: Actor, *, is_demo: bool = False
    ) -> UseCaseOut:
        """Register a use case under a tenant, enforcing the AI Act rules (``rules.check``)."""

        def work(session: Session, change: Change) -> UseCaseOut:
            values = data.model_dump(mode="json")
            values["quotas"] = data.quotas.stored()
            values["risk_class"] = rules.check(values, self.settings, check_models=True)
            tenant = _tenant(session, tenant_name)
            _unique_use_case(session, tenant, data.name)
            now = _now()
            use_case = UseCase(tenant_id=tenant.id, is_demo=is_demo, created_at=now, updated_at=now, **values)
            session.add(use_case)
            session.flush()
            change.details = {"use_case_id": use_case.id, "fields": sorted(data.model_fields_set)}
            return UseCaseOut.of(use_case, tenant)

        return await self.tx.write(
            "admin.use_case.create", actor, work, Change(tenant=tenant_name, use_case=data.name)
        )

    async def list_use_cases(self, tenant: str | None = None) -> list[UseCaseOut]:
        """Use cases, of one tenant or of all, by tenant and name."""

        def work(session: Session) -> list[UseCaseOut]:
            query = select(UseCase, Tenant).join(Tenant, UseCase.tenant_id == Tenant.id)
            if tenant is not None:
                query = query.where(Tenant.id == _tenant(session, tenant).id)
            rows = session.execute(query.order_by(Tenant.name, UseCase.name))
            return [UseCaseOut.of(use_case, owner) for use_case, owner in rows]

        return await self.tx.read(work)

    async def get_use_case(self, ref: int | str) -> UseCaseOut:
        """One use case by id or ``tenant/name`` (404 if unknown)."""
        return await self.tx.read(lambda session: UseCaseOut.of(*_use_case(session, ref)))

    async def update_use_case(self, ref: int | str, data: UseCaseUpdate, actor: Actor) -> UseCaseOut:
        """Change some fields of a use case; the rules apply to the result; the event names the fields."""

        def work(session: Session, change: Change) -> UseCaseOut:
            use_case, tenant = _use_case(session, ref)
            change.tenant, change.use_case = tenant.name, use_case.name
            updates = data.changes()
            if updates.get("name", use_case.name) != use_case.name:
                _unique_use_case(session, tenant, updates["name"])
            # the stored risk class follows the old category: only a risk class sent now is checked
            merged = {column: getattr(use_case, column) for column in rules.FIELDS} | updates
            merged.setdefault("risk_class", None)
            check_models = "allowed_models" in updates
            updates["risk_class"] = rules.check(merged, self.settings, check_models=check_models)
            changed = sorted(k for k, v in updates.items() if getattr(use_case, k) != v)
            for name in changed:
                setattr(use_case, name, updates[name])
            if changed:
                use_case.updated_at = _now()
            session.flush()
            change.details = {"use_case_id": use_case.id, "changed": changed}
            return UseCaseOut.of(use_case, tenant)

        return await self.tx.write("admin.use_case.update", actor, work)

    async def delete_use_case(self, ref: int | str, actor: Actor) -> None:
        """Delete a use case that never had keys (409 otherwise: revoked keys stay for the audit trail)."""

        def work(session: Session, change: Change) -> None:
            use_case, tenant = _use_case(session, ref)
            change.tenant, change.use_case = tenant.name, use_case.name
            change.details = {"use_case_id": use_case.id}
            held = _count(session, ApiKey, ApiKey.use_case_id == use_case.id)
            if held:
                raise Conflict(
                    f"The use case {tenant.name}/{use_case.name} has {held} key(s), revoked ones included "
                    "(kept for the audit trail); it cannot be deleted.",
                    code="in_use",
                )
            session.delete(use_case)

        await self.tx.write("admin.use_case.delete", actor, work)

    # -- keys -------------------------------------------------------------------------------------

    async def create_key(self, data: KeyCreate, actor: Actor) -> KeyCreated:
        """Issue a key; the full secret is in the result and nowhere else."""
        return await self.tx.write("admin.key.create", actor, lambda s, c: self._insert_key(s, c, data))

    async def bootstrap_admin(self, actor: Actor, name: str = "bootstrap") -> KeyCreated:
        """An admin key when no admin key is usable: the first one of a fresh installation, or the way back
        in (from the server's own command line) once every admin key is revoked or expired. 409 otherwise."""

        def work(session: Session, change: Change) -> KeyCreated:
            usable = _usable_admin_keys(session)
            if usable:
                raise Conflict(
                    f"An admin key is still usable ({usable[0]}); bootstrap only runs when none is (a fresh "
                    "installation, or every admin key revoked or expired). Create further keys with an admin "
                    "key (souverain keys create --role admin).",
                    code="already_bootstrapped",
                )
            created = self._insert_key(session, change, KeyCreate(name=name, role=Role.ADMIN))
            change.details["bootstrap"] = True
            return created

        return await self.tx.write("admin.key.create", actor, work)

    def _insert_key(self, session: Session, change: Change, data: KeyCreate) -> KeyCreated:
        use_case, tenant = _key_scope(session, data)
        change.tenant = tenant.name if tenant else None
        change.use_case = use_case.name if use_case else None
        now = _now()
        new = keys.generate()
        row = ApiKey(
            prefix=new.prefix,
            salt=new.salt,
            secret_hash=new.secret_hash,
            name=data.name,
            role=data.role.value,
            tenant_id=tenant.id if tenant else None,
            use_case_id=use_case.id if use_case else None,
            quotas=data.quotas.stored(),
            created_at=now,
            expires_at=self._expiry(data, now),
        )
        session.add(row)
        session.flush()
        change.details = {"key_id": row.id, "key_prefix": row.prefix, "role": row.role}
        public = KeyOut.of(row, change.tenant, change.use_case)
        return KeyCreated(**public.model_dump(), key=new.full)

    def _expiry(self, data: KeyCreate, now: datetime) -> datetime:
        if data.expires_at is not None:
            if data.expires_at <= now:
                raise InvalidRequest("expires_at is in the past.", param="expires_at", code="invalid_value")
            if data.expires_at > now + timedelta(days=MAX_KEY_DAYS):
                raise InvalidRequest(
                    f"expires_at is more than {MAX_KEY_DAYS} days ahead.",
                    param="expires_at",
                    code="invalid_value",
                )
            return data.expires_at.astimezone(UTC)
        days = data.expires_in_days or self.settings.governance.default_key_days
        return now + timedelta(days=days)

    async def list_keys(self, tenant: str | None = None, use_case: int | str | None = None) -> list[KeyOut]:
        """Keys without their secrets, newest first, optionally of one tenant or use case."""

        def work(session: Session) -> list[KeyOut]:
            query = (
                select(ApiKey, Tenant.name, UseCase.name)
                .outerjoin(Tenant, ApiKey.tenant_id == Tenant.id)
                .outerjoin(UseCase, ApiKey.use_case_id == UseCase.id)
            )
            if tenant is not None:
                query = query.where(ApiKey.tenant_id == _tenant(session, tenant).id)
            if use_case is not None:
                query = query.where(ApiKey.use_case_id == _use_case(session, use_case)[0].id)
            rows = session.execute(query.order_by(ApiKey.id.desc()))
            return [KeyOut.of(key, owner, purpose) for key, owner, purpose in rows]

        return await self.tx.read(work)

    async def revoke_key(self, prefix: str, actor: Actor) -> KeyOut:
        """Revoke a key at once (409 if it already is)."""

        def work(session: Session, change: Change) -> KeyOut:
            key = session.scalar(select(ApiKey).where(ApiKey.prefix == prefix))
            if key is None:
                raise NotFound(f"No key with the prefix {prefix!r}.", param="prefix", code="unknown_key")
            tenant = session.get(Tenant, key.tenant_id) if key.tenant_id is not None else None
            use_case = session.get(UseCase, key.use_case_id) if key.use_case_id is not None else None
            change.tenant = tenant.name if tenant else None
            change.use_case = use_case.name if use_case else None
            change.details = {"key_id": key.id, "key_prefix": key.prefix}
            if key.revoked_at is not None:
                raise Conflict(f"The key {prefix} was already revoked.", code="already_revoked")
            if key.role == Role.ADMIN.value and _usable_admin_keys(session) == [key.prefix]:
                raise Conflict(
                    f"The key {prefix} is the last usable admin key: create another one before revoking it.",
                    code="last_admin_key",
                )
            key.revoked_at = _now()
            session.flush()
            return KeyOut.of(key, change.tenant, change.use_case)

        return await self.tx.write("admin.key.revoke", actor, work)


def _usable_admin_keys(session: Session) -> list[str]:
    """The prefixes of the admin keys neither revoked nor expired."""
    now = _now()
    rows = session.execute(
        select(ApiKey.prefix, ApiKey.expires_at).where(
            ApiKey.role == Role.ADMIN.value, ApiKey.revoked_at.is_(None)
        )
    )
    return [prefix for prefix, expires in rows if (moment := aware(expires)) is None or moment > now]


def _count(session: Session, table: type[Tenant | UseCase | ApiKey], *conditions: Any) -> int:
    return int(session.scalar(select(func.count()).select_from(table).where(*conditions)) or 0)


def _tenant(session: Session, name: str) -> Tenant:
    tenant = session.scalar(select(Tenant).where(Tenant.name == name))
    if tenant is None:
        raise NotFound(f"No tenant named {name!r}.", param="tenant", code="unknown_tenant")
    return tenant


def _use_case(session: Session, ref: int | str) -> tuple[UseCase, Tenant]:
    """A use case by id (an int or a string of digits) or by ``tenant/name``."""
    text = str(ref)
    query = select(UseCase, Tenant).join(Tenant, UseCase.tenant_id == Tenant.id)
    if text.isascii() and text.isdigit():
        if int(text) > MAX_ROW_ID:  # more than the column holds: the database would fail, not answer
            raise InvalidRequest(
                f"A use case id runs from 1 to {MAX_ROW_ID}.", param="use_case", code="invalid_value"
            )
        row = session.execute(query.where(UseCase.id == int(text))).first()
    elif text.count("/") == 1:
        tenant_name, name = text.split("/")
        row = session.execute(query.where(Tenant.name == tenant_name, UseCase.name == name)).first()
    else:
        raise InvalidRequest(
            f"A use case is named by its id or as 'tenant/use-case'; got {text!r}.",
            param="use_case",
            code="invalid_value",
        )
    if row is None:
        raise NotFound(f"No use case {text!r}.", param="use_case", code="unknown_use_case")
    return row[0], row[1]


def _unique_use_case(session: Session, tenant: Tenant, name: str) -> None:
    if _count(session, UseCase, UseCase.tenant_id == tenant.id, UseCase.name == name):
        message = f"The tenant {tenant.name!r} already has a use case named {name!r}."
        raise Conflict(message, param="name", code="duplicate")


def _key_scope(session: Session, data: KeyCreate) -> tuple[UseCase | None, Tenant | None]:
    """The use case and tenant of a new key: app keys need one, the other roles have none."""
    if data.role is Role.APP:
        if data.use_case is None:
            raise InvalidRequest(
                "An app key belongs to a use case: give use_case as its id or 'tenant/use-case'.",
                param="use_case",
                code="missing_parameter",
            )
        return _use_case(session, data.use_case)
    if data.use_case is not None:
        raise InvalidRequest(
            f"An {data.role.value} key is not bound to a use case; omit use_case.",
            param="use_case",
            code="invalid_value",
        )
    return None, None
