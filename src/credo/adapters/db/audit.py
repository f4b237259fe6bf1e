"""The audit's questions (R14), each one statement the database answers by joining and
counting over the organization's own rows, so that an audit holds only its findings in
memory however large the organization is, and takes time linear in its rows. Healthy data
answers every "which rows disagree" question with no rows at all."""

from __future__ import annotations

from datetime import date

from sqlalchemy import (
    Connection,
    Date,
    and_,
    case,
    cast,
    exists,
    func,
    literal,
    select,
    union_all,
)

from credo.adapters.db import tables as t
from credo.domain.credentials import Status
from credo.services.billing.ports import (
    ChargeCount,
    GroupCount,
    HeldNoSeat,
    LedgerMismatch,
    SeatCharges,
    SeatNoHolder,
)

_l = t.ledger_entries.c
_s = t.seats.c
_c = t.credentials.c


def _live() -> list[object]:
    return [_c.status == Status.PUBLISHED.value, _c.deleted_at.is_(None)]


def _as_date(value: object) -> date:
    return date.fromisoformat(value) if isinstance(value, str) else value  # type: ignore[return-value]


class SqlAudit:
    def __init__(self, conn: Connection) -> None:
        self._c = conn
        self._sqlite = conn.dialect.name == "sqlite"

    def charges_by_year(self, org_id: str) -> list[ChargeCount]:
        charge = func.sum(case((_l.delta == -1, 1), else_=0))
        rows = self._c.execute(
            select(_l.billing_year, charge, func.count())
            .where(_l.organization_id == org_id)
            .group_by(_l.billing_year)
            .order_by(_l.billing_year)
        )
        return [ChargeCount(int(r[0]), int(r[1] or 0), int(r[2])) for r in rows]

    def charges_by_department(self, org_id: str) -> dict[tuple[str, int], int]:
        rows = self._c.execute(
            select(_l.department_id, _l.billing_year, func.count())
            .where(_l.organization_id == org_id, _l.department_id.is_not(None), _l.delta == -1)
            .group_by(_l.department_id, _l.billing_year)
        )
        return {(r[0], int(r[1])): int(r[2]) for r in rows}

    def ledger_mismatches(self, org_id: str, limit: int) -> list[LedgerMismatch]:
        """Entries that are not charges, or whose seat is missing (or another
        organization's), or disagrees with them on year or recipient."""
        seat = t.seats.alias("s")
        joined = t.ledger_entries.outerjoin(
            seat, and_(seat.c.id == _l.seat_id, seat.c.organization_id == _l.organization_id)
        )
        disagrees = (seat.c.billing_year != _l.billing_year) | (
            seat.c.recipient_key != _l.recipient_key
        )
        rows = self._c.execute(
            select(_l.id, _l.delta, _l.seat_id, seat.c.id.is_(None), disagrees)
            .select_from(joined)
            .where(
                _l.organization_id == org_id,
                (_l.delta != -1)
                | seat.c.id.is_(None)
                | (seat.c.billing_year != _l.billing_year)
                | (seat.c.recipient_key != _l.recipient_key),
            )
            .order_by(_l.id)
            .limit(limit)
        )
        return [LedgerMismatch(int(r[0]), int(r[1]), r[2], bool(r[3]), bool(r[4])) for r in rows]

    def seats_not_charged_once(self, org_id: str, limit: int) -> list[SeatCharges]:
        entry = t.ledger_entries.alias("l")
        joined = t.seats.outerjoin(
            entry, and_(entry.c.seat_id == _s.id, entry.c.organization_id == _s.organization_id)
        )
        n = func.count(entry.c.id)
        rows = self._c.execute(
            select(_s.id, _s.billing_year, _s.recipient_key, n)
            .select_from(joined)
            .where(_s.organization_id == org_id)
            .group_by(_s.id, _s.billing_year, _s.recipient_key)
            .having(n != 1)
            .order_by(_s.id)
            .limit(limit)
        )
        return [SeatCharges(r[0], int(r[1]), r[2], int(r[3])) for r in rows]

    def open_seats(self, org_id: str) -> int:
        q = select(func.count()).where(_s.organization_id == org_id, _s.released_at.is_(None))
        return int(self._c.scalar(q) or 0)

    def charges_by_day(self, org_id: str) -> dict[tuple[int, date], int]:
        day = func.date(_l.at) if self._sqlite else cast(_l.at, Date)
        rows = self._c.execute(
            select(_l.billing_year, day, func.count())
            .where(_l.organization_id == org_id, _l.delta < 0)
            .group_by(_l.billing_year, day)
        )
        return {(int(r[0]), _as_date(r[1])): int(r[2]) for r in rows}

    def released_by_year(self, org_id: str) -> dict[int, int]:
        rows = self._c.execute(
            select(_s.billing_year, func.count())
            .where(_s.organization_id == org_id, _s.released_at.is_not(None))
            .group_by(_s.billing_year)
        )
        return {int(r[0]): int(r[1]) for r in rows}

    def open_twice(self, org_id: str, limit: int) -> list[SeatCharges]:
        """(year, key) holding more than one open seat; the count in `charges`."""
        n = func.count()
        rows = self._c.execute(
            select(literal(""), _s.billing_year, _s.recipient_key, n)
            .where(_s.organization_id == org_id, _s.released_at.is_(None))
            .group_by(_s.billing_year, _s.recipient_key)
            .having(n > 1)
            .order_by(_s.billing_year, _s.recipient_key)
            .limit(limit)
        )
        return [SeatCharges(r[0], int(r[1]), r[2], int(r[3])) for r in rows]

    def open_seats_without_holder(self, org_id: str, limit: int) -> list[SeatNoHolder]:
        holder = exists().where(
            _c.organization_id == _s.organization_id,
            _c.recipient_key == _s.recipient_key,
            _c.seat_year == _s.billing_year,
            *_live(),  # type: ignore[arg-type]
        )
        rows = self._c.execute(
            select(_s.billing_year, _s.recipient_key)
            .where(_s.organization_id == org_id, _s.released_at.is_(None), ~holder)
            .distinct()
            .order_by(_s.billing_year, _s.recipient_key)
            .limit(limit)
        )
        return [SeatNoHolder(int(r[0]), r[1]) for r in rows]

    def live_without_open_seat(self, org_id: str, limit: int) -> list[HeldNoSeat]:
        """Live credentials whose (seat year, recipient) holds no open seat, counted per
        pair; a None year is a live credential that was never given a seat year."""
        seat = exists().where(
            _s.organization_id == _c.organization_id,
            _s.billing_year == _c.seat_year,
            _s.recipient_key == _c.recipient_key,
            _s.released_at.is_(None),
        )
        n = func.count()
        rows = self._c.execute(
            select(_c.seat_year, _c.recipient_key, n)
            .where(
                _c.organization_id == org_id,
                *_live(),  # type: ignore[arg-type]
                _c.seat_year.is_(None) | ~seat,
            )
            .group_by(_c.seat_year, _c.recipient_key)
            .order_by(_c.seat_year, _c.recipient_key)
            .limit(limit)
        )
        return [HeldNoSeat(r[0], r[1], int(r[2])) for r in rows]

    def group_counts_wrong(self, org_id: str, limit: int) -> list[GroupCount]:
        """Groups whose kept count (group_counts) differs from their live credentials."""
        n = t.group_counts.c
        kept = select(n.group_id.label("g"), n.credentials.label("kept"), literal(0).label("live"))
        live = (
            select(_c.group_id, literal(0), func.count())
            .where(_c.organization_id == org_id, _c.deleted_at.is_(None))
            .group_by(_c.group_id)
        )
        both = union_all(kept.where(n.organization_id == org_id), live).subquery()
        rows = self._c.execute(
            select(both.c.g, func.sum(both.c.kept), func.sum(both.c.live))
            .group_by(both.c.g)
            .having(func.sum(both.c.kept) != func.sum(both.c.live))
            .order_by(both.c.g)
            .limit(limit)
        )
        return [GroupCount(r[0], int(r[1]), int(r[2])) for r in rows]
